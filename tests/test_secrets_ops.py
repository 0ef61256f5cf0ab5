"""Platform secret operations, resolution (§7.3), names (§5.6, §7.1) and audit lines, on real stack roots."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from angee.api import MutationResult, SecretRef, SecretValue, to_wire
from angee.errors import InvalidInput, NotFound
from angee.platform import Platform
from angee.plugins import PluginRegistry
from angee.secrets import audit_line, generate_secret, secret_env_var
from angee.secrets.names import validate_secret_name

MANIFEST = """\
version: 1
kind: stack
name: demo
secrets:
  db-password:
    generated: true
    length: 20
  api_key:
    required: true
    import: env:ANGEE_TEST_API_KEY
  session.secret:
    generated: true
  plain: {}
"""


def make_stack(root: Path, manifest: str = MANIFEST) -> Platform:
    root.mkdir(parents=True, exist_ok=True)
    (root / "angee.yaml").write_text(manifest)
    return Platform(str(root))


@pytest.fixture
def stack(tmp_path: Path) -> Platform:
    return make_stack(tmp_path / "stack")


def env_file(platform: Platform) -> Path:
    return Path(platform.root) / ".env"


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("postgres-password", "ANGEE_SECRET_POSTGRES_PASSWORD"),
        ("api_key", "ANGEE_SECRET_API_KEY"),
        ("session.secret", "ANGEE_SECRET_SESSION_SECRET"),
        ("MiXed9", "ANGEE_SECRET_MIXED9"),
        ("trailing--", "ANGEE_SECRET_TRAILING"),
        ("_leading", "ANGEE_SECRET__LEADING"),
        ("ünï-x", "ANGEE_SECRET__N__X"),
    ],
)
def test_secret_env_var(name: str, var: str) -> None:
    assert secret_env_var(name) == var


@pytest.mark.parametrize("name", ["a", "A.b-c_d", "9", "x" * 256, "...a"])
def test_valid_names(name: str) -> None:
    assert validate_secret_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "x" * 257, "has space", "slash/name", "new\nline", "name\n", "ünï", "$x"]
)
def test_invalid_names_are_rejected_with_the_pattern(name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_secret_name(name)
    assert err.value.field == "name"
    assert str(err.value) == "name: secret name must match ^[A-Za-z0-9._-]{1,256}$"


@pytest.mark.parametrize("name", ["...", "-", "_._"])
def test_names_without_alphanumerics_are_rejected(name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_secret_name(name)
    assert err.value.field == "name"
    assert "ASCII letter or digit" in str(err.value)


# --------------------------------------------------------------------------- list / get


def test_list_shows_declared_secrets_only_sorted(stack: Platform) -> None:
    stack.secret_set("undeclared", "x")
    stack.secret_set("plain", "p")
    refs = stack.secrets_list()
    assert [r.name for r in refs] == ["api_key", "db-password", "plain", "session.secret"]
    assert to_wire(refs) == [
        {"name": "api_key", "declared": True, "has_value": False, "required": True,
         "import": "env:ANGEE_TEST_API_KEY", "env_var": "ANGEE_SECRET_API_KEY"},
        {"name": "db-password", "declared": True, "has_value": False, "generated": True,
         "env_var": "ANGEE_SECRET_DB_PASSWORD"},
        {"name": "plain", "declared": True, "has_value": True, "env_var": "ANGEE_SECRET_PLAIN"},
        {"name": "session.secret", "declared": True, "has_value": False, "generated": True,
         "env_var": "ANGEE_SECRET_SESSION_SECRET"},
    ]  # fmt: skip


def test_list_of_a_stack_without_secrets_is_empty(tmp_path: Path) -> None:
    platform = make_stack(tmp_path, "version: 1\nkind: stack\nname: bare\n")
    assert platform.secrets_list() == []


def test_get_works_for_undeclared_names(stack: Platform) -> None:
    ref = stack.secret_get("not-declared")
    assert to_wire(ref) == {"name": "not-declared", "declared": False, "has_value": False,
                            "env_var": "ANGEE_SECRET_NOT_DECLARED"}  # fmt: skip


def test_get_reports_declaration_and_value_presence(stack: Platform) -> None:
    assert stack.secret_get("db-password") == SecretRef(
        name="db-password", declared=True, has_value=False, generated=True, env_var="ANGEE_SECRET_DB_PASSWORD"
    )
    stack.secret_set("db-password", "hunter2")
    assert stack.secret_get("db-password").has_value is True


def test_operations_without_a_manifest_report_stack_not_found(tmp_path: Path) -> None:
    platform = Platform(str(tmp_path))
    for call in (
        platform.secrets_list,
        lambda: platform.secret_get("x"),
        lambda: platform.secret_set("x", "v"),
    ):
        with pytest.raises(NotFound) as err:
            call()
        assert str(err.value) == "stack not found"
    assert not (tmp_path / ".env").exists()


def test_invalid_name_is_rejected_before_anything_else(tmp_path: Path) -> None:
    platform = Platform(str(tmp_path))  # no manifest: the name check still comes first
    for call in (platform.secret_get, platform.secret_value, platform.secret_delete):
        with pytest.raises(InvalidInput) as err:
            call("bad name")
        assert err.value.field == "name"


# --------------------------------------------------------------------------- set / reveal / delete


def test_set_stores_in_the_env_file_with_mode_0600(stack: Platform) -> None:
    ref = stack.secret_set("db-password", 'it\'s a "secret"\nline two')
    assert ref.has_value and ref.declared and ref.env_var == "ANGEE_SECRET_DB_PASSWORD"
    path = env_file(stack)
    assert path.read_text() == 'ANGEE_SECRET_DB_PASSWORD="it\'s a \\"secret\\"\\nline two"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stack.secret_value("db-password") == SecretValue("db-password", 'it\'s a "secret"\nline two')


def test_set_accepts_undeclared_names_and_never_touches_the_manifest(stack: Platform) -> None:
    before = (Path(stack.root) / "angee.yaml").read_bytes()
    ref = stack.secret_set("extra.token", "t")
    assert (ref.declared, ref.has_value) == (False, True)
    stack.secret_delete("plain")
    assert (Path(stack.root) / "angee.yaml").read_bytes() == before


def test_set_keeps_foreign_keys_and_sorts(stack: Platform) -> None:
    env_file(stack).write_text("# my notes\nZZZ_OTHER=keep me\nAAA=1\n")
    stack.secret_set("plain", "v")
    assert env_file(stack).read_text() == "AAA='1'\nANGEE_SECRET_PLAIN='v'\nZZZ_OTHER='keep me'\n"


def test_empty_value_is_rejected(stack: Platform) -> None:
    with pytest.raises(InvalidInput) as err:
        stack.secret_set("plain", "")
    assert err.value.field == "value"
    assert err.value.reason == "value is empty; use secretDelete to remove"
    assert not env_file(stack).exists()


def test_value_cap_counts_utf8_bytes(stack: Platform) -> None:
    stack.secret_set("plain", "x" * 65536)
    assert stack.secret_value("plain").value == "x" * 65536
    with pytest.raises(InvalidInput) as err:
        stack.secret_set("plain", "x" * 65537)
    assert (err.value.field, err.value.reason) == ("value", "value exceeds 65536 byte cap")
    with pytest.raises(InvalidInput, match="65536 byte cap"):
        stack.secret_set("plain", "é" * 32769)  # 32769 characters, 65538 bytes
    assert stack.secret_value("plain").value == "x" * 65536


def test_reveal_of_a_missing_value_is_not_found_of_kind_secret(stack: Platform) -> None:
    for name in ("db-password", "never-declared"):
        with pytest.raises(NotFound) as err:
            stack.secret_value(name)
        assert (err.value.kind, err.value.name) == ("secret", name)
        assert err.value.http_status == 404


def test_delete_is_idempotent_and_keeps_the_declaration(stack: Platform) -> None:
    stack.secret_set("plain", "v")
    assert stack.secret_delete("plain") == MutationResult(status="deleted", name="plain")
    assert stack.secret_delete("plain") == MutationResult(status="deleted", name="plain")
    assert stack.secret_delete("never-set") == MutationResult(status="deleted", name="never-set")
    ref = stack.secret_get("plain")
    assert (ref.declared, ref.has_value) == (True, False)
    assert "plain" in [r.name for r in stack.secrets_list()]


def test_custom_relative_and_absolute_backend_paths(tmp_path: Path) -> None:
    rel = make_stack(
        tmp_path / "rel", MANIFEST + "secrets_backend:\n  type: env-file\n  path: conf/stack.env\n"
    )
    rel.secret_set("plain", "v")
    assert (tmp_path / "rel" / "conf" / "stack.env").read_text() == "ANGEE_SECRET_PLAIN='v'\n"
    assert rel.secrets_backend().runtime_env_file() == str(tmp_path / "rel" / "conf" / "stack.env")

    outside = tmp_path / "elsewhere" / "abs.env"
    absolute = make_stack(tmp_path / "abs", MANIFEST + f"secrets_backend:\n  path: {outside}\n")
    absolute.secret_set("plain", "w")
    assert outside.read_text() == "ANGEE_SECRET_PLAIN='w'\n"
    assert not (tmp_path / "abs" / ".env").exists()


def test_default_backend_runtime_env_file_is_dot_env(stack: Platform) -> None:
    assert stack.secrets_backend().runtime_env_file() == str(env_file(stack))


def test_backend_type_without_a_plugin_names_the_installed_ones(tmp_path: Path) -> None:
    make_stack(tmp_path, MANIFEST + "secrets_backend:\n  type: openbao\n  address: http://127.0.0.1:1\n")
    platform = Platform(str(tmp_path), plugins=PluginRegistry().load(entry_points=False))  # built-ins only
    with pytest.raises(InvalidInput) as err:
        platform.secrets_list()
    assert 'no plugin provides secrets backend "openbao"' in str(err.value)
    assert "env-file" in str(err.value)


def test_corrupt_env_file_is_reported_with_path_and_line_but_no_value(stack: Platform) -> None:
    env_file(stack).write_text("ANGEE_SECRET_PLAIN='fine'\nsuper-secret-value-without-key\n")
    with pytest.raises(Exception) as err:
        stack.secret_get("plain")
    assert str(err.value) == f"{env_file(stack)}:2: missing '='"


# --------------------------------------------------------------------------- resolution


def test_resolution_order_and_persistence(stack: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "from-env")
    resolved = stack.resolve_secrets()
    assert set(resolved) == {"api_key", "db-password", "session.secret"}  # "plain" stays unresolved
    assert resolved["api_key"] == "from-env"
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", resolved["db-password"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", resolved["session.secret"])  # length 0 -> 32

    # persisted: a later environment change does not propagate, generated values are stable
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "changed")
    assert stack.resolve_secrets() == resolved
    assert stack.secret_value("api_key").value == "from-env"
    text = env_file(stack).read_text()
    assert "ANGEE_SECRET_API_KEY='from-env'" in text
    assert f"ANGEE_SECRET_DB_PASSWORD='{resolved['db-password']}'" in text


def test_stored_value_wins_over_import_and_generation(
    stack: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "from-env")
    stack.secret_set("api_key", "stored")
    stack.secret_set("db-password", "chosen")
    stack.secret_set("plain", "p")
    resolved = stack.resolve_secrets()
    assert (resolved["api_key"], resolved["db-password"], resolved["plain"]) == ("stored", "chosen", "p")


def test_missing_required_secret_is_an_error(stack: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANGEE_TEST_API_KEY", raising=False)
    with pytest.raises(InvalidInput) as err:
        stack.resolve_secrets()
    assert str(err.value) == 'required secret "api_key" is missing'
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "")  # empty counts as unset
    with pytest.raises(InvalidInput, match='required secret "api_key" is missing'):
        stack.resolve_secrets()


def test_unset_import_falls_through_to_generation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANGEE_TEST_UNSET", raising=False)
    manifest = "version: 1\nkind: stack\nname: x\nsecrets:\n  s:\n    import: ANGEE_TEST_UNSET\n    generated: true\n"
    platform = make_stack(tmp_path, manifest)
    value = platform.resolve_secrets()["s"]
    assert len(value) == 32
    monkeypatch.setenv("ANGEE_TEST_UNSET", "too late")
    assert platform.resolve_secrets() == {"s": value}


def test_bare_import_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANGEE_TEST_BARE", "bare-value")
    manifest = "version: 1\nkind: stack\nname: x\nsecrets:\n  s:\n    import: ANGEE_TEST_BARE\n"
    assert make_stack(tmp_path, manifest).resolve_secrets() == {"s": "bare-value"}


def test_resolution_without_writes_takes_no_lock(stack: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "k")
    stack.resolve_secrets()
    (Path(stack.root) / "run" / "operator.lock").unlink()
    stack.resolve_secrets()  # everything is stored now: nothing to persist
    assert not (Path(stack.root) / "run" / "operator.lock").exists()


def test_concurrent_resolution_generates_one_value(stack: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANGEE_TEST_API_KEY", "k")
    results: list[dict[str, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(Platform(stack.root).resolve_secrets())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == results[0] for r in results)
    assert stack.resolve_secrets() == results[0]


def test_concurrent_resolution_across_processes(stack: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        "import json, sys\nfrom angee.platform import Platform\n"
        "print(json.dumps(Platform(sys.argv[1]).resolve_secrets(), sort_keys=True))\n"
    )
    env = {**os.environ, "ANGEE_TEST_API_KEY": "k"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, stack.root], stdout=subprocess.PIPE, env=env, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outputs)) == 1


@pytest.mark.parametrize("length", [1, 2, 3, 20, 32, 43, 100])
def test_generated_secret_length_and_alphabet(length: int) -> None:
    value = generate_secret(length)
    assert len(value) == length
    assert re.fullmatch(r"[A-Za-z0-9_-]+", value)


def test_generated_secrets_differ() -> None:
    assert len({generate_secret(0) for _ in range(50)}) == 50


# --------------------------------------------------------------------------- audit lines


def test_audit_lines() -> None:
    assert audit_line("set", "api_key", "127.0.0.1:53122") == (
        'operator: secret set name="api_key" remote="127.0.0.1:53122"'
    )
    assert audit_line(
        "delete", "x y", "127.0.0.1:53122", reason="name: secret name must match ^[A-Za-z0-9._-]{1,256}$"
    ) == (
        'operator: secret delete attempt failed name="x y" remote="127.0.0.1:53122" '
        'reason="name: secret name must match ^[A-Za-z0-9._-]{1,256}$"'
    )
    assert audit_line("set", "k", "[::1]:80", actor="ci-bot") == (
        'operator: secret set name="k" remote="[::1]:80" actor="ci-bot"'
    )
    assert audit_line("set", "k", "h:1", reason="decode", actor="a") == (
        'operator: secret set attempt failed name="k" remote="h:1" reason="decode" actor="a"'
    )


def test_audit_line_escapes_quotes_and_control_characters() -> None:
    line = audit_line("set", 'evil"\n\x1b[2Jname\\', "h:1")
    assert line == 'operator: secret set name="evil\\"\\n\\x1b[2Jname\\\\" remote="h:1"'
    assert "\n" not in line
