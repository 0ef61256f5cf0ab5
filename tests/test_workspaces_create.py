"""Workspace create, list/get and destroy with real templates (spec §5.1, §5.2, §5.9)."""

from __future__ import annotations

import os

import pytest
import yaml

from angee.errors import Conflict, InvalidInput, NotFound
from angee.manifest import load_manifest
from tests.test_workspaces_support import WsPlatform, make_stack, read, tree_snapshot, write_template


@pytest.fixture
def root(tmp_path) -> str:
    return make_stack(str(tmp_path / "stack"))


def test_create_renders_records_and_leases_then_destroy_removes_both(root: str) -> None:
    platform = WsPlatform(root)
    ref = platform.workspace_create("dev", inputs={"topic": "Fix Issue 123"}, ttl="4h")

    assert ref.name == "fix-issue-123"
    ws_dir = os.path.join(root, "workspaces", "fix-issue-123")
    assert ref.path == ws_dir
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    record = manifest.workspaces["fix-issue-123"]
    web, db = record.resolved.allocations["web"], record.resolved.allocations["db"]
    # workspace_name and alloc_<pool> reach Jinja; one port from every pool
    assert read(os.path.join(ws_dir, "README.md")) == (
        f"workspace fix-issue-123 topic=Fix Issue 123 web={web} db={db} level=3\n"
    )
    assert ref.allocations == {"db": db, "web": web}
    owners = {
        pool: [(lease.owner, lease.port) for lease in leases] for pool, leases in manifest.port_leases.items()
    }
    assert owners == {
        "web": [("workspace/fix-issue-123/web", web)],
        "db": [("workspace/fix-issue-123/db", db)],
    }
    # the record: template ref, inputs (with the generated value), slots, resolved, ttl
    assert record.template == "workspaces/dev"
    assert record.inputs["topic"] == "Fix Issue 123" and record.inputs["level"] == "3"
    assert len(record.inputs["token"]) == 12
    assert read(os.path.join(ws_dir, "token.txt")).strip() == record.inputs["token"]
    assert record.resolved.chain == ["workspaces/dev", "stacks/inner"]
    assert record.resolved.chain_root == ".angee"
    assert record.resolved.persist_paths["data"].subpath == ".data"
    assert record.sources["code"].source == "code" and record.sources["code"].mode == "mount"
    assert record.ttl == "4h" and record.ttl_expires_at is not None
    assert ref.ttl == "4h" and ref.ttl_expires_at.endswith("Z") and ref.chain_root == ".angee"
    # the chained inner stack document is written as rendered, with the host-allocated port
    inner = yaml.safe_load(read(os.path.join(ws_dir, ".angee", "angee.yaml")))
    assert inner["name"] == "inner-fix-issue-123"
    assert inner["ports"]["web"]["value"] == web
    # the local source is mounted as a relative symlink; persist dir created; render state saved
    link = os.path.join(ws_dir, "code")
    assert os.path.islink(link) and os.readlink(link) == os.path.join("..", "..", "localsrc")
    assert os.path.isfile(os.path.join(link, "main.py"))
    assert os.path.isdir(os.path.join(ws_dir, ".data"))
    assert os.path.isfile(os.path.join(root, "run", "template-state", "workspaces", "fix-issue-123.json"))
    assert not os.path.exists(os.path.join(root, "run", "workspace-journal", "fix-issue-123.json"))

    assert [r.name for r in platform.workspaces_list()] == ["fix-issue-123"]
    assert platform.workspace_get("fix-issue-123") == ref

    result = platform.workspace_destroy("fix-issue-123", purge=True)
    assert (result.status, result.name) == ("destroyed", "fix-issue-123")
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert manifest.workspaces == {} and manifest.port_leases == {}
    assert not os.path.exists(ws_dir)
    assert os.path.isfile(os.path.join(root, "localsrc", "main.py"))  # the mount target is untouched
    assert not os.path.exists(os.path.join(root, "run", "template-state", "workspaces", "fix-issue-123.json"))
    with pytest.raises(NotFound) as err:
        platform.workspace_get("fix-issue-123")
    assert err.value.kind == "workspace"


def test_destroy_without_purge_keeps_the_directory(root: str) -> None:
    platform = WsPlatform(root)
    platform.workspace_create("dev", name="keep", inputs={"topic": "x"})
    platform.workspace_destroy("keep")
    assert os.path.isfile(os.path.join(root, "workspaces", "keep", "README.md"))
    assert load_manifest(os.path.join(root, "angee.yaml")).workspaces == {}
    # a leftover directory without a record does not block a new create of the same name
    platform.workspace_create("dev", name="keep", inputs={"topic": "y"})
    assert "topic=y" in read(os.path.join(root, "workspaces", "keep", "README.md"))


