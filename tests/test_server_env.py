"""Both servers read .env and .flaskenv from the directory they start in (the real
environment wins, then .env, then .flaskenv), and bind 0.0.0.0:$PORT in production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from serving import bind_address
from tests.helpers import REGISTER
from tests.support import PROJECT_DIR, HttpClient, free_port
from tests.support.app_servers import CHEAP_ARGON2, stop, wait_until_up

pytestmark = pytest.mark.timeout(120)
COMMANDS = {
    "gunicorn": [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        str(PROJECT_DIR / "gunicorn.conf.py"),
        "wsgi:app",
    ],
    "granian": [sys.executable, "-m", "granian_server"],
}
SET_BY_TESTS = ("GUNICORN_BIND", "GRANIAN_BIND", "PORT", "APP_ENV", "SESSION_COOKIE_NAME")


@pytest.fixture
def started_elsewhere(server_kind: str, tmp_path: Path, redis_url: str) -> Iterator[int]:
    """The server started in ``tmp_path`` (its .env files there), no bind given; its port."""
    port = free_port()
    (tmp_path / ".env").write_text(
        f"PORT={port}\nSESSION_COOKIE_NAME=envcookie\nSESSION_KEY_PREFIX=dotenv:\n"
    )
    (tmp_path / ".flaskenv").write_text("APP_ENV=production\nSESSION_COOKIE_NAME=flaskenvcookie\n")
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_TESTS}
    env.update(
        CHEAP_ARGON2,
        PYTHONPATH=str(PROJECT_DIR),
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite'}",
        REDIS_URL=redis_url,
        SECRET_KEY="a-production-strength-secret-key-0123456789",
        INSTANCE_PATH=str(tmp_path / "instance"),
        WEB_CONCURRENCY="1",
        SESSION_KEY_PREFIX="real:",  # the real environment wins over .env
    )
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            COMMANDS[server_kind], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/livez", process)
        yield port
    except Exception:
        print((tmp_path / "server.log").read_text(errors="replace"))
        raise
    finally:
        stop(process)


def test_env_files_configure_the_server_and_production_binds_all_interfaces(
    started_elsewhere: int, redis_server: redis.Redis
) -> None:
    port = started_elsewhere
    listening = {
        c.laddr.ip
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
    }
    assert listening == {"0.0.0.0"}
    client = HttpClient(f"http://127.0.0.1:{port}")
    status, body = client.graphql(REGISTER, username="alice", password="correct horse")
    assert status == 200 and body["data"]["register"]["user"]
    assert list(client.cookies) == ["envcookie"]  # .env over .flaskenv
    assert redis_server.keys("real:*") and not redis_server.keys("dotenv:*")
    redis_server.flushdb()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "5000"}, "127.0.0.1:5000"),
        ({"PORT": "5000", "APP_ENV": "production"}, "0.0.0.0:5000"),
        ({"APP_ENV": "production"}, "0.0.0.0:4000"),
        ({"APP_ENV": "production", "GUNICORN_BIND": "10.1.1.1:81"}, "10.1.1.1:81"),
    ],
)
def test_bind_address(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for name in ("PORT", "APP_ENV", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert bind_address("GUNICORN_BIND") == expected


def test_the_flask_command_reads_env_files_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APP_ENV=staging\n")  # no such environment: refused
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_TESTS}
    flask = str(Path(sys.executable).parent / "flask")
    result = subprocess.run(
        [flask, "--app", "wsgi", "routes"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT_DIR), "INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "APP_ENV must be one of development, production, got 'staging'" in result.stderr.decode()
