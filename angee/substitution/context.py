"""What a ``${…}`` expression can see: the substitution contexts of spec manifest-and-runtime §3.3.

A :class:`SubstitutionContext` holds plain fields (name, inputs, allocations, secrets, escape mode);
the manifest-derived namespaces (``ports``, ``source``, ``workspace.N``, ``persist``, ``operator``,
``service``) read ``manifest`` + ``root`` + ``consumer``. :func:`compile_context` and
:func:`template_context` build the contexts the spec names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from angee.manifest.model import Manifest

SecretMode = Literal["placeholder", "value"]

#: Every namespace a path ``ns.rest`` may name (``name`` is always available).
ALL_NAMESPACES = frozenset(
    {"secret", "ports", "alloc", "source", "workspace", "persist", "operator", "inputs", "service"}
)
#: Namespaces of the template metadata contexts (§3.3; ``workspace`` covers ``workspace.path``).
TEMPLATE_NAMESPACES = frozenset({"inputs", "alloc", "workspace"})


@dataclass(frozen=True)
class SubstitutionContext:
    """Everything one substitution may read (spec §3.2/§3.3).

    - ``inputs``: ``None`` means no inputs exist (compile): every ``${inputs.K}`` fails;
      ``optional_inputs`` are names that read as ``""`` when unset.
    - ``escape_final``: Angee is the last interpreter (job run, template metadata), so
      ``$${…}`` becomes ``${…}``; otherwise (runtime files) it is kept as is.
    - ``secret_mode``: ``"placeholder"`` writes ``${ANGEE_SECRET_<N>}``, ``"value"`` the value.
      A secret is resolved when its name is in ``secret_values`` (value known) or in
      ``resolved_secrets`` (name only; placeholder mode).
    - ``workspace_path`` / ``workspace_name``: ``${workspace.path}`` / ``${workspace.name}`` in
      template contexts; ``None`` elsewhere (then they name a workspace record).
    - ``namespaces``: the namespaces available here; ``None`` = all of them.
    """

    name: str = ""
    inputs: Mapping[str, str] | None = None
    optional_inputs: frozenset[str] = frozenset()
    allocations: Mapping[str, int] = field(default_factory=dict)
    workspace_path: str | None = None
    workspace_name: str | None = None
    escape_final: bool = False
    secret_mode: SecretMode = "value"
    secret_values: Mapping[str, str] = field(default_factory=dict)
    resolved_secrets: frozenset[str] = frozenset()
    manifest: Manifest | None = None
    root: str = ""
    consumer: str = ""
    consumer_kind: str = ""
    namespaces: frozenset[str] | None = None

    def allows(self, namespace: str) -> bool:
        """Whether ``${namespace.…}`` is available in this context."""
        return self.namespaces is None or namespace in self.namespaces

    def secret_is_resolved(self, name: str) -> bool:
        """A value exists for secret ``name`` (value mode needs the value itself)."""
        if name in self.secret_values:
            return True
        return self.secret_mode == "placeholder" and name in self.resolved_secrets

    def consumer_runtime(self) -> str:
        """The ``runtime`` of the consuming service or job, ``""`` when there is none."""
        if self.manifest is None or not self.consumer:
            return ""
        table = self.manifest.jobs if self.consumer_kind == "job" else self.manifest.services
        entry = table.get(self.consumer)
        return entry.runtime if entry is not None else ""


def service_allocations(manifest: Manifest, service: str) -> dict[str, int]:
    """Ports leased to ``service/<service>/<pool>``, by pool (the compile context's ``alloc``)."""
    found: dict[str, int] = {}
    for pool, leases in manifest.port_leases.items():
        owner = f"service/{service}/{pool}"
        for lease in leases:
            if lease.owner == owner:
                found[pool] = lease.port
                break
    return found


def compile_context(
    manifest: Manifest,
    root: str,
    consumer_name: str,
    consumer_kind: Literal["service", "job"],
    resolved_secrets: Mapping[str, str] | Iterable[str],
    mode: Literal["compile", "run"] = "compile",
    inputs: Mapping[str, str] | None = None,
) -> SubstitutionContext:
    """The compile (``mode="compile"``) or job-run (``mode="run"``) context of one service or job.

    Compile: secrets as placeholders (a mapping of values lets ``default``/``required`` see
    them), ``$${…}`` kept, no inputs. Run: real secret values (a mapping is required), the
    caller's ``inputs``, ``$${…}`` → ``${…}``. ``alloc`` = the service's own pool leases.
    """
    if mode not in ("compile", "run"):
        raise ValueError(f"unknown substitution mode {mode!r}")
    if isinstance(resolved_secrets, Mapping):
        values: dict[str, str] = dict(resolved_secrets)
        names = frozenset(values)
    else:
        if mode == "run":
            raise ValueError("job run substitution needs the secret values, not only their names")
        values = {}
        names = frozenset(resolved_secrets)
    allocations = service_allocations(manifest, consumer_name) if consumer_kind == "service" else {}
    return SubstitutionContext(
        name=consumer_name,
        inputs=dict(inputs or {}) if mode == "run" else None,
        allocations=allocations,
        escape_final=mode == "run",
        secret_mode="value" if mode == "run" else "placeholder",
        secret_values=values,
        resolved_secrets=names,
        manifest=manifest,
        root=root,
        consumer=consumer_name,
        consumer_kind=consumer_kind,
        namespaces=ALL_NAMESPACES,
    )


def template_context(
    name: str,
    inputs: Mapping[str, str],
    *,
    allocations: Mapping[str, int] | None = None,
    workspace_path: str | None = None,
    workspace_name: str | None = None,
    manifest: Manifest | None = None,
    root: str = "",
    optional_inputs: Iterable[str] = (),
) -> SubstitutionContext:
    """A template metadata context (§3.3): inputs, ``name``, ``alloc``, ``workspace.path``.

    Workspace metadata passes its allocations and (for chains) ``workspace_path``; the service
    template name pattern passes ``workspace_path``, ``workspace_name`` (``${workspace.name}``)
    and ``manifest`` + ``root`` so ``${workspace.<ws>}`` reads the records. ``$${…}`` → ``${…}``.
    """
    return SubstitutionContext(
        name=name,
        inputs=dict(inputs),
        optional_inputs=frozenset(optional_inputs),
        allocations=dict(allocations or {}),
        workspace_path=workspace_path,
        workspace_name=workspace_name,
        escape_final=True,
        secret_mode="value",
        manifest=manifest,
        root=root,
        namespaces=TEMPLATE_NAMESPACES,
    )
