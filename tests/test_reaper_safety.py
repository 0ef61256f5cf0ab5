"""The reaper's safety rule (spec templates-workspaces-git §11.3): nothing with unpushed or uncommitted work
is ever removed, and everything safe and expired is.

The decision inputs come from real git: one real worktree per slot state kind (clean, pushed, merged,
dirty, untracked, ahead and unpushed, branch-mismatch, missing, error, plus a mount). The pure decision is
then checked exhaustively over every combination of 1–3 of those real slot facts × expired or not × pool
or not (thousands of states), and the real sweep is run over real workspaces in every state."""

from __future__ import annotations

import itertools
import os
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from angee.manifest.model import Manifest, Source
from angee.workspaces.reaper import SlotFacts, collect_slot_facts, decide, slot_unsafe_reason
from tests.test_pool_support import PoolPlatform, commit_all, edit, make_pool_stack, manifest, write
from tests.test_workspaces_support import git, git_identity, write_template  # noqa: F401 - fixture

SAFE_KINDS = ("clean", "pushed", "merged", "missing", "mount")
UNSAFE_KINDS = ("dirty", "untracked", "ahead", "branch-mismatch", "error")
GIT_KINDS = (
    "clean",
    "pushed",
    "merged",
    "missing",
    "dirty",
    "untracked",
    "ahead",
    "branch-mismatch",
    "error",
)

REAP_TEMPLATE = """\
_angee:
  kind: workspace
  inputs:
    base: {default: main}
  sources:
    app: {ref: "${inputs.base}"}
    code: {}
"""


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    root = make_pool_stack(str(tmp_path), size=-1)
    git(os.path.join(str(tmp_path), "upstream"), "branch", "release")  # the base of the "merged" slot
    os.makedirs(os.path.join(root, "localsrc"))
    write(os.path.join(root, "localsrc", "main.py"), "print('local')\n")

    def add_local(m: Manifest) -> None:
        m.sources["code"] = Source(kind="local", path="localsrc")

    edit(root, add_local)
    write_template(
        root, "workspaces", "reapdev", REAP_TEMPLATE, {"NOTES.md.jinja": "ws {{ workspace_name }}\n"}
    )
    return root


def put_in_state(root: str, name: str, kind: str) -> None:
    """Drive slot ``app`` of workspace ``name`` into state ``kind`` with real git."""
    app = os.path.join(root, "workspaces", name, "app")
    branch = f"workspace/{name}"
    if kind == "pushed":
        write(os.path.join(app, "feature.txt"), f"{name}\n")
        commit_all(app, "feature")
        git(app, "push", "-q", "-u", "origin", branch)
    elif kind == "merged":  # pushed once, then more commits that reached the base by another way
        write(os.path.join(app, "feature.txt"), f"{name}\n")
        commit_all(app, "feature")
        git(app, "push", "-q", "-u", "origin", branch)
        write(os.path.join(app, "feature.txt"), f"{name} more\n")
        commit_all(app, "more")
        git(app, "update-ref", "refs/remotes/origin/release", "HEAD")  # its base took the commits in
    elif kind == "dirty":
        write(os.path.join(app, "README.md"), "edited\n")
    elif kind == "untracked":
        write(os.path.join(app, "scratch.txt"), "notes\n")
    elif kind == "ahead":
        write(os.path.join(app, "feature.txt"), f"{name}\n")
        commit_all(app, "unpushed work")
    elif kind == "branch-mismatch":
        git(app, "switch", "-q", "-c", f"other-{name}")
    elif kind == "missing":
        shutil.rmtree(app)
    elif kind == "error":
        os.remove(os.path.join(app, ".git"))
        write(os.path.join(app, ".git"), "gitdir: /nonexistent/angee-broken\n")


def build_states(root: str, suffix: str = "") -> dict[str, str]:
    """One workspace per git state kind (the ``merged`` one on base ``release``, which it moves)."""
    platform = PoolPlatform(root)
    names: dict[str, str] = {}
    for kind in GIT_KINDS:
        name = f"s-{kind}{suffix}"
        inputs = {"base": "release"} if kind == "merged" else {}
        platform.workspace_create("reapdev", name=name, inputs=inputs)
        put_in_state(root, name, kind)
        names[kind] = name
    return names


def real_facts(root: str, names: dict[str, str]) -> dict[str, SlotFacts]:
    """The reaper's facts per state kind, collected from the real worktrees (``mount`` from a local slot)."""
    m = manifest(root)
    platform = PoolPlatform(root)
    facts: dict[str, SlotFacts] = {}
    for kind, name in names.items():
        by_slot = {f.slot: f for f in collect_slot_facts(root, name, m.workspaces[name], m, platform.plugins)}
        facts[kind] = by_slot["app"]
        facts.setdefault("mount", by_slot["code"])
    return facts


