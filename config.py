"""Configuration read from the environment, one class per environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH") or PROJECT_DIR / "instance")
TEN_YEARS = 10 * 365 * 24 * 3600
MIN_SECRET_LENGTH = 32
# What a separate frontend's requests may carry: Apollo Client's own headers and W3C tracing.
CORS_ALLOW_HEADERS = [
    "Content-Type",
    "X-Request-Id",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "traceparent",
    "tracestate",
]


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the service can start with."""


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _env_list(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


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
            pool_size=5,
            max_overflow=5,
            pool_timeout=2,
            connect_args={
                "connect_timeout": 2,
                "options": f"-c statement_timeout={statement_timeout_ms}",
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
    GRAPHQL_MAX_TOKENS = 2000
    GRAPHQL_MAX_DEPTH = 10
    GRAPHQL_MAX_ALIASES = 30
    GRAPHQL_DOCUMENT_CACHE_SIZE = 512
    GRAPHQL_APQ_CACHE_BYTES = 4 * 1024 * 1024  # per process: registered documents' text

    POSTS_MAX_LIMIT = 100
    # attempts/seconds; per account counts failures, per IP counts every attempt
    RATE_LIMIT_LOGIN_ACCOUNT = "10/900"
    RATE_LIMIT_LOGIN_IP = "50/900"
    RATE_LIMIT_REGISTER_IP = "20/3600"
    RATE_LIMIT_RESET_ACCOUNT = "3/3600"
    RATE_LIMIT_RESET_IP = "10/3600"
    RATE_LIMIT_CHANGE_PASSWORD_IP = "20/3600"

    REDIS_SOCKET_TIMEOUT = 0.5
    REDIS_CONNECT_TIMEOUT = 0.5
    REDIS_RETRIES = 1
    AUTO_MIGRATE = True

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.SECRET_KEY = env.get("SECRET_KEY", "")
        self.DATABASE_URL = env.get("DATABASE_URL", "")
        self.REDIS_URL = env.get("REDIS_URL", "")
        self.SESSION_COOKIE_NAME = env.get("SESSION_COOKIE_NAME", "qid")
        self.SESSION_KEY_PREFIX = env.get("SESSION_KEY_PREFIX", "sess:")
        self.SESSION_LIFETIME = _env_int(env, "SESSION_LIFETIME", TEN_YEARS)
        self.PERMANENT_SESSION_LIFETIME = timedelta(seconds=self.SESSION_LIFETIME)
        self.SESSION_INDEX_PREFIX = env.get("SESSION_INDEX_PREFIX", "user-sessions:")
        self.SESSION_IDLE_TIMEOUT = _env_int(env, "SESSION_IDLE_TIMEOUT", 0)
        self.SESSION_MAX_AGE = _env_int(env, "SESSION_MAX_AGE", 0)
        self.SESSION_TOUCH_INTERVAL = _env_int(env, "SESSION_TOUCH_INTERVAL", 60)
        self.RESET_TOKEN_TTL = _env_int(env, "RESET_TOKEN_TTL", 3 * 24 * 3600)
        self.MAIL_URL = env.get("MAIL_URL", "")
        self.MAIL_FROM = env.get("MAIL_FROM", "no-reply@localhost")
        self.APP_URL = env.get("APP_URL", "http://localhost:3000").rstrip("/")
        self.TRUSTED_PROXIES = _env_int(env, "TRUSTED_PROXIES", 0)
        self.LOG_FORMAT = env.get("LOG_FORMAT", "json" if self.PRODUCTION else "text")
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO")
        self.ACCESS_LOG = env.get("ACCESS_LOG", "1" if self.PRODUCTION else "0") == "1"
        self.SECRET_KEY_FALLBACKS = _env_list(env, "SECRET_KEY_FALLBACKS")
        if env.get("SESSION_COOKIE_HOST_PREFIX") == "1":
            # __Host- cookies must be Secure, Path=/ and carry no Domain: browsers enforce it
            self.SESSION_COOKIE_NAME = "__Host-" + self.SESSION_COOKIE_NAME
            self.SESSION_COOKIE_SECURE = True
        self.CORS_ORIGINS = _env_list(env, "CORS_ORIGINS")
        self.CORS_ALLOW_HEADERS = _env_list(env, "CORS_ALLOW_HEADERS") or CORS_ALLOW_HEADERS
        self.GRAPHQL_MAX_COST = _env_int(env, "GRAPHQL_MAX_COST", 1000)
        self.GRAPHQL_PERSISTED_QUERIES = env.get("GRAPHQL_PERSISTED_QUERIES", "1") != "0"
        self.GRAPHQL_PERSISTED_QUERY_TTL = _env_int(env, "GRAPHQL_PERSISTED_QUERY_TTL", 86400)
        self.GRAPHQL_TRUSTED_DOCUMENTS = env.get("GRAPHQL_TRUSTED_DOCUMENTS", "")
        self.PORT = _env_int(env, "PORT", 4000)
        self.AUTO_MIGRATE = env.get("AUTO_MIGRATE", "1") != "0"
        self.SESSION_COOKIE_SECURE = self.PRODUCTION
        self.DB_STATEMENT_TIMEOUT_MS = _env_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000)
        # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile)
        self.ARGON2_TIME_COST = _env_int(env, "ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST = _env_int(env, "ARGON2_MEMORY_COST", 64 * 1024)  # KiB
        self.ARGON2_PARALLELISM = _env_int(env, "ARGON2_PARALLELISM", 4)

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


class DevelopmentConfig(Config):
    """Runs with nothing set: own secret, SQLite, an embedded Redis."""


class ProductionConfig(Config):
    """Refuses to start without a strong secret and real services."""

    APP_ENV = "production"
    PRODUCTION = True
    GRAPHQL_EXPLORER = False
    GRAPHQL_INTROSPECTION = False
    GRAPHQL_SUGGESTIONS = False

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
    name = env.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, got {name!r}")
    config = CONFIGS[name](env)
    config.finalise(instance_dir)
    return config
