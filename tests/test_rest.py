"""The REST blueprint: GET /me for curl users, GET /healthz."""

from __future__ import annotations

import time

from flask import Flask

from tests.helpers import GraphQLClient, cookie_value


def test_me_anonymous_without_cookie(client) -> None:
    response = client.get("/me")
    assert response.status_code == 200
    assert response.get_json() == {
        "user": None,
        "session": {"cookie": False, "active": False, "ttl": None, "data": {}},
    }
    assert "Set-Cookie" not in response.headers


def test_me_logged_in_shows_user_and_session(gql: GraphQLClient) -> None:
    user = gql.register()["user"]
    body = gql.client.get("/me").get_json()
    assert body["user"] == {"id": user["id"], "username": "alice"}
    session = body["session"]
    assert session["cookie"] is True and session["active"] is True
    assert session["data"] == {
        "userId": user["id"],
        "createdAt": session["data"]["createdAt"],
        "u": ["alice", int(user["createdAt"]), int(user["updatedAt"])],
    }
    assert abs(session["data"]["createdAt"] - time.time()) < 60
    assert 0 < session["ttl"] <= 10 * 365 * 24 * 3600


def test_me_with_dead_cookie(app: Flask, gql: GraphQLClient) -> None:
    gql.register()
    sid = cookie_value(gql.client)
    gql("mutation { logout }")
    client = app.test_client()
    client.set_cookie("qid", sid or "")
    assert client.get("/me").get_json() == {
        "user": None,
        "session": {"cookie": True, "active": False, "ttl": None, "data": {}},
    }


def test_healthz_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "ok": True,
        "checks": {"redis": True, "database": True},
        "down": [],
    }


def test_healthz_names_redis_when_down(app_factory) -> None:
    app = app_factory(env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["down"] == ["redis"]


def test_unknown_route_and_method_are_json(client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"
    response = client.delete("/me")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.headers["Allow"]


def test_request_id_is_echoed(client) -> None:
    response = client.get("/me", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    generated = client.get("/me").headers["X-Request-Id"]
    assert len(generated) == 16
    spoofed = client.get("/me", headers={"X-Request-Id": "bad id;<x>"}).headers["X-Request-Id"]
    assert spoofed != "bad id;<x>"


def test_readyz_checks_migrations_too(app_factory, tmp_path) -> None:
    ready = app_factory().test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"redis": True, "database": True, "migrations": True}
    unmigrated = app_factory(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    response = unmigrated.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["down"] == ["migrations"]
