"""Compile collected field sets into runners: resolver, arguments and completion chosen once."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    VariableNode,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.language import Visitor, visit
from graphql.pyutils import Path

from graphql_runtime.plans import completion
from graphql_runtime.plans.runner import (
    MAPPINGS,
    FieldRunner,
    FieldSet,
    OperationContext,
    Run,
    field_error,
    is_mapping,
    make_info,
)

Info = GraphQLResolveInfo
new_info = tuple.__new__  # what Info._make does, without the call in between
# Immutable argument values can be coerced once and shared by every request.
_SHAREABLE = (str, int, float, bool, type(None))
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


class Unsupported(Exception):
    """The operation uses something plans leave to graphql-core."""


class Compiler:
    """Builds the field sets of one operation for one set of @skip/@include outcomes."""

    def __init__(self, operation: OperationContext, variables: VariableValues) -> None:
        self.op = operation
        self.variables = variables
        self.fragments = {
            name: FragmentDetails(definition) for name, definition in operation.fragments.items()
        }

    def root(self) -> FieldSet:
        """The root field set of the (query or mutation) operation."""
        op = self.op
        root = op.schema.get_root_type(op.operation.operation)
        if root is None:
            raise Unsupported(f"no {op.operation.operation.value} type")
        grouped, defers, _ = collect_fields(
            op.schema, self.fragments, self.variables, root, op.operation, op.hide_suggestions
        )
        if defers:
            raise Unsupported("@defer")
        return self.field_set(root, grouped)

    def field_set(self, parent: GraphQLObjectType, grouped: GroupedFieldSet) -> FieldSet:
        """Runners for a grouped field set, in response order (unknown fields left out)."""
        runners: list[tuple[str, FieldRunner]] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name in INTROSPECTION_FIELDS:
                raise Unsupported("introspection")
            field_def = self.op.schema.get_field(parent, name)
            if field_def is not None:
                runners.append((key, self.field(parent, key, details, field_def)))
        return tuple(runners)

    def field(
        self, parent: GraphQLObjectType, key: str, details: FieldDetailsList, field: GraphQLField
    ) -> FieldRunner:
        """The runner of one field: resolve (or read the attribute), then complete."""
        nodes = [detail.node for detail in details]
        message = f"Cannot return null for non-nullable field {parent}.{nodes[0].name.value}."
        spec = FieldSpec(key, parent, nodes, field, self.arguments(field, nodes[0]))
        if field.resolve is None and is_leaf_type(_named(field.type)):
            return default_leaf_runner(spec, self.leaf(field.type, message))
        return field_runner(spec, self.completer(field.type, details, spec, message))

    def arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        """Arguments coerced once when literal and immutable; None to bind per request."""
        if not (field.args or node.arguments):
            return {}
        if _uses_variables(node):
            return None
        try:
            values = get_argument_values(field, node, None, None, self.op.hide_suggestions)
        except GraphQLError:
            return None  # raise it per request, as graphql-core does, at the field's path
        shareable = all(isinstance(v, _SHAREABLE) for v in values.values())
        return values if shareable else None

    def leaf(self, type_: GraphQLOutputType, message: str) -> completion.LeafCompleter:
        """The completer of a (possibly non-null) scalar or enum."""
        if isinstance(type_, GraphQLNonNull):
            assert is_leaf_type(type_.of_type)
            return completion.leaf_value(type_.of_type, message)
        assert is_leaf_type(type_)
        return completion.leaf_value(type_)

    def completer(
        self,
        type_: GraphQLOutputType,
        details: FieldDetailsList,
        spec: FieldSpec,
        message: str,
    ) -> completion.Completer:
        """The completer for ``type_``, chosen once (a non-null type checks for null)."""
        null_message = message if isinstance(type_, GraphQLNonNull) else None
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            item = self.completer(type_.of_type, details, spec, message)
            label = f"{spec.parent}.{spec.name}"
            item_non_null = isinstance(type_.of_type, GraphQLNonNull)
            return completion.list_of(item, item_non_null, spec.nodes, label, null_message)
        if is_leaf_type(type_):
            return completion.leaf(completion.leaf_value(type_, null_message))
        if not is_object_type(type_) or type_.is_type_of is not None:
            raise Unsupported(f"abstract type or is_type_of: {type_}")
        return completion.object_of(self.subfields(type_, details), null_message)

    def subfields(self, type_: GraphQLObjectType, details: FieldDetailsList) -> FieldSet:
        """The field set selected on an object, collected as graphql-core collects it."""
        op = self.op
        grouped, defers, _ = collect_subfields(
            op.schema,
            self.fragments,
            self.variables,
            op.operation,
            type_,
            details,
            op.hide_suggestions,
        )
        if defers:
            raise Unsupported("@defer")
        return self.field_set(type_, grouped)


class FieldSpec:
    """What a field's runner needs from its definition and nodes."""

    __slots__ = ("args", "definition", "head", "key", "name", "node", "nodes", "parent")

    def __init__(
        self,
        key: str,
        parent: GraphQLObjectType,
        nodes: list[FieldNode],
        definition: GraphQLField,
        args: dict[str, Any] | None,
    ) -> None:
        self.key = key
        self.parent = parent
        self.nodes = nodes
        self.node = nodes[0]
        self.name = nodes[0].name.value
        self.definition = definition
        self.args = args
        self.head = (self.name, nodes, definition.type, parent)


