"""What every production server does before its workers start (gunicorn and Granian alike).

``gunicorn.conf.py`` and ``granian_server.py`` are thin: the bind rule, the settings both
servers share, the logging configuration and the start-up checks live here, once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from config import CONFIGS, Config, ConfigError
from config.environment import env_int, env_str

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
PREPARED_BY = "SEED_METRICS_MASTER"  # the pid of the master that prepared the directory
MADE_DIR = "SEED_METRICS_TEMP_DIR"  # set when that master made it (and removes it at exit)


def load_env_files(directory: Path | None = None) -> None:
    """Read ``.env``, then ``.flaskenv``, from the start directory, as ``flask`` does.

    Neither overrides a variable the real environment sets, and ``.env`` wins over
    ``.flaskenv``. Call before any setting is read.
    """
    directory = Path.cwd() if directory is None else directory
    for name in (".env", ".flaskenv"):
        load_dotenv(directory / name, override=False)


@contextmanager
def configuration_checked() -> Iterator[None]:
    """Stop the server with a one-line reason (no traceback) on a ``ConfigError`` inside."""
    try:
        yield
    except ConfigError as error:
        raise SystemExit(f"configuration error: {error}") from None


def bind_address(variable: str, env: Mapping[str, str] = os.environ) -> str:
    """``host:port`` from ``variable`` (GUNICORN_BIND, GRANIAN_BIND), else the default.

    The default is ``0.0.0.0:$PORT`` in production (reachable in a container, or on a
    platform that sets PORT) and ``127.0.0.1:$PORT`` otherwise.
    """
    host = "0.0.0.0" if env.get("APP_ENV") == "production" else "127.0.0.1"
    return env_str(env, variable, "") or f"{host}:{env_int(env, 'PORT', 4000, minimum=0)}"


@dataclass(frozen=True)
class ServerSettings:
    """What gunicorn and Granian both take from the environment, read the same way.

    Each server has its own variable for its bind address, threads and grace period
    (``GUNICORN_THREADS``, ``GRANIAN_BLOCKING_THREADS``, ...), with the same defaults;
    ``WEB_CONCURRENCY`` is common to both.
    """

    bind: str
    workers: int
    threads: int
    graceful_timeout: int


def server_settings(
    prefix: str, threads_variable: str, env: Mapping[str, str] = os.environ
) -> ServerSettings:
    """The shared settings of the server whose variables start with ``prefix`` (GUNICORN).

    Raises ``ConfigError`` naming the variable; read them inside ``configuration_checked``.
    """
    return ServerSettings(
        bind=bind_address(f"{prefix}_BIND", env),
        workers=env_int(env, "WEB_CONCURRENCY", 2, minimum=1),
        threads=env_int(env, threads_variable, 8, minimum=1),
        graceful_timeout=env_int(env, f"{prefix}_GRACEFUL_TIMEOUT", 20, minimum=0),
    )


def prepare_metrics_dir() -> None:
    """Give this instance's workers an empty shared metrics directory, once per master.

    Before any worker starts and before ``prometheus_client`` is imported: the library picks
    its multiprocess mode at import. An operator's ``PROMETHEUS_MULTIPROC_DIR`` is emptied
    (stale files would add a previous run's counts); otherwise a private temporary
    directory is made, for ``remove_metrics_dir`` to remove at exit. gunicorn reads its
    settings again on SIGHUP: the same master then keeps the directory and the counts.
    """
    if os.environ.get(PREPARED_BY) == str(os.getpid()):
        return
    os.environ[PREPARED_BY] = str(os.getpid())
    given = os.environ.get(MULTIPROC_DIR)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return
    os.environ[MULTIPROC_DIR] = os.environ[MADE_DIR] = tempfile.mkdtemp(prefix="seed-metrics-")


def remove_metrics_dir() -> None:
    """At the master's exit: remove the directory ``prepare_metrics_dir`` made, if it did."""
    made = os.environ.get(MADE_DIR)
    if made and os.environ.get(PREPARED_BY) == str(os.getpid()):
        shutil.rmtree(made, ignore_errors=True)


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

    with configuration_checked():
        config = load_config()
        if config.REDIS_URL:
            check_url(config.REDIS_URL)
    if not config.REDIS_URL and not config.PRODUCTION:
        os.environ["REDIS_URL"] = embedded_redis_url(INSTANCE_DIR)
    if config.AUTO_MIGRATE:
        upgrade_database(create_app())
