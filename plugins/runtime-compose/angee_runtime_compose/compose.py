"""Docker compose runtime for ``runtime: container`` services (spec manifest-and-runtime §5.8, §8).

Every operation runs ``DC -p <project> -f <root>/docker-compose.yaml [--env-file <env>] <op> ...`` as an
argv list in the stack root; long-running output is streamed line by line to the ``output`` callback
and kept for the error. ``DC`` is ``docker compose`` (v2) when it answers, else ``docker-compose`` (v1),
detected once per process. Stdlib only, so importing the plugin stays cheap.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.errors import InvalidInput, RuntimeFailure

COMPOSE_REQUIRED = "docker compose is required for container services"
DOCKER_REQUIRED = "docker is required for container jobs"
PROBE_TIMEOUT_SECONDS = 30.0  # `docker compose version`, `docker ps`
LONG_TIMEOUT_SECONDS = 3600.0  # build, up -d, down: image builds can take a while
CONTROL_TIMEOUT_SECONDS = 600.0  # start / stop / restart / one-shot logs
INTERRUPT_GRACE_SECONDS = 10.0  # SIGINT, then this long, then SIGKILL (spec §5.9 dev)
FOLLOW_CLOSE_GRACE_SECONDS = 5.0
CONTROL_VERBS = ("start", "stop", "restart")
PS_FORMAT = "{{json .}}"
V1_LOGS_HEADER = "Attaching to "  # compose v1 prints it on stdout before the log lines

_compose_lock = threading.Lock()
_compose_command: list[str] | None = None


def compose_command() -> list[str]:
    """``["docker", "compose"]`` if ``docker compose version`` succeeds, else ``["docker-compose"]``
    when it is on PATH; detected once per process. Neither → RuntimeFailure(COMPOSE_REQUIRED)."""
    global _compose_command
    with _compose_lock:
        if _compose_command is None:
            _compose_command = _detect_compose()
        return list(_compose_command)


def forget_compose_command() -> None:
    """Drop the cached compose detection (tests that change PATH call this)."""
    global _compose_command
    with _compose_lock:
        _compose_command = None


def _detect_compose() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        try:
            probe = subprocess.run(
                ["docker", "compose", "version"],
                executable=docker,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=PROBE_TIMEOUT_SECONDS,
            )
            if probe.returncode == 0:
                return ["docker", "compose"]
        except (OSError, subprocess.SubprocessError):
            pass
    if shutil.which("docker-compose") is not None:
        return ["docker-compose"]
    raise RuntimeFailure(COMPOSE_REQUIRED)


def compose_base(stack: RuntimeStack) -> list[str]:
    """``BASE`` of spec §5.8: ``DC -p <project> -f <root>/docker-compose.yaml [--env-file <file>]``
    (the runtime env file only when it exists)."""
    compose_file = stack.compose_file or os.path.join(stack.root, "docker-compose.yaml")
    argv = [*compose_command(), "-p", stack.project, "-f", compose_file]
    if stack.env_file and os.path.isfile(stack.env_file):
        argv += ["--env-file", stack.env_file]
    return argv


def ps_argv(project: str) -> list[str]:
    """The status query: every container (running or not) labelled with the compose project."""
    label = f"label=com.docker.compose.project={project}"
    return ["docker", "ps", "-a", "--filter", label, "--format", PS_FORMAT]


def job_argv(
    image: str, command: list[str], env_names: list[str], mounts: list[str], workdir: str
) -> list[str]:
    """``docker run --rm [-e NAME]… [-v <mount>]… [-w <workdir>] <image> [command…]`` (spec §8);
    only env *names* go in argv, the values travel in the docker process environment."""
    argv = ["docker", "run", "--rm"]
    for name in sorted(env_names):
        argv += ["-e", name]
    for mount in mounts:
        argv += ["-v", mount]
    if workdir:
        argv += ["-w", workdir]
    return [*argv, image, *command]


# --------------------------------------------------------------------------- status parsing

_STATUS_PREFIX_STATES = ("restarting", "exited", "created", "dead")  # Status text starts with the state


def parse_labels(labels: Any) -> dict[str, str]:
    """Docker's ``Labels`` column ``k=v,k=v`` (a dict is taken as is); a piece without ``=`` belongs
    to the previous value (label values such as config file lists may hold commas)."""
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    if not isinstance(labels, str):
        return {}
    parsed: dict[str, str] = {}
    last = ""
    for piece in labels.split(","):
        key, sep, value = piece.partition("=")
        if sep:
            last = key.strip()
            parsed[last] = value
        elif last:
            parsed[last] += "," + piece
    return parsed


def state_from_status(status: str) -> str:
    """The container state a ``docker ps`` Status text implies (``Up 3 minutes (Paused)`` → ``paused``)."""
    text = status.strip().lower()
    if text.startswith("up"):
        return "paused" if "(paused)" in text else "running"
    for state in _STATUS_PREFIX_STATES:
        if text.startswith(state):
            return state
    return ""


def health_from_status(status: str) -> str:
    """``healthy`` / ``unhealthy`` / ``starting`` from the Status text's health marker, else ``""``."""
    text = status.lower()
    if "(unhealthy)" in text:
        return "unhealthy"
    if "(healthy)" in text:
        return "healthy"
    if "(health: starting)" in text:
        return "starting"
    return ""


