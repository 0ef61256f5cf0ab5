"""The compose runtime's command lines, compose v1/v2 selection, streaming and errors, checked with
recording stand-in ``docker`` / ``docker-compose`` tools on PATH (no docker engine needed)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from angee_runtime_compose.compose import ComposeRuntime, LogStream, compose_command

from angee.contracts import RuntimeStack
from angee.errors import InvalidInput, RuntimeFailure


@pytest.fixture
def stack(tmp_path: Path) -> RuntimeStack:
    root = tmp_path / "root"
    root.mkdir()
    return RuntimeStack(
        root=str(root), project="demo-1b431952", compose_file=str(root / "docker-compose.yaml")
    )


def base(stack: RuntimeStack, dc: list[str]) -> list[str]:
    return [*dc, "-p", "demo-1b431952", "-f", f"{stack.root}/docker-compose.yaml"]


V1 = ["docker-compose"]
V2 = ["docker", "compose"]


def test_v2_is_chosen_when_docker_compose_version_succeeds(standin, stack) -> None:
    standin.install("docker", "docker-compose")
    standin.set(v2="1")
    assert compose_command() == V2
    ComposeRuntime().build(stack, ["web", "api"])
    assert standin.calls() == [[*base(stack, V2), "build", "web", "api"]]


def test_v1_is_chosen_when_docker_has_no_compose_plugin(standin, stack) -> None:
    standin.install("docker", "docker-compose")
    ComposeRuntime().build(stack, [])
    assert standin.calls() == [[*base(stack, V1), "build"]]


def test_v1_alone_without_a_docker_cli_still_runs_compose(standin, stack) -> None:
    standin.install("docker-compose")
    ComposeRuntime().down(stack)
    assert standin.calls() == [[*base(stack, V1), "down"]]


@pytest.mark.parametrize("tools", [("docker",), ()])
def test_no_compose_at_all_is_a_clear_failure(standin, stack, tools) -> None:
    standin.install(*tools)
    with pytest.raises(RuntimeFailure, match="^docker compose is required for container services$"):
        ComposeRuntime().up(stack, [])
    assert standin.calls() == []


def test_compose_detection_runs_once_per_process(standin, stack) -> None:
    standin.install("docker", "docker-compose")
    standin.set(v2="1")
    runtime = ComposeRuntime()
    runtime.build(stack, [])
    runtime.down(stack)
    ComposeRuntime().control(stack, "stop", ["web"])
    probes = [a for a in standin.calls(with_probe=True) if a == ["docker", "compose", "version"]]
    assert len(probes) == 1
    assert [a[len(base(stack, V2)) :] for a in standin.calls()] == [["build"], ["down"], ["stop", "web"]]


def test_env_file_is_passed_only_when_it_exists(standin, stack) -> None:
    standin.install("docker", "docker-compose")
    env_file = Path(stack.root) / ".env"
    stack.env_file = str(env_file)
    ComposeRuntime().down(stack)
    env_file.write_text("ANGEE_SECRET_TOKEN='x'\n")
    ComposeRuntime().down(stack)
    assert standin.calls() == [
        [*base(stack, V1), "down"],
        [*base(stack, V1), "--env-file", str(env_file), "down"],
    ]


def test_compose_file_defaults_to_the_root(standin, tmp_path) -> None:
    standin.install("docker-compose")
    root = tmp_path / "r"
    root.mkdir()
    ComposeRuntime().down(RuntimeStack(root=str(root), project="p"))
    assert standin.calls() == [["docker-compose", "-p", "p", "-f", f"{root}/docker-compose.yaml", "down"]]


@pytest.mark.parametrize("dc", [V1, V2], ids=["v1", "v2"])
def test_argv_of_every_operation(standin, stack, dc) -> None:
    standin.install("docker", "docker-compose")
    standin.set(v2="1" if dc == V2 else "0")
    runtime = ComposeRuntime()
    runtime.build(stack, [])
    runtime.build(stack, ["web"])
    runtime.up(stack, [])
    runtime.up(stack, ["web", "db"], build=True)
    runtime.up(stack, [], detach=False)
    runtime.up(stack, [], detach=False, build=True)
    runtime.down(stack)
    runtime.control(stack, "start", ["web"])
    runtime.control(stack, "stop", ["web", "db"])
    runtime.control(stack, "restart", ["db"])
    list(runtime.logs(stack, []))
    list(runtime.logs(stack, ["web"], tail=20))
    list(runtime.logs(stack, ["web", "db"], tail=0))
    with runtime.logs(stack, ["web"], follow=True) as stream:
        list(stream)
    b = base(stack, dc)
    assert standin.calls() == [
        [*b, "build"],
        [*b, "build", "web"],
        [*b, "up", "-d"],
        [*b, "up", "-d", "--build", "web", "db"],
        [*b, "up"],
        [*b, "build"],
        [*b, "up"],
        [*b, "down"],
        [*b, "start", "web"],
        [*b, "stop", "web", "db"],
        [*b, "restart", "db"],
        [*b, "logs"],
        [*b, "logs", "--no-log-prefix", "--tail", "20", "web"],
        [*b, "logs", "web", "db"],
        [*b, "logs", "--follow", "--no-log-prefix", "web"],
    ]


def test_commands_run_in_the_stack_root_with_its_extra_env(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(record_env="EXTRA_ONE")
    stack.extra_env = {"EXTRA_ONE": "1"}
    ComposeRuntime().down(stack)
    (record,) = standin.records()
    assert record["cwd"] == stack.root
    assert record["env"] == {"EXTRA_ONE": "1"}


def test_status_queries_docker_ps_by_project_label(standin, stack) -> None:
    standin.install("docker")
    standin.set(
        stdout='{"Labels":"com.docker.compose.project=demo-1b431952,com.docker.compose.service=web",'
        '"State":"running","Status":"Up 2 minutes (healthy)"}\n'
    )
    observed = ComposeRuntime().status(stack)
    assert standin.calls() == [
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            "label=com.docker.compose.project=demo-1b431952",
            "--format",
            "{{json .}}",
        ]
    ]
    assert [(o.name, o.state, o.health) for o in observed] == [("web", "running", "healthy")]


def test_status_failure_observes_nothing(standin, stack) -> None:
    standin.install("docker")
    standin.set(rc="1", stdout='{"Labels":"com.docker.compose.service=web","State":"running"}\n')
    assert ComposeRuntime().status(stack) == []


def test_status_without_docker_observes_nothing(standin, stack) -> None:
    standin.install("docker-compose")
    assert ComposeRuntime().status(stack) == []


def test_available_follows_docker_on_path(standin) -> None:
    assert ComposeRuntime().available() is False
    standin.install("docker")
    assert ComposeRuntime().available() is True


def test_failure_names_the_command_its_status_and_output(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(rc="3", stdout="Creating web ...\n", stderr="no such image: nope\n")
    lines: list[str] = []
    with pytest.raises(RuntimeFailure) as err:
        ComposeRuntime().up(stack, ["web"], output=lines.append)
    command = " ".join([*base(stack, V1), "up", "-d", "web"])
    assert str(err.value).startswith(f"{command}: exit status 3: ")
    assert "no such image: nope" in str(err.value)
    assert "Creating web ..." in err.value.output
    assert "no such image: nope" in lines  # streamed too, not swallowed


def test_control_failure_is_reported(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(rc="1", stderr="No such service: ghost\n")
    with pytest.raises(RuntimeFailure, match=r"stop ghost: exit status 1: No such service: ghost$"):
        ComposeRuntime().control(stack, "stop", ["ghost"])


def test_unknown_control_verb_is_invalid_input(standin, stack) -> None:
    standin.install("docker-compose")
    with pytest.raises(InvalidInput, match='unknown verb "pause"'):
        ComposeRuntime().control(stack, "pause", ["web"])
    assert standin.calls() == []


def test_missing_root_is_a_clear_failure(standin, tmp_path) -> None:
    standin.install("docker-compose")
    missing = tmp_path / "gone"
    with pytest.raises(RuntimeFailure, match=f"^stack root {missing} does not exist$"):
        ComposeRuntime().down(RuntimeStack(root=str(missing), project="p"))


def test_output_is_streamed_while_the_command_runs(standin, stack, tmp_path) -> None:
    standin.install("docker-compose")
    flag = tmp_path / "seen-first-line"
    standin.set(mode="handshake", flag=str(flag))
    seen: list[str] = []

    def output(line: str) -> None:
        seen.append(line)
        if line == "first line":
            flag.touch()  # the stand-in only prints its second line once this exists

    ComposeRuntime().up(stack, [], output=output)
    assert seen == ["first line", "second line"]


def test_logs_without_follow_returns_the_lines(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(stdout="web-1  | hello\nweb-1  | world\n")
    assert list(ComposeRuntime().logs(stack, [])) == ["web-1  | hello", "web-1  | world"]


@pytest.mark.parametrize("v2", ["0", "1"], ids=["v1", "v2"])
def test_logs_yield_log_lines_only(standin, stack, v2) -> None:
    standin.install("docker", "docker-compose")
    standin.set(v2=v2, stdout="Attaching to demo_web_1\n  indented line\nlast\n")
    expected = (
        ["  indented line", "last"] if v2 == "0" else ["Attaching to demo_web_1", "  indented line", "last"]
    )
    assert list(ComposeRuntime().logs(stack, ["web"])) == expected
    with ComposeRuntime().logs(stack, ["web"], follow=True) as stream:
        assert list(stream) == expected


def test_logs_failure_raises_before_iterating(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(rc="1", stderr="No such service: ghost\n")
    with pytest.raises(RuntimeFailure, match="exit status 1: No such service: ghost$"):
        ComposeRuntime().logs(stack, ["ghost"])


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers signal 0: it has ended all the same.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_closing_a_follow_kills_the_follower_and_its_children(standin, stack, tmp_path) -> None:
    standin.install("docker-compose")
    flag = tmp_path / "follower-pids"
    standin.set(mode="follow", flag=str(flag))
    stream = ComposeRuntime().logs(stack, ["web"], follow=True)
    assert isinstance(stream, LogStream)
    assert next(stream) == "log line one"
    follower, child = (int(p) for p in flag.read_text().split())
    assert follower == stream.pid
    stream.close()
    assert _gone(follower)
    assert _gone(child)
    assert list(stream) == []


def test_closing_a_follow_from_another_thread_ends_the_reader_quietly(standin, stack, tmp_path) -> None:
    standin.install("docker-compose")
    standin.set(mode="follow", flag=str(tmp_path / "pids"))
    stream = ComposeRuntime().logs(stack, ["web"], follow=True)
    first = threading.Event()
    read: list[str] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for line in stream:
                read.append(line)
                first.set()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=reader)
    worker.start()
    assert first.wait(20)
    stream.close()  # the reader is blocked waiting for a next line
    worker.join(20)
    assert not worker.is_alive()
    assert (read, errors) == (["log line one"], [])
    assert _gone(stream.pid)


def test_closing_an_unstarted_follow_still_ends_it(standin, stack, tmp_path) -> None:
    standin.install("docker-compose")
    standin.set(mode="follow", flag=str(tmp_path / "pids"))
    stream = ComposeRuntime().logs(stack, [], follow=True)
    stream.close()
    assert _gone(stream.pid)


def test_a_failing_follow_raises_at_the_end(standin, stack) -> None:
    standin.install("docker-compose")
    standin.set(rc="2", stdout="oops\n")
    stream = ComposeRuntime().logs(stack, [], follow=True)
    assert next(stream) == "oops"
    with pytest.raises(RuntimeFailure, match="logs --follow: exit status 2: oops$"):
        next(stream)


def test_attached_up_ends_successfully_when_interrupted(standin, stack, tmp_path) -> None:
    standin.install("docker-compose")
    flag = tmp_path / "attached-pids"
    standin.set(mode="follow", flag=str(flag))
    runtime = ComposeRuntime()
    started = threading.Event()
    lines: list[str] = []
    errors: list[BaseException] = []

    def output(line: str) -> None:
        lines.append(line)
        started.set()

    def attached() -> None:
        try:
            runtime.up(stack, [], detach=False, output=output)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=attached)
    worker.start()
    assert started.wait(20)
    assert runtime.interrupt(stack, grace=5) is True
    worker.join(20)
    assert not worker.is_alive()
    assert errors == []
    assert lines[0] == "log line one"
    assert all(_gone(int(pid)) for pid in flag.read_text().split())
    assert runtime.interrupt(stack) is False  # nothing attached any more


def test_job_argv_carries_env_names_only(standin, stack) -> None:
    standin.install("docker")
    standin.set(record_env="API_TOKEN,MODE", stdout="job says hi\n", rc="4")
    lines: list[str] = []
    code, output = ComposeRuntime().run_job(
        stack,
        "busybox:test",
        ["sh", "-c", "echo hi"],
        {"MODE": "fast", "API_TOKEN": "s3cret-value"},
        ["/srv/data:/data", "cache:/cache:ro"],
        "/data",
        lines.append,
    )
    assert (code, output, lines) == (4, "job says hi", ["job says hi"])
    (record,) = standin.records()
    assert record["argv"] == [
        "docker", "run", "--rm", "-e", "API_TOKEN", "-e", "MODE",
        "-v", "/srv/data:/data", "-v", "cache:/cache:ro", "-w", "/data",
        "busybox:test", "sh", "-c", "echo hi",
    ]  # fmt: skip
    assert "s3cret-value" not in " ".join(record["argv"])
    assert record["env"] == {"API_TOKEN": "s3cret-value", "MODE": "fast"}
    assert record["cwd"] == stack.root


def test_job_without_mounts_or_workdir(standin, stack) -> None:
    standin.install("docker")
    assert ComposeRuntime().run_job(stack, "img", [], {}, [], "", None) == (0, "")
    assert standin.calls() == [["docker", "run", "--rm", "img"]]


def test_job_env_may_redefine_path_without_losing_docker(standin, stack) -> None:
    standin.install("docker")
    standin.set(record_env="PATH")
    code, _ = ComposeRuntime().run_job(stack, "img", ["env"], {"PATH": "/bin"}, [], "")
    assert code == 0
    assert standin.records()[0]["env"] == {"PATH": "/bin"}


def test_job_needs_docker_and_an_image(standin, stack) -> None:
    with pytest.raises(RuntimeFailure, match="^docker is required for container jobs$"):
        ComposeRuntime().run_job(stack, "img", [], {}, [], "")
    with pytest.raises(InvalidInput, match="requires an image"):
        ComposeRuntime().run_job(stack, "", [], {}, [], "")
