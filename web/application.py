"""The product's Flask class: Flask that remembers which of its callables are coroutines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

MAX_REMEMBERED = 1024  # views, hooks and error handlers: a few dozen in this app


class Application(Flask):
    """Flask, with ``ensure_sync`` answered once per function.

    Flask asks ``inspect.iscoroutinefunction`` of the view and of every hook on every
    request, 2.7% of a `{ hello }`; the answer never changes for a given function.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._runnable: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself, or a synchronous wrapper of a coroutine function (as Flask's)."""
        known = self._runnable.get(id(func))
        if known is not None and known[0] is func:  # the id of a collected function is reused
            return known[1]
        runnable = super().ensure_sync(func)
        if len(self._runnable) < MAX_REMEMBERED:
            self._runnable[id(func)] = (func, runnable)
        return runnable