def _observed(row: Any) -> ObservedService | None:
    if not isinstance(row, dict):
        return None
    service = parse_labels(row.get("Labels")).get("com.docker.compose.service", "").strip()
    if not service:
        return None
    status = row.get("Status") if isinstance(row.get("Status"), str) else ""
    state = row.get("State") if isinstance(row.get("State"), str) else ""
    state = state.strip().lower() or state_from_status(status)
    return ObservedService(name=service, state=state, health=health_from_status(status))


def parse_ps_output(text: str) -> list[ObservedService]:
    """Services from ``docker ps --format '{{json .}}'``: one object per line (an array line is also
    accepted); lines that are not JSON or carry no compose service label are skipped."""
    observed: list[ObservedService] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        for row in data if isinstance(data, list) else [data]:
            seen = _observed(row)
            if seen is not None:
                observed.append(seen)
    return observed


# --------------------------------------------------------------------------- subprocess runner


def _process_env(stack: RuntimeStack, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack.extra_env or {})
    env.update(extra or {})
    return env


def _resolve(argv: list[str], missing: str) -> str:
    """The absolute path of ``argv[0]`` on the caller's PATH (a job env may redefine PATH)."""
    found = shutil.which(argv[0])
    if found is None:
        raise RuntimeFailure(missing)
    return found


def _check_root(root: str) -> None:
    if not os.path.isdir(root):
        raise RuntimeFailure(f"stack root {root} does not exist")


def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_process(proc: subprocess.Popen[str], first: int, grace: float) -> None:
    """Send ``first`` to the process group, wait ``grace`` seconds, then SIGKILL the group."""
    if proc.poll() is None:
        _signal_group(proc, first)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while a child it spawned (the v2 compose plugin) lingers.
    _signal_group(proc, signal.SIGKILL)
    proc.wait()


def _spawn(argv: list[str], stack: RuntimeStack, env: dict[str, str], missing: str) -> subprocess.Popen[str]:
    _check_root(stack.root)
    executable = _resolve(argv, missing)
    try:
        return subprocess.Popen(
            argv,
            executable=executable,
            cwd=stack.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # our own group: one interrupt reaches compose and its plugin child
        )
    except OSError as exc:
        raise RuntimeFailure(f"{' '.join(argv)}: {exc.strerror or exc}") from None


