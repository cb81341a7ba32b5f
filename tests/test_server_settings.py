"""gunicorn and Granian read their settings (WEB_CONCURRENCY, PORT, GUNICORN_*, GRANIAN_*)
with the one environment parser: a value that does not read stops the server with one line
naming the variable and a non-zero exit, not a traceback, as the application's own settings do.

One case the product cannot reach: gunicorn itself reads ``WEB_CONCURRENCY`` from the real
environment with ``int()`` when it is imported, before it loads gunicorn.conf.py, so
``WEB_CONCURRENCY=abc gunicorn ...`` is gunicorn's own traceback. From ``.env`` (read by
gunicorn.conf.py), and under Granian from anywhere, it is the product's one line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from granian.constants import RuntimeModes

from granian_server import read_settings
from serving import ServerSettings, server_settings
from tests.support import PROJECT_DIR, refusal
from tests.support.app_servers import COMMANDS

pytestmark = pytest.mark.timeout(120)


def refusal_from_dotenv(kind: str, dotenv: str, workdir: Path) -> tuple[int, str]:
    """Start ``kind`` in ``workdir``, its ``.env`` there holding ``dotenv``; exit code, output."""
    (workdir / ".env").write_text(dotenv)
    command = [
        part.replace("gunicorn.conf.py", str(PROJECT_DIR / "gunicorn.conf.py"))
        for part in COMMANDS[kind]
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "PORT")}
    result = subprocess.run(
        [*command, *(["wsgi:app"] if kind == "gunicorn" else [])],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(PROJECT_DIR), "APP_ENV": "production"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def test_both_servers_refuse_a_bad_web_concurrency_from_dotenv_in_one_line(
    server_kind: str, tmp_path: Path
) -> None:
    code, output = refusal_from_dotenv(server_kind, "WEB_CONCURRENCY=abc\n", tmp_path)
    assert code != 0
    expected = "WEB_CONCURRENCY must be an integer of at least 1, got 'abc'"
    assert output.strip() == f"configuration error: {expected}"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY must be an integer of at least 1, got '0'"),
        ("PORT", "eighty", "PORT must be an integer of at least 0, got 'eighty'"),
    ],
)
def test_both_servers_refuse_a_bad_shared_setting_in_one_line(
    server_kind: str, name: str, value: str, message: str
) -> None:
    no_bind = {"GUNICORN_BIND": "", "GRANIAN_BIND": ""} if name == "PORT" else {}
    code, output = refusal(server_kind, {**no_bind, name: value})
    assert code != 0
    assert output.strip() == f"configuration error: {message}"


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        ("gunicorn", "GUNICORN_THREADS", "eight"),
        ("gunicorn", "GUNICORN_TIMEOUT", "30s"),
        ("gunicorn", "GUNICORN_GRACEFUL_TIMEOUT", "-1"),
        ("granian", "WEB_CONCURRENCY", "abc"),
        ("granian", "GRANIAN_BLOCKING_THREADS", "eight"),
        ("granian", "GRANIAN_BACKPRESSURE", "lots"),
        ("granian", "GRANIAN_RUNTIME_MODE", "fast"),
        ("granian", "GRANIAN_RUNTIME_THREADS", "2.5"),
        ("granian", "GRANIAN_HEADER_READ_TIMEOUT_MS", "5s"),
        ("granian", "GRANIAN_GRACEFUL_TIMEOUT", "soon"),
        ("granian", "GRANIAN_BIND", "127.0.0.1:http"),
    ],
)
def test_each_server_refuses_a_bad_value_in_one_line(kind: str, name: str, value: str) -> None:
    code, output = refusal(kind, {name: value})
    assert code != 0
    [line] = output.strip().splitlines()
    assert line.startswith(f"configuration error: {name} must be") and repr(value) in line


def test_both_servers_read_their_shared_settings_alike() -> None:
    env = {
        "WEB_CONCURRENCY": "3",
        "GUNICORN_THREADS": "4",
        "GRANIAN_BLOCKING_THREADS": "4",
        "GUNICORN_GRACEFUL_TIMEOUT": "7",
        "GRANIAN_GRACEFUL_TIMEOUT": "7",
        "PORT": "5000",
    }
    gunicorn = server_settings("GUNICORN", "GUNICORN_THREADS", env)
    granian = read_settings(env)
    assert gunicorn == granian.shared == ServerSettings("127.0.0.1:5000", 3, 4, 7)
    defaults = read_settings({"WEB_CONCURRENCY": " ", "GRANIAN_RUNTIME_MODE": "ST"})
    assert defaults.shared == ServerSettings("127.0.0.1:4000", 2, 8, 20)
    assert defaults.runtime_mode is RuntimeModes.st
