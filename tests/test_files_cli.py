"""``angee file`` commands over the Files API (§9, operator-and-cli §6.3)."""

from __future__ import annotations

import io
import json
import os

import pytest

from tests.test_workspaces_cli import angee  # noqa: F401 - fixture
from tests.test_workspaces_support import make_stack, read


@pytest.fixture
def root(tmp_path) -> str:
    return make_stack(str(tmp_path / "stack"))


def test_get_and_set(angee, root: str, tmp_path) -> None:  # noqa: F811
    code, out, _ = angee("--root", root, "file", "get", "main.py", "--source", "code")
    assert (code, out) == (0, "print('hi')\n")
    code, out, _ = angee("--root", root, "--json", "file", "get", "main.py", "--source", "code")
    body = json.loads(out)
    assert body["content"] == "print('hi')\n" and body["source"] == "code" and len(body["etag"]) == 64
    code, out, _ = angee(
        "--root", root, "file", "set", "notes/a.txt", "--source", "code", "--content", "hello\n"
    )
    assert code == 0 and out.startswith("file notes/a.txt written (6 bytes, sha256=")
    assert read(os.path.join(root, "localsrc", "notes", "a.txt")) == "hello\n"
    src = tmp_path / "in.txt"
    src.write_text("from file\n")
    code, out, _ = angee(
        "--root",
        root,
        "file",
        "set",
        "notes/a.txt",
        "--source",
        "code",
        "--file",
        str(src),
        "--etag",
        body["etag"],
    )
    assert code == 1  # stale etag (it is main.py's)
    assert read(os.path.join(root, "localsrc", "notes", "a.txt")) == "hello\n"


def test_set_from_stdin_and_read_forms(angee, root: str, monkeypatch, tmp_path) -> None:  # noqa: F811
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("piped ✓\n".encode())))
    code, out, err = angee("--root", root, "file", "write", "p.txt", "--source", "code", "--stdin")
    assert code == 0, err
    assert read(os.path.join(root, "localsrc", "p.txt")) == "piped ✓\n"
    code, out, _ = angee("--root", root, "file", "cat", "p.txt", "--source", "code")
    assert out == "piped ✓\n"
    target = tmp_path / "saved.txt"
    code, out, _ = angee("--root", root, "file", "read", "p.txt", "--source", "code", "--output", str(target))
    assert code == 0 and out == "" and target.read_text() == "piped ✓\n"


def test_usage_and_refusals(angee, root: str) -> None:  # noqa: F811
    assert angee("--root", root, "file", "set", "a.txt", "--source", "code")[0] == 2
    assert (
        angee("--root", root, "file", "set", "a.txt", "--source", "code", "--content", "x", "--stdin")[0] == 2
    )
    assert angee("--root", root, "file", "get", "a.txt")[0] == 2  # --source is required
    code, _, err = angee("--root", root, "file", "get", "../angee.yaml", "--source", "code")
    assert (code, err.strip()) == (1, "path escapes the source root")
