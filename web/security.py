"""Browser-facing protections: cross-site request refusal (CSRF), CORS, proxies, headers.

CSRF: operations only run from application/json POSTs (see json_body.read_json_object), and
any unsafe request whose Origin is neither this server nor in CORS_ORIGINS, or that the
browser marks ``Sec-Fetch-Site: cross-site``, is refused with 403 before anything runs.
Requests without Origin (curl, server-to-server) are not browsers' cross-site requests.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import Forbidden
from werkzeug.middleware.proxy_fix import ProxyFix

from infra.headers import add_vary

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFLIGHT_MAX_AGE = "600"
API_MEDIA_TYPES = frozenset({"application/json", "application/graphql-response+json"})
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
    app.before_request(refuse_cross_site_requests)
    app.after_request(add_cors_headers)
    app.after_request(add_security_headers)


def _own_origin() -> str:
    return f"{request.scheme}://{request.host}"


def origin_allowed(origin: str) -> bool:
    """Whether a browser origin may send credentialed requests here."""
    return origin == _own_origin() or origin in current_app.config["CORS_ORIGINS"]


def refuse_cross_site_requests() -> None:
    """403 for unsafe requests from other sites, before any view runs."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is not None:
        if not origin_allowed(origin):
            raise Forbidden("Cross-origin requests from this origin are not allowed.")
    elif request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("Cross-site requests are not allowed.")


def add_cors_headers(response: Response) -> Response:
    """CORS for the configured origins only, with credentials; never a wildcard."""
    origin = request.headers.get("Origin")
    if current_app.config["CORS_ORIGINS"]:
        add_vary(response, "Origin")
    if not origin or origin not in current_app.config["CORS_ORIGINS"]:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
        response.headers["Access-Control-Allow-Headers"] = current_app.config["CORS_ALLOW_HEADERS"]
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response


def add_security_headers(response: Response) -> Response:
    """No sniffing anywhere; API answers (user data) are never cached and vary by cookie."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype in API_MEDIA_TYPES:
        response.headers["Cache-Control"] = "no-store"
        add_vary(response, "Cookie")
    if request.is_secure and current_app.config["PRODUCTION"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response
