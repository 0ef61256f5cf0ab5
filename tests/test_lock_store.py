"""The root lock (re-entrant, cross-thread, cross-process) and the one manifest writer."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from angee.errors import InvalidInput, NotFound
from angee.lock import LockUnavailable, holds_root_lock, lock_path, root_lock
from angee.manifest import dump_manifest, load_manifest, parse_manifest
from angee.manifest.model import Manifest, Secret, Service
from angee.manifest.store import mutate_manifest, write_file_atomic

HAND_WRITTEN = textwrap.dedent(
    """\
    # hand-written: comments are not preserved
    name: demo
    secrets:
      db-password: {generated: true, length: 24}
    """
)


def _run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


TRY_LOCK = """
    import sys
    from angee.lock import LockUnavailable, root_lock
    try:
        with root_lock(sys.argv[1], timeout=0):
            sys.exit(0)
    except LockUnavailable:
        sys.exit(3)
"""


def other_process_can_lock(root: str) -> bool:
    """One attempt (no waiting) to take the root lock from a separate Python process."""
    done = _run_python(TRY_LOCK, root)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode == 0


def _manifest_file(root: str, text: str = HAND_WRITTEN) -> str:
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "angee.yaml")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


# ---------------------------------------------------------------------------- lock


def test_lock_creates_run_dir_and_private_lock_file(tmp_path):
    root = str(tmp_path / "stack")  # does not exist yet
    with root_lock(root) as path:
        assert path == os.path.realpath(lock_path(root))
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.join(root, "run")).st_mode) == 0o755
        assert holds_root_lock(root)
    assert not holds_root_lock(root)


def test_nested_lock_in_one_thread_holds_the_file_lock_until_the_outermost_exit(tmp_path):
    root = str(tmp_path)
    with root_lock(root):
        with root_lock(root, timeout=0):  # re-entrant: never waits on itself
            assert not other_process_can_lock(root)
        assert holds_root_lock(root)
        assert not other_process_can_lock(root)
    assert other_process_can_lock(root)


def test_other_thread_waits_while_lock_is_held(tmp_path):
    root = str(tmp_path)
    outcome: list[str] = []

    def try_now() -> None:
        try:
            with root_lock(root, timeout=0):
                outcome.append("acquired")
        except LockUnavailable as err:
            outcome.append(err.reason)

    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def holder() -> None:
        with root_lock(root):
            holding.set()
            release.wait()
            order.append("holder released")

    t = threading.Thread(target=holder)
    t.start()
    holding.wait()
    probe = threading.Thread(target=try_now)
    probe.start()
    probe.join()
    assert outcome == ["timed out"]
    assert not holds_root_lock(root)  # the main thread is not the holder

    def waiter() -> None:
        with root_lock(root):
            order.append("waiter acquired")

    w = threading.Thread(target=waiter)
    w.start()
    release.set()
    t.join()
    w.join()
    assert order == ["holder released", "waiter acquired"]


def test_cancel_event_stops_the_wait(tmp_path):
    root = str(tmp_path)
    cancel = threading.Event()
    errors: list[LockUnavailable] = []

    def waiter() -> None:
        try:
            with root_lock(root, cancel=cancel):
                pass
        except LockUnavailable as err:
            errors.append(err)

    with root_lock(root):
        t = threading.Thread(target=waiter)
        t.start()
        cancel.set()
        t.join()
    assert [e.reason for e in errors] == ["cancelled"]
    assert "operator.lock not acquired: cancelled" in str(errors[0])
    with root_lock(root, timeout=0):  # the failed waiter left nothing behind
        pass


def test_threads_never_lose_an_update_under_the_lock(tmp_path):
    root = str(tmp_path)
    counter = tmp_path / "counter"
    counter.write_text("0")

    def bump(times: int) -> None:
        for _ in range(times):
            with root_lock(root):
                with root_lock(root):
                    value = int(counter.read_text())
                    counter.write_text(str(value + 1))

    threads = [threading.Thread(target=bump, args=(50,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text() == "300"


BUMP = """
    import sys
    from angee.lock import root_lock
    root, counter, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for _ in range(times):
        with root_lock(root):
            with open(counter) as fh:
                value = int(fh.read())
            with open(counter, "w") as fh:
                fh.write(str(value + 1))
"""


def test_processes_never_lose_an_update_under_the_lock(tmp_path):
    root = str(tmp_path)
    counter = tmp_path / "counter"
    counter.write_text("0")
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(BUMP), root, str(counter), "100"])
        for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert counter.read_text() == "300"


WAIT_THEN_MARK = """
    import sys
    from angee.lock import root_lock
    with root_lock(sys.argv[1]):
        open(sys.argv[2], "w").close()
