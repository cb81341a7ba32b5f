"""Operator commands, run through Flask's CLI runner against the real services."""

from __future__ import annotations

import redis
from flask import Flask

from tests.helpers import GraphQLClient


def test_users_create_then_login(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "carol", "--password", "correct horse"])
    assert result.exit_code == 0, result.output
    assert "created user carol" in result.output
    assert GraphQLClient(app.test_client()).login("carol", "correct horse")["user"]
    again = runner.invoke(args=["users", "create", "CAROL", "--password", "correct horse"])
    assert again.exit_code != 0 and "username already taken" in again.output
    short = runner.invoke(args=["users", "create", "dave", "--password", "short"])
    assert short.exit_code != 0 and "password" in short.output


def test_sessions_list_and_revoke(app: Flask) -> None:
    clients = []
    for n in range(2):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = f"agent-{n}"
        gql = GraphQLClient(client)
        gql.register() if n == 0 else gql.login()
        clients.append(gql)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["sessions", "list", "--user", "alice"])
    assert listed.exit_code == 0
    assert "agent-0" in listed.output and "agent-1" in listed.output
    assert "2 live session(s)" in listed.output
    revoked = runner.invoke(args=["sessions", "revoke", "--user", "ALICE"])
    assert "ended 2 session(s)" in revoked.output
    assert [c.me() for c in clients] == [None, None]
    missing = runner.invoke(args=["sessions", "list", "--user", "nobody"])
    assert missing.exit_code != 0 and "no user named" in missing.output


def test_purge_orphans(app: Flask, redis_server: redis.Redis) -> None:
    GraphQLClient(app.test_client()).register("alice")
    GraphQLClient(app.test_client()).register("bob")
    survivor = GraphQLClient(app.test_client())
    survivor.login("bob")
    keys = list(redis_server.scan_iter("user-sessions:*"))
    assert len(keys) == 2
    expired = [sid for key in keys for sid in redis_server.hkeys(key)][:2]
    for sid in expired:  # as if Redis had expired them
        redis_server.delete(f"sess:{sid!s}" if isinstance(sid, str) else b"sess:" + sid)
    result = app.test_cli_runner().invoke(args=["sessions", "purge-orphans"])
    assert result.exit_code == 0, result.output
    assert "purged 2 " in result.output
    assert sum(redis_server.hlen(key) for key in keys) == 1


def test_users_delete_ends_sessions_and_removes_posts(app: Flask) -> None:
    gql = GraphQLClient(app.test_client())
    gql.register("alice")
    gql('mutation { createPost(title: "bye") { id } }')
    result = app.test_cli_runner().invoke(args=["users", "delete", "alice", "--yes"])
    assert result.exit_code == 0, result.output
    assert "ended 1 session(s) and revoked 0 reset token(s)" in result.output
    assert gql.me() is None  # the snapshot in the session cannot outlive the user
    assert gql("{ posts { id } }")["data"]["posts"] == []
    assert GraphQLClient(app.test_client()).login("alice")["user"] is None
