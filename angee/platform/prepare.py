"""StackPrepare (spec manifest-and-runtime §5.1): resolve secrets, materialise sources, compile, write.

Everything runs under the root lock. The runtime files are replaced only when their bytes differ and
deleted when they have nothing to hold; a compile error writes neither (values persisted while
resolving secrets stay). Dropped-dependency warnings (§5.5) go to stderr.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

from angee.api import MutationResult
from angee.errors import AngeeError, InvalidInput, NotFound, RuntimeFailure
from angee.fsutil import make_dirs
from angee.lock import root_lock
from angee.root import COMPOSE_FILE, PROCESS_COMPOSE_FILE, compose_project

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.compile import CompiledStack
    from angee.contracts import RuntimeStack, SecretsBackend
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry

DEFAULT_CONTROL_PORT = 8080
_SOURCE_REF = re.compile(r"^source://([^/:]*)")


def control_port(manifest: Manifest) -> int:
    """The process-compose / embedded engine control port (§5.8): ``ports.process_compose.value``,
    else ``ports["process-compose"].value``, if > 0; else 8080."""
    for key in ("process_compose", "process-compose"):
        port = manifest.ports.get(key)
        if port is not None and port.value > 0:
            return port.value
    return DEFAULT_CONTROL_PORT


def referenced_sources(manifest: Manifest) -> list[tuple[str, str]]:
    """``(where, source name)`` for every ``source://N`` in service and job ``mounts``/``workdir``."""
    found: list[tuple[str, str]] = []
    for kind, table in (("services", manifest.services), ("jobs", manifest.jobs)):
        for name in sorted(table):
            spec = table[name]
            fields = [(f"{kind}.{name}.mounts[{i}]", m) for i, m in enumerate(spec.mounts)]
            fields.append((f"{kind}.{name}.workdir", spec.workdir))
            for where, text in fields:
                match = _SOURCE_REF.match(text.strip())
                if match and match.group(1) and "$" not in match.group(1):
                    found.append((where, match.group(1)))
    return found


def _print_warnings(compiled: CompiledStack) -> None:
    for warning in compiled.warnings:
        print(f"warning: {warning}", file=sys.stderr)


class PrepareOps:
    """StackPrepare, the compile diagnostic and what the runtime backends need to drive the result."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase and SecretOps

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

        def has_manifest(self) -> bool: ...

        def resolve_secrets(self) -> dict[str, str]: ...

    # ------------------------------------------------------------------ steps of §5.1

    def _require_manifest(self) -> None:
        """Fail before taking the lock, so no ``run/`` dir is left behind in a folder without a stack."""
        if not self.has_manifest():
            raise NotFound("stack", message="stack not found")

    def _open_backend(self, manifest: Manifest) -> SecretsBackend:
        config = manifest.secrets_backend
        provider = self.plugins.provider("secrets_backends", config.type or "env-file", "secrets backend")
        return provider.open(self.root, config)

    def _create_persist_dirs(self, manifest: Manifest) -> None:
        """Step 3: ``<persist base>/<subpath>`` of every ``persist`` entry, 0755."""
        from angee.paths import persist_host_path

        for key in sorted(manifest.persist):
            path = persist_host_path(self.root, manifest.persist[key].subpath)
            try:
                make_dirs(path)
            except OSError as err:
                raise RuntimeFailure(f"persist.{key}: cannot create {path}: {err.strerror or err}") from None

    def _materialize_sources(self, manifest: Manifest) -> None:
        """Step 5: every ``source://N`` must be declared; every declared source is made present on disk
        by its source kind plugin (local: the path must exist; git: cloned when absent)."""
        for where, name in referenced_sources(manifest):
            if name not in manifest.sources:
                reason = f'source "{name}" is referenced but not declared'
                raise InvalidInput(where, reason, message=f"{where}: {reason}")
        for name in sorted(manifest.sources):
            source = manifest.sources[name]
            try:
                kind = self.plugins.provider("source_kinds", source.kind, "source kind")
            except InvalidInput as err:
                raise InvalidInput(
                    f"sources.{name}.kind", err.reason, message=f"sources.{name}.kind: {err.reason}"
                ) from None
            kind.materialize(self.root, name, source, lambda line: print(line, file=sys.stderr))

    def _write_runtime_files(self, compiled: CompiledStack) -> None:
        """Step 8: replace each file only when its bytes differ; delete one with nothing to hold."""
        from angee.manifest.store import write_file_atomic

        for file, text in (
            (COMPOSE_FILE, compiled.compose_text()),
            (PROCESS_COMPOSE_FILE, compiled.process_compose_text()),
        ):
            path = os.path.join(self.root, file)
            if text:
                write_file_atomic(path, text.encode("utf-8"), mode=0o644)
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                raise RuntimeFailure(f"cannot remove {path}: {err.strerror or err}") from None

    # ------------------------------------------------------------------ operations

    def stack_prepare(self) -> CompiledStack:
        """StackPrepare (§5.1 steps 1–9): lock, load, persist dirs, secrets, sources, OpenBao runtime env,
        compile, write the runtime files; returns what was written."""
        self._require_manifest()
        with root_lock(self.root):
            manifest = self.load()
            self._create_persist_dirs(manifest)
            values = self.resolve_secrets()
            self._materialize_sources(manifest)
            self._open_backend(manifest).write_runtime_env(values)
            from angee.compile import compile_stack

            compiled = compile_stack(manifest, self.root, values.keys())
            self._write_runtime_files(compiled)
        _print_warnings(compiled)
        self.plugins.notify("angee_stack_prepared", platform=self, compiled=compiled)
        return compiled

    def stack_compile(self) -> CompiledStack:
        """The compile diagnostic (§5.1 steps 2, 4, 5, 7): like prepare but writes no runtime file."""
        self._require_manifest()
        with root_lock(self.root):
            manifest = self.load()
            values = self.resolve_secrets()
            self._materialize_sources(manifest)
            from angee.compile import compile_stack

            compiled = compile_stack(manifest, self.root, values.keys())
        _print_warnings(compiled)
        return compiled

    def stack_update(self) -> MutationResult:
        """``angee stack update`` = StackPrepare."""
        self.stack_prepare()
        return MutationResult(status="updated")

    def runtime_stack(self) -> RuntimeStack:
        """What the runtime backends need: root, compose project, both runtime file paths, the runtime
        env file (only when it exists) and the local engine control port (§5.8)."""
        return self._stack_for_runtimes(self.load())

    def _stack_for_runtimes(self, manifest: Manifest) -> RuntimeStack:
        from angee.contracts import RuntimeStack

        env_file = ""
        try:
            candidate = self._open_backend(manifest).runtime_env_file()
        except AngeeError:  # a backend that cannot open has no runtime env file to offer
            candidate = ""
        if candidate:
            candidate = candidate if os.path.isabs(candidate) else os.path.join(self.root, candidate)
            if os.path.isfile(candidate):
                env_file = candidate
        return RuntimeStack(
            root=self.root,
            project=compose_project(manifest.name, self.root),
            compose_file=os.path.join(self.root, COMPOSE_FILE),
            process_file=os.path.join(self.root, PROCESS_COMPOSE_FILE),
            env_file=env_file,
            control_port=control_port(manifest),
        )


__all__ = ["PrepareOps", "control_port", "referenced_sources"]