def field_runner(spec: FieldSpec, complete: completion.Completer) -> FieldRunner:
    """A field with a resolver (or a non-leaf attribute): graphql-core's execute_field."""
    key, type_name, resolve = spec.key, spec.parent.name, spec.definition.resolve
    static, field, node = spec.args, spec.definition, spec.node
    non_null = isinstance(spec.definition.type, GraphQLNonNull)
    head, nodes = spec.head, spec.nodes

    def run(source: Any, parent_path: Path | None, state: Run) -> Any:
        path = Path(parent_path, key, type_name)
        try:
            args = static if static is not None else _bind(field, node, state)
            info = new_info(Info, (*head, path, *state.tail))
            value = (
                resolve(source, info, **args)
                if resolve is not None
                else _attribute(source, head[0], info, args)
            )
            return complete(value, path, state)
        except Exception as raw:
            field_error(raw, non_null, nodes, path, state)
            return None

    return run


def default_leaf_runner(spec: FieldSpec, complete: completion.LeafCompleter) -> FieldRunner:
    """A scalar field read from its parent (the default resolver): no info unless callable."""
    key, type_name, name = spec.key, spec.parent.name, spec.name
    static, field, node = spec.args, spec.definition, spec.node
    non_null = isinstance(spec.definition.type, GraphQLNonNull)
    head, nodes = spec.head, spec.nodes

    def run(source: Any, parent_path: Path | None, state: Run) -> Any:
        try:
            args = static if static is not None else _bind(field, node, state)
            mapping = MAPPINGS.get(type(source))
            if mapping is None:
                mapping = is_mapping(source)
            value = source.get(name) if mapping else getattr(source, name, None)
            if callable(value):
                value = value(make_info(head, Path(parent_path, key, type_name), state), **args)
            return complete(value)
        except Exception as raw:
            field_error(raw, non_null, nodes, Path(parent_path, key, type_name), state)
            return None

    return run


def _attribute(source: Any, name: str, info: Any, args: dict[str, Any]) -> Any:
    """graphql-core's default_field_resolver."""
    value = source.get(name) if is_mapping(source) else getattr(source, name, None)
    return value(info, **args) if callable(value) else value


def _bind(field: GraphQLField, node: FieldNode, state: Run) -> dict[str, Any]:
    """Arguments that read variables, coerced per request by graphql-core."""
    return get_argument_values(field, node, state.variables, None, state.hide_suggestions)


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _uses_variables(node: FieldNode) -> bool:
    found: list[str] = []

    class Finder(Visitor):
        def enter_variable(self, variable: VariableNode, *_: Any) -> None:
            found.append(variable.name.value)

    for argument in node.arguments or ():
        visit(argument, Finder())
    return bool(found)
