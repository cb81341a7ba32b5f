"""What metrics learn of a GraphQL operation: its name and type."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from graphql import DocumentNode
from graphql.utilities import get_operation_ast

ANONYMOUS = "anonymous"


@contextmanager
def operation(document: DocumentNode, operation_name: str | None) -> Iterator[None]:
    """Run the block as the document's operation: named for the request's metrics."""
    node = get_operation_ast(document, operation_name)
    if node is None:  # execution answers the unknown operationName itself
        yield
        return
    name = node.name.value if node.name else ANONYMOUS
    kind = node.operation.value
    g.graphql_operation = (name, kind)
    yield