def test_real_worktrees_give_the_expected_facts(root: str) -> None:
    facts = real_facts(root, build_states(root))
    states = {kind: f.state for kind, f in facts.items()}
    assert states == {
        "clean": "clean",
        "pushed": "clean",
        "merged": "ahead",
        "missing": "missing",
        "mount": "ready",
        "dirty": "dirty",
        "untracked": "dirty",
        "ahead": "ahead",
        "branch-mismatch": "branch-mismatch",
        "error": "error",
    }
    assert facts["merged"].merged is True and facts["merged"].pushed is False
    assert facts["ahead"].merged is False and facts["ahead"].pushed is False
    assert facts["pushed"].pushed is True
    for kind in SAFE_KINDS:
        assert slot_unsafe_reason(facts[kind]) == "", kind
    for kind in UNSAFE_KINDS:
        assert slot_unsafe_reason(facts[kind]).startswith("app ("), kind
    assert "uncommitted changes" in slot_unsafe_reason(facts["untracked"])
    assert "ahead" in slot_unsafe_reason(facts["ahead"])


POOL_VARIANTS = (
    ("", "", True),  # a plain workspace
    ("agent", "leased", True),  # a leased member of a configured pool
    ("agent", "leased", False),  # a member of a removed pool
    ("agent", "recycling", True),  # a member someone else is working on
)


def _rename(facts: SlotFacts, slot: str) -> SlotFacts:
    return SlotFacts(slot, facts.kind, facts.exists, facts.state, facts.pushed, facts.merged, facts.reason)


def test_decision_over_every_generated_state_never_removes_work(root: str) -> None:
    facts = real_facts(root, build_states(root))
    kinds = sorted(facts)
    checked = 0
    for count in (1, 2, 3):
        for combo in itertools.product(kinds, repeat=count):
            slots = [_rename(facts[kind], f"s{i}") for i, kind in enumerate(combo)]
            unsafe = [f"s{i}" for i, kind in enumerate(combo) if kind in UNSAFE_KINDS]
            for expired, (pool, pool_state, configured) in itertools.product((True, False), POOL_VARIANTS):
                decision = decide(expired, pool, pool_state, slots, configured)
                checked += 1
                removes = decision.action in ("destroy", "recycle")
                if unsafe or not expired:
                    assert not removes, (combo, expired, pool_state, decision)
                if not expired:
                    assert decision.action == "none"
                elif pool_state == "recycling":
                    assert decision.action == "skip"
                elif unsafe:
                    assert decision.action == "keep"
                    named = [f"s{i}" for i in range(count) if f"s{i} (" in decision.reason]
                    assert named == unsafe, (combo, decision.reason)
                else:  # safe and expired: always reclaimed
                    want = "recycle" if pool and configured else "destroy"
                    assert decision.action == want, (combo, pool_state, configured)
    assert checked >= 1000


def _expire(root: str, names: list[str]) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)

    def change(m: Manifest) -> None:
        for name in names:
            m.workspaces[name].ttl = "1m"
            m.workspaces[name].ttl_expires_at = past

    edit(root, change)


def _snapshot_work(root: str, name: str) -> dict[str, Any]:
    app = os.path.join(root, "workspaces", name, "app")
    files = {}
    for rel in ("README.md", "scratch.txt", "feature.txt"):
        path = os.path.join(app, rel)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                files[rel] = fh.read()
    return files


def test_sweep_over_real_workspaces_removes_exactly_the_safe_expired_ones(root: str, capsys) -> None:
    expired = build_states(root, "-x")
    fresh = build_states(root, "-f")
    _expire(root, list(expired.values()))
    before = {name: _snapshot_work(root, name) for name in expired.values()}
    capsys.readouterr()

    rows = PoolPlatform(root).workspace_reap()

    by_name = {r.name: r for r in rows}
    assert set(by_name) == set(expired.values())  # only expired workspaces are looked at
    left = manifest(root).workspaces
    for kind, name in expired.items():
        if kind in SAFE_KINDS:
            assert by_name[name].action == "destroyed", (kind, by_name[name])
            assert name not in left
            assert not os.path.lexists(os.path.join(root, "workspaces", name))
        else:
            assert by_name[name].action == "kept", (kind, by_name[name])
            assert left[name].reap_blocked.reason == by_name[name].reason
            assert _snapshot_work(root, name) == before[name]  # the work is still there, untouched
    for name in fresh.values():
        assert name in left and left[name].reap_blocked.reason == ""
    err = capsys.readouterr().err
    for kind in UNSAFE_KINDS:
        name = expired[kind]
        assert f"operator: reaper: workspace {name} expired but kept: {by_name[name].reason}" in err
    assert os.path.isfile(os.path.join(root, "localsrc", "main.py"))  # a mount's target is never touched
