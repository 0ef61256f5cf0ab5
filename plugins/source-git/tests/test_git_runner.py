"""The one git runner: prompts off, argv + output in errors, timeouts, streamed progress, restricted env."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from angee_source_git.runner import GitFailed, convergence_env, git

from angee.errors import RuntimeFailure

# A stand-in ``git`` whose behaviour is chosen by its first argument.
STAND_IN = r"""
import os, sys, time
cmd = sys.argv[1]
if cmd == "env":
    print(os.environ.get(sys.argv[2], "<unset>"))
elif cmd == "fail":
    print("some stdout")
    print("fatal: it broke", file=sys.stderr)
    sys.exit(3)
elif cmd == "progress":
    sys.stderr.write("Receiving objects:  50% (1/2)\rReceiving objects: 100% (2/2), done.\n")
    sys.stderr.flush()
    sys.stderr.write("Resolving deltas: 100%\n\nlast line without newline")
    print("out")
elif cmd == "hang":
    time.sleep(60)
elif cmd == "hang-with-helper":  # like git clone and its git-remote-https helper sharing stderr
    import subprocess
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(sys.argv[2], "w") as handle:
        handle.write(str(helper.pid))
    time.sleep(60)
elif cmd == "stdin":
    print(repr(sys.stdin.read()))
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "git"
    tool.write_text(f"#!{sys.executable}\n{STAND_IN}")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.usefixtures("stand_in")
class TestRunner:
    def test_prompts_are_always_disabled(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GIT_TERMINAL_PROMPT", "1")
        assert git(["env", "GIT_TERMINAL_PROMPT"]).stdout.strip() == "0"
        assert git(["env", "GIT_TERMINAL_PROMPT"], env={"PATH": os.environ["PATH"]}).stdout.strip() == "0"

    def test_stdin_is_never_the_terminal(self) -> None:
        assert git(["stdin"]).stdout.strip() == "''"

    def test_failure_names_argv_and_carries_the_output(self) -> None:
        with pytest.raises(GitFailed) as err:
            git(["fail", "--flag"])
        assert str(err.value) == "git fail --flag: exit status 3: fatal: it broke"
        assert err.value.output == "fatal: it broke"
        assert err.value.result.message == "some stdout\nfatal: it broke"

    def test_unchecked_failure_returns_the_result(self) -> None:
        result = git(["fail"], check=False)
        assert (result.ok, result.returncode) == (False, 3)

    def test_progress_lines_are_split_on_carriage_returns(self) -> None:
        lines: list[str] = []
        result = git(["progress"], progress=lines.append)
        assert lines == [
            "Receiving objects:  50% (1/2)",
            "Receiving objects: 100% (2/2), done.",
            "Resolving deltas: 100%",
            "last line without newline",
        ]
        assert result.stdout == "out\n" and "Resolving deltas" in result.stderr

    @pytest.mark.parametrize("streaming", [False, True])
    def test_timeout_kills_and_reports(self, streaming: bool) -> None:
        progress = (lambda _line: None) if streaming else None
        with pytest.raises(RuntimeFailure, match=r"^git hang: timed out after 0\.3s$"):
            git(["hang"], timeout=0.3, progress=progress)


@pytest.mark.usefixtures("stand_in")
@pytest.mark.parametrize("streaming", [False, True])
def test_timeout_stops_helpers_that_hold_the_pipes(tmp_path: Path, streaming: bool) -> None:
    pid_file = tmp_path / "helper.pid"
    progress = (lambda _line: None) if streaming else None
    with pytest.raises(RuntimeFailure, match="timed out"):
        git(["hang-with-helper", str(pid_file)], timeout=3, progress=progress)
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(helper)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") if os.path.exists(f"/proc/{pid}/stat") else open(os.devnull) as stat:
        return ") Z " not in stat.read()  # a zombie waiting for its reaper is gone for our purposes


def test_missing_git_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeFailure, match=r"^git is required for git sources \(not found on PATH\)$"):
        git(["status"])


def test_convergence_env_keeps_only_the_listed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AGENT_PID", "42")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("EDITOR", "vim")
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    env = convergence_env()
    assert set(env) <= {"PATH", "HOME", "USER", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "LANG", "LC_ALL",
                        "GIT_TERMINAL_PROMPT", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                        "GIT_COMMITTER_EMAIL"}  # fmt: skip
    assert env["SSH_AGENT_PID"] == "42" and env["LC_ALL"] == "C.UTF-8"
    assert env["GIT_AUTHOR_NAME"] == env["GIT_COMMITTER_NAME"] == "angee"
    assert env["GIT_AUTHOR_EMAIL"] == env["GIT_COMMITTER_EMAIL"] == "angee@example.invalid"
