"""The TTL/lease reaper (spec templates-workspaces-git §11.3): the safety rule, the decision per workspace
and the sweep over the manifest.

Safety is decided from facts the slot status already derives (§5.6) plus one git question per unpushed
slot — ``git merge-base --is-ancestor HEAD <sync ref>`` — never re-derived here. The decision itself
(:func:`slot_unsafe_reason`, :func:`decide`) is pure, so it can be checked over many generated states.
Silent deletion of unpushed or uncommitted work is the one thing the reaper must never do: anything the
rule cannot prove safe is kept, with a sticky ``reap_blocked`` and one log line per distinct reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from angee.api.pool import WorkspaceReapResult
from angee.errors import AngeeError
from angee.manifest.model import Manifest, Workspace

#: Slot states that are never safe, whatever their push state.
UNSAFE_STATES = ("branch-mismatch", "dirty", "error")
#: Pool states whose member is being worked on by someone else (the sweep leaves them alone).
BUSY_POOL_STATES = ("provisioning", "recycling")


@dataclass(frozen=True)
class SlotFacts:
    """What the reaper knows about one slot: its kind (``git``, ``local`` or ``""`` when the source is
    undeclared), whether its path exists, its §5.6 state and push facts, and whether HEAD is already merged
    into its base (computed only for existing git slots that are not pushed)."""

    slot: str
    kind: str
    exists: bool
    state: str
    pushed: bool
    merged: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ReapDecision:
    """``action`` ∈ ``none`` (not expired), ``destroy``, ``recycle``, ``keep``, ``skip``."""

    action: str
    reason: str = ""


def slot_unsafe_reason(facts: SlotFacts) -> str:
    """Why reaping would lose this slot's work (``"<slot> (<why>)"``), or ``""`` when it is safe.

    Missing paths and mounts (local slots) are safe; a git slot is safe iff its state is not
    branch-mismatch/dirty/error and it is pushed or its HEAD is merged into its base. A slot whose source
    is undeclared (kind unknown) is judged like a git slot: its ``error`` state keeps it.
    """
    if not facts.exists and facts.state == "missing":
        return ""
    if facts.kind == "local":  # a mount: destroy removes the link, never the target
        return ""
    if facts.state in UNSAFE_STATES:
        why = facts.reason or facts.state
        if facts.state == "error" and not why.startswith("error"):
            why = f"error: {why}"
        return f"{facts.slot} ({why})"
    if facts.pushed or facts.merged:
        return ""
    return f"{facts.slot} ({facts.reason or 'not pushed'})"


def unsafe_reason(slots: Iterable[SlotFacts]) -> str:
    """Every unsafe slot's reason joined with ``, `` (slot order); ``""`` when the workspace is safe."""
    return ", ".join(r for r in (slot_unsafe_reason(f) for f in slots) if r)


def decide(
    expired: bool, pool: str, pool_state: str, slots: Iterable[SlotFacts], pool_configured: bool = True
) -> ReapDecision:
    """What the sweep does with one workspace: nothing before its deadline; a busy pool member is
    skipped; unsafe → keep (with the reason); safe → recycle a member of a configured pool, else destroy."""
    if not expired:
        return ReapDecision("none")
    if pool and pool_state in BUSY_POOL_STATES:
        return ReapDecision("skip", f"pool member is {pool_state}")
    reason = unsafe_reason(slots)
    if reason:
        return ReapDecision("keep", reason)
    if pool and pool_configured:
        return ReapDecision("recycle", "expired; every slot is pushed or merged")
    return ReapDecision("destroy", "expired; every slot is pushed or merged")


# --------------------------------------------------------------------------- facts from real slots


def _git_checkout(plugins: Any) -> Any:
    try:
        return plugins.provider("source_kinds", "git", "source kind").checkout
    except (AngeeError, AttributeError):
        return None


def merged_into_base(checkout: Any, path: str, base: str) -> tuple[bool, str]:
    """``(merged, problem)``: whether HEAD of ``path`` is an ancestor of the sync ref of ``base``."""
    if checkout is None:
        return False, "git source kind is not installed"
    if not base:
        return False, "no base ref"
    try:
        sync = checkout.resolve_sync_ref(path, base)
        return bool(checkout.is_ancestor(path, "HEAD", sync)), ""
    except AngeeError as err:
        return False, str(err)


