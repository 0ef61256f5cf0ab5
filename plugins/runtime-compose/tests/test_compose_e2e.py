"""The compose runtime against a real docker engine and the installed compose (v1 or v2).

Stacks are hand-written ``docker-compose.yaml`` files as Angee writes them (top-level
``x-angee-project``), run from the local busybox test image; state is checked with the docker CLI only
(no traffic to container addresses). Each test uses its own project and always brings it down.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from angee_runtime_compose.compose import ComposeRuntime

from angee.contracts import RuntimeStack
from angee.errors import RuntimeFailure
from tests.docker_support import busybox_image, project_containers

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SECRET = "s3cret-value"
WAIT_SECONDS = 90.0

SERVICE_YAML = """\
    app:
        image: {image}
        command:
            - sh
            - -c
            - trap 'exit 0' TERM INT; echo "token=$$TOKEN"; sleep 3600 & wait
        environment:
            TOKEN: ${{ANGEE_SECRET_TOKEN}}
"""


def wait_for(condition: Callable[[], object], what: str) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True).stdout


def remove_project(project: str) -> None:
    """Last-resort cleanup when ``down`` failed: remove the project's containers and network."""
    ids = project_containers(project)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=120)
    subprocess.run(["docker", "network", "rm", f"{project}_default"], capture_output=True, timeout=120)


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[[str], RuntimeStack]]:
    """Write a stack root with ``services_yaml`` and the secret env file; always brought down after
    (a ``down`` failure fails the test unless the file was written ``invalid`` on purpose)."""
    stacks: list[tuple[RuntimeStack, bool]] = []

    def make(services_yaml: str, *, invalid: bool = False) -> RuntimeStack:
        project = f"angee-e2e-{uuid.uuid4().hex[:10]}"
        root = tmp_path / project
        root.mkdir()
        (root / "docker-compose.yaml").write_text(f"x-angee-project: {project}\nservices:\n{services_yaml}")
        (root / ".env").write_text(f"ANGEE_SECRET_TOKEN='{SECRET}'\n")
        stack = RuntimeStack(
            root=str(root),
            project=project,
            compose_file=str(root / "docker-compose.yaml"),
            env_file=str(root / ".env"),
        )
        stacks.append((stack, invalid))
        return stack

    yield make
    for stack, invalid in stacks:
        try:
            ComposeRuntime().down(stack)
        except RuntimeFailure:
            if not invalid:
                raise
        finally:
            remove_project(stack.project)


def states(runtime: ComposeRuntime, stack: RuntimeStack) -> dict[str, str]:
    return {o.name: o.state for o in runtime.status(stack)}


def token_lines(runtime: ComposeRuntime, stack: RuntimeStack) -> list[str]:
    return [line for line in runtime.logs(stack, ["app"]) if line.startswith("token=")]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_lifecycle_up_logs_stop_start_restart_follow_down(make_stack) -> None:
    stack = make_stack(SERVICE_YAML.format(image=busybox_image()))
    runtime = ComposeRuntime()
    streamed: list[str] = []

    runtime.up(stack, [], output=streamed.append)
    assert streamed, "compose up printed nothing to the output callback"
    wait_for(lambda: states(runtime, stack) == {"app": "running"}, "app running")
    # The secret went env file → compose interpolation → container environment.
    assert wait_for(lambda: token_lines(runtime, stack), "the token line") == [f"token={SECRET}"]

    runtime.control(stack, "stop", ["app"])
    assert states(runtime, stack) == {"app": "exited"}

    runtime.control(stack, "start", ["app"])
    wait_for(lambda: states(runtime, stack) == {"app": "running"}, "app running after start")
    wait_for(lambda: len(token_lines(runtime, stack)) == 2, "the token line after start")

    runtime.control(stack, "restart", ["app"])
    wait_for(lambda: states(runtime, stack) == {"app": "running"}, "app running after restart")
    wait_for(lambda: len(token_lines(runtime, stack)) == 3, "the token line after restart")

    stream = runtime.logs(stack, ["app"], follow=True, tail=1)
    assert next(stream) == f"token={SECRET}"
    follower = stream.pid
    assert not _gone(follower)
    stream.close()
    assert _gone(follower)

    runtime.down(stack)
    assert project_containers(stack.project) == []
    assert runtime.status(stack) == []


def test_up_with_build_streams_the_build_and_runs_the_image(make_stack) -> None:
    base = busybox_image()
    tag = f"angee-e2e-built-{uuid.uuid4().hex[:10]}:latest"
    stack = make_stack(
        "    app:\n"
        f"        image: {tag}\n"
        "        build:\n"
        "            context: .\n"
        "        command: [sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']\n"
    )
    Path(stack.root, "Dockerfile").write_text(f"FROM {base}\nRUN echo built-here > /built.txt\n")
    runtime = ComposeRuntime()
    streamed: list[str] = []
    try:
        runtime.up(stack, ["app"], build=True, output=streamed.append)
        assert any(base in line and "FROM" in line for line in streamed), streamed
        wait_for(lambda: states(runtime, stack) == {"app": "running"}, "built app running")
        (container,) = project_containers(stack.project)
        assert docker("exec", container, "cat", "/built.txt") == "built-here\n"
    finally:
        runtime.down(stack)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)


def test_attached_up_streams_and_stops_on_interrupt(make_stack) -> None:
    stack = make_stack(SERVICE_YAML.format(image=busybox_image()))
    runtime = ComposeRuntime()
    seen = threading.Event()
    errors: list[BaseException] = []

    def output(line: str) -> None:
        if f"token={SECRET}" in line:
            seen.set()

    def attached() -> None:
        try:
            runtime.up(stack, [], detach=False, output=output)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=attached, daemon=True)
    worker.start()
    assert seen.wait(WAIT_SECONDS), "the attached up never streamed the service's output"
    assert runtime.interrupt(stack) is True
    worker.join(WAIT_SECONDS)
    assert not worker.is_alive()
    assert errors == []
    assert states(runtime, stack).get("app") != "running"


def test_an_invalid_compose_file_fails_with_the_command_and_output(make_stack) -> None:
    stack = make_stack(
        "    app:\n        image: scratch-never-pulled\n        no_such_key: 1\n", invalid=True
    )
    with pytest.raises(RuntimeFailure) as err:
        ComposeRuntime().up(stack, [])
    assert (
        f"-p {stack.project} -f {stack.root}/docker-compose.yaml --env-file {stack.root}/.env up -d: "
        in str(err.value)
    )
    assert "exit status " in str(err.value)
    assert "no_such_key" in err.value.output
    assert project_containers(stack.project) == []


def test_container_job_gets_env_mounts_and_workdir(tmp_path: Path) -> None:
    image = busybox_image()
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("hello from the host\n")
    stack = RuntimeStack(root=str(tmp_path), project="unused")
    streamed: list[str] = []
    code, output = ComposeRuntime().run_job(
        stack,
        image,
        ["sh", "-c", 'cat in.txt; echo "tok=$API_TOKEN" >&2; exit 3'],
        {"API_TOKEN": SECRET},
        [f"{data}:/data"],
        "/data",
        streamed.append,
    )
    assert code == 3
    # docker relays the container's stdout and stderr as separate streams: their interleaving may vary.
    assert sorted(output.splitlines()) == ["hello from the host", f"tok={SECRET}"]
    assert streamed == output.splitlines()
