"""The on-disk journal of one workspace create attempt, so any failure — even a killed process — can be
rolled back (spec templates-workspaces-git §5.2 **improvement**).

Every side effect is recorded *before* it happens (``ROOT/run/workspace-journal/<name>.json``, written
atomically), and every undo step tolerates a step that never ran. The attempt is committed when the
workspace record is saved; a journal found next to a saved record is simply discarded. Create and destroy
hold the root lock, so a journal found by them belongs to a dead attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from typing import Any

from angee.errors import AngeeError

JOURNAL_DIR = os.path.join("run", "workspace-journal")


def journal_path(root: str, name: str) -> str:
    return os.path.join(root, JOURNAL_DIR, f"{name}.json")


def remove_tree(path: str) -> None:
    """Delete ``path`` without following symlinks (a link is unlinked, its target untouched)."""
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


class CreateJournal:
    """The recorded side effects of one create attempt, in order."""

    def __init__(self, root: str, name: str, entries: list[dict[str, Any]] | None = None) -> None:
        self.root = root
        self.name = name
        self.path = journal_path(root, name)
        self.entries: list[dict[str, Any]] = list(entries or [])

    @classmethod
    def load(cls, root: str, name: str) -> CreateJournal | None:
        """The journal of an earlier attempt, or ``None``; an unreadable one still names nothing to undo."""
        path = journal_path(root, name)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            entries = [e for e in data.get("entries", []) if isinstance(e, dict)]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            entries = []
        return cls(root, name, entries)

    def _write(self) -> None:
        from angee.manifest.store import write_file_atomic

        data = json.dumps({"workspace": self.name, "entries": self.entries}, indent=2) + "\n"
        write_file_atomic(self.path, data.encode("utf-8"), mode=0o600)

    def record(self, op: str, path: str, **extra: str) -> None:
        """Note a side effect that is about to happen (``dir``, ``worktree``, ``clone``, ``link``, ``file``)."""
        self.entries.append({"op": op, "path": path, **extra})
        self._write()

    def discard(self) -> None:
        """The attempt succeeded (or was undone): forget the journal."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def rollback(self) -> list[str]:
        """Undo every recorded step, newest first, and drop the journal; returns problems (printed as
        warnings), never raises."""
        problems = self._undo(self.entries)
        self.entries = []
        self.discard()
        return problems

    def undo_since(self, mark: int) -> list[str]:
        """Undo the steps recorded after the first ``mark`` ones (a skipped optional slot) and keep the rest."""
        problems = self._undo(self.entries[mark:])
        del self.entries[mark:]
        self._write()
        return problems

    def _undo(self, entries: list[dict[str, Any]]) -> list[str]:
        from angee.plugins import registry

        problems: list[str] = []
        for entry in reversed(entries):
            op, path = entry.get("op", ""), entry.get("path", "")
            try:
                if op == "worktree":
                    cache = entry.get("cache", "")
                    checkout = registry().provider("source_kinds", "git", "source kind").checkout
                    if os.path.isdir(cache):
                        try:
                            checkout.worktree_remove(cache, path)
                        except AngeeError:
                            pass  # already gone or never registered: the directory removal below suffices
                    if os.path.lexists(path):
                        remove_tree(path)
                    if os.path.isdir(cache):
                        checkout.worktree_prune(cache)
                elif op == "link":
                    if os.path.islink(path):
                        os.unlink(path)
                elif op in ("clone", "dir"):
                    if os.path.lexists(path):
                        remove_tree(path)
                elif op == "file":
                    if os.path.islink(path) or os.path.isfile(path):
                        os.unlink(path)
            except Exception as err:  # keep undoing the rest
                problems.append(f"{op} {path}: {err}")
        for problem in problems:
            print(f"angee: warning: workspace {self.name}: rollback: {problem}", file=sys.stderr)
        return problems


def pause_point(step: str, root: str) -> None:
    """Test-only hook: when ``ANGEE_TEST_PAUSE_AFTER`` equals ``step`` (``ports``, ``slots``, ``render``),
    write a marker file (``ANGEE_TEST_PAUSE_MARKER``, default ``ROOT/run/test-pause-<step>``) holding the
    pid, then wait until it is deleted. Lets tests kill a create at a known point; never set it in use."""
    if os.environ.get("ANGEE_TEST_PAUSE_AFTER", "") != step:
        return
    marker = os.environ.get("ANGEE_TEST_PAUSE_MARKER") or os.path.join(root, "run", f"test-pause-{step}")
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    with open(marker, "w", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    while os.path.exists(marker):
        time.sleep(0.02)
