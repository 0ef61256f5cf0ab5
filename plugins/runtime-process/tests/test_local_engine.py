"""Embedded local engine specifics: no secret in its files, socket fallback, reconfiguration, messages,
and the pure pieces (expansion, start order, supervisord.conf, state names, log tailing)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from angee_runtime_process.engine import EmbeddedRuntime
from angee_runtime_process.engine.conf import BLOCKED_EXIT, render_conf
from angee_runtime_process.engine.logtail import read_logs
from angee_runtime_process.engine.paths import SOCKET_PATH_LIMIT, EnginePaths, read_pid
from angee_runtime_process.engine.project import ProcessSpec, expand, load_project, process_env, start_order
from angee_runtime_process.engine.states import observed_state
from local_conformance import PY, await_true, pid_alive

from angee.contracts import RuntimeStack
from angee.errors import RuntimeFailure

SECRET = "s3cr3t-Value-42"

# Records its pid, env and argv as one JSON line in <name>.jsonl (cwd), then runs or exits.
PROBE = """
import json, os, sys, time
name, code = sys.argv[1], int(sys.argv[2])
with open(name + ".jsonl", "a") as fh:
    fh.write(json.dumps({"pid": os.getpid(), "argv": sys.argv[3:], "env": dict(os.environ)}) + "\\n")
print(name, "up", flush=True)
if code < 0:
    time.sleep(3600)
