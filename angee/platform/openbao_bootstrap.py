"""OpenBao bootstrap (spec manifest-and-runtime §7.6): start the ``openbao`` container before resolving.

When the stack keeps its secrets in OpenBao and runs OpenBao itself as the container service
``openbao``, StackPrepare cannot resolve secrets until that service answers. Before build, up, dev and
service up: if ``GET <address>/v1/sys/health`` is not in [200, 500), compile and write a stack holding
only ``openbao`` (no secrets, no jobs), compose-up it, and wait for it (every 500 ms, up to 30 s),
then continue either way.
"""

from __future__ import annotations

import copy
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from angee.contracts import Runtime, RuntimeStack
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry

SERVICE = "openbao"
POLL_SECONDS = 0.5
WAIT_SECONDS = 30.0


def health_status(address: str, token: str = "", timeout: float = 1.0) -> int | None:
    """HTTP status of ``GET <address>/v1/sys/health`` (token header when given); ``None`` if no answer."""
    request = urllib.request.Request(address.rstrip("/") + "/v1/sys/health", method="GET")
    if token:
        request.add_header("X-Vault-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator's URL
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, ValueError):
        return None


def _reachable(address: str, token: str) -> bool:
    status = health_status(address, token)
    return status is not None and 200 <= status < 500


def needs_bootstrap(manifest: Manifest) -> bool:
    """OpenBao backend and a container service named ``openbao``."""
    service = manifest.services.get(SERVICE)
    return (
        manifest.secrets_backend.type == "openbao" and service is not None and service.runtime == "container"
    )


def bootstrap_openbao(
    root: str,
    manifest: Manifest,
    plugins: PluginRegistry,
    container: Callable[[], Runtime],
    stack: Callable[[], RuntimeStack],
    output: Callable[[str], None] | None,
) -> None:
    """Run §7.6 when :func:`needs_bootstrap`; progress lines go to ``output`` (else stderr)."""
    if not needs_bootstrap(manifest):
        return
    provider = plugins.provider("secrets_backends", "openbao", "secrets backend")
    settings = getattr(provider.open(root, manifest.secrets_backend), "settings", None)
    address = getattr(settings, "address", "") or manifest.secrets_backend.address
    token = getattr(settings, "token", "") or ""
    if not address or _reachable(address, token):
        return

    def say(line: str) -> None:
        if output is not None:
            output(line)
        else:
            print(line, file=sys.stderr)

    say("OpenBao is not reachable; starting the openbao service first...")
    _write_openbao_only(root, manifest)
    container().up(stack(), [SERVICE], detach=True, output=output)
    say("Waiting for OpenBao to accept secret requests...")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if _reachable(address, token):
            say("OpenBao is ready; resolving stack secrets...")
            return
        time.sleep(POLL_SECONDS)


def _write_openbao_only(root: str, manifest: Manifest) -> None:
    """Compile and write ``docker-compose.yaml`` holding only the ``openbao`` service."""
    from angee.compile import compile_stack
    from angee.lock import root_lock
    from angee.manifest.store import write_file_atomic

    alone = copy.deepcopy(manifest)
    alone.services = {SERVICE: alone.services[SERVICE]}
    alone.services[SERVICE].after = []
    alone.services[SERVICE].depends_on = []
    alone.jobs = {}
    alone.secrets = {}
    compiled = compile_stack(alone, root, [])
    with root_lock(root):
        write_file_atomic(os.path.join(root, "docker-compose.yaml"), compiled.compose_text().encode("utf-8"))
