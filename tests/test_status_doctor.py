"""``angee status`` / ``stack status`` and ``angee doctor`` on real stack roots in tmp dirs.

Status and doctor run through the real CLI in a subprocess; runtime observation runs
``Platform.stack_status`` in-process with a runtime plugin registered through the real registry.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from angee.api import DoctorCheck, DoctorReport, DoctorSummary
from angee.cli.doctor import doctor_text
from angee.compile import compose_project
from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.hookspecs import hookimpl
from angee.platform import Platform
from angee.plugins import LoadedPlugin, PluginRegistry

FULL_MANIFEST = """\
name: Notes Demo
ports:
  process_compose: {value: 8301}
services:
  web: {runtime: container, image: nginx}
  worker: {runtime: local, command: [sleep, "100"]}
jobs:
  migrate: {runtime: local, command: [echo, migrate]}
workspaces:
  fix-1:
    template: workspaces/dev-pr
    inputs: {playwright_port: "9333"}
    resolved:
      chain_root: .angee
      allocations: {django: 8104, process_compose: 8201}
    ttl: 4h
    ttl_expires_at: 2026-06-17T16:00:00Z
  plain:
    template: workspaces/bare
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANGEE_")}
    env.update(extra)
    return env


def angee(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "angee.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=60,
    )


# ---------------------------------------------------------------------------- status via the CLI


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "angee.yaml").write_text(FULL_MANIFEST)
    return root


def test_status_text(stack: Path) -> None:
    for args in (["status"], ["stack", "status"]):
        result = angee(*args, cwd=stack)
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout == f"Notes Demo\nroot: {stack}\nservices: 2\njobs: 1\nworkspaces: 2\n"


def test_status_json_is_the_rest_shape_keyed_by_name(stack: Path) -> None:
    result = angee("status", "--json", cwd=stack)
    assert result.returncode == 0
    assert result.stdout.endswith("}\n") and result.stdout.startswith('{\n  "root"')
    body = json.loads(result.stdout)
    assert body["root"] == str(stack)
    assert body["name"] == "Notes Demo"
    # no runtime observes anything in a fresh tmp root: every service is "declared"
    assert body["services"] == {
        "web": {"name": "web", "runtime": "container", "status": "declared"},
        "worker": {"name": "worker", "runtime": "local", "status": "declared"},
    }
    assert body["jobs"] == {"migrate": {"name": "migrate", "runtime": "local"}}
    assert body["workspaces"] == {
        "fix-1": {
            "name": "fix-1",
            "path": str(stack / "workspaces" / "fix-1"),
            "template": "workspaces/dev-pr",
            "chain_root": ".angee",
            "allocations": {"django": 8104, "process_compose": 8201},
            "process_compose_port": 8201,
            "playwright_mcp_name": "playwright-fix-1",
            "playwright_mcp_url": "http://127.0.0.1:9333/mcp",
            "ttl": "4h",
            "ttl_expires_at": "2026-06-17T16:00:00Z",
        },
        "plain": {
            "name": "plain",
            "path": str(stack / "workspaces" / "plain"),
            "template": "workspaces/bare",
        },
    }