class _Run:
    """One streamed subprocess: lines go to ``output`` as they arrive and are kept for the error."""

    def __init__(self, argv: list[str], stack: RuntimeStack, *, env: dict[str, str], missing: str) -> None:
        self.argv = argv
        self.shown = " ".join(argv)
        self.proc = _spawn(argv, stack, env, missing)
        self.interrupted = False
        self.timed_out = False

    def interrupt(self, grace: float = INTERRUPT_GRACE_SECONDS) -> None:
        """SIGINT, ``grace`` seconds, then SIGKILL; the run then counts as a success."""
        self.interrupted = True
        _stop_process(self.proc, signal.SIGINT, grace)

    def _expire(self) -> None:
        self.timed_out = True
        _stop_process(self.proc, signal.SIGINT, INTERRUPT_GRACE_SECONDS)

    def wait(self, output: Callable[[str], None] | None, timeout: float | None) -> tuple[int, str]:
        """Stream until the process ends; return ``(exit code, combined output)``."""
        timer = threading.Timer(timeout, self._expire) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        lines: list[str] = []
        assert self.proc.stdout is not None
        try:
            for raw in self.proc.stdout:
                line = raw.rstrip("\r\n")
                lines.append(line)
                if output is not None:
                    output(line)
            code = self.proc.wait()
        except BaseException:
            # Ctrl-C in the caller or a failing output callback: do not leave compose running alone.
            _stop_process(self.proc, signal.SIGINT, INTERRUPT_GRACE_SECONDS)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self.proc.stdout.close()
        return code, "\n".join(lines)

    def check(self, output: Callable[[str], None] | None, timeout: float | None) -> str:
        """Stream to the end; a non-zero exit raises ``<cmd> <args>: exit status N: <output>``."""
        code, text = self.wait(output, timeout)
        if self.timed_out or (code != 0 and not self.interrupted):
            text = text.strip()
        if self.timed_out:
            raise RuntimeFailure(f"{self.shown}: timed out after {timeout:g}s", output=text)
        if code != 0 and not self.interrupted:
            raise RuntimeFailure(f"{self.shown}: exit status {code}: {text}", output=text)
        return text


class LogStream(Iterator[str]):
    """Lines of a live ``logs --follow``; ``close()`` (or leaving a ``with`` block) ends the follower."""

    def __init__(self, run: _Run, *, skip_v1_header: bool = False) -> None:
        self._run = run
        self._tail: list[str] = []
        self._closed = False
        self._skip_header = skip_v1_header

    @property
    def pid(self) -> int:
        """Process id of the follower (its process group has the same id)."""
        return self._run.proc.pid

    def __iter__(self) -> LogStream:
        return self

    def __next__(self) -> str:
        stdout = self._run.proc.stdout
        if self._closed or stdout is None:
            raise StopIteration
        try:
            raw = stdout.readline()
            if raw and self._skip_header:
                self._skip_header = False
                if raw.startswith(V1_LOGS_HEADER):
                    raw = stdout.readline()
        except ValueError:  # the pipe was closed by close() in another thread
            raise StopIteration from None
        if raw:
            line = raw.rstrip("\r\n")
            self._tail = [*self._tail[-49:], line]
            return line
        code = self._run.proc.wait()
        closed_by_us = self._closed
        self.close()
        if code != 0 and not closed_by_us:
            text = "\n".join(self._tail).strip()
            raise RuntimeFailure(f"{self._run.shown}: exit status {code}: {text}", output=text)
        raise StopIteration

    def close(self) -> None:
        """Terminate the follower (SIGTERM, short grace, SIGKILL) and release its pipe; idempotent."""
        if self._closed:
            return
        self._closed = True
        _stop_process(self._run.proc, signal.SIGTERM, FOLLOW_CLOSE_GRACE_SECONDS)
        if self._run.proc.stdout is not None:
            self._run.proc.stdout.close()

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# --------------------------------------------------------------------------- the runtime


