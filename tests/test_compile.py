"""The compile step (spec manifest-and-runtime §5.1–§5.7, §5.10): angee.yaml → runtime files.

Pure compile tests use ``compile_stack`` on parsed manifests; the StackPrepare ones run the Platform on a
real stack root in a tmp dir and look at the files it writes.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from angee.api import to_wire
from angee.compile import CompiledStack, compile_stack, compose_project, shell_join
from angee.errors import InvalidInput
from angee.manifest import parse_manifest
from angee.platform import Platform
from angee.platform.prepare import PrepareOps

StackPlatform = (
    Platform if issubclass(Platform, PrepareOps) else type("StackPlatform", (PrepareOps, Platform), {})
)

ROOT = "/srv/notes/.angee"

WORKED_EXAMPLE = """\
version: 1
kind: stack
name: Notes Demo
secrets:
  db-password: {generated: true, length: 24}
ports:
  api: {value: 8101}
sources:
  app: {kind: local, path: ..}
volumes:
  pgdata: {}
services:
  db:
    runtime: container
    image: postgres:16
    env: {POSTGRES_PASSWORD: "${secret.db-password}"}
    ports: ["127.0.0.1:5432:5432"]
    mounts: ["volume://pgdata:/var/lib/postgresql/data"]
  api:
    runtime: local
    command: [python, -m, http.server, "${ports.api}"]
    env:
      DATABASE_URL: postgres://postgres:${secret.db-password}@127.0.0.1:5432/postgres
      PORT: ${ports.api}
    mounts: ["source://app:/app"]
    workdir: source://app
    depends_on: [migrate]
jobs:
  migrate:
    runtime: local
    command: [python, manage.py, migrate]
    workdir: source://app/backend
"""

GOLDEN_COMPOSE = """\
x-angee-project: notes-demo-1b431952
services:
    db:
        image: postgres:16
        environment:
            POSTGRES_PASSWORD: ${ANGEE_SECRET_DB_PASSWORD}
        ports:
            - 127.0.0.1:5432:5432
        volumes:
            - pgdata:/var/lib/postgresql/data
volumes:
    pgdata:
        driver: local
"""

GOLDEN_PROCESS_COMPOSE = """\
version: '0.5'
processes:
    api:
        command: python -m http.server 8101
        environment:
            - DATABASE_URL=postgres://postgres:${ANGEE_SECRET_DB_PASSWORD}@127.0.0.1:5432/postgres
            - PORT=8101
            - SOURCE_APP_PATH=/srv/notes
        working_dir: /srv/notes
        depends_on:
            migrate:
                condition: process_completed_successfully
    migrate:
        command: python manage.py migrate
        working_dir: /srv/notes/backend
