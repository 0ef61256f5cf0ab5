"""The Angee operator: the HTTP daemon serving one stack root over REST (and GraphQL).

Import-cheap: ``create_app`` and ``serve`` load Flask and the server only when used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "operator_context", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "operator_context"):
        from angee.operator import app

        return getattr(app, name)
    if name == "serve":
        from angee.operator.server import serve

        return serve
    raise AttributeError(name)
