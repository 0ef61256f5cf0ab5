"""The structural 3-way merge of manifest data (spec templates-workspaces-git §7.3 step 5, §8.2)."""

from __future__ import annotations

import json

import pytest

from angee.templates.merge import (
    ABSENT,
    ThreeWayMerge,
    canonical_json,
    format_path,
    manifest_changes,
    merge_entry,
    merge_manifest_data,
    qualified,
    unified_diff,
)

A = ABSENT


# --------------------------------------------------------------------------- the atomic table of m


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "expected", "reason"),
    [
        (A, A, "t", "t", None),  # no base, no ours → theirs (add)
        (A, A, A, A, None),  # nothing anywhere
        (A, "o", A, "o", None),  # no base, no theirs → ours
        (A, "x", "x", "x", None),  # no base, ours = theirs → ours
        (A, "o", "t", "o", "untracked-different"),  # no base, ours ≠ theirs
        ("b", A, A, A, None),  # no ours, no theirs → absent
        ("b", A, "b", A, None),  # no ours, theirs = base → stays deleted
        ("b", A, "t", A, "locally-modified"),  # deleted locally, changed upstream
        ("b", "b", A, A, None),  # no theirs, ours = base → delete
        ("b", "o", A, "o", "locally-modified"),  # edited locally, removed upstream
        ("b", "b", "t", "t", None),  # ours = base → theirs
        ("b", "o", "b", "o", None),  # theirs = base → ours
        ("b", "x", "x", "x", None),  # ours = theirs → ours
        ("b", "o", "t", "o", "locally-modified"),  # both changed differently
    ],
)
def test_atomic_table(
    base: object, ours: object, theirs: object, expected: object, reason: str | None
) -> None:
    run = ThreeWayMerge()
    result = run.merge(base, ours, theirs, ("services", "web", "image"))
    assert result is A if expected is A else result == expected
    if reason is None:
        assert run.conflicts == []
    else:
        (conflict,) = run.conflicts
        assert (conflict.path, conflict.reason) == (("services", "web", "image"), reason)
        assert (conflict.base, conflict.ours, conflict.theirs) == (base, ours, theirs)


@pytest.mark.parametrize(
    ("base", "ours", "theirs"),
    [(A, "o", "t"), ("b", A, "t"), ("b", "o", A), ("b", "o", "t")],
)
def test_overwrite_resolves_every_conflict_to_theirs(base: object, ours: object, theirs: object) -> None:
    run = ThreeWayMerge(overwrite=True)
    result = run.merge(base, ours, theirs, ("k",))
    assert result is theirs
    assert len(run.conflicts) == 1  # still recorded: the caller decides whether to report


def test_maps_merge_key_wise_and_lists_are_atomic() -> None:
    base = {"image": "web:1", "env": {"A": "1", "B": "1"}, "command": ["run"]}
    ours = {"image": "web:1", "env": {"A": "1", "B": "local", "MINE": "x"}, "command": ["run"]}
    theirs = {"image": "web:2", "env": {"A": "2", "B": "1"}, "command": ["run", "--fast"]}
    run = ThreeWayMerge()
    merged = run.merge(base, ours, theirs, ("services", "web"))
    assert merged == {
        "command": ["run", "--fast"],
        "env": {"A": "2", "B": "local", "MINE": "x"},
        "image": "web:2",
    }
    assert run.conflicts == []
    # A list edited on both sides is one conflict for the whole list.
    run = ThreeWayMerge()
    run.merge(
        {"command": ["a"]}, {"command": ["a", "mine"]}, {"command": ["a", "theirs"]}, ("services", "web")
    )
    assert [(c.path, c.reason) for c in run.conflicts] == [
        (("services", "web", "command"), "locally-modified")
    ]


def test_a_map_against_a_scalar_is_atomic() -> None:
    run = ThreeWayMerge()
    assert run.merge("ctx", {"context": "ctx"}, "ctx", ("build",)) == {"context": "ctx"}
    assert run.conflicts == []
    run.merge("ctx", {"context": "mine"}, "other", ("build",))
    assert run.conflicts[0].reason == "locally-modified"


def test_values_compare_canonically_not_by_python_equality() -> None:
    run = ThreeWayMerge()
    assert run.merge(A, True, 1, ("v",)) is True
    assert run.conflicts[0].reason == "untracked-different"


# --------------------------------------------------------------------------- manifest sections


def manifest(**sections: object) -> dict:
    data: dict = {"version": 1, "kind": "stack", "name": "demo"}
    data.update(sections)
    return data


