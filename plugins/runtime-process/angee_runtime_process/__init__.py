"""Angee bundled plugin: local services on process-compose or the embedded local engine.

Registers two backends for ``runtime: local`` (spec manifest-and-runtime §5.8):

- ``process-compose``: drives the ``process-compose`` tool when it is on PATH;
- ``embedded``: a supervisor-based engine that needs nothing but Python, used when
  process-compose is absent (or when ``ANGEE_LOCAL_ENGINE=embedded`` selects it).

Imports stay cheap: supervisor and yaml load only when a backend runs.
"""

from __future__ import annotations

from angee.contracts import Runtime
from angee.hookspecs import hookimpl
from angee_runtime_process.engine import EmbeddedRuntime
from angee_runtime_process.pcompose import ProcessComposeRuntime

__all__ = ["EmbeddedRuntime", "ProcessComposeRuntime", "angee_runtimes"]


@hookimpl
def angee_runtimes() -> list[Runtime]:
    """``process-compose`` first (preferred when installed), then the embedded engine."""
    return [ProcessComposeRuntime(), EmbeddedRuntime()]
