"""The worst document within the limits is cheap: the bounds that make it so hold exactly.

Validation is quadratic in same-named fields (OverlappingFieldsCanBeMergedRule): 499 copies
of ``posts { id }`` fitted the old 2,000-token limit and cost about a second of CPU. Now a
document is refused by length before the lexer runs, by token count while parsing, and by
its selections and aliases in one linear pass before full validation; bench/documents.py
prints what the worst documents within these bounds cost.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import GraphQLClient


def messages(gql: GraphQLClient, query: str) -> list[str]:
    """The error messages of a refused document."""
    response = gql.post(query, expect_errors=True)
    assert response.status_code == 400, response.get_json()
    return [error["message"] for error in response.get_json()["errors"]]


def test_selections_beyond_the_limit_are_refused_before_validation(gql: GraphQLClient) -> None:
    # 101 unknown fields: validation would report each; only the cheap bound answers
    query = "{ " + " ".join(f"x{i}" for i in range(81)) + " }"
    assert messages(gql, query) == [
        "Query has more than 80 selections (fields, fragment spreads and inline fragments)."
    ]


def test_aliases_beyond_the_limit_are_refused_before_validation(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: nope" for i in range(31)) + " }"
    assert messages(gql, query) == ["Query uses more than 30 aliases."]


@pytest.mark.parametrize(
    "query",
    [
        "{ " + "posts { id } " * 41 + "}",  # the quadratic case that cost a second
        "{ ...F } fragment F on Query { " + "...G " * 79 + "} fragment G on Query { hello }",
        "{ " + "... on Query { hello } " * 41 + "}",
    ],
)
def test_spreads_and_inline_fragments_count_as_selections(gql: GraphQLClient, query: str) -> None:
    assert "more than 80 selections" in messages(gql, query)[0]


def test_documents_at_the_limits_are_accepted(gql: GraphQLClient) -> None:
    assert gql("{ " + "posts { id } " * 40 + "}") == {"data": {"posts": []}}
    body = gql("{ " + " ".join(f"a{i}: hello" for i in range(30)) + " hello" * 50 + " }")
    assert body["data"]["a29"] == body["data"]["hello"] == "hello world"


def test_tokens_beyond_the_limit_are_refused(gql: GraphQLClient) -> None:
    at_limit = "{ " + "hello @skip(if: false) " * 49 + "hello hello hello hello hello hello }"
    assert gql(at_limit) == {"data": {"hello": "hello world"}}
    [message] = messages(gql, at_limit.replace("{ ", "{ hello ", 1))
    assert message.startswith("Syntax Error: Document contains more than 400 tokens.")


def test_limits_follow_the_configuration(app_factory) -> None:
    app: Flask = app_factory(GRAPHQL_MAX_SELECTIONS=3, GRAPHQL_MAX_LENGTH=30)
    gql = GraphQLClient(app.test_client())
    assert gql("{ hello hello hello }") == {"data": {"hello": "hello world"}}
    assert "more than 3 selections" in messages(gql, "{ hello hello hello hello}")[0]
    assert messages(gql, "{ hello }" + " " * 22) == ["Query is longer than 30 characters."]