"""


def compiled(text: str, root: str = ROOT, secrets: tuple[str, ...] = ()) -> CompiledStack:
    return compile_stack(parse_manifest(textwrap.dedent(text)), root, secrets)


def compile_error(text: str, root: str = ROOT, secrets: tuple[str, ...] = ()) -> str:
    with pytest.raises(InvalidInput) as info:
        compiled(text, root, secrets)
    return str(info.value)


def stack(tmp_path: Path, manifest: str) -> Platform:
    """A dev-overlay stack root ``<tmp>/proj/.angee`` whose project dir holds a ``backend`` folder."""
    root = tmp_path / "proj" / ".angee"
    (tmp_path / "proj" / "backend").mkdir(parents=True)
    root.mkdir()
    (root / "angee.yaml").write_text(textwrap.dedent(manifest))
    return StackPlatform(str(root))


# --------------------------------------------------------------------------- §5.10 golden


def test_worked_example_compiles_to_the_exact_golden_bytes():
    result = compiled(WORKED_EXAMPLE, secrets=("db-password",))
    assert result.compose_text() == GOLDEN_COMPOSE
    assert result.process_compose_text() == GOLDEN_PROCESS_COMPOSE
    assert result.secret_env_vars == {"db-password": "ANGEE_SECRET_DB_PASSWORD"}
    assert result.warnings == []


def test_worked_example_wire_form_is_the_documents_as_written():
    wire = to_wire(compiled(WORKED_EXAMPLE, secrets=("db-password",)))
    assert list(wire) == ["compose", "process_compose", "secret_env_vars"]
    assert wire["compose"]["x-angee-project"] == "notes-demo-1b431952"
    assert wire["compose"]["services"]["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert wire["process_compose"]["version"] == "0.5"
    assert wire["secret_env_vars"] == {"db-password": "ANGEE_SECRET_DB_PASSWORD"}


def test_worked_example_prepared_on_disk_matches_the_golden_files_at_that_root(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    result = platform.stack_prepare()
    root = platform.root
    project = str(tmp_path / "proj")
    compose = (Path(root) / "docker-compose.yaml").read_text()
    processes = (Path(root) / "process-compose.yaml").read_text()
    expected_compose = GOLDEN_COMPOSE.replace("notes-demo-1b431952", compose_project("Notes Demo", root))
    assert compose == expected_compose
    assert processes == GOLDEN_PROCESS_COMPOSE.replace("/srv/notes", project)
    assert result.compose_text() == compose and result.process_compose_text() == processes
    env = (Path(root) / ".env").read_text()
    assert re.fullmatch(r"ANGEE_SECRET_DB_PASSWORD='[A-Za-z0-9_-]{24}'\n", env)


def test_compile_is_a_pure_function_of_manifest_root_and_secret_names():
    first = compiled(WORKED_EXAMPLE, secrets=("db-password",))
    again = compiled(WORKED_EXAMPLE, secrets=("db-password",))
    assert first.compose_text() == again.compose_text()
    assert first.process_compose_text() == again.process_compose_text()
    elsewhere = compiled(WORKED_EXAMPLE, root="/opt/other/.angee", secrets=("db-password",))
    assert "SOURCE_APP_PATH=/opt/other" in elsewhere.process_compose_text()
    assert elsewhere.compose["x-angee-project"] != first.compose["x-angee-project"]


# --------------------------------------------------------------------------- byte stability, secrets


def test_second_prepare_leaves_both_files_byte_identical_and_untouched(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    platform.stack_prepare()
    files = [Path(platform.root) / name for name in ("docker-compose.yaml", "process-compose.yaml")]
    before = [(f.read_bytes(), f.stat().st_mtime_ns, f.stat().st_ino) for f in files]
    platform.stack_prepare()
    after = [(f.read_bytes(), f.stat().st_mtime_ns, f.stat().st_ino) for f in files]
    assert after == before


def test_no_secret_value_reaches_the_runtime_files_or_the_compiled_stack(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    result = platform.stack_prepare()
    value = (Path(platform.root) / ".env").read_text().split("=", 1)[1].strip().strip("'")
    assert len(value) == 24
    for name in ("docker-compose.yaml", "process-compose.yaml"):
        text = (Path(platform.root) / name).read_text()
        assert value not in text
        assert "${ANGEE_SECRET_DB_PASSWORD}" in text
    assert value not in repr(to_wire(result))


def test_unresolved_secret_reference_fails_naming_the_field():
    message = compile_error(
        """\
        name: s
        secrets: {tok: {}}
        services:
          web: {runtime: container, image: x, env: {TOKEN: "${secret.tok}"}}
        """
    )
    assert message == 'services.web.env.TOKEN: secret "tok" is not resolved'


def test_secret_placeholder_only_for_resolved_secrets_and_filters_rules():
    text = """\
    name: s
    secrets: {tok: {}}
    services:
      web: {runtime: container, image: x, env: {A: "${secret:tok|required}", B: "${secret.tok|default(z)}"}}
    """
    result = compiled(text, secrets=("tok",))
    assert result.compose["services"]["web"]["environment"] == {
        "A": "${ANGEE_SECRET_TOK}",
        "B": "${ANGEE_SECRET_TOK}",
    }
    bad = text.replace("|required", "|upper")
    assert compile_error(bad, secrets=("tok",)) == (
        "services.web.env.A: filters other than default/required are not allowed on secret references in runtime files"
    )


# --------------------------------------------------------------------------- error messages


def test_undeclared_port_is_an_invalid_input_naming_the_field():
    message = compile_error(
        """\
        name: s
        services:
          api: {runtime: local, command: [serve], env: {PORT: "${ports.x}"}}
        """
    )
    assert message == 'services.api.env.PORT: port "x" is not declared'


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (
            '{runtime: container, image: x, command: [a, "${nope.x}"]}',
            'services.s1.command[1]: unknown substitution namespace "nope"',
        ),
        (
            '{runtime: container, image: x, mounts: ["volume://gone:/d"]}',
            'services.s1.mounts[0]: volume "gone" is not declared',
        ),
        (
            '{runtime: container, image: x, mounts: ["volume://v/sub:/d"]}',
            "services.s1.mounts[0]: volume mounts do not support subpaths",
        ),
        (
            '{runtime: container, image: x, workdir: "source://app"}',
            'services.s1.workdir: workdir "source://app" of a container must be a path inside the container, not a mount URI',
        ),
        (
            '{runtime: local, command: [x], workdir: "source://gone/x"}',
            'services.s1.workdir: source "gone" is not declared',
        ),
        (
            '{runtime: local, command: [x], mounts: ["ftp://a:/b"]}',
            'services.s1.mounts[0]: unsupported mount scheme "ftp"',
        ),
        (
            '{runtime: container, image: x, ports: ["${ports.none}:80"]}',
            'services.s1.ports[0]: port "none" is not declared',
        ),
    ],
)
def test_compile_errors_name_the_field(service: str, message: str):
    text = f"""\
    name: s
    sources: {{app: {{kind: local, path: ..}}}}
    volumes: {{v: {{}}}}
    services:
      s1: {service}
    """
    assert compile_error(text) == message


def test_a_service_using_inputs_fails():
    message = compile_error(
        """\
        name: s
        services:
          api: {runtime: local, command: [serve, "${inputs.branch}"]}
        """
    )
    assert message == 'services.api.command[1]: input "branch" is not set'


# --------------------------------------------------------------------------- env_file


def test_container_env_file_is_an_absolute_path_in_compose():
    result = compiled(
        """\
        name: s
        services:
          web: {runtime: container, image: x, env_file: config/web.env, env: {A: b}}
        """
    )
    web = result.compose["services"]["web"]
    assert list(web) == ["image", "env_file", "environment"]
    assert web["env_file"] == [f"{ROOT}/config/web.env"]


def test_local_env_file_is_merged_explicit_env_wins_and_mount_env_vars_override(tmp_path: Path):
    root = tmp_path / "root"
    (root / "cfg").mkdir(parents=True)
    (root / "cfg" / "api.env").write_text(
        "FROM_FILE='one'\nSHARED=file\nSOURCE_APP_PATH=/file/value\nnot a valid line\nexport BAD KEY=1\n"
    )
    result = compiled(
        """\
        name: s
        sources: {app: {kind: local, path: ../app}}
        services:
          api:
            runtime: local
            command: [serve]
            env_file: cfg/api.env
            env: {SHARED: explicit, SOURCE_APP_PATH: from-env, ZED: z}
            mounts: ["source://app:/app"]
        """,
        root=str(root),
    )
    assert result.process_compose["processes"]["api"]["environment"] == [
        "FROM_FILE=one",
        "SHARED=explicit",
        f"SOURCE_APP_PATH={tmp_path}/app",
        "ZED=z",
    ]


def test_a_missing_local_env_file_reads_as_empty():
    result = compiled(
        """\
        name: s
        services:
          api: {runtime: local, command: [serve], env_file: nowhere.env}
        """,
        root="/nonexistent/root",
    )
    assert "environment" not in result.process_compose["processes"]["api"]


# --------------------------------------------------------------------------- dependencies §5.5

DEPS = """\
name: deps
services:
  db: {runtime: container, image: postgres}
  cache: {runtime: container, image: redis}
  web:
    runtime: container
    image: web
    after: [db]
    depends_on: [cache, db, api, seed]
  api: {runtime: local, command: [serve], after: [worker], depends_on: [migrate, db, ask]}
  worker: {runtime: local, command: [work]}
