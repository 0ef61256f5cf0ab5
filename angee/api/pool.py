"""Wire types of the ephemeral workspace tier: leases, pools, acquire and reap (templates-workspaces-git §11).

REST and CLI ``--json`` use these snake_case names; fields declared with ``opt()`` are omitted when empty.
The lease on a WorkspaceRef/WorkspaceStatus is :class:`angee.api.WorkspaceLeaseInfo`; the operations here
return the richer forms below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from angee.api import WorkspaceRef, opt


@dataclass
class WorkspaceLease:
    """A workspace's lease after acquire/renew (§11.1); ``expires_at`` is absent for the reserved ``pool``,
    ``expired`` is computed when the lease is read (a ``pool`` lease never expires)."""

    workspace: str
    owner: str
    created_at: str
    expires_at: str = opt("")
    expired: bool = False


@dataclass
class WorkspacePoolMember:
    """One member of a pool: its ``pool_state`` and, while leased, who holds it until when."""

    name: str
    state: str
    owner: str = opt("")
    expires_at: str = opt("")


@dataclass
class WorkspacePoolStatus:
    """A configured pool (or the leftover members of a removed one: ``size`` 0) with counts per state."""

    name: str
    template: str
    size: int = 0
    ttl: str = ""
    ready: int = 0
    leased: int = 0
    provisioning: int = 0
    recycling: int = 0
    failed: int = 0
    members: list[WorkspacePoolMember] = field(default_factory=list)


@dataclass
class WorkspaceAcquireResult:
    """What a pool acquire handed out: ``warm`` = a ready member (REST 200), else a cold create (201)."""

    workspace: WorkspaceRef
    warm: bool


@dataclass
class WorkspaceReapResult:
    """One expired workspace a sweep looked at: ``action`` ∈ ``destroyed recycled kept skipped``."""

    name: str
    action: str
    reason: str = ""