def test_existing_record_is_a_conflict_even_with_sync(root: str) -> None:
    platform = WsPlatform(root)
    platform.workspace_create("dev", name="one", inputs={"topic": "x"})
    before = read(os.path.join(root, "angee.yaml"))
    for sync in (False, True):
        with pytest.raises(Conflict) as err:
            platform.workspace_create("dev", name="one", inputs={"topic": "x"}, sync=sync)
        assert str(err.value) == "workspace one conflicts: already exists"
        assert err.value.kind == "workspace"
    assert read(os.path.join(root, "angee.yaml")) == before


def test_bad_requests_fail_before_any_side_effect(root: str) -> None:
    platform = WsPlatform(root)
    before = tree_snapshot(root)
    cases = [
        (dict(template="", inputs={"topic": "x"}), "template"),
        (dict(template="dev", inputs={"topic": "x"}, ttl="1d"), "ttl"),
        (dict(template="dev", inputs={"topic": "x"}, ttl="0"), "ttl"),
        (dict(template="dev", inputs={}), "topic"),
        (dict(template="dev", inputs={"topic": "x", "workspace_name": "y"}), "workspace_name"),
        (dict(template="dev", inputs={"topic": "x", "alloc_web": "1"}), "alloc_web"),
        (dict(template="dev", name="pool", inputs={"topic": "x"}), "name"),
        (dict(template="dev", inputs={"topic": "!!!"}), "name"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as err:
            platform.workspace_create(**kwargs)
        assert err.value.field == field, kwargs
    with pytest.raises(NotFound) as missing:
        platform.workspace_create("nope", inputs={"topic": "x"})
    assert missing.value.kind == "template"
    after = tree_snapshot(root)
    after = {k: v for k, v in after.items() if not k.startswith("run")}
    assert after == {k: v for k, v in before.items() if not k.startswith("run")}


def test_failed_render_rolls_back_everything_it_created(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "broken",
        """\
        _angee:
          kind: workspace
          sources:
            code: {source: code}
        """,
        {"ok.txt": "fine\n", "bad.txt.jinja": "{% include 'missing.jinja' %}\n"},
    )
    platform = WsPlatform(root)
    before = read(os.path.join(root, "angee.yaml"))
    with pytest.raises(InvalidInput):
        platform.workspace_create("broken", name="b1")
    assert read(os.path.join(root, "angee.yaml")) == before
    assert not os.path.exists(os.path.join(root, "workspaces", "b1"))
    assert not os.path.exists(os.path.join(root, "run", "workspace-journal", "b1.json"))


def test_undeclared_slot_source_is_refused_and_optional_one_skipped(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "needs",
        """\
        _angee:
          kind: workspace
          sources:
            other: {source: nowhere}
        """,
        {"a.txt": "a\n"},
    )
    write_template(
        root,
        "workspaces",
        "maybe",
        """\
        _angee:
          kind: workspace
          sources:
            other: {source: nowhere, optional: true}
            ghost: {path: does-not-exist, optional: true}
            code: {}
        """,
        {"a.txt": "a\n"},
    )
    platform = WsPlatform(root)
    with pytest.raises(InvalidInput) as err:
        platform.workspace_create("needs", name="n1")
    assert str(err.value) == 'sources.other: workspace source "other" references undeclared source "nowhere"'
    assert not os.path.exists(os.path.join(root, "workspaces", "n1"))
    ref = platform.workspace_create("maybe", name="m1")
    record = load_manifest(os.path.join(root, "angee.yaml")).workspaces["m1"]
    assert sorted(record.sources) == ["code"]
    assert os.path.islink(os.path.join(ref.path, "code"))
    assert not os.path.lexists(os.path.join(ref.path, "ghost"))


def test_slot_source_built_from_the_spec_is_added_to_the_stack(root: str) -> None:
    os.makedirs(os.path.join(root, "assets"))
    write_template(
        root,
        "workspaces",
        "adds",
        """\
        _angee:
          kind: workspace
          sources:
            art: {path: assets, subpath: "deps/${inputs.sub}"}
        """,
        {"a.txt": "a\n"},
    )
    ref = WsPlatform(root).workspace_create("adds", name="a1", inputs={"sub": "art"})
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert manifest.sources["art"].kind == "local" and manifest.sources["art"].path == "assets"
    link = os.path.join(ref.path, "deps", "art")
    assert os.readlink(link) == os.path.join("..", "..", "..", "assets")
    assert manifest.workspaces["a1"].sources["art"].subpath == "deps/art"


def test_escaping_subpath_is_invalid(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "escape",
        """\
        _angee:
          kind: workspace
          sources:
            code: {subpath: ../../outside}
        """,
        {"a.txt": "a\n"},
    )
    with pytest.raises(InvalidInput) as err:
        WsPlatform(root).workspace_create("escape", name="e1")
    assert '"../../outside" escapes the workspace root' in str(err.value)


def test_ensure_is_applied_and_saved(root: str) -> None:
    write_template(
        root,
        "workspaces",
        "ensures",
        """\
        _angee:
          kind: workspace
          ensure:
            operator.port_pool.extra: {range: "40100-40110"}
        """,
        {"README.md.jinja": "extra={{ alloc_extra }}\n"},
    )
    ref = WsPlatform(root).workspace_create("ensures", name="en")
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert manifest.operator.port_pool["extra"].range == "40100-40110"
    assert "extra" in ref.allocations
    assert read(os.path.join(ref.path, "README.md")) == f"extra={ref.allocations['extra']}\n"


def test_create_in_a_root_without_manifest_starts_an_empty_stack(tmp_path) -> None:
    root = str(tmp_path / "proj" / ".angee")
    os.makedirs(root)
    write_template(root, "workspaces", "plain", "_angee: {kind: workspace}\n", {"hello.txt": "hi\n"})
    ref = WsPlatform(root).workspace_create("plain", name="p1")
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert manifest.name == "proj"
    assert list(manifest.workspaces) == ["p1"]
    assert read(os.path.join(ref.path, "hello.txt")) == "hi\n"


def test_kind_mismatch_is_invalid_input(root: str) -> None:
    with pytest.raises(InvalidInput) as err:
        WsPlatform(root).workspace_create("workspaces/../stacks/inner")
    assert "does not match" in str(err.value) or "kind" in str(err.value)


def test_plugins_hear_about_create_and_destroy(root: str) -> None:
    from angee.hookspecs import hookimpl

    heard: list[tuple[str, str]] = []

    class Listener:
        @hookimpl
        def angee_workspace_created(self, platform, workspace) -> None:  # noqa: ANN001
            heard.append(("created", workspace.name))

        @hookimpl
        def angee_workspace_destroyed(self, platform, name) -> None:  # noqa: ANN001
            heard.append(("destroyed", name))

    platform = WsPlatform(root)
    platform.plugins.pm.register(Listener(), name="test-listener")
    try:
        platform.workspace_create("dev", name="h1", inputs={"topic": "x"})
        platform.workspace_destroy("h1")
    finally:
        platform.plugins.pm.unregister(name="test-listener")
    assert heard == [("created", "h1"), ("destroyed", "h1")]


def test_invalid_inner_stack_document_fails_the_create(root: str) -> None:
    write_template(
        root,
        "stacks",
        "broken-inner",
        "_angee: {kind: stack}\n",
        {"angee.yaml.jinja": "version: 1\nkind: stack\n"},
    )
    write_template(
        root,
        "workspaces",
        "bad-inner",
        """\
        _angee:
          kind: workspace
          chain_root: inner
          chain: [{template: stacks/broken-inner}]
        """,
        {"a.txt": "a\n"},
    )
    before = read(os.path.join(root, "angee.yaml"))
    with pytest.raises(InvalidInput) as err:
        WsPlatform(root).workspace_create("bad-inner", name="bi")
    assert "inner/angee.yaml" in str(err.value)
    assert read(os.path.join(root, "angee.yaml")) == before
    assert not os.path.exists(os.path.join(root, "workspaces", "bi"))


def test_concurrent_creates_are_serialised_by_the_root_lock(root: str) -> None:
    import threading

    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def create(i: int) -> None:
        barrier.wait()
        try:
            WsPlatform(root).workspace_create("dev", name=f"c{i}", inputs={"topic": f"t{i}"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    manifest = load_manifest(os.path.join(root, "angee.yaml"))
    assert sorted(manifest.workspaces) == ["c0", "c1", "c2", "c3"]
    ports = [ws.resolved.allocations["web"] for ws in manifest.workspaces.values()]
    assert len(set(ports)) == 4
    assert sorted(lease.port for lease in manifest.port_leases["web"]) == sorted(ports)


def test_preflight_does_not_wait_for_the_root_lock(root: str) -> None:
    import threading

    from angee.lock import root_lock

    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with root_lock(root):
            held.set()
            release.wait()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    try:
        result = WsPlatform(root).workspace_create_preflight("dev", inputs={"topic": "x"})
        assert result.ok
    finally:
        release.set()
        thread.join()
