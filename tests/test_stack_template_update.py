"""``stack update --template`` (spec templates-workspaces-git §7.3) through the Platform and the real CLI:
real template dirs, real Copier renders, real manifests; every acceptance bullet checked on disk and in the
bytes of ``angee.yaml``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from angee.errors import Conflict, InvalidInput, ManifestError
from angee.manifest.model import PortLease, PortPool, Service, Workspace, WorkspaceResolved
from angee.platform import Platform
from angee.platform.stack_template import StackTemplateOps
from tests.test_templates_helpers import REPO, make_template, write

MANIFEST_V1 = """\
version: 1
name: {{ project }}
ports:
  web:
    value: 0
    export_env: WEB_PORT
services:
  web:
    runtime: local
    command: [python, -m, http.server, "{{ web_port }}"]
    env:
      LOG_LEVEL: info
"""

FRONTEND = """\
  frontend:
    runtime: local
    command: [npm, run, dev]
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
    cls = Platform if issubclass(Platform, StackTemplateOps) else type("P", (StackTemplateOps, Platform), {})
    return cls(str(root))


def dev_template(
    project: Path, manifest: str = MANIFEST_V1, agents: str = "# Agents of {{ project }}\n"
) -> Path:
    """``project/.templates/stacks/dev``: an ``.angee`` overlay stack rendering angee.yaml and AGENTS.md."""
    return make_template(
        project / ".templates" / "stacks" / "dev",
        {
            "_angee": {"kind": "stack", "name": "Dev", "inputs": {"ANGEE_ROOT": {"default": ".angee"}}},
            "project": {"type": "str", "default": "demo"},
            "web_port": {"type": "int", "default": 8000},
        },
        {"{{ ANGEE_ROOT }}/angee.yaml.jinja": manifest, "AGENTS.md.jinja": agents},
    )


def snapshot(tree: Path) -> dict[str, bytes]:
    """Every file under ``tree`` (templates excluded) with its bytes; symlinks as their target text."""
    out: dict[str, bytes] = {}
    for current, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".templates"]
        for name in files:
            path = Path(current) / name
            if name == "operator.lock":
                continue
            rel = str(path.relative_to(tree))
            out[rel] = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    dev_template(path)
    platform(path).stack_init("dev")
    return path


def root_of(project: Path) -> Path:
    return project / ".angee"


def add_runtime_state(root: Path) -> None:
    """What a running stack accumulates: a port pool, a workspace with its lease, an allocated port value
    on a template port and a service the user added by hand (saved through the one manifest writer)."""

    def change(m):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        m.operator.port_pool["web"] = PortPool(range="18100-18199")
        m.workspaces["fix-1"] = Workspace(
            template="workspaces/dev",
            resolved=WorkspaceResolved(chain_root=".angee", allocations={"web": 18100}),
        )
        stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        m.port_leases["web"] = [PortLease(port=18100, owner="workspace/fix-1/web", created_at=stamp)]
        m.ports["web"].value = 18150
        m.services["notes"] = Service(runtime="local", command=["python", "-m", "notes"])

    platform(root).mutate(change)


# --------------------------------------------------------------------------- acceptance


def test_a_template_that_gained_a_service_adds_it_and_keeps_runtime_state(project: Path) -> None:
    root = root_of(project)
    add_runtime_state(root)
    before = yaml.safe_load((root / "angee.yaml").read_text())
    dev_template(project, MANIFEST_V1 + FRONTEND)

    done = run_cli("stack", "update", "--template", cwd=project)

    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == "  + angee.yaml#services.frontend\nstack updated from template\n"
    after = yaml.safe_load((root / "angee.yaml").read_text())
    assert after["services"]["frontend"] == {"runtime": "local", "command": ["npm", "run", "dev"]}
    for section in ("operator", "workspaces", "port_leases"):
        assert after[section] == before[section]
    assert after["ports"]["web"]["value"] == 18150
    assert after["services"]["notes"] == before["services"]["notes"]
    assert after["services"]["web"] == before["services"]["web"]
    runtime = yaml.safe_load((root / "process-compose.yaml").read_text())
    assert sorted(runtime["processes"]) == ["frontend", "notes", "web"]
    assert runtime["processes"]["frontend"]["command"] == "npm run dev"
    state = json.loads((root / "run" / "template-state" / "stack.json").read_text())
    assert "frontend:" in state["documents"][".angee/angee.yaml"]  # the new base is the new render


