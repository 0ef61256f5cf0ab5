"""The ``${…}`` grammar and namespaces of spec manifest-and-runtime §3.1/§3.2, plus secret helpers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from angee.paths import persist_host_path, source_host_path, workspace_host_path
from angee.secrets.names import secret_env_var
from angee.substitution.context import ALL_NAMESPACES, SubstitutionContext, service_allocations
from angee.substitution.errors import SubstitutionError
from angee.substitution.filters import apply_filter

# ``$${body}`` (escape) or ``${body}``; body = one or more characters other than braces.
_EXPRESSION = re.compile(r"\$\$\{[^{}]+\}|\$\{[^{}]+\}")
_QUOTES = "'\""
_SECRET_FILTERS_IN_RUNTIME_FILES = ("default", "required")
# Stand-in for a resolved secret known by name only: resolved values are non-empty, so
# default/required leave it untouched and the placeholder is written.
_VALUE_NOT_GIVEN = "\0"

Filter = tuple[str, list[str]]


def _split_outside(text: str, sep: str, *, parens: bool) -> list[str]:
    """Split ``text`` on ``sep`` outside quotes (and parentheses when ``parens``)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    depth = 0
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in _QUOTES:
            quote = ch
        elif parens and ch == "(":
            depth += 1
        elif parens and ch == ")" and depth > 0:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(arg: str) -> str:
    """Trim an argument, then drop its quote characters keeping quoted text (whitespace too) verbatim."""
    out: list[str] = []
    quote = ""
    for ch in arg.strip():
        if quote:
            if ch == quote:
                quote = ""
            else:
                out.append(ch)
        elif ch in _QUOTES:
            quote = ch
        else:
            out.append(ch)
    return "".join(out)


def _parse_filter(part: str) -> Filter:
    """``ident`` or ``ident(args)`` → (name, args); ``f()`` has no args."""
    if "(" in part and part.endswith(")"):
        open_at = part.index("(")
        inner = part[open_at + 1 : -1]
        args = [] if not inner.strip() else [_unquote(a) for a in _split_outside(inner, ",", parens=False)]
        return part[:open_at].strip(), args
    return part, []


def _parse_body(body: str) -> tuple[str, list[Filter]]:
    """Split a body into its path and filters; an empty path is an error."""
    parts = [p.strip() for p in _split_outside(body, "|", parens=True)]
    path = parts[0]
    if not path:
        raise SubstitutionError("empty substitution")
    if path.startswith("secret:"):
        path = "secret." + path[len("secret:") :]
    return path, [_parse_filter(p) for p in parts[1:]]


def _expressions(text: str) -> Iterator[re.Match[str]]:
    return _EXPRESSION.finditer(text)


def substitute(text: str, ctx: SubstitutionContext, where: str = "") -> str:
    """Evaluate every ``${…}`` of ``text`` left to right; the first error aborts the whole string.

    ``where`` (a dotted field path such as ``services.web.env.X``) prefixes error messages.
    """
    if "${" not in text:
        return text
    out: list[str] = []
    last = 0
    try:
        for match in _expressions(text):
            out.append(text[last : match.start()])
            last = match.end()
            expr = match.group(0)
            if expr.startswith("$$"):
                out.append(expr[1:] if ctx.escape_final else expr)
            else:
                out.append(_evaluate(expr[2:-1], ctx))
    except SubstitutionError as err:
        raise err.at(where) from None
    out.append(text[last:])
    return "".join(out)


def _evaluate(body: str, ctx: SubstitutionContext) -> str:
    path, filters = _parse_body(body)
    if path == "name":
        value = ctx.name
    else:
        namespace, dot, rest = path.partition(".")
        if not dot:
            raise SubstitutionError(f'unknown substitution "{path}"')
        if not ctx.allows(namespace):
            raise SubstitutionError(f'unknown substitution namespace "{namespace}"')
        if namespace == "secret":
            return _secret(rest, filters, ctx)
        if namespace == "inputs":
            value = _input(rest, filters, ctx)
        else:
            resolver = _RESOLVERS.get(namespace)
            if resolver is None:
                raise SubstitutionError(f'unknown substitution namespace "{namespace}"')
            value = resolver(rest, ctx)
    for name, args in filters:
        value = apply_filter(value, name, args)
    return value


def _secret(name: str, filters: list[Filter], ctx: SubstitutionContext) -> str:
    if not ctx.secret_is_resolved(name):
        raise SubstitutionError(f'secret "{name}" is not resolved')
    if ctx.secret_mode == "value":
        value = ctx.secret_values[name]
        for fname, args in filters:
            value = apply_filter(value, fname, args)
        return value
    # Placeholder mode: only default/required, evaluated on the real value when known.
    value = ctx.secret_values.get(name, _VALUE_NOT_GIVEN)
    is_secret = True
    for fname, args in filters:
        if fname not in _SECRET_FILTERS_IN_RUNTIME_FILES:
            raise SubstitutionError(
                "filters other than default/required are not allowed on secret references in runtime files"
            )
        result = apply_filter(value, fname, args)
        if result != value:
            value, is_secret = result, False
    return "${" + secret_env_var(name) + "}" if is_secret else value


def _input(key: str, filters: list[Filter], ctx: SubstitutionContext) -> str:
    if ctx.inputs is not None:
        if key in ctx.inputs:
            return ctx.inputs[key]
        if key in ctx.optional_inputs or any(f in ("default", "required") for f, _ in filters):
            return ""
    raise SubstitutionError(f'input "{key}" is not set')


