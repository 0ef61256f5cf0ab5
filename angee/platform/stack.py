"""Stack operations of the Platform: status, and the cache of what the runtime backends observe.

Status (spec manifest-and-runtime §5.9, operator-and-cli §1.3): per service the state the runtime
backends observe, else ``declared``; jobs by name and runtime; workspaces as WorkspaceRefs.

Asking the backends costs tens of milliseconds (``docker compose ps``, the local engine's RPC), and
status is polled (UIs, the operator's event hub). The observed states are therefore cached per stack
root for :data:`OBSERVED_TTL` seconds (:class:`ObservedCache`: thread-safe, one query in flight per
root, concurrent callers share it). Any mutating Platform call on a root invalidates that root's entry
before and after it runs: the operation registry names the mutating methods, and
:meth:`StackOps.__init_subclass__` wraps them when the Platform class is composed. A change of
``angee.yaml`` (another process) also misses the cache.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from angee.api import JobState, ServiceState, StackStatus, WorkspaceLeaseInfo, WorkspaceRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.contracts import ObservedService, Runtime, RuntimeStack
    from angee.manifest.model import Manifest, Workspace
    from angee.plugins import PluginRegistry

PROCESS_COMPOSE_POOLS = ("process_compose", "custom")
PROCESS_COMPOSE_INPUTS = ("process_compose_port",)
PLAYWRIGHT_POOLS = ("playwright_mcp", "playwright", "browser_mcp", "mcp")
PLAYWRIGHT_INPUTS = ("playwright_mcp_port", "playwright_port")


def rfc3339(value: datetime | str | None) -> str:
    """A stored time as RFC 3339 UTC with ``Z``, no trailing zeros in the fraction (``""`` when unset)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _first_port(
    allocations: dict[str, int], pools: tuple[str, ...], inputs: dict[str, str], keys: tuple[str, ...]
) -> int:
    for pool in pools:
        if allocations.get(pool, 0) > 0:
            return allocations[pool]
    for key in keys:
        text = (inputs.get(key) or "").strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
    return 0


def workspace_ref(root: str, name: str, ws: Workspace) -> WorkspaceRef:
    """The WorkspaceRef of one workspace record (templates-workspaces-git §5.1)."""
    allocations = dict(sorted(ws.resolved.allocations.items()))
    pc_port = _first_port(allocations, PROCESS_COMPOSE_POOLS, ws.inputs, PROCESS_COMPOSE_INPUTS)
    pw_port = _first_port(allocations, PLAYWRIGHT_POOLS, ws.inputs, PLAYWRIGHT_INPUTS)
    lease = None
    if ws.lease.owner:
        lease = WorkspaceLeaseInfo(
            owner=ws.lease.owner,
            created_at=rfc3339(ws.lease.created_at),
            expires_at=rfc3339(ws.lease.expires_at),
        )
    return WorkspaceRef(
        name=name,
        path=os.path.join(root, "workspaces", name),
        template=ws.template,
        chain_root=ws.resolved.chain_root,
        allocations=allocations,
        process_compose_port=pc_port,
        playwright_mcp_name=f"playwright-{name}" if pw_port else "",
        playwright_mcp_url=f"http://127.0.0.1:{pw_port}/mcp" if pw_port else "",
        ttl=ws.ttl,
        ttl_expires_at=rfc3339(ws.ttl_expires_at),
        lease=lease,
        pool=ws.pool,
    )


def _observe(backend: Runtime, stack: RuntimeStack) -> list[ObservedService]:
    """A backend's observed services; any failure → nothing observed (spec §1.3 ServiceState)."""
    try:
        return list(backend.status(stack) or [])
    except Exception:
        return []


OBSERVED_TTL = 1.0  # seconds a backend observation is reused
Observed = dict[tuple[str, str], "ObservedService"]


