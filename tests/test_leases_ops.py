"""Workspace leases (spec templates-workspaces-git §11.1, §5.9): acquire/renew/release, one live holder,
expiry, the reserved owner ``pool``, the destroy guard, and two owners racing for one lease."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from angee.errors import Conflict, InvalidInput, NotFound
from angee.manifest.model import ReapBlocked
from tests.test_pool_support import PoolPlatform, edit, manifest
from tests.test_workspaces_support import make_stack


@pytest.fixture
def root(tmp_path) -> str:
    root = make_stack(str(tmp_path / "stack"))
    PoolPlatform(root).workspace_create("dev", name="w1", inputs={"topic": "one"})
    return root


def _expire_lease(root: str, name: str) -> None:
    def change(m) -> None:
        m.workspaces[name].lease.expires_at = datetime.now(UTC) - timedelta(minutes=1)

    edit(root, change)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_acquire_defaults_to_one_hour_and_shows_on_ref_and_status(root: str) -> None:
    platform = PoolPlatform(root)
    lease = platform.workspace_lease("w1", "agent:alice")
    assert (lease.workspace, lease.owner) == ("w1", "agent:alice")
    assert _ts(lease.expires_at) - _ts(lease.created_at) == timedelta(hours=1)
    record = manifest(root).workspaces["w1"]
    assert record.lease.owner == "agent:alice"
    ref = platform.workspace_get("w1")
    assert ref.lease is not None and ref.lease.owner == "agent:alice"
    assert ref.lease.expires_at == lease.expires_at
    status = platform.workspace_status("w1")
    assert status.lease is not None and status.lease.owner == "agent:alice"
    assert status.expired is False and status.state == "ready"


def test_same_owner_renews_only_the_deadline(root: str) -> None:
    platform = PoolPlatform(root)
    first = platform.workspace_lease("w1", "alice", ttl="10m")
    second = platform.workspace_lease("w1", "alice", ttl="2h")
    assert second.created_at == first.created_at
    assert _ts(second.expires_at) > _ts(first.expires_at)
    assert _ts(second.expires_at) - _ts(second.created_at) >= timedelta(hours=2)


def test_another_owner_gets_a_conflict_naming_holder_and_expiry(root: str) -> None:
    platform = PoolPlatform(root)
    lease = platform.workspace_lease("w1", "alice")
    with pytest.raises(Conflict) as err:
        platform.workspace_lease("w1", "bob")
    assert err.value.kind == "workspace-lease"
    assert str(err.value) == f'workspace "w1" is leased by alice until {lease.expires_at}'
    assert manifest(root).workspaces["w1"].lease.owner == "alice"


def test_an_expired_lease_is_taken_over(root: str) -> None:
    platform = PoolPlatform(root)
    platform.workspace_lease("w1", "alice")
    _expire_lease(root, "w1")
    assert platform.workspace_status("w1").expired is True
    lease = platform.workspace_lease("w1", "bob", ttl="5m")
    assert lease.owner == "bob"
    assert platform.workspace_status("w1").expired is False


def test_release_by_holder_other_owner_and_idempotent(root: str) -> None:
    platform = PoolPlatform(root)
    platform.workspace_lease("w1", "alice")
    with pytest.raises(Conflict) as err:
        platform.workspace_release("w1", "bob")
    assert err.value.kind == "workspace-lease"
    result = platform.workspace_release("w1", "alice")
    assert (result.status, result.name) == ("released", "w1")
    assert manifest(root).workspaces["w1"].lease.owner == ""
    assert platform.workspace_get("w1").lease is None
    assert platform.workspace_release("w1", "alice").status == "released"  # nothing held: still ok
    platform.workspace_lease("w1", "alice")
    _expire_lease(root, "w1")
    assert platform.workspace_release("w1", "bob").status == "released"  # expired: nobody holds it


@pytest.mark.parametrize(
    ("owner", "ttl", "field"),
    [
        ("", "", "owner"),
        ("pool", "", "owner"),
        ("has space", "", "owner"),
        ("x" * 257, "", "owner"),
        ("alice", "25h", "ttl"),
        ("alice", "0", "ttl"),
        ("alice", "-5m", "ttl"),
        ("alice", "3 days", "ttl"),
    ],
)
def test_bad_owner_or_ttl_is_invalid_input(root: str, owner: str, ttl: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        PoolPlatform(root).workspace_lease("w1", owner, ttl=ttl)
    assert err.value.field == field
    assert manifest(root).workspaces["w1"].lease.owner == ""


def test_unknown_workspace_is_not_found(root: str) -> None:
    with pytest.raises(NotFound) as err:
        PoolPlatform(root).workspace_lease("nope", "alice")
    assert err.value.kind == "workspace"
    with pytest.raises(NotFound):
        PoolPlatform(root).workspace_release("nope", "alice")


def test_lease_clears_a_sticky_reap_block(root: str) -> None:
    def block(m) -> None:
        m.workspaces["w1"].reap_blocked = ReapBlocked(
            at=datetime.now(UTC), reason="app (uncommitted changes)"
        )

    edit(root, block)
    platform = PoolPlatform(root)
    assert platform.workspace_status("w1").reap_blocked_reason == "app (uncommitted changes)"
    platform.workspace_lease("w1", "alice")
    assert manifest(root).workspaces["w1"].reap_blocked.reason == ""
    edit(root, block)
    platform.workspace_lease("w1", "alice")  # a renewal clears it too
    assert platform.workspace_status("w1").reap_blocked_reason == ""


def test_a_live_lease_blocks_destroy_unless_forced(root: str) -> None:
    platform = PoolPlatform(root)
    platform.workspace_create("dev", name="w2", inputs={"topic": "two"})
    platform.workspace_lease("w1", "alice")
    platform.workspace_lease("w2", "alice")
    with pytest.raises(Conflict) as err:
        platform.workspace_destroy("w1")
    assert err.value.kind == "workspace-lease" and "leased by alice" in str(err.value)
    assert platform.workspace_destroy("w1", force=True).status == "destroyed"
    _expire_lease(root, "w2")
    assert platform.workspace_destroy("w2").status == "destroyed"  # an expired lease does not block
    assert set(manifest(root).workspaces) == set()


def test_the_pool_owner_is_reserved_and_a_pool_lease_refuses_direct_leases(root: str) -> None:
    def make_member(m) -> None:
        ws = m.workspaces["w1"]
        ws.pool, ws.pool_state = "agent", "ready"
        ws.lease.owner, ws.lease.created_at = "pool", datetime.now(UTC)

    edit(root, make_member)
    platform = PoolPlatform(root)
    with pytest.raises(Conflict) as err:
        platform.workspace_lease("w1", "alice")
    assert err.value.kind == "workspace-lease"
    assert "workspace acquire agent" in str(err.value)
    with pytest.raises(InvalidInput):
        platform.workspace_release("w1", "pool")


def test_two_owners_race_for_one_lease_and_exactly_one_wins_each_round(root: str) -> None:
    rounds = 20

    def take(owner: str, barrier: threading.Barrier, outcomes: dict[str, str]) -> None:
        platform = PoolPlatform(root)  # each racer is its own caller
        barrier.wait()
        try:
            platform.workspace_lease("w1", owner, ttl="10m")
            outcomes[owner] = "won"
        except Conflict:
            outcomes[owner] = "lost"

    for round_no in range(rounds):
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}
        racers = [
            threading.Thread(target=take, args=(f"owner-{side}-{round_no}", barrier, outcomes))
            for side in "ab"
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        winners = [owner for owner, result in outcomes.items() if result == "won"]
        assert len(winners) == 1, f"round {round_no}: {outcomes}"
        assert sorted(outcomes.values()) == ["lost", "won"]
        assert manifest(root).workspaces["w1"].lease.owner == winners[0]
        assert PoolPlatform(root).workspace_release("w1", winners[0]).status == "released"
