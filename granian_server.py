"""Granian settings and entry: ``python -m granian_server`` (``make serve SERVER=granian``).

Granian reads no settings file, so this module is both: it runs what gunicorn's
``on_starting`` runs (``serving.prepare``), then serves ``wsgi:app`` through Granian's WSGI
interface with the settings below, read from the environment as gunicorn.conf.py reads its own.
"""

from __future__ import annotations

import os
from typing import Any

from granian.constants import HTTPModes, Interfaces, RuntimeModes
from granian.http import HTTP1Settings
from granian.server import Server
from granian.server.common import AbstractServer

from serving import bind_address, prepare, server_log_config

WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Measured on the 2-core test box (loaded by other jobs: figures vary by +-25%), wrk -c16,
# one worker unless said, Redis and SQLite local; bench/ has the careful numbers.
# - Blocking threads are Python threads that run requests, gunicorn's `threads`. Reads cost
#   about the same with 2, 8 or 32, but a login holds its thread while argon2 hashes: with 4
#   logins in a loop, { hello } got 90-150 req/s (p99 ~750 ms) with 4 threads and ~2700 req/s
#   (p99 ~220-350 ms) with 8. Hashing runs at low priority (services/passwords.py).
BLOCKING_THREADS = int(os.environ.get("GRANIAN_BLOCKING_THREADS", "8"))
# - Backpressure is how many connections a worker holds at once; a connection holds its
#   place from accept until its response, also while it trickles in its headers. With 4,
#   50 connections that sent one byte stalled every other request for 30 s; with 512, 200
#   such connections changed nothing. So far above the threads: requests past the 8 threads
#   wait in Granian's queue (at most 512 x the 64 KiB body limit, 32 MiB, per worker).
#   Granian's own default is 1024 / workers: fewer per worker as workers are added.
BACKPRESSURE = int(os.environ.get("GRANIAN_BACKPRESSURE", "512"))
# - Rust runtime: two workers, three interleaved rounds each, { hello } and logged-in `me`:
#   `mt` with 2 threads was 0-35% above `st` with 1 in five of six comparisons (within the
#   noise here, never below it). The Rust threads only do I/O; Python runs in BLOCKING_THREADS.
RUNTIME_MODE = RuntimeModes(os.environ.get("GRANIAN_RUNTIME_MODE", "mt"))
RUNTIME_THREADS = int(os.environ.get("GRANIAN_RUNTIME_THREADS", "2"))
# - A client gets this long to send its request headers, milliseconds (also the idle time
#   allowed between keep-alive requests; gunicorn's keepalive is 5 s). Until then it holds
#   a backpressure place but no Python thread: a connection that sends nothing, or one byte,
#   is closed after it (measured: 2.0 s with 2000).
HEADER_READ_TIMEOUT_MS = int(os.environ.get("GRANIAN_HEADER_READ_TIMEOUT_MS", "5000"))
# SIGTERM: in-flight requests get this long to finish, gunicorn's graceful_timeout.
KILL_TIMEOUT = int(os.environ.get("GRANIAN_GRACEFUL_TIMEOUT", "20"))


def build_server() -> AbstractServer[Any]:
    """A Granian server on ``wsgi:app`` with the settings above."""
    host, _, port = bind_address("GRANIAN_BIND").rpartition(":")
    return Server(
        "wsgi:app",
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        workers=WORKERS,
        blocking_threads=BLOCKING_THREADS,
        backpressure=BACKPRESSURE,
        runtime_threads=RUNTIME_THREADS,
        runtime_mode=RUNTIME_MODE,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS),
        # Granian's own lines in the product's format; the product logs each request itself
        log_dictconfig=server_log_config("_granian", "granian.access"),
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=KILL_TIMEOUT,
    )


def main() -> None:
    """Check, migrate, then serve until SIGTERM or SIGINT."""
    prepare()
    build_server().serve()


if __name__ == "__main__":
    main()
