"""Plan value completion (graphql_runtime/plans/completion.py) against graphql-core itself on
the results the product's resolvers never return: values a scalar must coerce, a custom
scalar that coerces to null, out-of-range ints, lists that are not iterable, errors and
nulls returned as values. Each case runs a tiny schema through graphql-core and checks the
completer gives the same value, or raises the error with graphql-core's message.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from graphql import (
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    graphql_sync,
)
from graphql.pyutils import Path

from graphql_runtime.plans.completion import leaf, leaf_value, list_of, object_of
from graphql_runtime.plans.runner import FieldSet, Run

NULL_COERCION = GraphQLScalarType("Nothing", serialize=lambda _value: None)
# Never reached by the cases below: only object fields and item errors use them.
NO_RUN = cast(Run, None)
NO_FIELDS = cast(FieldSet, None)
AT_X = Path(None, "x", None)


def graphql_core(field_type: GraphQLOutputType, value: Any) -> tuple[Any, str | None]:
    """What graphql-core answers for ``{ x }`` when x's resolver returns ``value``."""
    query = GraphQLObjectType("Query", {"x": GraphQLField(field_type, resolve=lambda *_: value)})
    result = graphql_sync(GraphQLSchema(query), "{ x }")
    message = result.errors[0].message if result.errors else None
    return (result.data or {}).get("x"), message


def planned(complete: Any, value: Any) -> tuple[Any, str | None]:
    """What the plan's completer gives for ``value``: the value, or its error's message."""
    try:
        return complete(value), None
    except Exception as error:  # the executor turns any of these into a field error
        return None, str(error)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        (GraphQLString, 5),  # coerced: "5"
        (GraphQLString, True),  # coerced: "true"
        (GraphQLInt, 2**31),  # not a 32-bit int: the coercer's error
        (GraphQLInt, "7"),  # coerced: 7
        (GraphQLInt, None),
        (NULL_COERCION, "anything"),  # a coercer that returns null: graphql-core's TypeError
    ],
)
def test_leaves_complete_as_graphql_core_does(scalar: GraphQLScalarType, value: Any) -> None:
    assert planned(leaf_value(scalar), value) == graphql_core(scalar, value)


def test_a_non_null_leaf_that_is_null_is_graphql_cores_error() -> None:
    message = "Cannot return null for non-nullable field Query.x."
    assert graphql_core(GraphQLNonNull(GraphQLString), None) == (None, message)
    assert planned(leaf_value(GraphQLString, message), None) == (None, message)
    assert planned(leaf_value(GraphQLString, message), Undefined) == (None, message)


def test_an_error_returned_as_a_value_is_raised_by_every_completer() -> None:
    error = ValueError("returned, not raised")
    strings = leaf(leaf_value(GraphQLString))
    completers = [
        leaf_value(GraphQLString),
        lambda value: list_of(strings, False, [], "Query.x", None)(value, AT_X, NO_RUN),
        lambda value: object_of(NO_FIELDS, None)(value, AT_X, NO_RUN),
    ]
    for complete in completers:
        with pytest.raises(ValueError, match="returned, not raised"):
            complete(error)
    assert graphql_core(GraphQLString, error) == (None, "returned, not raised")


@pytest.mark.parametrize("value", [None, Undefined])
def test_null_lists_and_objects_are_null_or_the_non_null_error(value: Any) -> None:
    path = AT_X
    message = "Cannot return null for non-nullable field Query.x."
    strings = leaf(leaf_value(GraphQLString))
    assert list_of(strings, False, [], "Query.x", None)(value, path, NO_RUN) is None
    assert object_of(NO_FIELDS, None)(value, path, NO_RUN) is None
    for complete in (
        list_of(strings, False, [], "Query.x", message),
        object_of(NO_FIELDS, message),
    ):
        with pytest.raises(TypeError) as raised:
            complete(value, path, NO_RUN)
        assert str(raised.value) == message
    assert graphql_core(GraphQLNonNull(GraphQLList(GraphQLString)), None) == (None, message)


def test_a_list_that_is_not_iterable_is_graphql_cores_error() -> None:
    strings = leaf(leaf_value(GraphQLString))
    complete = list_of(strings, False, [], "Query.x", None)
    _, message = graphql_core(GraphQLList(GraphQLString), 5)
    assert message == "Expected Iterable, but did not find one for field 'Query.x'."
    assert planned(lambda value: complete(value, AT_X, NO_RUN), 5) == (None, message)


def test_list_items_are_completed_each_like_graphql_core() -> None:
    strings = leaf(leaf_value(GraphQLString))
    complete = list_of(strings, False, [], "Query.x", None)
    items = (value for value in [1, "a", False, None])  # any iterable, a generator too
    expected, _ = graphql_core(GraphQLList(GraphQLString), [1, "a", False, None])
    assert complete(items, AT_X, NO_RUN) == expected == ["1", "a", "false", None]
