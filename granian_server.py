"""Granian settings and entry: ``python -m granian_server`` (``make serve SERVER=granian``).

Granian reads no settings file, so this module is both: it runs what gunicorn's
``on_starting`` runs (``serving.prepare``), then serves ``wsgi:app`` through Granian's WSGI
interface with the settings below, read from the environment as gunicorn.conf.py reads its own
(``serving.server_settings`` for the ones both servers have).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from granian.constants import HTTPModes, Interfaces, RuntimeModes
from granian.http import HTTP1Settings
from granian.server import Server
from granian.server.common import AbstractServer

from config import ConfigError
from config.environment import env_choice, env_int
from serving import (
    ServerSettings,
    configuration_checked,
    load_env_files,
    prepare,
    prepare_metrics_dir,
    remove_metrics_dir,
    server_log_config,
    server_settings,
)


@dataclass(frozen=True)
class GranianSettings:
    """The shared settings (``serving.ServerSettings``) and Granian's own."""

    shared: ServerSettings
    # Measured on the 2-core test box (loaded by other jobs: figures vary by +-25%), wrk -c16,
    # one worker unless said, Redis and SQLite local; bench/ has the careful numbers.
    # - Blocking threads (GRANIAN_BLOCKING_THREADS, ``shared.threads``) are Python threads
    #   that run requests, gunicorn's `threads`. Reads cost about the same with 2, 8 or 32,
    #   but a login holds its thread while argon2 hashes: with 4 logins in a loop, { hello }
    #   got 90-150 req/s (p99 ~750 ms) with 4 threads and ~2700 req/s (p99 ~220-350 ms) with
    #   8. Hashing runs at low priority (services/passwords.py).
    # - Backpressure is how many connections a worker holds at once; a connection holds its
    #   place from accept until its response, also while it trickles in its headers. With 4,
    #   50 connections that sent one byte stalled every other request for 30 s; with 512, 200
    #   such connections changed nothing. So far above the threads: requests past the 8
    #   threads wait in Granian's queue (at most 512 x the 64 KiB body limit, 32 MiB, per
    #   worker). Granian's own default is 1024 / workers: fewer per worker as workers are added.
    backpressure: int
    # - Rust runtime: two workers, three interleaved rounds each, { hello } and logged-in `me`:
    #   `mt` with 2 threads was 0-35% above `st` with 1 in five of six comparisons (within the
    #   noise here, never below it). The Rust threads only do I/O; Python runs in the
    #   blocking threads.
    runtime_mode: RuntimeModes
    runtime_threads: int
    # - A client gets this long to send its request headers, milliseconds (also the idle time
    #   allowed between keep-alive requests; gunicorn's keepalive is 5 s). Until then it holds
    #   a backpressure place but no Python thread: a connection that sends nothing, or one
    #   byte, is closed after it (measured: 2.0 s with 2000).
    header_read_timeout_ms: int


def read_settings(env: Mapping[str, str] = os.environ) -> GranianSettings:
    """Granian's settings from ``env``; ``ConfigError`` names a variable that does not read."""
    shared = server_settings("GRANIAN", "GRANIAN_BLOCKING_THREADS", env)
    if not shared.bind.rpartition(":")[2].isdigit():
        raise ConfigError(f"GRANIAN_BIND must be host:port, got {shared.bind!r}")
    modes = tuple(mode.value for mode in RuntimeModes)
    return GranianSettings(
        shared=shared,
        backpressure=env_int(env, "GRANIAN_BACKPRESSURE", 512, minimum=1),
        runtime_mode=RuntimeModes(env_choice(env, "GRANIAN_RUNTIME_MODE", modes, "mt")),
        runtime_threads=env_int(env, "GRANIAN_RUNTIME_THREADS", 2, minimum=1),
        header_read_timeout_ms=env_int(env, "GRANIAN_HEADER_READ_TIMEOUT_MS", 5000, minimum=1),
    )


def build_server(settings: GranianSettings) -> AbstractServer[Any]:
    """A Granian server on ``wsgi:app`` with ``settings``."""
    host, _, port = settings.shared.bind.rpartition(":")
    return Server(
        "wsgi:app",
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        workers=settings.shared.workers,
        blocking_threads=settings.shared.threads,
        backpressure=settings.backpressure,
        runtime_threads=settings.runtime_threads,
        runtime_mode=settings.runtime_mode,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=settings.header_read_timeout_ms),
        # Granian's own lines in the product's format; the product logs each request itself
        log_dictconfig=server_log_config("_granian", "granian.access"),
        log_access=False,
        respawn_failed_workers=True,
        # SIGTERM: in-flight requests get this long to finish (GRANIAN_GRACEFUL_TIMEOUT)
        workers_kill_timeout=settings.shared.graceful_timeout,
    )


def main() -> None:
    """Read the settings, check, migrate, then serve until SIGTERM or SIGINT."""
    load_env_files()  # first: every setting may come from .env
    with configuration_checked():  # one line naming the variable, not a traceback
        settings = read_settings()
    prepare_metrics_dir()  # here, not at import: spawned workers import this module
    try:
        prepare()
        build_server(settings).serve()
    finally:
        remove_metrics_dir()


if __name__ == "__main__":
    main()
