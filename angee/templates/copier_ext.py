"""Angee's extension of Copier 9 (``copier>=9.3,<10``): one layer rendered from a snapshot (spec §3.1, §3.3).

Copier is extended, not forked: :class:`AngeeWorker` subclasses Copier's ``Worker`` and overrides

- ``jinja_env`` — the same environment Copier configures, rebuilt as :class:`AngeeEnvironment` with
  autoescape off, a :class:`SnapshotLoader` that accepts ``..`` inside the snapshot, and ``join_path``
  applying the include rule A/B to every ``include``/``import``/``from``/``extends``;
- ``template`` — a :class:`AngeeTemplate` that never looks for a VCS (the snapshot has none) and hands
  Copier question definitions it understands (``string`` → ``str``, Angee-only fields dropped);
- ``_sync_git_index_executable_bit`` — a no-op: the scratch tree is never a git work tree.

Everything here imports Copier, so this module is only imported when a render actually runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from copier._jinja_ext import SandboxedEnvironment
from copier._main import Worker
from copier._settings import SettingsModel
from copier._template import Template
from copier.errors import CopierError, ForbiddenPathError
from jinja2 import BaseLoader, TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import TemplateError

from angee.errors import InvalidInput, RuntimeFailure
from angee.templates.meta import ANGEE_QUESTION_FIELDS, INPUT_TYPES, template_error

#: The Copier versions this extension is written and tested against (it overrides Worker internals).
COPIER_MIN = (9, 19)
COPIER_MAX_EXCLUSIVE = (10, 0)


def check_copier_version(version: str) -> None:
    """Refuse a Copier outside ``>=9.19,<10`` with a clear message instead of failing mid-render."""
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    found = tuple(parts + [0] * (2 - len(parts)))
    if not COPIER_MIN <= found < COPIER_MAX_EXCLUSIVE:
        raise RuntimeFailure(
            f"Angee templates need copier>=9.19,<10 (installed: {version}); pip install 'angee[templates]'"
        )


#: Names handed to the loader for include-like loads, resolved there with rule A/B (§3.3).
INCLUDE_PREFIX = "@angee-include:"
#: Template name given to strings compiled by Copier (paths, defaults) so their includes reach join_path.
STRING_TEMPLATE_NAME = "<string>"
_ENV_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "undefined",
    "finalize",
)


class IncludeNotFound(TemplateNotFound):
    """An include name that neither candidate A nor B resolves to a file inside the snapshot."""


class SnapshotLoader(BaseLoader):
    """Loads template sources from a snapshot. Copier's own loads are template-root-relative; include
    names (prefixed by :meth:`AngeeEnvironment.join_path`) resolve per §3.3:

    1. absolute → not found; 2. A = ``<template dir>/<_subdirectory>/N``; 3. B = ``<template dir>/N`` only
    without ``..``; 4. the first regular file whose real path is inside the snapshot root wins.
    """

    def __init__(self, template_dir: str, subdirectory: str, snapshot_root: str) -> None:
        self.template_dir = os.path.abspath(template_dir)
        self.subdirectory = subdirectory or "."
        self.real_root = os.path.realpath(snapshot_root)

    def candidates(self, name: str) -> list[str]:
        if name.startswith(INCLUDE_PREFIX):
            include = name[len(INCLUDE_PREFIX) :]
            if include.startswith("/") or os.path.isabs(include):
                return []
            found = [os.path.normpath(os.path.join(self.template_dir, self.subdirectory, include))]
            if ".." not in include.replace("\\", "/").split("/"):
                found.append(os.path.normpath(os.path.join(self.template_dir, include)))
            return found
        if name.startswith("/") or ".." in name.split("/"):
            return []
        return [os.path.normpath(os.path.join(self.template_dir, name))]

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        for candidate in self.candidates(template):
            real = os.path.realpath(candidate)
            inside = real == self.real_root or real.startswith(self.real_root + os.sep)
            if inside and os.path.isfile(real):
                with open(real, encoding="utf-8") as fh:
                    return fh.read(), candidate, lambda: True  # the snapshot never changes
        if template.startswith(INCLUDE_PREFIX):
            raise IncludeNotFound(template[len(INCLUDE_PREFIX) :])
        raise TemplateNotFound(template)


class AngeeEnvironment(SandboxedEnvironment):
    """Copier's sandbox with Angee's include resolution: nested includes are not relative to the
    including file; every include-like name goes to the loader's A/B rule."""

    def join_path(self, template: str, parent: str) -> str:
        return template if template.startswith(INCLUDE_PREFIX) else INCLUDE_PREFIX + template

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        globals_ = self.make_globals(globals)
        cls = template_class or self.template_class
        return cls.from_code(self, self.compile(source, name=STRING_TEMPLATE_NAME), globals_, None)


