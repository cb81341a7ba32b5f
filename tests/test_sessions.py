"""Sessions in Redis: the seed's cookie contract, measured against a real Redis."""

from __future__ import annotations

import re

import msgspec
import redis
from flask import Flask

from sessions.record import decode_record
from tests.helpers import (
    ME,
    REGISTER_ALICE,
    GraphQLClient,
    cookie_value,
    count_redis_commands,
    set_cookies,
)

TEN_YEARS = 10 * 365 * 24 * 3600


def session_keys(server: redis.Redis, prefix: str = "sess:") -> list[bytes]:
    return list(server.scan_iter(match=f"{prefix}*"))


def test_login_cookie_attributes_and_stored_record(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    response = gql.post(REGISTER_ALICE)
    [header] = set_cookies(response)
    sid = cookie_value(gql.client)
    assert sid is not None and re.fullmatch(r"[A-Za-z0-9_-]{22}", sid)  # 128 random bits
    assert header.startswith(f"qid={sid};")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # development: must work over http://localhost
    assert "Domain" not in header
    user_id = response.get_json()["data"]["register"]["user"]["id"]
    raw = redis_server.get(f"sess:{sid}")
    assert isinstance(raw, bytes)
    record = decode_record(raw)
    assert record is not None
    assert record["userId"] == user_id and record["u"][0] == "alice"
    assert set(record) == {"userId", "createdAt", "u"}
    assert set(msgspec.msgpack.decode(raw)) == {0, 1, 2}  # common fields stored as codes
    # <= 44 bytes: Redis keeps it in one allocation with its header (an embedded string);
    # the peer's JSON session with its copy of the cookie is ~150 bytes
    assert len(raw) <= 44
    assert TEN_YEARS - 5 <= redis_server.ttl(f"sess:{sid}") <= TEN_YEARS


def test_anonymous_requests_create_no_key_and_no_cookie(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    with count_redis_commands(redis_server) as counts:
        for _ in range(20):
            response = gql.post(ME)
            assert "Set-Cookie" not in response.headers
            response = gql.client.get("/me")
            assert "Set-Cookie" not in response.headers
        assert "Set-Cookie" not in gql.post("mutation { logout }").headers
    assert counts == {}
    assert session_keys(redis_server) == []


def test_logged_in_read_costs_exactly_one_get(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    with count_redis_commands(redis_server) as counts:
        response = gql.post(ME)
    assert response.get_json()["data"]["me"]["username"] == "alice"
    assert "Set-Cookie" not in response.headers
    assert counts == {"get": 1}


def test_request_that_never_reads_the_session_costs_nothing(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    with count_redis_commands(redis_server) as counts:
        assert gql("{ hello }") == {"data": {"hello": "hello world"}}
    assert counts == {}


def test_unknown_malformed_and_tampered_cookies_are_anonymous(
    app: Flask, gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    real = cookie_value(gql.client)
    assert real is not None
    flipped = real[:-1] + ("A" if real[-1] != "A" else "B")
    for value in ("attacker-chosen-id", "a" * 43, flipped, "", "x" * 4000, "é", real + "x"):
        client = app.test_client()
        client.set_cookie("qid", value)
        response = client.post("/graphql", json={"query": ME})
        assert response.status_code == 200
        assert response.get_json() == {"data": {"me": None}}
        assert "Set-Cookie" not in response.headers
    assert len(session_keys(redis_server)) == 1


def test_logout_deletes_key_clears_cookie_and_replay_is_anonymous(
    app: Flask, gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    sid = cookie_value(gql.client)
    response = gql.post("mutation { logout }")
    assert response.get_json() == {"data": {"logout": True}}
    [header] = set_cookies(response)
    assert header.startswith("qid=;") and "Path=/" in header
    assert "Expires=Thu, 01 Jan 1970" in header or "Max-Age=0" in header
    assert redis_server.exists(f"sess:{sid}") == 0
    replay = app.test_client()
    replay.set_cookie("qid", sid or "")
    assert GraphQLClient(replay).me() is None


def test_login_again_rotates_the_session_id(
    app: Flask, gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    first = cookie_value(gql.client)
    assert gql.login()["user"]
    second = cookie_value(gql.client)
    assert first != second
    assert redis_server.exists(f"sess:{first}") == 0
    assert redis_server.exists(f"sess:{second}") == 1


def test_cookie_name_prefix_and_lifetime_are_configurable(
    app_factory, redis_server: redis.Redis
) -> None:
    app = app_factory(
        env={
            "SESSION_COOKIE_NAME": "sid",
            "SESSION_KEY_PREFIX": "app:s:",
            "SESSION_LIFETIME": "120",
        }
    )
    gql = GraphQLClient(app.test_client())
    gql.register()
    sid = cookie_value(gql.client, "sid")
    assert sid is not None
    assert 115 <= redis_server.ttl(f"app:s:{sid}") <= 120
    assert gql.me() is not None


def test_every_session_key_has_a_ttl(app: Flask, redis_server: redis.Redis) -> None:
    for name in ("alice", "bob", "carol"):
        GraphQLClient(app.test_client()).register(name)
    keys = session_keys(redis_server)
    assert len(keys) == 3
    assert all(0 < redis_server.ttl(key) <= TEN_YEARS for key in keys)


def test_undecodable_record_is_anonymous_and_deleted(
    app: Flask, gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    import pickle

    class Boom:
        def __reduce__(self):  # pragma: no cover - must never run
            return (exec, ("import pathlib; pathlib.Path('/tmp/pwned-by-pickle').touch()",))

    gql.register()
    sid = cookie_value(gql.client)
    for junk in (pickle.dumps(Boom()), b"\xc1\xc1garbage", msgspec.msgpack.encode([1, 2])):
        redis_server.set(f"sess:{sid}", junk)
        response = gql.post(ME)
        assert response.status_code == 200
        assert response.get_json() == {"data": {"me": None}}
        assert redis_server.exists(f"sess:{sid}") == 0
    import os

    assert not os.path.exists("/tmp/pwned-by-pickle")


def test_logged_in_me_needs_no_sql(app: Flask, gql: GraphQLClient) -> None:
    from sqlalchemy import event

    from extensions import db

    user = gql.register()["user"]
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        me = gql("{ me { id username createdAt updatedAt } }")["data"]["me"]
        rest = gql.client.get("/me").get_json()["user"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert me == {k: user[k] for k in ("id", "username", "createdAt", "updatedAt")}
    assert rest == {"id": user["id"], "username": "alice"}
    assert statements == []


def test_record_without_snapshot_falls_back_to_the_database(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    user = gql.register()["user"]
    sid = cookie_value(gql.client)
    redis_server.set(f"sess:{sid}", msgspec.msgpack.encode({"userId": user["id"]}))
    assert gql.me() == {"id": user["id"], "username": "alice"}


def test_sessions_stored_before_ids_and_records_were_shortened_still_work(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    user = gql.register()["user"]
    old_sid = "O" * 43  # a 43-character id, as issued before
    created = int(user["createdAt"])
    old_record = {"userId": user["id"], "u": ["alice", created, created], "createdAt": 1}
    redis_server.set(f"sess:{old_sid}", msgspec.msgpack.encode(old_record), ex=60)
    gql.client.set_cookie("qid", old_sid)
    assert gql.me() == {"id": user["id"], "username": "alice"}


def test_sessions_from_before_keep_full_names_when_rewritten(
    app_factory, redis_server: redis.Redis
) -> None:
    """An instance still on the previous version (rolling deploy) can read them back."""
    app = app_factory(env={"SESSION_IDLE_TIMEOUT": "600", "SESSION_TOUCH_INTERVAL": "0"})
    gql = GraphQLClient(app.test_client())
    user = gql.register()["user"]
    old_sid = "O" * 43
    created = int(user["createdAt"])
    old_record = {"userId": user["id"], "u": ["alice", created, created], "createdAt": 1}
    redis_server.set(f"sess:{old_sid}", msgspec.msgpack.encode(old_record), ex=600)
    gql.client.set_cookie("qid", old_sid)
    assert gql.me() == {"id": user["id"], "username": "alice"}  # the read pushes expiry back
    raw = redis_server.get(f"sess:{old_sid}")
    assert isinstance(raw, bytes)
    rewritten = msgspec.msgpack.decode(raw)
    assert set(rewritten) == {"userId", "u", "createdAt", "seenAt"}
    assert cookie_value(gql.client) == old_sid


def test_a_record_with_unknown_integer_keys_is_dropped(
    gql: GraphQLClient, redis_server: redis.Redis
) -> None:
    gql.register()
    sid = cookie_value(gql.client)
    redis_server.set(f"sess:{sid}", msgspec.msgpack.encode({0: 1, 99: "from the future"}))
    assert gql.me() is None
    assert redis_server.exists(f"sess:{sid}") == 0
