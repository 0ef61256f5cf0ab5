"""Git slots (§5.3): worktree and clone materialisation with real repositories, the sync recovery table,
slot status (§5.6), destroy checks and purge (§5.9)."""

from __future__ import annotations

import os
import shutil

import pytest

from angee.errors import Conflict, InvalidInput, RuntimeFailure
from angee.manifest import load_manifest
from tests.test_workspaces_support import (  # noqa: F401 - git_identity is a fixture
    WsPlatform,
    git,
    git_identity,
    make_repo,
    make_stack,
    read,
    write_template,
)

GIT_MANIFEST = """\
version: 1
kind: stack
name: host
sources:
  app: {kind: git, repo: %(repo)s, default_ref: main}
  code: {kind: local, path: localsrc}
"""


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    upstream = make_repo(str(tmp_path / "upstream"), {"README.md": "upstream\n", "src/app.py": "x = 1\n"})
    root = make_stack(str(tmp_path / "stack"), GIT_MANIFEST % {"repo": upstream})
    write_template(
        root,
        "workspaces",
        "gitdev",
        """\
        _angee:
          kind: workspace
          sources:
            app: {}
            code: {}
        """,
        {"NOTES.md.jinja": "ws {{ workspace_name }}\n"},
    )
    return root


def _cache(root: str) -> str:
    return os.path.join(root, "sources", "app")


def _worktrees(root: str) -> list[str]:
    out = git(_cache(root), "worktree", "list", "--porcelain")
    return [os.path.realpath(line[9:]) for line in out.splitlines() if line.startswith("worktree ")]


def test_worktree_slot_on_its_own_branch(root: str) -> None:
    ref = WsPlatform(root).workspace_create("gitdev", name="w1")
    app = os.path.join(ref.path, "app")
    assert read(os.path.join(app, "README.md")) == "upstream\n"
    assert git(app, "symbolic-ref", "--short", "HEAD") == "workspace/w1"
    assert os.path.realpath(app) in _worktrees(root)
    record = load_manifest(os.path.join(root, "angee.yaml")).workspaces["w1"]
    slot = record.sources["app"]
    assert (slot.source, slot.mode, slot.branch, slot.subpath) == ("app", "worktree", "workspace/w1", "app")
    status = WsPlatform(root).workspace_status("w1")
    assert status.state == "ready"
    app_status = next(s for s in status.sources if s.slot == "app")
    assert (app_status.kind, app_status.state, app_status.current_ref) == ("git", "clean", "workspace/w1")
    assert app_status.pushed is True and app_status.dirty is False
    code_status = next(s for s in status.sources if s.slot == "code")
    assert (code_status.kind, code_status.state, code_status.exists) == ("local", "ready", True)


def test_dirty_ahead_and_branch_mismatch_status_and_destroy_checks(root: str) -> None:
    platform = WsPlatform(root)
    ref = platform.workspace_create("gitdev", name="w2")
    app = os.path.join(ref.path, "app")
    with open(os.path.join(app, "README.md"), "a", encoding="utf-8") as fh:
        fh.write("change\n")
    slot = next(s for s in platform.workspace_status("w2").sources if s.slot == "app")
    assert (slot.state, slot.dirty, slot.pushed, slot.unpushed_reason) == (
        "dirty",
        True,
        False,
        "uncommitted changes",
    )
    with pytest.raises(Conflict) as err:
        platform.workspace_destroy("w2")
    assert (
        str(err.value)
        == 'workspace "w2" has git sources that have not been pushed: app (uncommitted changes)'
    )

    git(app, "commit", "-q", "-am", "work")
    slot = next(s for s in platform.workspace_status("w2").sources if s.slot == "app")
    assert (slot.state, slot.ahead, slot.behind) == ("ahead", 1, 0)
    assert slot.unpushed_reason == "1 commit(s) ahead of base ref main with no upstream"
    with pytest.raises(Conflict):
        platform.workspace_destroy("w2")

    git(app, "switch", "-q", "-c", "elsewhere")
    status = platform.workspace_status("w2")
    slot = next(s for s in status.sources if s.slot == "app")
    assert status.state == "discrepancy" and slot.state == "branch-mismatch"
    assert slot.unpushed_reason == 'current branch/ref "elsewhere", expected workspace branch "workspace/w2"'
    with pytest.raises(Conflict) as err:
        platform.workspace_destroy("w2", purge=True)
    assert str(err.value).startswith('workspace "w2" source "app" has branch mismatch: ')
    assert os.path.isdir(app)

    platform.workspace_destroy("w2", purge=True, force=True)
    assert not os.path.exists(ref.path)
    assert os.path.realpath(app) not in _worktrees(root)
    assert os.path.isfile(os.path.join(root, "localsrc", "main.py"))


def test_existing_branch_is_reused(root: str, capfd: pytest.CaptureFixture[str]) -> None:
    upstream = load_manifest(os.path.join(root, "angee.yaml")).sources["app"].repo
    git(root, "clone", "-q", upstream, "sources/app")
    git(_cache(root), "branch", "workspace/w3")
    ref = WsPlatform(root).workspace_create("gitdev", name="w3")
    assert git(os.path.join(ref.path, "app"), "symbolic-ref", "--short", "HEAD") == "workspace/w3"
    assert 'branch "workspace/w3" already exists' in capfd.readouterr().err


