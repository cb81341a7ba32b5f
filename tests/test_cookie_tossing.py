"""Cookie tossing: a request carrying the session cookie twice is put into neither session.

A sibling subdomain can set a ``qid`` cookie for the parent domain with a longer path; the
browser then sends it before the victim's own. Whichever came first used to win.

The app runs on a redis-server of each test's own, so Redis's command counts are exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.faults import migrated_app
from tests.helpers import ME, GraphQLClient, cookie_value, count_redis_commands, set_cookies
from tests.support import RedisProcess

CREATE_POST = 'mutation { createPost(title: "tossed") { id } }'


@pytest.fixture
def app(tmp_path: Path, private_redis: RedisProcess) -> Flask:
    """The app on a migrated SQLite file and the test's own redis-server."""
    return migrated_app(f"sqlite:///{tmp_path / 'app.sqlite'}", private_redis.url)


@pytest.fixture
def redis_server(private_redis: RedisProcess) -> redis.Redis:
    """A plain client on the test's own redis-server."""
    return private_redis.client()


def logged_in(app: Flask, username: str) -> tuple[GraphQLClient, str]:
    """A client registered as ``username``, and its session id."""
    client = GraphQLClient(app.test_client())
    assert client.register(username)["user"]
    sid = cookie_value(client.client)
    assert sid
    return client, sid


def raw_client(app: Flask) -> FlaskClient:
    """A client without a cookie jar: it sends the Cookie header it is given, as it is."""
    return app.test_client(use_cookies=False)


def assert_clears_the_cookie(headers: list[str]) -> None:
    [header] = headers
    assert header.startswith("qid=;") and "Path=/" in header
    assert "Expires=Thu, 01 Jan 1970" in header or "Max-Age=0" in header


@pytest.mark.parametrize("attacker_first", [True, False])
def test_two_session_cookies_are_anonymous_and_the_cookie_is_cleared(
    app: Flask, redis_server: redis.Redis, attacker_first: bool
) -> None:
    victim, victim_sid = logged_in(app, "alice")
    _, attacker_sid = logged_in(app, "mallory")
    sids = [attacker_sid, victim_sid] if attacker_first else [victim_sid, attacker_sid]
    cookie = "; ".join(f"qid={sid}" for sid in sids)
    client = raw_client(app)
    with count_redis_commands(redis_server) as counts:
        response = client.post("/graphql", json={"query": ME}, headers={"Cookie": cookie})
    assert response.get_json() == {"data": {"me": None}}
    assert counts == {}  # neither record was even read
    assert_clears_the_cookie(set_cookies(response))
    rest = client.get("/me", headers={"Cookie": cookie})
    assert rest.get_json()["user"] is None
    assert_clears_the_cookie(set_cookies(rest))
    assert victim.me()["username"] == "alice"  # her own single cookie still works


def test_a_tossed_request_cannot_act_in_either_session(app: Flask) -> None:
    victim, victim_sid = logged_in(app, "alice")
    attacker, attacker_sid = logged_in(app, "mallory")
    cookie = f"qid={attacker_sid}; qid={victim_sid}"
    client = raw_client(app)
    created = client.post("/graphql", json={"query": CREATE_POST}, headers={"Cookie": cookie})
    assert created.get_json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    logout = client.post(
        "/graphql", json={"query": "mutation { logout }"}, headers={"Cookie": cookie}
    )
    assert_clears_the_cookie(set_cookies(logout))
    assert victim.me()["username"] == "alice"  # a tossed logout ends nobody's session
    assert attacker.me()["username"] == "mallory"
    assert victim("{ posts { id } }")["data"]["posts"] == []


def test_other_cookies_beside_one_session_cookie_change_nothing(app: Flask) -> None:
    _, sid = logged_in(app, "alice")
    response = raw_client(app).post(
        "/graphql", json={"query": ME}, headers={"Cookie": f"theme=dark; qid={sid}; qidx=1"}
    )
    assert response.get_json()["data"]["me"]["username"] == "alice"
    assert set_cookies(response) == []
