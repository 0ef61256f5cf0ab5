"""The compile step of StackPrepare (spec manifest-and-runtime §5.2–§5.7): ``angee.yaml`` → runtime documents.

:func:`compile_stack` is a pure function of (manifest, root, names of resolved secrets): it builds the
``docker-compose.yaml`` and ``process-compose.yaml`` documents as plain dicts in the spec's key order,
ready for the §5.7 emitter. Secrets appear only as ``${ANGEE_SECRET_<N>}`` placeholders. A user
mistake raises :class:`~angee.errors.InvalidInput` (or ``RuntimeFailure`` for I/O) whose message names
the field (``services.api.env.PORT: port "x" is not declared``).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal, TypeVar

from angee.errors import AngeeError, InvalidInput, RuntimeFailure
from angee.manifest.emit import dump_yaml
from angee.manifest.model import Job, Manifest, Service
from angee.mounts import compose_volume, container_workdir, local_mount_env, local_workdir
from angee.paths import normalise
from angee.root import COMPOSE_FILE, PROCESS_COMPOSE_FILE, compose_project
from angee.substitution import (
    SubstitutionContext,
    SubstitutionError,
    compile_context,
    input_refs,
    secret_env_var,
    substitute,
)

PROCESS_COMPOSE_VERSION = "0.5"
NO_RUNTIME_SERVICES = "# no runtime services declared"

_SHELL_SAFE = re.compile(r"[A-Za-z0-9_+\-=./:]+")

T = TypeVar("T")


@dataclass
class CompiledStack:
    """The compiled runtime documents exactly as written, and resolved secret name → env var name.

    Wire form ``{compose, process_compose, secret_env_vars}``; a document with nothing to hold is ``{}``
    (and its file is absent). ``warnings`` (dropped dependencies, §5.5) is not part of the wire form.
    """

    compose: dict[str, Any] = field(default_factory=dict)
    process_compose: dict[str, Any] = field(default_factory=dict)
    secret_env_vars: dict[str, str] = field(default_factory=dict)
    warnings: InitVar[list[str] | None] = None

    def __post_init__(self, warnings: list[str] | None) -> None:
        self.warnings: list[str] = list(warnings or [])

    def compose_text(self) -> str:
        """``docker-compose.yaml`` bytes as text (``""`` when no container service is compiled)."""
        return dump_yaml(self.compose) if self.compose else ""

    def process_compose_text(self) -> str:
        """``process-compose.yaml`` as text (``""`` when no local process is compiled)."""
        return dump_yaml(self.process_compose) if self.process_compose else ""

    def render(self) -> str:
        """The ``stack compile`` printout (§5.1): each written file under a ``# <file>`` header, ``---``
        between them, or ``# no runtime services declared``."""
        parts = []
        if self.compose:
            parts.append(f"# {COMPOSE_FILE}\n{self.compose_text()}")
        if self.process_compose:
            parts.append(f"# {PROCESS_COMPOSE_FILE}\n{self.process_compose_text()}")
        return "---\n".join(parts) if parts else NO_RUNTIME_SERVICES + "\n"


def shell_join(argv: Iterable[str]) -> str:
    """One shell string from an argv (§5.4): ``''`` for empty, safe words as is, else ``'…'`` (``'`` → ``'\\''``)."""
    words = []
    for arg in argv:
        if not arg:
            words.append("''")
        elif _SHELL_SAFE.fullmatch(arg):
            words.append(arg)
        else:
            words.append("'" + arg.replace("'", "'\\''") + "'")
    return " ".join(words)


def volume_driver(driver: str) -> str:
    """A manifest volume driver as compose knows it: ``""`` and ``local-fs`` → ``local``."""
    return "local" if driver in ("", "local-fs") else driver


def uses_inputs(job: Job) -> bool:
    """Whether a job's substituted strings reference ``${inputs.…}`` (then it is compiled only for job run)."""
    return bool(input_refs(*job.command, *job.env.values(), *job.mounts, job.workdir))


