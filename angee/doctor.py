"""``angee doctor``: checks of this machine, the stack root, its manifest and its templates (spec §6.6).

Always local. Every check yields ``ok``, ``warn`` or ``error``; only errors make ``angee doctor``
fail. Slow probes (tool versions, git) run in parallel threads with short timeouts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from angee import __version__
from angee.api import DoctorCheck, DoctorReport, DoctorSummary

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry

TOOL_TIMEOUT = 2.0
GIT_TIMEOUT = 5.0

# (tool, what needs it) — the hint shown when the tool is missing or failing.
TOOLS: tuple[tuple[str, str], ...] = (
    ("git", "git sources, workspaces and gitops need git"),
    ("uv", "Python project templates and their jobs use uv"),
    ("node", "JavaScript project templates need node"),
    ("pnpm", "JavaScript project templates use pnpm"),
    ("npx", "the Playwright MCP server of workspaces is started with npx"),
    ("docker", "services with runtime: container need docker (with compose)"),
    ("process-compose", "services with runtime: local use process-compose (or the embedded engine)"),
)

IGNORED_PATHS = (".angee", ".mcp.json", ".copier-answers.yml")

TEMPLATE_FAMILIES = {
    "stacks": "stack",
    "workspaces": "workspace",
    "services": "service",
    "projects": "project",
}

OK, WARN, ERROR = "ok", "warn", "error"


def _check(name: str, status: str, detail: str, hint: str = "") -> DoctorCheck:
    return DoctorCheck(name=name, status=status, detail=detail, hint=hint if status != OK else "")


def make_report(root: str, checks: list[DoctorCheck]) -> DoctorReport:
    """A report with its summary counted from ``checks``."""
    summary = DoctorSummary(
        ok=sum(c.status == OK for c in checks),
        warnings=sum(c.status == WARN for c in checks),
        errors=sum(c.status == ERROR for c in checks),
    )
    return DoctorReport(version=__version__, root=root, checks=checks, summary=summary)


# ---------------------------------------------------------------------------- host tools


def tool_check(tool: str, needed_for: str) -> DoctorCheck:
    """``tool.<tool>``: ok with the first line of ``<tool> --version``; warn if absent or failing."""
    name = f"tool.{tool}"
    path = shutil.which(tool)
    if path is None:
        return _check(name, WARN, "not found on PATH", needed_for)
    try:
        proc = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        return _check(name, WARN, f"`{tool} --version` timed out after {TOOL_TIMEOUT:g}s", needed_for)
    except OSError as exc:
        return _check(name, WARN, f"`{tool} --version` failed: {exc.strerror or exc}", needed_for)
    lines = [ln.strip() for ln in (proc.stdout or proc.stderr).splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    if proc.returncode != 0:
        return _check(
            name, WARN, f"`{tool} --version` exited {proc.returncode}: {first}".rstrip(": "), needed_for
        )
    return _check(name, OK, first or path)


def _plugins_check(plugins: PluginRegistry) -> DoctorCheck:
    """``plugins``: ok with the count when every plugin loaded, else warn listing the failures."""
    try:
        loaded = plugins.describe()
    except Exception as exc:
        return _check("plugins", ERROR, f"plugin registry failed: {type(exc).__name__}: {exc}")
    failures: dict[tuple[str, str], None] = {}
    for failure in plugins.failures:
        failures.setdefault((failure.name, failure.error), None)
    if not failures:
        return _check("plugins", OK, f"{len(loaded)} loaded")
    listed = "; ".join(f"{name}: {error}" for name, error in failures)
    return _check(
        "plugins",
        WARN,
        f"{len(loaded)} loaded, {len(failures)} failed ({listed})",
        "run `angee plugins` for details",
    )


def _root_checks(root: str) -> list[DoctorCheck]:
    return [
        _check("root", OK, root),
        _check("root.absolute", OK if os.path.isabs(root) else ERROR, root, "pass --root with a valid path"),
    ]


def _host_checks(
    pool: ThreadPoolExecutor, plugins: PluginRegistry
) -> tuple[list[Future[DoctorCheck]], DoctorCheck]:
    futures = [pool.submit(tool_check, tool, needed_for) for tool, needed_for in TOOLS]
    return futures, _plugins_check(plugins)


def doctor_without_root(reason: str, plugins: PluginRegistry | None = None) -> DoctorReport:
    """The report when the stack root cannot be resolved (``reason``; e.g. the cwd was deleted)."""
    from angee.plugins import registry

    checks = [
        _check("root", ERROR, reason, "pass --root PATH"),
        _check("root.absolute", ERROR, "the start directory cannot be made absolute", "pass --root PATH"),
    ]
    with ThreadPoolExecutor(max_workers=len(TOOLS)) as pool:
        futures, plugins_check = _host_checks(pool, plugins or registry())
        checks += [f.result() for f in futures]
    checks.append(plugins_check)
    return make_report("", checks)


# ---------------------------------------------------------------------------- git


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess[str] | None:
    """Run ``git`` (no prompts, short timeout); ``None`` when git cannot run at all."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            errors="replace",
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _repo_top(path: str) -> str:
    if not path or not os.path.isdir(path):
        return ""
    proc = _git(["rev-parse", "--show-toplevel"], path)
    return proc.stdout.strip() if proc is not None and proc.returncode == 0 else ""