def test_runtime_sections_are_ours_verbatim_and_template_scalars_theirs() -> None:
    runtime = {
        "operator": {"port_pool": {"web": {"range": "8100-8199"}}},
        "workspaces": {"w1": {"template": "workspaces/dev"}},
        "port_leases": {
            "web": [{"port": 8100, "owner": "workspace/w1/web", "created_at": "2026-01-01T00:00:00Z"}]
        },
    }
    ours = manifest(**runtime)
    theirs = manifest(operator={"url": "http://other"}, workspaces={"x": {"template": "t"}})
    theirs["version"] = 2
    result = merge_manifest_data(manifest(), ours, theirs)
    assert result.conflicts == []
    for section, value in runtime.items():
        assert result.data[section] == value
    assert result.data["version"] == 2


def test_template_section_is_theirs_if_present_else_ours() -> None:
    ours = manifest(template={"active": "stacks/dev"})
    assert merge_manifest_data(None, ours, manifest()).data["template"] == {"active": "stacks/dev"}
    theirs = manifest(template={"active": "stacks/prod"})
    assert merge_manifest_data(None, ours, theirs).data["template"] == {"active": "stacks/prod"}


def test_keyed_sections_add_keep_and_delete_per_key() -> None:
    web = {"runtime": "local", "command": ["serve"]}
    base = manifest(services={"web": web, "old": {"runtime": "local", "command": ["old"]}})
    ours = manifest(services={"web": web, "old": base["services"]["old"], "mine": {"runtime": "local"}})
    theirs = manifest(services={"web": web, "frontend": {"runtime": "local", "command": ["vite"]}})
    result = merge_manifest_data(base, ours, theirs)
    assert result.conflicts == []
    assert sorted(result.data["services"]) == ["frontend", "mine", "web"]


def test_a_section_missing_on_one_side_merges_per_key() -> None:
    base = manifest(services={"web": {"runtime": "local"}})
    ours = manifest()  # every service removed locally
    theirs = manifest(services={"web": {"runtime": "local"}, "frontend": {"runtime": "local"}})
    result = merge_manifest_data(base, ours, theirs)
    assert result.conflicts == []
    assert result.data["services"] == {"frontend": {"runtime": "local"}}


def test_recursive_sections_conflict_at_the_leaf() -> None:
    base = manifest(secrets_backend={"type": "env-file", "path": ".env"})
    ours = manifest(secrets_backend={"type": "env-file", "path": "local.env"})
    theirs = manifest(secrets_backend={"type": "env-file", "path": "stack.env"})
    result = merge_manifest_data(base, ours, theirs)
    assert [(c.path, c.reason) for c in result.conflicts] == [
        (("secrets_backend", "path"), "locally-modified")
    ]
    assert result.data["secrets_backend"]["path"] == "local.env"
    name = merge_manifest_data(manifest(), manifest(name="mine"), manifest(name="theirs"))
    assert [(c.path, c.reason) for c in name.conflicts] == [(("name",), "locally-modified")]


def test_allocated_port_values_survive_and_inner_stacks_take_theirs() -> None:
    base = manifest(ports={"web": {"value": 0, "export_env": "WEB_PORT"}, "api": {"value": 8000}})
    ours = manifest(ports={"web": {"value": 8123, "export_env": "WEB_PORT"}, "api": {"value": 8000}})
    theirs = manifest(ports={"web": {"value": 9000, "export_env": "PORT"}, "api": {"value": 8001}})
    result = merge_manifest_data(base, ours, theirs)
    assert result.conflicts == []
    assert result.data["ports"] == {"api": {"value": 8000}, "web": {"value": 8123, "export_env": "PORT"}}
    inner = merge_manifest_data(base, ours, theirs, inner_stack=True)
    assert inner.data["ports"] == {"api": {"value": 8001}, "web": {"value": 9000, "export_env": "PORT"}}
    zero = merge_manifest_data(base, manifest(ports={"web": {"value": 0}}), theirs)
    assert zero.data["ports"]["web"]["value"] == 9000


def test_no_stored_base_means_absent_everywhere() -> None:
    ours = manifest(services={"web": {"runtime": "local", "image": "a"}, "mine": {"runtime": "local"}})
    theirs = manifest(services={"web": {"runtime": "local", "image": "b"}, "new": {"runtime": "local"}})
    result = merge_manifest_data(None, ours, theirs)
    assert sorted(result.data["services"]) == ["mine", "new", "web"]
    assert [(c.path, c.reason) for c in result.conflicts] == [
        (("services", "web", "image"), "untracked-different")
    ]


# --------------------------------------------------------------------------- paths, wire form, reports


