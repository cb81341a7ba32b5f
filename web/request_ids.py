"""Request ids: every request gets one, echoed in X-Request-Id and carried by the logs.

Assigned around Flask, in the WSGI environ (``infra.logs.REQUEST_ID_ENVIRON``), rather than
in a before_request hook and ``g``: every answer carries it, those Flask makes before or
without any hook (404, 405, refusals) too, and a request pays no hook, no ``g`` lookups and
no ``Headers.set`` for it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask

from infra.logs import REQUEST_ID_ENVIRON
from web import StartResponse, WsgiApp

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIds:
    """WSGI middleware: the request's id in the environ, and in the X-Request-Id it answers."""

    def __init__(self, wsgi_app: WsgiApp) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Run the app with the request's id assigned; echo it with the status."""
        request_id = environ[REQUEST_ID_ENVIRON] = request_id_for(environ.get("HTTP_X_REQUEST_ID"))

        def echo(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Request-Id", request_id))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, echo)


def request_id_for(incoming: str | None) -> str:
    """The client's X-Request-Id if it is sane, else a new one."""
    return incoming if incoming and REQUEST_ID.fullmatch(incoming) else new_request_id()


def new_request_id() -> str:
    """16 hex digits, unique in practice; not a secret (clients may choose their own), so
    from the fast generator, which each worker reseeds after fork, not os.urandom."""
    return f"{random.getrandbits(64):016x}"


def init_app(app: Flask) -> None:
    """Give every request of the app an id."""
    app.wsgi_app = RequestIds(app.wsgi_app)  # type: ignore[method-assign]
