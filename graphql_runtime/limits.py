"""Validation rules that bound what one GraphQL document may ask for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValidationContext,
)
from graphql.language.visitor import SKIP, VisitorAction

# Fields that may appear at most once per document: each costs a password hash or a
# rate-limit slot, and aliases would otherwise turn one request into many attempts.
SENSITIVE_FIELDS = frozenset({"login", "register", "forgotPassword", "changePassword"})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _DepthMeter:
    """Field depth of selection sets; each fragment is measured once, so fan-out stays linear."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[str, int] = {}
        self.open: set[str] = set()

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        """How deeply fields nest below this selection set."""
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            deepest = max(deepest, self._selection(selection))
        return deepest

    def _selection(self, selection: SelectionNode) -> int:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                return 0  # introspection fields do not count
            return 1 + self.depth(selection.selection_set)
        if isinstance(selection, InlineFragmentNode):
            return self.depth(selection.selection_set)
        assert isinstance(selection, FragmentSpreadNode)
        return self._fragment(selection.name.value)

    def _fragment(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        if name in self.open or name not in self.fragments:
            return 0  # a cycle or an unknown fragment: other rules report those
        self.open.add(name)
        self.known[name] = self.depth(self.fragments[name].selection_set)
        self.open.discard(name)
        return self.known[name]


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields."""

    class DepthLimitRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> VisitorAction:
            meter = _DepthMeter(_fragments(node))
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(definition, meter)
            return SKIP

        def _check(self, operation: OperationDefinitionNode, meter: _DepthMeter) -> None:
            try:
                depth = meter.depth(operation.selection_set)
            except RecursionError:  # fragment chains deeper than the interpreter's stack
                self.report_error(GraphQLError("Query is nested too deeply.", operation))
                return
            if depth > max_depth:
                message = f"Query is nested {depth} levels deep; the maximum is {max_depth}."
                self.report_error(GraphQLError(message, operation))

    return DepthLimitRule


def size_errors(
    document: DocumentNode, max_selections: int, max_aliases: int
) -> list[GraphQLError]:
    """Refusals for too many selections or aliases: a linear pass run before validation.

    Validation is quadratic in same-named fields (OverlappingFieldsCanBeMergedRule), so these
    bounds are what keep the worst document within the limits cheap to validate.
    """
    selections = sorted(_selections(document), key=_position)
    aliased = [s for s in selections if isinstance(s, FieldNode) and s.alias is not None]
    errors = []
    if len(selections) > max_selections:
        message = (
            f"Query has more than {max_selections} selections"
            " (fields, fragment spreads and inline fragments)."
        )
        errors.append(GraphQLError(message, selections[max_selections]))
    if len(aliased) > max_aliases:
        message = f"Query uses more than {max_aliases} aliases."
        errors.append(GraphQLError(message, aliased[max_aliases]))
    return errors


def _selections(document: DocumentNode) -> Iterator[SelectionNode]:
    """Every selection written in the document, each once (fragments are not expanded)."""
    pending = [
        d.selection_set for d in document.definitions if isinstance(d, ExecutableDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            yield selection
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)


def _position(node: SelectionNode) -> int:
    return node.loc.start if node.loc else 0


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
