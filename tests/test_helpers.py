"""The tests' own helpers: the GraphQL client that fails on unexpected errors, the Redis
command counter that sees only the test database."""

from __future__ import annotations

import pytest
import redis

from tests.helpers import GraphQLClient, count_redis_commands

UNKNOWN_FIELD = "{ nope }"


def test_an_unexpected_error_fails_the_test(gql: GraphQLClient) -> None:
    with pytest.raises(pytest.fail.Exception, match="unexpected GraphQL errors"):
        gql(UNKNOWN_FIELD)
    with pytest.raises(pytest.fail.Exception, match=r"HTTP 400"):
        gql.post(UNKNOWN_FIELD)


def test_a_field_error_during_execution_fails_it_too(gql: GraphQLClient) -> None:
    create = 'mutation { createPost(title: "anonymous") { id } }'
    with pytest.raises(pytest.fail.Exception, match="UNAUTHENTICATED"):
        gql(create)


def test_expected_errors_come_back_to_the_test(gql: GraphQLClient) -> None:
    body = gql(UNKNOWN_FIELD, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert gql.post(UNKNOWN_FIELD, expect_errors=True).status_code == 400


def test_field_errors_as_data_are_not_graphql_errors(gql: GraphQLClient) -> None:
    payload = gql.register("x")
    assert payload["errors"][0]["field"] == "username"
    assert payload["user"] is None


def test_redis_commands_are_counted_on_the_test_database_only(redis_server: redis.Redis) -> None:
    pool = redis_server.connection_pool
    database = pool.connection_kwargs.get("db", 0)

    def client_on(db: int) -> redis.Redis:
        settings = {**pool.connection_kwargs, "db": db}
        return redis.Redis(connection_pool=type(pool)(pool.connection_class, **settings))

    here, elsewhere = client_on(database), client_on((database + 1) % 16)
    assert here.ping() and elsewhere.ping()  # connected (SELECT sent) before counting
    with count_redis_commands(redis_server) as counts:
        here.set("counted", "1")
        here.get("counted")
        elsewhere.exists("not-counted")  # another run's database: none of this test's business
    assert counts == {"set": 1, "get": 1}