def test_conflict_wire_form_is_canonical_json_with_null_for_absent() -> None:
    base = manifest(services={"web": {"image": "web:1", "env": {"B": "1", "A": "1"}}})
    ours = manifest(services={"web": {"image": "web:local", "env": {"A": "1", "B": "1"}}})
    theirs = manifest(services={"web": {"env": {"A": "1", "B": "1"}}})
    (conflict,) = merge_manifest_data(base, ours, theirs).conflicts
    wire = conflict.to_wire("angee.yaml")
    assert (wire.path, wire.reason) == ("angee.yaml#services.web.image", "locally-modified")
    assert (wire.base, wire.ours, wire.theirs) == ('"web:1"', '"web:local"', "null")
    assert canonical_json({"b": [1, {"d": 1, "c": "é"}], "a": None}) == '{"a":null,"b":[1,{"c":"é","d":1}]}'
    assert json.loads(canonical_json({"x": 1})) == {"x": 1}


def test_keys_holding_dots_are_bracketed() -> None:
    assert format_path(("services", "web", "env", "AUTH_MODE")) == "services.web.env.AUTH_MODE"
    assert format_path(("services", "a.b", "image")) == 'services["a.b"].image'
    assert format_path(("a.b", "c")) == '["a.b"].c'
    assert qualified("angee.yaml", ("name",)) == "angee.yaml#name"
    assert qualified("", ("services", "x")) == "services.x"
    base = manifest(volumes={"cache.v1": {"driver": "local"}})
    ours = manifest(volumes={"cache.v1": {"driver": "mine"}})
    theirs = manifest(volumes={"cache.v1": {"driver": "theirs"}})
    (conflict,) = merge_manifest_data(base, ours, theirs).conflicts
    assert conflict.to_wire("angee.yaml").path == 'angee.yaml#volumes["cache.v1"].driver'


def test_changes_are_reported_per_section_key() -> None:
    ours = manifest(services={"web": {"image": "a"}, "gone": {"image": "g"}}, ports={"web": {"value": 1}})
    merged = manifest(services={"web": {"image": "b"}, "new": {"image": "n"}}, ports={"web": {"value": 1}})
    merged["name"] = "renamed"
    changes = [(c.path, c.kind) for c in manifest_changes(ours, merged, "angee.yaml")]
    assert changes == [
        ("angee.yaml#name", "modify"),
        ("angee.yaml#services.gone", "delete"),
        ("angee.yaml#services.new", "add"),
        ("angee.yaml#services.web", "modify"),
    ]
    assert manifest_changes(ours, ours, "angee.yaml") == []


def test_unified_diff_has_the_angee_headers_and_three_context_lines() -> None:
    old = "".join(f"line{i}\n" for i in range(10))
    new = old.replace("line5\n", "line5 changed\n")
    diff = unified_diff(old, new)
    assert diff.splitlines()[:3] == ["--- a/angee.yaml", "+++ b/angee.yaml", "@@ -3,7 +3,7 @@"]
    assert "-line5\n+line5 changed\n" in diff
    assert unified_diff(old, old) == ""
    assert unified_diff("a", "b").endswith("+b\n\\ No newline at end of file\n")


# --------------------------------------------------------------------------- service entries (§8.2)


def test_entry_without_baseline_is_adopted_or_one_conflict() -> None:
    entry = {"runtime": "local", "command": ["serve"]}
    merged, conflicts, adopted = merge_entry(A, entry, dict(entry), ("services", "agent-w"))
    assert (merged, conflicts, adopted) == (entry, [], True)
    other = {"runtime": "local", "command": ["other"]}
    merged, conflicts, adopted = merge_entry(A, entry, other, ("services", "agent-w"))
    assert merged == entry and not adopted
    assert [(c.path, c.reason) for c in conflicts] == [(("services", "agent-w"), "untracked-different")]
    merged, conflicts, _ = merge_entry(A, entry, other, ("services", "agent-w"), overwrite=True)
    assert merged == other


def test_entry_with_baseline_merges_env_key_wise() -> None:
    base = {"runtime": "local", "env": {"AUTH_MODE": "dev", "LEVEL": "info"}}
    ours = {"runtime": "local", "env": {"AUTH_MODE": "local", "LEVEL": "info"}}
    theirs = {"runtime": "local", "env": {"AUTH_MODE": "prod", "LEVEL": "debug"}}
    merged, conflicts, adopted = merge_entry(base, ours, theirs, ("services", "agent-w"))
    assert not adopted
    assert merged["env"] == {"AUTH_MODE": "local", "LEVEL": "debug"}
    assert [(format_path(c.path), c.reason) for c in conflicts] == [
        ("services.agent-w.env.AUTH_MODE", "locally-modified")
    ]
