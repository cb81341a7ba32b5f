"""The floor: a raw WSGI app doing only the unavoidable I/O of each benchmark workload.

It answers the benchmark's exact requests (dispatch on the query text, no GraphQL), with one
Redis GET for a logged-in read, one indexed SELECT where data is needed, JSON out. The table
shows the product against it: how close the product is to the limit of its language and services.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import psycopg
import redis
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from sessions.record import CREATED_AT, SNAPSHOT, USER_ID, decode_record, encode_record

_redis = redis.Redis.from_url(os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/0"))
_local = threading.local()
_json_in, _json_out = msgspec.json.Decoder(), msgspec.json.Encoder()
_hasher = PasswordHasher()
TTL = 315360000
Handler = Callable[[dict[str, Any], str | None], Any]


def _db() -> psycopg.Connection[Any]:
    if not hasattr(_local, "conn"):
        _local.conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return _local.conn  # type: ignore[no-any-return]


def _session(sid: str | None) -> dict[str, Any] | None:
    """The session's record, decoded with the product's codec; None when there is none."""
    raw = _redis.get("sess:" + sid) if sid else None
    return decode_record(raw) if isinstance(raw, bytes) else None


def _user_id(record: dict[str, Any]) -> Any:
    """The logged-in user's id in a session record."""
    return record.get(USER_ID)


def _user(user_id: int) -> dict[str, Any] | None:
    row = _db().execute('SELECT id, username FROM "user" WHERE id = %s', (user_id,)).fetchone()
    return {"id": row[0], "username": row[1]} if row else None


def me(_: dict[str, Any], sid: str | None) -> Any:
    """GET of the session; one SELECT unless the record carries the product's user snapshot."""
    record = _session(sid) or {}
    user_id = _user_id(record)
    if user_id is None:
        return {"data": {"me": None}}
    snapshot = record.get(SNAPSHOT)
    if snapshot:
        return {"data": {"me": {"id": user_id, "username": snapshot[0]}}}
    return {"data": {"me": _user(user_id)}}


def posts(_: dict[str, Any], __: str | None) -> Any:
    """Newest 50 posts, one indexed query."""
    rows = (
        _db()
        .execute("SELECT id, title FROM post ORDER BY created_at DESC, id DESC LIMIT 50")
        .fetchall()
    )
    return {"data": {"posts": [{"id": i, "title": t} for i, t in rows]}}


def posts_with_creator(_: dict[str, Any], __: str | None) -> Any:
    """Newest 50 posts with their creators' names, one indexed join."""
    rows = (
        _db()
        .execute(
            'SELECT p.id, p.title, u.username FROM post p JOIN "user" u ON u.id = p.creator_id'
            " ORDER BY p.created_at DESC, p.id DESC LIMIT 50"
        )
        .fetchall()
    )
    items = [{"id": i, "title": t, "creator": {"username": u}} for i, t, u in rows]
    return {"data": {"posts": items}}


def create_post(_: dict[str, Any], sid: str | None) -> Any:
    """GET of the session, one INSERT ... RETURNING."""
    record = _session(sid) or {}
    row = (
        _db()
        .execute(
            "INSERT INTO post (title, creator_id, created_at, updated_at)"
            " VALUES ('bench post', %s, now(), now()) RETURNING id, title",
            (_user_id(record),),
        )
        .fetchone()
    )
    assert row is not None
    return {"data": {"createPost": {"id": row[0], "title": row[1]}}}


def login(body: dict[str, Any], _: str | None) -> Any:
    """SELECT by username, argon2 verify, SET of a new session in the product's format."""
    options = body["variables"]["options"]
    row = (
        _db()
        .execute(
            "SELECT id, username, password_hash,"
            " (extract(epoch FROM created_at) * 1000)::bigint,"
            ' (extract(epoch FROM updated_at) * 1000)::bigint FROM "user" WHERE username_key = %s',
            (options["username"].lower(),),
        )
        .fetchone()
    )
    try:
        assert row is not None
        _hasher.verify(row[2], options["password"])
    except (AssertionError, VerificationError):
        return {"data": {"login": {"errors": [{"field": "password"}], "user": None}}}
    sid = secrets.token_urlsafe(16)
    record = {USER_ID: row[0], SNAPSHOT: [row[1], row[3], row[4]], CREATED_AT: int(time.time())}
    _redis.set("sess:" + sid, encode_record(record, sid), ex=TTL, nx=True)
    return {"data": {"login": {"errors": None, "user": {"id": row[0], "username": row[1]}}}}


def rest_me(sid: str | None) -> Any:
    """GET and TTL of the session in one round trip, then the user."""
    if not sid:
        return {"user": None, "session": {"cookie": False, "active": False}}
    pipe = _redis.pipeline(transaction=False)
    pipe.get("sess:" + sid)
    pipe.ttl("sess:" + sid)
    raw, ttl = pipe.execute()
    user_id = _user_id(decode_record(raw) or {}) if raw else None
    user = _user(user_id) if user_id is not None else None
    return {"user": user, "session": {"cookie": True, "active": bool(raw), "ttl": ttl}}


HANDLERS: dict[str, Handler] = {
    "{ hello }": lambda *_: {"data": {"hello": "hello world"}},
    "{ me { id username } }": me,
    "{ posts { id title } }": posts,
    "{ posts { id title creator { username } } }": posts_with_creator,
    'mutation { createPost(title: "bench post") { id title } }': create_post,
}


def _handler(query: str) -> Handler:
    return login if query.startswith("mutation Login") else HANDLERS[query]


def _sid(environ: dict[str, Any]) -> str | None:
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "qid":
            return str(value)
    return None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """POST /graphql with one of the benchmark's bodies, or GET /me."""
    sid = _sid(environ)
    if environ["REQUEST_METHOD"] == "GET":
        result = rest_me(sid)
    else:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = _json_in.decode(environ["wsgi.input"].read(size))
        result = _handler(body["query"])(body, sid)
    out = _json_out.encode(result)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    start_response("200 OK", headers)
    return [out]
