"""``ProcessComposeRuntime``: local services on the external process-compose tool (spec manifest-and-runtime §5.8).

Every call is an argv list run with cwd ``<root>`` and env = process env + runtime env file entries
(+ ``stack.extra_env``); failures become ``RuntimeFailure("<cmd> <args>: exit status N: <output>")``.
The server is started with ``-f <root>/process-compose.yaml --address 127.0.0.1 --port P up``; every
other call is a client of it (``process-compose --address 127.0.0.1 --port P ...``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator

from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.errors import InvalidInput, RuntimeFailure

PC = "process-compose"
MISSING = "process-compose is required for local services (install it or select the embedded engine)"
DEFAULT_PORT = 8080
INTERRUPT_GRACE = 10.0
TIMEOUTS = {"up": 300.0, "down": 300.0, "process": 300.0, "list": 30.0, "logs": 60.0}


def parse_status(text: str) -> list[ObservedService]:
    """``list -o json`` output: text before the first ``[`` dropped, then an array of
    ``{name, status, is_running, exit_code, is_ready}``; anything unreadable observes nothing."""
    start = text.find("[")
    if start < 0:
        return []
    try:
        items, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    observed = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            continue
        state = str(item.get("status") or "").strip().lower()
        ready = str(item.get("is_ready") or "").strip().lower()
        health = {"ready": "healthy", "not ready": "unhealthy", "notready": "unhealthy"}.get(ready, "")
        observed.append(ObservedService(name=item["name"], state=state, health=health))
    return observed


def _noop(_line: str) -> None:
    pass


class ProcessComposeRuntime(Runtime):
    """process-compose backend for local services (needs the process-compose tool on PATH)."""

    name = "process-compose"
    serves = "local"

    def available(self) -> bool:
        """Whether ``process-compose`` is on PATH."""
        return shutil.which(PC) is not None

    # ------------------------------------------------------------------ command lines

    @staticmethod
    def _env(stack: RuntimeStack) -> dict[str, str]:
        env = dict(os.environ)
        if stack.env_file:
            from angee.secrets.envfile import read_env_file_lenient

            env.update(read_env_file_lenient(stack.env_file))
        env.update(stack.extra_env)
        return env

    @staticmethod
    def _process_file(stack: RuntimeStack) -> str:
        return stack.process_file or os.path.join(stack.root, "process-compose.yaml")

    @staticmethod
    def _port(stack: RuntimeStack) -> str:
        return str(stack.control_port if stack.control_port > 0 else DEFAULT_PORT)

    def _client(self, stack: RuntimeStack) -> list[str]:
        return [PC, "--address", "127.0.0.1", "--port", self._port(stack)]

    def _up_argv(self, stack: RuntimeStack, services: list[str], detach: bool) -> list[str]:
        argv = [
            PC,
            "-f",
            self._process_file(stack),
            "--address",
            "127.0.0.1",
            "--port",
            self._port(stack),
            "up",
        ]
        return argv + (["--detached"] if detach else []) + ["--tui=false", *services]

    @staticmethod
    def _require(env: dict[str, str]) -> None:
        if shutil.which(PC, path=env.get("PATH")) is None:
            raise RuntimeFailure(MISSING)

    def _run(self, stack: RuntimeStack, argv: list[str], timeout: float) -> str:
        """Run ``argv`` to completion; its combined output, or ``RuntimeFailure`` naming the command."""
        env = self._env(stack)
        self._require(env)
        try:
            proc = subprocess.run(
                argv,
                cwd=stack.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeFailure(f"{' '.join(argv)}: timed out after {timeout:g}s") from exc
        except OSError as exc:
            raise RuntimeFailure(f"{' '.join(argv)}: {exc.strerror or exc}") from exc
        if proc.returncode != 0:
            out = proc.stdout.strip()
            raise RuntimeFailure(
                f"{' '.join(argv)}: exit status {proc.returncode}: {out}", output=proc.stdout
            )
        return proc.stdout

    def _popen(self, stack: RuntimeStack, argv: list[str]) -> subprocess.Popen[str]:
        env = self._env(stack)
        self._require(env)
        try:
            return subprocess.Popen(
                argv,
                cwd=stack.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise RuntimeFailure(f"{' '.join(argv)}: {exc.strerror or exc}") from exc

    # ------------------------------------------------------------------ contract

    def build(
        self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None
    ) -> None:
        """process-compose has no build step."""

    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None:
        """``up --detached`` (returns once the server runs), or foreground until it exits or Ctrl-C."""
        emit = output or _noop
        argv = self._up_argv(stack, services, detach)
        if detach:
            for line in self._run(stack, argv, TIMEOUTS["up"]).splitlines():
                emit(line)
            return
        proc = self._popen(stack, argv)
        tail: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail = (tail + [line])[-50:]
                emit(line)
            code = proc.wait()
        except KeyboardInterrupt:
            _interrupt(proc)
            return
        if code != 0:
            text = "\n".join(tail)
            raise RuntimeFailure(f"{' '.join(argv)}: exit status {code}: {text.strip()}", output=text)

    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None:
        """``CLIENT down``; a server that is not running (connection refused) counts as down."""
        try:
            out = self._run(stack, [*self._client(stack), "down"], TIMEOUTS["down"])
        except RuntimeFailure as exc:
            if "connection refused" in exc.output.lower():
                return
            raise
        for line in out.splitlines():
            (output or _noop)(line)

    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        """``CLIENT process start|stop|restart <name>``, one call per name."""
        if verb not in ("start", "stop", "restart"):
            raise InvalidInput("verb", f'unknown verb "{verb}" (start, stop or restart)')
        for name in services:
            self._run(stack, [*self._client(stack), "process", verb, name], TIMEOUTS["process"])

    def logs(
        self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        """``CLIENT process logs [--follow] [--tail N] <n1,n2>`` (all observed processes when none named)."""
        names = list(services) or [svc.name for svc in self.status(stack)]
        if not names:
            return iter(())
        argv = [*self._client(stack), "process", "logs"]
        argv += (
            (["--follow"] if follow else []) + (["--tail", str(tail)] if tail > 0 else []) + [",".join(names)]
        )
        if not follow:
            return iter(self._run(stack, argv, TIMEOUTS["logs"]).splitlines())
        return self._follow(self._popen(stack, argv), argv)

    @staticmethod
    def _follow(proc: subprocess.Popen[str], argv: list[str]) -> Iterator[str]:
        tail: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail = (tail + [line])[-20:]
                yield line
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(INTERRUPT_GRACE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if code != 0:
            text = "\n".join(tail)
            raise RuntimeFailure(f"{' '.join(argv)}: exit status {code}: {text.strip()}", output=text)

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """``CLIENT list -o json`` parsed per §5.8; any failure observes nothing."""
        try:
            return parse_status(
                self._run(stack, [*self._client(stack), "list", "-o", "json"], TIMEOUTS["list"])
            )
        except RuntimeFailure:
            return []


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """SIGINT the foreground server (a terminal Ctrl-C already did), give it 10 s, then kill it."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGINT)
        except OSError:
            pass
    try:
        proc.wait(INTERRUPT_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
