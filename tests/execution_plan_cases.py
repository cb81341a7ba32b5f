"""Generated documents for the plan-vs-graphql-core differential tests.

hypothesis-graphql draws valid queries (or mutations) over the real schema with literal arguments; a
rewrite then lifts arguments into variables (with defaults, nulls and values that do not
coerce), adds @skip/@include on variables and literals, aliases and repeats fields, wraps
them in inline fragments and named fragments, and sometimes names the operation next to
another one, so the plan's collection, binding and error paths are all exercised.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    parse,
    parse_type,
    print_ast,
    value_from_ast_untyped,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

TESTS = Path(__file__).parent
BENCH = TESTS.parent / "bench"  # the benchmark's workloads too
QUERY_FIELDS = ["hello", "posts", "post", "me", "sessions"]
MAX_FIELDS = 3  # per selection set
# how an argument is sent, drawn uniformly: a literal, a variable with the literal's value, a
# variable with a default (sent null or omitted), or a variable with junk that may not coerce
ARGUMENT_MODES = ("literal", "variable", "variable", "default", "junk")
JUNK = st.one_of(
    st.none(),
    st.integers(-(2**33), 2**33),
    st.text(max_size=4),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 3), max_size=2),
)


@dataclass
class Case:
    """One request: a document, its variables and operation name."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None


def _name(value: str) -> NameNode:
    return NameNode(value=value)


