"""SourceState of real checkouts (templates-workspaces-git §4.1 and the slot rules of §5.6)."""

from __future__ import annotations

from pathlib import Path

from angee_source_git.state import StateRequest, inspect, slot_states
from git_testlib import Recorder, Repos, commit, sh

from angee.api import to_wire


def state_of(path: Path, **kw: object) -> dict:
    return to_wire(inspect(StateRequest(path=str(path), name="app", **kw)))


def test_fresh_clone_is_clean_and_pushed(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    assert state_of(clone) == {
        "name": "app",
        "kind": "git",
        "path": str(clone),
        "exists": True,
        "state": "clean",
        "branch": "main",
        "ref": "main",
        "current_ref": "main",
        "upstream": "origin/main",
        "pushed": True,
    }


def test_modified_and_untracked_files_make_it_dirty(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    (clone / "notes.txt").write_text("untracked\n")
    state = state_of(clone)
    assert state["state"] == "dirty" and state["dirty"] is True
    assert state["pushed"] is False and state["unpushed_reason"] == "uncommitted changes"

    (clone / "notes.txt").unlink()
    (clone / "README.md").write_text("changed\n")
    assert state_of(clone)["state"] == "dirty"


def test_untracked_file_in_a_new_directory_counts(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    (clone / "deep" / "er").mkdir(parents=True)
    (clone / "deep" / "er" / "x.txt").write_text("x\n")
    assert state_of(clone)["state"] == "dirty"


def test_ignored_files_do_not_count(repos: Repos) -> None:
    remote = repos.remote(files={".gitignore": "node_modules/\n"})
    clone = repos.clone(remote, "app")
    (clone / "node_modules").mkdir()
    (clone / "node_modules" / "x.js").write_text("x\n")
    assert state_of(clone)["state"] == "clean"


def test_ahead_behind_and_diverged_against_the_upstream(repos: Repos) -> None:
    remote = repos.remote()
    clone = repos.clone(remote, "app")
    other = repos.clone(remote, "other")

    commit(clone, {"a.txt": "a\n"}, "local one")
    commit(clone, {"b.txt": "b\n"}, "local two")
    state = state_of(clone)
    assert (state["state"], state["ahead"], state.get("behind", 0)) == ("ahead", 2, 0)
    assert state["pushed"] is False
    assert state["unpushed_reason"] == "2 commit(s) ahead of origin/main"

    commit(other, {"c.txt": "c\n"}, "remote one")
    sh(other, "push", "-q", "origin", "main")
    sh(clone, "fetch", "-q")
    state = state_of(clone)
    assert (state["state"], state["ahead"], state["behind"]) == ("diverged", 2, 1)
    assert state["pushed"] is False and state["unpushed_reason"] == "2 commit(s) ahead of origin/main"

    sh(clone, "reset", "-q", "--hard", "origin/main~1")
    state = state_of(clone)
    assert (state["state"], state["behind"], state["pushed"]) == ("behind", 1, True)
    assert "unpushed_reason" not in state


def test_no_upstream_uses_the_default_ref_as_base(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    sh(clone, "switch", "-q", "-c", "feature")
    assert state_of(clone, base_ref="main")["state"] == "clean"
    assert state_of(clone)["state"] == "clean"  # no upstream, no base: clean

    commit(clone, {"f.txt": "f\n"}, "feature work")
    state = state_of(clone, base_ref="main")
    assert "upstream" not in state
    assert (state["state"], state["ahead"], state["pushed"]) == ("ahead", 1, False)
    assert state["unpushed_reason"] == "1 commit(s) ahead of base ref main with no upstream"


def test_gone_upstream_falls_back_to_the_base_ref(repos: Repos) -> None:
    remote = repos.remote()
    clone = repos.clone(remote, "app")
    sh(clone, "switch", "-q", "-c", "topic")
    commit(clone, {"t.txt": "t\n"}, "topic")
    sh(clone, "push", "-q", "-u", "origin", "topic")
    sh(clone, "push", "-q", "origin", "--delete", "topic")
    state = state_of(clone, base_ref="main")
    assert "upstream" not in state
    assert state["unpushed_reason"] == "1 commit(s) ahead of base ref main with no upstream"


def test_detached_head_reports_the_short_sha(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    sha = sh(clone, "rev-parse", "HEAD").strip()
    sh(clone, "switch", "-q", "--detach", "HEAD")
    state = state_of(clone)
    assert state["current_ref"] == sha[:7] and state["ref"] == sha[:7]
    assert "branch" not in state and state["state"] == "clean"


def test_missing_path_is_missing_and_pushed(tmp_path: Path) -> None:
    state = state_of(tmp_path / "nope")
    assert state == {"name": "app", "kind": "git", "path": str(tmp_path / "nope"), "exists": False,
                     "state": "missing", "pushed": True}  # fmt: skip


def test_a_directory_that_is_not_a_checkout_is_an_error_not_its_parent_repo(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    inner = clone / "plain"
    inner.mkdir()
    [state] = slot_states([StateRequest(path=str(inner), name="app")])
    assert state.state == "error" and state.exists is True and state.pushed is False
    assert "is not a git repository" in state.error


def test_slot_rules_branch_mismatch_wins_over_dirty(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "ws")
    (clone / "x").write_text("dirty\n")
    state = to_wire(
        inspect(
            StateRequest(path=str(clone), name="app", slot="app", ref="main", expected_branch="workspace/x")
        )
    )
    assert state["state"] == "branch-mismatch" and state["pushed"] is False
    assert state["unpushed_reason"] == 'current branch/ref "main", expected workspace branch "workspace/x"'
    assert state["slot"] == "app" and state["ref"] == "main" and state["dirty"] is True


def test_slot_states_inspects_many_checkouts_in_order_with_one_git_call_each(
    repos: Repos, recorder: Recorder
) -> None:
    remote = repos.remote()
    paths = [repos.clone(remote, f"w{i}") for i in range(6)]
    commit(paths[2], {"n.txt": "n\n"}, "ahead")
    (paths[4] / "u.txt").write_text("u\n")
    requests = [StateRequest(path=str(p), name=f"w{i}", slot=f"s{i}") for i, p in enumerate(paths)]
    requests.append(StateRequest(path=str(repos.base / "gone"), name="gone"))
    recorder.clear()

    states = slot_states(requests)

    assert [s.name for s in states] == [f"w{i}" for i in range(6)] + ["gone"]
    assert [s.state for s in states] == ["clean", "clean", "ahead", "clean", "dirty", "clean", "missing"]
    calls = recorder.calls()
    assert len(calls) == 6 and all("status" in c and "--porcelain=v2" in c for c in calls)


def test_without_upstream_a_second_call_counts_against_the_base(repos: Repos, recorder: Recorder) -> None:
    clone = repos.clone(repos.remote(), "app")
    sh(clone, "switch", "-q", "-c", "feature")
    recorder.clear()
    inspect(StateRequest(path=str(clone), base_ref="main"))
    assert [c[0] for c in recorder.calls()] == ["--no-optional-locks", "rev-list"]
    assert recorder.calls()[1] == ["rev-list", "--left-right", "--count", "main...HEAD", "--"]


def test_an_unknown_base_ref_is_an_error_state(repos: Repos) -> None:
    clone = repos.clone(repos.remote(), "app")
    sh(clone, "switch", "-q", "-c", "feature")
    [state] = slot_states([StateRequest(path=str(clone), base_ref="no-such-branch")])
    assert state.state == "error" and "rev-list" in state.error
    [state] = slot_states([StateRequest(path=str(clone), base_ref="no-such-branch")], error_pushed=True)
    assert state.pushed is True
