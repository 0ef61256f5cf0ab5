"""Running a stack through the real CLI: local services on the embedded engine, jobs, service records.

Every command runs ``angee`` in a subprocess against a stack root in a tmp dir, with
``ANGEE_LOCAL_ENGINE=embedded`` so the tests never depend on process-compose being installed.
Conditions are awaited by polling with a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytest.importorskip("angee.cli.runtime_cmd", reason="the runtime CLI commands are not there yet")

ANGEE = [sys.executable, "-c", "from angee.cli.main import main; main()"]
DEADLINE_SECONDS = 60.0


# --------------------------------------------------------------------------- helpers (also used by the docker e2e)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no ANGEE_* from the caller, the embedded local engine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    env["ANGEE_LOCAL_ENGINE"] = "embedded"
    env.update(extra)
    return env


def angee(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``angee --root <root> <args>`` to completion."""
    return subprocess.run(
        [*ANGEE, "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def ok(root: Path, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    done = angee(root, *args)
    assert done.returncode == 0, (
        f"angee {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def wait_until(what: str, check: Callable[[], object], deadline: float = DEADLINE_SECONDS) -> object:
    """Poll ``check`` until it returns something truthy (returned), failing with ``what`` at the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def service_status(root: Path, name: str) -> str:
    return json.loads(ok(root, "status", "--json"))["services"][name]["status"]


def processes_under(root: Path) -> list[str]:
    """Live processes whose working directory or command line is inside ``root`` (``pid cmdline``)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie is already gone, only not reaped yet
            cwd = os.readlink(f"/proc/{entry}/cwd")
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(str(root) + "/") or str(root) in cmdline:
            found.append(f"{entry} {cmdline}")
    return found


class Foreground:
    """``angee dev`` (or any streaming command) in a subprocess, its stdout collected line by line."""

    def __init__(self, root: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [*ANGEE, "--root", str(root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=cli_env(),
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, *needles: str) -> None:
        wait_until(
            f"{needles} in the output of angee dev; got:\n{self.text}",
            lambda: all(n in self.text for n in needles) or self.process.poll() is not None,
        )
        assert all(n in self.text for n in needles), f"angee dev ended early:\n{self.text}"

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to angee, then its exit status."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# --------------------------------------------------------------------------- a local stack

LOCAL_STACK = """\
version: 1
kind: stack
name: local demo
secrets:
  api-token: {generated: true, length: 24}
services:
  web:
    runtime: local
    command:
      - sh
      - -c
      - 'echo $$$$ > web.pid; if test -f seeded.txt; then echo "web saw the seed"; else echo "web started too early"; fi; echo "web greeting $$GREETING"; trap "exit 0" TERM INT; while true; do sleep 1; done'
    env: {GREETING: hello}
    depends_on: [seed]
jobs:
  seed:
    runtime: local
    command: [sh, -c, 'sleep 1; echo seeding; echo done > seeded.txt']
"""


@pytest.fixture
def local_root(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "angee.yaml").write_text(LOCAL_STACK)
    yield root
    angee(root, "down")
    wait_until("no process left in the stack root", lambda: not processes_under(root), deadline=30)


def test_dev_detached_runs_the_service_after_its_job_and_down_leaves_nothing(local_root: Path) -> None:
    assert ok(local_root, "dev", "-d").endswith("dev stack started in background\n")
    logs = wait_until(
        "web's first lines", lambda: "web greeting" in (out := ok(local_root, "logs", "web")) and out
    )
    assert "web saw the seed" in logs and "web started too early" not in logs
    assert "web greeting hello" in logs
    assert wait_until("web running", lambda: service_status(local_root, "web") == "running")

    assert ok(local_root, "stop", "web") == "services stopped\n"
    wait_until("web stopped", lambda: service_status(local_root, "web") not in ("running", "declared"))
    pid = int((local_root / "web.pid").read_text())
    wait_until("the stopped web process to be gone", lambda: not Path(f"/proc/{pid}").exists())

    assert ok(local_root, "start", "web") == "services started\n"
    wait_until("web running again", lambda: service_status(local_root, "web") == "running")
    assert ok(local_root, "restart", "web") == "services restarted\n"
    wait_until("web running after restart", lambda: service_status(local_root, "web") == "running")
    assert ok(local_root, "service", "list") == "web\tlocal\trunning\n"

    assert ok(local_root, "down").endswith("stack stopped\n")
    assert service_status(local_root, "web") == "declared"
    wait_until("no process left in the stack root", lambda: not processes_under(local_root))
    assert ok(local_root, "down") == "stack stopped\n"  # down twice is fine


def test_dev_foreground_streams_logs_and_ctrl_c_stops_everything(local_root: Path) -> None:
    dev = Foreground(local_root, "dev")
    try:
        dev.wait_for("web greeting hello", "seeding")
        assert service_status(local_root, "web") == "running"
        assert dev.interrupt() == 0  # an interruption is success
    finally:
        dev.kill()
    wait_until("no process left in the stack root", lambda: not processes_under(local_root))
    assert service_status(local_root, "web") == "declared"


def test_service_up_is_idempotent_and_service_commands_work(local_root: Path) -> None:
    assert ok(local_root, "service", "up", "web").endswith("services brought up\n")
    wait_until("web running", lambda: service_status(local_root, "web") == "running")
    assert (local_root / "seeded.txt").exists()  # its dependency ran first
    assert ok(local_root, "service", "up", "web") == "services brought up\n"
    assert json.loads(ok(local_root, "service", "up", "web", "--json")) == [{"status": "up", "name": "web"}]
    wait_until("web's logs", lambda: "web greeting hello" in ok(local_root, "service", "logs", "web"))
    assert ok(local_root, "service", "stop", "web") == "services stopped\n"
    wait_until("web stopped", lambda: service_status(local_root, "web") not in ("running", "declared"))
    assert ok(local_root, "service", "up", "web") == "services brought up\n"
    wait_until("web running again", lambda: service_status(local_root, "web") == "running")


def test_logs_follow_streams_until_interrupted(local_root: Path) -> None:
    ok(local_root, "dev", "-d")
    follow = Foreground(local_root, "logs", "-f")
    try:
        follow.wait_for("web greeting hello")
        assert follow.interrupt() == 130  # an interrupted foreground stream
    finally:
        follow.kill()


# --------------------------------------------------------------------------- §5.9 errors start nothing


def _nothing_started(root: Path) -> None:
    assert not (root / "process-compose.yaml").exists()
    assert not (root / "docker-compose.yaml").exists()
    assert not processes_under(root)


def test_unknown_dependency_is_a_manifest_error(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(LOCAL_STACK.replace("depends_on: [seed]", "depends_on: [ghost]"))
    for command in (["dev", "-d"], ["up"], ["start", "web"]):
        done = angee(tmp_path, *command)
        assert done.returncode == 1
        assert "services.web.depends_on" in done.stderr and "ghost" in done.stderr
        assert "Traceback" not in done.stderr
    _nothing_started(tmp_path)


def test_lifecycle_name_errors(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(LOCAL_STACK)
    cases = {
        ("start", "seed"): 'service "seed" is not declared',
        ("stop", "ghost"): 'service "ghost" is not declared',
        ("service", "up", "seed"): 'service "seed" is not declared',
        ("up", "web"): 'service "web" uses runtime "local", not "container"',
        ("build", "web"): 'service "web" uses runtime "local", not "container"',
        ("up", "ghost"): 'service "ghost" is not declared',
        ("logs", "ghost"): 'service "ghost" is not declared',
    }
    for args, message in cases.items():
        done = angee(tmp_path, *args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", message + "\n"), args
    _nothing_started(tmp_path)
    usage = angee(tmp_path, "start")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_up_without_container_services_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(LOCAL_STACK)
    assert ok(tmp_path, "up") == "container services started\n"
    assert not processes_under(tmp_path)


# --------------------------------------------------------------------------- jobs

JOB_STACK = """\
version: 1
kind: stack
name: jobs demo
secrets:
  tok: {generated: true, length: 18}
volumes:
  cache: {}
jobs:
  greet:
    runtime: local
    command:
      - sh
      - -c
      - 'echo "hello ${inputs.who}"; echo "token=$TOKEN"; echo "A=$A B=$B"; echo "cache=$VOLUME_CACHE_PATH"; echo "who=[$${who:-unset}]"; pwd'
    env: {TOKEN: "${secret.tok}", B: from-env}
    env_file: job.env
    mounts: ["volume://cache:/cache"]
    workdir: work
  fail:
    runtime: local
    command: [sh, -c, 'echo before; echo oops >&2; exit 3']
  boxed:
    runtime: container
    build: .
"""


@pytest.fixture
def job_root(tmp_path: Path) -> Path:
    (tmp_path / "angee.yaml").write_text(JOB_STACK)
    (tmp_path / "job.env").write_text("A=from-file\nB=from-file\n")
    (tmp_path / "work").mkdir()
    return tmp_path


def test_job_run_local_with_inputs_and_real_secret_values(job_root: Path) -> None:
    out = ok(job_root, "job", "run", "greet", "--input", "who=ada=lovelace")
    token = ok(job_root, "secret", "reveal", "tok").strip()
    assert len(token) == 18
    assert out.splitlines() == [
        "hello ada=lovelace",
        f"token={token}",
        "A=from-file B=from-env",
        f"cache={job_root / 'volumes' / 'cache'}",
        "who=[unset]",  # inputs are not exported
        str(job_root / "work"),
    ]
    assert not (job_root / "process-compose.yaml").exists()  # job run writes no runtime file


def test_job_run_failure_prints_the_output_once_and_exits_1(job_root: Path) -> None:
    done = angee(job_root, "job", "run", "fail")
    assert done.returncode == 1
    assert done.stdout == "before\noops\n"
    assert done.stderr == 'job "fail" failed with exit code 3\n'


def test_job_run_errors(job_root: Path) -> None:
    done = angee(job_root, "job", "run", "ghost")
    assert (done.returncode, done.stderr) == (1, 'job "ghost" is not declared\n')
    done = angee(job_root, "job", "run", "greet")
    assert (done.returncode, done.stderr) == (1, 'jobs.greet.command[2]: input "who" is not set\n')
    done = angee(job_root, "job", "run", "greet", "--input", "novalue")
    assert done.returncode == 2 and 'expected K=V, got "novalue"' in done.stderr
    done = angee(job_root, "job", "run", "boxed")
    assert (done.returncode, done.stderr) == (1, 'job "boxed" requires image to run\n')
    done = angee(job_root, "job", "logs", "greet")
    assert (done.returncode, done.stderr) == (1, "job logs are returned by job run\n")


def test_job_list(job_root: Path) -> None:
    assert ok(job_root, "job", "list") == "boxed\tcontainer\nfail\tlocal\ngreet\tlocal\n"
    assert ok(job_root, "job", "ls") == ok(job_root, "job", "list")
    assert json.loads(ok(job_root, "job", "list", "--json"))[0] == {"name": "boxed", "runtime": "container"}


# --------------------------------------------------------------------------- service records

RECORD_STACK = """\
version: 1
kind: stack
name: records
operator:
  port_pool:
    app: {range: 20000-20010}
port_leases:
  app:
    - {port: 20001, owner: service/api/app, created_at: 2024-01-01T00:00:00Z}
    - {port: 20002, owner: workspace/w1/app, created_at: 2024-01-01T00:00:00Z}
"""


def manifest(root: Path) -> dict:
    return yaml.safe_load((root / "angee.yaml").read_text())


def test_service_init_update_destroy_list(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(RECORD_STACK)
    out = ok(tmp_path, "service", "init", "api", "--command", "python3", "--command", "-m", "--command",
             "http.server", "--env", "A=1", "--port", "8000")  # fmt: skip
    assert out == "service api added\n"
    assert manifest(tmp_path)["services"]["api"] == {
        "runtime": "local",
        "command": ["python3", "-m", "http.server"],
        "env": {"A": "1"},
        "ports": ["8000"],
    }
    assert (tmp_path / "process-compose.yaml").exists()  # runtime files regenerated

    assert json.loads(ok(tmp_path, "service", "init", "web", "--image", "nginx:1", "--json")) == {
        "status": "created",
        "name": "web",
    }
    assert manifest(tmp_path)["services"]["web"] == {"runtime": "container", "image": "nginx:1"}
    assert ok(tmp_path, "service", "list") == "api\tlocal\tdeclared\nweb\tcontainer\tdeclared\n"

    done = angee(tmp_path, "service", "init", "api", "--image", "x")
    assert (done.returncode, done.stderr) == (1, "service api conflicts: already exists\n")
    done = angee(tmp_path, "service", "init", "empty")
    assert (done.returncode, done.stderr) == (1, 'service "empty" requires image or command\n')
    done = angee(tmp_path, "service", "init", "bad", "--runtime", "local", "--image", "x")
    assert done.returncode == 1 and 'service "bad" with runtime local must not set image' in done.stderr
    assert sorted(manifest(tmp_path)["services"]) == ["api", "web"]

    assert (
        ok(tmp_path, "service", "update", "api", "--env", "B=2", "--workdir", "srv")
        == "service api updated\n"
    )
    api = manifest(tmp_path)["services"]["api"]
    assert api["env"] == {"B": "2"} and api["command"] == ["python3", "-m", "http.server"]
    assert api["workdir"] == "srv" and api["ports"] == ["8000"]
    done = angee(tmp_path, "service", "update", "ghost", "--image", "x")
    assert (done.returncode, done.stderr) == (1, 'service "ghost" is not declared\n')

    endpoint = ok(tmp_path, "service", "endpoint", "web")
    assert endpoint == "routed\tfalse\nurl\t\ninternal_host\tweb\ninternal_port\t0\n"

    (tmp_path / "services" / "api").mkdir(parents=True)
    (tmp_path / "services" / "api" / "Dockerfile").write_text("FROM scratch\n")
    assert ok(tmp_path, "service", "destroy", "api") == "service api removed\n"
    after = manifest(tmp_path)
    assert "api" not in after["services"]
    assert [lease["owner"] for lease in after["port_leases"]["app"]] == ["workspace/w1/app"]
    assert not (tmp_path / "services" / "api").exists()
    assert not (tmp_path / "process-compose.yaml").exists()  # nothing local is left to compile
    done = angee(tmp_path, "service", "destroy", "api")
    assert (done.returncode, done.stderr) == (1, 'service "api" is not declared\n')


def test_service_destroy_refuses_a_service_others_depend_on(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(LOCAL_STACK)
    ok(tmp_path, "service", "init", "db", "--command", "true")
    data = manifest(tmp_path)
    data["services"]["web"]["depends_on"].append("db")
    (tmp_path / "angee.yaml").write_text(yaml.safe_dump(data))
    done = angee(tmp_path, "service", "destroy", "db", "--no-stop")
    assert (done.returncode, done.stderr) == (1, 'service db conflicts: service "web" depends on it\n')
    assert "db" in manifest(tmp_path)["services"]


# --------------------------------------------------------------------------- stack commands


def test_stack_update_prepare_compile_and_destroy(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(LOCAL_STACK)
    assert ok(tmp_path, "stack", "update") == "stack updated\n"
    first = (tmp_path / "process-compose.yaml").read_bytes()
    assert ok(tmp_path, "stack", "prepare") == "runtime files prepared\n"
    assert (tmp_path / "process-compose.yaml").read_bytes() == first
    compiled = json.loads(ok(tmp_path, "stack", "prepare", "--json"))
    assert sorted(compiled) == ["compose", "process_compose", "secret_env_vars"]
    assert compiled["secret_env_vars"] == {"api-token": "ANGEE_SECRET_API_TOKEN"}
    assert ok(tmp_path, "stack", "compile") == "# process-compose.yaml\n" + first.decode()
    assert ok(tmp_path, "internal", "stack", "compile") == ok(tmp_path, "stack", "compile")

    done = angee(tmp_path, "stack", "update", "--dry-run")
    assert done.returncode == 2 and "--dry-run only applies with --template" in done.stderr

    for name in ("workspaces/w", "sources/s", "volumes/v", "run"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    assert ok(tmp_path, "stack", "destroy") == "stack destroyed\n"
    assert not (tmp_path / "process-compose.yaml").exists() and (tmp_path / "workspaces").exists()
    assert ok(tmp_path, "stack", "destroy", "--purge") == "stack destroyed\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "angee.yaml"]
