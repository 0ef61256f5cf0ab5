"""Conformance suite every local-process backend (``runtime: local``) runs, on real stacks in tmp dirs.

The fixture ``runtime`` is parametrized over the backends: the embedded engine always, process-compose
only where it is on PATH. Each test writes a ``process-compose.yaml`` by hand (the compiled shape of
spec manifest-and-runtime §5.4) whose processes are small Python scripts recording what they saw
(JSON lines: pid, cwd, whether the job's marker existed, env values) so the tests assert what a user
would notice; conditions are awaited by polling with a deadline, never by sleeping.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from angee.contracts import Runtime, RuntimeStack

DEADLINE = 30.0
PY = shlex.quote(sys.executable)
BLOCKED_STATES = ("error", "pending", "skipped", "completed")


def await_true(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what} (last: {value!r})")
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    """A live, non-zombie process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Scripts the processes run (in <root>/app, the working_dir). Each start appends one JSON line.
WEB = """
import json, os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
rec = {"pid": os.getpid(), "child": child.pid, "cwd": os.getcwd(), "argv": sys.argv[1:],
       "marker": os.path.exists("marker"), "env": os.environ.get("GREET_ENV", "")}
with open("web.jsonl", "a") as fh:
    fh.write(json.dumps(rec) + "\\n")
print("web says hello", sys.argv[1], flush=True)
time.sleep(3600)
"""
PREP = """
import os, time
print("prep waiting for release", flush=True)
while not os.path.exists("release"):
    time.sleep(0.05)
open("marker", "w").write("done")
print("prep done", flush=True)
"""
RECORD = """
import json, os, sys
with open(sys.argv[1] + ".jsonl", "a") as fh:
    fh.write(json.dumps({"pid": os.getpid()}) + "\\n")
print(sys.argv[1], "ran", flush=True)
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


def _process(script: str, *args: str, **extra: Any) -> dict[str, Any]:
    proc: dict[str, Any] = {"command": " ".join([PY, "-u", script, *args])}
    proc.update(extra)
    return proc


def _completed(name: str) -> dict[str, Any]:
    return {name: {"condition": "process_completed_successfully"}}


class LocalRuntimeConformance:
    """Base class of the tests; ``runtime`` and ``make_stack`` come from the fixtures below."""

    BACKENDS = ("embedded", "process-compose")

    @pytest.fixture(params=BACKENDS)
    def runtime(self, request: pytest.FixtureRequest) -> Runtime:
        if request.param == "process-compose":
            if shutil.which("process-compose") is None:
                pytest.skip("process-compose is not on PATH")
            from angee_runtime_process.pcompose import ProcessComposeRuntime

            return ProcessComposeRuntime()
        from angee_runtime_process.engine import EmbeddedRuntime

        return EmbeddedRuntime()

    @pytest.fixture
    def make_stack(self, tmp_path: Path, runtime: Runtime) -> Iterator[Callable[..., RuntimeStack]]:
        """Write a stack (process-compose.yaml, .env, app/ scripts) and return its RuntimeStack."""
        import yaml

        stacks: list[RuntimeStack] = []

        def make(processes: dict[str, Any], env: dict[str, str] | None = None) -> RuntimeStack:
            root = tmp_path / "stack"
            app = root / "app"
            app.mkdir(parents=True, exist_ok=True)
            for name, text in (("web.py", WEB), ("prep.py", PREP), ("record.py", RECORD)):
                (app / name).write_text(textwrap.dedent(text))
            for spec in processes.values():
                spec.setdefault("working_dir", str(app))
            doc = {"version": "0.5", "processes": dict(sorted(processes.items()))}
            (root / "process-compose.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
            env_file = root / ".env"
            entries = {"GREETING": "world", **(env or {})}
            env_file.write_text("".join(f"{k}='{v}'\n" for k, v in entries.items()))
            stack = RuntimeStack(
                root=str(root),
                project="conformance",
                process_file=str(root / "process-compose.yaml"),
                env_file=str(env_file),
                control_port=free_port(),
            )
            stacks.append(stack)
            return stack

        yield make
        for stack in stacks:
            with contextlib.suppress(Exception):
                runtime.down(stack)
            for record in Path(stack.root, "app").glob("*.jsonl"):
                for pid in _pids(record):
                    if pid_alive(pid):
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def states(runtime: Runtime, stack: RuntimeStack) -> dict[str, str]:
        return {svc.name: svc.state for svc in runtime.status(stack)}

    def await_state(self, runtime: Runtime, stack: RuntimeStack, name: str, *wanted: str) -> None:
        await_true(lambda: self.states(runtime, stack).get(name) in wanted, f"{name} in {wanted}")

    @staticmethod
    def records(stack: RuntimeStack, name: str) -> list[dict[str, Any]]:
        path = Path(stack.root, "app", f"{name}.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @staticmethod
    def web_stack_processes() -> dict[str, Any]:
        return {
            "prep": _process("prep.py"),
            "web": _process(
                "web.py",
                "${GREETING}",
                environment=["GREET_ENV=${GREETING}-env"],
                depends_on=_completed("prep"),
            ),
        }

    def up_web(self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]) -> RuntimeStack:
        """Up the prep → web stack, release prep and await web's first record."""
        stack = make_stack(self.web_stack_processes())
        runtime.up(stack, [], detach=True)
        Path(stack.root, "app", "release").touch()
        await_true(lambda: self.records(stack, "web"), "web to start")
        self.await_state(runtime, stack, "web", "running")
        return stack

    # ------------------------------------------------------------------ tests

    def test_backend_serves_local_and_is_available(self, runtime: Runtime) -> None:
        assert runtime.serves == "local"
        assert runtime.available()

    def test_dependant_waits_for_job_success_with_env_and_working_dir(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack(self.web_stack_processes())
        runtime.up(stack, [], detach=True)
        self.await_state(runtime, stack, "prep", "running")
        await_true(lambda: "prep waiting" in "\n".join(runtime.logs(stack, ["prep"])), "prep's first line")
        self.await_state(runtime, stack, "web", "pending")
        assert self.records(stack, "web") == []

        Path(stack.root, "app", "release").touch()
        (record,) = await_true(lambda: self.records(stack, "web"), "web to start")
        assert record["marker"] is True  # the job had finished before web started
        assert record["cwd"] == str(Path(stack.root, "app"))
        assert record["argv"] == ["world"]
        assert record["env"] == "world-env"
        self.await_state(runtime, stack, "web", "running")
        assert self.states(runtime, stack)["prep"] == "completed"

    def test_logs_show_process_output(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = self.up_web(runtime, make_stack)
        await_true(lambda: "web says hello world" in list(runtime.logs(stack, ["web"])), "web's line in logs")
        assert list(runtime.logs(stack, ["web"], tail=1)) == ["web says hello world"]
        assert "prep done" in list(runtime.logs(stack, ["prep"]))

    def test_logs_follow_streams_new_lines(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = self.up_web(runtime, make_stack)
        await_true(lambda: list(runtime.logs(stack, ["web"])), "web's line in logs")
        seen: list[str] = []
        lines = runtime.logs(stack, ["web"], follow=True)

        def consume() -> None:
            for line in lines:
                seen.append(line)
                if seen.count("web says hello world") >= 2:
                    return

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        await_true(lambda: "web says hello world" in seen, "the replayed line")
        runtime.control(stack, "restart", ["web"])  # a new line arrives while following
        reader.join(DEADLINE)
        assert not reader.is_alive(), f"follow did not deliver the new line: {seen}"
        lines.close()  # type: ignore[attr-defined]

    def test_stop_start_restart(self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]) -> None:
        stack = self.up_web(runtime, make_stack)
        first = self.records(stack, "web")[0]

        runtime.control(stack, "stop", ["web"])
        self.await_state(runtime, stack, "web", "stopped")
        await_true(
            lambda: not pid_alive(first["pid"]) and not pid_alive(first["child"]), "web and its child gone"
        )
        assert self.states(runtime, stack)["prep"] == "completed"

        runtime.control(stack, "start", ["web"])
        await_true(lambda: len(self.records(stack, "web")) == 2, "web started again")
        self.await_state(runtime, stack, "web", "running")

        second = self.records(stack, "web")[1]
        runtime.control(stack, "restart", ["web"])
        await_true(lambda: len(self.records(stack, "web")) == 3, "web restarted")
        self.await_state(runtime, stack, "web", "running")
        assert not pid_alive(second["pid"])
        assert len(self.records(stack, "prep")) == 0  # prep.py keeps no records; the job is not rerun

    def test_failing_job_keeps_dependant_from_starting(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack(
            {
                "migrate": _process("record.py", "migrate", "3"),
                "api": _process("record.py", "api", depends_on=_completed("migrate")),
            }
        )
        runtime.up(stack, [], detach=True)
        self.await_state(runtime, stack, "migrate", "error")
        self.await_state(runtime, stack, "api", *BLOCKED_STATES)
        assert len(self.records(stack, "migrate")) == 1
        assert self.records(stack, "api") == []

    def test_only_named_processes_and_their_dependencies_start(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        processes = self.web_stack_processes()
        processes["other"] = _process("record.py", "other")
        stack = make_stack(processes)
        runtime.up(stack, ["web"], detach=True)
        Path(stack.root, "app", "release").touch()
        await_true(lambda: self.records(stack, "web"), "web to start")
        self.await_state(runtime, stack, "prep", "completed")
        assert self.records(stack, "other") == []
        assert self.states(runtime, stack).get("other", "pending") not in ("running", "completed")

    def test_down_leaves_no_process_behind(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = self.up_web(runtime, make_stack)
        record = self.records(stack, "web")[0]
        assert pid_alive(record["pid"]) and pid_alive(record["child"])

        runtime.down(stack)
        assert not pid_alive(record["pid"])
        assert not pid_alive(record["child"])
        assert runtime.status(stack) == []
        runtime.down(stack)  # idempotent

    def test_restart_always_restarts_a_crashing_process(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack({"crash": _process("record.py", "crash", "1", availability={"restart": "always"})})
        runtime.up(stack, [], detach=True)
        await_true(lambda: len(self.records(stack, "crash")) >= 2, "crash to be restarted")

    def test_no_restart_policy_leaves_a_crashed_process_in_error(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack({"crash": _process("record.py", "crash", "1")})
        runtime.up(stack, [], detach=True)
        self.await_state(runtime, stack, "crash", "error")
        assert len(self.records(stack, "crash")) == 1

    def test_foreground_returns_when_every_process_is_done(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack(
            {
                "first": _process("record.py", "first"),
                "second": _process("record.py", "second", depends_on=_completed("first")),
            }
        )
        lines: list[str] = []
        runtime.up(stack, [], detach=False, output=lines.append)
        assert any(line.endswith("first ran") for line in lines)
        assert any(line.endswith("second ran") for line in lines)
        assert len(self.records(stack, "second")) == 1
        assert runtime.status(stack) == []

    def test_foreground_ctrl_c_stops_everything(
        self, runtime: Runtime, make_stack: Callable[..., RuntimeStack]
    ) -> None:
        stack = make_stack(self.web_stack_processes())
        Path(stack.root, "app", "release").touch()
        script = textwrap.dedent(
            f"""
            import sys
            from angee.contracts import RuntimeStack
            from {type(runtime).__module__} import {type(runtime).__name__} as Backend
            stack = RuntimeStack(root={stack.root!r}, project="conformance", process_file={stack.process_file!r},
                                 env_file={stack.env_file!r}, control_port={stack.control_port})
            Backend().up(stack, [], detach=False, output=lambda line: print(line, flush=True))
            print("foreground returned", flush=True)
            """
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            await_true(lambda: any("web says hello world" in line for line in out), "web's line streamed")
            record = self.records(stack, "web")[0]
            proc.send_signal(signal.SIGINT)
            assert proc.wait(DEADLINE * 2) == 0, "".join(out)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(DEADLINE)
        assert any(line.startswith("web") and "web says hello world" in line for line in out)
        assert "foreground returned\n" in out
        assert not pid_alive(record["pid"]) and not pid_alive(record["child"])
        assert runtime.status(stack) == []


def _pids(record: Path) -> list[int]:
    pids = []
    for line in record.read_text().splitlines():
        with contextlib.suppress(ValueError):
            data = json.loads(line)
            pids += [int(data[k]) for k in ("pid", "child") if k in data]
    return pids
