"""Services from service templates (spec templates-workspaces-git §8): create, update from template and the
asset clean-up of destroy, through the Platform and the real CLI with real templates, renders and manifests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from angee.errors import Conflict, InvalidInput, NotFound
from angee.manifest.model import Service
from angee.platform import Platform
from angee.platform.service_templates import ServiceTemplateOps, check_build_context
from tests.test_templates_helpers import REPO, make_template

SERVICE_YAML = """\
services:
  {{ service_name }}:
    runtime: local
    command: [python, -m, http.server, "{{ alloc_agent }}"]
    env:
      AUTH_MODE: "{{ mode }}"
      MODEL: "{{ model }}"
      API_TOKEN: "${secret.agent_token}"
    workdir: "{{ workspace_path }}"
"""

STACK = """\
version: 1
name: demo
workspaces:
    ws1:
        template: workspaces/dev
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "angee.cli.main", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def platform(root: Path) -> Platform:
    bases: list[type] = [] if issubclass(Platform, ServiceTemplateOps) else [ServiceTemplateOps]
    if not hasattr(Platform, "service_destroy"):
        from angee.platform.runtime import RuntimeOps

        bases.append(RuntimeOps)
    cls = type("P", (*bases, Platform), {}) if bases else Platform
    return cls(str(root))


def agent_template(
    root: Path, service_yaml: str = SERVICE_YAML, extra: dict | None = None, **files: str
) -> Path:
    angee: dict = {
        "kind": "service",
        "ensure": {"operator.port_pool.agent": {"range": "19100-19199"}},
        "inputs": {"mode": {"default": "dev"}, "model": {"default": "small", "immutable": True}},
    }
    angee.update(extra or {})
    content = {"service.yaml.jinja": service_yaml, "AGENTS.md.jinja": "# {{ service_name }} ({{ mode }})\n"}
    content.update(files)
    return make_template(root / ".templates" / "services" / "agent", {"_angee": angee}, content)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "stack"
    path.mkdir()
    (path / "angee.yaml").write_text(STACK)
    agent_template(path)
    platform(path).secret_set("agent_token", "t0ken")  # a value, so the runtime files compile
    return path


def manifest(root: Path) -> dict:
    return yaml.safe_load((root / "angee.yaml").read_text())


def snapshot(tree: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for current, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".templates"]
        for name in files:
            if name != "operator.lock":
                path = Path(current) / name
                out[str(path.relative_to(tree))] = path.read_bytes()
    return out


STATE = Path("run") / "template-state" / "services" / "agent-ws1.json"


# --------------------------------------------------------------------------- create → update → destroy


