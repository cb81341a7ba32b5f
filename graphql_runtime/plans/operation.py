"""The plans of one cached document: per operation, per outcome of its @skip/@include."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import Visitor, visit

from graphql_runtime.plans.compiler import Compiler, Unsupported
from graphql_runtime.plans.runner import FieldSet, OperationContext, Run, execute_root

# Mutation root fields run serially in graphql-core; with synchronous resolvers that is the
# same loop as a query's: document order, a non-null root error stops the rest and nulls data.
PLANNED = frozenset({OperationType.QUERY, OperationType.MUTATION})
MAX_VARIANTS = 16  # distinct @skip/@include outcomes compiled per operation
MAX_COERCION_ERRORS = 50  # graphql-core's default, which the executor uses
CONDITIONS = frozenset({"skip", "include"})
_MISSING = object()


@dataclass
class PlanStats:
    """How many executions ran on a plan and how many fell back to graphql-core."""

    planned: int = 0
    fallback: int = 0

    def count(self, planned: bool) -> None:
        """Count one execution (approximate under threads: a diagnostic, not a meter)."""
        if planned:
            self.planned += 1
        else:
            self.fallback += 1


class OperationPlan:
    """An operation's plans, one per combination of the variables its conditions read."""

    def __init__(self, context: OperationContext) -> None:
        self.context = context
        self.condition_variables = _condition_variables(context)
        self.variants: dict[tuple[Any, ...], FieldSet | None] = {}
        # An operation that declares no variables coerces every request's to the same
        # empty values: computed once (coercion was 6% of a `{ hello }` request).
        self.no_variables: VariableValues | list[GraphQLError] | None = None
        if not context.operation.variable_definitions:
            self.no_variables = self._coerce(None)

    def _coerce(self, raw_variables: dict[str, Any] | None) -> VariableValues | list[GraphQLError]:
        op = self.context
        return get_variable_values(
            op.schema,
            op.operation.variable_definitions or (),
            raw_variables or {},
            max_errors=MAX_COERCION_ERRORS,
            hide_suggestions=op.hide_suggestions,
        )

    def execute(self, raw_variables: dict[str, Any] | None, context: Any) -> ExecutionResult | None:
        """The result of the operation, or None when graphql-core must run it."""
        variables = self.no_variables
        if variables is None:
            variables = self._coerce(raw_variables)
        if isinstance(variables, list):
            return ExecutionResult(None, variables)  # request errors, exactly as graphql-core
        fields = self.variant(variables)
        if fields is None:
            return None
        return execute_root(fields, Run(self.context, variables, context))

    def variant(self, variables: VariableValues) -> FieldSet | None:
        """The field set for these condition values, compiled on first use."""
        coerced = variables.coerced
        key = tuple(coerced.get(name, _MISSING) for name in self.condition_variables)
        if key in self.variants:
            return self.variants[key]
        if len(self.variants) >= MAX_VARIANTS:
            return None
        try:
            fields: FieldSet | None = Compiler(self.context, variables).root()
        except (Unsupported, GraphQLError, RecursionError):
            fields = None  # graphql-core answers, with its own errors if there are any
        self.variants[key] = fields
        return fields


class DocumentPlans:
    """The plans of a parsed, validated document, compiled lazily per operation name."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, hide: bool) -> None:
        self.schema = schema
        self.document = document
        self.hide_suggestions = hide
        self._operations: dict[str | None, OperationPlan | None] = {}
        self._lock = Lock()
        self.variants_compiled = 0  # field plans compiled so far, over every operation

    def execute(
        self, operation_name: str | None, variables: dict[str, Any] | None, context: Any
    ) -> ExecutionResult | None:
        """Run the named operation on its plan; None when plans do not cover it."""
        plan = self._operations.get(operation_name, _MISSING)
        if plan is _MISSING:
            with self._lock:
                plan = self._operations[operation_name] = self._plan(operation_name)
        if plan is None:
            return None
        assert isinstance(plan, OperationPlan)
        known = len(plan.variants)
        result = plan.execute(variables, context)
        self.variants_compiled += len(plan.variants) - known
        return result

    def operations(self) -> list[OperationPlan]:
        """The operation plans compiled so far."""
        return [plan for plan in self._operations.values() if plan is not None]

    def _plan(self, operation_name: str | None) -> OperationPlan | None:
        operation = _select(self.document, operation_name)
        if operation is None or operation.operation not in PLANNED:
            return None  # subscriptions, and the request errors of a missing operation
        if operation.directives:
            return None  # e.g. @experimental_disableErrorPropagation
        fragments = {
            d.name.value: d
            for d in self.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        if any(f.variable_definitions for f in fragments.values()):
            return None  # experimental fragment arguments
        context = OperationContext(self.schema, operation, fragments, self.hide_suggestions)
        return OperationPlan(context)


def _select(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation graphql-core would pick; None where it would answer an error."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    named = [o for o in operations if o.name and o.name.value == name]
    return named[-1] if named else None


def _condition_variables(context: OperationContext) -> tuple[str, ...]:
    """The variables @skip and @include read, in the operation and every fragment."""
    found: dict[str, None] = {}

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value in CONDITIONS:
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found[argument.value.name.value] = None

    visit(context.operation, Finder())
    for fragment in context.fragments.values():
        visit(fragment, Finder())
    return tuple(found)
