"""Routing once per distinct request line: Flask's URL adapter and its match, remembered.

Flask binds a new ``MapAdapter`` to every request (host parsing and trust check, IDNA
encoding of the host, WSGI string decoding) and then matches the path against the URL
map: ~10% of a `{ hello }` request. Both depend only on a few environ values, and a busy
process sees the same few request lines again and again (``POST /graphql``, ``GET /me``),
so an adapter is bound once per distinct line and remembers its successful match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from werkzeug.routing import MapAdapter, Rule

# Every environ value that Flask's create_url_adapter and Werkzeug's bind_to_environ read.
ROUTE_KEYS = (
    *("REQUEST_METHOD", "PATH_INFO", "SCRIPT_NAME", "QUERY_STRING", "wsgi.url_scheme"),
    *("HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "HTTP_CONNECTION", "HTTP_UPGRADE"),
)
MAX_ROUTES = 256  # distinct request lines remembered; past it the memory starts afresh
MAX_REMEMBERED_TEXT = 1024  # longer paths and query strings are bound per request, not kept

RouteKey = tuple[Any, ...]
Matched = tuple[Any, Mapping[str, Any]]
NOT_ASKED = (None, None, None, None)  # match()'s defaults: the adapter's own line


class MatchOnce(MapAdapter):
    """A ``MapAdapter`` bound to one request line that matches it once and remembers."""

    _matched: tuple[Rule, Mapping[str, Any]] | None = None

    def match(  # one signature for Werkzeug's two overloads
        self,
        path_info: str | None = None,
        method: str | None = None,
        return_rule: bool = False,
        query_args: Mapping[str, Any] | str | None = None,
        websocket: bool | None = None,
    ) -> Matched:
        """The bound line's rule (or endpoint) and a fresh copy of its arguments."""
        if (path_info, method, query_args, websocket) != NOT_ASKED:  # another line: no memory
            unbound: Any = super().match
            return cast(Matched, unbound(path_info, method, return_rule, query_args, websocket))
        if self._matched is None:  # failures (404, 405, redirects) raise and are not kept
            self._matched = super().match(return_rule=True)
        rule, view_args = self._matched
        return (rule if return_rule else rule.endpoint), dict(view_args)


def bound_once(adapter: MapAdapter) -> MatchOnce:
    """``adapter`` as a ``MatchOnce`` bound to the same line."""
    return MatchOnce(
        adapter.map,
        adapter.server_name,
        adapter.script_name,
        adapter.subdomain,
        adapter.url_scheme,
        adapter.path_info,
        adapter.default_method,
        adapter.query_args,
    )


Bound = tuple[MatchOnce, str]  # the adapter, and the host Flask checked and set on the request


class RouteMemory:
    """Adapters (and the host each request reads) by request line, bounded."""

    def __init__(self) -> None:
        self._known: dict[RouteKey, Bound] = {}

    def __len__(self) -> int:
        return len(self._known)

    def recall(self, environ: Mapping[str, Any]) -> tuple[RouteKey | None, Bound | None]:
        """The line's key (None when too long to keep) and what was bound for it, if any."""
        key = tuple(map(environ.get, ROUTE_KEYS))
        if len(key[1] or "") + len(key[3] or "") > MAX_REMEMBERED_TEXT:
            return None, None
        return key, self._known.get(key)

    def keep(self, key: RouteKey, adapter: MapAdapter, host: str) -> MatchOnce:
        """Remember ``adapter`` (as a ``MatchOnce``) and ``host`` for the line ``key``."""
        if len(self._known) >= MAX_ROUTES:
            self._known.clear()  # a flood of distinct lines costs binding, never memory
        once = bound_once(adapter)
        self._known[key] = (once, host)
        return once
