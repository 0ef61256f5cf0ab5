"""A whole stack on the OpenBao backend: compile, run/secrets.env, doctor, and failures that change nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fake_openbao import FakeOpenBao, refusing_address

from angee.errors import AngeeError
from angee.platform import Platform

TOKEN = "s.test-root-token"  # the token the openbao_server fixture accepts

MANIFEST = """\
name: Bao Stack
secrets_backend:
  type: openbao
  address: ${{BAO_TEST_ADDR}}
  token: {token}
  mount: {mount}
secrets:
  db-password: {{generated: true, length: 24}}
  api-key: {{import: env:BAO_TEST_API_KEY}}
services:
  db:
    runtime: container
    image: postgres:16
    env: {{POSTGRES_PASSWORD: "${{secret.db-password}}"}}
  api:
    runtime: local
    command: [python3, -m, http.server, "8101"]
    env: {{API_KEY: "${{secret:api-key}}"}}
"""

API_KEY = "imported-api-key-value"


def write_stack(root: Path, *, token: str = TOKEN, mount: str = "secret") -> Path:
    root.mkdir(exist_ok=True)
    (root / "angee.yaml").write_text(MANIFEST.format(token=token, mount=mount))
    return root


@pytest.fixture
def bao_env(monkeypatch: pytest.MonkeyPatch, openbao_server: FakeOpenBao) -> FakeOpenBao:
    monkeypatch.setenv("BAO_TEST_ADDR", openbao_server.address)
    monkeypatch.setenv("BAO_TEST_API_KEY", API_KEY)
    return openbao_server


def test_stack_compiles_with_values_only_in_run_secrets_env(
    tmp_path: Path, bao_env: FakeOpenBao, capfd: pytest.CaptureFixture[str]
) -> None:
    root = write_stack(tmp_path / "stack")
    platform = Platform(str(root))
    compiled = platform.stack_prepare()

    password = bao_env.read("secret", "angee/db-password")["value"]
    assert len(password) == 24
    assert bao_env.read("secret", "angee/api-key")["value"] == API_KEY

    env_file = root / "run" / "secrets.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.read_text() == f"ANGEE_SECRET_API_KEY='{API_KEY}'\nANGEE_SECRET_DB_PASSWORD='{password}'\n"
    assert platform.runtime_stack().env_file == str(env_file)

    compose = (root / "docker-compose.yaml").read_text()
    process = (root / "process-compose.yaml").read_text()
    assert "${ANGEE_SECRET_DB_PASSWORD}" in compose and "${ANGEE_SECRET_API_KEY}" in process
    out, err = capfd.readouterr()
    for text in (compose, process, repr(compiled), out, err, (root / "angee.yaml").read_text()):
        assert password not in text and API_KEY not in text
    assert not (root / ".env").exists()


def _break(server: FakeOpenBao, how: str, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    if how == "forbidden":
        write_stack(root, token="s.wrong-token")
    elif how == "sealed":
        server.sealed = True
    elif how == "missing-mount":
        write_stack(root, mount="kv-missing")


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("down", "is not reachable"),
        ("forbidden", "rejected the token (403)"),
        ("sealed", "is sealed (503)"),
        ("missing-mount", 'mount "kv-missing" does not exist'),
    ],
)
def test_backend_failures_give_one_clear_error_and_change_nothing(
    tmp_path: Path, bao_env: FakeOpenBao, monkeypatch: pytest.MonkeyPatch, how: str, expected: str
) -> None:
    root = write_stack(tmp_path / "stack")
    Platform(str(root)).stack_prepare()
    password = bao_env.read("secret", "angee/db-password")["value"]
    _break(bao_env, how, monkeypatch, root)
    manifest_before = (root / "angee.yaml").read_bytes()
    env_before = (root / "run" / "secrets.env").read_bytes()

    with refusing_address() as dead:
        if how == "down":
            monkeypatch.setenv("BAO_TEST_ADDR", dead)
        with pytest.raises(AngeeError) as info:
            Platform(str(root)).stack_prepare()
        message = str(info.value)
        assert expected in message
        address = dead if how == "down" else bao_env.address
        assert address in message
        assert password not in message and API_KEY not in message and TOKEN not in message
        assert "\n" not in message

    assert (root / "angee.yaml").read_bytes() == manifest_before
    assert (root / "run" / "secrets.env").read_bytes() == env_before


def test_doctor_checks_reachability_and_token(tmp_path: Path, bao_env: FakeOpenBao) -> None:
    root = write_stack(tmp_path / "stack")
    checks = {c.name: c for c in Platform(str(root)).doctor().checks}
    assert checks["secrets_backend"].status == "ok", checks["secrets_backend"]

    write_stack(root, token="s.wrong-token")
    checks = {c.name: c for c in Platform(str(root)).doctor().checks}
    assert checks["secrets_backend"].status == "error"
    assert "token" in checks["secrets_backend"].detail


def test_plain_env_file_is_not_written_for_openbao(tmp_path: Path, bao_env: FakeOpenBao) -> None:
    root = write_stack(tmp_path / "stack")
    Platform(str(root)).stack_prepare()
    assert sorted(os.listdir(root)) == ["angee.yaml", "docker-compose.yaml", "process-compose.yaml", "run"]
