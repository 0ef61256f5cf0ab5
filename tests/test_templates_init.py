"""``stack init`` (§7.1, §10) through the Platform and the real CLI (``init``, ``stack init``, ``template``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from angee.errors import Conflict, InvalidInput
from angee.lock import holds_root_lock
from angee.platform import Platform
from angee.platform.templates import TemplateOps
from angee.templates.render import PreparedRender
from tests.test_templates_helpers import git_repo_with_template, make_template, run_cli, write

BODY = """\
services:
  web:
    runtime: local
    command: [python, -m, http.server, "{{ web_port }}"]
"""


def platform(root: Path) -> TemplateOps:
    cls = Platform
    return cls(str(root))


def dev_template(project: Path, *, include_root: bool = True, extra_angee: dict | None = None) -> Path:
    """``project/.templates/stacks/dev``: a dev overlay (ANGEE_ROOT .angee) whose manifest body comes from
    ``.templates/_shared/body.yaml.jinja`` through ``../../_shared``."""
    write(project / ".templates" / "_shared" / "body.yaml.jinja", BODY)
    angee: dict = {
        "kind": "stack",
        "name": "Dev",
        "inputs": {"ANGEE_ROOT": {"default": ".angee"}, "secret_key": {"generated": True}},
    }
    if include_root:
        angee["include_root"] = "../.."
    angee.update(extra_angee or {})
    return make_template(
        project / ".templates" / "stacks" / "dev",
        {
            "_angee": angee,
            "project": {"type": "str", "default": "demo", "help": "Project name"},
            "web_port": {"type": "int", "default": 8000},
        },
        {
            "{{ ANGEE_ROOT }}/angee.yaml.jinja": 'version: 1\nname: {{ project }}\n{% include "../../_shared/body.yaml.jinja" %}',
            "README.md.jinja": "# {{ project }}\n",
        },
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_include_root_template_renders_through_stack_init(project: Path) -> None:
    """Issue acceptance: `include_root: "../.."` + `../../_shared/body.yaml.jinja` renders via `stack init`."""
    dev_template(project)
    done = run_cli("stack", "init", "dev", "--yes", "--input", "web_port=9000", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "stack template dev initialized as .angee\n",
        "",
    )
    manifest = yaml.safe_load((project / ".angee" / "angee.yaml").read_text())
    assert manifest["name"] == "demo"
    assert manifest["services"]["web"]["command"] == ["python", "-m", "http.server", "9000"]
    assert manifest["template"] == {"active": "stacks/dev"}
    assert (project / "README.md").read_text() == "# demo\n"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "stacks/dev" and answers["web_port"] == "9000"
    assert answers["ANGEE_ROOT"] == ".angee" and len(answers["secret_key"]) == 32
    state = json.loads((project / ".angee" / "run" / "template-state" / "stack.json").read_text())
    assert state["documents"][".angee/angee.yaml"].startswith("version: 1\nname: demo\nservices:")
    assert list(state["files"]) == ["README.md"]


def test_include_without_include_root_fails_naming_the_include(project: Path) -> None:
    dev_template(project, include_root=False)
    done = run_cli("stack", "init", "dev", "--yes", cwd=project)
    assert done.returncode == 1
    assert 'include "../../_shared/body.yaml.jinja" not found' in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(project)) == [".templates"]


def test_init_dev_prompts_on_stderr(project: Path) -> None:
    dev_template(project)
    done = run_cli("init", "--dev", cwd=project, stdin="shop\n\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "project [demo]: web_port [8000]: "  # generated and metadata-only inputs not asked
    assert done.stdout == "stack template dev initialized as .angee\n"
    assert yaml.safe_load((project / ".angee" / "angee.yaml").read_text())["name"] == "shop"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (
            "",
            "template input project requires interactive input; use --yes to accept defaults or --input project=value",
        ),
        ("shop\nlots\n", 'template input web_port: "lots" is not an integer'),
    ],
)
def test_prompting_errors(project: Path, stdin: str, message: str) -> None:
    dev_template(project)
    done = run_cli("init", "--dev", cwd=project, stdin=stdin)
    assert done.returncode == 1
    assert done.stderr.endswith(message + "\n")
    assert not (project / ".angee").exists()


def test_required_question_without_default(project: Path) -> None:
    make_template(
        project / ".templates" / "stacks" / "api",
        {"_angee": {"kind": "stack"}, "owner": {"type": "str"}, "count": {"type": "integer", "default": 1}},
        {"angee.yaml.jinja": "name: {{ owner }}\n"},
    )
    done = run_cli("stack", "init", "api", "out", cwd=project, stdin="\n\n")
    assert done.returncode == 1
    assert done.stderr == "count [1]: owner: template input owner is required; pass --input owner=value\n"
    done = run_cli("stack", "init", "api", "out", "--yes", cwd=project)
    assert done.stderr.strip() == "template input owner is required; pass --input owner=value"
    done = run_cli("stack", "init", "api", "out", "--input", "owner=ops", cwd=project, stdin="\n")
    assert (done.returncode, done.stderr) == (0, "count [1]: ")  # given inputs are not asked again
    assert yaml.safe_load((project / "out" / "angee.yaml").read_text())["name"] == "ops"


def test_existing_root_needs_force(project: Path) -> None:
    dev_template(project)
    assert run_cli("init", "--dev", "-y", cwd=project).returncode == 0
    (project / ".angee" / "angee.yaml").write_text("version: 1\nname: hand-edited\n")
    (project / "README.md").write_text("local notes\n")
    done = run_cli("init", "--dev", "-y", cwd=project)
    assert done.returncode == 1
    assert done.stderr == (
        "stack template dev already exists as .angee; use --force to overwrite or `angee stack update` to update\n"
    )
    assert (project / "README.md").read_text() == "local notes\n"
    done = run_cli("init", "--dev", "-y", "--force", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "status": "initialized",
        "template": "dev",
        "root": str(project / ".angee"),
    }
    assert yaml.safe_load((project / ".angee" / "angee.yaml").read_text())["name"] == "demo"
    assert (project / "README.md").read_text() == "# demo\n"


def test_force_init_into_existing_root_holds_its_lock(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev_template(project)
    ops = platform(project)
    ops.stack_init("dev")
    seen: list[bool] = []
    original = PreparedRender.apply

    def spying_apply(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(holds_root_lock(str(project / ".angee")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PreparedRender, "apply", spying_apply)
    with pytest.raises(Conflict) as err:
        ops.stack_init("dev")
    assert (err.value.kind, err.value.name) == ("stack-root", str(project / ".angee"))
    assert str(err.value).endswith(
        "already exists and is non-empty; use --force to overwrite or `angee stack update` to update"
    )
    result = ops.stack_init("dev", force=True)
    assert seen == [True] and result.root == str(project / ".angee")


def test_init_stack_defaults_angee_root_to_dot(project: Path) -> None:
    dev_template(project)
    done = run_cli("init", "stack", "instance", "-t", "dev", "-y", cwd=project)
    assert (done.returncode, done.stdout) == (0, "stack template dev initialized as instance\n"), done.stderr
    assert (project / "instance" / "angee.yaml").exists()
    assert (project / "instance" / ".copier-answers.yml").exists()
    assert (project / "instance" / "run" / "template-state" / "stack.json").exists()


def test_init_usage_errors(project: Path) -> None:
    done = run_cli("init", cwd=project)
    assert done.returncode == 2 and "init requires --dev or use stack init <template>" in done.stderr
    done = run_cli("init", "stack", "x", cwd=project)
    assert done.returncode == 2 and "--template" in done.stderr


def test_template_without_manifest_or_bad_manifest(project: Path) -> None:
    make_template(project / ".templates" / "stacks" / "empty", {"_angee": {"kind": "stack"}}, {"x.txt": "x"})
    with pytest.raises(InvalidInput, match='stack template "empty" rendered no angee.yaml'):
        platform(project).stack_init("empty", "out")
    assert not (project / "out").exists()
    make_template(
        project / ".templates" / "stacks" / "bad",
        {"_angee": {"kind": "stack"}},
        {"angee.yaml.jinja": "ports: 3\n"},
    )
    with pytest.raises(InvalidInput):
        platform(project).stack_init("bad", "out2")
    assert not (project / "out2").exists()


def test_ensure_and_sources_are_applied(project: Path, tmp_path: Path) -> None:
    work, bare = tmp_path / "work", tmp_path / "app.git"
    git_repo_with_template(work, bare, "tpl")
    make_template(
        project / ".templates" / "stacks" / "full",
        {"_angee": {"kind": "stack", "ensure": {"operator.port_pool.web": {"range": "8100-8199"}}}},
        {"angee.yaml.jinja": f"name: full\nsources:\n  app:\n    kind: git\n    repo: file://{bare}\n"},
    )
    result = platform(project).stack_init("full", "inst")
    manifest = yaml.safe_load((Path(result.root) / "angee.yaml").read_text())
    assert manifest["operator"] == {"port_pool": {"web": {"range": "8100-8199"}}}
    assert (Path(result.root) / "sources" / "app" / ".git").is_dir()


def test_template_list_and_get_cli(project: Path) -> None:
    dev_template(project)
    done = run_cli("template", "ls", cwd=project)
    assert done.stdout == f"stacks/dev\tstack\t{project / '.templates' / 'stacks' / 'dev'}\n"
    done = run_cli("template", "get", "stacks/dev", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "ref\tstacks/dev",
        "kind\tstack",
        "name\tDev",
        f"path\t{project / '.templates' / 'stacks' / 'dev'}",
        'input.ANGEE_ROOT\trequired=false type= default=".angee"',
        'input.project\trequired=false type=str default="demo"',
        'input.secret_key\trequired=false type= default=""',
        'input.web_port\trequired=false type=int default="8000"',
    ]
    data = json.loads(run_cli("template", "get", "stacks/dev", "--json", cwd=project).stdout)
    assert data["inputs"][1] == {
        "name": "project",
        "type": "str",
        "required": False,
        "immutable": False,
        "generated": False,
        "default": "demo",
        "question": True,
        "help": "Project name",
    }
    missing = run_cli("template", "get", "stacks/nope", cwd=project)
    assert (missing.returncode, missing.stderr) == (1, 'template "stacks/nope" is not declared\n')


def test_cli_never_imports_copier_for_help(project: Path) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['angee', '--help']\n"
        "try:\n"
        "    runpy.run_module('angee.cli.main', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import angee.cli.init_cmd, angee.cli.template_cmd, angee.templates, angee.platform.templates\n"
        "print('copier' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project, env=env)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
