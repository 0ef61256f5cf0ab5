"""Workspace update (§5.5): re-render with merged inputs, generated inputs kept, immutable inputs refused,
TTL reset, local edits as conflicts unless --overwrite."""

from __future__ import annotations

import os
import time

import pytest
import yaml

from angee.errors import Conflict, InvalidInput, NotFound
from angee.manifest import load_manifest
from tests.test_workspaces_support import WsPlatform, make_stack, read


@pytest.fixture
def platform(tmp_path) -> WsPlatform:
    root = make_stack(str(tmp_path / "stack"))
    p = WsPlatform(root)
    p.workspace_create("dev", name="w", inputs={"topic": "First"})
    return p


def _record(platform: WsPlatform):
    return load_manifest(os.path.join(platform.root, "angee.yaml")).workspaces["w"]


def test_generated_inputs_survive_update_unchanged(platform: WsPlatform) -> None:
    token = _record(platform).inputs["token"]
    ref = platform.workspace_update("w", inputs={"topic": "Second"})
    record = _record(platform)
    assert record.inputs["token"] == token
    assert record.inputs["topic"] == "Second"
    ws_dir = ref.path
    assert read(os.path.join(ws_dir, "token.txt")).strip() == token
    assert "topic=Second" in read(os.path.join(ws_dir, "README.md"))
    inner = yaml.safe_load(read(os.path.join(ws_dir, ".angee", "angee.yaml")))
    assert inner["name"] == "inner-second"
    assert ref.allocations == record.resolved.allocations  # allocations are kept


def test_immutable_input_change_is_refused_and_nothing_changes(platform: WsPlatform) -> None:
    before = read(os.path.join(platform.root, "angee.yaml"))
    readme = read(os.path.join(platform.root, "workspaces", "w", "README.md"))
    with pytest.raises(InvalidInput) as err:
        platform.workspace_update("w", inputs={"level": "4", "topic": "Other"})
    assert err.value.field == "level" and err.value.reason == "immutable"
    assert read(os.path.join(platform.root, "angee.yaml")) == before
    assert read(os.path.join(platform.root, "workspaces", "w", "README.md")) == readme
    # the same value is not a change
    platform.workspace_update("w", inputs={"level": "3"})


def test_ttl_update_resets_the_expiry(platform: WsPlatform) -> None:
    ref = platform.workspace_update("w", ttl="1h")
    first = _record(platform).ttl_expires_at
    assert ref.ttl == "1h" and first is not None
    time.sleep(0.01)  # expiry is wall-clock based: make the second "now" differ
    platform.workspace_update("w", ttl="1h")
    assert _record(platform).ttl_expires_at > first
    with pytest.raises(InvalidInput) as err:
        platform.workspace_update("w", ttl="soon")
    assert err.value.field == "ttl"


def test_local_edit_conflicts_unless_overwrite(platform: WsPlatform) -> None:
    readme = os.path.join(platform.root, "workspaces", "w", "README.md")
    with open(readme, "w", encoding="utf-8") as fh:
        fh.write("my notes\n")
    before = read(os.path.join(platform.root, "angee.yaml"))
    with pytest.raises(Conflict) as err:
        platform.workspace_update("w", inputs={"topic": "Changed"})
    assert err.value.kind == "workspace-template"
    assert err.value.conflicts == [{"path": "README.md", "reason": "locally-modified"}]
    assert read(readme) == "my notes\n"
    assert read(os.path.join(platform.root, "angee.yaml")) == before
    platform.workspace_update("w", inputs={"topic": "Changed"}, overwrite=True)
    assert "topic=Changed" in read(readme)
    assert _record(platform).inputs["topic"] == "Changed"


def test_inner_stack_document_is_merged_three_way(platform: WsPlatform) -> None:
    inner = os.path.join(platform.root, "workspaces", "w", ".angee", "angee.yaml")
    with open(inner, "a", encoding="utf-8") as fh:
        fh.write("# local tweak\nvolumes:\n  cache: {}\n")
    platform.workspace_update("w", ttl="2h")  # nothing changed in the render: the file is left alone
    assert read(inner).endswith("# local tweak\nvolumes:\n  cache: {}\n")
    platform.workspace_update("w", inputs={"topic": "Renamed"})  # theirs changes name, ours adds a volume
    merged = yaml.safe_load(read(inner))
    assert merged["name"] == "inner-renamed" and "cache" in merged["volumes"]
    port = merged["ports"]["web"]["value"]
    # a local change of a value the template also changes is a conflict, unless overwrite
    text = read(inner).replace("name: inner-renamed", "name: mine")
    with open(inner, "w", encoding="utf-8") as fh:
        fh.write(text)
    with pytest.raises(Conflict) as err:
        platform.workspace_update("w", inputs={"topic": "Third"})
    assert [(c["path"], c["reason"]) for c in err.value.conflicts] == [
        (".angee/angee.yaml#name", "locally-modified")
    ]
    assert yaml.safe_load(read(inner))["name"] == "mine"
    platform.workspace_update("w", inputs={"topic": "Third"}, overwrite=True)
    merged = yaml.safe_load(read(inner))
    assert merged["name"] == "inner-third" and merged["ports"]["web"]["value"] == port


def test_update_of_unknown_workspace_is_not_found(platform: WsPlatform) -> None:
    with pytest.raises(NotFound) as err:
        platform.workspace_update("nope")
    assert err.value.kind == "workspace"
