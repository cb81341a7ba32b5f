"""The document cache holds a bounded number of bytes, whatever documents a client sends.

Each cached refusal used to keep its GraphQLError with the traceback, and through it the
lexer's token chain and partial document (1.2 MB per entry), and the cache was bounded only
by count. Memory is measured with tracemalloc around floods of distinct large documents.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from graphql import get_introspection_query

from tests.helpers import GraphQLClient

BOUND = 2 * 1024 * 1024
SLACK = 512 * 1024  # what the app itself may allocate while serving the flood
INTROSPECTION = get_introspection_query(descriptions=True, input_value_deprecation=True)


def flood(i: int) -> Iterator[str]:
    """Distinct large documents of every kind: accepted, and refused at each stage."""
    yield "{ " + f"a{i}: hello " + "hello " * 60 + "}"  # accepted
    yield INTROSPECTION + f" # {i}"  # accepted
    yield "{ " + "hello " * 2_100 + f"}} # {i}"  # the issue's: just over 2,000 tokens, 12.6 KB
    yield "{ " + " ".join(f"a{j}: hello" for j in range(40)) + f" }} # {i}"  # too many aliases
    yield "{ " + " ".join(f"x{j}" for j in range(60)) + f" }} # {i}"  # 60 validation errors
    yield "{ " + "hello " * 300 + f"( # {i}"  # syntax error


@contextmanager
def traced() -> Iterator[list[int]]:
    """Bytes still allocated (after a collection) when the block ends, minus before."""
    gc.collect()
    tracemalloc.start()
    grown: list[int] = []
    try:
        before = tracemalloc.get_traced_memory()[0]
        yield grown
        gc.collect()
        grown.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


def send_flood(gql: GraphQLClient, rounds: int) -> None:
    for i in range(rounds):
        for query in flood(i):
            assert gql.post(query, expect_errors=True).status_code in (200, 400)


@pytest.fixture
def bounded(app_factory: Callable[..., Flask]) -> Flask:
    """An app whose document cache may hold BOUND bytes."""
    return app_factory(GRAPHQL_DOCUMENT_CACHE_BYTES=BOUND, GRAPHQL_DOCUMENT_CACHE_SIZE=10_000)


def test_a_flood_of_distinct_large_documents_stays_within_the_byte_bound(bounded: Flask) -> None:
    gql = GraphQLClient(bounded.test_client())
    send_flood(gql, 3)  # warm up: first-request allocations are not the cache's
    with traced() as grown:
        send_flood(gql, 30)
    assert grown[0] < BOUND + SLACK, f"the process kept {grown[0]:,} bytes"


def test_the_byte_account_is_an_upper_bound_of_what_entries_hold(bounded: Flask) -> None:
    gql = GraphQLClient(bounded.test_client())
    send_flood(gql, 30)
    executor = bounded.extensions["graphql"]
    accounted = executor.cache.bytes
    assert 0 < accounted <= BOUND
    with traced() as released:
        executor.cache = type(executor.cache)(1, 1)  # drop every entry
    assert -released[0] <= accounted, f"{-released[0]:,} bytes held, {accounted:,} accounted"


def json_only(value: Any) -> bool:
    """Whether ``value`` is made only of JSON types (no exceptions, no AST nodes)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_only(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def test_refusals_are_cached_as_formatted_errors_only(app: Flask) -> None:
    executor = app.extensions["graphql"]
    with app.test_request_context():
        for query in flood(0):
            prepared = executor.prepare(query)
            assert json_only(prepared.errors), prepared.errors
            assert executor.prepare(query) is prepared  # a repeat is a lookup


def test_over_long_documents_are_refused_without_being_cached(app: Flask, gql) -> None:
    query = "{ hello }" + " " * app.config["GRAPHQL_MAX_LENGTH"]
    response = gql.post(query, expect_errors=True)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["message"].startswith("Query is longer than 8192")
    assert len(app.extensions["graphql"].cache) == 0


def test_each_compiled_plan_is_charged_to_the_cache(app: Flask, gql) -> None:
    cache = app.extensions["graphql"].cache
    query = "query Q($a: Boolean!, $b: Boolean!) { hello @skip(if: $a) me @include(if: $b) { id } }"
    gql(query, a=False, b=False)
    document_bytes = cache.bytes // 2  # the document, and the plan compiled for its first run
    for a, b in [(True, False), (False, True), (True, True), (True, False)]:
        gql(query, a=a, b=b)
    assert cache.bytes == 5 * document_bytes  # four variants compiled, the repeat is free
