"""Browser-facing protections: cross-site request refusal (CSRF), CORS, proxies, headers.

CSRF: operations only run from application/json POSTs (see json_body.read_json_object), and
any unsafe request whose Origin is neither this server nor in CORS_ORIGINS, or that the
browser marks ``Sec-Fetch-Site: cross-site``, is refused with 403 before anything runs.
Requests without Origin (curl, server-to-server) are not browsers' cross-site requests.

The refusal (a before_request hook) and the security headers (added by the edge,
web/edge.py) run on every request, so they read the settings once, at start-up, and the
request's headers straight from the WSGI environ; the CORS hook is installed only when
origins are configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix

from infra.headers import add_vary, vary_with

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFLIGHT_MAX_AGE = "600"
JSON = "application/json"
SECURE_SCHEMES = frozenset({"https", "wss"})  # request.is_secure's
API_MEDIA_TYPES = frozenset({JSON, "application/graphql-response+json"})
# Response headers a frontend on another origin may read (its own Retry-After handling,
# the request id to quote in a bug report).
EXPOSE_HEADERS = "X-Request-Id, Retry-After"
HeaderList = list[tuple[str, str]]


def sends_hsts(config: Mapping[str, Any]) -> bool:
    """Whether answers over HTTPS carry HSTS: in production, behind its TLS."""
    return bool(config["PRODUCTION"])


def init_app(app: Flask) -> None:
    """Install the cross-site refusal, CORS when configured, and the proxy fix outermost."""
    config = app.config
    policy = BrowserPolicy(frozenset(config["CORS_ORIGINS"]), config["CORS_ALLOW_HEADERS"])
    app.before_request(policy.refuse_cross_site_requests)
    if policy.cors_origins:
        app.after_request(policy.add_cors_headers)
    hops = config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


@dataclass(frozen=True)
class BrowserPolicy:
    """The app's CORS origins and allowed request headers, read once from its configuration."""

    cors_origins: frozenset[str]
    allow_headers: str  # the Access-Control-Allow-Headers value

    def origin_allowed(self, origin: str) -> bool:
        """Whether a browser origin may send credentialed requests here."""
        return origin == f"{request.scheme}://{request.host}" or origin in self.cors_origins

    def refuse_cross_site_requests(self) -> None:
        """403 for unsafe requests from other sites, before any view runs."""
        environ = request.environ
        if environ["REQUEST_METHOD"] in SAFE_METHODS:
            return
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            if not self.origin_allowed(origin):
                raise Forbidden("Cross-origin requests from this origin are not allowed.")
        elif environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            raise Forbidden("Cross-site requests are not allowed.")

    def add_cors_headers(self, response: Response) -> Response:
        """CORS for the configured origins only, with credentials; never a wildcard."""
        environ = request.environ
        origin = environ.get("HTTP_ORIGIN")
        add_vary(response, "Origin")
        if origin not in self.cors_origins:
            return response
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
        preflight = "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        if preflight and environ["REQUEST_METHOD"] == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
            headers["Access-Control-Allow-Headers"] = self.allow_headers
            headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response


@dataclass(frozen=True)
class _Own:
    """The headers the policy sets for one kind of answer, and their names in lower case."""

    headers: tuple[tuple[str, str], ...]
    names: frozenset[str]


def _own(api: bool, secure: bool) -> _Own:
    headers = [("X-Content-Type-Options", "nosniff")]
    headers += [("Cache-Control", "no-store")] if api else []
    headers += [("Strict-Transport-Security", "max-age=31536000")] if secure else []
    return _Own(tuple(headers), frozenset(name.lower() for name, _ in headers))


_OWN = {(api, secure): _own(api, secure) for api in (False, True) for secure in (False, True)}


def add_security_headers(headers: HeaderList, secure: bool) -> None:
    """No sniffing anywhere; API answers (user data) are never cached and vary by cookie.

    Each header replaces any of its name the answer had, as ``Headers.set`` does.
    """
    named = [(header[0].lower(), header) for header in headers]
    api = is_json(next((header[1] for name, header in named if name == "content-type"), None))
    own = _OWN[api, secure]
    vary = _vary_with_cookie(named) if api else None
    drop = own.names if vary is None else own.names | {"vary"}
    headers[:] = [header for name, header in named if name not in drop]
    headers.extend(own.headers)
    if vary is not None:
        headers.append(("Vary", vary))


def _vary_with_cookie(named: list[tuple[str, tuple[str, str]]]) -> str | None:
    """The Vary value with Cookie added (as ``add_vary``); None when Cookie is there."""
    return vary_with(", ".join(header[1] for name, header in named if name == "vary"), "Cookie")


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is JSON's, as ``response.mimetype`` would say, without parsing."""
    if content_type == JSON:  # what json_response sends
        return True
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() in API_MEDIA_TYPES
