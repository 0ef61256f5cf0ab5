"""Template introspection (spec §2.3): list the root's templates and describe one by ref."""

from __future__ import annotations

import os

from angee.api.templates import TemplateDescriptor, TemplateInputChoice, TemplateInputDescriptor
from angee.errors import AngeeError, InvalidInput, NotFound
from angee.templates.meta import FAMILIES, KINDS_BY_FAMILY, TemplateMeta, config_file, load_meta
from angee.templates.resolve import is_remote_ref, resolve_template


def describe(ref: str, meta: TemplateMeta) -> TemplateDescriptor:
    """The descriptor of a template: inputs merged per §1.2, sorted by name, defaults as strings."""
    inputs = [
        TemplateInputDescriptor(
            name=name,
            type=d.type,
            required=d.effectively_required,
            immutable=d.immutable,
            generated=d.generated,
            default=d.default,
            question=d.question,
            help=d.help,
            choices=[TemplateInputChoice(label, value) for label, value in d.choices],
        )
        for name, d in sorted(meta.inputs.items())
    ]
    return TemplateDescriptor(
        ref=ref, kind=meta.kind, name=meta.name, description=meta.description, path=meta.path, inputs=inputs
    )


def list_templates(root: str) -> list[TemplateDescriptor]:
    """Every ``<family>/<name>`` with ``copier.yml`` under ``ROOT/.templates`` then ``ROOT/templates``;
    the first occurrence of a ref wins, unparsable templates are skipped, sorted by ref."""
    found: dict[str, TemplateDescriptor] = {}
    for base in (os.path.join(root, ".templates"), os.path.join(root, "templates")):
        for family in sorted(FAMILIES.values()):
            family_dir = os.path.join(base, family)
            try:
                names = sorted(os.listdir(family_dir))
            except OSError:
                continue
            for name in names:
                ref = f"{family}/{name}"
                path = os.path.join(family_dir, name)
                if ref in found or not os.path.isdir(path) or not config_file(path):
                    continue
                try:
                    meta = load_meta(path, KINDS_BY_FAMILY[family])
                except AngeeError:
                    continue
                found[ref] = describe(ref, meta)
    return [found[ref] for ref in sorted(found)]


def get_template(root: str, ref: str, cwd: str | None = None) -> TemplateDescriptor:
    """One descriptor by ref (a remote-reachable surface): absolute or ``..`` local refs are refused,
    the kind comes from the first segment, bare names are NotFound (the CLI prefixes ``stacks/``)."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("ref", "template reference is empty")
    if is_remote_ref(ref) and not ref.lower().startswith("file://"):
        resolved = resolve_template(root, ref, None, cwd=cwd)
        return describe(resolved.ref, resolved.meta)
    if os.path.isabs(ref) or ref.lower().startswith("file://") or ".." in ref:
        raise InvalidInput(
            "ref", "template reference must be relative to the stack root and must not contain .."
        )
    family, sep, _ = ref.partition("/")
    kind = KINDS_BY_FAMILY.get(family)
    if not sep or kind is None:
        raise NotFound("template", ref)
    resolved = resolve_template(root, ref, kind, cwd=cwd)
    return describe(resolved.ref, resolved.meta)
