"""Running a stack: the lifecycle, services and jobs (spec manifest-and-runtime §5.8, §5.9, §8).

The runtime backends come from plugins (``self.plugins.providers("runtimes")``), chosen by
:func:`select_backend`: ``container`` services go to the first available backend serving
``container`` (compose); ``local`` services and jobs to ``process-compose`` when it is installed, else
the embedded engine. The environment variable ``ANGEE_LOCAL_ENGINE=embedded|process-compose`` picks
the local engine explicitly. A backend with nothing compiled is skipped.

Foreground runs (``angee dev``) and interleaved log follows run each backend in a worker process of
its own session (:mod:`angee.platform.workers`) so either can be interrupted like a Ctrl-C; executing
a job lives in :mod:`angee.platform.jobrun`, the OpenBao bootstrap in
:mod:`angee.platform.openbao_bootstrap`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from angee.api import JobState, MutationResult, ServiceState
from angee.api.runtime import ServiceEndpoint, ServiceInitRequest
from angee.errors import Conflict, InvalidInput, NotFound, RuntimeFailure

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.compile import CompiledStack
    from angee.contracts import Runtime, RuntimeStack
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry

Output = Callable[[str], None] | None

LOCAL_ENGINE_ENV = "ANGEE_LOCAL_ENGINE"
RUNTIMES = ("container", "local")
# Observed states in which a service is not running (nothing to stop before destroying it).
STOPPED_STATES = frozenset(
    {
        "exited",
        "completed",
        "dead",
        "created",
        "error",
        "stopped",
        "terminated",
        "skipped",
        "disabled",
        "failed",
    }
)


def select_backend(plugins: PluginRegistry, runtime: str) -> Runtime:
    """The backend running ``runtime`` services: for ``local`` the one ``ANGEE_LOCAL_ENGINE`` names, else
    the first available. When none is available the first installed is returned anyway, so its own
    operations say what is missing (``docker compose is required for container services``)."""
    backends = [b for b in plugins.providers("runtimes").values() if getattr(b, "serves", "") == runtime]
    if not backends:
        raise RuntimeFailure(f'no installed plugin runs "{runtime}" services')
    wanted = os.environ.get(LOCAL_ENGINE_ENV, "").strip() if runtime == "local" else ""
    if wanted:
        for backend in backends:
            if backend.name == wanted:
                return backend
        known = ", ".join(b.name for b in backends)
        message = f'{LOCAL_ENGINE_ENV}: unknown local engine "{wanted}" (installed: {known})'
        raise InvalidInput(LOCAL_ENGINE_ENV, message, message=message)
    for backend in backends:
        try:
            if backend.available():
                return backend
        except Exception:
            continue
    return backends[0]


def _emit(output: Output, text: str) -> None:
    """Pass one line (without its line break) to an ``output`` callback, if any."""
    if output is not None:
        output(text.rstrip("\r\n"))


class LogLines(Iterator[str]):
    """Log lines of one or more backend streams read one after the other, each ending in one ``\\n``.

    ``close()`` closes the current backend stream (ending a follower process); ``cancel()`` does the
    same from another thread (the operator's stream pump) as far as the backend stream allows.
    """

    def __init__(self, streams: Iterator[Iterator[str]]) -> None:
        self._streams = streams
        self._current: Iterator[str] | None = None
        self._cancelled = False

    def __iter__(self) -> LogLines:
        return self

    def __next__(self) -> str:
        while not self._cancelled:
            if self._current is None:
                self._current = next(self._streams, None)
                if self._current is None:
                    break
            try:
                return next(self._current).rstrip("\r\n") + "\n"
            except StopIteration:
                self._close_current()
        self.close()
        raise StopIteration

    def _close_current(self) -> None:
        current, self._current = self._current, None
        close = getattr(current, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # a generator still running on another thread: it ends on its next line
                pass

    def cancel(self) -> None:
        self._cancelled = True
        cancel = getattr(self._current, "cancel", None)
        if cancel is not None:
            cancel()
        else:
            self._close_current()

    def close(self) -> None:
        self._cancelled = True
        self._close_current()


def _observe(backend: Runtime, stack: RuntimeStack) -> list[Any]:
    """A backend's observed services; a failing query observes nothing (spec §5.8)."""
    try:
        return list(backend.status(stack) or [])
    except Exception:
        return []


class RuntimeOps:
    """Lifecycle (build, up, dev, down, destroy, logs), service and job operations of one root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase, PrepareOps, SecretOps, StackOps, ServiceTemplateOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def mutate(self, change: Callable[[Manifest], Any], *, create: Manifest | None = None) -> Any: ...

        def stack_prepare(self) -> CompiledStack: ...

        def runtime_stack(self) -> RuntimeStack: ...

        def resolve_secrets(self) -> dict[str, str]: ...

        def stack_status(self) -> Any: ...

        def destroy_service_assets(self, name: str) -> None: ...  # ServiceTemplateOps

    # ------------------------------------------------------------------ backends

    def _backend(self, runtime: str) -> Runtime:
        return select_backend(self.plugins, runtime)

    def _prepared(
        self, output: Output = None, bootstrap: bool = False
    ) -> tuple[CompiledStack, RuntimeStack, list[tuple[str, Runtime]]]:
        """(OpenBao bootstrap,) StackPrepare, then the runtime stack and the backends with something
        compiled, container first."""
        if bootstrap:
            from angee.platform.openbao_bootstrap import bootstrap_openbao

            bootstrap_openbao(
                self.root,
                self.load(),
                self.plugins,
                lambda: self._backend("container"),
                self.runtime_stack,
                output,
            )
        compiled = self.stack_prepare()
        stack = self.runtime_stack()
        active = [
            (runtime, self._backend(runtime))
            for runtime, document in (("container", compiled.compose), ("local", compiled.process_compose))
            if document
        ]
        return compiled, stack, active

    # ------------------------------------------------------------------ name checks

    @staticmethod
    def _service_runtime(manifest: Manifest, name: str) -> str:
        """The runtime of service ``name``; an unknown name or a job name is NotFound."""
        service = manifest.services.get(name)
        if service is None:
            raise NotFound("service", name)
        return service.runtime

    def _container_names(self, manifest: Manifest, names: list[str] | None) -> list[str]:
        """Check that every name is a container service (§5.9 build/up)."""
        for name in names or []:
            runtime = self._service_runtime(manifest, name)
            if runtime != "container":
                message = f'service "{name}" uses runtime "{runtime}", not "container"'
                raise InvalidInput("services", message, message=message)
        return list(names or [])

    @staticmethod
    def _log_targets(manifest: Manifest, names: list[str] | None) -> dict[str, list[str]]:
        """``{runtime: names}`` for logs: all services by default; named local jobs are processes too."""
        chosen = list(names) if names else sorted(manifest.services)
        groups: dict[str, list[str]] = {runtime: [] for runtime in RUNTIMES}
        for name in chosen:
            if name in manifest.services:
                groups.setdefault(manifest.services[name].runtime, []).append(name)
            elif name in manifest.jobs and manifest.jobs[name].runtime == "local":
                groups["local"].append(name)
            else:
                raise NotFound("service", name)
        return groups

    # ------------------------------------------------------------------ stack lifecycle

    def stack_build(self, services: list[str] | None = None, output: Output = None) -> MutationResult:
        """Build container images (``BASE build [svc…]``); names must be container services."""
        names = self._container_names(self.load(), services)
        _, stack, active = self._prepared(output, bootstrap=True)
        for runtime, backend in active:
            if runtime == "container":
                backend.build(stack, names, output=output)
        return MutationResult(status="built")

    def stack_up(
        self, services: list[str] | None = None, build: bool = False, output: Output = None
    ) -> MutationResult:
        """Start container services detached: the named ones, else all of them (named explicitly)."""
        manifest = self.load()
        names = self._container_names(manifest, services) or sorted(
            n for n, s in manifest.services.items() if s.runtime == "container"
        )
        _, stack, active = self._prepared(output, bootstrap=True)
        for runtime, backend in active:
            if runtime == "container" and names:
                backend.up(stack, names, build=build, detach=True, output=output)
        return MutationResult(status="started")

    def stack_dev(self, build: bool = False, detach: bool = False, output: Output = None) -> MutationResult:
        """Bring up container and local services together.

        ``detach``: compose ``up -d`` then the local engine detached. Foreground: both runtimes attached
        at once with their output streamed; the first to exit interrupts the other (SIGINT, 10 s grace,
        kill); Ctrl-C stops everything. Interruption is success; a runtime failing on its own raises.
        """
        _, stack, active = self._prepared(output, bootstrap=True)
        if detach:
            for runtime, backend in active:
                backend.up(stack, [], build=build and runtime == "container", detach=True, output=output)
            return MutationResult(status="started")
        if not active:  # nothing compiled: nothing to run, only logs to follow
            for line in self._stream_logs(stack, [], follow=True, tail=0):
                _emit(output, line)
            return MutationResult(status="stopped")
        from angee.platform.workers import run_foreground

        for runtime, backend in active:
            if build and runtime == "container":
                backend.build(stack, [], output=output)
        run_foreground(stack, [(runtime, backend, []) for runtime, backend in active], output)
        return MutationResult(status="stopped")

    def stack_down(self, output: Output = None) -> MutationResult:
        """Stop the stack: compose down when a container service exists (and its file was written), the
        local engine when a local service or job exists. Both backends treat "not running" as down."""
        manifest = self.load()
        stack = self.runtime_stack()
        if any(s.runtime == "container" for s in manifest.services.values()) and os.path.isfile(
            stack.compose_file
        ):
            self._backend("container").down(stack, output=output)
        if any(s.runtime == "local" for s in [*manifest.services.values(), *manifest.jobs.values()]):
            self._backend("local").down(stack, output=output)
        return MutationResult(status="stopped")

    def stack_destroy(self, purge: bool = False) -> MutationResult:
        """Down, then delete both runtime files; ``purge`` also deletes ``workspaces/``, ``sources/``,
        ``volumes/`` and ``run/`` (never ``angee.yaml`` or ``.env``)."""
        from angee.lock import root_lock

        self.stack_down()
        with root_lock(self.root):
            for name in ("docker-compose.yaml", "process-compose.yaml"):
                try:
                    os.unlink(os.path.join(self.root, name))
                except FileNotFoundError:
                    pass
        if purge:
            for name in ("workspaces", "sources", "volumes", "run"):
                path = os.path.join(self.root, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                elif os.path.lexists(path):
                    os.unlink(path)
        return MutationResult(status="destroyed")

    def stack_logs(
        self, services: list[str] | None = None, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        """Log lines (each ending in ``\\n``) of the named services, else of all services (no jobs) of
        the runtimes that observe something: container output then local; ``follow`` interleaves both
        live until the iterator is closed."""
        groups = self._log_targets(self.load(), services)
        _, stack, active = self._prepared()
        targets = [
            (runtime, backend, groups[runtime])
            for runtime, backend in active
            if groups.get(runtime) and (services or _observe(backend, stack))
        ]
        return self._stream_logs(stack, targets, follow=follow, tail=tail)

    @staticmethod
    def _stream_logs(
        stack: RuntimeStack, targets: list[tuple[str, Runtime, list[str]]], *, follow: bool, tail: int
    ) -> Iterator[str]:
        if follow and len(targets) > 1:
            from angee.platform.workers import FollowedLogs

            return FollowedLogs(stack, targets, tail)
        streams = [backend.logs(stack, names, follow=follow, tail=tail) for _, backend, names in targets]
        return LogLines(iter(streams))

    # ------------------------------------------------------------------ one service

    def _control(self, verb: str, name: str) -> None:
        runtime = self._service_runtime(self.load(), name)
        _, stack, _ = self._prepared()
        self._backend(runtime).control(stack, verb, [name])

    def service_start(self, name: str) -> MutationResult:
        """Start one declared service (a job name is NotFound)."""
        self._control("start", name)
        return MutationResult(status="started", name=name)

    def service_stop(self, name: str) -> MutationResult:
        """Stop one declared service."""
        self._control("stop", name)
        return MutationResult(status="stopped", name=name)

    def service_restart(self, name: str) -> MutationResult:
        """Restart one declared service."""
        self._control("restart", name)
        return MutationResult(status="restarted", name=name)

    def service_up(self, name: str, output: Output = None) -> MutationResult:
        """Idempotent create-and-start of one service: compose ``up -d <name>``; for a local service the
        engine is brought up with it, or the process started when the engine already runs."""
        runtime = self._service_runtime(self.load(), name)
        _, stack, _ = self._prepared(output, bootstrap=True)
        backend = self._backend(runtime)
        observed = {seen.name: seen for seen in _observe(backend, stack)} if runtime == "local" else {}
        if name not in observed:  # container, engine not running, or a process it does not know yet
            backend.up(stack, [name], detach=True, output=output)
        elif observed[name].state.strip().lower() != "running":
            backend.control(stack, "start", [name])
        return MutationResult(status="up", name=name)

    def service_logs(self, name: str, follow: bool = False, tail: int = 0) -> Iterator[str]:
        """Log lines of one service (each ending in ``\\n``); ``follow`` streams until closed."""
        runtime = self._service_runtime(self.load(), name)
        _, stack, _ = self._prepared()
        return LogLines(iter([self._backend(runtime).logs(stack, [name], follow=follow, tail=tail)]))

    def services_list(self) -> list[ServiceState]:
        """Every service with its observed state (else ``declared``), by name."""
        return list(self.stack_status().services.values())

    def service_endpoint(self, name: str) -> ServiceEndpoint:
        """How a service is reached: not routed until the edge ingress ships; internal host = its name."""
        service = self.load().services.get(name)
        if service is None:
            raise NotFound("service", name)
        port = service.route.port if service.route is not None else 0
        return ServiceEndpoint(routed=False, url="", internal_host=name, internal_port=port)

    # ------------------------------------------------------------------ service records

    def service_init(self, request: ServiceInitRequest) -> MutationResult:
        """Declare a service from plain fields (runtime inferred: ``image`` ⇒ container, ``command`` ⇒
        local), regenerate the runtime files and start it when ``request.start``."""
        from angee.manifest.model import Service, StringList

        name = (request.name or "").strip()
        if not name:
            raise InvalidInput("name", "service name is required")
        if not request.image and not request.command:
            message = f'service "{name}" requires image or command'
            raise InvalidInput("service", message, message=message)
        runtime = request.runtime.strip() or ("container" if request.image else "local")

        def add(manifest: Manifest) -> None:
            if name in manifest.services:
                raise Conflict("service", name, "already exists")
            manifest.services[name] = Service(
                runtime=runtime,
                image=request.image,
                command=list(request.command or []),
                env=dict(request.env or {}),
                ports=StringList(request.ports or []),
                mounts=StringList(request.mounts or []),
                workdir=request.workdir,
            )

        self.mutate(add)
        self.stack_prepare()
        if request.start:
            self.service_up(name)
        return MutationResult(status="created", name=name)

    def service_update(self, name: str, request: ServiceInitRequest) -> MutationResult:
        """Partial update: non-empty ``runtime``/``image``/``workdir`` and every given list or map
        (replaced whole) overwrite; the rest is kept. Re-validated; runtime files regenerated."""
        from angee.manifest.model import StringList

        def change(manifest: Manifest) -> None:
            service = manifest.services.get(name)
            if service is None:
                raise NotFound("service", name)
            service.runtime = request.runtime.strip() or service.runtime
            service.image = request.image or service.image
            service.workdir = request.workdir or service.workdir
            if request.command is not None:
                service.command = list(request.command)
            if request.env is not None:
                service.env = dict(request.env)
            if request.mounts is not None:
                service.mounts = StringList(request.mounts)
            if request.ports is not None:
                service.ports = StringList(request.ports)

        self.mutate(change)
        self.stack_prepare()
        return MutationResult(status="updated", name=name)

    def service_destroy(self, name: str, stop: bool = True) -> MutationResult:
        """Remove a service: stop it first (unless ``stop`` is false), drop it from ``angee.yaml``,
        release its ``service/<name>/`` port leases and delete its ``services/<name>/`` assets."""
        from angee.ports import release

        manifest = self.load()
        runtime = self._service_runtime(manifest, name)
        for kind, table in (("service", manifest.services), ("job", manifest.jobs)):
            for other in sorted(table):
                if other != name and name in table[other].dependencies():
                    raise Conflict("service", name, f'{kind} "{other}" depends on it')
        if stop:
            stack = self.runtime_stack()
            backend = self._backend(runtime)
            seen = {s.name: s for s in _observe(backend, stack)}.get(name)
            if seen is not None and seen.state.strip().lower() not in STOPPED_STATES:
                backend.control(stack, "stop", [name])

        def remove(current: Manifest) -> None:
            if name not in current.services:
                raise NotFound("service", name)
            del current.services[name]
            release(current, f"service/{name}/")

        self.mutate(remove)
        self.destroy_service_assets(name)
        self.stack_prepare()
        return MutationResult(status="destroyed", name=name)

    # ------------------------------------------------------------------ jobs

    def jobs_list(self) -> list[JobState]:
        """Every job with its runtime, by name."""
        manifest = self.load()
        return [JobState(name=name, runtime=manifest.jobs[name].runtime) for name in sorted(manifest.jobs)]

    def job_run(self, name: str, inputs: dict[str, str] | None = None, output: Output = None) -> str:
        """Run a job now and return its output (stdout and stderr combined, in order), streaming each line
        to ``output``. Secrets are real values here; inputs are reachable only as ``${inputs.K}``.
        A non-zero exit raises ``RuntimeFailure('job "x" failed with exit code N')`` carrying the output."""
        from angee.lock import root_lock
        from angee.platform import jobrun

        manifest = self.load()
        if name not in manifest.jobs:
            raise NotFound("job", name)
        call = jobrun.substitute_job(manifest, self.root, name, self.resolve_secrets(), dict(inputs or {}))
        wanted = jobrun.referenced_sources(manifest, call)
        if wanted:
            with root_lock(self.root):
                for source_name in wanted:
                    source = manifest.sources[source_name]
                    kind = self.plugins.provider("source_kinds", source.kind, "source kind")
                    kind.materialize(self.root, source_name, source)
        if call.job.runtime == "container":
            backend = self._backend("container")
            return jobrun.run_container(manifest, self.root, call, backend, self.runtime_stack(), output)
        return jobrun.run_local(manifest, self.root, call, output)
