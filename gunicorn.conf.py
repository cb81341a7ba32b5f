"""gunicorn settings for ``make serve`` and deployments.

Use: ``gunicorn -c gunicorn.conf.py wsgi:app``.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '4000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread keeps HTTP connections alive and lets argon2 (which releases the GIL) hash in
# one thread while the others serve; see bench/RESULTS.md for the measurements.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Two instances run by one user would collide on gunicorn's default control socket.
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"


def on_starting(server: Any) -> None:
    """In the master, before workers fork: start the embedded Redis and apply migrations."""
    from app import create_app
    from config import INSTANCE_DIR, ConfigError, load_config
    from db_setup import upgrade_database
    from redis_factory import check_url, embedded_redis_url

    try:
        config = load_config()
        if config.REDIS_URL:
            check_url(config.REDIS_URL)
    except ConfigError as error:
        raise SystemExit(f"configuration error: {error}") from None
    if not config.REDIS_URL and not config.PRODUCTION:
        os.environ["REDIS_URL"] = embedded_redis_url(INSTANCE_DIR)
    if config.AUTO_MIGRATE:
        upgrade_database(create_app())
