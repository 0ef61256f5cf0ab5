"""The compiled ``process-compose.yaml`` as the embedded engine reads it (spec manifest-and-runtime §5.4, §5.8).

Honoured keys per process: ``command``, ``environment`` (``K=V`` list or map), ``working_dir``,
``depends_on`` (``{name: {condition}}``), ``availability`` (``restart``, ``backoff_seconds``),
``shutdown`` (``signal``, ``timeout_seconds``) and ``disabled``. Others are ignored.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field

from angee.errors import RuntimeFailure

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
RESTART_POLICIES = ("no", "always", "on_failure", "exit_on_failure")
STARTED = "process_started"
COMPLETED_OK = "process_completed_successfully"
COMPLETED = "process_completed"
_STOP_SIGNALS = ("TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2")
_VAR_RE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass
class ProcessSpec:
    """One entry of ``processes``."""

    name: str
    command: str = ""
    environment: list[tuple[str, str]] = field(default_factory=list)
    working_dir: str = ""
    depends_on: dict[str, str] = field(default_factory=dict)
    restart: str = "no"
    backoff_seconds: float = 1.0
    stop_signal: str = "TERM"
    stop_timeout: int = 10
    disabled: bool = False


def load_project(path: str) -> dict[str, ProcessSpec]:
    """Parse ``path``; raises :class:`RuntimeFailure` naming the file and key when it cannot be used."""
    import yaml  # lazily: the CLI imports the plugin at start-up

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise RuntimeFailure(f"{path}: no such file (compile the stack first: angee stack update)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuntimeFailure(f"read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RuntimeFailure(f"{path}: invalid YAML: {exc}".splitlines()[0]) from exc
    processes = (data or {}).get("processes") if isinstance(data, dict) else None
    if processes is None:
        return {}
    if not isinstance(processes, dict):
        raise RuntimeFailure(f"{path}: processes: must be a mapping")
    project = {}
    for name, raw in processes.items():
        project[str(name)] = _process(path, str(name), raw or {})
    for spec in project.values():
        spec.depends_on = {dep: cond for dep, cond in spec.depends_on.items() if dep in project}
    return dict(sorted(project.items()))


def _process(path: str, name: str, raw: object) -> ProcessSpec:
    where = f"{path}: processes.{name}"
    if not NAME_RE.fullmatch(name):
        raise RuntimeFailure(f"{where}: process name must match [A-Za-z0-9_][A-Za-z0-9_.-]*")
    if not isinstance(raw, dict):
        raise RuntimeFailure(f"{where}: must be a mapping")
    spec = ProcessSpec(name=name)
    spec.command = _text(where, "command", raw.get("command", ""))
    spec.working_dir = _text(where, "working_dir", raw.get("working_dir", ""))
    spec.environment = _environment(where, raw.get("environment"))
    spec.depends_on = _depends_on(where, raw.get("depends_on"))
    spec.disabled = bool(raw.get("disabled", False))
    availability = raw.get("availability") or {}
    if isinstance(availability, dict):
        restart = str(availability.get("restart", "no") or "no").strip().lower()
        if restart not in RESTART_POLICIES:
            raise RuntimeFailure(
                f"{where}.availability.restart: must be one of {', '.join(RESTART_POLICIES)}"
            )
        spec.restart = restart
        backoff = availability.get("backoff_seconds")
        if isinstance(backoff, (int, float)) and not isinstance(backoff, bool) and backoff >= 0:
            spec.backoff_seconds = float(backoff)
    shutdown = raw.get("shutdown") or {}
    if isinstance(shutdown, dict):
        sig = shutdown.get("signal")
        if isinstance(sig, int) and not isinstance(sig, bool):
            try:
                sig_name = signal.Signals(sig).name.removeprefix("SIG")
            except ValueError:
                sig_name = "TERM"
            spec.stop_signal = sig_name if sig_name in _STOP_SIGNALS else "TERM"
        timeout = shutdown.get("timeout_seconds")
        if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0:
            spec.stop_timeout = timeout
    return spec


def _text(where: str, key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise RuntimeFailure(f"{where}.{key}: must be a string")


def _environment(where: str, value: object) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in value.items()]
    if not isinstance(value, list):
        raise RuntimeFailure(f"{where}.environment: must be a list of KEY=VALUE")
    out = []
    for item in value:
        key, _, val = str(item).partition("=")
        if key:
            out.append((key, val))
    return out


def _depends_on(where: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(name): STARTED for name in value}
    if not isinstance(value, dict):
        raise RuntimeFailure(f"{where}.depends_on: must be a mapping of name to {{condition}}")
    deps = {}
    for dep, cond in value.items():
        condition = cond.get("condition", STARTED) if isinstance(cond, dict) else STARTED
        deps[str(dep)] = str(condition or STARTED)
    return deps


def start_order(project: dict[str, ProcessSpec], names: list[str]) -> list[str]:
    """``names`` (all enabled processes when empty) plus their dependencies, dependencies first.

    Raises :class:`RuntimeFailure` for an unknown name or a dependency cycle.
    """
    for name in names:
        if name not in project:
            raise RuntimeFailure(f'process "{name}" is not defined in process-compose.yaml')
    wanted = list(names) if names else [n for n, spec in project.items() if not spec.disabled]
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name) :] + [name]
            raise RuntimeFailure(f"process-compose.yaml: dependency cycle: {' -> '.join(cycle)}")
        visiting.append(name)
        for dep in sorted(project[name].depends_on):
            visit(dep)
        visiting.pop()
        order.append(name)

    for name in sorted(wanted):
        visit(name)
    return order


def expand(text: str, env: dict[str, str]) -> str:
    """Expand ``${VAR}`` and ``$VAR`` from ``env``; ``$$`` → ``$``; unknown variables stay as written."""

    def sub(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        var = match.group(1) or match.group(2)
        return env.get(var, whole)

    return _VAR_RE.sub(sub, text)


def process_env(spec: ProcessSpec, base: dict[str, str]) -> dict[str, str]:
    """``base`` (process env + runtime env) overlaid with the process's expanded ``environment``, in order."""
    env = dict(base)
    for key, value in spec.environment:
        env[key] = expand(value, env)
    return env
