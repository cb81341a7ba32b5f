"""The tests' GraphQL client: an error no test expects fails the test that met it."""

from __future__ import annotations

import pytest

from tests.helpers import GraphQLClient

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
