"""The cost of a document: how many objects it may fetch, refused over GRAPHQL_MAX_COST.

Every field that returns an object costs 1, scalars cost nothing, and a list field with a
``limit`` argument multiplies its own cost and everything below it by that limit (capped
at the most the resolvers return; a limit given as a variable counts as that cap, so the
cost is a property of the document and is computed once, when it is validated). So
``posts(limit: 100) { id creator { username } }`` costs 100 x (1 + 1) = 200.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    get_named_type,
    get_nullable_type,
    is_composite_type,
)
from graphql.language.visitor import SKIP, VisitorAction

LIMIT_ARGUMENT = "limit"


# Fields by response key, each kept once (by node identity) with the type it is read from.
Fields = dict[str, dict[int, tuple[FieldNode, Any]]]


class CostMeter:
    """Costs of one document's operations, with fields merged by response key as execution
    merges them; each fragment is collected once and each distinct subtree costed once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, max_page: int) -> None:
        self.schema = schema
        self.max_page = max_page
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.collected: dict[str, Fields] = {}
        self.open: set[str] = set()
        self.costs: dict[tuple[int, ...], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        """The cost of one operation."""
        root = self.schema.get_root_type(operation.operation)
        return self.cost((operation.selection_set,), root)

    def cost(self, selection_sets: tuple[SelectionSetNode, ...], parent: Any) -> int:
        """The cost of the merged fields of selection sets on type ``parent``."""
        key = (id(parent), *(id(s) for s in selection_sets))
        if key not in self.costs:
            fields: Fields = {}
            for selection_set in selection_sets:
                self.collect(selection_set, parent, fields)
            self.costs[key] = sum(self.field(list(group.values())) for group in fields.values())
        return self.costs[key]

    def collect(self, selection_set: SelectionSetNode, parent: Any, into: Fields) -> None:
        """Add a selection set's fields, fragments' included, to ``into``."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                into.setdefault(key, {})[id(selection)] = (selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                self.collect(selection.selection_set, on, into)
            elif isinstance(selection, FragmentSpreadNode):
                for key, group in self.fragment(selection.name.value).items():
                    into.setdefault(key, {}).update(group)

    def fragment(self, name: str) -> Fields:
        """A named fragment's fields (none for a cycle or an unknown name)."""
        if name in self.collected:
            return self.collected[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.open:
            return {}
        self.open.add(name)
        fields: Fields = {}
        self.collect(
            fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value), fields
        )
        self.open.discard(name)
        self.collected[name] = fields
        return fields

    def field(self, group: list[tuple[FieldNode, Any]]) -> int:
        """A field's cost: its own (1 for objects) plus its children's, times its page size."""
        node, parent = group[0]
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename, introspection, or unknown (other rules report it)
            return 0
        named: GraphQLNamedType = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        children = tuple(n.selection_set for n, _ in group if n.selection_set is not None)
        return self.page_size(definition, node) * (1 + self.cost(children, named))

    def page_size(self, definition: GraphQLField, node: FieldNode) -> int:
        """How many items a list field may return: its limit (capped), else 1."""
        argument = definition.args.get(LIMIT_ARGUMENT)
        if argument is None or not isinstance(get_nullable_type(definition.type), GraphQLList):
            return 1
        arguments = node.arguments or ()
        given = next((a.value for a in arguments if a.name.value == LIMIT_ARGUMENT), None)
        if given is None or given.kind == "null_value":
            size = _default(argument)
        elif isinstance(given, IntValueNode):
            size = int(given.value)
        else:  # a variable: the document may be sent with any value, so count the most
            size = self.max_page
        return max(1, min(size, self.max_page))


def _default(argument: GraphQLArgument) -> int:
    """An argument's default as an int (a schema built from SDL may keep it as its literal)."""
    if isinstance(argument.default_value, int):
        return argument.default_value
    literal = argument.ast_node.default_value if argument.ast_node else None
    return int(literal.value) if isinstance(literal, IntValueNode) else 1


def cost_limit_rule(max_cost: int, max_page: int) -> type[ASTValidationRule]:
    """A rule refusing operations that cost more than ``max_cost``."""

    class CostLimitRule(ASTValidationRule):
        context: ValidationContext

        def enter_document(self, node: DocumentNode, *_: Any) -> VisitorAction:
            meter = CostMeter(self.context.schema, node, max_page)
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(definition, meter)
            return SKIP

        def _check(self, operation: OperationDefinitionNode, meter: CostMeter) -> None:
            try:
                cost = meter.operation(operation)
            except RecursionError:  # nesting deeper than the stack: the depth rule reports it
                return
            if cost > max_cost:
                message = f"Query costs {cost}; the maximum is {max_cost}."
                extensions = {"cost": {"requestedQueryCost": cost, "maximumAvailable": max_cost}}
                self.report_error(GraphQLError(message, operation, extensions=extensions))

    return CostLimitRule
