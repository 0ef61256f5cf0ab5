"""The warm workspace pool of the Platform (spec templates-workspaces-git §11.2–§11.5): acquire, pool status,
top-up, recycle, start-up recovery, and the reap entry point.

A pool member is an ordinary workspace whose record says ``pool: <key>`` and ``pool_state``, leased to
the reserved owner ``pool`` while it waits. Acquire moves a ready member's lease to the caller in one
locked manifest write (O(reset) instead of O(build)); an empty pool falls back to a cold create, logged.
All state lives in ``angee.yaml``; only the failure backoff is kept in memory.

Slow background work (top-ups, recycles) goes to ``pool_scheduler`` when the operator set one
(:mod:`angee.operator.workers`); without it a released member is recycled before ``release`` returns,
a sweep tops pools up before ``reap`` returns, and an acquire leaves the top-up to the next sweep.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from angee.api import MutationResult, WorkspaceRef
from angee.api.pool import (
    WorkspaceAcquireResult,
    WorkspacePoolMember,
    WorkspacePoolStatus,
    WorkspaceReapResult,
)
from angee.errors import AngeeError, NotFound, RuntimeFailure
from angee.lock import root_lock
from angee.platform.leases import (
    DEFAULT_LEASE_TTL,
    POOL_OWNER,
    check_owner,
    grant,
    lease_duration,
    utcnow,
)
from angee.platform.stack import rfc3339

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest, Workspace, WorkspacePool
    from angee.plugins import PluginRegistry

POOL_STATES = ("provisioning", "ready", "leased", "recycling", "failed")
BACKOFF_START = 30.0  # seconds before the first replacement of a failed member; doubles per failure
BACKOFF_MAX = 600.0
MEMBER_PREFIX_MAX = 57  # "<prefix>-<6 hex>" stays within the 64-character workspace name limit

Scheduler = Callable[[str, Callable[[], None]], None]


def pool_log(message: str) -> None:
    """An operator-internal pool event on stderr (pool misses, failures): surfaced, never silent."""
    print(f"operator: {message}", file=sys.stderr, flush=True)


@dataclass
class _PoolRuntime:
    """In-memory pool bookkeeping of one Platform instance: failure backoff and per-pool top-up locks."""

    failures: dict[str, int] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, key: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(key, threading.Lock())

    def failed(self, key: str) -> float:
        """Record a failure of ``key``; returns the backoff (30 s doubling, at most 10 min)."""
        with self.guard:
            count = self.failures.get(key, 0) + 1
            self.failures[key] = count
            delay = min(BACKOFF_START * 2 ** (count - 1), BACKOFF_MAX)
            self.retry_at[key] = time.monotonic() + delay
            return delay

    def succeeded(self, key: str) -> None:
        with self.guard:
            self.failures.pop(key, None)
            self.retry_at.pop(key, None)

    def backing_off(self, key: str) -> bool:
        with self.guard:
            return time.monotonic() < self.retry_at.get(key, 0.0)


def member_prefix(key: str) -> str:
    """The name prefix of a pool's members: the key with characters a workspace key cannot hold → ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)[:MEMBER_PREFIX_MAX].rstrip("-_") or "pool"


def _created(ws: Workspace) -> datetime:
    from datetime import UTC

    value = ws.lease.created_at or datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def members_of(manifest: Manifest, key: str, state: str | None = None) -> list[str]:
    """Names of ``key``'s members (optionally only those in ``state``), oldest pooled first."""
    found = [
        (name, ws)
        for name, ws in manifest.workspaces.items()
        if ws.pool == key and (state is None or ws.pool_state == state)
    ]
    found.sort(key=lambda item: (_created(item[1]), item[0]))
    return [name for name, _ in found]


