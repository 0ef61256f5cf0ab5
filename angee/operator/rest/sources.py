"""Source routes: list, status, fetch, pull, push, diff."""

from __future__ import annotations

from flask import Response

from angee.operator.rest import arg, call, read_body, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s

bp = make_blueprint("sources", "Sources")


@route(bp, "sourceList")
def source_list() -> Response:
    """Every declared source's state (an unreadable one carries ``state: error``)."""
    return reply(call("sourceList"))


@route(bp, "sourceStatus")
def source_status(name: str) -> Response:
    """One source's state."""
    return reply(call("sourceStatus", name))


@route(bp, "sourceFetch")
def source_fetch(name: str) -> Response:
    """Materialise or fetch the source cache."""
    return reply(call("sourceFetch", name))


@route(bp, "sourcePull")
def source_pull(name: str) -> Response:
    """Fetch and fast-forward."""
    return reply(call("sourcePull", name))


@route(bp, "sourcePush", body=s.RefBody())
def source_push(name: str) -> Response:
    """Push the source (optionally to ``ref``)."""
    body = read_body(s.RefBody())
    return reply(call("sourcePush", name, ref=body.get("ref", "")))


@route(bp, "sourceDiff", query=s.RefQuery())
def source_diff(name: str) -> Response:
    """Working tree vs HEAD, or HEAD vs ``?ref=``."""
    return reply(call("sourceDiff", name, ref=arg("ref")))
