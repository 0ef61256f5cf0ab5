"""Files under the stack root or a workspace tree (operator-and-cli §1.2 "Files", §6.3 ``angee file``).

Real files in tmp dirs, the real Platform and the real ``angee`` entry point.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest

from angee.errors import Conflict, InvalidInput, NotFound
from angee.platform import Platform
from angee.platform.files import MAX_LIST_ENTRIES

MANIFEST = """\
version: 1
kind: stack
name: files-demo
workspaces:
  w1:
    template: workspaces/dev
"""
MIB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A stack root with a .git dir, an env-file store, run/secrets.env, a workspace and symlinks."""
    root = tmp_path / "stack"
    (root / "app" / "sub").mkdir(parents=True)
    (root / "angee.yaml").write_text(MANIFEST)
    (root / "app" / "config.toml").write_text("port = 1\n")
    (root / "app" / "sub" / "deep.txt").write_text("deep\n")
    (root / "app" / "empty").mkdir()
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".env").write_text("ANGEE_SECRET_X=1\n")
    (root / "run").mkdir()
    (root / "run" / "secrets.env").write_text("X=1\n")
    (root / "run" / "notes.txt").write_text("ok\n")
    (root / "workspaces" / "w1" / "src").mkdir(parents=True)
    (root / "workspaces" / "w1" / "src" / "main.py").write_text("print(1)\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    os.symlink(str(outside), root / "escape")
    os.symlink("app/sub", root / "inside-link")
    os.symlink(".env", root / "env-link")
    return root


@pytest.fixture
def platform(root: Path) -> Platform:
    return Platform(str(root))


def test_list_hides_protected_entries_and_does_not_follow_symlinks(platform: Platform) -> None:
    top = platform.file_list("")
    assert [(r.path, r.type) for r in top] == [
        ("angee.yaml", "file"),
        ("app", "dir"),
        ("env-link", "symlink"),
        ("escape", "symlink"),
        ("inside-link", "symlink"),
        ("run", "dir"),
        ("workspaces", "dir"),
    ]
    link = next(r for r in top if r.path == "inside-link")
    assert (link.target, link.name, link.sha256) == ("app/sub", "inside-link", "")
    deep = [r.path for r in platform.file_list(".", recursive=True)]
    assert deep == sorted(deep)
    assert "app/sub/deep.txt" in deep and "run/notes.txt" in deep and "workspaces/w1/src/main.py" in deep
    assert not any(p.startswith(".git") or p.endswith("secrets.env") or p == ".env" for p in deep)
    assert not any(p.startswith(("inside-link/", "escape/")) for p in deep)  # symlinks are not descended
    config = next(r for r in platform.file_list("app") if r.path == "app/config.toml")
    mode = stat.S_IMODE(os.stat(os.path.join(platform.root, "app", "config.toml")).st_mode)
    assert (config.size, config.mode, config.type) == (9, f"{mode:04o}", "file")
    assert config.modified_at.endswith("Z") and config.sha256 == ""


def test_list_refusals(platform: Platform, root: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        platform.file_list("app/config.toml")
    assert (err.value.field, err.value.reason) == ("path", "not a directory")
    with pytest.raises(NotFound) as missing:
        platform.file_list("nope")
    assert missing.value.kind == "file"
    crowd = root / "crowd"
    crowd.mkdir()
    for i in range(MAX_LIST_ENTRIES + 1):
        (crowd / f"f{i}").touch()
    with pytest.raises(InvalidInput) as err:
        platform.file_list("crowd")
    assert err.value.reason == "too many entries; narrow the path"
    assert len(platform.file_list("app")) == 3


@pytest.mark.parametrize(
    "path", ["../x", "/etc/passwd", "app/../angee.yaml", "..", "escape/secret.txt", "escape"]
)
def test_paths_that_escape_the_root(platform: Platform, path: str) -> None:
    for call in (
        lambda: platform.file_content(path),
        lambda: platform.file_stat(path),
        lambda: platform.file_put(path, "x"),
        lambda: platform.file_delete(path),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert (err.value.field, err.value.reason) == ("path", "path escapes the root")


@pytest.mark.parametrize("path", ["app\\config.toml", "a\x00b"])
def test_malformed_paths(platform: Platform, path: str) -> None:
    with pytest.raises(InvalidInput) as err:
        platform.file_content(path)
    assert err.value.field == "path"


@pytest.mark.parametrize("path", [".git/config", ".git", "app/.git/x", ".env", "run/secrets.env", "env-link"])
def test_protected_paths(platform: Platform, root: Path, path: str) -> None:
    for call in (lambda: platform.file_content(path), lambda: platform.file_put(path, "pwned")):
        with pytest.raises(InvalidInput) as err:
            call()
        assert (err.value.field, err.value.reason) == ("path", "path is protected")
    assert (root / ".env").read_text() == "ANGEE_SECRET_X=1\n"


def test_the_env_file_store_follows_the_manifest(root: Path) -> None:
    (root / "angee.yaml").write_text(
        MANIFEST + "secrets_backend:\n  type: env-file\n  path: conf/secrets.env\n"
    )
    (root / "conf").mkdir()
    (root / "conf" / "secrets.env").write_text("A=1\n")
    platform = Platform(str(root))
    with pytest.raises(InvalidInput):
        platform.file_content("conf/secrets.env")
    assert platform.file_content(".env").content == "ANGEE_SECRET_X=1\n"  # not the store any more
    (root / "angee.yaml").write_text(MANIFEST + "secrets_backend:\n  type: openbao\n  address: http://x\n")
    assert Platform(str(root)).file_content("conf/secrets.env").content == "A=1\n"
    with pytest.raises(InvalidInput):
        Platform(str(root)).file_content("run/secrets.env")


def test_stat(platform: Platform) -> None:
    ref = platform.file_stat("app/config.toml")
    assert (ref.path, ref.name, ref.type, ref.size) == ("app/config.toml", "config.toml", "file", 9)
    assert ref.sha256 == sha(b"port = 1\n")
    assert platform.file_stat("app").type == "dir" and platform.file_stat("app").sha256 == ""
    link = platform.file_stat("inside-link")
    assert (link.type, link.target) == ("symlink", "app/sub")
    assert platform.file_stat("").type == "dir"
    with pytest.raises(NotFound) as err:
        platform.file_stat("app/nope.txt")
    assert err.value.kind == "file"


def test_content_text_binary_and_caps(platform: Platform, root: Path) -> None:
    text = platform.file_content("app/config.toml")
    assert (text.path, text.size, text.encoding, text.content) == (
        "app/config.toml",
        9,
        "utf-8",
        "port = 1\n",
    )
    assert text.sha256 == sha(b"port = 1\n")
    assert platform.file_content("inside-link/deep.txt").content == "deep\n"  # an inside symlink is followed
    blob = b"\x89PNG\x00\xff"
    (root / "app" / "logo.png").write_bytes(blob)
    binary = platform.file_content("app/logo.png")
    assert (binary.encoding, base64.b64decode(binary.content), binary.size) == ("base64", blob, 6)
    (root / "app" / "exact.bin").write_bytes(b"a" * MIB)
    assert platform.file_content("app/exact.bin").size == MIB
    (root / "app" / "big.bin").write_bytes(b"a" * (MIB + 1))
    with pytest.raises(InvalidInput) as err:
        platform.file_content("app/big.bin")
    assert err.value.reason == "file exceeds 1048576-byte read cap"
    with pytest.raises(InvalidInput) as err:
        platform.file_content("app")
    assert err.value.reason == "not a regular file"
    with pytest.raises(NotFound):
        platform.file_content("app/missing.txt")


def test_put_creates_replaces_and_keeps_modes(platform: Platform, root: Path) -> None:
    ref, created = platform.file_put("app/new.txt", "héllo\n")
    assert created and ref.sha256 == sha("héllo\n".encode()) and ref.size == 7
    assert stat.S_IMODE(os.stat(root / "app" / "new.txt").st_mode) == 0o644
    os.chmod(root / "app" / "config.toml", 0o600)
    ref, created = platform.file_put("app/config.toml", "port = 2\n")
    assert not created and (root / "app" / "config.toml").read_text() == "port = 2\n"
    assert stat.S_IMODE(os.stat(root / "app" / "config.toml").st_mode) == 0o600 and ref.mode == "0600"
    ref, created = platform.file_put(
        "app/blob.bin", base64.b64encode(b"\x00\x01").decode(), encoding="base64"
    )
    assert created and (root / "app" / "blob.bin").read_bytes() == b"\x00\x01"
    assert [n for n in os.listdir(root / "app") if n.endswith(".tmp")] == []


def test_put_parents_and_preconditions(platform: Platform, root: Path) -> None:
    with pytest.raises(NotFound) as err:
        platform.file_put("a/b/c.txt", "x")
    assert (err.value.kind, err.value.name) == ("directory", "a/b")
    assert not (root / "a").exists()
    platform.file_put("a/b/c.txt", "x", create_dirs=True)
    assert (root / "a" / "b" / "c.txt").read_text() == "x"
    assert stat.S_IMODE(os.stat(root / "a" / "b").st_mode) == 0o755
    current = sha(b"port = 1\n")
    with pytest.raises(Conflict) as conflict:
        platform.file_put("app/config.toml", "v2", if_match="0" * 64)
    assert (conflict.value.kind, conflict.value.reason) == ("file", "sha256 mismatch")
    with pytest.raises(Conflict):
        platform.file_put("app/absent.txt", "v2", if_match=current)
    assert not (root / "app" / "absent.txt").exists()
    platform.file_put("app/config.toml", "v2", if_match=current.upper())
    assert (root / "app" / "config.toml").read_text() == "v2"
    with pytest.raises(InvalidInput) as bad:
        platform.file_put("app/x.bin", "not base64!", encoding="base64")
    assert bad.value.field == "content"
    with pytest.raises(InvalidInput) as bad:
        platform.file_put("app/x.bin", "x", encoding="latin-1")
    assert bad.value.field == "encoding"
    with pytest.raises(InvalidInput):
        platform.file_put("app", "x")  # a directory
    with pytest.raises(InvalidInput):
        platform.file_put("", "x")


def test_writing_the_manifest_must_keep_it_valid(platform: Platform, root: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        platform.file_put("angee.yaml", "version: 1\nname: [oops\n")
    assert err.value.field == "content" and "angee.yaml" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        platform.file_put("angee.yaml", "version: 1\nname: x\nservices:\n  web: {runtime: container}\n")
    assert err.value.field == "content"
    assert (root / "angee.yaml").read_text() == MANIFEST
    platform.file_put("angee.yaml", MANIFEST.replace("files-demo", "renamed"))
    assert platform.stack_status().name == "renamed"
    # the same text elsewhere, or in a workspace, is just a file
    platform.file_put("angee.yaml", "not: [a manifest", workspace="w1")


def test_workspace_scope(platform: Platform, root: Path) -> None:
    assert [r.path for r in platform.file_list("", workspace="w1", recursive=True)] == ["src", "src/main.py"]
    assert platform.file_content("src/main.py", workspace="w1").content == "print(1)\n"
    platform.file_put("src/new.py", "x = 1\n", workspace="w1")
    assert (root / "workspaces" / "w1" / "src" / "new.py").read_text() == "x = 1\n"
    with pytest.raises(InvalidInput) as err:
        platform.file_content("../../angee.yaml", workspace="w1")
    assert err.value.reason == "path escapes the root"
    with pytest.raises(NotFound) as missing:
        platform.file_list("", workspace="nope")
    assert (missing.value.kind, missing.value.name) == ("workspace", "nope")


def test_delete(platform: Platform, root: Path) -> None:
    assert platform.file_delete("app/config.toml").name == "app/config.toml"
    assert not (root / "app" / "config.toml").exists()
    platform.file_delete("app/empty")
    assert not (root / "app" / "empty").exists()
    with pytest.raises(Conflict) as err:
        platform.file_delete("app/sub")
    assert err.value.reason == "directory not empty" and (root / "app" / "sub" / "deep.txt").exists()
    platform.file_delete("inside-link")  # the link, not its target
    assert not os.path.lexists(root / "inside-link") and (root / "app" / "sub" / "deep.txt").exists()
    for scope_root in ("", "."):
        with pytest.raises(InvalidInput):
            platform.file_delete(scope_root)
    with pytest.raises(NotFound):
        platform.file_delete("app/config.toml")


def test_the_root_scope_works_without_a_valid_manifest(root: Path) -> None:
    (root / "angee.yaml").write_text("version: [broken\n")
    platform = Platform(str(root))
    assert platform.file_content("angee.yaml").content == "version: [broken\n"
    with pytest.raises(InvalidInput):
        platform.file_content(".env")
    platform.file_put("angee.yaml", MANIFEST)  # repaired through the Files API
    assert platform.stack_status().name == "files-demo"


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def angee(monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]):
    """Run the real ``angee`` entry point in-process; returns ``(exit code, stdout bytes, stderr text)``."""
    from angee.cli import main as cli_main

    monkeypatch.setattr(cli_main.cli, "_imported", {})

    def run(*args: str) -> tuple[int, bytes, str]:
        code = cli_main.run(list(args))
        out, err = capsysbinary.readouterr()
        return code, out, err.decode()

    return run


def test_cli_list_stat_read_write_delete(angee, root: Path, tmp_path: Path) -> None:
    base = ("--root", str(root))
    hello = sha(b"hello\n")
    code, out, err = angee(*base, "file", "ls", "app")
    assert code == 0, err
    rows = [line.split("\t") for line in out.decode().splitlines()]
    assert [r[2] for r in rows] == ["app/config.toml", "app/empty", "app/sub"]
    assert rows[0][:2] == ["file", "9"]
    code, out, _ = angee(*base, "file", "list", "--recursive", "--workspace", "w1")
    assert [line.split("\t")[2] for line in out.decode().splitlines()] == ["src", "src/main.py"]
    code, out, _ = angee(*base, "file", "write", "notes/a.txt", "--content", "hello\n", "--create-dirs")
    assert (code, out.decode()) == (0, f"file notes/a.txt written (6 bytes, sha256={hello})\n")
    code, out, _ = angee(*base, "file", "cat", "notes/a.txt")
    assert (code, out) == (0, b"hello\n")
    code, out, _ = angee(*base, "--json", "file", "read", "notes/a.txt")
    assert json.loads(out) == {
        "path": "notes/a.txt",
        "size": 6,
        "sha256": sha(b"hello\n"),
        "encoding": "utf-8",
        "content": "hello\n",
    }
    code, out, _ = angee(*base, "file", "stat", "notes/a.txt")
    assert "type\tfile\n" in out.decode() and f"sha256\t{hello}\n" in out.decode()
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xffbinary")
    code, out, _ = angee(*base, "file", "write", "notes/blob.bin", "--from", str(blob))
    assert code == 0 and (root / "notes" / "blob.bin").read_bytes() == b"\x00\xffbinary"
    saved = tmp_path / "copy.bin"
    code, out, _ = angee(*base, "file", "read", "notes/blob.bin", "--output", str(saved))
    assert (code, out, saved.read_bytes()) == (0, b"", b"\x00\xffbinary")
    code, out, err = angee(*base, "file", "write", "notes/a.txt", "--content", "x", "--if-match", "0" * 64)
    assert code == 1 and "sha256 mismatch" in err and (root / "notes" / "a.txt").read_text() == "hello\n"
    code, out, _ = angee(*base, "file", "rm", "notes/a.txt")
    assert (code, out.decode()) == (0, "file notes/a.txt deleted\n")
    code, _, err = angee(*base, "file", "cat", ".git/config")
    assert code == 1 and err.strip() == 'path ".git/config" is protected'


def test_cli_write_from_stdin(angee, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("piped ✓\n".encode())))
    code, out, err = angee("--root", str(root), "file", "write", "app/piped.txt", "--stdin")
    assert code == 0, err
    assert (root / "app" / "piped.txt").read_text() == "piped ✓\n"
    assert angee("--root", str(root), "file", "write", "app/x.txt")[0] == 2  # no content source