def _ports(name: str, ctx: SubstitutionContext) -> str:
    port = ctx.manifest.ports.get(name) if ctx.manifest is not None else None
    if port is None:
        raise SubstitutionError(f'port "{name}" is not declared')
    return str(port.value)


def _alloc(pool: str, ctx: SubstitutionContext) -> str:
    if pool not in ctx.allocations:
        raise SubstitutionError(f'allocation "{pool}" is not declared')
    return str(ctx.allocations[pool])


def _source(rest: str, ctx: SubstitutionContext) -> str:
    name, dot, fld = rest.partition(".")
    source = ctx.manifest.sources.get(name) if ctx.manifest is not None else None
    if source is None:
        raise SubstitutionError(f'source "{name}" is not known')
    if dot and fld != "path":
        raise SubstitutionError(f'unknown source field "{fld}"')
    return source_host_path(ctx.root, name, source)


def _workspace(rest: str, ctx: SubstitutionContext) -> str:
    if rest == "path" and ctx.workspace_path is not None:
        return ctx.workspace_path
    if rest == "name" and ctx.workspace_name is not None:
        return ctx.workspace_name
    name, dot, fld = rest.partition(".")
    if ctx.manifest is None or name not in ctx.manifest.workspaces:
        raise SubstitutionError(f'workspace "{name}" is not known')
    if dot and fld != "path":
        raise SubstitutionError(f'unknown workspace field "{fld}"')
    return workspace_host_path(ctx.root, name)


def _persist(key: str, ctx: SubstitutionContext) -> str:
    entry = ctx.manifest.persist.get(key) if ctx.manifest is not None else None
    if entry is None:
        raise SubstitutionError(f'persist path "{key}" is not known')
    return persist_host_path(ctx.root, entry.subpath)


def _operator(fld: str, ctx: SubstitutionContext) -> str:
    if fld not in ("url", "domain"):
        raise SubstitutionError(f'unknown operator field "{fld}"')
    if ctx.manifest is None:
        return ""
    return getattr(ctx.manifest.operator, fld)


def _first_number(segment: str) -> int:
    """Leading decimal of ``segment`` before any ``/`` and of the first number of a range; else 0."""
    digits = re.match(r"\s*([0-9]+)", segment.split("/", 1)[0].split("-", 1)[0])
    return int(digits.group(1)) if digits else 0


def service_facts(target: str, ctx: SubstitutionContext) -> tuple[str, int, str]:
    """(host, port, url) of service ``target`` as seen by the context's consumer (§3.2)."""
    manifest = ctx.manifest
    service = manifest.services.get(target) if manifest is not None else None
    if manifest is None or service is None:
        raise SubstitutionError(f'service "{target}" is not known')
    both_containers = service.runtime == "container" and ctx.consumer_runtime() == "container"
    first_port = ""
    if service.ports and not (both_containers and service.route is not None and service.route.port):
        target_ctx = dataclasses.replace(
            ctx,
            name=target,
            consumer=target,
            consumer_kind="service",
            inputs=None,
            optional_inputs=frozenset(),
            allocations=service_allocations(manifest, target),
            workspace_path=None,
            workspace_name=None,
            namespaces=(ctx.namespaces if ctx.namespaces is not None else ALL_NAMESPACES) - {"service"},
        )
        first_port = substitute(service.ports[0], target_ctx, where=f"services.{target}.ports[0]")
    segments = first_port.split(":") if first_port else []
    if both_containers:
        host = target
        if service.route is not None and service.route.port:
            port = service.route.port
        else:
            port = _first_number(segments[-1]) if segments else 0
    else:
        host = "127.0.0.1"
        if not segments:
            port = 0
        else:
            port = _first_number(segments[-2] if len(segments) >= 2 else segments[0])
    url = f"http://{host}:{port}" if port else ""
    return host, port, url


def _service(rest: str, ctx: SubstitutionContext) -> str:
    name, dot, fld = rest.partition(".")
    if dot and fld not in ("host", "port", "url"):
        if ctx.manifest is None or name not in ctx.manifest.services:
            raise SubstitutionError(f'service "{name}" is not known')
        raise SubstitutionError(f'unknown service field "{fld}"')
    host, port, url = service_facts(name, ctx)
    if fld == "host":
        return host
    if fld == "port":
        if not port:
            raise SubstitutionError(f'service "{name}" has no port')
        return str(port)
    if fld == "url":
        return url
    if url:
        return url
    return f"{host}:{port}" if port else host


_RESOLVERS = {
    "ports": _ports,
    "alloc": _alloc,
    "source": _source,
    "workspace": _workspace,
    "persist": _persist,
    "operator": _operator,
    "service": _service,
}


def _references(namespace: str, strings: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for text in strings:
        for match in _expressions(text):
            if match.group(0).startswith("$$"):
                continue
            try:
                path, _ = _parse_body(match.group(0)[2:-1])
            except SubstitutionError:
                continue
            ns, dot, rest = path.partition(".")
            if ns == namespace and dot and rest:
                seen.setdefault(rest, None)
    return list(seen)


def secret_refs(*strings: str) -> list[str]:
    """Distinct secret names referenced by ``${secret.N…}``/``${secret:N…}``, first-seen order (§3.4)."""
    return _references("secret", strings)


def input_refs(*strings: str) -> list[str]:
    """Distinct input keys referenced by ``${inputs.K…}``, first-seen order (a job using them is not compiled)."""
    return _references("inputs", strings)

