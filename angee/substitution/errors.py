"""The one error type of the substitution engine."""

from __future__ import annotations

from angee.errors import AngeeError


class SubstitutionError(AngeeError):
    """A ``${…}`` expression cannot be evaluated; ``reason`` is the exact spec text (§3).

    ``str(err)`` is ``reason``, or ``<where>: <reason>`` once a caller named the field with
    :meth:`at` (``services.web.env.X: port "api" is not declared``).
    """

    http_status = 400
    code = "INVALID_INPUT"

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where

    def at(self, where: str) -> SubstitutionError:
        """The same error prefixed with the dotted path of the field being substituted."""
        if not where:
            return self
        return SubstitutionError(self.reason, f"{where}: {self.where}" if self.where else where)
