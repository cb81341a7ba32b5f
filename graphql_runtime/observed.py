"""What metrics and traces learn of a GraphQL operation: its name and type."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import request
from graphql import DocumentNode
from graphql.utilities import get_operation_ast

from infra import tracing
from infra.metrics import OPERATION_ENVIRON

ANONYMOUS = "anonymous"


def operation(document: DocumentNode, operation_name: str | None) -> AbstractContextManager[Any]:
    """Name the request's operation for its metrics; a span to run it in when tracing is on.

    A plain function, not a generator-based context manager, which cost more per request
    than the bookkeeping itself.
    """
    node = get_operation_ast(document, operation_name)
    if node is None:  # execution answers the unknown operationName itself
        return nullcontext()
    name = node.name.value if node.name else ANONYMOUS
    kind = node.operation.value
    request.environ[OPERATION_ENVIRON] = (name, kind)
    if not tracing.active():
        return nullcontext()
    attributes = {"graphql.operation.name": name, "graphql.operation.type": kind}
    return tracing.span(f"{kind} {name}", attributes)
