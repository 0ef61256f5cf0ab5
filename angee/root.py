"""Stack root discovery (spec manifest-and-runtime §1.1) and path helpers derived from the root."""

from __future__ import annotations

import hashlib
import os
import re

MANIFEST = "angee.yaml"
COMPOSE_FILE = "docker-compose.yaml"
PROCESS_COMPOSE_FILE = "process-compose.yaml"
_PROJECT_DROP = re.compile(r"[^a-z0-9_]+")


def start_directory(root_flag: str | None = None) -> str:
    """``--root`` if given, else ``$ANGEE_ROOT`` if non-empty, else the cwd."""
    return root_flag or os.environ.get("ANGEE_ROOT") or "."


def discover_root(root_flag: str | None = None) -> str:
    """Walk upward from the start directory and return the absolute stack root.

    At each directory D: ``D/angee.yaml`` → D; ``D/.angee/angee.yaml`` → ``D/.angee``;
    ``D/.templates/workspaces`` or ``D/templates/workspaces`` is a directory → ``D/.angee``.
    No match → the start directory itself.
    """
    start = os.path.abspath(start_directory(root_flag))
    current = start
    while True:
        if os.path.isfile(os.path.join(current, MANIFEST)):
            return current
        overlay = os.path.join(current, ".angee")
        if os.path.isfile(os.path.join(overlay, MANIFEST)):
            return overlay
        for tpl in (".templates", "templates"):
            if os.path.isdir(os.path.join(current, tpl, "workspaces")):
                return overlay
        parent = os.path.dirname(current)
        if parent == current:
            return start
        current = parent


def persist_base(root: str) -> str:
    """``parent(root)`` for a ``.angee`` overlay, else the root itself (spec §1.2)."""
    return os.path.dirname(root) if os.path.basename(root) == ".angee" else root


def manifest_path(root: str) -> str:
    return os.path.join(root, MANIFEST)


def compose_project(name: str, root: str) -> str:
    """The compose project of a stack (§5.2): ``<base of name>-<first 8 hex of sha256(absolute root)>``.

    Unique per root and stable; ``Notes Demo`` at ``/srv/notes/.angee`` → ``notes-demo-1b431952``.
    """
    base = _PROJECT_DROP.sub("-", name.lower()).strip("-_") or "angee"
    if len(base) > 30:
        base = base[:30].rstrip("-_")
    digest = hashlib.sha256(os.path.abspath(root).encode("utf-8")).hexdigest()[:8]
    return f"{base}-{digest}"
