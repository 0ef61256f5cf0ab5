"""Stack routes: status, init, update, prepare, build, up, dev, down, destroy, logs and the two streams."""

from __future__ import annotations

from flask import Response, request

from angee.operator.rest import arg_list, call, context, flag, platform_method, read_body, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s
from angee.operator.rest.streams import OutputStream, stream_text

# How long a foreground route waits for the first output line before committing to a 200 stream.
FIRST_OUTPUT_SECONDS = 2.0

bp = make_blueprint("stack", "Stack lifecycle")


def stream(upstream: object) -> Response:
    """A flushed-per-line text stream of a Platform iterator (stops with the client or the operator)."""
    return stream_text(upstream, request.environ, context().stopping)  # type: ignore[arg-type]


def stream_output(op_id: str, **kwargs: object) -> Response:
    """Stream the output lines of a Platform call that reports through ``output=``; a failure before
    any output is a normal error response, a later one the in-band ``angee: <message>`` line."""
    upstream = OutputStream(platform_method(op_id), **kwargs)
    upstream.wait_started(FIRST_OUTPUT_SECONDS)
    return stream(upstream)


@route(bp, "stackStatus", response=s.StackStatus())
def stack_status() -> Response:
    """Services (observed state), jobs and workspaces, keyed by name."""
    return reply(call("stackStatus"))


@route(bp, "stackInit", body=s.StackInitBody(), response=s.StackInitResult())
def stack_init() -> Response:
    """Render a stack template into the root (or ``path``, relative to the root)."""
    body = read_body(s.StackInitBody())
    result = call(
        "stackInit",
        body["template"],
        path=body.get("path", ""),
        inputs=body.get("inputs") or {},
        force=body.get("force", False),
    )
    return reply(result, 201)


@route(bp, "stackUpdate", body=s.StackUpdateBody(), response=s.MutationResult())
def stack_update() -> Response:
    """Regenerate the derived runtime files; with ``template: true`` re-render from the stack template."""
    body = read_body(s.StackUpdateBody())
    if body.get("template"):
        result = call(
            "stackUpdateFromTemplate",
            dry_run=body.get("dry_run", False),
            overwrite=body.get("overwrite", False),
            inputs=body.get("inputs") or None,
        )
        return reply(result)
    return reply(call("stackUpdate"))


@route(bp, "stackPrepare")
def stack_prepare() -> Response:
    """Compile the manifest and write docker-compose.yaml / process-compose.yaml."""
    return reply(call("stackPrepare"))


@route(bp, "stackBuild", body=s.StackRuntimeBody(), response=s.MutationResult())
def stack_build() -> Response:
    """Build container images (``build`` is ignored)."""
    body = read_body(s.StackRuntimeBody())
    return reply(call("stackBuild", services=body.get("services") or []))


@route(bp, "stackUp", body=s.StackRuntimeBody(), response=s.MutationResult())
def stack_up() -> Response:
    """Start the container services, detached."""
    body = read_body(s.StackRuntimeBody())
    return reply(call("stackUp", services=body.get("services") or [], build=body.get("build", False)))


@route(bp, "stackUpForeground", body=s.StackRuntimeBody())
def stack_up_stream() -> Response:
    """Foreground bring-up: output streamed as it is written; a late failure ends with ``angee: <msg>``."""
    body = read_body(s.StackRuntimeBody())
    return stream_output(
        "stackUpForeground", services=body.get("services") or [], build=body.get("build", False)
    )


@route(bp, "stackDev", body=s.StackRuntimeBody(), response=s.MutationResult())
def stack_dev() -> Response:
    """Start container and local services in the background (``services`` ignored)."""
    body = read_body(s.StackRuntimeBody())
    return reply(call("stackDev", build=body.get("build", False), detach=True))


@route(bp, "stackDevForeground", body=s.StackRuntimeBody())
def stack_dev_stream() -> Response:
    """Attached dev run of all services, output streamed; disconnect stops the streaming only."""
    body = read_body(s.StackRuntimeBody())
    return stream_output("stackDevForeground", build=body.get("build", False), detach=False)


@route(bp, "stackDown", response=s.MutationResult())
def stack_down() -> Response:
    """Stop the stack."""
    return reply(call("stackDown"))


@route(bp, "stackDestroy", query=s.PurgeQuery(), response=s.MutationResult())
def stack_destroy() -> Response:
    """Stop and remove the stack's runtime state (``?purge=true`` also removes volumes)."""
    return reply(call("stackDestroy", purge=flag("purge")))


@route(bp, "stackLogs", query=s.StackLogsQuery())
def stack_logs() -> Response:
    """Logs of the stack (or ``?service=`` ones); ``?follow=true`` streams until disconnect."""
    return stream(call("stackLogs", services=arg_list("service"), follow=flag("follow")))