def test_an_up_to_date_stack_keeps_angee_yaml_byte_identical(project: Path) -> None:
    root = root_of(project)
    add_runtime_state(root)
    # Hand formatting and comments survive: only a change of the canonical content rewrites the file.
    text = "# managed by hand as well\n" + (root / "angee.yaml").read_text()
    (root / "angee.yaml").write_text(text)
    state_before = (root / "run" / "template-state" / "stack.json").read_bytes()

    done = run_cli("stack", "update", "--template", cwd=project)

    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "stack template up to date; angee.yaml unchanged\n",
        "",
    )
    assert (root / "angee.yaml").read_text() == text
    assert (root / "run" / "template-state" / "stack.json").read_bytes() == state_before
    assert (root / "process-compose.yaml").exists()  # stack prepare still ran
    result = platform(root).stack_update_from_template()
    assert (result.changed, result.changes, result.conflicts, result.manifest_diff) == (False, [], [], "")


def test_dry_run_prints_the_diff_and_leaves_every_file_untouched(project: Path) -> None:
    root = root_of(project)
    add_runtime_state(root)
    dev_template(project, MANIFEST_V1 + FRONTEND, agents="# Agents of {{ project }}, v2\n")
    before = snapshot(project)

    done = run_cli("stack", "update", "--template", "--dry-run", cwd=project)

    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[:2] == ["--- a/angee.yaml", "+++ b/angee.yaml"]
    assert "+    frontend:" in lines and "+            - npm" in lines
    assert lines[-3:] == ["  ~ AGENTS.md", "  + angee.yaml#services.frontend", "dry run: nothing written"]
    assert snapshot(project) == before
    assert not (root / "process-compose.yaml").exists()

    as_json = run_cli("--json", "stack", "update", "--template", "--dry-run", cwd=project)
    data = json.loads(as_json.stdout)
    assert data["changed"] is True and data["conflicts"] == []
    assert data["changes"] == [
        {"path": "AGENTS.md", "kind": "modify"},
        {"path": "angee.yaml#services.frontend", "kind": "add"},
    ]
    assert data["manifest_diff"].startswith("--- a/angee.yaml\n+++ b/angee.yaml\n@@ ")
    assert snapshot(project) == before


def test_a_key_edited_locally_and_changed_in_the_template_is_a_structured_conflict(project: Path) -> None:
    root = root_of(project)

    def edit(m):  # type: ignore[no-untyped-def]
        m.services["web"].command = ["python", "-m", "http.server", "8001"]

    platform(root).mutate(edit)
    dev_template(project, MANIFEST_V1.replace("[python,", "[python3,") + FRONTEND)
    manifest_before = (root / "angee.yaml").read_bytes()
    files_before = snapshot(project)

    with pytest.raises(Conflict) as err:
        platform(root).stack_update_from_template()
    assert err.value.kind == "stack-template"
    assert err.value.conflicts == [
        {
            "path": "angee.yaml#services.web.command",
            "reason": "locally-modified",
            "base": '["python","-m","http.server","8000"]',
            "ours": '["python","-m","http.server","8001"]',
            "theirs": '["python3","-m","http.server","8000"]',
        }
    ]
    assert (root / "angee.yaml").read_bytes() == manifest_before
    assert snapshot(project) == files_before

    done = run_cli("stack", "update", "--template", cwd=project)
    assert done.returncode == 1
    assert done.stdout == "  ! angee.yaml#services.web.command (locally-modified)\n"
    assert done.stderr.startswith("stack-template conflicts: 1 conflict(s) with the template: ")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert (root / "angee.yaml").read_bytes() == manifest_before

    dry = platform(root).stack_update_from_template(dry_run=True)
    assert [(c.path, c.reason) for c in dry.conflicts] == [
        ("angee.yaml#services.web.command", "locally-modified")
    ]
    assert (root / "angee.yaml").read_bytes() == manifest_before

    done = run_cli("stack", "update", "--template", "--overwrite", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "  + angee.yaml#services.frontend\n  ~ angee.yaml#services.web\nstack updated from template\n"
    )
    web = yaml.safe_load((root / "angee.yaml").read_text())["services"]["web"]
    assert web["command"] == ["python3", "-m", "http.server", "8000"]


