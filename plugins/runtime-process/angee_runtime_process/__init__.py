"""Angee bundled plugin: process-compose runtime and the embedded local engine for local services.

Registers two backends for ``runtime: local``: ``process-compose`` (the external tool) and
``embedded`` (Angee's own engine, always available). Their operations land later (spec
manifest-and-runtime §5.8) and raise ``NotImplementedYet`` meanwhile; ``status`` observes nothing.
Imports stay cheap (stdlib + kernel): the CLI imports every plugin at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.errors import NotImplementedYet
from angee.hookspecs import hookimpl


class _PendingLocalRuntime(Runtime):
    """Shared placeholder operations of the local backends until they land."""

    serves = "local"

    def build(
        self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None
    ) -> None:
        """Local services have nothing to build."""

    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None:
        raise NotImplementedYet(f"{self.name} runtime up")

    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None:
        raise NotImplementedYet(f"{self.name} runtime down")

    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        raise NotImplementedYet(f"{self.name} runtime {verb}")

    def logs(
        self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        raise NotImplementedYet(f"{self.name} runtime logs")

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """Nothing observed until the backend lands (spec: failure → nothing observed)."""
        return []


class ProcessComposeRuntime(_PendingLocalRuntime):
    """process-compose backend for local services (needs the process-compose tool)."""

    name = "process-compose"

    def available(self) -> bool:
        """Whether ``process-compose`` is on PATH."""
        import shutil  # lazily: the CLI imports every plugin at start-up

        return shutil.which("process-compose") is not None


class EmbeddedRuntime(_PendingLocalRuntime):
    """Angee's embedded local engine: runs process-compose.yaml without the external tool."""

    name = "embedded"

    def available(self) -> bool:
        """Always: the engine ships with this plugin."""
        return True


@hookimpl
def angee_runtimes() -> list[Runtime]:
    """The ``process-compose`` and ``embedded`` runtime backends (process-compose preferred)."""
    return [ProcessComposeRuntime(), EmbeddedRuntime()]