def git_checks(cwd: str, template_host: str) -> list[DoctorCheck]:
    """``git.cwd``, ``git.repo`` and ``git.ignore.*`` for the repo of the cwd (or the template host)."""
    if shutil.which("git") is None:
        hint = "install git"
        return [
            _check("git.cwd", WARN, "git not found on PATH", hint),
            _check("git.repo", WARN, "git not found on PATH", hint),
        ]
    cwd_repo = _repo_top(cwd)
    checks = [
        _check("git.cwd", OK, f"{cwd} (repository {cwd_repo})")
        if cwd_repo
        else _check(
            "git.cwd",
            WARN,
            f"{cwd} is not inside a git repository",
            "run angee from your project's git checkout",
        )
    ]
    repo = cwd_repo or _repo_top(template_host)
    if not repo:
        checks.append(
            _check(
                "git.repo",
                WARN,
                "no git repository at the current directory or the template host",
                "workspaces and the dev overlay expect the project to be a git repository",
            )
        )
        return checks
    checks.append(_check("git.repo", OK, repo))
    for path in IGNORED_PATHS:
        name = f"git.ignore.{path}"
        proc = _git(["check-ignore", "-q", "--", path], repo)
        if proc is not None and proc.returncode == 0:
            checks.append(_check(name, OK, f"{path} is ignored"))
        elif proc is not None and proc.returncode == 1:
            checks.append(
                _check(name, WARN, f"{path} is not ignored in {repo}", f"add {path} to {repo}/.gitignore")
            )
        else:
            detail = (
                (proc.stderr.strip().splitlines() or ["failed"])[0] if proc is not None else "git did not run"
            )
            checks.append(
                _check(name, WARN, f"git check-ignore {path}: {detail}", f"add {path} to {repo}/.gitignore")
            )
    return checks


# ---------------------------------------------------------------------------- templates


