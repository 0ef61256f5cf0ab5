"""Files API (§9): reads and writes confined to a declared source, 1 MiB cap, UTF-8, etag CAS."""

from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest

from angee.errors import Conflict, InvalidInput, NotFound
from tests.test_workspaces_support import WsPlatform, make_stack, read

MIB = 1024 * 1024


@pytest.fixture
def platform(tmp_path) -> WsPlatform:
    root = make_stack(str(tmp_path / "stack"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    src = os.path.join(root, "localsrc")
    os.symlink(str(outside), os.path.join(src, "escape"))
    os.symlink(str(outside / "secret.txt"), os.path.join(src, "secret-link"))
    os.makedirs(os.path.join(src, "sub"))
    with open(os.path.join(src, "sub", "inner.txt"), "w", encoding="utf-8") as fh:
        fh.write("inner\n")
    os.symlink("sub", os.path.join(src, "inside-link"))
    return WsPlatform(root)


def _sha(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def test_read_returns_content_and_etag(platform: WsPlatform) -> None:
    got = platform.file_read("code", "main.py")
    assert (got.path, got.source, got.content) == ("main.py", "code", "print('hi')\n")
    assert got.etag == got.sha256 == _sha(b"print('hi')\n") and got.size == 12 and got.encoding == "utf-8"
    # a symlink that stays inside the source is followed
    assert platform.file_read("code", "inside-link/inner.txt").content == "inner\n"
    assert platform.file_read("code", "./sub//inner.txt").path == "sub/inner.txt"


@pytest.mark.parametrize("path", ["/etc/passwd", "", ".", "..", "../x", "sub/../../x", "a\x00b"])
def test_paths_outside_the_root_are_refused(platform: WsPlatform, path: str) -> None:
    for call in (lambda: platform.file_read("code", path), lambda: platform.file_write("code", path, "x")):
        with pytest.raises(InvalidInput) as err:
            call()
        assert str(err.value) == "path escapes the source root"
        assert err.value.field == "path"


@pytest.mark.parametrize("path", ["escape/secret.txt", "secret-link", "escape/new.txt"])
def test_symlink_escapes_are_refused(platform: WsPlatform, path: str, tmp_path) -> None:
    with pytest.raises(InvalidInput) as err:
        platform.file_read("code", path)
    assert str(err.value) == "path escapes the source root"
    with pytest.raises(InvalidInput):
        platform.file_write("code", path, "pwned\n")
    assert read(str(tmp_path / "outside" / "secret.txt")) == "top secret\n"
    assert not os.path.exists(tmp_path / "outside" / "new.txt")


def test_git_metadata_is_protected(platform: WsPlatform) -> None:
    with pytest.raises(InvalidInput) as err:
        platform.file_write("code", ".git/hooks/pre-commit", "#!/bin/sh\n")
    assert err.value.reason == "path is protected"


def test_size_cap_and_utf8(platform: WsPlatform) -> None:
    src = os.path.join(platform.root, "localsrc")
    with open(os.path.join(src, "big.txt"), "wb") as fh:
        fh.write(b"a" * (MIB + 1))
    with open(os.path.join(src, "exact.txt"), "wb") as fh:
        fh.write(b"b" * MIB)
    with open(os.path.join(src, "binary.bin"), "wb") as fh:
        fh.write(b"\xff\xfe\x00bad")
    with pytest.raises(InvalidInput) as err:
        platform.file_read("code", "big.txt")
    assert "exceeds 1 MiB cap" in str(err.value)
    assert len(platform.file_read("code", "exact.txt").content) == MIB
    with pytest.raises(InvalidInput) as err:
        platform.file_read("code", "binary.bin")
    assert "not valid UTF-8 text" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        platform.file_write("code", "new.txt", "x" * (MIB + 1))
    assert "exceeds 1 MiB cap" in str(err.value)
    assert not os.path.exists(os.path.join(src, "new.txt"))
    with pytest.raises(InvalidInput) as err:
        platform.file_write("code", "new.txt", "bad \udcff surrogate")
    assert "not valid UTF-8 text" in str(err.value)
    # multibyte text is measured in bytes
    with pytest.raises(InvalidInput):
        platform.file_write("code", "new.txt", "é" * (MIB // 2 + 1))


def test_missing_file_directory_and_sources(platform: WsPlatform) -> None:
    for path in ("nope.txt", "sub", "main.py/child"):
        with pytest.raises(NotFound) as err:
            platform.file_read("code", path)
        assert err.value.kind == "file"
    with pytest.raises(NotFound) as err:
        platform.file_read("nosuch", "a.txt")
    assert err.value.kind == "source"
    with pytest.raises(InvalidInput) as err:
        platform.file_read("", "a.txt")
    assert err.value.field == "source"


def test_write_creates_parents_atomically_with_modes(platform: WsPlatform, capfd) -> None:
    ref = platform.file_write("code", "deep/er/new.txt", "héllo\n", remote_addr="10.0.0.9")
    path = os.path.join(platform.root, "localsrc", "deep", "er", "new.txt")
    assert read(path) == "héllo\n"
    assert ref.etag == _sha("héllo\n".encode()) and (ref.path, ref.source) == ("deep/er/new.txt", "code")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o755
    assert [n for n in os.listdir(os.path.dirname(path)) if n != "new.txt"] == []  # no temp files left
    err = capfd.readouterr().err
    assert "source=code" in err and "path=deep/er/new.txt" in err and "remote=10.0.0.9" in err
    assert platform.file_read("code", "deep/er/new.txt").etag == ref.etag


def test_etag_compare_and_set(platform: WsPlatform) -> None:
    first = platform.file_read("code", "main.py")
    second = platform.file_write("code", "main.py", "v2\n", etag=first.etag)
    assert second.etag == _sha(b"v2\n")
    with pytest.raises(Conflict) as err:
        platform.file_write("code", "main.py", "v3\n", etag=first.etag)  # stale
    assert "etag mismatch" in str(err.value) and err.value.kind == "file"
    assert read(os.path.join(platform.root, "localsrc", "main.py")) == "v2\n"
    with pytest.raises(Conflict):
        platform.file_write("code", "absent.txt", "x", etag=first.etag)  # CAS on a missing file
    assert not os.path.exists(os.path.join(platform.root, "localsrc", "absent.txt"))
    platform.file_write("code", "main.py", "v4\n")  # empty etag: unconditional
    assert read(os.path.join(platform.root, "localsrc", "main.py")) == "v4\n"


def test_concurrent_cas_writers_only_one_wins(platform: WsPlatform) -> None:
    etag = platform.file_read("code", "main.py").etag
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            WsPlatform(platform.root).file_write("code", "main.py", f"writer {i}\n", etag=etag)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]


def test_write_to_a_directory_is_refused(platform: WsPlatform) -> None:
    with pytest.raises(InvalidInput):
        platform.file_write("code", "sub", "x")
