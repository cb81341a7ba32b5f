"""Value completion chosen once per field: graphql-core's complete_value, unrolled by type.

Each completer takes (value, path, run) and follows graphql-core's order exactly: an
Exception value is raised, null stays null (or, for a non-null type, is the field error
graphql-core's non-null wrapper raises), lists complete item by item with their own
paths, leaves are coerced, objects run their field set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLString,
    Undefined,
)
from graphql.pyutils import Path, inspect, is_iterable

from graphql_runtime.plans.runner import FieldSet, Run, execute_fields, field_error

Completer = Callable[[Any, Path, Run], Any]
LeafCompleter = Callable[[Any], Any]
MIN_INT, MAX_INT = -(2**31), 2**31 - 1


def leaf_value(leaf: GraphQLLeafType, null_message: str | None = None) -> LeafCompleter:
    """Coerce a scalar or enum result (``null_message``: non-null, null is an error);
    results of exactly the built-in types skip the coercer, which returns them unchanged."""
    coerce = leaf.coerce_output_value
    fast: type | None = None
    if coerce is GraphQLString.coerce_output_value:
        fast = str
    elif coerce is GraphQLBoolean.coerce_output_value:
        fast = bool
    is_int = coerce is GraphQLInt.coerce_output_value

    def complete(result: Any) -> Any:
        kind = type(result)
        if kind is fast or (is_int and kind is int and MIN_INT <= result <= MAX_INT):
            return result
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if null_message is not None:
                raise TypeError(null_message)
            return None
        coerced = coerce(result)
        if coerced is Undefined or coerced is None:
            raise TypeError(
                f"Expected `{inspect(leaf)}.coerce_output_value({inspect(result)})`"
                f" to return non-nullable value, returned: {inspect(coerced)}"
            )
        return coerced

    return complete


def leaf(inner: LeafCompleter) -> Completer:
    """A leaf completer in the general (value, path, run) form."""
    return lambda result, _path, _run: inner(result)


def list_of(
    item: Completer,
    item_non_null: bool,
    nodes: list[FieldNode],
    label: str,
    null_message: str | None,
) -> Completer:
    """A list: each item completed at its index; item errors null the item or propagate."""
    not_iterable = f"Expected Iterable, but did not find one for field '{label}'."

    def complete(result: Any, path: Path, run: Run) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if null_message is not None:
                raise TypeError(null_message)
            return None
        if not is_iterable(result):
            raise GraphQLError(not_iterable)
        completed: list[Any] = []
        append = completed.append
        for index, value in enumerate(result):
            item_path = Path(path, index, None)
            try:
                append(item(value, item_path, run))
            except Exception as raw:
                field_error(raw, item_non_null, nodes, item_path, run)
                append(None)
        return completed

    return complete


def object_of(fields: FieldSet, null_message: str | None) -> Completer:
    """An object type without is_type_of: its (precollected) field set on the value."""

    def complete(result: Any, path: Path, run: Run) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if null_message is not None:
                raise TypeError(null_message)
            return None
        return execute_fields(fields, result, path, run)

    return complete
