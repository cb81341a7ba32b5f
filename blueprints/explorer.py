"""The GraphiQL explorer, in development only: the page (which GET /graphql serves to a
browser asking for text/html) and its assets, served from here.

Nothing loads from another origin (the bundles are vendored under explorer/static/vendor), so
the page works offline and under a strict Content-Security-Policy. The assets' URLs carry a
content fingerprint (``?v=``), which lets browsers cache them for a year.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from werkzeug.security import safe_join

EXPLORER_DIR = Path(__file__).resolve().parent.parent / "explorer"
STATIC_DIR = EXPLORER_DIR / "static"
ONE_YEAR = 365 * 24 * 3600


def content_security_policy(style_nonce: str) -> str:
    """The page's CSP: this origin only; no inline script, inline styles only by nonce."""
    # The nonce is for the <style> elements GraphiQL's dialogs add (react-remove-scroll-bar
    # reads it from window.__webpack_nonce__); style="" attributes stay refused.
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{style_nonce}'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


DEFAULT_QUERY = """\
# seed-service GraphQL. Register (or log in), then ask who you are:
#
# mutation {
#   register(options: {username: "alice", password: "correct horse"}) {
#     errors { field message }
#     user { id username }
#   }
# }
#
# { me { id username createdAt } }

{ hello }
"""


class AssetBlueprint(Blueprint):
    """A blueprint whose fingerprinted static URLs are cached for a year."""

    def send_static_file(self, filename: str) -> Response:
        """The file; immutable for a year when ``?v=`` matches its content, else revalidated."""
        response = super().send_static_file(filename)
        if request.args.get("v") == fingerprint(filename):
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response


bp = AssetBlueprint(
    "explorer",
    __name__,
    static_folder=str(STATIC_DIR),
    static_url_path="/explorer-assets",
    template_folder=str(EXPLORER_DIR / "templates"),
)


@cache
def fingerprint(filename: str) -> str | None:
    """A short hash of a static file's content; None if there is no such file."""
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def asset_url(filename: str) -> str:
    """The fingerprinted URL of a static file of the explorer."""
    return url_for("explorer.static", filename=filename, v=fingerprint(filename))


@bp.before_request
def explorer_enabled() -> None:
    """Page and assets alike are 404 unless GRAPHQL_EXPLORER is on (off in production)."""
    if not current_app.config["GRAPHQL_EXPLORER"]:
        abort(404)


def page() -> Response:
    """The GraphiQL page (GET /graphql from a browser); its requests go to POST /graphql."""
    style_nonce = secrets.token_urlsafe(18)
    html = render_template(
        "explorer/graphiql.html",
        asset_url=asset_url,
        endpoint=url_for("graphql_api.execute_operation"),
        default_query=DEFAULT_QUERY,
        style_nonce=style_nonce,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(style_nonce)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.cache_control.no_store = True  # a fresh nonce every time
    return response
