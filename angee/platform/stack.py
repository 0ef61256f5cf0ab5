"""Stack operations of the Platform: status now, the runtime lifecycle (build, up, down, ...) later.

Status (spec manifest-and-runtime §5.9, operator-and-cli §1.3): per service the state the runtime
backends observe, else ``declared``; jobs by name and runtime; workspaces as WorkspaceRefs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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


class StackOps:
    """Stack-level operations of one root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase and PrepareOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def _stack_for_runtimes(self, manifest: Manifest) -> RuntimeStack: ...  # PrepareOps

    # ------------------------------------------------------------------ runtime helpers

    def _runtime_backend(self, runtime: str) -> Runtime | None:
        """The first available backend serving a manifest ``runtime`` (``container`` / ``local``)."""
        for backend in self.plugins.providers("runtimes").values():
            if getattr(backend, "serves", "") != runtime:
                continue
            try:
                if backend.available():
                    return backend
            except Exception:
                continue
        return None

    def _observed_services(self, manifest: Manifest) -> dict[tuple[str, str], ObservedService]:
        """``{(runtime, service): observed}`` from the backends of the runtimes the services use."""
        wanted = sorted({svc.runtime for svc in manifest.services.values() if svc.runtime})
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
