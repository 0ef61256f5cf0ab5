"""``EmbeddedRuntime``: Angee's own local engine, so ``angee dev`` works with nothing but Python.

One supervisord per stack root, started detached (files under ``<root>/run/local-engine/``, see
``paths``), runs the processes of the compiled ``process-compose.yaml`` with process-compose's
semantics (spec manifest-and-runtime §5.8 "Embedded local engine"): ``depends_on`` conditions,
``working_dir``, environment and ``${VAR}`` expansion (done by the launcher), restart policies,
start/stop/restart, status in process-compose's state names and per-process logs. Deviation from the
spec text: the engine listens on a private unix socket (0700), not on 127.0.0.1:P, so no other local
user can drive it; ``stack.control_port`` is not used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.errors import InvalidInput, RuntimeFailure

from .paths import EnginePaths, write_settings

STATUS_EVERY = 0.5


def _noop(_line: str) -> None:
    pass


@contextlib.contextmanager
def _ignoring(*codes: int) -> Iterator[None]:
    """Swallow supervisor faults with one of ``codes`` (already started, not running, ...)."""
    import xmlrpc.client  # lazily: the CLI imports every plugin at start-up

    try:
        yield
    except xmlrpc.client.Fault as fault:
        if fault.faultCode not in codes:
            raise


def _rpc_failure(what: str, exc: Exception) -> RuntimeFailure:
    import xmlrpc.client

    if isinstance(exc, xmlrpc.client.Fault):
        return RuntimeFailure(f"local engine: {what}: {exc.faultString}")
    return RuntimeFailure(f"local engine: {what}: {exc}")


class EmbeddedRuntime(Runtime):
    """Angee's embedded local engine: runs process-compose.yaml on supervisor, no external tool needed."""

    name = "embedded"
    serves = "local"

    def available(self) -> bool:
        """Always: the engine ships with this plugin (supervisor is a dependency)."""
        return True

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _paths(stack: RuntimeStack) -> EnginePaths:
        return EnginePaths.for_root(stack.root)

    @staticmethod
    def _process_file(stack: RuntimeStack) -> str:
        return stack.process_file or os.path.join(os.path.abspath(stack.root), "process-compose.yaml")

    def _project(self, stack: RuntimeStack) -> dict:
        from .project import load_project

        return load_project(self._process_file(stack))

    def _start(self, stack: RuntimeStack, services: list[str], output: Callable[[str], None]) -> list[str]:
        """Bring the engine up (or reconfigure it) and start ``services`` plus dependencies; the plan."""
        from .conf import render_conf
        from .control import (
            ALREADY_STARTED,
            RPC_ERRORS,
            SPAWN_ERROR,
            Fault,
            engine_lock,
            engine_running,
            reconfigure,
            rpc,
            start_engine,
        )
        from .project import start_order
        from .states import ACTIVE

        project = self._project(stack)
        plan = start_order(project, services)
        paths = self._paths(stack)
        conf_text = render_conf(paths, project)
        with engine_lock(paths):
            write_settings(paths, {"process_file": self._process_file(stack), "env_file": stack.env_file})
            if engine_running(paths):
                reconfigure(paths, conf_text)
            else:
                env = {**os.environ, **stack.extra_env}
                start_engine(paths, conf_text, env)
                output(f"local engine started for {paths.root}")
            proxy = rpc(paths, 60.0)
            try:
                for name in plan:
                    if proxy.supervisor.getProcessInfo(name)["statename"] in ACTIVE:
                        continue
                    with _ignoring(ALREADY_STARTED, SPAWN_ERROR):
                        proxy.supervisor.startProcess(name, False)
            except (*RPC_ERRORS, Fault) as exc:
                raise _rpc_failure("start processes", exc) from exc
        if plan:
            output(f"local engine: started {', '.join(plan)}")
        return plan

    # ------------------------------------------------------------------ contract

    def build(
        self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None
    ) -> None:
        """Local processes have nothing to build."""

    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None:
        """Start ``services`` (all enabled processes when empty) and their dependencies.

        Detached: return once started. Foreground: stream every process's lines as ``name | line`` to
        ``output`` until Ctrl-C (KeyboardInterrupt) or until every process is done, or the engine was
        stopped from elsewhere (``down``), then stop everything and the engine.
        """
        emit = output or _noop
        if detach:
            self._start(stack, services, emit)
            return
        try:
            plan = self._start(stack, services, emit)
            self._stream_until_done(stack, plan, emit)
        except KeyboardInterrupt:
            pass
        finally:
            self.down(stack, emit)

    def _stream_until_done(self, stack: RuntimeStack, plan: list[str], emit: Callable[[str], None]) -> None:
        from .logtail import read_logs

        paths = self._paths(stack)
        project = self._project(stack)
        files = {name: paths.process_log(name) for name in plan}
        done = lambda: self._all_settled(paths, {n: project[n] for n in plan})  # noqa: E731
        for name, line in read_logs(files, tail=0, follow=True, finished=done, check_every=STATUS_EVERY):
            emit(f"{name} | {line}")

    @staticmethod
    def _all_settled(paths: EnginePaths, specs: dict) -> bool:
        """Every planned process is done for good (or the engine is gone)."""
        from .control import RPC_ERRORS, Fault, rpc
        from .states import settled

        try:
            infos = {info["name"]: info for info in rpc(paths, 10.0).supervisor.getAllProcessInfo()}
        except (*RPC_ERRORS, Fault):
            return True
        return all(settled(spec, infos[name]) for name, spec in specs.items() if name in infos)

    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None:
        """Stop every process and the engine; waits until none of them is left running."""
        from .control import engine_lock, stop_engine

        paths = self._paths(stack)
        if not os.path.isdir(paths.dir):
            return
        try:
            grace = max((spec.stop_timeout for spec in self._project(stack).values()), default=10) + 15.0
        except RuntimeFailure:
            grace = 60.0
        with engine_lock(paths):
            if stop_engine(paths, grace):
                (output or _noop)(f"local engine stopped for {paths.root}")

    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        """``start``/``stop``/``restart`` each named process; stopping with no engine running is a no-op."""
        from .control import ALREADY_STARTED, NOT_RUNNING, RPC_ERRORS, SPAWN_ERROR, Fault, engine_running, rpc

        if verb not in ("start", "stop", "restart"):
            raise InvalidInput("verb", f'unknown verb "{verb}" (start, stop or restart)')
        paths = self._paths(stack)
        if not engine_running(paths):
            if verb == "stop":
                return
            raise RuntimeFailure(
                f"the local engine is not running for {paths.root}: start it with `angee dev -d`"
            )
        project = self._project(stack)
        for name in services:
            if name not in project:
                raise RuntimeFailure(f'process "{name}" is not defined in process-compose.yaml')
        proxy = rpc(paths, max((s.stop_timeout for s in project.values()), default=10) + 60.0)
        try:
            for name in services:
                if verb in ("stop", "restart"):
                    with _ignoring(NOT_RUNNING):
                        proxy.supervisor.stopProcess(name, True)
                if verb in ("start", "restart"):
                    with _ignoring(ALREADY_STARTED, SPAWN_ERROR):
                        proxy.supervisor.startProcess(name, False)
        except (*RPC_ERRORS, Fault) as exc:
            raise _rpc_failure(f"{verb} {', '.join(services)}", exc) from exc

    def logs(
        self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        """Lines of each named process (all processes when empty), ``name | `` prefixed when several.

        ``tail`` > 0 replays the last N lines of each; ``follow`` then interleaves new lines until the
        iterator is closed or the engine stops.
        """
        paths = self._paths(stack)
        names = list(services)
        if not names or os.path.exists(self._process_file(stack)):
            project = self._project(stack)
            for name in names:
                if name not in project:
                    raise RuntimeFailure(f'process "{name}" is not defined in process-compose.yaml')
            names = names or list(project)
        return self._log_lines(paths, names, follow=follow, tail=tail)

    @staticmethod
    def _log_lines(paths: EnginePaths, names: list[str], *, follow: bool, tail: int) -> Iterator[str]:
        from .control import engine_running
        from .logtail import read_logs

        files = {name: paths.process_log(name) for name in names}
        prefix = len(names) > 1
        stopped = lambda: not engine_running(paths)  # noqa: E731
        for name, line in read_logs(files, tail=tail, follow=follow, finished=stopped):
            yield f"{name} | {line}" if prefix else line

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """Every process the engine knows, with process-compose's state names; ``[]`` when it is not running."""
        from .control import RPC_ERRORS, Fault, rpc
        from .states import observed_state

        paths = self._paths(stack)
        if not os.path.exists(paths.socket):
            return []
        try:
            infos = rpc(paths, 10.0).supervisor.getAllProcessInfo()
        except (*RPC_ERRORS, Fault):
            return []
        return sorted(
            (ObservedService(name=str(info["name"]), state=observed_state(paths, info)) for info in infos),
            key=lambda svc: svc.name,
        )
