"""Each real server (gunicorn, Granian): workers share sessions through Redis; the master
migrates once, owns the embedded Redis, and refuses a weak production secret."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from tests.helpers import ME, REGISTER
from tests.support import HttpClient, app_env, app_server, gone, refusal

pytestmark = pytest.mark.timeout(120)


def test_login_on_one_request_is_honoured_by_every_worker(
    server_kind: str, tmp_path: Path, redis_url: str
) -> None:
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url, threads="1")
    with app_server(server_kind, env, tmp_path) as server:
        assert len(server.workers(2)) == 2
        client = HttpClient(server.base_url)
        status, body = client.graphql(REGISTER, username="alice", password="correct horse")
        assert status == 200 and body["data"]["register"]["user"]["username"] == "alice"
        assert "qid" in client.cookies
        for _ in range(20):
            fresh = HttpClient(server.base_url)  # a new connection each time: any worker
            fresh.cookies = dict(client.cookies)
            status, body = fresh.graphql(ME)
            assert status == 200
            assert body["data"]["me"]["username"] == "alice"
        log = server.log()
    assert log.count("Running upgrade  -> 0001") == 1  # migrations ran once, in the master


def test_embedded_redis_default_with_nothing_configured(server_kind: str, tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {"INSTANCE_PATH": str(instance), "WEB_CONCURRENCY": "2"}
    drop = ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")
    with app_server(server_kind, env, tmp_path, drop=drop) as server:
        client = HttpClient(server.base_url)
        status, body = client.graphql(REGISTER, username="alice", password="correct horse")
        assert status == 200, body
        status, body = client.graphql(ME)
        assert body["data"]["me"]["username"] == "alice"
        assert client.request("GET", "/healthz")[0] == 200
        assert (instance / "app.sqlite").exists()
        assert (instance / "secret_key").exists()
        settings = json.loads((instance / "redis.db.settings").read_text())
        redis_pid = int(Path(settings["pidfile"]).read_text())
        assert psutil.pid_exists(redis_pid)
    # the master owns the embedded server and stops it on exit; workers never do
    assert gone(redis_pid, timeout=10)


def test_production_refuses_to_start_without_a_strong_secret(
    server_kind: str, tmp_path: Path
) -> None:
    code, output = refusal(
        server_kind,
        {
            "SECRET_KEY": "short",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
        },
    )
    assert code != 0
    assert "SECRET_KEY must be set to at least 32 characters" in output