class _Flight:
    """One backend query in progress; callers that arrive meanwhile wait for its result."""

    __slots__ = ("done", "error", "generation", "value")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class ObservedCache:
    """Backend observations per stack root, reused for ``ttl`` seconds; thread-safe.

    A root's generation counter is bumped by :meth:`invalidate`: entries and in-flight queries of an
    older generation are never served afterwards, so a read that starts after a mutation finished
    observes the state after it. Failures are not cached.
    """

    def __init__(self, ttl: float = OBSERVED_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._generations: dict[str, int] = {}
        self._entries: dict[Hashable, tuple[float, int, Any]] = {}
        self._flights: dict[Hashable, _Flight] = {}

    def invalidate(self, root: str) -> None:
        """Forget what was observed for ``root`` (every key of that root)."""
        with self._lock:
            self._generations[root] = self._generations.get(root, 0) + 1
            for key in [k for k in self._entries if k[0] == root]:  # type: ignore[index]
                del self._entries[key]

    def get(self, root: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for ``(root, key)``, else ``compute()`` once for all concurrent callers."""
        full = (root, key)
        with self._lock:
            generation = self._generations.get(root, 0)
            entry = self._entries.get(full)
            if entry is not None and entry[1] == generation and time.monotonic() < entry[0]:
                return entry[2]
            flight = self._flights.get(full)
            leader = flight is None or flight.generation != generation
            if leader:
                flight = self._flights[full] = _Flight(generation)
        assert flight is not None
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        started = time.monotonic()
        try:
            flight.value = compute()
        except BaseException as exc:  # noqa: BLE001 - shared with the waiting callers, re-raised
            flight.error = exc
        finally:
            with self._lock:
                if self._flights.get(full) is flight:
                    del self._flights[full]
                if flight.error is None and self._generations.get(root, 0) == generation:
                    self._entries[full] = (started + self.ttl, generation, flight.value)
            flight.done.set()
        if flight.error is not None:
            raise flight.error
        return flight.value


OBSERVED = ObservedCache()


def invalidate_observed(root: str) -> None:
    """Drop the cached backend observations of a stack root (after anything that may change them)."""
    OBSERVED.invalidate(os.path.abspath(root))


def _invalidating(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` wrapped to invalidate its root's observations before and after it runs."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        invalidate_observed(self.root)
        try:
            return method(self, *args, **kwargs)
        finally:
            invalidate_observed(self.root)

    wrapper._angee_invalidates = True  # type: ignore[attr-defined]
    return wrapper


def _mutating_methods() -> set[str]:
    from angee import operations

    return {op.platform for op in operations.OPERATIONS if op.mutating and op.platform}


class StackOps:
    """Stack-level operations of one root."""

    root: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap every mutating operation of the composed class so it invalidates the observed states."""
        super().__init_subclass__(**kwargs)
        for name in _mutating_methods():
            method = getattr(cls, name, None)
            if callable(method) and not getattr(method, "_angee_invalidates", False):
                setattr(cls, name, _invalidating(method))

    if TYPE_CHECKING:  # provided by PlatformBase and PrepareOps

        @property
        def plugins(self) -> PluginRegistry: ...

        @property
        def manifest_path(self) -> str: ...

        def load(self) -> Manifest: ...

        def _stack_for_runtimes(self, manifest: Manifest) -> RuntimeStack: ...  # PrepareOps

    # ------------------------------------------------------------------ runtime helpers

    def _runtime_backend(self, runtime: str) -> Runtime | None:
        """The backend running ``runtime`` services (honours ``ANGEE_LOCAL_ENGINE``), or ``None``."""
        from angee.platform.runtime import select_backend

        try:
            return select_backend(self.plugins, runtime)
        except Exception:
            return None

    def _observed_services(self, manifest: Manifest) -> dict[tuple[str, str], ObservedService]:
        """``{(runtime, service): observed}`` from the backends of the runtimes the services use, reused
        for up to :data:`OBSERVED_TTL` seconds (see the module docstring)."""
        wanted = tuple(sorted({svc.runtime for svc in manifest.services.values() if svc.runtime}))
        if not wanted:
            return {}
        try:
            st = os.stat(self.manifest_path)
            stamp: tuple[int, ...] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = ()
        key = (wanted, stamp, os.environ.get("ANGEE_LOCAL_ENGINE", ""), id(self.plugins))
        return OBSERVED.get(self.root, key, lambda: self._query_backends(manifest, list(wanted)))

    def _query_backends(
        self, manifest: Manifest, wanted: list[str]
    ) -> dict[tuple[str, str], ObservedService]:
        """Ask each backend (concurrently when both runtimes are used) what it runs right now."""
        backends = [(runtime, b) for runtime in wanted if (b := self._runtime_backend(runtime)) is not None]
        if not backends:
            return {}
        stack = self._stack_for_runtimes(manifest)
        results: list[list[ObservedService]] = [[] for _ in backends]

        def query(index: int) -> None:
            results[index] = _observe(backends[index][1], stack)

        if len(backends) == 1:
            query(0)
        else:  # both runtimes: query them concurrently (each may run a subprocess)
            import threading

            threads = [threading.Thread(target=query, args=(i,), daemon=True) for i in range(len(backends))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        observed: dict[tuple[str, str], ObservedService] = {}
        for (runtime, _), services in zip(backends, results, strict=True):
            for svc in services:
                observed.setdefault((runtime, svc.name), svc)
        return observed

    # ------------------------------------------------------------------ operations

    def stack_status(self) -> StackStatus:
        """The stack's services (observed state else ``declared``), jobs and workspaces, keyed by name."""
        manifest = self.load()
        observed = self._observed_services(manifest)
        services: dict[str, ServiceState] = {}
        for name in sorted(manifest.services):
            runtime = manifest.services[name].runtime
            seen = observed.get((runtime, name))
            if seen is not None and seen.state:
                services[name] = ServiceState(
                    name, runtime, seen.state.strip().lower(), (seen.health or "").lower()
                )
            else:
                services[name] = ServiceState(name, runtime)
        jobs = {name: JobState(name, manifest.jobs[name].runtime) for name in sorted(manifest.jobs)}
        workspaces = {
            name: workspace_ref(self.root, name, manifest.workspaces[name])
            for name in sorted(manifest.workspaces)
        }
        return StackStatus(
            root=self.root, name=manifest.name, services=services, jobs=jobs, workspaces=workspaces
        )
