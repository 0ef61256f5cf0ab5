"""Source operations of the Platform (templates-workspaces-git §4, operator-and-cli §1.2 "Sources").

The kernel never runs git itself: every operation goes through the source kind provider of the
source (``self.plugins.provider("source_kinds", kind, "source kind")``). The optional provider
methods (``fetch``, ``pull``, ``push``, ``diff``, ``status``, ``commits``) are looked up with
``getattr``; a kind without ``status`` (``local``) is ``ready`` when its path exists, else ``missing``.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from angee.api.sources import DiffFile, SourceState
from angee.errors import AngeeError, InvalidInput, NotFound

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Manifest, Source
    from angee.plugins import PluginRegistry

Progress = Callable[[str], None]


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def refuse_unsafe(field: str, value: str) -> None:
    """InvalidInput naming ``field`` when ``value`` begins with ``-`` or holds ``..``, spaces or control
    characters: such a name or ref could be read by git as an option or a range (checked before git runs)."""
    shown = "".join(ch.encode("unicode_escape").decode("ascii") if _control(ch) else ch for ch in value)
    if value.startswith("-"):
        raise InvalidInput(field, f'"{shown}" must not begin with "-"')
    if ".." in value:
        raise InvalidInput(field, f'"{shown}" must not contain ".."')
    if any(ch.isspace() or _control(ch) for ch in value):
        raise InvalidInput(field, f'"{shown}" must not contain spaces or control characters')


def _stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class SourceOps:
    """List, inspect, fetch, pull, push and diff the stack's declared sources."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

    # ------------------------------------------------------------------ helpers

    def _declared_source(self, name: str) -> Source:
        """The declared source ``name`` (validated first), else NotFound(``source``)."""
        if not name:
            raise InvalidInput("name", "a source name is required")
        refuse_unsafe("name", name)
        source = self.load().sources.get(name)
        if source is None:
            raise NotFound("source", name)
        return source

    def _source_kind(self, name: str, source: Source) -> Any:
        try:
            return self.plugins.provider("source_kinds", source.kind, "source kind")
        except InvalidInput as err:
            raise InvalidInput(
                f"sources.{name}.kind", err.reason, message=f"sources.{name}.kind: {err.reason}"
            ) from None

    def _git_only(
        self, name: str, source: Source, provider: Any, method: str, verb: str
    ) -> Callable[..., Any]:
        """The provider's optional ``method``, or InvalidInput ``… only git sources can be <verb>``."""
        found = getattr(provider, method, None)
        if not callable(found):
            reason = f'source "{name}" is a {source.kind} source: only git sources can be {verb}'
            raise InvalidInput("name", reason, message=reason)
        return found

    def _source_state(self, name: str, source: Source, with_commits: int = 0) -> SourceState:
        """A source's SourceState through its provider (raises on failure)."""
        provider = self._source_kind(name, source)
        status = getattr(provider, "status", None)
        if callable(status):
            state = status(self.root, name, source)
        else:
            path = provider.host_path(self.root, name, source)
            exists = os.path.exists(path)
            state = SourceState(
                name=name, kind=source.kind, path=path, exists=exists, state="ready" if exists else "missing"
            )
        commits = getattr(provider, "commits", None)
        if with_commits > 0 and state.exists and callable(commits):
            state.commits = commits(self.root, name, source, with_commits)
        return state

    def _failed_state(self, name: str, source: Source, error: AngeeError | OSError) -> SourceState:
        try:
            path = self._source_kind(name, source).host_path(self.root, name, source)
        except AngeeError:
            from angee.paths import source_host_path

            path = source_host_path(self.root, name, source)
        message = str(error) if isinstance(error, AngeeError) else f"{path}: {error.strerror or error}"
        return SourceState(
            name=name,
            kind=source.kind,
            path=path,
            exists=os.path.exists(path),
            state="error",
            pushed=True,
            error=message,
        )

    def _source_states(self, manifest: Manifest, with_commits: int = 0) -> list[SourceState]:
        """Every declared source's state, sorted by name, inspected in parallel; a failing one gets
        ``state: error`` (``pushed: true``) and the list still succeeds (also the topology's sources)."""

        def one(name: str) -> SourceState:
            source = manifest.sources[name]
            try:
                return self._source_state(name, source, with_commits)
            except (AngeeError, OSError) as err:
                return self._failed_state(name, source, err)

        names = sorted(manifest.sources)
        self.plugins.providers("source_kinds")  # discover providers once, before any worker thread
        if len(names) <= 1:
            return [one(n) for n in names]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            return list(pool.map(one, names))

    # ------------------------------------------------------------------ operations

    def sources_list(self) -> list[SourceState]:
        """SourceList: every declared source's state by name; failures become ``state: error`` entries."""
        return self._source_states(self.load())

    def source_status(self, name: str) -> SourceState:
        """SourceStatus: one source's state (NotFound when undeclared; a git failure raises)."""
        return self._source_state(name, self._declared_source(name))

    def source_fetch(self, name: str, progress: Progress | None = None) -> SourceState:
        """SourceFetch: materialise the source (git: clone on first use, else ``git fetch --all --prune``),
        then its state. Clone progress lines go to ``progress`` (default: stderr)."""
        from angee.lock import root_lock

        source = self._declared_source(name)
        provider = self._source_kind(name, source)
        fetch = getattr(provider, "fetch", None)
        with root_lock(self.root):
            if callable(fetch):
                fetch(self.root, name, source, progress or _stderr_progress)
            else:
                provider.materialize(self.root, name, source, progress or _stderr_progress)
        return self._source_state(name, source)

    def source_pull(self, name: str, progress: Progress | None = None) -> SourceState:
        """SourcePull (git only): materialise, ``git pull --ff-only``, then the state."""
        from angee.lock import root_lock

        source = self._declared_source(name)
        pull = self._git_only(name, source, self._source_kind(name, source), "pull", "pulled")
        with root_lock(self.root):
            pull(self.root, name, source, progress or _stderr_progress)
        return self._source_state(name, source)

    def source_push(self, name: str, ref: str = "") -> SourceState:
        """SourcePush (git only): dirty → Conflict ``source "<n>" has uncommitted changes``; ``git push`` or
        ``git push <pushRemote> <ref>``; then the state."""
        if ref:
            refuse_unsafe("ref", ref)
        source = self._declared_source(name)
        push = self._git_only(name, source, self._source_kind(name, source), "push", "pushed")
        push(self.root, name, source, ref)
        return self._source_state(name, source)

    def source_diff(self, name: str, ref: str = "") -> list[DiffFile]:
        """SourceDiff (git only): working tree vs HEAD (staged included), or HEAD vs ``ref``."""
        if ref:
            refuse_unsafe("ref", ref)
        source = self._declared_source(name)
        diff = self._git_only(name, source, self._source_kind(name, source), "diff", "diffed")
        return list(diff(self.root, name, source, ref))
