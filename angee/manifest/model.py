"""The ``angee.yaml`` object model.

Each class is a dataclass whose field order is the saved key order (spec §2.2–2.6, §12).
Field metadata drives the generic loader and emitter:

- ``key``: the YAML key when it differs from the attribute name (``import``);
- ``always``: written even when empty/zero (spec §2.8).

Annotations are the field types the loader enforces: ``str``, ``int``, ``bool``, ``Timestamp``,
``list[str]``, ``StringList``, ``dict[str, str]``, ``dict[str, int]``, ``dict[str, <Model>]``,
``list[<Model>]``, a nested model, or ``Any`` (kept verbatim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class StringList(list):
    """Marker type: a scalar, a list of scalars, or mapping items folded into strings (spec §2.1)."""


Timestamp = datetime  # tz-aware UTC; ``None`` when absent


def _always(**kw: Any) -> Any:
    return field(metadata={"always": True}, **kw)


@dataclass
class TemplateRef:
    active: str = ""
    answers_file: str = ""


@dataclass
class PortPool:
    range: str = _always(default="")


@dataclass
class WorkspacePool:
    template: str = ""
    size: int = 0
    ttl: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    bootstrap_job: str = ""


@dataclass
class Operator:
    url: str = ""
    domain: str = ""
    token_secret: str = ""
    port_pool: dict[str, PortPool] = field(default_factory=dict)
    template_paths: list[str] = field(default_factory=list)
    workspace_pool: dict[str, WorkspacePool] = field(default_factory=dict)


@dataclass
class SecretsBackend:
    type: str = _always(default="env-file")
    path: str = ""
    address: str = ""
    mount: str = ""
    token: str = field(default="", repr=False)


@dataclass
class Ingress:
    type: str = _always(default="none")
    routing: str = ""
    tls: str = ""
    domain: str = ""
    port: int = 0
    image: str = ""
    network: str = ""
    verify: str = ""


@dataclass
class Secret:
    generated: bool = False
    length: int = 0
    required: bool = False
    import_: str = field(default="", metadata={"key": "import"})


@dataclass
class Port:
    value: int = _always(default=0)
    export_env: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class Volume:
    driver: str = ""
    path: str = ""


@dataclass
class PersistPath:
    subpath: str = _always(default="")
    scope: str = _always(default="")


@dataclass
class SourceAuth:
    mode: str = ""
    ssh_key_secret: str = ""
    token_secret: str = ""


@dataclass
class SourceGit:
    user_name: str = ""
    user_email: str = ""


@dataclass
class Source:
    kind: str = ""
    repo: str = ""
    url: str = ""
    path: str = ""
    default_ref: str = ""
    cache_path: str = ""
    auth: SourceAuth = field(default_factory=SourceAuth)
    git: SourceGit = field(default_factory=SourceGit)
    checksum: str = ""

    @property
    def clone_url(self) -> str:
        """``repo``, else its alias ``url`` (spec §2.4)."""
        return self.repo or self.url


@dataclass
class WorkspaceSource:
    source: str = _always(default="")
    mode: str = ""
    branch: str = ""
    ref: str = ""
    subpath: str = ""


@dataclass
class WorkspaceResolved:
    chain: list[str] = field(default_factory=list)
    chain_root: str = ""
    allocations: dict[str, int] = field(default_factory=dict)
    persist_paths: dict[str, PersistPath] = field(default_factory=dict)


@dataclass
class WorkspaceLease:
    owner: str = ""
    created_at: Timestamp | None = None
    expires_at: Timestamp | None = None


@dataclass
class ReapBlocked:
    at: Timestamp | None = None
    reason: str = ""


@dataclass
class Workspace:
    template: str = _always(default="")
    inputs: dict[str, str] = field(default_factory=dict)
    sources: dict[str, WorkspaceSource] = field(default_factory=dict)
    resolved: WorkspaceResolved = field(default_factory=WorkspaceResolved)
    ttl: str = ""
    ttl_expires_at: Timestamp | None = None
    lease: WorkspaceLease = field(default_factory=WorkspaceLease)
    pool: str = ""
    pool_state: str = ""
    reap_blocked: ReapBlocked = field(default_factory=ReapBlocked)


@dataclass
class Route:
    port: int = _always(default=0)
    host: str = ""
    path: str = ""
    auth: str = ""


@dataclass
class Service:
    runtime: str = ""
    image: str = ""
    build: Any = None
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    env_file: str = ""
    ports: StringList = field(default_factory=StringList)
    mounts: StringList = field(default_factory=StringList)
    workdir: str = ""
    after: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    route: Route | None = None

    def dependencies(self) -> list[str]:
        """``after`` then ``depends_on``, duplicates collapsed (spec §2.6)."""
        return list(dict.fromkeys([*self.after, *self.depends_on]))


@dataclass
class Job:
    runtime: str = ""
    image: str = ""
    build: Any = None
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    env_file: str = ""
    mounts: StringList = field(default_factory=StringList)
    workdir: str = ""
    depends_on: list[str] = field(default_factory=list)
    run_on: list[str] = field(default_factory=list)

    def dependencies(self) -> list[str]:
        return list(dict.fromkeys(self.depends_on))


@dataclass
class PortLease:
    port: int = _always(default=0)
    owner: str = _always(default="")
    created_at: Timestamp | None = _always(default=None)


@dataclass
class Manifest:
    version: int = _always(default=1)
    kind: str = _always(default="stack")
    name: str = _always(default="")
    template: TemplateRef = field(default_factory=TemplateRef)
    operator: Operator = field(default_factory=Operator)
    secrets_backend: SecretsBackend = field(default_factory=SecretsBackend)
    ingress: Ingress = field(default_factory=Ingress)
    secrets: dict[str, Secret] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    persist: dict[str, PersistPath] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    port_leases: dict[str, list[PortLease]] = field(default_factory=dict)
