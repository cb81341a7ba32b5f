"""Validation rules that bound what one GraphQL document may ask for."""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)
from graphql.language.visitor import SKIP, VisitorAction

# Fields that may appear at most once per document: each costs a password hash or a
# rate-limit slot, and aliases would otherwise turn one request into many attempts.
SENSITIVE_FIELDS = frozenset({"login", "register", "forgotPassword", "changePassword"})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def selection_depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> int:
    """How deeply fields nest below this selection set (introspection fields not counted)."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + selection_depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, selection_depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                inner = fragments[name].selection_set
                deepest = max(deepest, selection_depth(inner, fragments, seen | {name}))
    return deepest


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields."""

    class DepthLimitRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> VisitorAction:
            fragments = _fragments(node)
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    depth = selection_depth(definition.selection_set, fragments)
                    if depth > max_depth:
                        self.report_error(
                            GraphQLError(
                                f"Query is nested {depth} levels deep; the maximum is {max_depth}.",
                                definition,
                            )
                        )
            return SKIP

    return DepthLimitRule


def alias_limit_rule(max_aliases: int) -> type[ASTValidationRule]:
    """A rule refusing documents with more than ``max_aliases`` aliased fields."""

    class AliasLimitRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.aliases += 1
                if self.aliases == max_aliases + 1:
                    self.report_error(
                        GraphQLError(f"Query uses more than {max_aliases} aliases.", node)
                    )

    return AliasLimitRule


class SensitiveFieldOnceRule(ASTValidationRule):
    """Each sensitive mutation field may appear once per document."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in SENSITIVE_FIELDS:
            self.count += 1
            if self.count == 2:
                self.report_error(
                    GraphQLError(
                        "Only one login, register, forgotPassword or changePassword"
                        " field is allowed per request.",
                        node,
                    )
                )