def test_a_locally_edited_rendered_file_is_reported_not_clobbered(project: Path) -> None:
    root = root_of(project)
    (project / "AGENTS.md").write_text("my own notes\n")
    dev_template(project, MANIFEST_V1 + FRONTEND, agents="# Agents v2\n")
    manifest_before = (root / "angee.yaml").read_bytes()

    dry = run_cli("stack", "update", "--template", "--dry-run", cwd=project)
    assert dry.returncode == 0
    assert "  ! AGENTS.md (locally-modified)\ndry run: nothing written\n" in dry.stdout

    done = run_cli("stack", "update", "--template", cwd=project)
    assert done.returncode == 1
    assert done.stdout == "  ! AGENTS.md (locally-modified)\n"
    assert "AGENTS.md (locally-modified)" in done.stderr
    assert (project / "AGENTS.md").read_text() == "my own notes\n"
    assert (root / "angee.yaml").read_bytes() == manifest_before  # nothing at all was written

    done = run_cli("stack", "update", "--template", "--overwrite", cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "AGENTS.md").read_text() == "# Agents v2\n"
    assert "frontend" in yaml.safe_load((root / "angee.yaml").read_text())["services"]


# --------------------------------------------------------------------------- merge behaviour


def test_template_removals_apply_and_local_removals_stick(project: Path) -> None:
    root = root_of(project)
    dev_template(project, MANIFEST_V1 + FRONTEND)
    platform(root).stack_update_from_template()

    def drop_frontend(m):  # type: ignore[no-untyped-def]
        del m.services["frontend"]

    platform(root).mutate(drop_frontend)
    result = platform(root).stack_update_from_template()  # template unchanged: the local removal stays
    assert (
        result.changes == []
        and "frontend" not in yaml.safe_load((root / "angee.yaml").read_text())["services"]
    )

    dev_template(project, MANIFEST_V1.replace("  web:\n    runtime", "  api:\n    runtime"))
    result = platform(root).stack_update_from_template()
    assert [(c.path, c.kind) for c in result.changes] == [
        ("angee.yaml#services.api", "add"),
        ("angee.yaml#services.web", "delete"),
    ]
    assert sorted(yaml.safe_load((root / "angee.yaml").read_text())["services"]) == ["api"]


def test_without_a_stored_base_local_differences_are_untracked(project: Path) -> None:
    root = root_of(project)
    (root / "run" / "template-state" / "stack.json").unlink()

    def edit(m):  # type: ignore[no-untyped-def]
        m.services["web"].env["LOG_LEVEL"] = "debug"

    platform(root).mutate(edit)
    result = platform(root).stack_update_from_template(dry_run=True)
    assert [(c.path, c.reason, c.base) for c in result.conflicts] == [
        ("angee.yaml#services.web.env.LOG_LEVEL", "untracked-different", "null")
    ]
    assert [(c.path, c.kind) for c in result.changes] == [("AGENTS.md", "adopt")]


def test_caller_inputs_rerender_and_are_recorded(project: Path) -> None:
    root = root_of(project)
    result = platform(root).stack_update_from_template(inputs={"web_port": "9001"})
    assert [(c.path, c.kind) for c in result.changes] == [("angee.yaml#services.web", "modify")]
    assert yaml.safe_load((root / "angee.yaml").read_text())["services"]["web"]["command"][-1] == "9001"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["web_port"] == "9001"
    assert "9001" in (root / "process-compose.yaml").read_text()


def test_answered_path_inputs_are_used_verbatim(tmp_path: Path) -> None:
    project = tmp_path / "p"
    make_template(
        project / ".templates" / "stacks" / "app",
        {
            "_angee": {
                "kind": "stack",
                "inputs": {
                    "ANGEE_ROOT": {"default": ".angee"},
                    "app_dir": {"type": "path", "default": "app"},
                },
            }
        },
        {
            "{{ ANGEE_ROOT }}/angee.yaml.jinja": (
                "name: app\nservices:\n  web:\n    runtime: local\n    command: [ls]\n    workdir: '{{ app_dir }}'\n"
            )
        },
    )
    platform(project).stack_init("app")
    root = project / ".angee"
    assert yaml.safe_load((root / "angee.yaml").read_text())["services"]["web"]["workdir"] == "../app"
    before = (root / "angee.yaml").read_bytes()
    result = platform(root).stack_update_from_template()
    assert result.changes == []  # re-resolving "../app" would have given "../../app"
    assert (root / "angee.yaml").read_bytes() == before


