"""Batched ahead/behind counts of many worktrees of one cache (the topology's fast path) agree with
``git rev-list --left-right --count <base>...HEAD`` on every shape of history, including merges and
unrelated histories (which fall back to one rev-list per checkout)."""

from __future__ import annotations

from pathlib import Path

from angee_source_git.checkout import StateRequest, slot_states

from tests.test_workspace_git_support import (  # noqa: F401 - fixtures: git_home (autouse), recorder
    Recorder,
    commit_all,
    git_home,
    recorder_fixture,
    sh,
    write,
)


def raw_counts(path: Path, base: str) -> tuple[int, int]:
    behind, ahead = sh(path, "rev-list", "--left-right", "--count", f"{base}...HEAD").split()
    return int(behind), int(ahead)


def build_cache(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A repository whose ``main`` moved on, with worktrees at many points of its history."""
    cache = tmp_path / "cache"
    cache.mkdir()
    sh(cache, "init", "-q", "-b", "main")
    for i in range(3):
        write(cache / "base.txt", f"base {i}\n")
        commit_all(cache, f"base {i}")
    old = sh(cache, "rev-parse", "HEAD~1")
    trees = tmp_path / "trees"
    worktrees: dict[str, Path] = {}

    def add(name: str, start: str) -> Path:
        path = trees / name
        sh(cache, "worktree", "add", "-q", "--no-track", "-b", f"ws/{name}", str(path), start)
        worktrees[name] = path
        return path

    add("same", "main")
    ahead = add("ahead", "main")
    for i in range(2):
        write(ahead / f"a{i}.txt", "a\n")
        commit_all(ahead, f"ahead {i}")
    add("behind", old)
    diverged = add("diverged", old)
    write(diverged / "d.txt", "d\n")
    commit_all(diverged, "diverged")
    merged = add("merged", old)
    write(merged / "m.txt", "m\n")
    commit_all(merged, "side")
    sh(merged, "merge", "-q", "--no-edit", "main")
    write(merged / "after.txt", "after\n")
    commit_all(merged, "after merge")
    write(cache / "base.txt", "base moved\n")
    commit_all(cache, "main moves on")
    return cache, worktrees


def test_batched_counts_match_rev_list(tmp_path: Path, recorder: Recorder) -> None:
    _, worktrees = build_cache(tmp_path)
    requests = [StateRequest(path=str(p), name=n, base_ref="main") for n, p in sorted(worktrees.items())]
    recorder.clear()

    states = slot_states(requests)

    for request, state in zip(requests, states, strict=True):
        assert (state.behind, state.ahead) == raw_counts(Path(request.path), "main"), request.name
    assert {s.name: s.state for s in states} == {
        "ahead": "diverged",  # main moved after the branch was made
        "behind": "behind",
        "diverged": "diverged",
        "merged": "diverged",
        "same": "behind",
    }
    rev_lists = [c for c in recorder.calls() if c[0] == "rev-list"]
    assert len(rev_lists) == 1  # one walk for all five worktrees instead of five


def test_unrelated_history_falls_back_to_one_count_per_checkout(tmp_path: Path) -> None:
    cache, worktrees = build_cache(tmp_path)
    orphan = tmp_path / "trees" / "orphan"
    sh(cache, "worktree", "add", "-q", "--detach", str(orphan), "main")
    sh(orphan, "switch", "-q", "--orphan", "ws/orphan")
    write(orphan / "alone.txt", "alone\n")
    commit_all(orphan, "alone")
    worktrees["orphan"] = orphan
    requests = [StateRequest(path=str(p), name=n, base_ref="main") for n, p in sorted(worktrees.items())]

    states = slot_states(requests)

    for request, state in zip(requests, states, strict=True):
        assert state.state != "error", state.error
        assert (state.behind, state.ahead) == raw_counts(Path(request.path), "main"), request.name


def test_a_base_that_names_nothing_is_an_error_for_each_checkout(tmp_path: Path) -> None:
    _, worktrees = build_cache(tmp_path)
    requests = [StateRequest(path=str(p), base_ref="no-such-ref") for p in worktrees.values()]
    states = slot_states(requests)
    assert {s.state for s in states} == {"error"}
    assert all("no-such-ref" in s.error for s in states)