def test_create_update_destroy_each_verified_on_disk_and_in_the_manifest(root: Path) -> None:
    done = run_cli("service", "create", "--template", "agent", "--workspace", "ws1", cwd=root)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "service agent-ws1 created (runtime=local status=declared)\n"

    data = manifest(root)
    (lease,) = data["port_leases"]["agent"]
    assert lease["owner"] == "service/agent-ws1/agent" and 19100 <= lease["port"] <= 19199
    assert data["operator"]["port_pool"] == {"agent": {"range": "19100-19199"}}
    assert data["services"]["agent-ws1"] == {
        "runtime": "local",
        "command": ["python", "-m", "http.server", str(lease["port"])],
        "env": {"API_TOKEN": "${secret.agent_token}", "AUTH_MODE": "dev", "MODEL": "small"},
        "workdir": str(root / "workspaces" / "ws1"),
    }
    assert data["secrets"] == {"agent_token": {}}  # declared (empty) for the reference
    assets = root / "services" / "agent-ws1"
    assert sorted(os.listdir(assets)) == [".copier-answers.yml", "AGENTS.md"]  # service.yaml is not installed
    assert (assets / "AGENTS.md").read_text() == "# agent-ws1 (dev)\n"
    answers = yaml.safe_load((assets / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "services/agent"
    assert (answers["workspace_name"], answers["service_name"], answers["mode"]) == (
        "ws1",
        "agent-ws1",
        "dev",
    )
    assert answers["alloc_agent"] == str(lease["port"])
    state = json.loads((root / STATE).read_text())
    assert list(state["files"]) == ["AGENTS.md"]
    assert state["documents"]["service.yaml"].startswith("services:\n  agent-ws1:\n")
    assert "agent-ws1" in yaml.safe_load((root / "process-compose.yaml").read_text())["processes"]

    done = run_cli("service", "update", "agent-ws1", "--template", "--input", "mode=prod", cwd=root)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "  ~ AGENTS.md\n  ~ services.agent-ws1.env\nservice agent-ws1 updated\n"
    data = manifest(root)
    assert data["services"]["agent-ws1"]["env"]["AUTH_MODE"] == "prod"
    assert data["port_leases"]["agent"] == [lease]  # the lease is reused, never re-allocated
    assert (assets / "AGENTS.md").read_text() == "# agent-ws1 (prod)\n"
    assert yaml.safe_load((assets / ".copier-answers.yml").read_text())["mode"] == "prod"
    assert 'AUTH_MODE: "prod"' in json.loads((root / STATE).read_text())["documents"]["service.yaml"]
    pc = yaml.safe_load((root / "process-compose.yaml").read_text())
    assert "AUTH_MODE=prod" in pc["processes"]["agent-ws1"]["environment"]

    ops = platform(root)
    ops.service_destroy("agent-ws1", stop=False)
    ops.destroy_service_assets("agent-ws1")  # what service_destroy calls once wired (idempotent)
    data = manifest(root)
    assert "agent-ws1" not in data.get("services", {})
    assert "port_leases" not in data
    assert data["secrets"] == {"agent_token": {}}  # secrets are kept
    assert not assets.exists() and not (root / STATE).exists()


def test_update_of_an_unchanged_service_changes_nothing(root: Path) -> None:
    ops = platform(root)
    ops.service_create("agent", "ws1")
    before = snapshot(root)
    result = ops.service_update_from_template("agent-ws1")
    assert (result.changed, result.changes, result.conflicts) == (False, [], [])
    assert result.service["env"]["AUTH_MODE"] == "dev"
    assert snapshot(root) == before


# --------------------------------------------------------------------------- create rules


def test_name_pattern_explicit_names_and_duplicates(root: Path) -> None:
    agent_template(root, extra={"name_pattern": "bot-${inputs.mode}-${name}"})
    ops = platform(root)
    assert ops.service_create("agent", "ws1").name == "bot-dev-ws1"
    with pytest.raises(Conflict) as err:
        ops.service_create("agent", "ws1")
    assert str(err.value) == "service bot-dev-ws1 conflicts: already exists"
    assert ops.service_create("agent", "ws1", name="helper").name == "helper"
    with pytest.raises(InvalidInput) as bad:
        ops.service_create("agent", "ws1", name="Bad_Name")
    assert bad.value.field == "name" and "^[a-z0-9][a-z0-9_-]{0,62}$" in str(bad.value)


def test_create_needs_an_existing_workspace_and_refuses_injected_inputs(root: Path) -> None:
    ops = platform(root)
    with pytest.raises(NotFound) as err:
        ops.service_create("agent", "nope")
    assert (err.value.kind, err.value.name) == ("workspace", "nope")
    for key in ("service_name", "workspace_path", "alloc_agent"):
        with pytest.raises(InvalidInput) as bad:
            ops.service_create("agent", "ws1", inputs={key: "x"})
        assert bad.value.field == key
    with pytest.raises(InvalidInput):
        ops.service_create("", "ws1")
    assert manifest(root) == yaml.safe_load(STACK)


@pytest.mark.parametrize(
    ("service_yaml", "field", "text"),
    [
        (SERVICE_YAML + "jobs: {}\n", "jobs", 'top-level key "jobs" is not allowed'),
        (
            "services:\n  other:\n    runtime: local\n    command: [x]\n",
            "services",
            'declares service "other"',
        ),
        (
            SERVICE_YAML.replace("    runtime: local\n", "    runtime: local\n    build: ../elsewhere\n"),
            "services.agent-ws1.build",
            'build context "../elsewhere" must be services/agent-ws1/',
        ),
        (
            SERVICE_YAML.replace("    command:", "    image: x\n    command:"),
            "services.agent-ws1.image",
            "must not",
        ),
    ],
)
def test_a_bad_rendered_service_rolls_everything_back(
    root: Path, service_yaml: str, field: str, text: str
) -> None:
    agent_template(root, service_yaml)
    before = snapshot(root)
    with pytest.raises(InvalidInput) as err:
        platform(root).service_create("agent", "ws1")
    assert err.value.field == field and text in str(err.value)
    assert snapshot(root) == before  # no assets, no state, no lease, no secret, no entry
    assert not (root / "services").exists()


def test_build_context_must_stay_in_the_service_dir() -> None:
    for build in ("services/a", "./services/a", {"context": "services/a/docker"}, {"dockerfile": "D"}):
        check_build_context("a", Service(runtime="container", build=build))
    for build in ("/abs/services/a", "services/ab", {"context": "services/a/../b"}):
        with pytest.raises(InvalidInput):
            check_build_context("a", Service(runtime="container", build=build))


def test_a_routed_service_gives_its_leases_back(root: Path) -> None:
    routed = (
        "services:\n  {{ service_name }}:\n    runtime: container\n    image: agent:1\n"
        '    env:\n      PORT: "{{ alloc_agent }}"\n    route:\n      port: 8080\n'
    )
    agent_template(root, routed)
    state = platform(root).service_create("agent", "ws1")
    assert (state.name, state.runtime, state.status) == ("agent-ws1", "container", "declared")
    data = manifest(root)
    assert data["services"]["agent-ws1"]["route"] == {"port": 8080}
    assert "port_leases" not in data
    assert (root / "docker-compose.yaml").exists()


# --------------------------------------------------------------------------- update rules


def test_a_key_edited_locally_and_in_the_template_conflicts_until_overwrite(root: Path) -> None:
    ops = platform(root)
    ops.service_create("agent", "ws1")

    def edit(m):  # type: ignore[no-untyped-def]
        m.services["agent-ws1"].env["AUTH_MODE"] = "local"

    ops.mutate(edit)
    before = snapshot(root)

    dry = ops.service_update_from_template("agent-ws1", inputs={"mode": "prod"}, dry_run=True)
    assert [(c.path, c.reason, c.base, c.ours, c.theirs) for c in dry.conflicts] == [
        ("services.agent-ws1.env.AUTH_MODE", "locally-modified", '"dev"', '"local"', '"prod"')
    ]
    assert [(c.path, c.kind) for c in dry.changes] == [("AGENTS.md", "modify")]
    assert snapshot(root) == before

    with pytest.raises(Conflict) as err:
        ops.service_update_from_template("agent-ws1", inputs={"mode": "prod"})
    assert (err.value.kind, err.value.name) == ("service-template", "agent-ws1")
    assert err.value.conflicts == [
        {
            "path": "services.agent-ws1.env.AUTH_MODE",
            "reason": "locally-modified",
            "base": '"dev"',
            "ours": '"local"',
            "theirs": '"prod"',
        }
    ]
    assert snapshot(root) == before  # assets, answers, manifest and baseline untouched

    done = run_cli("service", "update", "agent-ws1", "--template", "--input", "mode=prod", cwd=root)
    assert done.returncode == 1
    assert done.stdout == "  ! services.agent-ws1.env.AUTH_MODE (locally-modified)\n"
    assert done.stderr.startswith("service-template agent-ws1 conflicts: ")

    result = ops.service_update_from_template("agent-ws1", inputs={"mode": "prod"}, overwrite=True)
    assert result.conflicts == [] and result.changed
    assert manifest(root)["services"]["agent-ws1"]["env"]["AUTH_MODE"] == "prod"


def test_locally_edited_assets_are_reported_not_clobbered(root: Path) -> None:
    ops = platform(root)
    ops.service_create("agent", "ws1")
    agents = root / "services" / "agent-ws1" / "AGENTS.md"
    agents.write_text("my notes\n")
    with pytest.raises(Conflict) as err:
        ops.service_update_from_template("agent-ws1", inputs={"mode": "prod"})
    assert err.value.conflicts == [{"path": "AGENTS.md", "reason": "locally-modified"}]
    assert agents.read_text() == "my notes\n"
    assert manifest(root)["services"]["agent-ws1"]["env"]["AUTH_MODE"] == "dev"


def test_without_a_baseline_identical_entries_are_adopted(root: Path) -> None:
    ops = platform(root)
    ops.service_create("agent", "ws1")
    (root / STATE).unlink()
    result = ops.service_update_from_template("agent-ws1", dry_run=True)
    assert [(c.path, c.kind) for c in result.changes] == [
        ("AGENTS.md", "adopt"),
        ("services.agent-ws1", "adopt"),
    ]
    assert not result.changed and result.conflicts == []
    result = ops.service_update_from_template("agent-ws1", inputs={"mode": "prod"}, dry_run=True)
    assert [(c.path, c.reason, c.base) for c in result.conflicts] == [
        ("AGENTS.md", "untracked-different", None),
        ("services.agent-ws1", "untracked-different", "null"),
    ]
    # The origin falls back to the answers file; a real run records a fresh baseline.
    ops.service_update_from_template("agent-ws1")
    assert "service.yaml" in json.loads((root / STATE).read_text())["documents"]


def test_update_guards(root: Path) -> None:
    ops = platform(root)
    ops.service_create("agent", "ws1")
    with pytest.raises(InvalidInput) as err:
        ops.service_update_from_template("agent-ws1", inputs={"model": "large"})
    assert (err.value.field, err.value.reason) == ("model", "immutable")
    with pytest.raises(InvalidInput) as err:
        ops.service_update_from_template("agent-ws1", inputs={"workspace_name": "other"})
    assert err.value.field == "workspace_name"
    with pytest.raises(NotFound):
        ops.service_update_from_template("ghost")
    agent_template(root, "services:\n  renamed:\n    runtime: local\n    command: [x]\n")
    with pytest.raises(InvalidInput) as err:
        ops.service_update_from_template("agent-ws1", overwrite=True)
    assert 'declares service "renamed", expected "agent-ws1"' in str(err.value)

    def plain(m):  # type: ignore[no-untyped-def]
        m.services["plain"] = Service(runtime="local", command=["sleep", "1"])

    ops.mutate(plain)
    with pytest.raises(InvalidInput) as err:
        ops.service_update_from_template("plain")
    assert (
        str(err.value)
        == 'template: service "plain" was not created from a template (no render state or answers file)'
    )


def test_cli_flag_rules(root: Path) -> None:
    done = run_cli("service", "update", "x", "--template", "--image", "y", cwd=root)
    assert done.returncode == 2 and "--template cannot be combined with --image" in done.stderr
    done = run_cli("service", "update", "x", "--dry-run", cwd=root)
    assert done.returncode == 2 and "--dry-run only applies with --template" in done.stderr
    platform(root).service_create("agent", "ws1")
    done = run_cli(
        "service", "update", "agent-ws1", "--template", "--dry-run", "--input", "mode=prod", cwd=root
    )
    assert (done.returncode, done.stdout) == (
        0,
        "  ~ AGENTS.md\n  ~ services.agent-ws1.env\ndry run: nothing written\n",
    )
    done = run_cli("--json", "service", "update", "agent-ws1", "--template", "--dry-run", cwd=root)
    data = json.loads(done.stdout)
    assert (data["name"], data["changed"], data["changes"], data["conflicts"]) == ("agent-ws1", False, [], [])
    assert data["service"]["runtime"] == "local"
