"""What metrics and traces learn of a GraphQL operation: its name and type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from graphql import DocumentNode
from graphql.utilities import get_operation_ast

from infra import tracing

ANONYMOUS = "anonymous"


@contextmanager
def operation(document: DocumentNode, operation_name: str | None) -> Iterator[None]:
    """Run the block as the document's operation: named for the request's metrics, traced."""
    node = get_operation_ast(document, operation_name)
    if node is None:  # execution answers the unknown operationName itself
        yield
        return
    name = node.name.value if node.name else ANONYMOUS
    kind = node.operation.value
    g.graphql_operation = (name, kind)
    attributes = {"graphql.operation.name": name, "graphql.operation.type": kind}
    with tracing.span(f"{kind} {name}", attributes):
        yield
