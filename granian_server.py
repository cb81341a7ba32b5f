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
# Python threads per worker that run requests, gunicorn's `threads`. MEASURE
BLOCKING_THREADS = int(os.environ.get("GRANIAN_BLOCKING_THREADS", "8"))
# Requests a worker takes on at once; connections beyond wait in the kernel's backlog. MEASURE
BACKPRESSURE = int(os.environ.get("GRANIAN_BACKPRESSURE", "64"))
# Rust I/O threads per worker and how they run. MEASURE
RUNTIME_THREADS = int(os.environ.get("GRANIAN_RUNTIME_THREADS", "1"))
RUNTIME_MODE = RuntimeModes(os.environ.get("GRANIAN_RUNTIME_MODE", "st"))
# A client gets this long to send its request headers (milliseconds); one that sends a byte
# and stops holds no Python thread meanwhile, only a Rust task, and is dropped after it.
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
