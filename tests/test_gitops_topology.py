"""The GitOps topology (templates-workspaces-git §6; operator-and-cli §1.3, §6.3, §6.4): sources, full
workspace statuses, links with stable ids, summary counters, commits, the change hash, and its surfaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from angee.api import to_wire
from angee.cli.context import CliState
from angee.errors import InvalidInput
from tests.test_workspace_git_support import (  # noqa: F401 - git_home is an autouse fixture
    commit_all,
    git_home,
    make_git_stack,
    sh,
    slot_path,
    write,
)


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    platform = make_git_stack(tmp_path, extra_sources="  docs: {kind: local, path: docs}\n")
    (Path(platform.root) / "docs").mkdir()
    platform.workspace_create("dev", name="beta")
    platform.workspace_create("dev", name="alpha")
    return platform


def test_topology_lists_sources_workspaces_and_one_link_per_slot(stack: Any) -> None:
    write(slot_path(stack, "alpha", "app") / "wip.txt", "wip\n")
    lib = slot_path(stack, "beta", "lib")
    write(lib / "done.txt", "done\n")
    commit_all(lib, "done")

    topo = stack.gitops_topology()

    assert (topo.root, topo.name) == (stack.root, "gitstack")
    assert [(s.name, s.kind, s.state) for s in topo.sources] == [
        ("app", "git", "clean"),
        ("docs", "local", "ready"),
        ("lib", "git", "clean"),
    ]
    assert all(s.commits == [] for s in topo.sources)
    assert [w.name for w in topo.workspaces] == ["alpha", "beta"]
    assert topo.workspaces[0] == stack.workspace_status("alpha")  # full status each
    assert [(link.id, link.source, link.workspace, link.slot, link.state) for link in topo.links] == [
        ("alpha:app", "app", "alpha", "app", "dirty"),
        ("alpha:lib", "lib", "alpha", "lib", "clean"),
        ("beta:app", "app", "beta", "app", "clean"),
        ("beta:lib", "lib", "beta", "lib", "ahead"),
    ]
    link = to_wire(topo.links[3])
    assert link == {
        "id": "beta:lib",
        "source": "lib",
        "workspace": "beta",
        "slot": "lib",
        "kind": "git",
        "mode": "worktree",
        "branch": "workspace/beta",
        "ref": "main",
        "path": str(lib),
        "exists": True,
        "state": "ahead",
        "current_ref": "workspace/beta",
        "dirty": False,
        "ahead": 1,
        "pushed": False,
        "unpushed_reason": "1 commit(s) ahead of base ref main with no upstream",
    }
    assert to_wire(topo.summary) == {
        "sources": 3,
        "workspaces": 2,
        "worktrees": 4,
        "clean": 5,  # app, docs (ready), lib sources + two clean links
        "dirty": 1,
        "ahead": 1,
        "behind": 0,
        "diverged": 0,
        "branch_mismatch": 0,
        "missing": 0,
        "error": 0,
        "unpushed": 2,
    }


def test_summary_counts_mismatch_missing_error_and_diverged(stack: Any) -> None:
    sh(slot_path(stack, "alpha", "lib"), "switch", "-q", "-c", "elsewhere")
    import shutil

    shutil.rmtree(slot_path(stack, "beta", "lib"))
    app = slot_path(stack, "beta", "app")
    write(app / "mine.txt", "mine\n")
    commit_all(app, "mine")
    stack.remotes["app"].move({"theirs.txt": "theirs\n"})
    stack.workspace_source_fetch("beta", "app")
    (Path(stack.root) / "sources" / "lib" / ".git").rename(Path(stack.root) / "sources" / "lib" / "git-moved")

    topo = stack.gitops_topology()

    lib_source = next(s for s in topo.sources if s.name == "lib")
    assert (lib_source.state, lib_source.pushed) == ("error", True)
    states = {link.id: link.state for link in topo.links}
    assert states == {
        "alpha:app": "behind",  # the fetch moved origin/main of the shared cache
        "alpha:lib": "error",  # its cache's repository is gone
        "beta:app": "diverged",
        "beta:lib": "missing",
    }
    summary = to_wire(topo.summary)
    assert {
        k: summary[k] for k in ("behind", "diverged", "missing", "error", "branch_mismatch", "unpushed")
    } == {
        "behind": 2,  # alpha:app and the app source's own clone
        "diverged": 1,
        "missing": 1,
        "error": 2,
        "branch_mismatch": 0,
        "unpushed": 1,
    }


def test_branch_mismatch_is_counted_and_unpushed(stack: Any) -> None:
    sh(slot_path(stack, "alpha", "lib"), "switch", "-q", "-c", "elsewhere")
    topo = stack.gitops_topology()
    assert topo.workspaces[0].state == "discrepancy"
    assert (topo.summary.branch_mismatch, topo.summary.unpushed) == (1, 1)


def test_with_commits_adds_recent_commits_to_git_sources(stack: Any) -> None:
    stack.remotes["app"].move({"two.txt": "2\n"}, "second")
    stack.source_pull("app")
    topo = stack.gitops_topology(with_commits=1)
    app = next(s for s in topo.sources if s.name == "app")
    assert [c.summary for c in app.commits] == ["second"]
    assert "refs/heads/main" in app.commits[0].refs and "refs/remotes/origin/main" in app.commits[0].refs
    assert next(s for s in topo.sources if s.name == "docs").commits == []
    assert [c.summary for c in stack.gitops_topology(with_commits=5000).sources[0].commits] == [
        "second",
        "initial",
    ]
    with pytest.raises(InvalidInput) as err:
        stack.gitops_topology(with_commits=-1)
    assert (err.value.field, err.value.reason) == ("withCommits", "must be non-negative")


def test_topology_hash_is_stable_and_follows_changes(stack: Any) -> None:
    first = stack.topology_hash()
    assert len(first) == 64 and first == stack.topology_hash()
    path = slot_path(stack, "beta", "app") / "edit.txt"
    write(path, "edit\n")
    changed = stack.topology_hash()
    assert changed != first
    path.unlink()
    assert stack.topology_hash() == first
    canonical = json.dumps(to_wire(stack.gitops_topology()), sort_keys=True, separators=(",", ":"))
    import hashlib

    assert hashlib.sha256(canonical.encode()).hexdigest() == first


def test_empty_stack_topology(tmp_path: Path) -> None:
    from tests.test_workspace_git_support import GitPlatform

    (tmp_path / "angee.yaml").write_text("version: 1\nkind: stack\nname: empty\n")
    topo = GitPlatform(str(tmp_path)).gitops_topology()
    assert (topo.sources, topo.workspaces, topo.links) == ([], [], [])
    assert set(to_wire(topo.summary).values()) == {0}


def run_cli(platform: Any, *args: str, as_json: bool = False) -> Any:
    from angee.cli.gitops_cmd import gitops

    state = CliState(root=platform.root, json=as_json)
    state.platform = platform
    return CliRunner().invoke(gitops, list(args), obj=state)


def test_cli_topology_text_and_json(stack: Any) -> None:
    write(slot_path(stack, "alpha", "app") / "wip.txt", "wip\n")
    text = run_cli(stack, "topology")
    assert text.exit_code == 0, text.output
    assert (
        text.output == "stack=gitstack sources=3 workspaces=2 clean=6 dirty=1 ahead=0 behind=0 diverged=0\n"
    )
    data = json.loads(run_cli(stack, "topology", "--with-commits", "2", as_json=True).output)
    assert list(data) == ["root", "name", "sources", "workspaces", "links", "summary"]
    assert [c["summary"] for c in data["sources"][0]["commits"]] == ["initial"]
    assert data["links"][0]["id"] == "alpha:app" and data["links"][0]["dirty"] is True
    bad = run_cli(stack, "topology", "--with-commits", "-3")
    assert bad.exit_code == 2


def test_rest_topology_route(stack: Any) -> None:
    from angee.operator.app import create_app

    app = create_app(stack.root, platform_factory=lambda root: stack)
    client = app.test_client()
    reply = client.get("/gitops/topology?with_commits=1")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["summary"]["workspaces"] == 2 and [link["id"] for link in body["links"]][:1] == ["alpha:app"]
    assert body["sources"][0]["commits"][0]["summary"] == "initial"
    assert client.get("/gitops/topology?with_commits=x").status_code == 400


def test_the_remote_client_decodes_the_topology(stack: Any) -> None:
    from angee.remote import decode

    write(slot_path(stack, "alpha", "app") / "wip.txt", "wip\n")
    topo = stack.gitops_topology(with_commits=1)
    assert decode("GitOpsTopology", json.loads(json.dumps(to_wire(topo)))) == topo
