"""GitOps topology route."""

from __future__ import annotations

from flask import Response

from angee.errors import InvalidInput
from angee.operator.rest import BodyDecodeError, arg, call, reply, route
from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import schemas as s

bp = make_blueprint("gitops", "GitOps topology")

MAX_COMMITS = 1000


def with_commits() -> int:
    """``?with_commits=N``: integer, non-negative, clamped to 1000; absent → 0."""
    text = arg("with_commits").strip()
    if not text:
        return 0
    try:
        count = int(text)
    except ValueError:
        raise BodyDecodeError("with_commits must be an integer") from None
    if count < 0:
        raise InvalidInput("withCommits", "must be non-negative")
    return min(count, MAX_COMMITS)


@route(bp, "gitOpsTopology", query=s.TopologyQuery())
def gitops_topology() -> Response:
    """Sources, workspace slots and their links, with a summary (and commits when asked)."""
    return reply(call("gitOpsTopology", with_commits=with_commits()))