def _at(where: str, action: Callable[[], T]) -> T:
    """Run ``action``; an error it raises is re-raised as one typed line prefixed with ``where``."""
    try:
        return action()
    except SubstitutionError as err:
        raise InvalidInput(where, err.reason, message=str(err)) from None
    except InvalidInput as err:
        raise InvalidInput(where, err.reason, message=f"{where}: {err.reason}") from None
    except AngeeError as err:
        raise RuntimeFailure(f"{where}: {err.message}") from None


class _Compiler:
    """One compile run: the manifest, root and resolved secret names, plus the warnings collected."""

    def __init__(self, manifest: Manifest, root: str, secret_names: frozenset[str]) -> None:
        self.manifest = manifest
        self.root = root
        self.secret_names = secret_names
        self.warnings: list[str] = []
        self.containers = sorted(n for n, s in manifest.services.items() if s.runtime == "container")
        local_services = [n for n, s in manifest.services.items() if s.runtime == "local"]
        self.input_jobs = {n for n, j in manifest.jobs.items() if j.runtime == "local" and uses_inputs(j)}
        local_jobs = [
            n for n, j in manifest.jobs.items() if j.runtime == "local" and n not in self.input_jobs
        ]
        self.processes = sorted({*local_services, *local_jobs})

    # ------------------------------------------------------------------ substitution helpers

    def _context(self, name: str, kind: Literal["service", "job"]) -> SubstitutionContext:
        return compile_context(self.manifest, self.root, name, kind, self.secret_names)

    def _sub(self, text: str, ctx: SubstitutionContext, where: str) -> str:
        return _at(where, lambda: substitute(text, ctx, where=where))

    def _sub_list(self, items: Iterable[str], ctx: SubstitutionContext, where: str) -> list[str]:
        return [self._sub(item, ctx, f"{where}[{i}]") for i, item in enumerate(items)]

    def _sub_env(self, env: dict[str, str], ctx: SubstitutionContext, where: str) -> dict[str, str]:
        return {key: self._sub(env[key], ctx, f"{where}.{key}") for key in sorted(env)}

    def _env_file_path(self, env_file: str) -> str:
        return normalise(os.path.join(self.root, env_file))

    # ------------------------------------------------------------------ dependencies (§5.5)

    def _dependencies(
        self, kind: str, name: str, spec: Service | Job, target: Literal["compose", "process"]
    ) -> dict[str, dict[str, str]]:
        present = set(self.containers) if target == "compose" else set(self.processes)
        file = COMPOSE_FILE if target == "compose" else PROCESS_COMPOSE_FILE
        started, completed = (
            ("service_started", "service_completed_successfully")
            if target == "compose"
            else ("process_started", "process_completed_successfully")
        )
        deps: dict[str, dict[str, str]] = {}
        for dep in sorted(spec.dependencies()):
            if dep in present:
                deps[dep] = {"condition": completed if dep in self.manifest.jobs else started}
                continue
            self.warnings.append(
                f'{kind} "{name}" depends on "{dep}", which is not in {file} ({self._absence(dep)}); '
                "dependency dropped"
            )
        return deps

    def _absence(self, dep: str) -> str:
        """Why a dependency is not in the file being compiled."""
        if dep in self.manifest.services:
            return f"{self.manifest.services[dep].runtime or 'no'} runtime service"
        job = self.manifest.jobs.get(dep)
        if job is None:
            return "not declared"
        if dep in self.input_jobs:
            return "a job using ${inputs.…} is run only by job run"
        if job.runtime == "local":
            return "local job"
        return f"{job.runtime or 'no'} runtime job; container jobs are not compiled"

    # ------------------------------------------------------------------ docker-compose.yaml (§5.3)

    def compose_service(self, name: str) -> dict[str, Any]:
        svc = self.manifest.services[name]
        where = f"services.{name}"
        ctx = self._context(name, "service")
        out: dict[str, Any] = {}
        if svc.image:
            out["image"] = svc.image
        if svc.build not in (None, "", {}, []):
            out["build"] = copy.deepcopy(svc.build)
        command = self._sub_list(svc.command, ctx, f"{where}.command")
        if command:
            out["command"] = command
        if svc.env_file:
            out["env_file"] = [self._env_file_path(svc.env_file)]
        environment = self._sub_env(svc.env, ctx, f"{where}.env")
        if environment:
            out["environment"] = environment
        ports = self._sub_list(svc.ports, ctx, f"{where}.ports")
        if ports:
            out["ports"] = ports
        volumes = []
        for i, mount in enumerate(svc.mounts):
            at = f"{where}.mounts[{i}]"
            text = self._sub(mount, ctx, at)
            volumes.append(_at(at, lambda text=text: compose_volume(self.root, self.manifest, text)))
        if volumes:
            out["volumes"] = volumes
        workdir = self._sub(svc.workdir, ctx, f"{where}.workdir")
        if workdir:
            out["working_dir"] = _at(f"{where}.workdir", lambda: container_workdir(workdir))
        depends = self._dependencies("service", name, svc, "compose")
        if depends:
            out["depends_on"] = depends
        return out

    def compose_document(self) -> dict[str, Any]:
        if not self.containers:
            return {}
        doc: dict[str, Any] = {
            "x-angee-project": compose_project(self.manifest.name, self.root),
            "services": {name: self.compose_service(name) for name in self.containers},
        }
        if self.manifest.volumes:
            doc["volumes"] = {
                name: {"driver": volume_driver(self.manifest.volumes[name].driver)}
                for name in sorted(self.manifest.volumes)
            }
        return doc

    # ------------------------------------------------------------------ process-compose.yaml (§5.4)

    def process(self, name: str) -> dict[str, Any]:
        is_job = name in self.manifest.jobs
        spec: Service | Job = self.manifest.jobs[name] if is_job else self.manifest.services[name]
        kind = "job" if is_job else "service"
        where = f"{kind}s.{name}"
        ctx = self._context(name, kind)
        out: dict[str, Any] = {}
        command = self._sub_list(spec.command, ctx, f"{where}.command")
        if command:
            out["command"] = shell_join(command)
        environment: dict[str, str] = {}
        if spec.env_file:
            from angee.secrets.envfile import read_env_file_lenient

            path = self._env_file_path(spec.env_file)
            environment.update(_at(f"{where}.env_file", lambda: read_env_file_lenient(path)))
        environment.update(self._sub_env(spec.env, ctx, f"{where}.env"))
        if isinstance(spec, Service):
            self._sub_list(spec.ports, ctx, f"{where}.ports")  # not written; a bad reference still fails
        for i, mount in enumerate(spec.mounts):
            at = f"{where}.mounts[{i}]"
            text = self._sub(mount, ctx, at)
            pair = _at(at, lambda text=text: local_mount_env(self.root, self.manifest, text))
            if pair is not None:
                environment[pair[0]] = pair[1]
        if environment:
            out["environment"] = [f"{key}={environment[key]}" for key in sorted(environment)]
        workdir = self._sub(spec.workdir, ctx, f"{where}.workdir")
        resolved = _at(f"{where}.workdir", lambda: local_workdir(self.root, self.manifest, workdir))
        if resolved:
            out["working_dir"] = resolved
        depends = self._dependencies(kind, name, spec, "process")
        if depends:
            out["depends_on"] = depends
        return out

    def process_document(self) -> dict[str, Any]:
        if not self.processes:
            return {}
        return {
            "version": PROCESS_COMPOSE_VERSION,
            "processes": {name: self.process(name) for name in self.processes},
        }


def compile_stack(manifest: Manifest, root: str, resolved_secret_names: Iterable[str]) -> CompiledStack:
    """Compile the runtime documents (§5.3, §5.4) from the manifest, the absolute root and the names of
    the resolved secrets; pure, so unchanged input gives identical documents (and bytes)."""
    root = normalise(root if os.path.isabs(root) else os.path.abspath(root))
    names = frozenset(resolved_secret_names)
    compiler = _Compiler(manifest, root, names)
    compose = compiler.compose_document()
    process_compose = compiler.process_document()
    return CompiledStack(
        compose=compose,
        process_compose=process_compose,
        secret_env_vars={name: secret_env_var(name) for name in sorted(names)},
        warnings=compiler.warnings,
    )


__all__ = [
    "COMPOSE_FILE",
    "PROCESS_COMPOSE_FILE",
    "CompiledStack",
    "compile_stack",
    "compose_project",
    "shell_join",
    "uses_inputs",
    "volume_driver",
]
