"""gunicorn-only names kept for tests that predate ``tests.support`` (which owns them all)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import (
    PROJECT_DIR,
    HttpClient,
    Server,
    app_server,
    free_port,
    gone,
    refusal,
    remember_cookies,
    stop,
    wait_until_up,
    worker_pids,
)

__all__ = [
    "PROJECT_DIR",
    "HttpClient",
    "Server",
    "free_port",
    "gone",
    "gunicorn",
    "gunicorn_refusal",
    "remember_cookies",
    "stop",
    "wait_for_workers",
    "wait_until_up",
]
wait_for_workers = worker_pids


@contextmanager
def gunicorn(
    env: dict[str, str], tmp_path: Path, *args: str, drop: tuple[str, ...] = ()
) -> Iterator[Server]:
    """``app_server("gunicorn", ...)``."""
    with app_server("gunicorn", env, tmp_path, *args, drop=drop) as server:
        yield server


def gunicorn_refusal(env: dict[str, str]) -> tuple[int, str]:
    """``refusal("gunicorn", env)``."""
    return refusal("gunicorn", env)
