"""The one way this plugin runs git: argv lists, no shell, timeouts, prompts off, stderr in errors.

Every git call of the plugin goes through :func:`git` (or :func:`run_git`, its stdout-only form).
Callers validate user-supplied names and refs with :mod:`angee_source_git.validate` first, so nothing a
user types can be read by git as an option.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from angee.errors import RuntimeFailure

NETWORK_TIMEOUT = 1800.0  # clone/fetch/pull/push: a first clone of a large repository can take a while
LOCAL_TIMEOUT = 300.0  # status, log, diff, merge, ... on the local repository

# Convergence operations (merge, rebase, publish, ...) inherit only these variables (spec §5.8).
CONVERGENCE_ENV_KEEP = ("PATH", "HOME", "USER", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "LANG", "LC_ALL")
ANGEE_IDENTITY = {
    "GIT_AUTHOR_NAME": "angee",
    "GIT_AUTHOR_EMAIL": "angee@example.invalid",
    "GIT_COMMITTER_NAME": "angee",
    "GIT_COMMITTER_EMAIL": "angee@example.invalid",
}


@dataclass
class GitResult:
    """One finished git process."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        """What git said, for error messages: stderr, else stdout, trimmed."""
        return (self.stderr.strip() or self.stdout.strip()).strip()

    @property
    def message(self) -> str:
        """``GitOpResult.message``: trimmed stdout, a newline, then stderr (spec §5.8), trimmed."""
        return (self.stdout.strip() + "\n" + self.stderr.strip()).strip()


class GitFailed(RuntimeFailure):
    """A git command exited non-zero: ``git <args>: exit status N: <output>``; ``result`` keeps it all."""

    def __init__(self, result: GitResult) -> None:
        shown = " ".join(result.argv)
        super().__init__(f"{shown}: exit status {result.returncode}: {result.output}", output=result.output)
        self.result = result


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment with terminal prompts disabled (plus ``extra``)."""
    env = dict(os.environ)
    env.update(extra or {})
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def convergence_env() -> dict[str, str]:
    """The restricted environment of convergence ops: a few inherited variables, no prompts, and the
    ``angee <angee@example.invalid>`` author/committer identity."""
    env = {key: os.environ[key] for key in CONVERGENCE_ENV_KEEP if key in os.environ}
    env.update(ANGEE_IDENTITY)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def git(
    args: Sequence[str],
    cwd: str | None = None,
    *,
    timeout: float = LOCAL_TIMEOUT,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GitResult:
    """Run ``git <args>`` in ``cwd`` and return the finished process.

    ``env`` replaces the environment (``GIT_TERMINAL_PROMPT=0`` is always forced); ``check`` raises
    :class:`GitFailed` on a non-zero exit; ``progress`` receives stderr lines as git prints them (split on
    ``\\r`` and ``\\n``, for ``--progress`` output) while stderr is still captured for the error.
    """
    argv = ["git", *args]
    run_env = base_env() if env is None else {**env, "GIT_TERMINAL_PROMPT": "0"}
    shown = " ".join(argv)
    try:
        proc = _spawn(argv, cwd, run_env)
    except FileNotFoundError:
        if cwd is not None and not os.path.isdir(cwd):
            raise RuntimeFailure(f"{shown}: directory {cwd} does not exist") from None
        raise RuntimeFailure("git is required for git sources (not found on PATH)") from None
    try:
        out, err = _collect(proc, timeout, progress)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise RuntimeFailure(f"{shown}: timed out after {timeout:g}s", output=output) from None
    result = GitResult(argv, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    if check and not result.ok:
        raise GitFailed(result)
    return result


def run_git(args: Sequence[str], cwd: str | None = None, timeout: float = NETWORK_TIMEOUT) -> str:
    """``git <args>`` in ``cwd``; its stdout. A non-zero exit raises :class:`GitFailed`."""
    return git(args, cwd, timeout=timeout).stdout


def _spawn(argv: list[str], cwd: str | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start git in its own process group, so a timeout or an interrupt can stop its helpers too
    (``git-remote-https``, ``ssh``), which would otherwise keep the output pipes open."""
    group = {"process_group": 0} if os.name == "posix" else {}
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **group,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - POSIX CI
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _collect(
    proc: subprocess.Popen[bytes], timeout: float, progress: Callable[[str], None] | None
) -> tuple[bytes, bytes]:
    """Wait for ``proc`` and return its (stdout, stderr); a timeout or interrupt kills its process group.

    With ``progress`` stderr is read incrementally and each line (split on ``\\r`` and ``\\n``) goes to
    it as it arrives.
    """
    if progress is None:
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill(proc)
            _, exc.stderr = proc.communicate()
            raise
        except BaseException:
            _kill(proc)
            proc.communicate()
            raise
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        out_chunks.append(proc.stdout.read())

    def read_stderr() -> None:
        assert proc.stderr is not None
        pending = b""
        while True:
            chunk = proc.stderr.read1(4096)
            if not chunk:
                break
            err_chunks.append(chunk)
            pending += chunk
            *lines, pending = pending.replace(b"\r", b"\n").split(b"\n")
            for line in lines:
                _emit(progress, line)
        _emit(progress, pending)

    readers = [
        threading.Thread(target=read_stdout, daemon=True),
        threading.Thread(target=read_stderr, daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except BaseException as exc:
        _kill(proc)
        proc.wait()
        for reader in readers:
            reader.join()
        if isinstance(exc, subprocess.TimeoutExpired):
            exc.stderr = b"".join(err_chunks)
        raise
    for reader in readers:
        reader.join()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return b"".join(out_chunks), b"".join(err_chunks)


def _emit(progress: Callable[[str], None], raw: bytes) -> None:
    line = raw.decode("utf-8", "replace").strip()
    if line:
        progress(line)
