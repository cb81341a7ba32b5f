"""The product's response class: a body already in memory goes to the server as a list.

Werkzeug hands every body to the server inside a ``ClosingIterator``, so that the
response's close callbacks run after the last chunk. Granian sends a list in one call
(``response_bytes``) but iterates anything else from Rust, taking the GIL back for every
chunk and for ``close``; gunicorn writes a list as it writes any iterable. A body set in
memory (JSON, the metrics text, the explorer page) with nothing to run on close therefore
goes out as the list it is, and only such a body: streams and files keep Werkzeug's path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import flask

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

NO_BODY = frozenset({204, 304})  # with 1xx: no body, as Werkzeug's get_app_iter


class Response(flask.Response):
    """Flask's response, given to the server as a list when its body is a list in memory."""

    _closes = False  # whether anything was registered to run when the response closes

    def call_on_close(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Register ``func`` as Werkzeug does; the body then keeps Werkzeug's iterator."""
        self._closes = True
        return super().call_on_close(func)

    def get_app_iter(self, environ: WSGIEnvironment) -> Iterable[bytes]:
        """The body for the server: the in-memory list itself, else Werkzeug's iterator."""
        body = self.response
        if type(body) is not list or self._closes or self.direct_passthrough:
            return super().get_app_iter(environ)
        status = self.status_code
        if environ["REQUEST_METHOD"] == "HEAD" or 100 <= status < 200 or status in NO_BODY:
            return []
        return [item.encode() if isinstance(item, str) else item for item in body]
