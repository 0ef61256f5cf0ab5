"""How supervisor's process states read as process-compose states, and when a dependency is satisfied.

While a launcher waits (for its dependencies, or for its restart back-off) supervisor reports it
RUNNING; the launcher then holds a ``state/<name>.waiting`` marker (``<pid> <reason>``) so ``status``
can say ``pending``/``restarting`` instead, and dependants do not count it as started.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .conf import BLOCKED_EXIT, LAUNCHER_MODULE
from .paths import EnginePaths, read_text
from .project import COMPLETED, COMPLETED_OK, ProcessSpec

ACTIVE = ("STARTING", "RUNNING", "BACKOFF", "STOPPING")


def set_waiting(paths: EnginePaths, name: str, reason: str) -> None:
    """Mark this process (the calling launcher) as not really started yet."""
    with open(paths.marker(name, "waiting"), "w", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {reason}\n")


def clear_waiting(paths: EnginePaths, name: str) -> None:
    """Drop the marker just before the launcher becomes the real command."""
    with contextlib.suppress(OSError):
        os.unlink(paths.marker(name, "waiting"))


def waiting_reason(paths: EnginePaths, name: str, pid: int) -> str:
    """``pending``/``restarting``/``launching`` while process ``name`` (as ``pid``) is still its launcher.

    ``""`` once it became the real command. The launcher's own marker says why it waits; without one
    (it has just been spawned) ``/proc/<pid>/cmdline`` still naming the launcher means ``launching``.
    """
    if not pid:
        return ""
    pid_text, _, reason = read_text(paths.marker(name, "waiting")).strip().partition(" ")
    if pid_text == str(pid) and reason:
        return reason
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return ""
    return "launching" if LAUNCHER_MODULE.encode() in cmdline else ""


def observed_state(paths: EnginePaths, info: dict[str, Any]) -> str:
    """process-compose's lower-case state name for one ``getProcessInfo`` result."""
    state = str(info.get("statename", "UNKNOWN"))
    if state == "RUNNING":
        return waiting_reason(paths, str(info.get("name", "")), int(info.get("pid") or 0)) or "running"
    if state == "EXITED":
        return "completed" if info.get("exitstatus") == 0 else "error"
    if state == "STOPPED":
        return "stopped" if info.get("start") else "pending"
    return {
        "STARTING": "launching",
        "BACKOFF": "restarting",
        "STOPPING": "terminating",
        "FATAL": "error",
    }.get(state, "unknown")


def dependency_status(paths: EnginePaths, info: dict[str, Any], condition: str) -> tuple[str, str]:
    """``("ok" | "wait" | "blocked", why)`` for a dependency in state ``info`` under ``condition``."""
    state = str(info.get("statename", "UNKNOWN"))
    waiting = state == "RUNNING" and waiting_reason(
        paths, str(info.get("name", "")), int(info.get("pid") or 0)
    )
    if state in ("STARTING", "BACKOFF", "STOPPING") or waiting:
        return "wait", ""
    if state == "EXITED":
        status = info.get("exitstatus")
        if condition == COMPLETED_OK and status != 0:
            return "blocked", f"exited with status {status}"
        return "ok", ""
    if state == "RUNNING":
        return ("wait", "") if condition in (COMPLETED_OK, COMPLETED) else ("ok", "")
    if state == "STOPPED" and info.get("start") and condition == COMPLETED:
        return "ok", ""
    if state == "STOPPED":
        return "blocked", "was stopped" if info.get("start") else "was not started"
    return "blocked", "failed to start" if state == "FATAL" else f"is in state {state.lower()}"


def settled(spec: ProcessSpec, info: dict[str, Any]) -> bool:
    """Whether the process is done for good: not active and not about to be restarted by its policy."""
    state = str(info.get("statename", "UNKNOWN"))
    if state in ACTIVE:
        return False
    if state == "EXITED":
        status = info.get("exitstatus")
        if spec.restart == "always":
            return False
        if spec.restart == "on_failure" and status not in (0, BLOCKED_EXIT):
            return False
    return True
