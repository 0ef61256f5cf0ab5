"""File-system helpers every writer shares: directories with exact modes and atomic replacement."""

from __future__ import annotations

import os
import tempfile

from angee.errors import RuntimeFailure


def make_dirs(path: str, mode: int = 0o755) -> None:
    """Create ``path`` and its missing parents with exactly ``mode`` (regardless of the umask)."""
    missing: list[str] = []
    current = path
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
            continue
        os.chmod(directory, mode)


def fsync_directory(directory: str) -> None:
    """Make a rename durable; best effort (some filesystems refuse to open or fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_file_atomic(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Replace ``path`` with ``data`` atomically; identical bytes are left alone. Returns whether it wrote.

    Temp file in the same directory, fsync, chmod, rename, fsync the directory; parents are created
    0755. A symlinked path writes through to its target, so the link stays a link.
    """
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as current:
            if current.read() == data:
                return False
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as err:
        raise RuntimeFailure(f"cannot read {path}: {err.strerror}") from err
    directory = os.path.dirname(target)
    tmp = ""
    try:
        make_dirs(directory)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        tmp = ""
    except OSError as err:
        raise RuntimeFailure(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    fsync_directory(directory)
    return True
