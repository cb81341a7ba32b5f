"""The product's Flask class: ensure_sync answers as Flask's does, remembered per function."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from web.application import Application


async def coroutine_view() -> str:
    return "async"


def plain_view() -> str:
    return "plain"


def test_plain_functions_run_as_they_are() -> None:
    app = Application(__name__)
    assert app.ensure_sync(plain_view) is plain_view
    assert app.ensure_sync(plain_view) is plain_view  # remembered, same answer


def test_coroutine_functions_get_flasks_answer() -> None:
    """Without Flask's async extra both refuse alike; the refusal is not remembered away."""
    flask_error = _error_of(lambda: Flask(__name__).ensure_sync(coroutine_view))
    app = Application(__name__)
    for _ in range(2):
        assert _error_of(lambda: app.ensure_sync(coroutine_view)) == flask_error


def test_a_reused_id_is_not_mistaken_for_the_old_function() -> None:
    app = Application(__name__)
    first = _make_view()
    app.ensure_sync(first)
    stale_id = id(first)
    app._runnable[stale_id] = (plain_view, plain_view)  # as if `first` had been collected
    assert app.ensure_sync(first) is first


def _make_view() -> Callable[[], str]:
    def view() -> str:
        return "made"

    return view


def _error_of(call: Callable[[], object]) -> str | None:
    try:
        call()
    except RuntimeError as error:
        return str(error)
    return None


def test_the_factory_builds_an_application(app: Flask) -> None:
    assert isinstance(app, Application)
