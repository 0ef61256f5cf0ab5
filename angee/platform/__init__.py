"""The Platform: the one place business logic lives, bound to one stack root.

Every operation the contract names is one public method, returning wire dataclasses from
:mod:`angee.api`. The CLI, REST, GraphQL and the remote client are thin adapters over it.
Operations are grouped by area in mixin modules; this class composes them.
"""

from __future__ import annotations

from angee.platform.base import PlatformBase
from angee.platform.doctor import DoctorOps
from angee.platform.files import FileOps
from angee.platform.gitops import GitOpsOps
from angee.platform.ingress import IngressOps
from angee.platform.leases import WorkspaceLeaseOps
from angee.platform.pool import WorkspacePoolOps
from angee.platform.prepare import PrepareOps
from angee.platform.runtime import RuntimeOps
from angee.platform.secrets import SecretOps
from angee.platform.service_templates import ServiceTemplateOps
from angee.platform.sources import SourceOps
from angee.platform.stack import StackOps
from angee.platform.stack_template import StackTemplateOps
from angee.platform.templates import TemplateOps
from angee.platform.workspace_git import WorkspaceGitOps
from angee.platform.workspaces import WorkspaceOps


class Platform(
    StackOps,
    PrepareOps,
    RuntimeOps,
    SecretOps,
    SourceOps,
    TemplateOps,
    StackTemplateOps,
    ServiceTemplateOps,
    WorkspaceOps,
    WorkspaceGitOps,
    GitOpsOps,
    WorkspaceLeaseOps,
    WorkspacePoolOps,
    FileOps,
    IngressOps,
    DoctorOps,
    PlatformBase,
):
    """All operations of one stack root."""


__all__ = ["Platform"]
