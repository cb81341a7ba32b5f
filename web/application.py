"""The product's Flask class: Flask that remembers what does not change between requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request
from werkzeug.routing import MapAdapter

from web.response import Response
from web.routing import RouteMemory

MAX_REMEMBERED = 1024  # views, hooks and error handlers: a few dozen in this app


class Application(Flask):
    """Flask, with ``ensure_sync`` answered once per function, routing once per request line.

    Flask asks ``inspect.iscoroutinefunction`` of the view and of every hook on every
    request, 2.7% of a `{ hello }`; the answer never changes for a given function.
    """

    response_class = Response  # bodies in memory go to the server as lists

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._runnable: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}
        self._routes = RouteMemory()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself, or a synchronous wrapper of a coroutine function (as Flask's)."""
        known = self._runnable.get(id(func))
        if known is not None and known[0] is func:  # the id of a collected function is reused
            return known[1]
        runnable = super().ensure_sync(func)
        if len(self._runnable) < MAX_REMEMBERED:
            self._runnable[id(func)] = (func, runnable)
        return runnable

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Flask's adapter for the request, bound once per distinct request line.

        A remembered line skips Flask's host check, which passed for the same host before;
        ``TRUSTED_HOSTS`` is read when a line is first bound, like the rest of the config.
        """
        if request is None:
            return super().create_url_adapter(request)
        key, bound = self._routes.recall(request.environ)
        if bound is None:
            adapter = super().create_url_adapter(request)  # checks the host, sets request.host
            if key is None or adapter is None:
                return adapter
            return self._routes.keep(key, adapter, request.host)
        if (trusted_hosts := self.config["TRUSTED_HOSTS"]) is not None:
            request.trusted_hosts = trusted_hosts
        adapter, request.host = bound
        return adapter
