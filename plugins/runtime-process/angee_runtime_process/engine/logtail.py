"""Read and follow per-process log files: the last N lines, then new lines of several files interleaved.

Follows supervisor's rotation (the file is renamed and a new one opened) by noticing a new inode or a
shrunk file and reopening from its start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

POLL_SECONDS = 0.1
_BLOCK = 64 * 1024


def last_lines(path: str, count: int) -> tuple[list[str], bytes, int]:
    """The last ``count`` complete lines of ``path`` (all when ``count`` <= 0), the unfinished last line
    (bytes after the final newline) and the file's end offset."""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            if count <= 0:
                fh.seek(0)
                data = fh.read(end)
            else:
                data = b""
                pos = end
                while pos > 0 and data.count(b"\n") <= count:
                    step = min(_BLOCK, pos)
                    pos -= step
                    fh.seek(pos)
                    data = fh.read(step) + data
    except OSError:
        return [], b"", 0
    chunks = data.split(b"\n")
    partial = chunks.pop()
    if count > 0:
        chunks = chunks[-count:]
    return [_decode(c).rstrip("\r") for c in chunks], partial, end


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class _Follower:
    """New complete lines of one file, from ``offset`` on."""

    def __init__(self, path: str, offset: int, partial: bytes = b"") -> None:
        self.path = path
        self.offset = offset
        self.inode = _inode(path)
        self.partial = partial

    def read(self) -> list[str]:
        inode = _inode(self.path)
        out: list[str] = []
        if inode is not None and inode != self.inode:
            self.inode, self.offset = inode, 0  # rotated: the rest of the old file is in its backup
        try:
            with open(self.path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                if size < self.offset:
                    self.offset = 0
                fh.seek(self.offset)
                data = fh.read()
                self.offset += len(data)
        except OSError:
            return out
        if not data:
            return out
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        out.extend(_decode(c).rstrip("\r") for c in chunks)
        return out

    def flush(self) -> list[str]:
        rest, self.partial = self.partial, b""
        return [_decode(rest).rstrip("\r")] if rest else []


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def read_logs(
    files: dict[str, str],
    *,
    tail: int = 0,
    follow: bool = False,
    finished: Callable[[], bool] | None = None,
    check_every: float = 1.0,
) -> Iterator[tuple[str, str]]:
    """``(name, line)`` pairs: each file's last ``tail`` lines (all when 0), then, when following, new
    lines of all files interleaved until ``finished()`` says so (checked every ``check_every`` s)."""
    followers: list[tuple[str, _Follower]] = []
    for name, path in files.items():
        lines, partial, end = last_lines(path, tail)
        if not follow and partial:
            lines.append(_decode(partial).rstrip("\r"))
        for line in lines:
            yield name, line
        followers.append((name, _Follower(path, end, partial)))
    if not follow:
        return
    next_check = time.monotonic() + check_every
    while True:
        got = False
        for name, follower in followers:
            for line in follower.read():
                got = True
                yield name, line
        if got:
            continue
        if finished is not None and time.monotonic() >= next_check:
            next_check = time.monotonic() + check_every
            if finished():
                for name, follower in followers:
                    for line in follower.read() + follower.flush():
                        yield name, line
                return
        time.sleep(POLL_SECONDS)
