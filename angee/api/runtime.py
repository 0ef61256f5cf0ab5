"""Wire types of the service and job operations (operator-and-cli §1.2 "Services", §1.3 shapes).

Shared by the Platform, the CLI, REST and GraphQL adapters; snake_case on the wire like the rest of
:mod:`angee.api`.
"""

from __future__ import annotations

from dataclasses import dataclass

from angee.api import opt


@dataclass
class ServiceInitRequest:
    """``POST /services`` (create) and ``PATCH /services/{name}`` (partial update) body.

    ``None`` for a list or map means "not given": an update keeps the stored value then, while a
    given list/map (even empty) replaces it whole. ``runtime``/``image``/``workdir`` overwrite only
    when non-empty. Without ``runtime`` a create infers it: ``image`` ⇒ container, else ``command``
    ⇒ local.
    """

    name: str = ""
    runtime: str = ""
    image: str = ""
    command: list[str] | None = None
    mounts: list[str] | None = None
    env: dict[str, str] | None = None
    ports: list[str] | None = None
    workdir: str = ""
    start: bool = False


@dataclass
class LogStream:
    """Where a client opens the live log socket of one service (§3.6)."""

    url: str
    target: str = "operator"
    protocol: str = "ws"
    token: str = opt("")
    expires_at: str = opt("")


@dataclass
class ServiceEndpoint:
    """How one service is reached: routed URL (edge ingress, LATER) or its internal host and port.

    ``log_stream`` is filled by the operator (it knows the request's host); the Platform leaves it out.
    """

    routed: bool
    url: str
    internal_host: str
    internal_port: int
    log_stream: LogStream | None = opt()


__all__ = ["LogStream", "ServiceEndpoint", "ServiceInitRequest"]
