"""``angee doctor``: check this machine, the stack root and its templates (spec §6.6). Always local."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from angee.cli.context import emit, local_platform

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.api import DoctorReport

STATUS_LABELS = {"ok": "OK", "warn": "WARN", "error": "ERROR"}


def doctor_text(report: DoctorReport) -> str:
    """The text report: header, one line per check (+ ``hint:`` lines), then the summary."""
    lines = ["angee doctor", f"version: {report.version}", f"root: {report.root}", ""]
    for check in report.checks:
        label = STATUS_LABELS.get(check.status, check.status.upper())
        lines.append(f"{label:<5} {check.name:<30} {check.detail}".rstrip())
        if check.hint:
            lines.append(f"      hint: {check.hint}")
    s = report.summary
    lines += ["", f"summary: {s.ok} ok, {s.warnings} warning(s), {s.errors} error(s)"]
    return "\n".join(lines)


@click.command("doctor")
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine, the stack root, angee.yaml, git and the templates."""
    from angee.errors import AngeeError, RuntimeFailure

    try:
        platform = local_platform(ctx)
    except RuntimeFailure as exc:  # the root itself cannot be resolved: still check the host
        from angee.doctor import doctor_without_root

        report = doctor_without_root(str(exc))
    else:
        report = platform.doctor()
    emit(ctx, report, lambda: doctor_text(report))
    if report.summary.errors:
        raise AngeeError(f"doctor found {report.summary.errors} error(s)")
