"""Angee's ``${…}`` substitutions (spec manifest-and-runtime §3): grammar, namespaces, contexts, filters.

Typical use::

    ctx = compile_context(manifest, root, "web", "service", resolved_secret_names)
    value = substitute(service.env["DATABASE_URL"], ctx, where="services.web.env.DATABASE_URL")
"""

from angee.substitution.context import (
    ALL_NAMESPACES,
    TEMPLATE_NAMESPACES,
    SubstitutionContext,
    compile_context,
    service_allocations,
    template_context,
)
from angee.substitution.engine import input_refs, secret_env_var, secret_refs, service_facts, substitute
from angee.substitution.errors import SubstitutionError
from angee.substitution.filters import FILTER_NAMES, apply_filter, lower, slug, upper

__all__ = [
    "ALL_NAMESPACES",
    "FILTER_NAMES",
    "TEMPLATE_NAMESPACES",
    "SubstitutionContext",
    "SubstitutionError",
    "apply_filter",
    "compile_context",
    "input_refs",
    "lower",
    "secret_env_var",
    "secret_refs",
    "service_allocations",
    "service_facts",
    "slug",
    "substitute",
    "template_context",
    "upper",
]
