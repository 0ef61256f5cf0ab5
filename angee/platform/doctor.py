"""The ``doctor`` operation; its checks live in :mod:`angee.doctor`, imported only when it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from angee.api import DoctorReport


class DoctorOps:
    """The ``doctor`` operation of one root."""

    def doctor(self) -> DoctorReport:
        """Check the host tools, the root, the manifest, git and the templates (always local)."""
        from angee.doctor import run_doctor

        return run_doctor(self)
