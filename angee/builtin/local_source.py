"""Built-in source kind ``local``: a directory that already exists on the host (spec §4)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from angee.contracts import SourceKind
from angee.errors import RuntimeFailure
from angee.hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.manifest.model import Source


class LocalSourceKind(SourceKind):
    """A directory on the host, used in place (sources.<n>.path)."""

    name = "local"

    def materialize(
        self, root: str, name: str, source: Source, progress: Callable[[str], None] | None = None
    ) -> str:
        """Check that the source's path exists and return it; nothing is copied or cloned."""
        path = self.host_path(root, name, source)
        if not os.path.exists(path):
            raise RuntimeFailure(f'local source "{name}" path {path}: does not exist')
        return path


@hookimpl
def angee_source_kinds() -> list[SourceKind]:
    """The ``local`` source kind."""
    return [LocalSourceKind()]
