"""Typed errors the user can cause; every surface maps them once (CLI exit code, HTTP status, GraphQL code)."""

from __future__ import annotations

from typing import Any


class AngeeError(Exception):
    """Base of every error Angee reports to a user; ``str(err)`` is the one-line message."""

    http_status = 500
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_wire(self) -> dict[str, Any]:
        """The REST error envelope (``{error, kind?, name?, field?, reason?, ...}``)."""
        return {"error": self.message}


class NotFound(AngeeError):
    """A named resource is not declared (HTTP 404)."""

    http_status = 404
    code = "NOT_FOUND"

    def __init__(self, kind: str, name: str = "", message: str | None = None) -> None:
        if message is None:
            message = f'{kind} "{name}" is not declared' if name else f"{kind} not found"
        super().__init__(message)
        self.kind = kind
        self.name = name

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "kind": self.kind}
        if self.name:
            body["name"] = self.name
        return body


class InvalidInput(AngeeError):
    """The caller sent something malformed (HTTP 400); ``field`` names what is wrong."""

    http_status = 400
    code = "INVALID_INPUT"

    def __init__(self, field: str, reason: str, message: str | None = None) -> None:
        if message is None:
            message = f"{field}: {reason}" if field else reason
        super().__init__(message)
        self.field = field
        self.reason = reason

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "reason": self.reason}
        if self.field:
            body["field"] = self.field
        return body


class Conflict(AngeeError):
    """The request collides with current state (HTTP 409)."""

    http_status = 409
    code = "CONFLICT"

    def __init__(
        self,
        kind: str,
        name: str = "",
        reason: str = "",
        message: str | None = None,
        conflicts: list[dict[str, Any]] | None = None,
    ) -> None:
        if message is None:
            message = f"{kind} {name} conflicts: {reason}" if name else f"{kind} conflicts: {reason}"
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.reason = reason
        self.conflicts = conflicts

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "kind": self.kind}
        if self.name:
            body["name"] = self.name
        if self.reason:
            body["reason"] = self.reason
        if self.conflicts is not None:
            body["conflicts"] = self.conflicts
        return body


class Unauthorized(AngeeError):
    """Missing or bad credentials (HTTP 401); never carries detail on the wire."""

    http_status = 401
    code = "UNAUTHORIZED"

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)

    def to_wire(self) -> dict[str, Any]:
        return {"error": "unauthorized"}


class RuntimeFailure(AngeeError):
    """A subprocess, backend or I/O step failed (HTTP 500); ``output`` keeps what the tool printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.output:
            body["output"] = self.output
        return body


class NotImplementedYet(RuntimeFailure):
    """A bundled plugin registered a name whose behaviour has not landed yet."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not implemented yet")


class ManifestError(AngeeError):
    """``angee.yaml`` cannot be read or is invalid; names the file, line/column and dotted key."""

    def __init__(
        self,
        reason: str,
        *,
        file: str = "",
        line: int | None = None,
        column: int | None = None,
        key: str = "",
    ) -> None:
        where = file
        if file and line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        parts = [p for p in (where, key) if p]
        message = ": ".join(parts + [reason])
        super().__init__(message)
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        self.key = key
