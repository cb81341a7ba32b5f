"""Every response carries X-Request-Id, those of hooks that refuse before any view too.

The request-id hook used to be registered after the cross-site refusal, so a 403 from it
had no X-Request-Id and its log lines said request ``-``.
"""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from infra.logs import ACCESS_LOGGER, RequestIdFilter
from tests.helpers import ME

CROSS_SITE = [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_refusals_carry_the_request_id(client: FlaskClient, headers) -> None:
    response = client.post("/graphql", json={"query": ME}, headers=headers)
    assert response.status_code == 403
    request_id = response.headers["X-Request-Id"]
    assert response.get_json()["errors"][0]["extensions"]["requestId"] == request_id


def test_a_refused_request_keeps_the_clients_id(client: FlaskClient) -> None:
    headers = {"Origin": "https://evil.example", "X-Request-Id": "trace-42"}
    response = client.delete("/sessions", headers=headers)
    assert response.status_code == 403
    assert response.headers["X-Request-Id"] == "trace-42"


def test_the_access_log_line_of_a_refusal_names_its_request(app_factory, caplog) -> None:
    client = app_factory(ACCESS_LOG=True).test_client()
    caplog.handler.addFilter(RequestIdFilter())  # what the app's own log handler does
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = client.post("/graphql", json={"query": ME}, headers=CROSS_SITE[0])
    [record] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert record.request_id == response.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nowhere", 404), ("PUT", "/me", 405)]
)
def test_answers_flask_makes_without_a_view_carry_the_request_id(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, headers={"X-Request-Id": "lost-42"})
    assert response.status_code == status
    assert response.headers.getlist("X-Request-Id") == ["lost-42"]
    assert response.get_json()["error"]["requestId"] == "lost-42"
