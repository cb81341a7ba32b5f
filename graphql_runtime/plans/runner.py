"""Per-request state of a plan run, and what every field shares: paths, infos, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.execute import assume_not_awaitable
from graphql.execution.values import VariableValues
from graphql.pyutils import Path
from graphql.type.definition import GraphQLResolveInfoHelpers

# A field's runner: (source, parent path, run) -> its completed value.
FieldRunner = Callable[[Any, Path | None, "Run"], Any]
# The fields of one selection set, in response order: (response key, runner).
FieldSet = tuple[tuple[str, FieldRunner], ...]


async def _gather(_values: Sequence[Awaitable[Any]]) -> list[Any]:
    raise RuntimeError("plans run synchronous resolvers only")


def _track(_values: Sequence[Any]) -> None:
    """Nothing to track: plans cover only synchronous execution."""


HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


class Run:
    """One execution of a plan: the request's context, variables and collected errors."""

    __slots__ = ("errors", "hide_suggestions", "tail", "variables")

    def __init__(
        self,
        operation: OperationContext,
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.variables = variables
        self.hide_suggestions = operation.hide_suggestions
        self.errors: list[GraphQLError] = []
        # the last fields of every GraphQLResolveInfo of this run, as graphql-core fills them
        self.tail = (
            operation.schema,
            operation.fragments,
            None,  # root_value: the executor passes none
            operation.operation,
            variables,
            context,
            assume_not_awaitable,
            None,  # abort_signal
            HELPERS,
        )


class OperationContext:
    """What the plans of one operation share: schema, operation, fragments, settings."""

    __slots__ = ("fragments", "hide_suggestions", "operation", "schema")

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        hide_suggestions: bool,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.hide_suggestions = hide_suggestions


def make_info(head: tuple[Any, ...], path: Path, run: Run) -> GraphQLResolveInfo[Any]:
    """The resolve info graphql-core would build: ``head`` is (name, nodes, type, parent)."""
    return GraphQLResolveInfo._make((*head, path, *run.tail))


def field_error(
    raw: Exception, non_null: bool, nodes: list[FieldNode], path: Path, run: Run
) -> None:
    """graphql-core's handle_field_error: locate, then propagate (non-null) or collect."""
    error = located_error(raw, nodes, path.as_list())
    if non_null:
        raise error
    # graphql-core also skips errors below an already nulled position; synchronous
    # execution never reaches one (a propagating error stops its siblings), so a list does
    run.errors.append(error)


def execute_fields(fields: FieldSet, source: Any, path: Path | None, run: Run) -> dict[str, Any]:
    """The completed values of a selection set on ``source``, in response order."""
    results: dict[str, Any] = {}
    for key, execute in fields:
        results[key] = execute(source, path, run)
    return results


def execute_root(fields: FieldSet, run: Run) -> ExecutionResult:
    """Run the root fields; a non-null root error nulls the whole response, as in graphql-core."""
    try:
        data = execute_fields(fields, None, None, run)
    except GraphQLError as error:
        run.errors.append(error)
        return ExecutionResult(None, run.errors)
    return ExecutionResult(data, run.errors or None)


MAPPINGS: dict[type, bool] = {}


def is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), memoised per type (the ABC check is the slow part)."""
    kind = type(value)
    known = MAPPINGS.get(kind)
    if known is None:
        known = MAPPINGS[kind] = isinstance(value, Mapping)
    return known