def test_sync_recovery_table(root: str) -> None:
    platform = WsPlatform(root)
    ref = platform.workspace_create("gitdev", name="w4")
    app = os.path.join(ref.path, "app")
    platform.workspace_destroy("w4")  # keeps the directory and the registered worktree
    # non-empty registered D: Conflict without sync, recovered with it
    with pytest.raises(Conflict) as err:
        platform.workspace_create("gitdev", name="w4")
    assert str(err.value) == f"workspace source destination {app} already exists and is not empty"
    assert "w4" not in load_manifest(os.path.join(root, "angee.yaml")).workspaces
    assert os.path.isdir(app)  # the leftover is never clobbered without sync
    platform.workspace_create("gitdev", name="w4", sync=True)
    assert git(app, "symbolic-ref", "--short", "HEAD") == "workspace/w4"
    # stale registration (D deleted by hand): always recovered
    platform.workspace_destroy("w4")
    shutil.rmtree(ref.path)
    platform.workspace_create("gitdev", name="w4")
    assert os.path.realpath(app) in _worktrees(root)
    # non-empty D that is not a registered worktree: never clobbered, even with sync
    platform.workspace_destroy("w4", purge=True)
    os.makedirs(app)
    with open(os.path.join(app, "mine.txt"), "w", encoding="utf-8") as fh:
        fh.write("keep\n")
    with pytest.raises(Conflict):
        platform.workspace_create("gitdev", name="w4", sync=True)
    assert read(os.path.join(app, "mine.txt")) == "keep\n"


def test_failed_slot_rolls_back_earlier_slots(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "badref",
        """\
        _angee:
          kind: workspace
          sources:
            app: {}
            zzz: {source: app, subpath: other, branch: other-branch, ref: no-such-ref}
        """,
        {"a.txt": "a\n"},
    )
    before = read(os.path.join(root, "angee.yaml"))
    with pytest.raises(RuntimeFailure) as err:
        WsPlatform(root).workspace_create("badref", name="w5")
    assert 'base ref "no-such-ref" was not found' in str(err.value)
    assert read(os.path.join(root, "angee.yaml")) == before
    assert not os.path.exists(os.path.join(root, "workspaces", "w5"))
    assert _worktrees(root) == [os.path.realpath(_cache(root))]


def test_clone_mode_and_root_slot(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "cloned",
        """\
        _angee:
          kind: workspace
          sources:
            app: {mode: clone, ref: main}
        """,
        {"a.txt": "a\n"},
    )
    write_template(
        root,
        "workspaces",
        "rooted",
        """\
        _angee:
          kind: workspace
          sources:
            app: {subpath: .}
            code: {subpath: vendor/code}
        """,
        {"EXTRA.md.jinja": "rendered into {{ workspace_name }}\n"},
    )
    platform = WsPlatform(root)
    cloned = platform.workspace_create("cloned", name="c1")
    app = os.path.join(cloned.path, "app")
    assert os.path.isdir(os.path.join(app, ".git")) and git(app, "symbolic-ref", "--short", "HEAD") == "main"
    slot = next(s for s in platform.workspace_status("c1").sources if s.slot == "app")
    assert (slot.mode, slot.state) == ("clone", "clean")

    rooted = platform.workspace_create("rooted", name="r1")
    assert git(rooted.path, "symbolic-ref", "--short", "HEAD") == "workspace/r1"
    assert read(os.path.join(rooted.path, "README.md")) == "upstream\n"
    assert read(os.path.join(rooted.path, "EXTRA.md")) == "rendered into r1\n"
    assert os.readlink(os.path.join(rooted.path, "vendor", "code")) == os.path.join(
        "..", "..", "..", "localsrc"
    )
    platform.workspace_destroy("r1", purge=True, force=True)
    assert not os.path.exists(rooted.path)
    assert _worktrees(root) == [os.path.realpath(_cache(root))]


def test_cache_inside_destination_is_invalid(root: str, tmp_path) -> None:
    upstream = make_repo(str(tmp_path / "up2"))
    write_template(
        root,
        "workspaces",
        "nested",
        f"""\
        _angee:
          kind: workspace
          sources:
            lib: {{repo: {upstream}, cache_path: workspaces/n1/lib/.cache}}
        """,
        {"a.txt": "a\n"},
    )
    with pytest.raises(InvalidInput) as err:
        WsPlatform(root).workspace_create("nested", name="n1")
    assert "cannot be inside destination" in str(err.value)
    assert not os.path.exists(os.path.join(root, "workspaces", "n1"))


def test_option_like_branch_names_are_refused(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "inject",
        """\
        _angee:
          kind: workspace
          sources:
            app: {branch: "--upload-pack=touch /tmp/pwned"}
        """,
        {"a.txt": "a\n"},
    )
    with pytest.raises(InvalidInput) as err:
        WsPlatform(root).workspace_create("inject", name="i1")
    assert err.value.field == "sources.app.branch"
    assert not os.path.exists(os.path.join(root, "workspaces", "i1"))
