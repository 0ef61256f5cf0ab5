"""Extension-point base classes: the contract each plugin-provided implementation fulfils.

Each class documents what the kernel calls and when. Conformance suites in ``tests/conformance``
run the same tests against every implementation of a contract.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    from angee.manifest.model import SecretsBackend as SecretsBackendConfig
    from angee.manifest.model import Source


class Provider(ABC):  # noqa: B024 - a named, described thing; subclasses add the abstract methods
    """Something a plugin provides under a ``name``; ``category`` groups it in ``angee plugins``."""

    category: ClassVar[str] = ""
    name: str = ""

    def describe(self) -> str:
        """One line shown by ``angee plugins`` (defaults to the class docstring's first line)."""
        doc = (type(self).__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""


# --------------------------------------------------------------------------- sources


class SourceKind(Provider):
    """A kind of Source (``sources.<n>.kind``): how it is located and materialised on disk."""

    category = "source_kinds"

    def host_path(self, root: str, name: str, source: Source) -> str:
        """Absolute host path of the source (spec §2.4); the same resolver serves mounts and workdirs."""
        from angee.paths import source_host_path

        return source_host_path(root, name, source)

    @abstractmethod
    def materialize(self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None) -> str:
        """Make the source present on disk (clone, check a path, ...) and return its host path.

        Raises :class:`angee.errors.RuntimeFailure` (or ``InvalidInput``) with a clear message.
        """


# --------------------------------------------------------------------------- runtimes


@dataclass
class RuntimeStack:
    """What a runtime backend needs to drive one compiled stack."""

    root: str
    project: str
    compose_file: str = ""
    process_file: str = ""
    env_file: str = ""  # runtime env file (secrets), empty when none exists
    control_port: int = 8080  # local engine / process-compose control port
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class ObservedService:
    """One service as a runtime backend sees it."""

    name: str
    state: str
    health: str = ""


class Runtime(Provider):
    """A runtime backend: runs the services of one manifest ``runtime`` (``container`` or ``local``).

    ``output`` callbacks receive long-running tool output line by line so the CLI can stream it.
    """

    category = "runtimes"
    serves: ClassVar[str] = ""  # "container" or "local"

    def available(self) -> bool:
        """Whether the backend can run on this machine (its tool is installed, ...)."""
        return True

    @abstractmethod
    def build(self, stack: RuntimeStack, services: list[str], output: Callable[[str], None] | None = None) -> None: ...

    @abstractmethod
    def up(
        self,
        stack: RuntimeStack,
        services: list[str],
        *,
        build: bool = False,
        detach: bool = True,
        output: Callable[[str], None] | None = None,
    ) -> None: ...

    @abstractmethod
    def down(self, stack: RuntimeStack, output: Callable[[str], None] | None = None) -> None: ...

    @abstractmethod
    def control(self, stack: RuntimeStack, verb: str, services: list[str]) -> None:
        """``verb`` is ``start``, ``stop`` or ``restart``."""

    @abstractmethod
    def logs(self, stack: RuntimeStack, services: list[str], *, follow: bool = False, tail: int = 0) -> Iterator[str]:
        """Yield log lines; closing the iterator stops a follow."""

    @abstractmethod
    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        """Observed services; a failing query returns ``[]`` (spec: failure → nothing observed)."""


# --------------------------------------------------------------------------- secrets


class SecretsBackend(ABC):
    """An opened secrets store for one stack root. Names are secret names (not env var names)."""

    @abstractmethod
    def get(self, name: str) -> str | None:
        """The stored value, or ``None`` when absent."""

    @abstractmethod
    def set(self, name: str, value: str) -> None: ...

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the value; idempotent."""

    @abstractmethod
    def list(self) -> list[str]:
        """Stored keys, sorted."""

    def runtime_env_file(self) -> str:
        """Path of the env file runtimes read (``--env-file``), or ``""`` when this backend has none."""
        return ""

    def write_runtime_env(self, values: dict[str, str]) -> None:  # noqa: B027 - optional hook
        """Write resolved ``{secret name: value}`` for the runtimes when the backend needs a side file."""

    def check(self) -> tuple[str, str]:
        """Doctor check: ``(status, detail)`` with status ``ok``/``warn``/``error``."""
        return ("ok", "")


class SecretsBackendProvider(Provider):
    """Opens a :class:`SecretsBackend` for ``secrets_backend.type == name``."""

    category = "secrets_backends"

    @abstractmethod
    def open(self, root: str, config: SecretsBackendConfig) -> SecretsBackend: ...


# --------------------------------------------------------------------------- templates


class TemplateKind(Provider):
    """A kind of Copier template (``_angee.kind``): its family directory and how it renders."""

    category = "template_kinds"
    family: str = ""
