"""Mount URIs and workdirs (spec manifest-and-runtime §4), resolved for each runtime."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from angee.errors import InvalidInput
from angee.manifest.model import Manifest
from angee.paths import normalise, persist_host_path, source_host_path, volume_host_path, workspace_host_path

SCHEMES = ("source", "workspace", "volume", "persist", "bind")


class MountError(InvalidInput):
    """A mount or workdir string that cannot be resolved; the message is the spec's text."""

    def __init__(self, message: str) -> None:
        super().__init__("mounts", message, message=message)


@dataclass(frozen=True)
class Mount:
    """A parsed mount URI: ``scheme://name[/subpath]:target[:ro]`` (bind: ``bind://H:target``)."""

    raw: str
    scheme: str
    name: str
    subpath: str
    target: str
    read_only: bool


def parse_mount(text: str) -> Mount | None:
    """Parse a URI mount; a string without ``://`` is a plain compose volume (``None``)."""
    if "://" not in text:
        return None
    scheme, rest = text.split("://", 1)
    left, sep, target = rest.partition(":")
    if not sep or not left or not target:
        raise MountError(f'mount "{text}" must have source:/target')
    read_only = False
    if target.endswith(":ro"):
        target, read_only = target[:-3], True
    if not target.startswith("/"):
        raise MountError(f'mount target "{target}" must be absolute')
    if scheme not in SCHEMES:
        raise MountError(f'unsupported mount scheme "{scheme}"')
    if scheme == "bind":
        return Mount(text, scheme, left, "", target, read_only)
    name, _, subpath = left.partition("/")
    if not name:
        raise MountError(f'mount "{text}" is missing resource name')
    if ".." in subpath.split("/"):
        raise MountError(f'mount "{text}" subpath must not contain ".."')
    return Mount(text, scheme, name, subpath.strip("/"), target, read_only)


def env_var_name(prefix: str, name: str, subpath: str = "") -> str:
    """``[prefix, name, subpath segments…, PATH]`` upper-cased, non-``[A-Z0-9]`` → ``_``, joined by ``_``."""
    parts = [prefix, name, *[s for s in subpath.split("/") if s], "PATH"]
    cleaned = []
    for part in parts:
        upper = "".join(c.upper() if c.isascii() else c for c in part)
        cleaned.append(re.sub(r"[^A-Z0-9]", "_", upper).strip("_"))
    return "_".join(p for p in cleaned if p)


def _resource_path(root: str, manifest: Manifest, scheme: str, name: str, subpath: str, raw: str) -> str:
    if scheme == "source":
        if name not in manifest.sources:
            raise MountError(f'source "{name}" is not declared')
        base = source_host_path(root, name, manifest.sources[name])
    elif scheme == "workspace":
        if name not in manifest.workspaces:
            raise MountError(f'workspace "{name}" is not declared')
        base = workspace_host_path(root, name)
    elif scheme == "volume":
        if subpath:
            raise MountError("volume mounts do not support subpaths")
        if name not in manifest.volumes:
            raise MountError(f'volume "{name}" is not declared')
        base = volume_host_path(root, manifest, name)
    elif scheme == "persist":
        if name not in manifest.persist:
            raise MountError(f'persist path "{name}" is not declared')
        base = persist_host_path(root, manifest.persist[name].subpath)
    else:  # pragma: no cover - parse_mount restricts schemes
        raise MountError(f'unsupported mount scheme "{scheme}"')
    return normalise(os.path.join(base, subpath)) if subpath else base


def host_path(root: str, manifest: Manifest, mount: Mount) -> str:
    """Absolute host path a mount refers to (bind: the host path joined to the root)."""
    if mount.scheme == "bind":
        return normalise(os.path.join(root, mount.name))
    return _resource_path(root, manifest, mount.scheme, mount.name, mount.subpath, mount.raw)


def compose_volume(root: str, manifest: Manifest, text: str) -> str:
    """The docker-compose ``volumes`` entry of a mount string."""
    mount = parse_mount(text)
    if mount is None:
        return text
    suffix = ":ro" if mount.read_only else ""
    if mount.scheme == "volume":
        host_path(root, manifest, mount)  # validates the declaration and the subpath rule
        return f"{mount.name}:{mount.target}{suffix}"
    if mount.scheme == "bind":
        host = normalise(mount.name)
        if not host.startswith((".", "/")):
            host = "./" + host
        return f"{host}:{mount.target}{suffix}"
    return f"{host_path(root, manifest, mount)}:{mount.target}{suffix}"


def local_mount_env(root: str, manifest: Manifest, text: str) -> tuple[str, str] | None:
    """``(ENV_VAR, host path)`` a local process gets for a mount; plain strings give ``None``."""
    mount = parse_mount(text)
    if mount is None:
        return None
    path = host_path(root, manifest, mount)
    if mount.scheme == "bind":
        return env_var_name("BIND", mount.name.strip("/")), path
    return env_var_name(mount.scheme.upper(), mount.name, mount.subpath), path


def local_workdir(root: str, manifest: Manifest, workdir: str) -> str:
    """A local service/job workdir: ``scheme://name[/sub]`` → host path; relative → under the root."""
    if not workdir:
        return ""
    if "://" in workdir:
        scheme, rest = workdir.split("://", 1)
        if scheme not in SCHEMES:
            raise MountError(f'unsupported mount scheme "{scheme}"')
        if scheme == "bind":
            return normalise(os.path.join(root, rest))
        name, _, subpath = rest.partition("/")
        if not name:
            raise MountError(f'workdir "{workdir}" is missing resource name')
        if ".." in subpath.split("/"):
            raise MountError(f'workdir "{workdir}" subpath must not contain ".."')
        return _resource_path(root, manifest, scheme, name, subpath.strip("/"), workdir)
    return normalise(os.path.join(root, workdir))


def container_workdir(workdir: str) -> str:
    """A container workdir is used verbatim; a mount URI there is an error (improvement)."""
    if "://" in workdir:
        raise MountError(f'workdir "{workdir}" of a container must be a path inside the container, not a mount URI')
    return workdir
