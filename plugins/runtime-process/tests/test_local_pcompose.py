"""The process-compose driver, checked by the exact command lines it issues (a recording stand-in
``process-compose`` first on PATH) and by parsing its documented ``list -o json`` output."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from angee_runtime_process.pcompose import MISSING, ProcessComposeRuntime, parse_status

from angee.contracts import ObservedService, RuntimeStack
from angee.errors import RuntimeFailure

LIST_OUTPUT = """\
24-11-25 10:00:00.000 INF process-compose client connecting
[
  {"name": "api", "namespace": "default", "status": "Running", "is_running": true, "exit_code": 0,
   "is_ready": "Ready", "pid": 41},
  {"name": "db", "status": " Pending ", "is_running": false, "exit_code": 0, "is_ready": "Not Ready"},
  {"name": "migrate", "status": "Completed", "is_running": false, "exit_code": 0, "is_ready": "-"},
  {"name": "worker", "status": "Error", "is_running": false, "exit_code": 1, "is_ready": "NotReady"},
  {"status": "Running"},
  "junk"
]
"""

STAND_IN = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["PC_RECORD"], "a") as fh:
    fh.write(json.dumps({{"argv": args, "cwd": os.getcwd(), "greeting": os.environ.get("GREETING"),
                         "extra": os.environ.get("EXTRA")}}) + "\\n")
fail = os.environ.get("PC_FAIL", "")
if fail and fail in " ".join(args):
    print(os.environ.get("PC_FAIL_OUTPUT", "boom"))
    sys.exit(3)
if "list" in args:
    sys.stdout.write(open(os.environ["PC_LIST"]).read())
elif "logs" in args:
    print("line one")
    print("line two")
elif "up" in args and "--detached" not in args:
    print("api | serving")
    print("api | done")
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recording ``process-compose`` first on PATH; returns the file of recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "process-compose"
    exe.write_text(STAND_IN.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "list.txt").write_text(LIST_OUTPUT)
    record = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PC_RECORD", str(record))
    monkeypatch.setenv("PC_LIST", str(tmp_path / "list.txt"))
    monkeypatch.delenv("PC_FAIL", raising=False)
    return record


@pytest.fixture
def stack(tmp_path: Path) -> RuntimeStack:
    root = tmp_path / "stack"
    root.mkdir()
    (root / ".env").write_text("GREETING='hello world'\n# comment\nnot a line\n")
    return RuntimeStack(
        root=str(root),
        project="p",
        process_file=str(root / "process-compose.yaml"),
        env_file=str(root / ".env"),
        control_port=8123,
    )


def calls(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def argvs(record: Path) -> list[list[str]]:
    return [call["argv"] for call in calls(record)]


CLIENT = ["--address", "127.0.0.1", "--port", "8123"]


def test_up_detached_argv_cwd_and_env(stand_in: Path, stack: RuntimeStack) -> None:
    ProcessComposeRuntime().up(stack, [], detach=True)
    ProcessComposeRuntime().up(stack, ["api", "db"], detach=True)
    pc_file = os.path.join(stack.root, "process-compose.yaml")
    assert argvs(stand_in) == [
        ["-f", pc_file, *CLIENT, "up", "--detached", "--tui=false"],
        ["-f", pc_file, *CLIENT, "up", "--detached", "--tui=false", "api", "db"],
    ]
    first = calls(stand_in)[0]
    assert first["cwd"] == stack.root
    assert first["greeting"] == "hello world"  # runtime env file entries reach process-compose


def test_up_foreground_streams_output_without_detached(stand_in: Path, stack: RuntimeStack) -> None:
    lines: list[str] = []
    ProcessComposeRuntime().up(stack, [], detach=False, output=lines.append)
    assert argvs(stand_in) == [
        ["-f", os.path.join(stack.root, "process-compose.yaml"), *CLIENT, "up", "--tui=false"]
    ]
    assert lines == ["api | serving", "api | done"]


def test_control_port_defaults_to_8080(stand_in: Path, stack: RuntimeStack) -> None:
    stack.control_port = 0
    ProcessComposeRuntime().down(stack)
    assert argvs(stand_in) == [["--address", "127.0.0.1", "--port", "8080", "down"]]


def test_down_start_stop_restart_one_call_per_name(stand_in: Path, stack: RuntimeStack) -> None:
    pc = ProcessComposeRuntime()
    pc.down(stack)
    pc.control(stack, "start", ["api", "db"])
    pc.control(stack, "stop", ["api"])
    pc.control(stack, "restart", ["db"])
    assert argvs(stand_in) == [
        [*CLIENT, "down"],
        [*CLIENT, "process", "start", "api"],
        [*CLIENT, "process", "start", "db"],
        [*CLIENT, "process", "stop", "api"],
        [*CLIENT, "process", "restart", "db"],
    ]


def test_logs_argv_and_lines(stand_in: Path, stack: RuntimeStack) -> None:
    pc = ProcessComposeRuntime()
    assert list(pc.logs(stack, ["api", "db"])) == ["line one", "line two"]
    assert list(pc.logs(stack, ["api"], follow=True, tail=5)) == ["line one", "line two"]
    assert argvs(stand_in) == [
        [*CLIENT, "process", "logs", "api,db"],
        [*CLIENT, "process", "logs", "--follow", "--tail", "5", "api"],
    ]


def test_logs_of_all_processes_name_the_observed_ones(stand_in: Path, stack: RuntimeStack) -> None:
    assert list(ProcessComposeRuntime().logs(stack, [])) == ["line one", "line two"]
    assert argvs(stand_in)[-1] == [*CLIENT, "process", "logs", "api,db,migrate,worker"]


def test_status_parses_list_output(stand_in: Path, stack: RuntimeStack) -> None:
    assert ProcessComposeRuntime().status(stack) == [
        ObservedService("api", "running", "healthy"),
        ObservedService("db", "pending", "unhealthy"),
        ObservedService("migrate", "completed", ""),
        ObservedService("worker", "error", "unhealthy"),
    ]
    assert argvs(stand_in) == [[*CLIENT, "list", "-o", "json"]]


def test_failures_name_the_command_status_and_output(
    stand_in: Path, stack: RuntimeStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PC_FAIL", "process stop")
    monkeypatch.setenv("PC_FAIL_OUTPUT", "process api not found")
    with pytest.raises(RuntimeFailure) as err:
        ProcessComposeRuntime().control(stack, "stop", ["api"])
    expected = "process-compose --address 127.0.0.1 --port 8123 process stop api: exit status 3: process api not found"
    assert str(err.value) == expected


def test_failing_status_observes_nothing(
    stand_in: Path, stack: RuntimeStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PC_FAIL", "list")
    assert ProcessComposeRuntime().status(stack) == []


def test_down_of_a_server_that_is_not_running_succeeds(
    stand_in: Path, stack: RuntimeStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PC_FAIL", "down")
    monkeypatch.setenv("PC_FAIL_OUTPUT", "dial tcp 127.0.0.1:8123: connect: connection refused")
    ProcessComposeRuntime().down(stack)


def test_missing_binary(tmp_path: Path, stack: RuntimeStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    pc = ProcessComposeRuntime()
    assert not pc.available()
    with pytest.raises(RuntimeFailure) as err:
        pc.up(stack, [])
    assert str(err.value) == MISSING
    assert (
        MISSING == "process-compose is required for local services (install it or select the embedded engine)"
    )
    assert pc.status(stack) == []


def test_extra_env_reaches_the_tool(stand_in: Path, stack: RuntimeStack) -> None:
    stack.extra_env = {"EXTRA": "yes"}
    ProcessComposeRuntime().down(stack)
    assert calls(stand_in)[0]["extra"] == "yes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("no json here", []),
        ("[not json", []),
        ('{"name": "x"}', []),
        ('prefix [{"name": "a", "status": "Launching"}] trailing', [ObservedService("a", "launching", "")]),
        (
            '[{"name": "a", "status": "Running", "is_ready": "ready"}]',
            [ObservedService("a", "running", "healthy")],
        ),
    ],
)
def test_parse_status(text: str, expected: list[ObservedService]) -> None:
    assert parse_status(text) == expected
