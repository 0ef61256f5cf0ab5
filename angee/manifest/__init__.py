"""``angee.yaml``: the model, the strict loader, validation, the canonical emitter and the one writer.

Names are imported lazily so that importing the model alone stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Manifest": "angee.manifest.model",
    "ValidationIssue": "angee.manifest.validate",
    "dump_manifest": "angee.manifest.emit",
    "dump_yaml": "angee.manifest.emit",
    "load_manifest": "angee.manifest.load",
    "parse_manifest": "angee.manifest.load",
    "validate_manifest": "angee.manifest.validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
