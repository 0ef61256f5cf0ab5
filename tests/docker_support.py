"""Shared helpers for docker e2e tests: engine detection, CI-strict skipping and a local busybox image.

No registry is reachable, so images cannot be pulled: :func:`busybox_image` builds a tiny image with
``docker import`` from Debian's static ``/bin/busybox`` (package busybox-static). Container tests must
not send traffic to container IP addresses: check state with the docker CLI (ps, logs, exec) and use
``network_mode: host`` for anything that listens.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import threading

import pytest

BUSYBOX_TAG = "angee-test-busybox:latest"
# Bump when the image content changes: a cached image with another version is rebuilt.
BUSYBOX_VERSION = "2"
BUSYBOX_LABEL = "dev.angee.test.busybox"
BUSYBOX_APPLETS = (
    "sh", "echo", "cat", "sleep", "env", "ls", "true", "false", "wget", "nc", "httpd", "printf", "test",
    "mkdir", "rm", "touch", "grep", "id", "pwd", "head", "tail", "date", "kill", "ps", "sed", "wc", "tr",
)  # fmt: skip
# Debian's busybox-static has no printenv applet: a small script stands in for it.
PRINTENV_SCRIPT = r"""#!/bin/sh
[ "$#" -eq 0 ] && exec env
rc=0
for name in "$@"; do
    if eval "[ -n \"\${$name+set}\" ]"; then eval "printf '%s\n' \"\$$name\""; else rc=1; fi
done
exit $rc
"""
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
DOCKER_INFO_TIMEOUT_SECONDS = 20.0

_lock = threading.Lock()
_engine: bool | None = None
_image_ready = False


def docker_available() -> bool:
    """Whether a docker engine answers ``docker info`` (cached for the test session)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = _probe_engine()
        return _engine


def _probe_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=DOCKER_INFO_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def in_ci() -> bool:
    """CI runs set ``CI=true``; there a missing engine is a failure, not a skip."""
    return os.environ.get("CI") == "true"


def require_docker() -> None:
    """Skip the calling test when no docker engine is available, or fail it when ``CI`` is ``true``."""
    if docker_available():
        return
    reason = "no docker engine available (`docker info` failed)"
    if in_ci():
        pytest.fail(f"{reason}; CI=true requires one for docker tests", pytrace=False)
    pytest.skip(reason)


def _busybox_binary() -> str:
    for candidate in BUSYBOX_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which("busybox")
    if found is None:
        raise RuntimeError("busybox is not installed: apt-get install busybox-static")
    return found


def _image_version(tag: str) -> str | None:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{BUSYBOX_LABEL}"}}}}', tag],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DOCKER_INFO_TIMEOUT_SECONDS,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def _rootfs_tar(busybox: str) -> bytes:
    """A root filesystem: ``/bin/busybox``, one symlink per applet, ``/bin/printenv`` and empty
    ``/tmp`` and ``/etc``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777), ("etc", 0o755)):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            tar.addfile(info)
        with open(busybox, "rb") as handle:
            data = handle.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
        script = PRINTENV_SCRIPT.encode()
        info = tarfile.TarInfo("bin/printenv")
        info.size = len(script)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(script))
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            link.mode = 0o777
            tar.addfile(link)
    return buffer.getvalue()


def busybox_image() -> str:
    """The tag of a tiny local busybox image (``PATH=/bin``, ``CMD ["sh"]``), imported once and cached
    by tag; an image under the tag from an older layout is rebuilt."""
    global _image_ready
    require_docker()
    with _lock:
        if _image_ready or _image_version(BUSYBOX_TAG) == BUSYBOX_VERSION:
            _image_ready = True
            return BUSYBOX_TAG
        changes = ["ENV PATH=/bin", 'CMD ["sh"]', f"LABEL {BUSYBOX_LABEL}={BUSYBOX_VERSION}"]
        argv = ["docker", "import"]
        for change in changes:
            argv += ["--change", change]
        argv += ["-", BUSYBOX_TAG]
        done = subprocess.run(argv, input=_rootfs_tar(_busybox_binary()), capture_output=True, timeout=300)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(argv)}: exit status {done.returncode}: {detail}")
        _image_ready = True
        return BUSYBOX_TAG


def project_containers(project: str) -> list[str]:
    """IDs of every container (any state) labelled with the compose ``project``."""
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()