def collect_slot_facts(
    root: str, name: str, ws: Workspace, manifest: Manifest, plugins: Any
) -> list[SlotFacts]:
    """The reaper's facts for every slot of workspace ``name``, from the §5.6 slot status (sorted by slot)."""
    from angee.workspaces.plan import workspace_dir
    from angee.workspaces.status import slot_status

    ws_dir = workspace_dir(root, name)
    checkout = None
    facts: list[SlotFacts] = []
    for slot in sorted(ws.sources):
        rec = ws.sources[slot]
        try:
            st = slot_status(root, ws_dir, slot, rec, manifest, plugins)
        except AngeeError as err:  # a status that cannot be computed is an error, never "safe"
            facts.append(SlotFacts(slot, "git", True, "error", False, reason=str(err)))
            continue
        merged = False
        reason = st.unpushed_reason or st.error
        if st.kind == "git" and st.exists and st.state not in UNSAFE_STATES and not st.pushed:
            if checkout is None:
                checkout = _git_checkout(plugins)
            source = manifest.sources.get(rec.source)
            base = rec.ref or (source.default_ref if source is not None else "")
            merged, problem = merged_into_base(checkout, st.path, base)
            if problem:
                reason = f"{reason}; {problem}" if reason else problem
        facts.append(SlotFacts(slot, st.kind, st.exists, st.state, st.pushed, merged, reason))
    return facts


# --------------------------------------------------------------------------- the sweep


def blocked_line(name: str, reason: str) -> str:
    """The stderr line of a kept workspace (§11.3)."""
    return f"operator: reaper: workspace {name} expired but kept: {reason}"


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def sweep(
    platform: Any,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    log: Callable[[str], None] = _log,
) -> list[WorkspaceReapResult]:
    """Look at every workspace once, each under the root lock: expired and safe → destroyed (purge, force)
    or recycled (pool member of a configured pool); expired and unsafe → kept with a sticky
    ``reap_blocked``. Returns one row per expired workspace (sorted). ``dry_run`` changes nothing.

    ``platform`` provides ``root``, ``plugins``, ``load()``, ``mutate()``, ``workspace_destroy()`` and
    ``_pool_begin_recycle(name)`` / ``_pool_schedule_recycle(name)`` (the pool operations).
    """
    from angee.lock import root_lock
    from angee.workspaces.status import is_expired

    if not platform.has_manifest():
        return []
    results: list[WorkspaceReapResult] = []
    recycle: list[str] = []
    for name in sorted(platform.load().workspaces):
        with root_lock(platform.root):
            manifest = platform.load()
            ws = manifest.workspaces.get(name)
            if ws is None:
                continue
            moment = now or datetime.now(UTC)
            if not is_expired(ws, moment):
                continue
            configured = bool(ws.pool) and ws.pool in manifest.operator.workspace_pool
            if ws.pool and ws.pool_state in BUSY_POOL_STATES:
                results.append(WorkspaceReapResult(name, "skipped", f"pool member is {ws.pool_state}"))
                continue
            facts = collect_slot_facts(platform.root, name, ws, manifest, platform.plugins)
            decision = decide(True, ws.pool, ws.pool_state, facts, configured)
            row = _act(platform, name, ws, decision, dry_run, moment, log)
            results.append(row)
            if row.action == "recycled" and not dry_run:
                recycle.append(name)
    for name in recycle:  # the slow part (git reset, re-render, bootstrap): background, or now
        platform._pool_schedule_recycle(name)
    return results


def _act(
    platform: Any,
    name: str,
    ws: Workspace,
    decision: ReapDecision,
    dry_run: bool,
    now: datetime,
    log: Callable[[str], None],
) -> WorkspaceReapResult:
    if decision.action == "keep":
        if not dry_run and ws.reap_blocked.reason != decision.reason:
            _block(platform, name, decision.reason, now)
            log(blocked_line(name, decision.reason))
        return WorkspaceReapResult(name, "kept", decision.reason)
    if decision.action == "skip":
        return WorkspaceReapResult(name, "skipped", decision.reason)
    if dry_run:
        action = "recycled" if decision.action == "recycle" else "destroyed"
        return WorkspaceReapResult(name, action, decision.reason)
    try:
        if decision.action == "recycle":
            platform._pool_begin_recycle(name)
            return WorkspaceReapResult(name, "recycled", decision.reason)
        platform.workspace_destroy(name, purge=True, force=True)
    except AngeeError as err:
        log(f"operator: reaper: workspace {name}: {err}")
        return WorkspaceReapResult(name, "skipped", str(err))
    return WorkspaceReapResult(name, "destroyed", decision.reason)


def _block(platform: Any, name: str, reason: str, now: datetime) -> None:
    """Record the sticky ``reap_blocked {at, reason}`` (the status then shows ``reap_blocked_reason``)."""
    from angee.manifest.model import ReapBlocked

    def change(manifest: Manifest) -> None:
        ws = manifest.workspaces.get(name)
        if ws is not None:
            ws.reap_blocked = ReapBlocked(at=now, reason=reason)

    platform.mutate(change)


def workspace_unsafe_reason(root: str, name: str, ws: Workspace, manifest: Manifest, plugins: Any) -> str:
    """``""`` when reaping/recycling ``name`` loses no work, else the unsafe reason (release uses it)."""
    return unsafe_reason(collect_slot_facts(root, name, ws, manifest, plugins))
