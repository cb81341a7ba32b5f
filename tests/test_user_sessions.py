"""Every device: list, revoke and end all sessions, through GraphQL and REST."""

from __future__ import annotations

import time

import redis
from flask import Flask

from tests.helpers import GraphQLClient, cookie_value

SESSIONS = "{ sessions { id createdAt userAgent ip current } }"


def logged_in_clients(app: Flask, count: int, agent_prefix: str = "device") -> list[GraphQLClient]:
    clients = []
    for n in range(count):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = f"{agent_prefix}-{n}"
        gql = GraphQLClient(client)
        if n == 0:
            gql.register()
        else:
            gql.login()
        clients.append(gql)
    return clients


def test_sessions_lists_every_device_without_cookie_values(app: Flask) -> None:
    first, second, third = logged_in_clients(app, 3)
    sessions = second(SESSIONS)["data"]["sessions"]
    assert [s["userAgent"] for s in sessions] == ["device-2", "device-1", "device-0"]
    assert [s["current"] for s in sessions] == [False, True, False]
    cookies = {cookie_value(c.client) for c in (first, second, third)}
    assert not cookies & {s["id"] for s in sessions}
    assert all(s["ip"] == "127.0.0.1" for s in sessions)
    assert all(abs(int(s["createdAt"]) / 1000 - time.time()) < 60 for s in sessions)


def test_sessions_needs_login(gql: GraphQLClient) -> None:
    assert gql(SESSIONS, expect_errors=True)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert gql.client.get("/sessions").status_code == 401


def test_revoke_one_session(app: Flask) -> None:
    first, second = logged_in_clients(app, 2)
    target = next(s for s in first(SESSIONS)["data"]["sessions"] if not s["current"])
    mutation = "mutation R($id: String!) { revokeSession(id: $id) }"
    assert first(mutation, id=target["id"]) == {"data": {"revokeSession": True}}
    assert second.me() is None
    assert first.me() is not None
    assert first(mutation, id=target["id"]) == {"data": {"revokeSession": False}}


def test_cannot_revoke_another_users_session(app: Flask) -> None:
    (alice,) = logged_in_clients(app, 1)
    bob = GraphQLClient(app.test_client())
    bob.register("bob")
    bobs = bob(SESSIONS)["data"]["sessions"][0]["id"]
    body = alice("mutation R($id: String!) { revokeSession(id: $id) }", id=bobs)
    assert body == {"data": {"revokeSession": False}}
    assert bob.me() is not None


def test_logout_all_ends_sessions_from_two_other_clients(
    app: Flask, redis_server: redis.Redis
) -> None:
    me, other1, other2 = logged_in_clients(app, 3)
    bystander = GraphQLClient(app.test_client())
    bystander.register("bob")
    response = me.post("mutation { logoutAll }")
    assert response.get_json() == {"data": {"logoutAll": 3}}
    assert any(c.startswith("qid=;") for c in response.headers.getlist("Set-Cookie"))
    assert me.me() is None and other1.me() is None and other2.me() is None
    assert bystander.me() is not None
    assert [k for k in redis_server.scan_iter("sess:*")] == [
        f"sess:{cookie_value(bystander.client)}".encode()
    ]


def test_rest_mirrors_the_sessions_api(app: Flask) -> None:
    first, second, third = logged_in_clients(app, 3)
    listed = first.client.get("/sessions").get_json()["sessions"]
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    target = next(s["id"] for s in listed if not s["current"])
    assert first.client.delete(f"/sessions/{target}").get_json() == {"revoked": True}
    assert first.client.delete(f"/sessions/{target}").status_code == 404
    assert first.client.delete("/sessions").get_json() == {"ended": 2}
    assert [c.me() for c in (first, second, third)] == [None, None, None]


def test_index_forgets_expired_sessions(app_factory, redis_server: redis.Redis) -> None:
    app = app_factory(env={"SESSION_LIFETIME": "1"})
    (client,) = logged_in_clients(app, 1)
    user_id = client.client.get("/me").get_json()["user"]["id"]
    time.sleep(2.1)  # Redis expires the session record on its own clock
    fresh = GraphQLClient(app.test_client())
    fresh.login()
    assert len(fresh(SESSIONS)["data"]["sessions"]) == 1
    assert redis_server.hlen(f"user-sessions:{user_id}") == 1
    assert 0 < redis_server.ttl(f"user-sessions:{user_id}") <= 1


def test_every_session_operation_uses_the_configured_key_prefixes(
    app_factory, redis_server: redis.Redis
) -> None:
    from services import user_sessions

    app = app_factory(env={"SESSION_KEY_PREFIX": "s2:", "SESSION_INDEX_PREFIX": "idx2:"})
    first, second = logged_in_clients(app, 2)
    user_id = first.client.get("/me").get_json()["user"]["id"]
    assert redis_server.hlen(f"idx2:{user_id}") == 2
    target = next(s for s in first(SESSIONS)["data"]["sessions"] if not s["current"])
    revoked = first("mutation R($id: String!) { revokeSession(id: $id) }", id=target["id"])
    assert revoked == {"data": {"revokeSession": True}}
    assert second.me() is None
    assert list(redis_server.scan_iter("s2:*")) == [f"s2:{cookie_value(first.client)}".encode()]
    redis_server.delete(f"s2:{cookie_value(first.client)}")  # gone behind the index's back
    with app.app_context():
        assert user_sessions.purge_orphans() == 1
    assert redis_server.exists(f"idx2:{user_id}") == 0
    assert [*redis_server.scan_iter("sess:*"), *redis_server.scan_iter("user-sessions:*")] == []
