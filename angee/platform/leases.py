"""Workspace leases of the Platform (spec templates-workspaces-git §11.1): one live holder and a deadline.

A lease is ``{owner, created_at, expires_at}`` on the workspace record in ``angee.yaml``; every change goes
through the one locked manifest writer, so two owners racing for a lease are serialised and exactly one
wins. The operator treats ``owner`` as an opaque label and enforces only single-holder and expiry; who may
ask for a lease is decided above it (Angee's REBAC). The owner ``pool`` is reserved for warm pool members.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from angee.api import MutationResult
from angee.api.pool import WorkspaceLease
from angee.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest, Workspace
    from angee.plugins import PluginRegistry

POOL_OWNER = "pool"
OWNER_PATTERN = r"^[A-Za-z0-9._:@/-]{1,256}$"
_OWNER = re.compile(OWNER_PATTERN)
DEFAULT_LEASE_TTL = "1h"
MAX_LEASE = timedelta(hours=24)


def utcnow() -> datetime:
    """The current time (UTC); the one clock of leases, pools and the reaper."""
    return datetime.now(UTC)


def check_owner(owner: str | None) -> str:
    """A caller-supplied lease owner: required, ``^[A-Za-z0-9._:@/-]{1,256}$``, not the reserved ``pool``."""
    owner = (owner or "").strip()
    if not owner:
        raise InvalidInput("owner", "owner is required")
    if not _OWNER.match(owner):
        raise InvalidInput("owner", f'owner "{owner[:64]}" must match {OWNER_PATTERN}')
    if owner == POOL_OWNER:
        raise InvalidInput("owner", 'owner "pool" is reserved for pool members')
    return owner


def lease_duration(ttl: str | None, default: str = DEFAULT_LEASE_TTL) -> timedelta:
    """A lease duration: ``ttl`` (else ``default``), positive and at most 24h, else InvalidInput(``ttl``)."""
    from angee.workspaces.durations import parse_ttl

    text = (ttl or "").strip() or default
    delta = parse_ttl(text, "ttl")
    if delta > MAX_LEASE:
        raise InvalidInput("ttl", "must be at most 24h", message=f'ttl: lease duration "{text}" exceeds 24h')
    return delta


def lease_live(ws: Workspace, now: datetime) -> bool:
    """Held by ``pool``, or by an owner whose ``expires_at`` is still ahead (§11.1)."""
    from angee.workspaces.status import lease_is_live

    return lease_is_live(ws, now)


def lease_wire(name: str, ws: Workspace, now: datetime | None = None) -> WorkspaceLease:
    """The WorkspaceLease of a record (``expired`` as of ``now``)."""
    from angee.platform.stack import rfc3339

    return WorkspaceLease(
        workspace=name,
        owner=ws.lease.owner,
        created_at=rfc3339(ws.lease.created_at),
        expires_at=rfc3339(ws.lease.expires_at),
        expired=bool(ws.lease.owner) and not lease_live(ws, now or utcnow()),
    )


def held_conflict(name: str, ws: Workspace) -> Conflict:
    """Conflict(kind ``workspace-lease``) naming the live holder and its expiry."""
    from angee.platform.stack import rfc3339

    if ws.lease.owner == POOL_OWNER:
        key = ws.pool or "?"
        return Conflict(
            "workspace-lease",
            name,
            f"held by pool {key}",
            message=f'workspace "{name}" is a member of pool "{key}"; use `workspace acquire {key}`',
        )
    until = rfc3339(ws.lease.expires_at)
    return Conflict(
        "workspace-lease",
        name,
        f"leased by {ws.lease.owner}",
        message=f'workspace "{name}" is leased by {ws.lease.owner}' + (f" until {until}" if until else ""),
    )


def grant(ws: Workspace, owner: str, now: datetime, duration: timedelta | None) -> None:
    """Give ``ws`` a fresh lease (``duration`` None = the open-ended ``pool`` lease); clears reap_blocked."""
    from angee.manifest.model import ReapBlocked
    from angee.manifest.model import WorkspaceLease as LeaseRecord

    ws.lease = LeaseRecord(
        owner=owner, created_at=now, expires_at=None if duration is None else now + duration
    )
    ws.reap_blocked = ReapBlocked()


class WorkspaceLeaseOps:
    """Lease acquire/renew and release of one root's workspaces."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase / WorkspaceOps / WorkspacePoolOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def mutate(self, change: Any, *, create: Manifest | None = None) -> Any: ...

        def workspace_destroy(
            self, name: str, purge: bool = False, force: bool = False
        ) -> MutationResult: ...

        def _pool_schedule_recycle(self, name: str) -> None: ...

    def workspace_lease(self, name: str, owner: str, ttl: str = "") -> WorkspaceLease:
        """Acquire or renew the lease of workspace ``name`` for ``owner`` (default 1h, at most 24h). Another
        live holder (or the pool) → Conflict(kind ``workspace-lease``); an expired lease is taken over."""
        owner = check_owner(owner)
        duration = lease_duration(ttl)

        def change(manifest: Manifest) -> WorkspaceLease:
            ws = manifest.workspaces.get(name)
            if ws is None:
                raise NotFound("workspace", name)
            now = utcnow()
            if lease_live(ws, now):
                if ws.lease.owner != owner:
                    raise held_conflict(name, ws)
                ws.lease.expires_at = now + duration  # renew: the deadline moves, the holder stays
                from angee.manifest.model import ReapBlocked

                ws.reap_blocked = ReapBlocked()
            else:
                grant(ws, owner, now, duration)
            return lease_wire(name, ws, now)

        return self.mutate(change)

    def workspace_release(self, name: str, owner: str, discard: bool = False) -> MutationResult:
        """Give up ``owner``'s lease. A plain workspace just loses its lease (``released``); a pool member
        goes back to its pool (``recycling``, recycled in the background) — refused while it holds unpushed
        or uncommitted work unless ``discard``. No lease or an expired one → ``released`` (idempotent)."""
        from angee.lock import root_lock
        from angee.workspaces.reaper import workspace_unsafe_reason

        owner = check_owner(owner)
        with root_lock(self.root):
            manifest = self.load()
            ws = manifest.workspaces.get(name)
            if ws is None:
                raise NotFound("workspace", name)
            now = utcnow()
            if not lease_live(ws, now):
                return MutationResult(status="released", name=name)
            if ws.lease.owner != owner:
                raise held_conflict(name, ws)
            if not ws.pool:
                self.mutate(lambda m: _drop_lease(m, name))
                return MutationResult(status="released", name=name)
            if not discard:
                reason = workspace_unsafe_reason(self.root, name, ws, manifest, self.plugins)
                if reason:
                    raise Conflict(
                        "workspace",
                        name,
                        reason,
                        message=f'workspace "{name}" has work that would be lost by recycling: {reason}; '
                        "push it, or release with discard",
                    )
            if ws.pool not in manifest.operator.workspace_pool:  # its pool was removed: nothing to return to
                self.workspace_destroy(name, purge=True, force=True)
                return MutationResult(status="destroyed", name=name)
            self.mutate(lambda m: _to_pool(m, name, now))
        self._pool_schedule_recycle(name)
        return MutationResult(status="recycling", name=name)


def _drop_lease(manifest: Manifest, name: str) -> None:
    from angee.manifest.model import ReapBlocked
    from angee.manifest.model import WorkspaceLease as LeaseRecord

    ws = manifest.workspaces[name]
    ws.lease = LeaseRecord()
    ws.reap_blocked = ReapBlocked()


def _to_pool(manifest: Manifest, name: str, now: datetime) -> None:
    ws = manifest.workspaces[name]
    grant(ws, POOL_OWNER, now, None)
    ws.pool_state = "recycling"
