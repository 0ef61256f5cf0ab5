"""Fixtures for the compose runtime tests: recording stand-in ``docker``/``docker-compose`` tools and
the docker-engine gate for tests marked ``docker``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:  # `import tests.docker_support` from any rootdir
    sys.path.insert(0, str(REPO_ROOT))

from angee_runtime_compose.compose import forget_compose_command  # noqa: E402

# A stand-in for docker / docker-compose: logs its argv, cwd and selected env vars as one JSON line,
# answers `docker compose version` per STANDIN_V2, and otherwise behaves per STANDIN_MODE.
STANDIN_SOURCE = r"""
import json, os, subprocess, sys, time

tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]
record = {"argv": [tool, *args], "cwd": os.getcwd()}
names = [n for n in os.environ.get("STANDIN_RECORD_ENV", "").split(",") if n]
record["env"] = {n: os.environ.get(n) for n in names}
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps(record) + "\n")

if tool == "docker" and args[:2] == ["compose", "version"]:
    if os.environ.get("STANDIN_V2") == "1":
        print("Docker Compose version v2.99.0")
        sys.exit(0)
    print("docker: 'compose' is not a docker command.", file=sys.stderr)
    sys.exit(1)

mode = os.environ.get("STANDIN_MODE", "")
if mode == "handshake":
    # Prove streaming: the second line is only printed once the caller saw the first one.
    print("first line", flush=True)
    flag = os.environ["STANDIN_FLAG"]
    deadline = time.monotonic() + 20
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.01)
    print("second line" if os.path.exists(flag) else "caller never saw the first line", flush=True)
elif mode == "follow":
    # A follower with a child of its own (like the docker CLI and its compose plugin).
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(os.environ["STANDIN_FLAG"], "w") as handle:
        handle.write(f"{os.getpid()} {child.pid}")
    print("log line one", flush=True)
    time.sleep(120)
else:
    sys.stdout.write(os.environ.get("STANDIN_STDOUT", ""))
    sys.stderr.write(os.environ.get("STANDIN_STDERR", ""))
sys.exit(int(os.environ.get("STANDIN_RC", "0")))
"""


class StandIn:
    """Recording stand-in tools on an otherwise empty PATH."""

    def __init__(self, bin_dir: Path, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin_dir = bin_dir
        self.log = log
        self._monkeypatch = monkeypatch

    def install(self, *tools: str) -> None:
        """Put stand-ins named ``tools`` (``docker``, ``docker-compose``) on PATH."""
        for tool in tools:
            path = self.bin_dir / tool
            path.write_text(f"#!{sys.executable}\n{STANDIN_SOURCE}")
            path.chmod(0o755)

    def set(self, **env: str) -> None:
        """Set ``STANDIN_<KEY>`` behaviour variables (``v2``, ``mode``, ``rc``, ``stdout``, ...)."""
        for key, value in env.items():
            self._monkeypatch.setenv(f"STANDIN_{key.upper()}", value)

    def records(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self, *, with_probe: bool = False) -> list[list[str]]:
        """Recorded argv lists, without the ``docker compose version`` probes unless asked."""
        argvs = [r["argv"] for r in self.records()]
        return [a for a in argvs if with_probe or a != ["docker", "compose", "version"]]

    def clear(self) -> None:
        if self.log.exists():
            self.log.unlink()


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Stand-in docker tools: PATH holds only them; the compose detection cache is reset around."""
    bin_dir = tmp_path / "standin-bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "standin.log"))
    for key in list(os.environ):
        if key.startswith("STANDIN_") and key != "STANDIN_LOG":
            monkeypatch.delenv(key)
    forget_compose_command()
    yield StandIn(bin_dir, tmp_path / "standin.log", monkeypatch)
    forget_compose_command()