def template_host(root: str) -> str:
    """The nearest directory, from the root upward, that holds a ``.templates/`` directory (or ``""``)."""
    current = root
    while True:
        if os.path.isdir(os.path.join(current, ".templates")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return ""
        current = parent


def _copier_loader() -> Any:
    import yaml

    class CopierLoader(yaml.SafeLoader):
        """SafeLoader that tolerates Copier's custom tags (``!include`` ...) as plain values."""

    def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    CopierLoader.add_multi_constructor("!", _any_tag)
    return CopierLoader


def template_check(family: str, name: str, path: str, loader: Any) -> DoctorCheck:
    """``template.<family>/<name>``: needs ``copier.yml`` (warn) with ``_angee`` matching its family (error)."""
    import yaml

    check_name = f"template.{family}/{name}"
    want = TEMPLATE_FAMILIES[family]
    config = next(
        (
            os.path.join(path, f)
            for f in ("copier.yml", "copier.yaml")
            if os.path.isfile(os.path.join(path, f))
        ),
        "",
    )
    if not config:
        return _check(check_name, WARN, f"no copier.yml in {path}", "a template directory needs a copier.yml")
    try:
        with open(config, encoding="utf-8") as fh:
            documents = list(yaml.load_all(fh, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{config}:{mark.line + 1}:{mark.column + 1}" if mark is not None else config
        problem = exc.problem or exc.context or "invalid YAML"
        return _check(check_name, ERROR, f"{where}: {problem}", "fix the YAML syntax")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())
        return _check(check_name, ERROR, f"{config}: {problem}", "fix the YAML syntax")
    data: dict[str, Any] = {}
    for doc in documents:
        if isinstance(doc, dict):
            data.update(doc)
    meta = data.get("_angee")
    hint = f"set _angee.kind: {want} in {config}"
    if not isinstance(meta, dict):
        return _check(check_name, ERROR, f"{config}: missing _angee metadata", hint)
    schema = meta.get("schema")
    if schema not in (None, 1):
        return _check(
            check_name, ERROR, f"{config}: _angee.schema must be 1, got {schema!r}", "use _angee.schema: 1"
        )
    kind = meta.get("kind")
    if not kind:
        return _check(check_name, ERROR, f"{config}: _angee.kind is required", hint)
    if kind != want:
        return _check(check_name, ERROR, f'{config}: template kind "{kind}" does not match "{want}"', hint)
    return _check(check_name, OK, path)


def template_checks(root: str) -> list[DoctorCheck]:
    """``templates``, ``templates.host`` and one ``template.<family>/<name>`` per discovered template."""
    host = template_host(root)
    # The search roots of template resolution (templates-workspaces-git §2.1): the root's own dirs,
    # then the nearest ancestor's .templates.
    candidates = [os.path.join(root, ".templates"), os.path.join(root, "templates")]
    if host:
        candidates.append(os.path.join(host, ".templates"))
    search = [c for i, c in enumerate(candidates) if os.path.isdir(c) and c not in candidates[:i]]
    found: dict[str, DoctorCheck] = {}
    loader = _copier_loader()
    for directory in search:
        for family in sorted(TEMPLATE_FAMILIES):
            family_dir = os.path.join(directory, family)
            if not os.path.isdir(family_dir):
                continue
            for name in sorted(os.listdir(family_dir)):
                path = os.path.join(family_dir, name)
                key = f"{family}/{name}"
                if key in found or name.startswith(".") or not os.path.isdir(path):
                    continue  # the first occurrence of a ref wins, as in template resolution
                found[key] = template_check(family, name, path, loader)
    where = ", ".join(search) if search else f"{root} or its parents"
    checks = [
        _check("templates", OK, f"{len(found)} found in {where}")
        if found
        else _check(
            "templates",
            WARN,
            f"no templates found in {where}",
            "templates live in .templates/<family>/<name>/copier.yml",
        ),
        _check("templates.host", OK, host)
        if host
        else _check(
            "templates.host",
            WARN,
            f"no .templates/ directory in {root} or its parents",
            "create .templates/ in your project",
        ),
    ]
    return checks + [found[key] for key in sorted(found)]


# ---------------------------------------------------------------------------- manifest


def _port_check(name: str, port: int) -> DoctorCheck:
    check_name = f"port.{name}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except (OSError, OverflowError) as exc:
        return _check(
            check_name,
            WARN,
            f"127.0.0.1:{port} is busy ({getattr(exc, 'strerror', None) or exc})",
            f"in use by another process (or by this stack if it is running); change ports.{name}.value if it clashes",
        )
    finally:
        sock.close()
    return _check(check_name, OK, f"127.0.0.1:{port} is free")


def _port_pool_check(name: str, text: str) -> DoctorCheck:
    from angee.ports import range_error

    problem = range_error(name, text)
    if problem is not None:
        return _check(
            f"port_pool.{name}", ERROR, problem, f'set operator.port_pool.{name}.range to "start-end"'
        )
    start, end = (int(side.strip()) for side in text.split("-", 1))
    return _check(f"port_pool.{name}", OK, f"{start}-{end} ({end - start + 1} ports)")


def _source_check(root: str, name: str, path_field: str, cache_path: str) -> DoctorCheck:
    rel = path_field or cache_path or os.path.join("sources", name)
    path = os.path.normpath(os.path.join(root, rel))
    if os.path.exists(path):
        return _check(f"source.{name}", OK, path)
    return _check(f"source.{name}", WARN, f"{path} does not exist", f"create it or fix sources.{name}.path")


def _manifest_checks(self: Any) -> list[DoctorCheck]:
    if not self.has_manifest():
        return [
            _check(
                "manifest",
                WARN,
                f"no angee.yaml at {self.root}",
                "run `angee init --dev --yes` or `angee stack init <template>`",
            )
        ]
    try:
        manifest = self.load()
    except Exception as exc:  # any load problem is the finding itself
        return [_check("manifest", ERROR, str(exc) or type(exc).__name__, "fix angee.yaml")]
    checks = [
        _check(
            "manifest",
            OK,
            f"{manifest.name} ({len(manifest.services)} services, {len(manifest.jobs)} jobs, "
            f"{len(manifest.workspaces)} workspaces)",
        )
    ]
    secrets_check = _secrets_backend_check(self, manifest)
    if secrets_check is not None:
        checks.append(secrets_check)
    for name in sorted(manifest.sources):
        source = manifest.sources[name]
        if source.kind == "local":
            checks.append(_source_check(self.root, name, source.path, source.cache_path))
    for name in sorted(manifest.ports):
        if manifest.ports[name].value:
            checks.append(_port_check(name, manifest.ports[name].value))
    for name in sorted(manifest.operator.port_pool):
        checks.append(_port_pool_check(name, manifest.operator.port_pool[name].range))
    return checks

def _secrets_backend_check(self: Any, manifest: Manifest) -> DoctorCheck | None:
    opener: Callable[[], Any] | None = getattr(self, "secrets_backend", None)
    if opener is None:
        return None
    kind = manifest.secrets_backend.type or "env-file"
    try:
        status, detail = opener().check()
    except Exception as exc:
        return _check("secrets_backend", ERROR, f"{kind}: {exc}", "check secrets_backend in angee.yaml")
    if status not in (OK, WARN, ERROR):
        status = WARN
    return _check(
        "secrets_backend",
        status,
        f"{kind}: {detail}" if detail else kind,
        "check secrets_backend in angee.yaml",
    )

def run_doctor(self: Any) -> DoctorReport:
    """Check the host tools, the root, the manifest, git and the templates of ``self`` (a Platform)."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = self.root
    host = template_host(self.root)
    with ThreadPoolExecutor(max_workers=len(TOOLS) + 1) as pool:
        tool_futures, plugins_check = _host_checks(pool, self.plugins)
        git_future = pool.submit(git_checks, cwd, host)
        checks = _root_checks(self.root)
        manifest_checks = _manifest_checks(self)
        templates = template_checks(self.root)
        checks += [f.result() for f in tool_futures]
        checks.append(plugins_check)
        checks += manifest_checks
        checks += git_future.result()
        checks += templates
    return make_report(self.root, checks)
