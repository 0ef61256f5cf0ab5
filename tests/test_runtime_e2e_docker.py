"""A stack with a container service and local processes, end to end on a real docker engine.

The container service (the local busybox image) echoes a generated secret it gets through its
environment, then idles; a local service waits for a local job. Covers stack update byte stability
and secrecy, up / logs / stop / start / restart / down, and ``angee dev`` in the foreground streaming
both runtimes until SIGINT stops everything. Containers are checked with the docker CLI only.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.docker_support import busybox_image, project_containers, require_docker
from tests.test_runtime_ops import Foreground, angee, ok, processes_under, service_status, wait_until

pytestmark = pytest.mark.docker

STACK = """\
version: 1
kind: stack
name: E2E Mixed
secrets:
  api-token: {{generated: true, length: 28}}
ports:
  web: {{value: 18431}}
services:
  box:
    runtime: container
    image: {image}
    command: [sh, -c, 'echo "box token=$$TOKEN"; trap "exit 0" TERM INT; while true; do sleep 1; done']
    env: {{TOKEN: "${{secret.api-token}}"}}
  web:
    runtime: local
    command: [sh, -c, 'echo "web on ${{ports.web}}"; trap "exit 0" TERM INT; while true; do sleep 1; done']
    depends_on: [seed]
jobs:
  seed:
    runtime: local
    command: [sh, -c, 'echo seeded > seeded.txt']
"""


def running_containers(project: str) -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


@pytest.fixture
def stack(tmp_path: Path) -> tuple[Path, str]:
    """``(root, compose project)`` of the e2e stack; torn down (containers removed) afterwards."""
    require_docker()
    root = tmp_path / "stack"
    root.mkdir()
    (root / "angee.yaml").write_text(STACK.format(image=busybox_image()))
    from angee.root import compose_project

    project = compose_project("E2E Mixed", str(root))
    yield root, project
    angee(root, "down")
    leftover = project_containers(project)
    if leftover:
        subprocess.run(["docker", "rm", "-f", *leftover], capture_output=True, timeout=120)
    subprocess.run(["docker", "network", "rm", f"{project}_default"], capture_output=True, timeout=60)


def test_update_up_logs_control_down(stack: tuple[Path, str]) -> None:
    root, project = stack
    assert ok(root, "stack", "update") == "stack updated\n"
    compose = (root / "docker-compose.yaml").read_bytes()
    processes = (root / "process-compose.yaml").read_bytes()
    assert ok(root, "stack", "update") == "stack updated\n"
    assert (root / "docker-compose.yaml").read_bytes() == compose
    assert (root / "process-compose.yaml").read_bytes() == processes
    token = ok(root, "secret", "reveal", "api-token").strip()
    assert len(token) == 28
    assert token.encode() not in compose and token.encode() not in processes
    assert b"${ANGEE_SECRET_API_TOKEN}" in compose

    assert ok(root, "up").endswith("container services started\n")
    assert wait_until("box running", lambda: service_status(root, "box") == "running")
    assert service_status(root, "web") == "declared"  # up starts container services only
    wait_until("the secret in box's logs", lambda: f"box token={token}" in ok(root, "logs", "box"))

    assert ok(root, "stop", "box") == "services stopped\n"
    assert wait_until("box exited", lambda: service_status(root, "box") == "exited")
    assert ok(root, "start", "box") == "services started\n"
    assert wait_until("box running again", lambda: service_status(root, "box") == "running")
    assert ok(root, "restart", "box") == "services restarted\n"
    assert wait_until("box running after restart", lambda: service_status(root, "box") == "running")

    assert ok(root, "down").endswith("stack stopped\n")
    assert project_containers(project) == []
    assert json.loads(ok(root, "status", "--json"))["services"]["box"]["status"] == "declared"


def test_dev_foreground_streams_both_runtimes_and_sigint_stops_everything(stack: tuple[Path, str]) -> None:
    root, project = stack
    ok(root, "stack", "update")
    token = ok(root, "secret", "reveal", "api-token").strip()
    dev = Foreground(root, "dev")
    try:
        dev.wait_for(f"box token={token}", "web on 18431")
        assert (root / "seeded.txt").read_text() == "seeded\n"  # the job ran before web started
        assert service_status(root, "box") == "running" and service_status(root, "web") == "running"
        assert dev.interrupt() in (0, 130)  # an interruption is success
    finally:
        dev.kill()
    assert running_containers(project) == []
    wait_until("no local process left", lambda: not processes_under(root))
    assert ok(root, "down").endswith("stack stopped\n")
    assert project_containers(project) == []


def test_dev_detached_then_down_leaves_nothing(stack: tuple[Path, str]) -> None:
    root, project = stack
    assert ok(root, "dev", "-d").endswith("dev stack started in background\n")
    wait_until(
        "both running", lambda: service_status(root, "box") == service_status(root, "web") == "running"
    )
    logs = wait_until("both in the logs", lambda: "web on 18431" in (out := ok(root, "logs")) and out)
    assert logs.index("box token=") < logs.index("web on 18431")  # container output, then local
    follow = Foreground(root, "logs", "-f")
    try:
        follow.wait_for("box token=", "web on 18431")  # both runtimes, interleaved live
        assert follow.interrupt() == 130
    finally:
        follow.kill()
    assert not [p for p in processes_under(root) if "worker_main" in p or " logs" in p]
    assert ok(root, "down").endswith("stack stopped\n")
    assert project_containers(project) == []
    wait_until("no local process left", lambda: not processes_under(root))