"""


def test_other_process_waits_for_the_holder(tmp_path):
    root = str(tmp_path)
    marker = tmp_path / "child-got-lock"
    with root_lock(root):
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(WAIT_THEN_MARK), root, str(marker)])
        assert not other_process_can_lock(root)
        assert not marker.exists()
    assert child.wait(timeout=60) == 0
    assert marker.exists()


# ---------------------------------------------------------------------------- store


def test_mutate_saves_canonically_and_returns_the_change_result(tmp_path):
    root = str(tmp_path)
    path = _manifest_file(root)

    def add_service(m: Manifest) -> str:
        m.services["web"] = Service(runtime="local", command=["python", "-m", "http.server"])
        return "added"

    assert mutate_manifest(root, add_service) == "added"
    saved = _read(path).decode()
    assert "# hand-written" not in saved
    assert saved == dump_manifest(load_manifest(path))
    assert load_manifest(path).services["web"].command == ["python", "-m", "http.server"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_mutate_without_changes_leaves_canonical_file_untouched(tmp_path):
    root = str(tmp_path)
    path = _manifest_file(root, dump_manifest(parse_manifest(HAND_WRITTEN)))
    before = os.stat(path)
    mutate_manifest(root, lambda m: None)
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_failing_change_leaves_file_byte_identical(tmp_path):
    root = str(tmp_path)
    path = _manifest_file(root)

    def broken(m: Manifest) -> None:
        m.secrets["new"] = Secret(generated=True)
        raise RuntimeError("clone failed")

    with pytest.raises(RuntimeError, match="clone failed"):
        mutate_manifest(root, broken)
    assert _read(path) == HAND_WRITTEN.encode()
    assert sorted(os.listdir(root)) == ["angee.yaml", "run"]  # no temp file left behind
    with root_lock(root, timeout=0):  # and the lock was released
        pass


def test_invalid_result_is_reported_and_nothing_written(tmp_path):
    root = str(tmp_path)
    path = _manifest_file(root)

    def no_runtime(m: Manifest) -> None:
        m.services["web"] = Service(image="nginx")

    with pytest.raises(InvalidInput) as err:
        mutate_manifest(root, no_runtime)
    assert err.value.field == "services.web.runtime"
    assert err.value.reason == 'service "web" requires runtime'
    assert str(err.value) == 'services.web.runtime: service "web" requires runtime'
    assert _read(path) == HAND_WRITTEN.encode()


def test_missing_stack_is_not_found_and_creates_nothing(tmp_path):
    root = str(tmp_path / "nowhere")
    with pytest.raises(NotFound, match="^stack not found$"):
        mutate_manifest(root, lambda m: None)
    assert not os.path.exists(root)


def test_create_starts_a_new_manifest_without_touching_the_template(tmp_path):
    root = str(tmp_path / "stack")
    template = Manifest(name="fresh")

    def add_secret(m: Manifest) -> None:
        m.secrets["token"] = Secret()

    mutate_manifest(root, add_secret, create=template)
    assert template.secrets == {}
    saved = load_manifest(os.path.join(root, "angee.yaml"))
    assert saved.name == "fresh" and list(saved.secrets) == ["token"]

    # once it exists, ``create`` is ignored: the file on disk is re-read
    mutate_manifest(root, lambda m: None, create=Manifest(name="other"))
    assert load_manifest(os.path.join(root, "angee.yaml")).name == "fresh"


def test_invalid_create_writes_no_file(tmp_path):
    root = str(tmp_path / "stack")
    with pytest.raises(InvalidInput, match="manifest name is required"):
        mutate_manifest(root, lambda m: None, create=Manifest(name=" "))
    assert not os.path.exists(os.path.join(root, "angee.yaml"))


def test_concurrent_threads_writing_the_manifest_lose_no_update(tmp_path):
    root = str(tmp_path)
    path = _manifest_file(root)

    def writer(n: int) -> None:
        for i in range(5):
            mutate_manifest(root, lambda m, i=i: m.secrets.setdefault(f"s{n}-{i}", Secret()))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = set(load_manifest(path).secrets)
    assert names == {"db-password"} | {f"s{n}-{i}" for n in range(6) for i in range(5)}


def test_write_file_atomic_skips_identical_bytes(tmp_path):
    path = str(tmp_path / "sub" / "docker-compose.yaml")
    assert write_file_atomic(path, b"services: {}\n") is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    first = os.stat(path)
    assert write_file_atomic(path, b"services: {}\n") is False
    again = os.stat(path)
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert write_file_atomic(path, b"services:\n  web: {}\n", mode=0o600) is True
    assert _read(path) == b"services:\n  web: {}\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path / "sub") == ["docker-compose.yaml"]


def test_write_file_atomic_writes_through_a_symlink(tmp_path):
    target = tmp_path / "real.env"
    target.write_text("A=1\n")
    link = tmp_path / ".env"
    link.symlink_to(target)
    assert write_file_atomic(str(link), b"A=2\n", mode=0o600) is True
    assert link.is_symlink()
    assert target.read_text() == "A=2\n"
