"""What deploy/nginx.conf refuses itself answers in the app's shapes, so clients can read it.

A body over 64 KiB never reaches the app, and with no instance up nginx answers alone: on
/graphql those are GraphQL errors in the negotiated media type, elsewhere REST errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.nginx import NGINX, BrowserClient, Proxy, nginx
from tests.processes import free_port
from tests.redis_servers import require_binary
from tests.tls import OPENSSL, self_signed_certificate

pytestmark = pytest.mark.timeout(60)
APOLLO = {"Accept": "application/graphql-response+json,application/json;q=0.9"}
JSON = {"Content-Type": "application/json"}
TOO_LARGE = b'{"query": "' + b"a" * 100_000 + b'"}'
HELLO = b'{"query": "{ hello }"}'


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """deploy/nginx.conf with no instance behind it: nothing listens on its upstream ports."""
    require_binary(NGINX, "nginx")
    require_binary(OPENSSL, "openssl")
    certificate = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with nginx([free_port(), free_port()], certificate, tmp_path_factory.mktemp("nginx")) as up:
        yield up


@pytest.mark.parametrize(
    ("headers", "media_type"),
    [(APOLLO, "application/graphql-response+json"), ({}, "application/json")],
)
@pytest.mark.parametrize(
    "refusal", [(TOO_LARGE, 413, "REQUEST_ENTITY_TOO_LARGE"), (HELLO, 503, "SERVICE_UNAVAILABLE")]
)
def test_graphql_refusals_are_graphql_errors(
    proxy: Proxy, headers: dict[str, str], media_type: str, refusal: tuple[bytes, int, str]
) -> None:
    body, status, code = refusal
    got, response_headers, payload = BrowserClient(proxy).request(
        "POST", "/graphql", body, {**JSON, **headers}
    )
    assert got == status
    assert response_headers["Content-Type"] == media_type
    [error] = json.loads(payload)["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == response_headers["X-Request-Id"]
    assert response_headers["Cache-Control"] == "no-store"
    assert response_headers.get("Retry-After") == ("1" if status == 503 else None)


def test_rest_refusals_keep_the_rest_shape(proxy: Proxy) -> None:
    status, headers, payload = BrowserClient(proxy).request("GET", "/me")
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(payload)["error"]["code"] == "SERVICE_UNAVAILABLE"
    status, _, payload = BrowserClient(proxy).request("DELETE", "/sessions", TOO_LARGE, JSON)
    assert status == 413
    assert json.loads(payload)["error"]["code"] == "REQUEST_ENTITY_TOO_LARGE"
