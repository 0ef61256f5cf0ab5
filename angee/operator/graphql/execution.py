"""Synchronous GraphQL execution for threaded transports: parse, validate, execute, subscribe.

The operator serves from worker threads, so operations run on graphql-core's synchronous path:
queries and mutations execute directly; a subscription opens a blocking event source for its root
field (a hub subscriber or a log follow, :mod:`.subscriptions`) and executes the selection once per
event. Errors are formatted once here with the ``extensions.code`` of spec §2.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    located_error,
    parse,
    validate,
)
from graphql.execution import ExecutionResult, Executor
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

from angee.errors import AngeeError
from angee.operator.graphql.hub import END, TIMEOUT

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
_WIRE_EXTENSION_KEYS = ("kind", "name", "field", "reason")


class RequestError(Exception):
    """A request that cannot execute (parse/validation failure): HTTP 422, WS ``error``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid request")
        self.errors = errors


def format_error(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    """The wire form of one error: message, locations, path and ``extensions`` (code + typed fields)."""
    out = dict(error.formatted)
    extensions = dict(out.get("extensions") or {})
    original = error.original_error
    if isinstance(original, AngeeError):
        extensions["code"] = original.code
        wire = original.to_wire()
        for key in _WIRE_EXTENSION_KEYS:
            if key in wire:
                extensions[key] = wire[key]
    elif code is not None:
        extensions["code"] = code
    else:
        extensions.setdefault("code", "INTERNAL")
        if original is not None:
            _log_unexpected(error, original)
    out["extensions"] = extensions
    return out


def _log_unexpected(error: GraphQLError, original: BaseException) -> None:
    where = ".".join(str(p) for p in error.path or []) or "operation"
    lines = traceback.format_exception(type(original), original, original.__traceback__)
    print(f"operator: graphql {where} failed: {''.join(lines).rstrip()}", file=sys.stderr, flush=True)


def result_to_wire(result: ExecutionResult) -> dict[str, Any]:
    """``{data, errors?}`` of an execution result."""
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [format_error(e) for e in result.errors]
    return out


@dataclass
class Prepared:
    """A parsed, validated operation bound to its variables and context, ready to run."""

    executor: Executor
    kind: OperationType

    @property
    def is_subscription(self) -> bool:
        return self.kind == OperationType.SUBSCRIPTION


def parse_document(schema: GraphQLSchema, query: Any) -> DocumentNode:
    """Parse and validate ``query``; RequestError with GRAPHQL_PARSE/VALIDATION_FAILED otherwise."""
    if not isinstance(query, str) or not query.strip():
        raise RequestError(
            [{"message": "no GraphQL query found in the request", "extensions": {"code": PARSE_FAILED}}]
        )
    try:
        document = parse(query)
    except GraphQLError as err:
        raise RequestError([format_error(err, PARSE_FAILED)]) from None
    errors = validate(schema, document)
    if errors:
        raise RequestError([format_error(e, VALIDATION_FAILED) for e in errors])
    return document


def prepare(
    schema: GraphQLSchema,
    query: Any,
    variables: Any = None,
    operation_name: Any = None,
    context: Any = None,
) -> Prepared:
    """Parse, validate, pick the operation and coerce the variables (RequestError on failure)."""
    document = parse_document(schema, query)
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(
            [{"message": "variables must be a JSON object", "extensions": {"code": VALIDATION_FAILED}}]
        )
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(
            [{"message": "operationName must be a string", "extensions": {"code": VALIDATION_FAILED}}]
        )
    built = Executor.build(
        schema,
        document,
        context_value=context,
        raw_variable_values=variables,
        operation_name=operation_name or None,
    )
    if isinstance(built, list):
        raise RequestError([format_error(e, VALIDATION_FAILED) for e in built])
    return Prepared(built, built.operation.operation)


def execute(prepared: Prepared) -> dict[str, Any]:
    """Run a query or mutation to its wire result ``{data, errors?}``."""
    result = prepared.executor.execute_operation()
    if not isinstance(result, ExecutionResult):  # an async resolver slipped in: not supported here
        close = getattr(result, "close", None)
        if callable(close):
            close()
        error = GraphQLError("operation did not complete synchronously")
        return {"data": None, "errors": [format_error(error, "INTERNAL")]}
    return result_to_wire(result)


class ResultStream:
    """The results of one operation: one result for a query/mutation, one per event for a subscription.

    :meth:`next` returns a wire result, ``TIMEOUT`` or ``END``; :meth:`close` releases the source.
    """

    def __init__(self, prepared: Prepared | None = None, source: Any = None, first: Any = None) -> None:
        self._prepared = prepared
        self._source = source
        self._pending = first
        self._done = source is None and first is None

    @classmethod
    def single(cls, result: dict[str, Any]) -> ResultStream:
        return cls(first=result)

    def next(self, timeout: float | None = None) -> Any:
        if self._pending is not None:
            result, self._pending = self._pending, None
            if self._source is None:
                self._done = True
            return result
        source = self._source
        if self._done or source is None:
            return END
        try:
            event = source.get(timeout)
        except Exception as err:  # a failing source (e.g. the log follower died): one error result, then end
            self.close()
            self._pending = None
            self._done = True
            return {"data": None, "errors": [format_error(located_error(err, None, None))]}
        if event is TIMEOUT:
            return TIMEOUT
        if event is END:
            self.close()
            return END
        assert self._prepared is not None
        per_event = self._prepared.executor.build_per_event_executor(event)
        result = per_event.execute_operation(False)
        if not isinstance(result, ExecutionResult):
            return {
                "data": None,
                "errors": [format_error(GraphQLError("event did not resolve synchronously"))],
            }
        return result_to_wire(result)

    def close(self) -> None:
        """Release the event source (unsubscribe, kill a log follower); idempotent."""
        self._done = True
        source, self._source = self._source, None
        if source is not None:
            source.close()


def open_stream(prepared: Prepared, open_source: Any) -> ResultStream:
    """The result stream of ``prepared``: queries/mutations run now, subscriptions open their source.

    ``open_source(field_name, context, args)`` returns the blocking event source of a subscription
    root field; an error raised there becomes the stream's single error result (e.g. NOT_FOUND).
    """
    if not prepared.is_subscription:
        return ResultStream.single(execute(prepared))
    executor = prepared.executor
    root_type = executor.schema.subscription_type
    assert root_type is not None
    grouped = collect_fields(
        executor.schema, executor.fragments, executor.variable_values, root_type, executor.operation
    ).grouped_field_set
    response_name, details = next(iter(grouped.items()))
    nodes = [d.node for d in details]
    field_name = nodes[0].name.value
    field_def = executor.schema.get_field(root_type, field_name)
    path = Path(None, response_name, root_type.name)
    try:
        if field_def is None:
            raise GraphQLError(f"The subscription field '{field_name}' is not defined.")
        args = get_argument_values(
            field_def, nodes[0], executor.variable_values, details[0].fragment_variable_values
        )
        source = open_source(field_name, executor.context_value, args)
    except Exception as err:
        error = located_error(err, nodes, path.as_list())
        return ResultStream.single({"data": None, "errors": [format_error(error)]})
    return ResultStream(prepared, source)
