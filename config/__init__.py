"""Configuration read from the environment, one class per environment.

How a variable is read (booleans, numbers, choices, rate limits) is ``config.environment``'s.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from config.environment import (
    LOG_LEVELS,
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_rate_limit,
    env_str,
    parse_rate_limit,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH") or PROJECT_DIR / "instance")
TEN_YEARS = 10 * 365 * 24 * 3600
MIN_SECRET_LENGTH = 32
# What a separate frontend's requests may carry: Apollo Client's own headers and W3C tracing.
CORS_ALLOW_HEADERS = (
    "Content-Type, X-Request-Id, apollographql-client-name, apollographql-client-version,"
    " apollo-require-preflight, traceparent, tracestate"
)


def normalise_database_url(url: str) -> str:
    """Map postgres:// and postgresql:// onto the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance_dir: Path) -> str:
    """Make once, then keep, a random secret under instance/ for development."""
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def engine_options(url: str, statement_timeout_ms: int) -> dict[str, Any]:
    """Pool and timeout settings: bounded waits everywhere, stale connections replaced."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options.update(
            pool_pre_ping=False,  # db_setup checks each checkout without a round trip instead
            # Kept connections, not a floor: the pool opens them as threads need them and
            # keeps every one, so a steady load never connects per request. With 5 kept and
            # 5 overflow, 8 threads closed and reopened connections all the time (7.5% of
            # createPost's worker samples were in connect, besides a backend fork on the
            # server each time). 10 covers the 8 threads, with room for a request that
            # holds its ORM session's connection while a lean statement runs.
            pool_size=10,
            max_overflow=0,
            pool_timeout=2,
            connect_args={
                "connect_timeout": 2,
                # Sessions in UTC, which the product stores and speaks: psycopg then reads
                # timestamptz with datetime.UTC instead of a ZoneInfo (e.g. Etc/UTC, the
                # server's default here), and epoch_ms subtracts in a quarter of the time.
                "options": f"-c statement_timeout={statement_timeout_ms} -c TimeZone=UTC",
            },
        )
    return options


class Config:
    """Settings shared by every environment; values come from the environment."""

    APP_ENV = "development"
    DEBUG = False
    TESTING = False
    PROPAGATE_EXCEPTIONS: bool | None = None
    PRODUCTION = False

    SESSION_TYPE = "redis"
    SESSION_PERMANENT = True
    SESSION_USE_SIGNER = False
    SESSION_REFRESH_EACH_REQUEST = False  # the seed's resave=false: reads never write
    SESSION_ID_LENGTH = 16  # bytes of randomness (128 bits): 22 url-safe characters
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_PATH = "/"

    MAX_CONTENT_LENGTH = 64 * 1024
    JSON_SORT_KEYS = False

    GRAPHQL_EXPLORER = True
    GRAPHQL_INTROSPECTION = True
    GRAPHQL_SUGGESTIONS = True
    # Bounds on one document, sized so that the worst document within them costs about
    # 10 ms of CPU to lex, parse and validate (bench/documents.py measures it).
    GRAPHQL_MAX_LENGTH = 8192  # characters, refused before the lexer runs
    GRAPHQL_MAX_TOKENS = 400
    GRAPHQL_MAX_SELECTIONS = 80  # fields, fragment spreads and inline fragments, as written
    GRAPHQL_MAX_DEPTH = 10
    GRAPHQL_MAX_ALIASES = 30
    GRAPHQL_DOCUMENT_CACHE_SIZE = 512  # entries
    GRAPHQL_DOCUMENT_CACHE_BYTES = 16 * 1024 * 1024  # per process, estimated per entry
    GRAPHQL_APQ_CACHE_BYTES = 4 * 1024 * 1024  # per process: registered documents' text

    POSTS_MAX_LIMIT = 100
    # attempts/seconds; per account (clients it does not trust) and per trusted device
    # count failures, per IP counts every attempt of untrusted clients
    RATE_LIMIT_LOGIN_ACCOUNT = "10/900"
    RATE_LIMIT_LOGIN_DEVICE = "10/900"
    RATE_LIMIT_LOGIN_IP = "50/900"
    RATE_LIMIT_REGISTER_IP = "20/3600"
    RATE_LIMIT_RESET_ACCOUNT = "3/3600"
    RATE_LIMIT_RESET_IP = "10/3600"
    RATE_LIMIT_CHANGE_PASSWORD_IP = "20/3600"

    REDIS_SOCKET_TIMEOUT = 0.5
    REDIS_CONNECT_TIMEOUT = 0.5
    REDIS_RETRIES = 1
    AUTO_MIGRATE = True
    METRICS_ALLOW_DEFAULT = "0.0.0.0/0,::/0"  # who may GET /metrics; production: loopback

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.SECRET_KEY = env_str(env, "SECRET_KEY", "")
        self.DATABASE_URL = env_str(env, "DATABASE_URL", "")
        self.REDIS_URL = env_str(env, "REDIS_URL", "")
        self.SESSION_KEY_PREFIX = env_str(env, "SESSION_KEY_PREFIX", "sess:")
        self.SESSION_LIFETIME = env_int(env, "SESSION_LIFETIME", TEN_YEARS)
        self.PERMANENT_SESSION_LIFETIME = timedelta(seconds=self.SESSION_LIFETIME)
        self.SESSION_INDEX_PREFIX = env_str(env, "SESSION_INDEX_PREFIX", "user-sessions:")
        self.SESSION_IDLE_TIMEOUT = env_int(env, "SESSION_IDLE_TIMEOUT", 0)
        self.SESSION_MAX_AGE = env_int(env, "SESSION_MAX_AGE", 0)
        self.SESSION_TOUCH_INTERVAL = env_int(env, "SESSION_TOUCH_INTERVAL", 60)
        self.RESET_TOKEN_TTL = env_int(env, "RESET_TOKEN_TTL", 3 * 24 * 3600)
        self.MAIL_URL = env_str(env, "MAIL_URL", "")
        self.MAIL_FROM = env_str(env, "MAIL_FROM", "no-reply@localhost")
        self.APP_URL = env_str(env, "APP_URL", "http://localhost:3000").rstrip("/")
        # background delivery: per-attempt timeout, attempts, first retry delay (doubling)
        self.MAIL_TIMEOUT = env_int(env, "MAIL_TIMEOUT", 10)
        self.MAIL_ATTEMPTS = env_int(env, "MAIL_ATTEMPTS", 6)
        self.MAIL_RETRY_DELAY = env_int(env, "MAIL_RETRY_DELAY", 5)
        self.MAIL_QUEUE_SIZE = env_int(env, "MAIL_QUEUE_SIZE", 1000)
        self.MAIL_SHUTDOWN_WAIT = env_int(env, "MAIL_SHUTDOWN_WAIT", 10)
        self.TRUSTED_PROXIES = env_int(env, "TRUSTED_PROXIES", 0)
        self.SECRET_KEY_FALLBACKS = env_list(env, "SECRET_KEY_FALLBACKS")
        self.CORS_ORIGINS = env_list(env, "CORS_ORIGINS")
        allow_headers = ", ".join(env_list(env, "CORS_ALLOW_HEADERS"))  # the header's value
        self.CORS_ALLOW_HEADERS = allow_headers or CORS_ALLOW_HEADERS
        self.GRAPHQL_MAX_COST = env_int(env, "GRAPHQL_MAX_COST", 1000)
        self.GRAPHQL_PERSISTED_QUERIES = env_bool(env, "GRAPHQL_PERSISTED_QUERIES", True)
        self.GRAPHQL_PERSISTED_QUERY_TTL = env_int(env, "GRAPHQL_PERSISTED_QUERY_TTL", 86400)
        self.GRAPHQL_TRUSTED_DOCUMENTS = env_str(env, "GRAPHQL_TRUSTED_DOCUMENTS", "")
        self.PORT = env_int(env, "PORT", 4000)
        self.AUTO_MIGRATE = env_bool(env, "AUTO_MIGRATE", True)
        self.DB_STATEMENT_TIMEOUT_MS = env_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000)
        # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile)
        self.ARGON2_TIME_COST = env_int(env, "ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = env_int(env, "ARGON2_MEMORY_COST", 64 * 1024)  # KiB
        self.ARGON2_PARALLELISM = env_int(env, "ARGON2_PARALLELISM", 4)
        # compiled execution plans for cached queries (graphql_runtime/plans); off for comparison
        self.GRAPHQL_EXECUTION_PLANS = env_bool(env, "GRAPHQL_EXECUTION_PLANS", True)
        for name in RATE_LIMIT_SETTINGS:
            setattr(self, name, env_rate_limit(env, name, getattr(Config, name)))
        self.METRICS_ALLOW = env_networks(env, "METRICS_ALLOW", self.METRICS_ALLOW_DEFAULT)
        self._read_logging(env)
        self._read_cookie(env)

    def _read_logging(self, env: Mapping[str, str]) -> None:
        default_format = "json" if self.PRODUCTION else "text"
        self.LOG_FORMAT = env_choice(env, "LOG_FORMAT", ("json", "text"), default_format)
        self.LOG_LEVEL = env_choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO")
        self.ACCESS_LOG = env_bool(env, "ACCESS_LOG", self.PRODUCTION)

    def _read_cookie(self, env: Mapping[str, str]) -> None:
        self.SESSION_COOKIE_NAME = env_str(env, "SESSION_COOKIE_NAME", "qid")
        self.SESSION_COOKIE_SECURE = self.PRODUCTION
        if env_bool(env, "SESSION_COOKIE_HOST_PREFIX", False):
            # __Host- cookies must be Secure, Path=/ and carry no Domain: browsers enforce it
            self.SESSION_COOKIE_NAME = "__Host-" + self.SESSION_COOKIE_NAME
            self.SESSION_COOKIE_SECURE = True

    def finalise(self, instance_dir: Path) -> None:
        """Fill in what depends on the environment kind; raise ConfigError if unusable."""
        if self.SESSION_LIFETIME <= 0:
            raise ConfigError("SESSION_LIFETIME must be a positive number of seconds")
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret(instance_dir)
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{instance_dir / 'app.sqlite'}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(self.DATABASE_URL)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(
            self.SQLALCHEMY_DATABASE_URI, self.DB_STATEMENT_TIMEOUT_MS
        )


RATE_LIMIT_SETTINGS = tuple(name for name in vars(Config) if name.startswith("RATE_LIMIT_"))


class DevelopmentConfig(Config):
    """Runs with nothing set: own secret, SQLite, an embedded Redis."""


class ProductionConfig(Config):
    """Refuses to start without a strong secret and real services."""

    APP_ENV = "production"
    PRODUCTION = True
    GRAPHQL_EXPLORER = False
    GRAPHQL_INTROSPECTION = False
    GRAPHQL_SUGGESTIONS = False
    METRICS_ALLOW_DEFAULT = "127.0.0.0/8,::1/128"

    def finalise(self, instance_dir: Path) -> None:
        """Check the production requirements before anything starts."""
        if len(self.SECRET_KEY) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} characters in production"
            )
        for name in ("REDIS_URL", "DATABASE_URL"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must be set in production")
        super().finalise(instance_dir)


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
}


def load_config(env: Mapping[str, str] | None = None, instance_dir: Path = INSTANCE_DIR) -> Config:
    """Build the configuration named by APP_ENV from the environment (or ``env``)."""
    env = os.environ if env is None else env
    name = env_choice(env, "APP_ENV", tuple(CONFIGS), "development")
    config = CONFIGS[name](env)
    config.finalise(instance_dir)
    return config


__all__ = [
    "CONFIGS",
    "INSTANCE_DIR",
    "PROJECT_DIR",
    "RATE_LIMIT_SETTINGS",
    "Config",
    "ConfigError",
    "DevelopmentConfig",
    "ProductionConfig",
    "engine_options",
    "load_config",
    "normalise_database_url",
    "parse_rate_limit",
]
