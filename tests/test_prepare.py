"""StackPrepare on real stack roots (spec manifest-and-runtime §5.1, §5.8, §7.3): secrets, sources,
persist dirs, the compile diagnostic, ``stack update`` and what the runtime backends are handed."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from angee.api import MutationResult
from angee.contracts import RuntimeStack
from angee.errors import InvalidInput, ManifestError, NotFound, RuntimeFailure
from angee.platform import Platform
from angee.platform.prepare import PrepareOps

StackPlatform = (
    Platform if issubclass(Platform, PrepareOps) else type("StackPlatform", (PrepareOps, Platform), {})
)

BASE = """\
version: 1
kind: stack
name: Prep
secrets:
  db-password: {generated: true, length: 20}
  api-key: {import: env:ANGEE_TEST_PREPARE_KEY}
  optional: {}
sources:
  app: {kind: local, path: ../app}
persist:
  data: {subpath: state/data, scope: stack}
  logs: {subpath: state/logs, scope: stack}
services:
  api:
    runtime: local
    command: [serve, "${secret.db-password}"]
    mounts: ["source://app:/app", "persist://data:/data"]
    workdir: source://app
"""


def make(tmp_path: Path, manifest: str = BASE, *, app: bool = True) -> StackPlatform:
    project = tmp_path / "proj"
    root = project / ".angee"
    root.mkdir(parents=True)
    if app:
        (project / "app").mkdir()
    (root / "angee.yaml").write_text(textwrap.dedent(manifest))
    return StackPlatform(str(root))


def test_prepare_resolves_and_persists_secrets_to_a_0600_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ANGEE_TEST_PREPARE_KEY", "imported-value")
    platform = make(tmp_path)
    result = platform.stack_prepare()
    env = Path(platform.root) / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    lines = env.read_text().splitlines()
    assert lines[0] == "ANGEE_SECRET_API_KEY='imported-value'"
    assert (
        lines[1].startswith("ANGEE_SECRET_DB_PASSWORD='")
        and len(lines[1]) == len("ANGEE_SECRET_DB_PASSWORD=''") + 20
    )
    assert len(lines) == 2  # "optional" stays unresolved
    assert result.secret_env_vars == {
        "api-key": "ANGEE_SECRET_API_KEY",
        "db-password": "ANGEE_SECRET_DB_PASSWORD",
    }
    # Later environment changes do not propagate; the generated value is stable.
    monkeypatch.setenv("ANGEE_TEST_PREPARE_KEY", "changed")
    platform.stack_prepare()
    assert env.read_text().splitlines() == lines


def test_prepare_creates_persist_dirs_under_the_persist_base(tmp_path: Path):
    platform = make(tmp_path)
    platform.stack_prepare()
    for sub in ("state/data", "state/logs"):
        path = tmp_path / "proj" / sub
        assert path.is_dir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
    processes = (Path(platform.root) / "process-compose.yaml").read_text()
    assert f"PERSIST_DATA_PATH={tmp_path}/proj/state/data" in processes
    assert f"working_dir: {tmp_path}/proj/app" in processes


def test_a_missing_local_source_path_fails_naming_the_source_and_path(tmp_path: Path):
    platform = make(tmp_path, app=False)
    with pytest.raises(RuntimeFailure) as info:
        platform.stack_prepare()
    message = str(info.value)
    assert '"app"' in message and f"{tmp_path}/proj/app" in message
    assert not (Path(platform.root) / "process-compose.yaml").exists()


def test_an_undeclared_source_reference_fails_before_compiling(tmp_path: Path):
    manifest = BASE.replace('mounts: ["source://app:/app", ', 'mounts: ["source://x/pkg:/x", ')
    platform = make(tmp_path, manifest)
    with pytest.raises(InvalidInput) as info:
        platform.stack_prepare()
    assert str(info.value) == 'services.api.mounts[0]: source "x" is referenced but not declared'
    assert not (Path(platform.root) / "process-compose.yaml").exists()


def test_an_undeclared_source_workdir_of_a_job_fails_too(tmp_path: Path):
    manifest = BASE + "jobs:\n  seed: {runtime: container, image: x, workdir: source://gone}\n"
    platform = make(tmp_path, manifest)
    with pytest.raises(
        InvalidInput, match='^jobs.seed.workdir: source "gone" is referenced but not declared$'
    ):
        platform.stack_compile()


def test_a_required_secret_without_value_fails_the_prepare(tmp_path: Path):
    platform = make(tmp_path, BASE.replace("optional: {}", "optional: {required: true}"))
    with pytest.raises(InvalidInput, match='required secret "optional" is missing'):
        platform.stack_prepare()
    assert not (Path(platform.root) / "process-compose.yaml").exists()


def test_stack_compile_writes_no_runtime_file_but_returns_the_documents(tmp_path: Path):
    platform = make(tmp_path)
    result = platform.stack_compile()
    root = Path(platform.root)
    assert not (root / "process-compose.yaml").exists()
    assert not (root / "docker-compose.yaml").exists()
    assert result.process_compose["processes"]["api"]["command"] == "serve '${ANGEE_SECRET_DB_PASSWORD}'"
    assert result.render().startswith("# process-compose.yaml\n")
    # Step 4 still ran: the generated secret is persisted so later prepares use the same value.
    assert "ANGEE_SECRET_DB_PASSWORD=" in (root / ".env").read_text()
    prepared = platform.stack_prepare()
    assert (root / "process-compose.yaml").read_text() == result.process_compose_text()
    assert prepared.process_compose == result.process_compose


def test_stack_update_is_prepare(tmp_path: Path):
    platform = make(tmp_path)
    assert platform.stack_update() == MutationResult(status="updated")
    assert (Path(platform.root) / "process-compose.yaml").is_file()


def test_prepare_without_a_manifest_is_not_found_and_leaves_no_run_dir(tmp_path: Path):
    platform = StackPlatform(str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="stack not found"):
        platform.stack_prepare()
    assert not (tmp_path / "empty" / "run").exists()


def test_prepare_with_an_invalid_manifest_is_a_manifest_error(tmp_path: Path):
    platform = make(tmp_path, "name: x\nservices:\n  web: {runtime: local}\n")
    with pytest.raises(ManifestError, match='service "web" with runtime local requires command'):
        platform.stack_prepare()


def test_prepare_holds_the_root_lock_and_notifies_listeners(tmp_path: Path):
    from angee.lock import holds_root_lock

    platform = make(tmp_path)
    seen: list[bool] = []
    original = platform.resolve_secrets

    def spy() -> dict[str, str]:
        seen.append(holds_root_lock(platform.root))
        return original()

    platform.resolve_secrets = spy  # type: ignore[method-assign]
    platform.stack_prepare()
    assert seen == [True]
    assert not holds_root_lock(platform.root)


# --------------------------------------------------------------------------- runtime_stack (§5.8)


def test_runtime_stack_names_the_files_project_and_existing_env_file(tmp_path: Path):
    platform = make(tmp_path)
    root = platform.root
    before = platform.runtime_stack()
    assert isinstance(before, RuntimeStack)
    assert before.root == root
    assert before.project.startswith("prep-") and len(before.project) == len("prep-") + 8
    assert before.compose_file == os.path.join(root, "docker-compose.yaml")
    assert before.process_file == os.path.join(root, "process-compose.yaml")
    assert before.env_file == ""  # no .env yet
    assert before.control_port == 8080
    platform.stack_prepare()
    assert platform.runtime_stack().env_file == os.path.join(root, ".env")


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ("ports: {process_compose: {value: 9100}, process-compose: {value: 9200}}", 9100),
        ("ports: {process_compose: {value: 0}, process-compose: {value: 9200}}", 9200),
        ("ports: {process-compose: {value: 0}}", 8080),
        ("ports: {other: {value: 1234}}", 8080),
    ],
)
def test_runtime_stack_control_port(tmp_path: Path, ports: str, expected: int):
    platform = make(tmp_path, f"name: p\n{ports}\n")
    assert platform.runtime_stack().control_port == expected


def test_runtime_stack_uses_the_configured_env_file_path(tmp_path: Path):
    platform = make(
        tmp_path,
        BASE.replace("secrets:\n", "secrets_backend: {type: env-file, path: run/keys.env}\nsecrets:\n", 1),
    )
    platform.stack_prepare()
    stack = platform.runtime_stack()
    assert stack.env_file == os.path.join(platform.root, "run", "keys.env")
    assert not (Path(platform.root) / ".env").exists()
