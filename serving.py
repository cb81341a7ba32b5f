"""What every production server does before its workers start (gunicorn and Granian alike).

``gunicorn.conf.py`` and ``granian_server.py`` are thin: the bind rule, the logging
configuration and the start-up checks live here, once.
"""

from __future__ import annotations

import os
from typing import Any

from config import CONFIGS, Config, ConfigError


def bind_address(variable: str) -> str:
    """``host:port`` from ``variable`` (GUNICORN_BIND, GRANIAN_BIND), else 127.0.0.1:$PORT."""
    return os.environ.get(variable) or f"127.0.0.1:{os.environ.get('PORT', '4000')}"


def server_log_config(*server_loggers: str) -> dict[str, Any]:
    """The product's logging as a ``dictConfig``, the server's own loggers routed into it.

    Read without the start-up checks (a refused start still prints its one-line reason).
    """
    from infra.logs import log_config

    try:
        settings = CONFIGS.get(os.environ.get("APP_ENV", "development"), Config)(os.environ)
    except ConfigError:  # prepare() reports it
        settings = Config({})
    return log_config(settings.LOG_FORMAT == "json", settings.LOG_LEVEL, server_loggers)


def prepare() -> None:
    """Before workers start: check the configuration, start the embedded Redis, migrate.

    Runs once, in the server's master process; a configuration error stops the server with
    a one-line reason.
    """
    from app import create_app
    from config import INSTANCE_DIR, load_config
    from infra.database import upgrade_database
    from infra.redis_client import check_url, embedded_redis_url

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
