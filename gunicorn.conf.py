"""gunicorn settings for ``make serve`` and deployments.

Use: ``gunicorn -c gunicorn.conf.py wsgi:app``.
"""

from __future__ import annotations

import os
from logging.config import dictConfig
from typing import Any

from gunicorn.config import Config
from gunicorn.glogging import Logger

from config.environment import env_int, env_str
from serving import (
    configuration_checked,
    load_env_files,
    prepare,
    prepare_metrics_dir,
    remove_metrics_dir,
    server_log_config,
    server_settings,
)

load_env_files()  # first: every setting below may come from .env
# A value that does not read stops gunicorn with one line naming the variable, as the
# application's own settings do (prepare), not with a traceback.
with configuration_checked():
    _shared = server_settings("GUNICORN", "GUNICORN_THREADS")
    # seconds a worker may stay silent before the master kills it (Granian has no such timer)
    timeout = env_int(os.environ, "GUNICORN_TIMEOUT", 30, minimum=0)
prepare_metrics_dir()  # before workers start (this file runs in the master only)
bind = _shared.bind
workers = _shared.workers
# Measured per core with bench/ (see bench/RESULTS.md), one worker, wrk -c16:
# - sync answers one connection at a time and closes it after each response: { hello } at
#   a third of gthread's rate, and every request waits behind a login's argon2 (10 req/s);
# - gevent runs psycopg and redis-py through its Python-level waits (me, posts ~40% slower)
#   and argon2 blocks its event loop (p99 of { hello } during logins ~700 ms);
# - gthread keeps connections alive and overlaps Redis/PostgreSQL waits; reads cost the
#   same with 1, 4 or 8 threads, but while logins hash, the threads they hold are gone:
#   with 4 threads and 4 logins { hello } fell to ~35 req/s, with 8 it kept ~180.
#   Hashing itself runs at low priority (services/passwords.py).
worker_class = env_str(os.environ, "GUNICORN_WORKER_CLASS", "gthread")
threads = _shared.threads
graceful_timeout = _shared.graceful_timeout
keepalive = 5
# Two instances run by one user would collide on gunicorn's default control socket.
control_socket_disable = True
accesslog = env_str(os.environ, "GUNICORN_ACCESS_LOG", "") or None
errorlog = "-"


class ProductLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn's own lines (and its access log, when on) in the product's format.

    Not ``logconfig_dict``: with one, gunicorn writes an access line for every request even
    with ``accesslog`` unset, beside the product's own.
    """

    def setup(self, cfg: Config) -> None:
        """gunicorn's set-up, then its loggers routed to the product's handler."""
        super().setup(cfg)
        dictConfig(server_log_config("gunicorn.error", "gunicorn.access"))


logger_class = ProductLogger


def on_starting(server: Any) -> None:
    """In the master, before workers fork: checks, embedded Redis, migrations (``prepare``)."""
    prepare()


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker exits: drop its live metrics files."""
    from infra.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """In the master, at shutdown: remove the metrics directory it made."""
    remove_metrics_dir()