sys.exit(code)
"""


def probe(name: str, code: int = 0, *args: str, **extra: Any) -> dict[str, Any]:
    """A process running the probe script: exit ``code`` (< 0: keep running)."""
    return {"command": " ".join([PY, "-u", "probe.py", name, str(code), *args]), **extra}


@pytest.fixture
def engine() -> EmbeddedRuntime:
    return EmbeddedRuntime()


@pytest.fixture
def make_stack(tmp_path: Path, engine: EmbeddedRuntime) -> Iterator[Callable[..., RuntimeStack]]:
    """Write ``processes`` as process-compose.yaml (working_dir defaulted to <root>) and a runtime .env."""
    stacks: list[RuntimeStack] = []

    def make(
        processes: dict[str, Any], env: str = "GREETING=world\n", root: Path | None = None
    ) -> RuntimeStack:
        root = root or tmp_path / "stack"
        root.mkdir(parents=True, exist_ok=True)
        (root / "probe.py").write_text(textwrap.dedent(PROBE))
        doc = {"version": "0.5", "processes": processes}
        (root / "process-compose.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        (root / ".env").write_text(env)
        stack = RuntimeStack(
            root=str(root),
            project="engine-test",
            process_file=str(root / "process-compose.yaml"),
            env_file=str(root / ".env"),
        )
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        with contextlib.suppress(Exception):
            engine.down(stack)


def records(stack: RuntimeStack, name: str) -> list[dict[str, Any]]:
    path = Path(stack.root, f"{name}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def states(engine: EmbeddedRuntime, stack: RuntimeStack) -> dict[str, str]:
    return {svc.name: svc.state for svc in engine.status(stack)}


# --------------------------------------------------------------------------- behaviour


def test_engine_files_hold_no_secret_value_yet_the_process_gets_it(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack(
        {"api": probe("api", -1, environment=["DB_URL=postgres://u:${ANGEE_SECRET_DB}@h/db"])},
        env=f"ANGEE_SECRET_DB='{SECRET}'\n",
    )
    engine.up(stack, [])
    (record,) = await_true(lambda: records(stack, "api"), "api to start")
    assert record["env"]["DB_URL"] == f"postgres://u:{SECRET}@h/db"
    assert record["env"]["ANGEE_SECRET_DB"] == SECRET
    assert not [k for k in record["env"] if k.startswith("SUPERVISOR_")]
    paths = EnginePaths.for_root(stack.root)
    for directory in (paths.dir, os.path.dirname(paths.socket)):
        for dirpath, _, files in os.walk(directory):
            for file in files:
                path = os.path.join(dirpath, file)
                if os.path.isfile(path):
                    assert SECRET.encode() not in Path(path).read_bytes(), path


def test_engine_runs_detached_with_its_files_under_run(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", -1)})
    engine.up(stack, [])
    paths = EnginePaths.for_root(stack.root)
    daemon = read_pid(paths.pidfile)
    assert daemon and pid_alive(daemon)
    assert paths.dir == os.path.join(stack.root, "run", "local-engine")
    (record,) = await_true(lambda: records(stack, "api"), "api to start")
    await_true(lambda: "api up" in list(engine.logs(stack, ["api"])), "api's line")
    assert Path(paths.process_log("api")).read_text() == "api up\n"
    engine.down(stack)
    assert not pid_alive(daemon) and not pid_alive(record["pid"])
    assert not os.path.exists(paths.socket)


def test_socket_falls_back_to_a_short_path_for_a_long_root(
    tmp_path: Path, engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    root = tmp_path / ("r" * 60) / ("o" * 60)
    stack = make_stack({"api": probe("api", -1)}, root=root)
    paths = EnginePaths.for_root(stack.root)
    assert not paths.socket.startswith(stack.root)
    assert len(os.fsencode(paths.socket)) <= SOCKET_PATH_LIMIT
    assert paths.socket == EnginePaths.for_root(stack.root).socket  # stable per root
    engine.up(stack, [])
    await_true(lambda: states(engine, stack).get("api") == "running", "api running")
    engine.down(stack)
    assert not os.path.exists(paths.socket)


def test_percent_and_spaces_in_the_root_path(
    tmp_path: Path, engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", 0, "50%")}, root=tmp_path / "100% my stack")
    engine.up(stack, [])
    await_true(lambda: states(engine, stack).get("api") == "completed", "api completed")
    assert records(stack, "api")[0]["argv"] == ["50%"]


def test_blocked_dependant_is_error_and_its_log_says_why(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack(
        {
            "migrate": probe("migrate", 3),
            "api": probe("api", -1, depends_on={"migrate": {"condition": "process_completed_successfully"}}),
        }
    )
    engine.up(stack, [])
    await_true(lambda: states(engine, stack).get("api") == "error", "api in error")
    assert states(engine, stack)["migrate"] == "error"
    assert list(engine.logs(stack, ["api"])) == [
        'api: not started: dependency "migrate" exited with status 3'
    ]
    assert records(stack, "api") == []


def test_on_failure_restarts_until_success(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    flaky = {
        "command": f"{PY} -c \"import os,sys; n=len(os.listdir('tries')); open(f'tries/{{n}}','w'); sys.exit(n < 1)\"",
        "availability": {"restart": "on_failure", "backoff_seconds": 0},
    }
    stack = make_stack({"flaky": flaky})
    Path(stack.root, "tries").mkdir()
    engine.up(stack, [])
    await_true(lambda: states(engine, stack).get("flaky") == "completed", "flaky completed")
    assert sorted(os.listdir(Path(stack.root, "tries"))) == ["0", "1"]


def test_up_again_applies_a_changed_file_without_restarting_running_processes(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", -1), "old": probe("old", -1)})
    engine.up(stack, [])
    api = await_true(lambda: records(stack, "api"), "api to start")[0]
    old = await_true(lambda: records(stack, "old"), "old to start")[0]

    make_stack({"api": probe("api", -1), "new": probe("new", -1)})
    engine.up(stack, [])
    await_true(lambda: records(stack, "new"), "new to start")
    await_true(lambda: not pid_alive(old["pid"]), "the removed process to stop")
    assert set(states(engine, stack)) == {"api", "new"}
    assert pid_alive(api["pid"]) and len(records(stack, "api")) == 1


def test_foreground_prefixes_each_line_with_the_process_name(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"one": probe("one", 0), "two": probe("two", 0)})
    lines: list[str] = []
    daemons: list[int] = []

    def output(line: str) -> None:
        lines.append(line)
        daemons.append(read_pid(EnginePaths.for_root(stack.root).pidfile))

    engine.up(stack, [], detach=False, output=output)
    assert "one | one up" in lines and "two | two up" in lines
    assert daemons[0] > 0 and not pid_alive(daemons[0])
    assert lines[-1].startswith("local engine stopped")


def test_logs_of_several_processes_are_prefixed_and_tail_replays_last_lines(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"one": probe("one", 0), "two": probe("two", 0)})
    engine.up(stack, [])
    await_true(lambda: len(list(engine.logs(stack, []))) == 2, "both lines")
    assert list(engine.logs(stack, [])) == ["one | one up", "two | two up"]
    assert list(engine.logs(stack, ["two"], tail=5)) == ["two up"]


def test_follow_ends_when_the_engine_stops(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", -1)})
    engine.up(stack, [])
    await_true(lambda: list(engine.logs(stack, ["api"])), "api's line")
    seen: list[str] = []
    reader = threading.Thread(
        target=lambda: seen.extend(engine.logs(stack, ["api"], follow=True)), daemon=True
    )
    reader.start()
    await_true(lambda: seen, "the replayed line")
    engine.down(stack)
    reader.join(30)
    assert not reader.is_alive()
    assert seen == ["api up"]


def test_control_without_a_running_engine(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", -1)})
    engine.control(stack, "stop", ["api"])  # nothing runs: nothing to stop
    with pytest.raises(RuntimeFailure, match=r"the local engine is not running for .*angee dev -d"):
        engine.control(stack, "start", ["api"])
    assert engine.status(stack) == []
    assert list(engine.logs(stack, ["api"])) == []
    engine.down(stack)


def test_unknown_names_and_missing_file_are_clear_errors(
    engine: EmbeddedRuntime, make_stack: Callable[..., RuntimeStack]
) -> None:
    stack = make_stack({"api": probe("api", -1)})
    with pytest.raises(RuntimeFailure, match=r'^process "nope" is not defined in process-compose.yaml$'):
        engine.up(stack, ["nope"])
    engine.up(stack, [])
    with pytest.raises(RuntimeFailure, match=r'^process "nope" is not defined'):
        engine.control(stack, "restart", ["nope"])
    missing = RuntimeStack(root=stack.root, project="x", process_file=os.path.join(stack.root, "absent.yaml"))
    with pytest.raises(RuntimeFailure, match=r"absent.yaml: no such file"):
        engine.up(missing, [])


def test_import_is_cheap() -> None:
    code = (
        "import sys, angee_runtime_process.engine, angee_runtime_process.pcompose;"
        "print(sorted(m for m in ('supervisor', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- pure pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A} and $A", "1 and 1"),
        ("$$A costs $$5", "$A costs $5"),
        ("${MISSING} $MISSING", "${MISSING} $MISSING"),
        ("a$ b $1 ${A", "a$ b $1 ${A"),
        ("$A_B ${A}_B", "x 1_B"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "A_B": "x"}) == expected


def test_environment_overrides_and_expands_in_order() -> None:
    spec = ProcessSpec(name="p", environment=[("HOME", "/h"), ("URL", "${HOME}/x:$PORT"), ("LIT", "$$PORT")])
    env = process_env(spec, {"HOME": "/root", "PORT": "80"})
    assert env == {"HOME": "/h", "PORT": "80", "URL": "/h/x:80", "LIT": "$PORT"}


def test_start_order_includes_dependencies_first_and_rejects_cycles(tmp_path: Path) -> None:
    def dep(name: str) -> dict[str, Any]:
        return {name: {"condition": "process_started"}}

    file = tmp_path / "process-compose.yaml"
    doc = {
        "processes": {
            "a": {"command": "x", "depends_on": dep("b")},
            "b": {"command": "x"},
            "c": {"command": "x"},
        }
    }
    file.write_text(yaml.safe_dump(doc))
    project = load_project(str(file))
    assert start_order(project, []) == ["b", "a", "c"]
    assert start_order(project, ["a"]) == ["b", "a"]
    doc["processes"]["b"]["depends_on"] = dep("a")
    file.write_text(yaml.safe_dump(doc))
    with pytest.raises(RuntimeFailure, match=r"dependency cycle: a -> b -> a"):
        start_order(load_project(str(file)), [])


def test_load_project_reports_bad_keys(tmp_path: Path) -> None:
    file = tmp_path / "process-compose.yaml"
    file.write_text("processes:\n  web:\n    command: x\n    availability: {restart: sometimes}\n")
    with pytest.raises(RuntimeFailure, match=r"processes.web.availability.restart: must be one of"):
        load_project(str(file))


def test_conf_maps_restart_policies_and_escapes_percent(tmp_path: Path) -> None:
    paths = EnginePaths.for_root(str(tmp_path / "50%"))
    project = {
        "a": ProcessSpec(name="a", restart="always"),
        "b": ProcessSpec(name="b", restart="on_failure", stop_signal="INT", stop_timeout=3),
        "c": ProcessSpec(name="c", restart="exit_on_failure"),
        "d": ProcessSpec(name="d"),
    }
    conf = render_conf(paths, project)
    sections = {s.split("]")[0]: s for s in conf.split("\n[")}
    assert "autorestart=true\nexitcodes=0\n" in sections["program:a"]
    assert f"autorestart=unexpected\nexitcodes=0,{BLOCKED_EXIT}\n" in sections["program:b"]
    assert "stopsignal=INT\nstopwaitsecs=3\n" in sections["program:b"]
    assert "autorestart=false\n" in sections["program:c"] and "autorestart=false\n" in sections["program:d"]
    assert "50%%" in conf and "50%/" not in conf
    with pytest.raises(RuntimeFailure, match="cannot use path"):
        render_conf(EnginePaths.for_root(str(tmp_path / "a ;b")), project)


@pytest.mark.parametrize(
    ("info", "state"),
    [
        ({"statename": "STOPPED", "start": 0}, "pending"),
        ({"statename": "STOPPED", "start": 5}, "stopped"),
        ({"statename": "STARTING"}, "launching"),
        ({"statename": "EXITED", "exitstatus": 0}, "completed"),
        ({"statename": "EXITED", "exitstatus": 2}, "error"),
        ({"statename": "FATAL"}, "error"),
        ({"statename": "BACKOFF"}, "restarting"),
        ({"statename": "STOPPING"}, "terminating"),
        ({"statename": "RUNNING", "pid": os.getpid()}, "running"),
    ],
)
def test_observed_state_names(tmp_path: Path, info: dict[str, Any], state: str) -> None:
    assert observed_state(EnginePaths.for_root(str(tmp_path)), {"name": "p", **info}) == state


def test_read_logs_tails_follows_partial_lines_and_rotation(tmp_path: Path) -> None:
    log = tmp_path / "p.log"
    log.write_text("one\ntwo\nthree\npart")
    assert list(read_logs({"p": str(log)}, tail=2)) == [("p", "two"), ("p", "three"), ("p", "part")]
    lines = read_logs({"p": str(log)}, tail=1, follow=True)
    assert next(lines) == ("p", "three")
    with log.open("a") as fh:
        fh.write("ial\nfour\n")
    assert [next(lines), next(lines)] == [("p", "partial"), ("p", "four")]
    log.rename(tmp_path / "p.log.1")
    log.write_text("after rotation\n")
    assert next(lines) == ("p", "after rotation")
    lines.close()
