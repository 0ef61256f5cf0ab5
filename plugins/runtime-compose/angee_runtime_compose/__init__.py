"""Angee bundled plugin: docker compose runtime for container services.

Registers the ``compose`` backend for ``runtime: container``. Its operations land later
(spec manifest-and-runtime §5.8) and raise ``NotImplementedYet`` meanwhile; ``status`` observes
nothing. Imports stay cheap (stdlib + kernel): the CLI imports every plugin at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.errors import NotImplementedYet
from angee.hookspecs import hookimpl


class ComposeRuntime(Runtime):
    """Docker compose backend for container services."""

    name = "compose"
    serves = "container"

    def available(self) -> bool:
        """Whether ``docker`` is on PATH."""
        import shutil  # lazily: the CLI imports every plugin at start-up

        return shutil.which("docker") is not None

    def build(
        self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None
    ) -> None:
        raise NotImplementedYet("compose runtime build")

    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None:
        raise NotImplementedYet("compose runtime up")

    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None:
        raise NotImplementedYet("compose runtime down")

    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        raise NotImplementedYet(f"compose runtime {verb}")

    def logs(
        self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        raise NotImplementedYet("compose runtime logs")

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """Nothing observed until the backend lands (spec: failure → nothing observed)."""
        return []


@hookimpl
def angee_runtimes() -> list[Runtime]:
    """The ``compose`` runtime backend."""
    return [ComposeRuntime()]
