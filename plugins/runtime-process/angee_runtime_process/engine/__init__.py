"""The embedded local engine: process-compose.yaml run by a per-root supervisord (see ``runtime``).

Import-cheap: supervisor and PyYAML are imported only inside the operations that need them.
"""

from __future__ import annotations

from .runtime import EmbeddedRuntime

__all__ = ["EmbeddedRuntime"]