def test_ensure_runs_after_the_merge(project: Path) -> None:
    root = root_of(project)
    add_runtime_state(root)
    config = yaml.safe_load((project / ".templates/stacks/dev/copier.yml").read_text())
    config["_angee"]["ensure"] = {"operator.port_pool.web": {"range": "9000-9099"}}
    (project / ".templates/stacks/dev/copier.yml").write_text(yaml.safe_dump(config))
    before = snapshot(project)
    with pytest.raises(Conflict) as err:
        platform(root).stack_update_from_template()
    assert err.value.kind == "ensure"
    assert str(err.value).startswith("ensure: operator.port_pool.web: existing value")
    assert snapshot(project) == before

    config["_angee"]["ensure"] = {"operator.port_pool.api": {"range": "9000-9099"}}
    (project / ".templates/stacks/dev/copier.yml").write_text(yaml.safe_dump(config))
    result = platform(root).stack_update_from_template()
    assert [(c.path, c.kind) for c in result.changes] == [("angee.yaml#operator.port_pool", "modify")]
    assert yaml.safe_load((root / "angee.yaml").read_text())["operator"]["port_pool"]["api"] == {
        "range": "9000-9099"
    }


def test_workspace_inner_stack_takes_its_ports_from_the_host_record(tmp_path: Path) -> None:
    host = tmp_path / "host"
    make_template(
        host / ".templates" / "stacks" / "inner",
        {"_angee": {"kind": "stack"}, "web_port": {"type": "int", "default": 8000}},
        {
            "angee.yaml.jinja": (
                "name: inner\nports:\n  web:\n    value: {{ web_port }}\n"
                "services:\n  web:\n    runtime: local\n    command: [serve, '{{ web_port }}']\n"
            )
        },
    )
    make_template(
        host / ".templates" / "workspaces" / "dev",
        {
            "_angee": {
                "kind": "workspace",
                "chain_root": "stack",
                "chain": [{"template": "stacks/inner", "inputs": {"web_port": "${alloc.web}"}}],
            }
        },
        {"README.md": "workspace\n"},
    )
    write(
        host / "angee.yaml",
        """\
        version: 1
        name: host
        workspaces:
            w1:
                template: workspaces/dev
                resolved:
                    chain_root: stack
                    allocations:
                        web: 8123
        """,
    )
    inner = host / "workspaces" / "w1" / "stack"
    inner.mkdir(parents=True)
    platform(inner).stack_init("inner", inputs={"web_port": "8000"})
    data = yaml.safe_load((inner / "angee.yaml").read_text())
    assert data["ports"]["web"]["value"] == 8000

    result = platform(inner).stack_update_from_template()

    data = yaml.safe_load((inner / "angee.yaml").read_text())
    assert data["ports"]["web"]["value"] == 8123  # host-authoritative, not the inner stack's 8000
    assert data["services"]["web"]["command"] == ["serve", "8123"]
    assert yaml.safe_load((inner / ".copier-answers.yml").read_text())["web_port"] == "8123"
    assert {c.path for c in result.changes} == {"angee.yaml#ports.web", "angee.yaml#services.web"}

    (host / "angee.yaml").write_text("version: 1\nname: host\nservices: [broken\n")
    with pytest.raises(ManifestError) as err:
        platform(inner).stack_update_from_template(dry_run=True)
    assert str(host / "angee.yaml") in str(err.value)


# --------------------------------------------------------------------------- errors and the CLI


def test_missing_answers_file_names_the_fix(project: Path) -> None:
    (project / ".copier-answers.yml").unlink()
    with pytest.raises(InvalidInput) as err:
        platform(root_of(project)).stack_update_from_template()
    assert str(err.value) == (
        'missing answers file ".copier-answers.yml"; re-create the stack with `angee stack init --force` '
        "before `stack update --template`"
    )
    done = run_cli("stack", "update", "--template", cwd=project)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == str(err.value) + "\n"


def test_plain_update_and_flag_rules(project: Path) -> None:
    done = run_cli("stack", "update", cwd=project)
    assert (done.returncode, done.stdout) == (0, "stack updated\n"), done.stderr
    assert (root_of(project) / "process-compose.yaml").exists()
    done = run_cli("stack", "update", "--dry-run", cwd=project)
    assert done.returncode == 2 and "--dry-run only applies with --template" in done.stderr
    done = run_cli("stack", "update", "--overwrite", cwd=project)
    assert done.returncode == 2 and "only applies with --template" in done.stderr
    done = run_cli("--operator", "http://127.0.0.1:9", "stack", "update", "--template", cwd=project)
    assert done.returncode == 1
    assert (
        done.stderr == "--template re-renders the local stack template and is not supported with --operator\n"
    )
    done = run_cli("stack", "update", "--template", "--input", "=x", cwd=project)
    assert done.returncode == 2 and 'expected K=V, got "=x"' in done.stderr