def test_status_json_always_has_the_three_maps(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text("name: empty\n")
    result = angee("status", "--json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "root": str(tmp_path),
        "name": "empty",
        "services": {},
        "jobs": {},
        "workspaces": {},
    }


def test_status_discovers_the_root_from_a_subdirectory_and_the_dev_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "project" / ".angee"
    overlay.mkdir(parents=True)
    (overlay / "angee.yaml").write_text("name: overlay\n")
    deep = tmp_path / "project" / "src" / "pkg"
    deep.mkdir(parents=True)
    result = angee("status", cwd=deep)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == ["overlay", f"root: {overlay}"]


def test_status_honours_angee_root_env(stack: Path, tmp_path: Path) -> None:
    result = angee("status", cwd=tmp_path, env=clean_env(ANGEE_ROOT=str(stack)))
    assert result.returncode == 0
    assert result.stdout.splitlines()[1] == f"root: {stack}"


# ---------------------------------------------------------------------------- status and runtime backends


class RecordingRuntime(Runtime):
    """A runtime backend for tests: reports fixed services (or raises) and records its queries."""

    def __init__(
        self,
        name: str,
        serves: str,
        observed: list[ObservedService] | None = None,
        error: Exception | None = None,
        available: bool = True,
    ) -> None:
        self.name = name
        self.serves = serves  # type: ignore[misc]
        self.observed = observed or []
        self.error = error
        self._available = available
        self.queries: list[RuntimeStack] = []

    def available(self) -> bool:
        return self._available

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        self.queries.append(stack)
        if self.error is not None:
            raise self.error
        return self.observed

    def build(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def up(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def down(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def control(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def logs(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        raise NotImplementedError


class RuntimePlugin:
    def __init__(self, runtimes: list[Runtime]) -> None:
        self.runtimes = runtimes

    @hookimpl
    def angee_runtimes(self) -> list[Runtime]:
        return self.runtimes


def platform_with(root: Path, *runtimes: Runtime) -> Platform:
    reg = PluginRegistry()
    reg.pm.register(RuntimePlugin(list(runtimes)), name="test-runtimes")
    reg.plugins["test-runtimes"] = LoadedPlugin("test-runtimes", "tests", "0", "tests", False)
    return Platform(str(root), plugins=reg)


def test_observed_state_and_health_come_from_the_backends(stack: Path) -> None:
    container = RecordingRuntime(
        "c",
        "container",
        [ObservedService("web", "Running", "healthy"), ObservedService("ghost", "running")],
    )
    local = RecordingRuntime("l", "local", [ObservedService("worker", "completed")])
    status = platform_with(stack, container, local).stack_status()
    assert (status.services["web"].status, status.services["web"].health) == ("running", "healthy")
    assert (status.services["worker"].status, status.services["worker"].health) == ("completed", "")
    assert "ghost" not in status.services
    assert container.queries and local.queries


def test_a_failing_backend_means_declared(stack: Path) -> None:
    container = RecordingRuntime("c", "container", error=RuntimeError("docker exploded"))
    local = RecordingRuntime("l", "local", [ObservedService("worker", "running")])
    status = platform_with(stack, container, local).stack_status()
    assert status.services["web"].status == "declared"
    assert status.services["worker"].status == "running"


def test_first_available_backend_per_runtime_is_used(stack: Path) -> None:
    missing = RecordingRuntime("pc", "local", [ObservedService("worker", "running")], available=False)
    embedded = RecordingRuntime("embedded", "local", [ObservedService("worker", "exited")])
    later = RecordingRuntime("later", "local", [ObservedService("worker", "paused")])
    status = platform_with(stack, missing, embedded, later).stack_status()
    assert status.services["worker"].status == "exited"
    assert (missing.queries, later.queries) == ([], [])


def test_backends_are_only_queried_for_runtimes_the_services_use(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text(
        "name: only-containers\nservices:\n  web: {runtime: container, image: nginx}\n"
        "jobs:\n  migrate: {runtime: local, command: [echo]}\n"
    )
    container = RecordingRuntime("c", "container")
    local = RecordingRuntime("l", "local")
    platform_with(tmp_path, container, local).stack_status()
    assert len(container.queries) == 1 and local.queries == []
    stack_arg = container.queries[0]
    assert stack_arg.root == str(tmp_path)
    assert stack_arg.project == compose_project("only-containers", str(tmp_path))
    assert stack_arg.compose_file == str(tmp_path / "docker-compose.yaml")


def test_runtime_stack_carries_the_control_port(stack: Path) -> None:
    local = RecordingRuntime("l", "local")
    platform_with(stack, local).stack_status()
    assert local.queries[0].control_port == 8301


# ---------------------------------------------------------------------------- doctor


def test_doctor_text_format() -> None:
    report = DoctorReport(
        version="1.2.3",
        root="/srv/stack",
        checks=[
            DoctorCheck("root", "ok", "/srv/stack"),
            DoctorCheck("tool.uv", "warn", "not found on PATH", "Python templates use uv"),
            DoctorCheck("port_pool.web", "error", 'port pool "web" range must be start-end'),
        ],
        summary=DoctorSummary(ok=1, warnings=1, errors=1),
    )
    assert doctor_text(report) == (
        "angee doctor\nversion: 1.2.3\nroot: /srv/stack\n\n"
        "OK    root                           /srv/stack\n"
        "WARN  tool.uv                        not found on PATH\n"
        "      hint: Python templates use uv\n"
        'ERROR port_pool.web                  port pool "web" range must be start-end\n'
        "\nsummary: 1 ok, 1 warning(s), 1 error(s)"
    )


def parse_doctor(stdout: str) -> tuple[dict[str, tuple[str, str]], dict[str, str], str]:
    """``{name: (STATUS, detail)}``, ``{name: hint}`` and the summary line of a text report.

    Asserts the column layout: status left-aligned in 5 columns, a space, name in 30 columns, a space.
    """
    checks: dict[str, tuple[str, str]] = {}
    hints: dict[str, str] = {}
    last = ""
    for line in stdout.splitlines()[4:]:
        if line.startswith("      hint: "):
            hints[last] = line[len("      hint: ") :]
        elif line and not line.startswith("summary:"):
            status, name = line[:5].rstrip(), line[6:].split(" ")[0]
            assert status in ("OK", "WARN", "ERROR") and line[5] == " ", line
            width = max(30, len(name))
            assert line[6 : 6 + width] == name.ljust(width), line
            checks[name] = (status, line[7 + width :])
            last = name
    return checks, hints, stdout.rstrip("\n").splitlines()[-1]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def write_template(base: Path, family: str, name: str, copier: str | None) -> None:
    path = base / ".templates" / family / name
    path.mkdir(parents=True)
    if copier is not None:
        (path / "copier.yml").write_text(copier)


@pytest.fixture
def project(tmp_path: Path, busy_port: int) -> Path:
    """A git project with a dev overlay stack, templates (one wrong), a busy port and local sources."""
    project = tmp_path / "project"
    overlay = project / ".angee"
    overlay.mkdir(parents=True)
    (overlay / "angee.yaml").write_text(
        "name: demo\n"
        f"ports:\n  busy: {{value: {busy_port}}}\n"
        'operator:\n  port_pool:\n    django: {range: "8101-8199"}\n'
        "sources:\n  app: {kind: local, path: ..}\n  missing: {kind: local, path: ../nope}\n"
        "services:\n  web: {runtime: container, image: nginx}\n"
    )
    write_template(project, "workspaces", "dev", "_angee:\n  kind: workspace\ntopic: {type: str}\n")
    write_template(project, "stacks", "wrong", "_angee:\n  kind: workspace\n")
    write_template(project, "services", "empty", None)
    (project / ".gitignore").write_text(".angee\n.mcp.json\n")
    git("init", "-q", cwd=project)
    return project


def test_doctor_reports_every_check_and_fails_on_errors(project: Path, busy_port: int) -> None:
    result = angee("doctor", cwd=project)
    assert result.returncode == 1
    assert result.stderr == "doctor found 1 error(s)\n"
    overlay = project / ".angee"
    assert result.stdout.startswith("angee doctor\nversion: ")
    assert result.stdout.splitlines()[2:4] == [f"root: {overlay}", ""]
    checks, hints, summary = parse_doctor(result.stdout)

    assert checks["root"] == ("OK", str(overlay))
    assert checks["root.absolute"][0] == "OK"
    assert {f"tool.{t}" for t in ("git", "uv", "node", "pnpm", "npx", "docker", "process-compose")} <= set(
        checks
    )
    assert checks["tool.git"][0] == "OK" and checks["tool.git"][1].startswith("git version")
    assert checks["manifest"] == ("OK", "demo (1 services, 0 jobs, 0 workspaces)")
    assert checks["source.app"] == ("OK", str(project))
    assert checks["source.missing"][0] == "WARN" and "source.missing" in hints
    assert checks["port.busy"][0] == "WARN" and str(busy_port) in checks["port.busy"][1]
    assert checks["port_pool.django"] == ("OK", "8101-8199 (99 ports)")
    assert checks["git.cwd"][0] == "OK"
    assert checks["git.repo"] == ("OK", str(project))
    assert checks["git.ignore..angee"][0] == "OK"
    assert checks["git.ignore..mcp.json"][0] == "OK"
    assert checks["git.ignore..copier-answers.yml"][0] == "WARN"
    assert ".gitignore" in hints["git.ignore..copier-answers.yml"]
    assert checks["templates.host"] == ("OK", str(project))
    assert checks["templates"][0] == "OK"
    assert checks["template.workspaces/dev"][0] == "OK"
    assert checks["template.stacks/wrong"][0] == "ERROR"
    assert 'template kind "workspace" does not match "stack"' in checks["template.stacks/wrong"][1]
    assert checks["template.services/empty"][0] == "WARN"

    statuses = [status for status, _ in checks.values()]
    assert summary == (
        f"summary: {statuses.count('OK')} ok, {statuses.count('WARN')} warning(s), "
        f"{statuses.count('ERROR')} error(s)"
    )


def test_doctor_json_is_the_report(project: Path) -> None:
    result = angee("doctor", "--json", cwd=project)
    assert result.returncode == 1
    assert result.stderr == "doctor found 1 error(s)\n"
    report = json.loads(result.stdout)
    assert set(report) == {"version", "root", "checks", "summary"}
    assert report["root"] == str(project / ".angee")
    for check in report["checks"]:
        assert set(check) - {"hint"} == {"name", "status", "detail"}
        assert check["status"] in ("ok", "warn", "error")
        assert check["status"] != "ok" or "hint" not in check
    counts = [c["status"] for c in report["checks"]]
    assert report["summary"] == {
        "ok": counts.count("ok"),
        "warnings": counts.count("warn"),
        "errors": counts.count("error"),
    }


def test_doctor_without_a_manifest_warns_and_succeeds(tmp_path: Path) -> None:
    result = angee("doctor", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    checks, hints, summary = parse_doctor(result.stdout)
    assert checks["manifest"][0] == "WARN"
    assert "angee init --dev --yes" in hints["manifest"]
    assert checks["templates.host"][0] == "WARN"
    assert summary.endswith(", 0 error(s)")


def test_doctor_reports_an_invalid_manifest_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "angee.yaml").write_text("name: bad\nservices:\n  web: {runtime: container}\n")
    result = angee("doctor", "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "doctor found 1 error(s)\n"
    manifest = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "manifest")
    assert manifest["status"] == "error"
    assert "requires image or build" in manifest["detail"]


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_doctor_tool_checks_use_the_first_version_line(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "uv", 'echo "uv 9.9.9 (abc)"\necho "second line"\n')
    _script(bin_dir / "pnpm", "echo boom >&2\nexit 3\n")
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    os.symlink(real_git, bin_dir / "git")
    stack = tmp_path / "stack"
    stack.mkdir()
    result = angee("doctor", "--json", cwd=stack, env=clean_env(PATH=str(bin_dir)))
    checks: dict[str, dict[str, str]] = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert (checks["tool.uv"]["status"], checks["tool.uv"]["detail"]) == ("ok", "uv 9.9.9 (abc)")
    assert checks["tool.pnpm"]["status"] == "warn" and "exited 3" in checks["tool.pnpm"]["detail"]
    assert checks["tool.docker"] == {
        "name": "tool.docker",
        "status": "warn",
        "detail": "not found on PATH",
        "hint": checks["tool.docker"]["hint"],
    }
    assert "container" in checks["tool.docker"]["hint"]
    assert checks["tool.git"]["status"] == "ok"


def test_doctor_is_local_even_with_an_operator_url(tmp_path: Path) -> None:
    result = angee("doctor", cwd=tmp_path, env=clean_env(ANGEE_OPERATOR_URL="http://127.0.0.1:9"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("angee doctor\n")
