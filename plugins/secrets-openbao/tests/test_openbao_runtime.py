"""run/secrets.env, the doctor check, the bootstrap health probe and the plugin registration."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from angee_secrets_openbao import OpenBaoProvider, angee_secrets_backends, health
from conftest import TOKEN
from fake_openbao import FakeOpenBao, refusing_address

from angee.secrets.envfile import read_env_file

# ------------------------------------------------------------------ run/secrets.env


def test_runtime_env_file_is_run_secrets_env(openbao_backend, tmp_path) -> None:
    assert openbao_backend.runtime_env_file() == os.path.join(str(tmp_path), "run", "secrets.env")


def test_write_runtime_env_sorted_by_secret_name_quoted_0600(openbao_backend, tmp_path) -> None:
    values = {
        "aa": "plain",
        "a-b": "it's",
        "postgres-password": "line1\nline2",
        "back": 'c:\\dir "x"',
        "1st": "$HOME stays",
    }
    openbao_backend.write_runtime_env(values)

    path = tmp_path / "run" / "secrets.env"
    # Secret-name order ("a-b" < "aa"), not env var order (ANGEE_SECRET_AA < ANGEE_SECRET_A_B).
    assert path.read_text() == (
        "ANGEE_SECRET_1ST='$HOME stays'\n"
        'ANGEE_SECRET_A_B="it\'s"\n'
        "ANGEE_SECRET_AA='plain'\n"
        'ANGEE_SECRET_BACK="c:\\\\dir \\"x\\""\n'
        'ANGEE_SECRET_POSTGRES_PASSWORD="line1\\nline2"\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_env_file(str(path)) == {
        "ANGEE_SECRET_1ST": "$HOME stays",
        "ANGEE_SECRET_A_B": "it's",
        "ANGEE_SECRET_AA": "plain",
        "ANGEE_SECRET_BACK": 'c:\\dir "x"',
        "ANGEE_SECRET_POSTGRES_PASSWORD": "line1\nline2",
    }


def test_write_runtime_env_replaces_an_old_file_and_its_mode(openbao_backend, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    old = run / "secrets.env"
    old.write_text("ANGEE_SECRET_GONE='old'\n")
    old.chmod(0o644)

    openbao_backend.write_runtime_env({"db": "new"})

    assert old.read_text() == "ANGEE_SECRET_DB='new'\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert sorted(os.listdir(run)) == ["secrets.env"]  # no temp file left behind


def test_write_runtime_env_without_values_removes_a_stale_file(openbao_backend, tmp_path) -> None:
    openbao_backend.write_runtime_env({"db": "v"})
    openbao_backend.write_runtime_env({})
    assert not (tmp_path / "run" / "secrets.env").exists()
    openbao_backend.write_runtime_env({})  # nothing to remove: fine


def test_runtime_env_never_touches_the_server(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_backend.write_runtime_env({"db": "v"})
    assert openbao_server.requests == []


# ------------------------------------------------------------------ doctor check


def test_check_ok(openbao_backend, openbao_server: FakeOpenBao) -> None:
    assert openbao_backend.check() == ("ok", f"openbao {openbao_server.address} reachable, token valid")
    calls = [(r.method, r.path) for r in openbao_server.requests]
    assert ("GET", "/v1/sys/health") in calls
    assert ("GET", "/v1/auth/token/lookup-self") in calls
    lookup = next(r for r in openbao_server.requests if r.path == "/v1/auth/token/lookup-self")
    assert lookup.header("X-Vault-Token") == TOKEN


def test_check_bad_token(openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address, token="s.bad")
    assert backend.check() == (
        "error",
        f"openbao rejected the token (403) for auth/token/lookup-self at {openbao_server.address}",
    )


def test_check_no_token(openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address)
    status, detail = backend.check()
    assert status == "error" and "no token is set" in detail


def test_check_sealed(openbao_backend, openbao_server: FakeOpenBao) -> None:
    openbao_server.sealed = True
    assert openbao_backend.check() == ("error", f"openbao at {openbao_server.address} is sealed (503)")


def test_check_missing_mount(openbao_server: FakeOpenBao, open_openbao) -> None:
    backend = open_openbao(address=openbao_server.address, token=TOKEN, mount="kv")
    assert backend.check() == (
        "error",
        f'openbao mount "kv" does not exist at {openbao_server.address} (kv/angee)',
    )


def test_check_server_down(open_openbao) -> None:
    with refusing_address() as address:
        backend = open_openbao(address=address, token=TOKEN)
        assert backend.check() == (
            "error",
            f"openbao at {address} is not reachable (sys/health): connection refused",
        )


# ------------------------------------------------------------------ bootstrap probe


def test_health_reports_the_status(openbao_server: FakeOpenBao) -> None:
    assert health(openbao_server.address + "/", TOKEN) == 200
    [req] = openbao_server.requests
    assert (req.method, req.path) == ("GET", "/v1/sys/health")
    assert req.header("X-Vault-Token") == TOKEN
    openbao_server.sealed = True
    assert health(openbao_server.address, TOKEN, timeout=1.0) == 503


def test_health_of_nothing_listening_is_none() -> None:
    with refusing_address() as address:
        assert health(address, "") is None


# ------------------------------------------------------------------ plugin


def test_hook_provides_the_openbao_backend() -> None:
    [provider] = angee_secrets_backends()
    assert isinstance(provider, OpenBaoProvider)
    assert provider.name == "openbao" and provider.category == "secrets_backends"


def test_registry_finds_openbao_through_the_entry_point() -> None:
    from angee.plugins import PluginRegistry

    registry = PluginRegistry().load()
    assert isinstance(registry.providers("secrets_backends").get("openbao"), OpenBaoProvider)


def test_importing_the_plugin_does_not_import_hvac() -> None:
    code = "import sys, angee_secrets_openbao; print(sorted(m for m in sys.modules if m.split('.')[0] in ('hvac', 'requests')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