class WorkspacePoolOps:
    """Pool operations of one root (acquire, status, reap) and the operator's background pool work."""

    root: str
    #: Set by the operator's pool worker: ``scheduler(job_key, job)`` runs ``job`` in the background once
    #: per pending ``job_key``. ``None`` (CLI, tests) = no background: see the module docstring.
    pool_scheduler: Scheduler | None = None

    if TYPE_CHECKING:  # provided by PlatformBase / WorkspaceOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def has_manifest(self) -> bool: ...

        def mutate(self, change: Any, *, create: Manifest | None = None) -> Any: ...

        def _ref(self, name: str, ws: Workspace) -> WorkspaceRef: ...

        def workspace_create(
            self,
            template: str,
            name: str | None = None,
            inputs: Any = None,
            ttl: str | None = None,
            sync: bool = False,
        ) -> WorkspaceRef: ...

        def workspace_update(
            self, name: str, inputs: Any = None, ttl: str | None = None, overwrite: bool = False
        ) -> WorkspaceRef: ...

        def workspace_destroy(
            self, name: str, purge: bool = False, force: bool = False
        ) -> MutationResult: ...

    # ------------------------------------------------------------------ public operations

    def workspace_pools(self) -> list[WorkspacePoolStatus]:
        """Every configured pool (and any removed pool that still has members), sorted, with its members."""
        manifest = self.load()
        configured = manifest.operator.workspace_pool
        keys = set(configured) | {ws.pool for ws in manifest.workspaces.values() if ws.pool}
        out: list[WorkspacePoolStatus] = []
        for key in sorted(keys):
            cfg = configured.get(key)
            status = WorkspacePoolStatus(
                name=key,
                template=(cfg.template or key) if cfg is not None else _member_template(manifest, key),
                size=cfg.size if cfg is not None else 0,
                ttl=(cfg.ttl or DEFAULT_LEASE_TTL) if cfg is not None else "",
            )
            for name in sorted(members_of(manifest, key)):
                ws = manifest.workspaces[name]
                state = ws.pool_state or "provisioning"
                if state in POOL_STATES:
                    setattr(status, state, getattr(status, state) + 1)
                member = WorkspacePoolMember(name=name, state=state)
                if ws.lease.owner and ws.lease.owner != POOL_OWNER:
                    member.owner = ws.lease.owner
                    member.expires_at = rfc3339(ws.lease.expires_at)
                status.members.append(member)
            out.append(status)
        return out

    def workspace_pool_acquire(self, pool: str, owner: str, ttl: str = "") -> WorkspaceAcquireResult:
        """Lease the oldest ready member of pool ``pool`` to ``owner`` (``warm``, REST 200); none ready → a
        synchronous cold create leased to ``owner`` (REST 201, logged). Either way a top-up is scheduled."""
        owner = check_owner(owner)
        if (ttl or "").strip():
            lease_duration(ttl)  # a bad caller ttl fails before anything else
        chosen: dict[str, Any] = {}

        def take(manifest: Manifest) -> WorkspaceRef | None:
            cfg = self._pool_config(manifest, pool)
            chosen["duration"] = duration = lease_duration(ttl, default=cfg.ttl or DEFAULT_LEASE_TTL)
            ready = members_of(manifest, pool, "ready")
            if not ready:
                return None
            ws = manifest.workspaces[ready[0]]
            grant(ws, owner, utcnow(), duration)
            ws.pool_state = "leased"
            return self._ref(ready[0], ws)

        ref = self.mutate(take)
        warm = ref is not None
        if ref is None:
            pool_log(f"workspace pool {pool} empty; cold create for {owner}")
            ref = self._pool_cold_create(pool, owner, chosen["duration"])
        self._pool_request_top_up(pool, inline=False)
        return WorkspaceAcquireResult(workspace=ref, warm=warm)

    def workspace_reap(self, dry_run: bool = False) -> list[WorkspaceReapResult]:
        """Sweep now (§11.3): expired and safe workspaces are destroyed (pool members recycled), unsafe ones
        kept with a sticky reason; then pools are topped up. ``dry_run`` reports and changes nothing."""
        from angee.workspaces.reaper import sweep

        results = sweep(self, dry_run=dry_run)
        if not dry_run:
            self._pool_request_top_up(None, inline=True)
        return results

    # ------------------------------------------------------------------ scheduling

    def _pool_runtime(self) -> _PoolRuntime:
        runtime = self.__dict__.get("_pool_runtime_state")
        if runtime is None:
            runtime = self.__dict__.setdefault("_pool_runtime_state", _PoolRuntime())
        return runtime

    def _pool_defer(self, job_key: str, job: Callable[[], None], *, inline: bool) -> None:
        """Hand ``job`` to the operator's scheduler; without one run it now (``inline``) or leave it."""
        if self.pool_scheduler is not None:
            self.pool_scheduler(job_key, job)
        elif inline:
            job()

    def _pool_schedule_recycle(self, name: str) -> None:
        """Recycle member ``name`` (already marked ``recycling``) in the background, or now."""
        self._pool_defer(f"recycle:{name}", lambda: self._pool_recycle_logged(name), inline=True)

    def _pool_request_top_up(self, key: str | None, *, inline: bool) -> None:
        """Top up pool ``key`` (``None`` = every pool, removed ones included) in the background, or now."""
        if key is not None:
            self._pool_defer(f"top-up:{key}", lambda: self._pool_top_up(key), inline=inline)
            return
        if not self.has_manifest():
            return
        manifest = self.load()
        keys = set(manifest.operator.workspace_pool) | {
            ws.pool for ws in manifest.workspaces.values() if ws.pool
        }
        for each in sorted(keys):
            self._pool_defer(f"top-up:{each}", lambda k=each: self._pool_top_up(k), inline=inline)

    # ------------------------------------------------------------------ background work

    def _pool_top_up(self, key: str) -> None:
        """Bring pool ``key`` to its size, one member at a time: destroy the oldest ready members while
        there are too many, create while ``ready + provisioning < size`` (not during a failure backoff).
        Members of a removed pool are destroyed when ready."""
        runtime = self._pool_runtime()
        lock = runtime.lock(key)
        if not lock.acquire(blocking=False):
            return  # another top-up of this pool is running and re-checks before it stops
        try:
            while True:
                with root_lock(self.root):
                    manifest = self.load()
                    cfg = manifest.operator.workspace_pool.get(key)
                    ready = members_of(manifest, key, "ready")
                    size = cfg.size if cfg is not None else 0
                    if len(ready) > size:
                        self.workspace_destroy(ready[0], purge=True, force=True)
                        continue
                    if cfg is None:
                        return
                    provisioning = len(members_of(manifest, key, "provisioning"))
                    if len(ready) + provisioning >= size or runtime.backing_off(key):
                        return
                if not self._pool_provision(key):
                    return
        finally:
            lock.release()

    def _pool_provision(self, key: str) -> bool:
        """Create one member of ``key`` (``provisioning``), run its bootstrap job, mark it ``ready``.
        A failure marks it ``failed``, destroys it (purge, force) and starts the backoff; returns success."""
        try:
            with root_lock(self.root):
                manifest = self.load()
                cfg = manifest.operator.workspace_pool.get(key)
                if cfg is None:
                    return False
                name = self._pool_new_member(manifest, key, cfg)
                self.mutate(lambda m: _mark(m, name, key, "provisioning", None))
        except AngeeError as err:
            delay = self._pool_runtime().failed(key)
            pool_log(f"workspace pool {key}: cannot create a member: {err} (retry in {delay:g}s)")
            return False
        return self._pool_finish(key, name, cfg.bootstrap_job, from_state="provisioning")

    def _pool_finish(self, key: str, name: str, job: str, *, from_state: str) -> bool:
        """Bootstrap member ``name`` and mark it ready (lease back to ``pool``), or fail and destroy it."""
        try:
            self._pool_bootstrap(name, job)
        except AngeeError as err:
            self._pool_fail(key, name, err)
            return False

        def ready(manifest: Manifest) -> bool:
            ws = manifest.workspaces.get(name)
            if ws is None or ws.pool_state != from_state:
                return False
            grant(ws, POOL_OWNER, utcnow(), None)
            ws.pool_state = "ready"
            return True

        done = bool(self.mutate(ready))
        if done:
            self._pool_runtime().succeeded(key)
        return done

    def _pool_fail(self, key: str, name: str, err: Exception) -> None:
        """Mark ``name`` failed, destroy it (purge, force) and back off before its replacement."""
        delay = self._pool_runtime().failed(key)
        pool_log(f"workspace pool {key}: member {name} failed: {err} (replacing in {delay:g}s)")
        try:
            with root_lock(self.root):
                self.mutate(lambda m: _set_state(m, name, "failed"))
                self.workspace_destroy(name, purge=True, force=True)
        except AngeeError as exc:
            pool_log(f"workspace pool {key}: cannot destroy failed member {name}: {exc}")

    def _pool_bootstrap(self, name: str, job: str) -> None:
        """Run the pool's ``bootstrap_job`` in the member's inner stack (``<member>/<chain_root>``)."""
        if not job:
            return
        from angee.workspaces.plan import workspace_dir

        ws = self.load().workspaces.get(name)
        if ws is None:
            raise NotFound("workspace", name)
        if not ws.resolved.chain_root:
            raise RuntimeFailure(f'workspace "{name}" has no inner stack to run bootstrap job "{job}" in')
        inner_root = os.path.normpath(os.path.join(workspace_dir(self.root, name), ws.resolved.chain_root))
        inner = type(self)(inner_root, self.plugins)  # type: ignore[call-arg]
        run = getattr(inner, "job_run", None)
        if not callable(run):
            raise RuntimeFailure(f'cannot run bootstrap job "{job}": this Platform has no job_run')
        run(job, {})

    def _pool_cold_create(self, key: str, owner: str, duration: Any) -> WorkspaceRef:
        """A new member of ``key`` created now and leased to ``owner`` (bootstrapped before returning)."""
        with root_lock(self.root):
            manifest = self.load()
            cfg = self._pool_config(manifest, key)
            name = self._pool_new_member(manifest, key, cfg)
            self.mutate(lambda m: _mark(m, name, key, "leased", (owner, duration)))
        try:
            self._pool_bootstrap(name, cfg.bootstrap_job)
        except AngeeError as err:
            self._pool_fail(key, name, err)
            raise RuntimeFailure(f"workspace pool {key}: cold create for {owner} failed: {err}") from err
        manifest = self.load()
        return self._ref(name, manifest.workspaces[name])

    def _pool_new_member(self, manifest: Manifest, key: str, cfg: WorkspacePool) -> str:
        """Create (§5.2, no TTL) a member named ``<key>-<6 hex>`` with the pool inputs; caller holds the lock."""
        from angee.workspaces.plan import workspace_dir

        prefix = member_prefix(key)
        while True:
            name = f"{prefix}-{secrets.token_hex(3)}"
            if name not in manifest.workspaces and not os.path.lexists(workspace_dir(self.root, name)):
                break
        self.workspace_create(cfg.template or key, name=name, inputs=dict(cfg.inputs))
        return name

    def _pool_begin_recycle(self, name: str) -> None:
        """Take member ``name`` back for the pool: owner ``pool``, ``recycling`` (the reaper, under lock)."""
        self.mutate(lambda m: _to_recycling(m, name))

    def _pool_recycle_logged(self, name: str) -> None:
        try:
            self._pool_recycle(name)
        except AngeeError as err:
            pool_log(f"workspace {name}: recycle failed: {err}")

    def _pool_recycle(self, name: str) -> None:
        """Recycle a ``recycling`` member (§11.4): reset its git slots to their base, re-render with
        overwrite, run the bootstrap job, then ``ready``. A member of a removed pool is destroyed instead;
        a failure destroys it (the pool replaces it)."""
        from angee.workspaces.recycle import reset_workspace_slots

        with root_lock(self.root):
            manifest = self.load()
            ws = manifest.workspaces.get(name)
            if ws is None or ws.pool_state != "recycling":
                return
            key = ws.pool
            cfg = manifest.operator.workspace_pool.get(key)
            if cfg is None:
                self.workspace_destroy(name, purge=True, force=True)
                return
            try:
                reset_workspace_slots(self.root, name, ws, manifest, self.plugins)
                self.workspace_update(name, overwrite=True)
            except AngeeError as err:
                self._pool_fail(key, name, err)
                return
        if self._pool_finish(key, name, cfg.bootstrap_job, from_state="recycling"):
            self._pool_request_top_up(key, inline=False)

    def _pool_recover(self) -> None:
        """Operator start-up (§11.5): destroy ``provisioning``/``failed`` members (purge, force), restart
        ``recycling`` ones, keep ``ready``/``leased``; then top every pool up."""
        if not self.has_manifest():
            return
        restart: list[str] = []
        with root_lock(self.root):
            manifest = self.load()
            for name in sorted(manifest.workspaces):
                ws = manifest.workspaces[name]
                if not ws.pool:
                    continue
                if ws.pool_state in ("provisioning", "failed", ""):
                    pool_log(f"workspace pool {ws.pool}: removing unfinished member {name} ({ws.pool_state})")
                    try:
                        self.workspace_destroy(name, purge=True, force=True)
                    except AngeeError as err:
                        pool_log(f"workspace pool {ws.pool}: cannot remove member {name}: {err}")
                elif ws.pool_state == "recycling":
                    restart.append(name)
        for name in restart:
            self._pool_recycle_logged(name)
        self._pool_request_top_up(None, inline=True)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _pool_config(manifest: Manifest, key: str) -> WorkspacePool:
        cfg = manifest.operator.workspace_pool.get(key)
        if cfg is None:
            raise NotFound("workspace-pool", key)
        return cfg


def _member_template(manifest: Manifest, key: str) -> str:
    for name in sorted(manifest.workspaces):
        ws = manifest.workspaces[name]
        if ws.pool == key:
            return ws.template
    return ""


def _mark(manifest: Manifest, name: str, key: str, state: str, holder: tuple[str, Any] | None) -> None:
    """Make the just-created workspace ``name`` a member of ``key`` in ``state``, leased to ``pool`` or to
    ``holder = (owner, duration)``."""
    ws = manifest.workspaces[name]
    ws.pool = key
    ws.pool_state = state
    if holder is None:
        grant(ws, POOL_OWNER, utcnow(), None)
    else:
        grant(ws, holder[0], utcnow(), holder[1])


def _set_state(manifest: Manifest, name: str, state: str) -> None:
    ws = manifest.workspaces.get(name)
    if ws is not None:
        ws.pool_state = state


def _to_recycling(manifest: Manifest, name: str) -> None:
    ws = manifest.workspaces.get(name)
    if ws is None:
        raise NotFound("workspace", name)
    grant(ws, POOL_OWNER, utcnow(), None)
    ws.pool_state = "recycling"
