"""Database contention (plan K): a locked table and an exhausted connection pool.

A statement timeout is treated as an outage: 503 + Retry-After. The request was valid and
may succeed when retried; the server could not answer in time (a lock held elsewhere, an
overloaded database), which is the same promise 503 makes for Redis or a stopped database.
Both touch nothing but a database the test creates (the private cluster, else
TEST_DATABASE_URL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from config import engine_options, normalise_database_url
from tests.faults import (
    FAST,
    POSTS,
    assert_fast_503,
    check_unavailable,
    gql_post,
    migrated_app,
    ok_data,
    registered_client,
    timed,
)
from tests.helpers import CREATE_POST, ME
from tests.support import RedisProcess

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]


def pool_options(url: str, statement_timeout_ms: int, **pool: Any) -> dict[str, Any]:
    """The app's engine options for ``url`` with pool settings replaced."""
    options = engine_options(normalise_database_url(url), statement_timeout_ms)
    options.update(pool)
    return options


@contextmanager
def warnings_of(name: str) -> Iterator[list[str]]:
    """Messages logged at WARNING or above by one logger inside the block."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


class HeldLock:
    """A transaction in another connection holding ACCESS EXCLUSIVE on the post table."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, connect_timeout=5)

    def __enter__(self) -> HeldLock:
        self.conn.execute("LOCK TABLE post IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *_: object) -> None:
        self.conn.rollback()
        self.conn.close()


def test_locked_table_answers_503_within_the_statement_timeout(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    app = migrated_app(harmless_database, private_redis.url, env={"DB_STATEMENT_TIMEOUT_MS": "500"})
    alice = registered_client(app)
    ok_data(gql_post(alice, CREATE_POST, title="first"))

    with HeldLock(harmless_database):
        assert_fast_503(lambda: gql_post(alice, POSTS), "posts")
        assert_fast_503(lambda: gql_post(alice, CREATE_POST, title="blocked"), "createPost")
        assert ok_data(gql_post(alice, ME))["me"]["username"] == "alice"  # user table is free
        assert ok_data(gql_post(alice, "{ hello }"))["hello"] == "hello world"

    titles = [post["title"] for post in ok_data(gql_post(alice, POSTS))["posts"]]
    assert titles == ["first"]  # the timed-out createPost left nothing behind


def test_exhausted_pool_waits_at_most_pool_timeout_then_503(
    harmless_database: str, private_redis: RedisProcess
) -> None:
    options = pool_options(harmless_database, 2500, pool_size=1, max_overflow=0, pool_timeout=1)
    app = migrated_app(harmless_database, private_redis.url, SQLALCHEMY_ENGINE_OPTIONS=options)
    answers: list[tuple[Any, float]] = []

    def one() -> None:
        answers.append(timed(lambda: gql_post(app.test_client(), POSTS)))

    with HeldLock(harmless_database), warnings_of("graphql_runtime.executor") as logged:
        # the one pooled connection waits on the lock, the other requests on the pool
        burst = [threading.Thread(target=one) for _ in range(4)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(30)

    assert len(answers) == 4
    for response, seconds in answers:
        check_unavailable(response)
        assert seconds < 2.5 + FAST  # the statement timeout bounds the longest one
    causes = "\n".join(logged)
    assert "QueuePool limit of size 1 overflow 0 reached" in causes  # waited, then gave up
    assert "statement timeout" in causes
    assert ok_data(gql_post(app.test_client(), POSTS)) == {"posts": []}