class ComposeRuntime(Runtime):
    """Docker compose backend for container services."""

    name = "compose"
    serves = "container"

    def __init__(self) -> None:
        self._attached: dict[str, _Run] = {}
        self._attached_lock = threading.Lock()

    def available(self) -> bool:
        """Whether ``docker`` is on PATH (status queries use the docker CLI itself)."""
        return shutil.which("docker") is not None

    def _compose(
        self,
        stack: RuntimeStack,
        args: list[str],
        output: Callable[[str], None] | None = None,
        timeout: float | None = LONG_TIMEOUT_SECONDS,
    ) -> str:
        run = _Run([*compose_base(stack), *args], stack, env=_process_env(stack), missing=COMPOSE_REQUIRED)
        return run.check(output, timeout)

    def build(
        self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None
    ) -> None:
        """``BASE build [svc…]``, output streamed."""
        self._compose(stack, ["build", *services], output)

    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None:
        """Detached: ``BASE up -d [--build] [svc…]``. Attached (dev): ``BASE build`` when ``build``, then
        ``BASE up [svc…]`` until it exits or :meth:`interrupt` stops it (an interruption is a success)."""
        if detach:
            self._compose(stack, ["up", "-d", *(["--build"] if build else []), *services], output)
            return
        if build:
            self._compose(stack, ["build"], output)
        run = _Run(
            [*compose_base(stack), "up", *services], stack, env=_process_env(stack), missing=COMPOSE_REQUIRED
        )
        with self._attached_lock:
            self._attached[stack.project] = run
        try:
            run.check(output, None)
        finally:
            with self._attached_lock:
                if self._attached.get(stack.project) is run:
                    del self._attached[stack.project]

    def interrupt(self, stack: RuntimeStack, grace: float = INTERRUPT_GRACE_SECONDS) -> bool:
        """Stop an attached ``up`` of this stack running in another thread: SIGINT, ``grace`` seconds,
        then SIGKILL. Returns whether one was running; its ``up`` call then returns normally."""
        with self._attached_lock:
            run = self._attached.get(stack.project)
        if run is None:
            return False
        run.interrupt(grace)
        return True

    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None:
        """``BASE down``: removes the project's containers and networks (volumes are kept)."""
        self._compose(stack, ["down"], output)

    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        """``BASE start|stop|restart svc…``."""
        if verb not in CONTROL_VERBS:
            raise InvalidInput("verb", f'unknown verb "{verb}" (expected start, stop or restart)')
        self._compose(stack, [verb, *services], None, CONTROL_TIMEOUT_SECONDS)

    def logs(
        self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        """``BASE logs [--follow] [--no-log-prefix] [--tail N] [svc…]`` (no prefix for one service).

        Without ``follow`` the lines are read before returning (a failure raises here); with it a
        :class:`LogStream` over the live follower is returned, which ``close()`` terminates. Compose
        v1's leading ``Attaching to …`` line is dropped so both versions yield only log lines."""
        args = ["logs"]
        if follow:
            args.append("--follow")
        if len(services) == 1:
            args.append("--no-log-prefix")
        if tail > 0:
            args += ["--tail", str(tail)]
        argv = [*compose_base(stack), *args, *services]
        v1 = argv[0] == "docker-compose"  # v1 heads its output with "Attaching to …": not a log line
        run = _Run(argv, stack, env=_process_env(stack), missing=COMPOSE_REQUIRED)
        if follow:
            return LogStream(run, skip_v1_header=v1)
        lines = run.check(None, CONTROL_TIMEOUT_SECONDS).splitlines()
        if v1 and lines and lines[0].startswith(V1_LOGS_HEADER):
            lines = lines[1:]
        return iter(lines)

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """Observed services from ``docker ps -a`` filtered by the project label; failure → ``[]``."""
        docker = shutil.which("docker")
        if docker is None:
            return []
        try:
            done = subprocess.run(
                ps_argv(stack.project),
                executable=docker,
                cwd=stack.root if os.path.isdir(stack.root) else None,
                env=_process_env(stack),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=PROBE_TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.SubprocessError):
            return []
        if done.returncode != 0:
            return []
        return parse_ps_output(done.stdout)

    def run_job(
        self,
        stack: RuntimeStack,
        image: str,
        command: list[str],
        env: dict[str, str],
        mounts: list[str],
        workdir: str = "",
        output: Callable[[str], None] | None = None,
    ) -> tuple[int, str]:
        """Run a container job once (spec §8) and return ``(exit code, stdout+stderr in order)``.

        ``mounts`` are resolved ``host:container[:mode]`` strings. Env values reach the container via
        the docker process environment, never argv. The caller turns a non-zero code into the job error.
        """
        if not image:
            raise InvalidInput("image", "a container job requires an image to run")
        argv = job_argv(image, command, list(env), mounts, workdir)
        run = _Run(argv, stack, env=_process_env(stack, env), missing=DOCKER_REQUIRED)
        return run.wait(output, None)
