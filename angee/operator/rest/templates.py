"""Template routes: list and get (refs may contain slashes)."""

from __future__ import annotations

from flask import Response

from angee.operator.rest import blueprint as make_blueprint
from angee.operator.rest import call, reply, route

bp = make_blueprint("templates", "Templates")


@route(bp, "templates")
def template_list() -> Response:
    """Every template under ``<root>/.templates`` and ``<root>/templates``."""
    return reply(call("templates"))


@route(bp, "template")
def template_get(ref: str) -> Response:
    """One template descriptor; the kind is inferred from the ref's first segment."""
    return reply(call("template", ref))
