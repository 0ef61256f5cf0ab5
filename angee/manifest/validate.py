"""Cross-field validation of a loaded manifest (spec manifest-and-runtime §2.7, §6.1, §7.1).

Pure: never mutates. Returns every problem in a stable order; callers report the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from angee.errors import InvalidInput
from angee.manifest.model import Job, Manifest, Service
from angee.secrets.names import secret_env_var, validate_secret_name

SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
RESOURCE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
POOL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RUNTIMES = ("container", "local")


@dataclass(frozen=True)
class ValidationIssue:
    """One problem: ``path`` is the dotted key it concerns, ``message`` the spec's text."""

    path: str
    message: str


def valid_secret_name(name: str) -> bool:
    """Secret API names: ``^[A-Za-z0-9._-]{1,256}$`` holding at least one ASCII letter or digit."""
    try:
        validate_secret_name(name)
    except InvalidInput:
        return False
    return True


def _plugin_backend(kind: str) -> bool:
    """Whether an installed plugin provides secrets backend ``kind`` (third-party backends are allowed)."""
    from angee.plugins import registry

    return kind in registry().providers("secrets_backends")


def _workload_issues(kind: str, name: str, spec: Service | Job) -> list[ValidationIssue]:
    path = f"{kind}s.{name}"
    issues: list[ValidationIssue] = []
    if not SERVICE_NAME.match(name):
        issues.append(ValidationIssue(path, f'{kind} name "{name}" must match ^[A-Za-z0-9][A-Za-z0-9_-]{{0,62}}$'))
    if not spec.runtime:
        issues.append(ValidationIssue(f"{path}.runtime", f'{kind} "{name}" requires runtime'))
    elif spec.runtime not in RUNTIMES:
        issues.append(ValidationIssue(f"{path}.runtime", f'{kind} "{name}" has unsupported runtime "{spec.runtime}"'))
    elif spec.runtime == "container" and not spec.image and not spec.build:
        issues.append(ValidationIssue(path, f'{kind} "{name}" with runtime container requires image or build'))
    elif spec.runtime == "local" and spec.image:
        issues.append(ValidationIssue(f"{path}.image", f'{kind} "{name}" with runtime local must not set image'))
    elif spec.runtime == "local" and not spec.command:
        issues.append(ValidationIssue(path, f'{kind} "{name}" with runtime local requires command'))
    if isinstance(spec, Service) and spec.route is not None and spec.runtime == "local":
        issues.append(ValidationIssue(f"{path}.route", f'service "{name}": route requires runtime: container'))
    return issues


def validate_manifest(m: Manifest) -> list[ValidationIssue]:
    """Every rule of spec §2.7 (plus port pools/leases of §6.1 and pools of §11.2)."""
    from angee.ports import check_leases

    issues: list[ValidationIssue] = []
    add = issues.append
    if not m.name.strip():
        add(ValidationIssue("name", "manifest name is required"))
    if m.version != 1:
        add(ValidationIssue("version", f"manifest version {m.version} is not supported (want 1)"))
    if m.kind != "stack":
        add(ValidationIssue("kind", f'manifest kind "{m.kind}" is not supported (want "stack")'))
    if m.secrets_backend.type not in ("env-file", "openbao") and not _plugin_backend(m.secrets_backend.type):
        add(
            ValidationIssue(
                "secrets_backend.type",
                f'secrets_backend type "{m.secrets_backend.type}" is not supported (want env-file or openbao)',
            )
        )
    if m.ingress.type not in ("none", "caddy"):
        add(ValidationIssue("ingress.type", f'ingress type "{m.ingress.type}" is not supported (want none or caddy)'))

    for name in sorted(m.services):
        issues.extend(_workload_issues("service", name, m.services[name]))
    for name in sorted(m.jobs):
        issues.extend(_workload_issues("job", name, m.jobs[name]))
        if name in m.services:
            add(ValidationIssue(f"jobs.{name}", f'"{name}" is declared both as a service and as a job'))

    for section in ("sources", "volumes", "workspaces", "persist"):
        for key in sorted(getattr(m, section)):
            if not RESOURCE_KEY.match(key):
                add(ValidationIssue(f"{section}.{key}", f'{section} key "{key}" must match ^[A-Za-z0-9][A-Za-z0-9_-]*$'))
    for name, source in sorted(m.sources.items()):
        if not source.kind:
            add(ValidationIssue(f"sources.{name}.kind", f'source "{name}" requires kind (git or local)'))
        elif source.kind not in ("git", "local"):
            add(ValidationIssue(f"sources.{name}.kind", f'source "{name}" has unsupported kind "{source.kind}"'))
    for name, ws in sorted(m.workspaces.items()):
        if not ws.template:
            add(ValidationIssue(f"workspaces.{name}.template", f'workspace "{name}" requires template'))
        for slot, spec in sorted(ws.sources.items()):
            if not spec.source:
                add(ValidationIssue(f"workspaces.{name}.sources.{slot}.source", f'workspace "{name}" slot "{slot}" requires source'))
    for key, persist in sorted(m.persist.items()):
        for attr in ("subpath", "scope"):
            if not getattr(persist, attr):
                add(ValidationIssue(f"persist.{key}.{attr}", f'persist "{key}" requires {attr}'))
    for name, port in sorted(m.ports.items()):
        if not 0 <= port.value <= 65535:
            add(ValidationIssue(f"ports.{name}.value", f'port "{name}" value {port.value} is outside 0..65535'))
    for key, pool in sorted(m.operator.workspace_pool.items()):
        if not POOL_KEY.match(key):
            add(ValidationIssue(f"operator.workspace_pool.{key}", f'workspace pool key "{key}" must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,62}}$'))
        if not 0 <= pool.size <= 32:
            add(ValidationIssue(f"operator.workspace_pool.{key}.size", f'workspace pool "{key}" size must be 0..32'))
    for path, message in check_leases(m):
        add(ValidationIssue(path, message))

    env_owner: dict[str, str] = {}
    for name, secret in sorted(m.secrets.items()):
        path = f"secrets.{name}"
        if not valid_secret_name(name):
            add(ValidationIssue(path, f'secret name "{name}" must match ^[A-Za-z0-9._-]{{1,256}}$ and hold a letter or digit'))
            continue
        env = secret_env_var(name)
        if env in env_owner:
            add(ValidationIssue(path, f'secrets "{env_owner[env]}" and "{name}" share the env var {env}'))
        env_owner.setdefault(env, name)
        if secret.length < 0:
            add(ValidationIssue(f"{path}.length", f'secret "{name}" length must be >= 0'))
        if secret.import_:
            var = secret.import_[4:] if secret.import_.startswith("env:") else secret.import_
            if not ENV_NAME.match(var):
                add(ValidationIssue(f"{path}.import", f'secret "{name}" import must be env:NAME or NAME, got "{secret.import_}"'))

    declared = set(m.services) | set(m.jobs)
    for kind, table in (("service", m.services), ("job", m.jobs)):
        for name, spec in sorted(table.items()):
            for field in ("after", "depends_on"):
                for dep in getattr(spec, field, []):
                    if dep not in declared:
                        add(ValidationIssue(f"{kind}s.{name}.{field}", f'{kind} "{name}" {field} names unknown service or job "{dep}"'))
    return issues
