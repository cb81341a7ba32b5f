"""Browser-facing protections: cross-site request refusal (CSRF), CORS, proxies, headers.

CSRF: operations only run from application/json POSTs (see json_body.read_json_object), and
any unsafe request whose Origin is neither this server nor in CORS_ORIGINS, or that the
browser marks ``Sec-Fetch-Site: cross-site``, is refused with 403 before anything runs.
Requests without Origin (curl, server-to-server) are not browsers' cross-site requests.

Both hooks run on every request, so they read the settings once, at start-up, and the
request's headers straight from the WSGI environ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix

from infra.headers import add_vary

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFLIGHT_MAX_AGE = "600"
JSON = "application/json"
SECURE_SCHEMES = frozenset({"https", "wss"})  # request.is_secure's
API_MEDIA_TYPES = frozenset({JSON, "application/graphql-response+json"})
# Response headers a frontend on another origin may read (its own Retry-After handling,
# the request id to quote in a bug report).
EXPOSE_HEADERS = "X-Request-Id, Retry-After"


def init_app(app: Flask) -> None:
    """Install the proxy fix, the cross-site refusal and the response headers."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    config = app.config
    policy = BrowserPolicy(
        frozenset(config["CORS_ORIGINS"]), config["CORS_ALLOW_HEADERS"], config["PRODUCTION"]
    )
    app.before_request(policy.refuse_cross_site_requests)
    app.after_request(policy.add_headers)


@dataclass(frozen=True)
class BrowserPolicy:
    """The app's CORS origins and allowed request headers and whether it sends HSTS, read
    once from its configuration."""

    cors_origins: frozenset[str]
    allow_headers: str  # the Access-Control-Allow-Headers value
    hsts: bool

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

    def add_headers(self, response: Response) -> Response:
        """The security headers, then CORS for the configured origins."""
        environ = request.environ
        secure = self.hsts and environ["wsgi.url_scheme"] in SECURE_SCHEMES
        add_security_headers(response, secure)
        if self.cors_origins:
            self.add_cors_headers(response, environ.get("HTTP_ORIGIN"), environ)
        return response

    def add_cors_headers(
        self, response: Response, origin: str | None, environ: dict[str, Any]
    ) -> None:
        """CORS for the configured origins only, with credentials; never a wildcard."""
        add_vary(response, "Origin")
        if origin not in self.cors_origins:
            return
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


def add_security_headers(response: Response, secure: bool) -> None:
    """No sniffing anywhere; API answers (user data) are never cached and vary by cookie."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if is_json(headers.get("Content-Type")):
        headers["Cache-Control"] = "no-store"
        add_vary(response, "Cookie")
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is JSON's, as ``response.mimetype`` would say, without parsing."""
    if content_type == JSON:  # what json_response sends
        return True
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() in API_MEDIA_TYPES
