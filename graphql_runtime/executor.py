"""Runs GraphQL operations: cached parse and validation, limits, masked errors."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ariadne import load_schema_from_path, make_executable_schema
from ariadne.utils import unwrap_graphql_error
from flask import Flask, current_app
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule

from config import PROJECT_DIR
from graphql_runtime import observed
from graphql_runtime.cost import cost_limit_rule
from graphql_runtime.document_cache import DocumentCache, entry_size
from graphql_runtime.limits import SensitiveFieldOnceRule, depth_limit_rule, size_errors
from graphql_runtime.persisted import PersistedQueryError, documents_from_config
from graphql_runtime.plans import DocumentPlans, PlanStats
from graphql_runtime.resolution import OperationRefused, resolve_operation
from graphql_runtime.resolvers import bindables
from infra import metrics
from infra.logs import current_request_id
from services.errors import (
    InvalidInput,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    count_outage,
    is_outage,
)

log = logging.getLogger(__name__)
SCHEMA_PATH = str(PROJECT_DIR / "schema.graphql")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass
class Prepared:
    """A parsed and validated document, or the client-ready errors that refused it.

    Refusals keep only formatted dicts: an exception would keep its traceback alive and,
    through it, the lexer's token chain and the partial document.
    """

    document: DocumentNode | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0  # bytes charged against the document cache (an upper estimate)
    plans: DocumentPlans | None = None  # compiled on first execution (graphql_runtime/plans)


@dataclass
class Outcome:
    """A response body, its HTTP status and extra headers."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    strict_status: int | None = None  # under application/graphql-response+json, if different

    def status_for(self, strict: bool) -> int:
        """The status under application/graphql-response+json (strict) or application/json."""
        return (self.strict_status or self.status) if strict else self.status


@cache
def build_schema(schema_path: str = SCHEMA_PATH) -> GraphQLSchema:
    """The executable schema: the SDL file bound to the resolvers (built once per process)."""
    return make_executable_schema(
        load_schema_from_path(schema_path), *bindables, convert_names_case=True
    )