@dataclass
class Rewrite:
    """Draws the rewrites of one generated document."""

    draw: Any
    schema: GraphQLSchema
    definitions: list[VariableDefinitionNode] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    fragments: list[FragmentDefinitionNode] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    operation: OperationType = OperationType.QUERY
    modes: tuple[str, ...] = ARGUMENT_MODES

    def chance(self, one_in: int) -> bool:
        """True about once in ``one_in`` draws."""
        return bool(self.draw(st.integers(1, one_in)) == 1)

    def selection_set(self, parent: GraphQLObjectType, node: SelectionSetNode) -> SelectionSetNode:
        """The selection set with every field rewritten."""
        selections: list[SelectionNode] = []
        every = range(len(node.selections))  # a few of them: small documents validate fast
        keep = self.draw(st.sets(st.sampled_from(every), min_size=1, max_size=MAX_FIELDS))
        for selection in (node.selections[i] for i in sorted(keep)):
            assert isinstance(selection, FieldNode)
            selections.extend(self.field(parent, selection))
        return SelectionSetNode(selections=tuple(selections))

    def field(self, parent: GraphQLObjectType, node: FieldNode) -> list[SelectionNode]:
        """A field, maybe aliased, repeated, conditional or moved into a fragment."""
        definition = parent.fields[node.name.value]
        child = get_named_type(definition.type)
        sub = node.selection_set
        rewritten = FieldNode(
            alias=_name(f"a{next(self.ids)}") if self.chance(6) else None,
            name=node.name,
            arguments=tuple(self.argument(a, definition) for a in node.arguments or ()),
            directives=self.directives(),
            selection_set=self.selection_set(child, sub) if sub else None,
        )
        group: list[SelectionNode] = [rewritten]
        if self.chance(8):
            group.append(rewritten)  # the same response key twice: merged
        return [self.wrap(parent, group)]

    def wrap(self, parent: GraphQLObjectType, group: list[SelectionNode]) -> SelectionNode:
        """The group as it is, in an inline fragment, or in a named fragment's spread."""
        how = self.draw(st.sampled_from(["plain"] * 8 + ["inline", "bare inline", "spread"]))
        selection_set = SelectionSetNode(selections=tuple(group))
        condition = NamedTypeNode(name=_name(parent.name))
        if how in {"inline", "bare inline"}:
            return InlineFragmentNode(
                type_condition=condition if how == "inline" else None,
                directives=self.directives(),
                selection_set=selection_set,
            )
        if how == "spread":
            name = f"F{next(self.ids)}"
            fragment = FragmentDefinitionNode(
                name=_name(name), type_condition=condition, selection_set=selection_set
            )
            self.fragments.append(fragment)
            return FragmentSpreadNode(name=_name(name), directives=self.directives())
        return group[0] if len(group) == 1 else InlineFragmentNode(selection_set=selection_set)

    def directives(self) -> tuple[DirectiveNode, ...]:
        """Usually none; else @skip or @include on a variable or a literal."""
        if not self.chance(7):
            return ()
        name = self.draw(st.sampled_from(["skip", "include"]))
        if self.chance(3):
            value: Any = BooleanValueNode(value=self.draw(st.booleans()))
        else:
            value = self.variable("Boolean!", self.draw(st.booleans()), None)
        argument = ArgumentNode(name=_name("if"), value=value)
        return (DirectiveNode(name=_name(name), arguments=(argument,)),)

    def argument(self, node: ArgumentNode, definition: GraphQLField) -> ArgumentNode:
        """The literal as it is, or a variable carrying it (or a default, a null, junk)."""
        how = self.draw(st.sampled_from(self.modes))
        if how == "literal":
            return node
        type_name = str(definition.args[node.name.value].type)
        literal = value_from_ast_untyped(node.value)
        if how == "default":
            sent = self.draw(st.sampled_from(["omitted", None]))
            variable = self.variable(type_name, sent, node.value)
        else:
            variable = self.variable(type_name, literal if how == "variable" else self.draw(JUNK))
        return ArgumentNode(name=node.name, value=variable)

    def variable(self, type_name: str, value: Any, default: Any = None) -> VariableNode:
        """A new variable of this type, defined on the operation and sent with ``value``."""
        name = f"v{next(self.ids)}"
        self.definitions.append(
            VariableDefinitionNode(
                variable=VariableNode(name=_name(name)),
                type=parse_type(type_name),
                default_value=default,
                directives=(),
            )
        )
        if value != "omitted":
            self.variables[name] = value
        return VariableNode(name=_name(name))

    def document(self, generated: DocumentNode) -> Case:
        """The rewritten document and what to send with it."""
        [operation] = generated.definitions
        assert isinstance(operation, OperationDefinitionNode)
        root = self.schema.get_root_type(self.operation)
        assert root is not None
        selection_set = self.selection_set(root, operation.selection_set)
        named = self.chance(3)
        rewritten = OperationDefinitionNode(
            operation=self.operation,
            name=_name("Generated") if named else None,
            variable_definitions=tuple(self.definitions),
            directives=(),
            selection_set=selection_set,
        )
        definitions: list[Any] = [rewritten, *self.fragments]
        operation_name = "Generated" if named and self.chance(2) else None
        if operation_name and self.chance(2):
            other = OperationDefinitionNode(
                operation=OperationType.QUERY,
                name=_name("Other"),
                variable_definitions=(),
                directives=(),
                selection_set=SelectionSetNode(selections=(FieldNode(name=_name("hello")),)),
            )
            definitions.insert(self.draw(st.integers(0, 1)), other)
        query = print_ast(DocumentNode(definitions=tuple(definitions)))
        return Case(query, self.variables, operation_name)


def differential_settings(examples: int) -> settings:
    """Hypothesis settings of the differential tests: the same examples on every run."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def cases(
    schema: GraphQLSchema,
    fields: list[str] = QUERY_FIELDS,
    operation: OperationType = OperationType.QUERY,
    modes: tuple[str, ...] = ARGUMENT_MODES,
) -> st.SearchStrategy[Case]:
    """Generated operations of these root fields with their variables, rewritten as above."""
    documents = from_schema(schema, fields=fields, print_ast=lambda d: d)

    @st.composite
    def rewritten(draw: Any) -> Case:
        rewrite = Rewrite(draw, schema, operation=operation, modes=modes)
        return rewrite.document(draw(documents))

    return rewritten()


def suite_documents(kind: OperationType) -> list[str]:
    """Every string in the tests (and bench) that is a document of ``kind`` operations only."""
    found: dict[str, None] = {}
    for path in sorted([*TESTS.glob("*.py"), *BENCH.glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and _is_document_of(text, kind):
                found[text] = None
    return list(found)


def _is_document_of(text: str, kind: OperationType) -> bool:
    if "{" not in text or len(text) > 5000:
        return False
    try:
        definitions = parse(text).definitions
    except GraphQLError:
        return False
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(o.operation == kind for o in operations)
