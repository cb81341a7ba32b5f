"""Errors the service layer raises on purpose; interfaces map them to codes and statuses."""

from __future__ import annotations

from typing import TypeGuard

from redis.exceptions import RedisClusterException, RedisError
from sqlalchemy.exc import OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from infra import metrics

# Failures of a backing service rather than of the request: answered with a fast 503.
OUTAGES: tuple[type[Exception], ...] = (
    RedisError,
    RedisClusterException,
    OperationalError,
    PoolTimeoutError,
)
# SQLAlchemy's code for "Can't reconnect until invalid transaction is rolled back"
LOST_CONNECTION = "8s2b"


def is_outage(error: BaseException | None) -> TypeGuard[Exception]:
    """Whether ``error`` means Redis or the database could not be reached or answer in time."""
    if isinstance(error, OUTAGES):
        return True
    # An earlier statement of this request lost its connection; every later use of the
    # request's session raises this until the request ends. The same outage, not a bug.
    return isinstance(error, PendingRollbackError) and error.code == LOST_CONNECTION


def count_outage(error: Exception) -> None:
    """Count an outage a request ran into, by service (redis or database)."""
    redis_down = isinstance(error, RedisError | RedisClusterException)
    metrics.count("outage", service="redis" if redis_down else "database")


class ServiceError(Exception):
    """A refusal the client is meant to see, with a stable code and HTTP status."""

    code = "BAD_REQUEST"
    status = 400
    default_message = "bad request"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class InvalidInput(ServiceError):
    """An argument outside what the API accepts."""

    code = "BAD_USER_INPUT"
    default_message = "invalid input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotAuthenticated(ServiceError):
    """The operation needs a logged-in user."""

    code = "UNAUTHENTICATED"
    status = 401
    default_message = "not authenticated"


class NotAuthorized(ServiceError):
    """The user may not touch this object."""

    code = "FORBIDDEN"
    status = 403
    default_message = "not authorized"


class NotFound(ServiceError):
    """No such object."""

    code = "NOT_FOUND"
    status = 404
    default_message = "not found"


class ServiceUnavailable(ServiceError):
    """A backing service (Redis, the database) is down; try again shortly."""

    code = "SERVICE_UNAVAILABLE"
    status = 503
    default_message = "service temporarily unavailable, try again shortly"


class RateLimited(ServiceError):
    """Too many attempts; the limit lifts by itself after ``retry_after`` seconds."""

    code = "RATE_LIMITED"
    status = 429
    default_message = "too many attempts, try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts, try again in {retry_after} seconds")
        self.retry_after = retry_after
