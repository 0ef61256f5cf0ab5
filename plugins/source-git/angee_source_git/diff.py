"""Diffs of a checkout, parsed into DiffFile/DiffHunk (templates-workspaces-git §4.3).

Empty ``ref``: working tree (staged changes included) vs HEAD; else HEAD vs ``ref``. Untracked files
never appear. Hunk bodies are read by their line counts, so a removed line such as ``--- x`` is never
mistaken for a file header.
"""

from __future__ import annotations

import re

from angee.api.sources import DiffFile, DiffHunk
from angee_source_git.runner import git
from angee_source_git.validate import check_git_arg

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def diff_argv(ref: str = "") -> list[str]:
    """The ``git`` arguments of a diff; prefixes and rename detection pinned against user config."""
    args = ["-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", "-M"]
    args += ["--src-prefix=a/", "--dst-prefix=b/", "HEAD"]
    if ref:
        args.append(ref)
    return [*args, "--"]


def diff(path: str, ref: str = "") -> list[DiffFile]:
    """Run and parse the diff of the checkout at ``path`` (``ref`` validated before git runs)."""
    if ref:
        check_git_arg("ref", ref)
    return parse_diff(git(diff_argv(ref), path).stdout)


def unquote_path(text: str) -> str:
    """Undo git's C-style quoting of a path (``"a\\tb"``, octal UTF-8 bytes); plain text is returned as is."""
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", "replace")


def _take_token(text: str) -> tuple[str, str]:
    """Split one (possibly quoted) path token off the front of ``text``."""
    if text.startswith('"'):
        i = 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return unquote_path(text[: i + 1]), text[i + 1 :].lstrip(" ")
            i += 1
        return unquote_path(text), ""
    token, _, rest = text.partition(" ")
    return token, rest


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def _header_paths(rest: str) -> tuple[str, str]:
    """Old and new path of ``diff --git a/<old> b/<new>`` (prefixes removed)."""
    if rest.startswith('"') or rest.endswith('"'):
        if rest.startswith('"'):
            old, tail = _take_token(rest)
            new = unquote_path(tail) if tail.startswith('"') else tail
        else:
            cut = rest.index(' "')
            old, new = rest[:cut], unquote_path(rest[cut + 1 :])
        return _strip_prefix(old, "a/"), _strip_prefix(new, "b/")
    if len(rest) % 2 == 1:  # same path on both sides: "a/P b/P"
        half = len(rest) // 2
        old, new = rest[:half], rest[half + 1 :]
        if old.startswith("a/") and new.startswith("b/") and old[2:] == new[2:]:
            return old[2:], new[2:]
    cut = rest.find(" b/")
    if cut < 0:
        return _strip_prefix(rest, "a/"), _strip_prefix(rest, "a/")
    return _strip_prefix(rest[:cut], "a/"), rest[cut + 3 :]


def _marker_path(text: str, prefix: str) -> str:
    """The path of a ``--- a/P`` / ``+++ b/P`` line ("" for ``/dev/null``)."""
    if text.endswith("\t"):  # git appends a TAB to names holding a space
        text = text[:-1]
    text = unquote_path(text)
    return "" if text == "/dev/null" else _strip_prefix(text, prefix)


class _FileBuilder:
    def __init__(self, old: str, new: str) -> None:
        self.file = DiffFile(old_path=old, new_path=new)
        self.old_mode = ""
        self.new_mode = ""
        self.index_mode = ""

    def finish(self) -> DiffFile:
        f = self.file
        f.mode = self.new_mode or self.old_mode or self.index_mode
        if f.is_new:
            f.old_path = ""
        if f.is_deleted:
            f.new_path = ""
        if f.is_binary:
            f.hunks = []
        return f


def parse_diff(text: str) -> list[DiffFile]:
    """Parse ``git diff`` output (``a/``/``b/`` prefixes) into DiffFiles in git's order."""
    files: list[DiffFile] = []
    current: _FileBuilder | None = None
    hunk: DiffHunk | None = None
    body: list[str] = []
    old_left = new_left = 0

    def close_hunk() -> None:
        nonlocal hunk, body
        if hunk is not None:
            hunk.body = "".join(body)
        hunk, body = None, []

    def close_file() -> None:
        nonlocal current
        close_hunk()
        if current is not None:
            files.append(current.finish())
        current = None

    for line in text.split("\n"):
        if hunk is not None and (old_left > 0 or new_left > 0):
            if line.startswith("\\"):
                continue
            tag = line[:1] or " "  # an empty line is a context line whose space was stripped
            if tag in " -+":
                if tag != "+":
                    old_left -= 1
                if tag != "-":
                    new_left -= 1
                body.append((line if line else " ") + "\n")
                continue
            close_hunk()  # a short hunk: fall through and read the line as a header
        if line.startswith("\\"):  # "\ No newline at end of file" after the hunk's last line
            continue
        if line.startswith("diff --git "):
            close_file()
            current = _FileBuilder(*_header_paths(line[len("diff --git ") :]))
            continue
        if current is None:
            continue
        match = _HUNK.match(line)
        if match:
            close_hunk()
            a, b, c, d, header = match.groups()
            hunk = DiffHunk(
                old_start=int(a),
                old_lines=1 if b is None else int(b),
                new_start=int(c),
                new_lines=1 if d is None else int(d),
                header=header.strip(),
            )
            old_left, new_left = hunk.old_lines, hunk.new_lines
            current.file.hunks.append(hunk)
            continue
        _read_header_line(current, line)
    close_file()
    return files


def _read_header_line(current: _FileBuilder, line: str) -> None:
    f = current.file
    word, _, value = line.partition(" ")
    if line.startswith("new file mode "):
        f.is_new, current.new_mode = True, line[len("new file mode ") :].strip()
    elif line.startswith("deleted file mode "):
        f.is_deleted, current.old_mode = True, line[len("deleted file mode ") :].strip()
    elif line.startswith("old mode "):
        current.old_mode = line[len("old mode ") :].strip()
    elif line.startswith("new mode "):
        current.new_mode = line[len("new mode ") :].strip()
    elif word == "index":
        parts = value.split()
        if len(parts) == 2:
            current.index_mode = parts[1]
    elif line.startswith("rename from ") or line.startswith("copy from "):
        f.is_rename = line.startswith("rename")
        f.old_path = unquote_path(line.split(" ", 2)[2])
    elif line.startswith("rename to ") or line.startswith("copy to "):
        f.is_rename = line.startswith("rename")
        f.new_path = unquote_path(line.split(" ", 2)[2])
    elif line.startswith("Binary files ") or line == "GIT binary patch":
        f.is_binary = True
    elif line.startswith("--- "):
        path = _marker_path(line[4:], "a/")
        if path:
            f.old_path = path
    elif line.startswith("+++ "):
        path = _marker_path(line[4:], "b/")
        if path:
            f.new_path = path
