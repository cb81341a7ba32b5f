"""The explorer page and its vendored assets: same origin only, CSP, caching, dev only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from blueprints.explorer import STATIC_DIR

VENDOR_DIR = STATIC_DIR / "vendor"
ASSET_URL = re.compile(r'(?:src|href)="([^"]+)"')
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def page_asset_urls(html: str) -> list[str]:
    """Every src/href the explorer page loads."""
    return ASSET_URL.findall(html)


def get_asset(client: FlaskClient, url: str, **options: Any) -> TestResponse:
    """An asset's response, read and closed: a streamed file left open is a ResourceWarning."""
    return client.get(url, buffered=True, **options)


def test_page_loads_only_same_origin_assets(client: FlaskClient) -> None:
    response = client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200 and response.mimetype == "text/html"
    urls = page_asset_urls(response.get_data(as_text=True))
    assert len([u for u in urls if u.endswith(".js") or ".js?" in u]) == 4
    for url in urls:
        assert url == "data:," or url.startswith("/explorer-assets/"), url
        if url.startswith("/"):
            assert get_asset(client, url).status_code == 200, url


def test_page_sends_a_strict_csp_with_a_fresh_style_nonce(client: FlaskClient) -> None:
    first, second = client.get("/graphql", headers=BROWSER), client.get("/graphql", headers=BROWSER)
    policy = first.headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in policy
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{24})'", directives["style-src"])
    assert nonce is not None
    assert f'data-style-nonce="{nonce.group(1)}"' in first.get_data(as_text=True)
    assert second.headers["Content-Security-Policy"] != policy
    assert first.headers["Cache-Control"] == "no-store"


def test_fingerprinted_assets_are_cached_for_a_year(client: FlaskClient) -> None:
    page = client.get("/graphql", headers=BROWSER).get_data(as_text=True)
    [url] = [u for u in page_asset_urls(page) if "graphiql.min.js" in u]
    response = get_asset(client, url)
    assert response.mimetype == "text/javascript"
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable and response.cache_control.public


def test_unversioned_or_stale_asset_urls_revalidate(client: FlaskClient) -> None:
    for url in ("/explorer-assets/explorer.js", "/explorer-assets/explorer.js?v=stale"):
        response = get_asset(client, url)
        assert response.status_code == 200
        assert response.cache_control.no_cache and not response.cache_control.max_age
        again = get_asset(client, url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    ["/explorer-assets/nope.js", "/explorer-assets/../app.py", "/explorer-assets/%2e%2e/app.py"],
)
def test_files_outside_the_assets_are_not_served(client: FlaskClient, path: str) -> None:
    assert client.get(path + "?v=x").status_code == 404


def test_production_serves_neither_page_nor_assets(app_factory: Callable[..., Flask]) -> None:
    from config import ProductionConfig

    client = app_factory(ProductionConfig, env={"APP_ENV": "production"}).test_client()
    page = client.get("/graphql", headers=BROWSER)
    assert (
        page.status_code == 400 and page.mimetype == "application/json"
    )  # a GET query, without one
    assert client.get("/explorer-assets/vendor/graphiql.min.js").status_code == 404
    assert client.get("/explorer-assets/explorer.js").status_code == 404


def test_vendored_files_match_their_recorded_checksums() -> None:
    lines = (VENDOR_DIR / "SHA256SUMS").read_text().splitlines()
    recorded = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    for name in ("graphiql.min.js", "react-dom.production.min.js", "LICENSES/graphiql.LICENSE"):
        assert name in recorded
    for name, digest in recorded.items():
        assert hashlib.sha256(Path(VENDOR_DIR, name).read_bytes()).hexdigest() == digest, name
