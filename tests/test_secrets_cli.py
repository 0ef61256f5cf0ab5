"""``angee secret …`` end to end: the real CLI in a subprocess against a stack root in a tmp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("angee.cli.main", reason="the CLI shell (angee/cli/main.py) is not there yet")

MANIFEST = """\
version: 1
kind: stack
name: demo
secrets:
  db-password:
    generated: true
  api_key:
    required: true
    import: env:API_KEY
  plain: {}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "angee.yaml").write_text(MANIFEST)
    return tmp_path


def angee(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    return subprocess.run(
        [sys.executable, "-m", "angee.cli.main", "--root", str(root), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_list_and_ls(root: Path) -> None:
    assert angee(root, "secret", "set", "plain", "--value", "v").returncode == 0
    expected = "api_key\t-\tANGEE_SECRET_API_KEY\ndb-password\t-\tANGEE_SECRET_DB_PASSWORD\nplain\tset\tANGEE_SECRET_PLAIN\n"
    for cmd in ("list", "ls"):
        result = angee(root, "secret", cmd)
        assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


def test_list_json_uses_rest_shapes(root: Path) -> None:
    result = angee(root, "secret", "list", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)[0] == {
        "name": "api_key",
        "declared": True,
        "has_value": False,
        "required": True,
        "import": "env:API_KEY",
        "env_var": "ANGEE_SECRET_API_KEY",
    }


def test_get_rows(root: Path) -> None:
    result = angee(root, "secret", "get", "api_key")
    assert result.stdout == (
        "name\tapi_key\ndeclared\ttrue\nhas_value\tfalse\nenv_var\tANGEE_SECRET_API_KEY\n"
        "required\ttrue\nimport\tenv:API_KEY\n"
    )
    result = angee(root, "secret", "get", "undeclared.one")
    assert (
        result.stdout
        == "name\tundeclared.one\ndeclared\tfalse\nhas_value\tfalse\nenv_var\tANGEE_SECRET_UNDECLARED_ONE\n"
    )


def test_set_reveal_delete_round_trip(root: Path) -> None:
    result = angee(root, "secret", "set", "db-password", "--value", "p@ss 'w\"rd")
    assert (result.returncode, result.stdout) == (
        0,
        "secret db-password set (declared=true env=ANGEE_SECRET_DB_PASSWORD)\n",
    )
    assert "p@ss" not in result.stdout + result.stderr
    assert angee(root, "secret", "reveal", "db-password").stdout == "p@ss 'w\"rd\n"
    assert json.loads(angee(root, "--json", "secret", "reveal", "db-password").stdout) == {
        "name": "db-password",
        "value": "p@ss 'w\"rd",
    }
    result = angee(root, "secret", "delete", "db-password")
    assert (result.returncode, result.stdout) == (0, "secret db-password deleted\n")
    assert json.loads(angee(root, "secret", "delete", "db-password", "--json").stdout) == {
        "status": "deleted",
        "name": "db-password",
    }


def test_set_from_stdin_strips_trailing_newlines_and_overrides_value(root: Path) -> None:
    result = angee(
        root, "secret", "set", "extra", "--value", "ignored", "--stdin", stdin="line 1\nline 2\n\n\n"
    )
    assert (result.returncode, result.stdout) == (
        0,
        "secret extra set (declared=false env=ANGEE_SECRET_EXTRA)\n",
    )
    assert angee(root, "secret", "reveal", "extra").stdout == "line 1\nline 2\n"


@pytest.mark.parametrize("args,stdin", [((), None), (("--stdin",), "\n\n"), (("--value", ""), None)])
def test_set_without_a_value_fails(root: Path, args: tuple[str, ...], stdin: str | None) -> None:
    result = angee(root, "secret", "set", "plain", *args, stdin=stdin)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "value is empty; pass --value or --stdin\n",
    )


def test_errors_are_one_line_with_exit_1(root: Path) -> None:
    result = angee(root, "secret", "reveal", "plain")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and '"plain"' in result.stderr
    result = angee(root, "secret", "get", "bad name")
    assert (result.returncode, result.stderr) == (1, "name: secret name must match ^[A-Za-z0-9._-]{1,256}$\n")
    result = angee(root, "secret", "set", "plain", "--value", "x" * 65537)
    assert (result.returncode, result.stderr) == (1, "value: value exceeds 65536 byte cap\n")


def test_usage_errors_exit_2(root: Path) -> None:
    assert angee(root, "secret", "reveal").returncode == 2
    assert angee(root, "secret", "frobnicate").returncode == 2