class AngeeTemplate(Template):
    """A snapshot template: no VCS, questions normalised for Copier."""

    @cached_property
    def vcs(self) -> None:  # type: ignore[override]
        return None

    @cached_property
    def questions_data(self) -> dict[str, Any]:  # type: ignore[override]
        questions = dict(super().questions_data)
        for name, spec in list(questions.items()):
            spec = dict(spec)
            declared = spec.get("type")
            if isinstance(declared, str) and declared in INPUT_TYPES:
                spec["type"] = INPUT_TYPES[declared]
            for key in ANGEE_QUESTION_FIELDS:
                spec.pop(key, None)
            questions[name] = spec
        return questions


class AngeeWorker(Worker):
    """Copier's worker bound to one snapshot; see the module docstring for what it overrides."""

    angee_snapshot_root: str
    angee_subdirectory: str

    @cached_property
    def template(self) -> Template:  # type: ignore[override]
        result = AngeeTemplate(url=str(self.src_path))
        self._cleanup_hooks.append(result._cleanup)
        return result

    @cached_property
    def jinja_env(self) -> AngeeEnvironment:  # type: ignore[override]
        base = Worker.jinja_env.func(self)  # type: ignore[attr-defined]
        settings = {name: getattr(base, name) for name in _ENV_SETTINGS}
        env = AngeeEnvironment(
            loader=SnapshotLoader(
                str(self.template.local_abspath), self.angee_subdirectory, self.angee_snapshot_root
            ),
            extensions=[type(ext) for ext in base.extensions.values()],
            autoescape=False,
            auto_reload=False,
            **settings,
        )
        env.filters.update(base.filters)
        env.tests.update(base.tests)
        env.globals.update(base.globals)
        env.policies.update(base.policies)
        return env

    def _sync_git_index_executable_bit(self, dst_relpath: Path, src_mode: int) -> None:
        return None

    def _render_file(self, src_relpath: Path, dst_relpath: Path, extra_context: Any = None) -> None:
        try:
            super()._render_file(src_relpath, dst_relpath, extra_context=extra_context)
        except IncludeNotFound as err:
            err.angee_file = src_relpath.as_posix()  # type: ignore[attr-defined]
            raise


_QUESTION_ERROR = re.compile(r"""(?:question|for) ['"]([^'"]+)['"]:?\s*(.*)""", re.S)


def _question_error(ref: str, err: Exception) -> InvalidInput:
    text = " ".join(str(err).split())
    match = _QUESTION_ERROR.search(text)
    if match:
        field, reason = match.group(1), match.group(2) or "invalid value"
        return InvalidInput(field, reason.strip())
    required = re.match(r'Question "([^"]+)" is required', text)
    if required:
        key = required.group(1)
        return InvalidInput(
            key, "required", message=f"template input {key} is required; pass --input {key}=value"
        )
    return template_error(f'template "{ref}": {text}')


def render_snapshot(
    *, ref: str, template_dir: str, snapshot_root: str, subdirectory: str, dest: str, data: dict[str, str]
) -> None:
    """Render one layer with Copier from a snapshot into ``dest`` (a scratch dir): defaults on, overwrite,
    quiet, tasks skipped, unsafe refused, ``data`` = the layer's string inputs. Errors → InvalidInput."""
    import copier

    check_copier_version(copier.__version__)
    worker = AngeeWorker(
        src_path=template_dir,
        dst_path=Path(dest),
        data=dict(data),
        settings=SettingsModel(),
        defaults=True,
        overwrite=True,
        quiet=True,
        skip_tasks=True,
        unsafe=False,
        cleanup_on_error=False,
    )
    worker.angee_snapshot_root = snapshot_root
    worker.angee_subdirectory = subdirectory
    try:
        with worker:
            worker.run_copy()
    except IncludeNotFound as err:
        where = getattr(err, "angee_file", "")
        raise template_error(
            f'template "{ref}": include "{err.name}" not found{" in " + where if where else ""} '
            "(includes resolve from the template dir and must stay inside it, or inside "
            "_angee.include_root when set)",
        ) from None
    except TemplateNotFound as err:
        raise template_error(f'template "{ref}": template "{err.name}" not found') from None
    except TemplateSyntaxError as err:
        where = os.path.relpath(err.filename, template_dir) if err.filename else err.name or "template"
        raise template_error(f'template "{ref}": {where}:{err.lineno}: {err.message}') from None
    except TemplateError as err:
        raise template_error(f'template "{ref}": {" ".join(str(err).split())}') from None
    except ForbiddenPathError as err:
        raise template_error(f'template "{ref}": forbidden path {err}') from None
    except (CopierError, ValueError) as err:
        raise _question_error(ref, err) from None