class QueryExecutor:
    """Executes operations against the schema with the app's limits."""

    def __init__(self, app: Flask, schema: GraphQLSchema) -> None:
        config = app.config
        self.schema = schema
        self.max_length: int = config["GRAPHQL_MAX_LENGTH"]
        self.max_tokens: int = config["GRAPHQL_MAX_TOKENS"]
        self.max_selections: int = config["GRAPHQL_MAX_SELECTIONS"]
        self.max_aliases: int = config["GRAPHQL_MAX_ALIASES"]
        self.suggestions: bool = config["GRAPHQL_SUGGESTIONS"]
        self.rules = (
            *specified_rules,
            depth_limit_rule(config["GRAPHQL_MAX_DEPTH"]),
            SensitiveFieldOnceRule,
            cost_limit_rule(config["GRAPHQL_MAX_COST"], config["POSTS_MAX_LIMIT"]),
        )
        if not config["GRAPHQL_INTROSPECTION"]:
            self.rules = (*self.rules, NoSchemaIntrospectionCustomRule)
        too_long = GraphQLError(f"Query is longer than {self.max_length} characters.")
        self.too_long = Prepared(None, [self.format_error(too_long)])
        self.cache: DocumentCache[Prepared] = DocumentCache(
            config["GRAPHQL_DOCUMENT_CACHE_SIZE"], config["GRAPHQL_DOCUMENT_CACHE_BYTES"]
        )
        self.documents = documents_from_config(config)
        self.execution_plans: bool = config["GRAPHQL_EXECUTION_PLANS"]
        self.plan_stats = PlanStats()

    def prepare(self, query: str) -> Prepared:
        """Parse and validate a query once; later calls with the same text are a lookup."""
        if len(query) > self.max_length:  # refused before the lexer reads it, and not cached
            return self.too_long
        prepared = self.cache.get(query)
        metrics.count("document_cache", outcome="miss" if prepared is None else "hit")
        if prepared is None:
            prepared = self._parse_and_validate(query)
            prepared.size = entry_size(query, prepared.document, prepared.errors)
            self.cache.put(query, prepared)
        return prepared

    def _parse_and_validate(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return Prepared(None, [self.format_error(error)])
        errors = size_errors(document, self.max_selections, self.max_aliases)
        if not errors:  # full validation only for documents within the cheap bounds
            hide = not self.suggestions
            errors = validate(self.schema, document, self.rules, hide_suggestions=hide)
        if errors:
            return Prepared(None, [self.format_error(error) for error in errors])
        return Prepared(document)

    def execute(self, data: dict[str, Any], context: Any, read_only: bool = False) -> Outcome:
        """Run one operation and return its body and HTTP status.

        ``data`` comes from the endpoint, which has checked its query (or persisted-query
        extension), variables and operationName; ``read_only`` (GET) runs queries only.
        This does what Ariadne's graphql_sync does for this product (no extensions,
        middleware or root value) without its per-request set-up, and answers the same
        shapes: ``{"errors"}`` for a refused operation, ``{"data", "errors"?}`` else.
        """
        found = self._document(data)
        if isinstance(found, Outcome):
            return found
        query, prepared, document = found
        operation_name = data.get("operationName")
        try:
            resolve_operation(document, operation_name, read_only)
        except OperationRefused as error:
            return Outcome({"errors": [self.format_error(error)]}, error.status, error.headers)
        with observed.operation(document, operation_name):
            result = self._planned(query, prepared, data.get("variables"), operation_name, context)
            if result is None:
                result = execute_sync(
                    self.schema,
                    document,
                    context_value=context,
                    variable_values=data.get("variables"),
                    operation_name=operation_name,
                    hide_suggestions=not self.suggestions,
                )
        body = self._body(result)
        if _is_request_error(body):
            del body["data"]  # as the spec asks when execution never started
            for refusal in body["errors"]:  # the operation is known: its variables did not coerce
                refusal["extensions"]["code"] = "BAD_USER_INPUT"
        return _outcome(body)

    def _document(self, data: dict[str, Any]) -> tuple[str, Prepared, DocumentNode] | Outcome:
        """The request's document (a persisted one looked up), prepared; an Outcome if refused."""
        extensions = data.get("extensions")
        try:
            query = self.documents.text(data.get("query"), extensions)
        except PersistedQueryError as error:
            return Outcome(error.body(), error.status, {}, error.strict_status)
        prepared = self.prepare(query)
        if prepared.document is None:
            return Outcome({"errors": list(prepared.errors)}, 400)
        self.documents.register(query, extensions)
        return query, prepared, prepared.document

    def _planned(
        self,
        query: str,
        prepared: Prepared,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> ExecutionResult | None:
        """The result from the document's compiled plan; None when off or not covered."""
        if not self.execution_plans or prepared.document is None:
            return None
        if prepared.plans is None:
            prepared.plans = DocumentPlans(self.schema, prepared.document, not self.suggestions)
        compiled = prepared.plans.variants_compiled
        result = prepared.plans.execute(operation_name, variables, context)
        self.plan_stats.count(result is not None)
        if prepared.plans.variants_compiled > compiled:
            # A plan variant measured 93 KB where its document was estimated at 191 KB:
            # charging the document's estimate again keeps the byte bound an upper bound.
            self.cache.charge(query, entry_size(query, prepared.document, []))
        return result

    def _body(self, result: ExecutionResult) -> dict[str, Any]:
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self.format_error(error) for error in result.errors]
        return body

    def format_error(self, error: GraphQLError) -> dict[str, Any]:
        """Client-safe error: intended errors keep their message, anything else is masked."""
        original = unwrap_graphql_error(error)
        if original is None or original is error:
            return self._graphql_error(error)
        if is_outage(original):
            log.warning("backing service unavailable: %r", original)
            count_outage(original)
            original = ServiceUnavailable()
        if isinstance(original, ServiceError):
            return _service_error(error, original)
        return _masked_error(error, original)

    def _graphql_error(self, error: GraphQLError) -> dict[str, Any]:
        formatted: dict[str, Any] = dict(error.formatted)
        if not self.suggestions:
            formatted["message"] = SUGGESTION.sub("", formatted["message"])
        default = "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else None
        extensions = formatted.setdefault("extensions", {})
        extensions.setdefault("code", default or "GRAPHQL_VALIDATION_FAILED")
        return formatted


def _service_error(error: GraphQLError, original: ServiceError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": original.code}
    if isinstance(original, InvalidInput):
        extensions["field"] = original.field
    if isinstance(original, RateLimited):
        extensions["retryAfter"] = original.retry_after
    return {**_position(error), "message": original.message, "extensions": extensions}


def _masked_error(error: GraphQLError, original: BaseException) -> dict[str, Any]:
    request_id = current_request_id()
    log.error("unexpected error in a resolver [request %s]", request_id, exc_info=original)
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    return {**_position(error), "message": "Internal server error", "extensions": extensions}


def _position(error: GraphQLError) -> dict[str, Any]:
    formatted = error.formatted
    return {key: formatted[key] for key in ("locations", "path") if key in formatted}


def _is_request_error(result: dict[str, Any]) -> bool:
    """Errors raised before execution (bad variables, unknown operation): no field has a path."""
    errors = result.get("errors") or []
    started = any("path" in e for e in errors)
    return bool(errors) and "data" in result and result["data"] is None and not started


def _outcome(result: dict[str, Any]) -> Outcome:
    """The HTTP status (and Retry-After) a result calls for."""
    errors = result.get("errors") or []
    extensions = [e.get("extensions", {}) for e in errors]
    codes = {ext.get("code") for ext in extensions}
    strict = 200 if result.get("data") is not None else None  # data: 2xx, as the spec says
    if ServiceUnavailable.code in codes:
        return Outcome(result, 503, {"Retry-After": "1"}, strict)
    if RateLimited.code in codes:
        wait = max(int(ext.get("retryAfter", 1)) for ext in extensions)
        return Outcome(result, 429, {"Retry-After": str(wait)}, strict)
    return Outcome(result, 400 if "data" not in result else 200)


class GraphQLRuntime:
    """Flask extension holding each app's executor (schema built once per app)."""

    def init_app(self, app: Flask) -> None:
        """Build the schema and executor for the app."""
        app.extensions["graphql"] = QueryExecutor(app, build_schema())

    @property
    def executor(self) -> QueryExecutor:
        """The current app's executor."""
        executor: QueryExecutor = current_app.extensions["graphql"]
        return executor


graphql_runtime = GraphQLRuntime()
