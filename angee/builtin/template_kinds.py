"""Built-in template kinds: which Copier template families Angee knows (``_angee.kind``).

Descriptors only: each names its kind and the family directory its templates live in
(``templates/<family>/<name>``). Rendering is done by the templating module.
"""

from __future__ import annotations

from angee.contracts import TemplateKind
from angee.hookspecs import hookimpl


class StackTemplateKind(TemplateKind):
    """Stack templates: render a whole stack root (angee.yaml and its files)."""

    name = "stack"
    family = "stacks"


class WorkspaceTemplateKind(TemplateKind):
    """Workspace templates: render a workspace directory with its source slots."""

    name = "workspace"
    family = "workspaces"


class ServiceTemplateKind(TemplateKind):
    """Service templates: add one or more services to a stack's manifest."""

    name = "service"
    family = "services"


class ProjectTemplateKind(TemplateKind):
    """Project templates: scaffold a project's source tree."""

    name = "project"
    family = "projects"


@hookimpl
def angee_template_kinds() -> list[TemplateKind]:
    """The four built-in template kinds, in the order ``angee plugins`` lists them."""
    return [StackTemplateKind(), WorkspaceTemplateKind(), ServiceTemplateKind(), ProjectTemplateKind()]