jobs:
  migrate: {runtime: local, command: [migrate]}
  seed: {runtime: container, image: seeder}
  ask: {runtime: local, command: [ask, "${inputs.question}"]}
  after-seed: {runtime: local, command: [x], depends_on: [seed]}
"""


def test_dependencies_within_a_file_get_conditions():
    result = compiled(DEPS)
    assert result.compose["services"]["web"]["depends_on"] == {
        "cache": {"condition": "service_started"},
        "db": {"condition": "service_started"},
    }
    assert result.process_compose["processes"]["api"]["depends_on"] == {
        "migrate": {"condition": "process_completed_successfully"},
        "worker": {"condition": "process_started"},
    }


def test_cross_runtime_container_job_and_input_job_dependencies_are_dropped_with_warnings():
    result = compiled(DEPS)
    assert result.warnings == [
        'service "web" depends on "api", which is not in docker-compose.yaml (local runtime service); '
        "dependency dropped",
        'service "web" depends on "seed", which is not in docker-compose.yaml (container runtime job; '
        "container jobs are not compiled); dependency dropped",
        'job "after-seed" depends on "seed", which is not in process-compose.yaml (container runtime job; '
        "container jobs are not compiled); dependency dropped",
        'service "api" depends on "ask", which is not in process-compose.yaml (a job using ${inputs.…} is '
        "run only by job run); dependency dropped",
        'service "api" depends on "db", which is not in process-compose.yaml (container runtime service); '
        "dependency dropped",
    ]
    assert "depends_on" not in result.process_compose["processes"]["after-seed"]


def test_prepare_prints_dropped_dependency_warnings_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    platform = stack(tmp_path, DEPS)
    platform.stack_prepare()
    err = capsys.readouterr().err
    assert 'warning: service "api" depends on "db", which is not in process-compose.yaml' in err
    assert err.count("warning: ") == 5


def test_input_jobs_and_container_jobs_are_not_compiled():
    result = compiled(DEPS)
    assert sorted(result.process_compose["processes"]) == ["after-seed", "api", "migrate", "worker"]
    assert sorted(result.compose["services"]) == ["cache", "db", "web"]


def test_an_input_job_with_a_bad_reference_elsewhere_does_not_fail_the_compile():
    result = compiled(
        """\
        name: s
        jobs:
          ask: {runtime: local, command: [ask, "${inputs.q}"], env: {P: "${ports.nope}"}}
          seed: {runtime: container, image: x, env: {P: "${ports.nope}"}}
        """
    )
    assert result.compose == {} and result.process_compose == {}


def test_an_escaped_inputs_reference_does_not_make_an_input_job():
    result = compiled(
        """\
        name: s
        jobs:
          echo: {runtime: local, command: [echo, "$${inputs.q}"]}
        """
    )
    assert result.process_compose["processes"]["echo"]["command"] == "echo '$${inputs.q}'"


# --------------------------------------------------------------------------- process-compose details


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["python", "-m", "http.server", "8101"], "python -m http.server 8101"),
        (["a=b", "./x/y:z", "+1", "under_score"], "a=b ./x/y:z +1 under_score"),
        ([""], "''"),
        (["sh", "-c", "echo hi && exit 1"], "sh -c 'echo hi && exit 1'"),
        (["echo", "it's"], "echo 'it'\\''s'"),
        (
            ["echo", "$HOME", "${ANGEE_SECRET_X}", "a,b", "~", "*"],
            "echo '$HOME' '${ANGEE_SECRET_X}' 'a,b' '~' '*'",
        ),
        (["x", "tab\there", "new\nline", "é"], "x 'tab\there' 'new\nline' 'é'"),
    ],
)
def test_shell_quoting_of_argv(argv: list[str], line: str):
    assert shell_join(argv) == line


def test_tricky_argv_in_the_process_file_round_trips_through_yaml():
    import yaml

    result = compiled(
        """\
        name: s
        services:
          api: {runtime: local, command: [sh, -c, "echo 'quoted' \\"double\\" $$x", ""]}
        """
    )
    text = result.process_compose_text()
    assert yaml.safe_load(text)["processes"]["api"]["command"] == (
        "sh -c 'echo '\\''quoted'\\'' \"double\" $$x' ''"
    )


def test_escaped_substitution_is_kept_verbatim_in_both_runtime_files():
    result = compiled(
        """\
        name: s
        services:
          web: {runtime: container, image: x, command: [echo, "$${HOME}"], env: {A: "pre-$${x}-post"}}
          api: {runtime: local, command: [echo, "$${HOME}"], env: {A: "$${x}"}}
        """
    )
    assert result.compose["services"]["web"]["command"] == ["echo", "$${HOME}"]
    assert "A: pre-$${x}-post" in result.compose_text()
    assert result.process_compose["processes"]["api"]["environment"] == ["A=$${x}"]
    assert "echo '$${HOME}'" in result.process_compose_text()


def test_local_workdir_relative_and_empty():
    result = compiled(
        """\
        name: s
        services:
          a: {runtime: local, command: [x], workdir: sub/dir}
          b: {runtime: local, command: [x]}
          c: {runtime: local, command: [x], workdir: "bind://../elsewhere"}
        """
    )
    processes = result.process_compose["processes"]
    assert processes["a"]["working_dir"] == f"{ROOT}/sub/dir"
    assert "working_dir" not in processes["b"]
    assert processes["c"]["working_dir"] == "/srv/notes/elsewhere"


def test_local_service_only_writes_no_compose_document():
    result = compiled("name: s\nservices:\n  a: {runtime: local, command: [x]}\n")
    assert result.compose == {} and result.compose_text() == ""
    assert to_wire(result)["compose"] == {}
    assert result.render().startswith("# process-compose.yaml\nversion: '0.5'\n")


def test_nothing_compiled_renders_the_no_services_line():
    result = compiled("name: s\n")
    assert to_wire(result) == {"compose": {}, "process_compose": {}, "secret_env_vars": {}}
    assert result.render() == "# no runtime services declared\n"


# --------------------------------------------------------------------------- docker-compose details


def test_compose_service_keys_in_spec_order_and_verbatim_build():
    result = compiled(
        """\
        name: s
        persist: {data: {subpath: state/data, scope: stack}}
        workspaces: {feat: {template: ws}}
        sources: {app: {kind: local, path: ..}}
        services:
          api: {runtime: local, command: [x], ports: ["8000"]}
          web:
            runtime: container
            build: {context: ./web, args: {X: "1"}}
            image: web:dev
            command: [serve, "--port", "${ports.web}"]
            env_file: web.env
            env: {Z: "1", A: "${service.api}", SELF: "${name}"}
            ports: ["${ports.web}:80"]
            mounts:
              - source://app/pkg:/src:ro
              - workspace://feat:/ws
              - persist://data/sub:/data
              - bind://cfg:/etc/cfg:ro
              - bind://./rel:/rel
              - bind:///abs/path:/abs
              - named_volume:/cache
            workdir: /src
            depends_on: [api]
        ports: {web: {value: 8080}}
        """
    )
    web = result.compose["services"]["web"]
    assert list(web) == [
        "image",
        "build",
        "command",
        "env_file",
        "environment",
        "ports",
        "volumes",
        "working_dir",
    ]
    assert web["build"] == {"context": "./web", "args": {"X": "1"}}
    assert web["command"] == ["serve", "--port", "8080"]
    assert list(web["environment"]) == ["A", "SELF", "Z"]
    assert web["environment"] == {"A": "http://127.0.0.1:8000", "SELF": "web", "Z": "1"}
    assert web["ports"] == ["8080:80"]
    assert web["volumes"] == [
        "/srv/notes/pkg:/src:ro",
        f"{ROOT}/workspaces/feat:/ws",
        "/srv/notes/state/data/sub:/data",
        "./cfg:/etc/cfg:ro",
        "./rel:/rel",
        "/abs/path:/abs",
        "named_volume:/cache",
    ]
    text = result.compose_text()
    assert "&id" not in text and "*id" not in text  # no YAML anchors/aliases
    assert "Z: '1'" in text


def test_top_level_volumes_map_drivers():
    result = compiled(
        """\
        name: s
        volumes:
          b: {driver: local-fs, path: data/b}
          a: {}
          c: {driver: nfs}
        services:
          web: {runtime: container, image: x}
        """
    )
    assert list(result.compose) == ["x-angee-project", "services", "volumes"]
    assert result.compose["volumes"] == {
        "a": {"driver": "local"},
        "b": {"driver": "local"},
        "c": {"driver": "nfs"},
    }


def test_no_volumes_key_without_declared_volumes():
    result = compiled("name: s\nservices:\n  web: {runtime: container, image: x}\n")
    assert result.compose_text() == (
        f"x-angee-project: {compose_project('s', ROOT)}\nservices:\n    web:\n        image: x\n"
    )


# --------------------------------------------------------------------------- compose project §5.2


@pytest.mark.parametrize(
    ("name", "root", "project"),
    [
        ("Notes Demo", "/srv/notes/.angee", "notes-demo-1b431952"),
        ("", "/srv/notes/.angee", "angee-1b431952"),
        ("!!!", "/srv/notes/.angee", "angee-1b431952"),
        ("__My_App__", "/srv/notes/.angee", "my_app-1b431952"),
        ("Café  Crème / v2", "/srv/notes/.angee", "caf-cr-me-v2-1b431952"),
        ("a" * 29 + "-bcd", "/srv/notes/.angee", "a" * 29 + "-1b431952"),
        ("x" * 40, "/srv/notes/.angee", "x" * 30 + "-1b431952"),
    ],
)
def test_compose_project_names(name: str, root: str, project: str):
    assert compose_project(name, root) == project
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", compose_project(name, root))


def test_compose_project_is_unique_per_root():
    assert compose_project("Notes Demo", "/srv/a/.angee") != compose_project("Notes Demo", "/srv/b/.angee")
    assert compose_project("Notes Demo", "/srv/notes/.angee/") == "notes-demo-1b431952"


# --------------------------------------------------------------------------- files on disk


def test_runtime_file_is_deleted_when_nothing_is_left_to_hold(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    platform.stack_prepare()
    root = Path(platform.root)
    assert (root / "docker-compose.yaml").is_file() and (root / "process-compose.yaml").is_file()
    manifest = WORKED_EXAMPLE.split("services:")[0]
    (root / "angee.yaml").write_text(manifest + "jobs:\n  migrate: {runtime: local, command: [migrate]}\n")
    result = platform.stack_prepare()
    assert not (root / "docker-compose.yaml").exists()
    assert (root / "process-compose.yaml").is_file()
    assert result.compose == {}
    (root / "angee.yaml").write_text(manifest)
    platform.stack_prepare()
    assert not (root / "process-compose.yaml").exists()


def test_a_compile_error_writes_no_runtime_file_and_keeps_the_previous_ones(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    root = Path(platform.root)
    broken = WORKED_EXAMPLE.replace('${ports.api}"]', '${ports.apx}"]')
    (root / "angee.yaml").write_text(broken)
    with pytest.raises(InvalidInput, match=re.escape('services.api.command[3]: port "apx" is not declared')):
        platform.stack_prepare()
    assert not (root / "docker-compose.yaml").exists()
    assert not (root / "process-compose.yaml").exists()
    assert (root / ".env").is_file()  # values persisted while resolving secrets stay
    (root / "angee.yaml").write_text(WORKED_EXAMPLE)
    platform.stack_prepare()
    before = {n: (root / n).read_bytes() for n in ("docker-compose.yaml", "process-compose.yaml")}
    (root / "angee.yaml").write_text(broken)
    with pytest.raises(InvalidInput):
        platform.stack_prepare()
    assert {n: (root / n).read_bytes() for n in before} == before


def test_runtime_files_are_0644(tmp_path: Path):
    platform = stack(tmp_path, WORKED_EXAMPLE)
    platform.stack_prepare()
    for name in ("docker-compose.yaml", "process-compose.yaml"):
        assert os.stat(Path(platform.root) / name).st_mode & 0o777 == 0o644
