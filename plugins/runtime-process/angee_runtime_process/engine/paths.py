"""Where the embedded local engine keeps its files for one stack root, and small process helpers.

Everything lives under ``<root>/run/local-engine/``: ``supervisord.conf``, ``supervisord.pid``,
``supervisord.log``, ``engine.json`` (paths the launcher needs; never a value), ``engine.lock``,
``logs/<process>.log`` and ``state/`` (per-process markers). The control socket is
``supervisor.sock`` there too, unless that path would exceed the AF_UNIX limit (~100 bytes): then it
is ``<system temp dir>/angee-<uid>/<first 16 hex of sha256(root)>.sock`` in a 0700 directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

SOCKET_PATH_LIMIT = 100
ENGINE_DIR = os.path.join("run", "local-engine")


@dataclass(frozen=True)
class EnginePaths:
    """The files of the engine of one stack root."""

    root: str
    dir: str
    conf: str
    pidfile: str
    logfile: str
    settings: str
    lock: str
    logs: str
    state: str
    socket: str

    @classmethod
    def for_root(cls, root: str) -> EnginePaths:
        """The paths for ``root`` (made absolute); pure, creates nothing."""
        root = os.path.abspath(root)
        base = os.path.join(root, ENGINE_DIR)
        return cls(
            root=root,
            dir=base,
            conf=os.path.join(base, "supervisord.conf"),
            pidfile=os.path.join(base, "supervisord.pid"),
            logfile=os.path.join(base, "supervisord.log"),
            settings=os.path.join(base, "engine.json"),
            lock=os.path.join(base, "engine.lock"),
            logs=os.path.join(base, "logs"),
            state=os.path.join(base, "state"),
            socket=socket_path(root),
        )

    def process_log(self, name: str) -> str:
        """The combined stdout/stderr log of process ``name``."""
        return os.path.join(self.logs, f"{name}.log")

    def marker(self, name: str, kind: str) -> str:
        """A per-process state marker (``waiting``, ``launched``)."""
        return os.path.join(self.state, f"{name}.{kind}")

    def make_dirs(self) -> None:
        """Create the engine, logs, state and socket directories (0700: logs may hold private output)."""
        for d in (self.dir, self.logs, self.state, os.path.dirname(self.socket)):
            os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)


def socket_path(root: str) -> str:
    """``<root>/run/local-engine/supervisor.sock``, or a short per-root path in the temp dir when too long."""
    preferred = os.path.join(root, ENGINE_DIR, "supervisor.sock")
    if len(os.fsencode(preferred)) <= SOCKET_PATH_LIMIT:
        return preferred
    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"angee-{os.getuid()}", f"{digest}.sock")


def read_settings(paths: EnginePaths) -> dict[str, str]:
    """``engine.json``: ``process_file`` and ``env_file`` of the stack (empty when missing)."""
    try:
        with open(paths.settings, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def write_settings(paths: EnginePaths, settings: dict[str, str]) -> None:
    """Replace ``engine.json`` atomically (paths only; the launcher reads it at every start)."""
    write_text(paths.settings, json.dumps(settings, indent=2, sort_keys=True) + "\n")


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename (0600)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_text(path: str) -> str:
    """The file's text, or ``""`` when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process (a zombie counts as gone: nobody may reap it here)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = read_text(f"/proc/{pid}/stat")
    if stat:
        # the state letter follows the parenthesised command name
        state = stat.rsplit(")", 1)[-1].split()
        if state and state[0] in ("Z", "X"):
            return False
    return True


def read_pid(path: str) -> int:
    """The integer in a pid file, or 0."""
    text = read_text(path).strip()
    return int(text) if text.isdigit() else 0
