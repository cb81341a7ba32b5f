"""Which operation of a document a request runs, and whether this request may run it."""

from __future__ import annotations

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType

OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"


class OperationRefused(GraphQLError):
    """An operation this request cannot run, with the HTTP status and headers that say why."""

    def __init__(self, message: str, code: str, status: int = 400, allow: str | None = None):
        super().__init__(message, extensions={"code": code})
        self.status = status
        self.headers = {"Allow": allow} if allow else {}


def _named(document: DocumentNode, name: str | None) -> list[OperationDefinitionNode]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations
    return [o for o in operations if o.name is not None and o.name.value == name]


def _not_resolved(name: str | None, operations: list[OperationDefinitionNode]) -> str:
    """Why no single operation was picked, in graphql-core's words."""
    if name is not None:
        return f"Unknown operation named '{name}'."
    if operations:
        return "Must provide operation name if query contains multiple operations."
    return "Must provide an operation."


def resolve_operation(
    document: DocumentNode, name: str | None, read_only: bool
) -> OperationDefinitionNode:
    """The operation to run; OperationRefused if there is none, or it may not run here.

    ``read_only`` requests (GET) run queries only: a mutation is 405 with ``Allow: POST``.
    """
    operations = _named(document, name)
    if len(operations) != 1:
        raise OperationRefused(_not_resolved(name, operations), OPERATION_RESOLUTION_FAILURE)
    operation = operations[0]
    if operation.operation is OperationType.SUBSCRIPTION:
        message = "Subscription operations can only be executed over a WebSocket connection."
        raise OperationRefused(message, "GRAPHQL_VALIDATION_FAILED")
    if read_only and operation.operation is OperationType.MUTATION:
        message = "Mutations can only be sent with POST."
        raise OperationRefused(message, METHOD_NOT_ALLOWED, 405, allow="POST")
    return operation
