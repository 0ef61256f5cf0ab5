"""Template references → template directories (spec §2): local names, absolute paths, remote refs.

Remote refs are cloned into the user cache ``<cache>/angee/templates/<24 hex of sha256(key)>/repo`` and
refreshed on every resolve under ``<cacheRoot>/lock``. Three remote forms exist:

- GitHub URLs ``https://github.com/<o>/<r>/tree/<branch>/<path…>`` and ``https://github.com/<o>/<r>/<path…>
  [?ref=<ref>]`` (key = the URL);
- the shorthand ``[github.com/]<o>/<r>//<path…>[@ref | ?ref=ref]`` (key = ``<clone url>#<ref>``);
- **local git URLs** ``file:///abs/repo[.git]//<path…>[?ref=<ref>]`` (key = the URL): the same clone, cache
  and refresh code path against a repository on this machine. Angee's own tests use it (the network is
  closed there) and it serves air-gapped mirrors; it is no more powerful than an absolute path.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from angee.errors import NotFound, RuntimeFailure
from angee.templates.meta import FAMILIES, TemplateMeta, config_file, load_meta, template_error

GIT_TIMEOUT_SECONDS = 600
ANCESTOR_LEVELS = 32
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass
class ResolvedTemplate:
    """A resolved template: ``ref`` as recorded, ``path`` its absolute dir, ``meta`` its metadata.

    ``bound`` limits ``include_root`` (the clone root of a remote template, the workspace dir of a
    template found inside a workspace); ``bound_strict`` rejects the bound itself (workspaces).
    """

    ref: str
    path: str
    meta: TemplateMeta
    bound: str = ""
    bound_strict: bool = False
    remote: bool = False


@dataclass
class RemoteRef:
    """A parsed remote reference: what to clone, at which ref, and where the template sits inside."""

    clone_url: str
    ref: str
    subpath: str
    key: str


# --------------------------------------------------------------------------- parsing


def parse_github_url(ref: str) -> RemoteRef:
    """``https://github.com/<o>/<r>/tree/<branch>/<path…>`` or ``…/<o>/<r>/<path…>[?ref=<ref>]``."""
    parts = urlsplit(ref)
    if parts.hostname != "github.com":
        raise template_error(f'template URL "{ref}": only github.com URLs are supported')
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 3:
        raise template_error(f'template URL "{ref}": want https://github.com/<owner>/<repo>/<path>')
    owner, repo = segments[0], segments[1].removesuffix(".git")
    rest = segments[2:]
    branch = ""
    if rest[0] == "tree" and len(rest) >= 2:
        branch, rest = rest[1], rest[2:]
    query = parse_qs(parts.query).get("ref")
    if query and query[0]:
        branch = query[0]
    return RemoteRef(f"https://github.com/{owner}/{repo}.git", branch, "/".join(rest), ref)


def parse_file_url(ref: str) -> RemoteRef:
    """``file:///abs/repo[.git]//<path…>[?ref=<ref>]``: a git repository on this machine."""
    parts = urlsplit(ref)
    if parts.netloc not in ("", "localhost"):
        raise template_error(f'template URL "{ref}": file URLs must be file:///absolute/path')
    repo_path, _, subpath = parts.path.partition("//")
    if not repo_path.startswith("/") or repo_path == "/":
        raise template_error(f'template URL "{ref}": file URLs must be file:///absolute/path')
    query = parse_qs(parts.query).get("ref")
    return RemoteRef(f"file://{repo_path}", query[0] if query else "", subpath.strip("/"), ref)


def parse_shorthand(ref: str) -> RemoteRef | None:
    """``[github.com/]<o>/<r>//<path…>[@ref | ?ref=ref]``; ``None`` when ``ref`` is not of that form."""
    text, _, query = ref.partition("?ref=")
    head, sep, subpath = text.partition("//")
    if not sep:
        return None
    head = head.removeprefix("github.com/")
    segments = head.split("/")
    if len(segments) != 2 or not all(segments):
        return None
    branch = query
    if not branch and "@" in subpath:
        candidate_path, _, candidate_ref = subpath.rpartition("@")
        if "/" not in candidate_ref and candidate_ref:
            subpath, branch = candidate_path, candidate_ref
    owner, repo = segments[0], segments[1].removesuffix(".git")
    clone = f"https://github.com/{owner}/{repo}.git"
    return RemoteRef(clone, branch, subpath.strip("/"), f"{clone}#{branch}")


def parse_remote(ref: str) -> RemoteRef | None:
    """The remote form of ``ref`` (URL or shorthand), or ``None`` for local refs."""
    lowered = ref.lower()
    if lowered.startswith(("http://", "https://")):
        return parse_github_url(ref)
    if lowered.startswith("file://"):
        return parse_file_url(ref)
    return parse_shorthand(ref)


def is_remote_ref(ref: str) -> bool:
    """Whether ``ref`` names a remote template (URL or shorthand); parse errors count as remote."""
    lowered = ref.lower()
    if lowered.startswith(("http://", "https://", "file://")):
        return True
    return parse_shorthand(ref) is not None


# --------------------------------------------------------------------------- the user cache


def user_cache_dir() -> str:
    """``$XDG_CACHE_HOME`` or ``~/.cache`` (Linux), ``~/Library/Caches`` (macOS), ``%LocalAppData%``
    (Windows), else the temp dir."""
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches")
    if sys.platform.startswith("win"):
        return os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return xdg
    if home and home != "~":
        return os.path.join(home, ".cache")
    return tempfile.gettempdir()


def cache_root(key: str) -> str:
    """``<user cache>/angee/templates/<first 24 hex of sha256(key)>``."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return os.path.join(user_cache_dir(), "angee", "templates", digest)


@contextmanager
def _cache_lock(root: str) -> Iterator[None]:
    os.makedirs(root, exist_ok=True)
    fd = os.open(os.path.join(root, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def run_git(args: list[str], cwd: str | None = None) -> str:
    """``git <args>`` without a shell or prompts; a failure is RuntimeFailure with argv and output."""
    argv = ["git", *args]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise RuntimeFailure("git is required for remote templates (not found on PATH)") from None
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{' '.join(argv)}: timed out after {GIT_TIMEOUT_SECONDS}s") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeFailure(f"{' '.join(argv)}: exit status {done.returncode}: {output}", output=output)
    return done.stdout


def refresh_clone(remote: RemoteRef) -> str:
    """Clone (absent) or fetch and re-detach (present) the cache repo of ``remote``; returns its path."""
    root = cache_root(remote.key)
    repo = os.path.join(root, "repo")
    with _cache_lock(root):
        if not os.path.isdir(os.path.join(repo, ".git")):
            _fresh_clone(remote, root, repo)
            return repo
        run_git(["fetch", "--all", "--prune"], cwd=repo)
        if not remote.ref:
            run_git(["remote", "set-head", "origin", "--auto"], cwd=repo)
            run_git(["checkout", "--detach", "origin/HEAD"], cwd=repo)
        elif _has_ref(repo, f"refs/remotes/origin/{remote.ref}"):
            run_git(["checkout", "--detach", f"origin/{remote.ref}"], cwd=repo)
        else:
            run_git(["checkout", "--detach", remote.ref], cwd=repo)
    return repo


def _has_ref(repo: str, name: str) -> bool:
    try:
        run_git(["show-ref", "--verify", "--quiet", name], cwd=repo)
    except RuntimeFailure:
        return False
    return True


def _fresh_clone(remote: RemoteRef, root: str, repo: str) -> None:
    """Clone into a temp sibling and rename it into place, so a failed clone leaves no half repo."""
    import shutil

    if os.path.lexists(repo):
        shutil.rmtree(repo, ignore_errors=True)
    staging = tempfile.mkdtemp(prefix="repo.", suffix=".clone", dir=root)
    try:
        pinned = bool(remote.ref) and bool(_SHA.match(remote.ref))
        args = ["clone"]
        if remote.ref and not pinned:
            args += ["--branch", remote.ref]
        run_git([*args, remote.clone_url, staging])
        if pinned:
            run_git(["checkout", "--detach", remote.ref], cwd=staging)
        os.rename(staging, repo)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _remote_template_dir(repo: str, subpath: str, kind: str | None, ref: str) -> str:
    """``<repo>/<subpath>`` holding ``copier.yml``, trying the ``<kind>`` → ``<kind>s`` family retries."""
    candidates = [subpath]
    if kind:
        padded = f"/{subpath}/"
        for prefix in ("/.templates/", "/templates/"):
            retried = padded.replace(f"{prefix}{kind}/", f"{prefix}{FAMILIES.get(kind, kind + 's')}/", 1)
            if retried != padded:
                candidates.append(retried.strip("/"))
    real_repo = os.path.realpath(repo)
    for candidate in candidates:
        path = os.path.normpath(os.path.join(repo, candidate))
        real = os.path.realpath(path)
        if os.path.commonpath([real, real_repo]) != real_repo:
            raise template_error(f'template "{ref}": path "{subpath}" leaves the repository')
        if config_file(path):
            return path
    raise NotFound("template", ref)


def resolve_remote(remote: RemoteRef, ref: str, kind: str | None) -> ResolvedTemplate:
    """Refresh the cache clone and load the template inside it (recorded ref = ``ref`` as given)."""
    repo = refresh_clone(remote)
    path = _remote_template_dir(repo, remote.subpath, kind, ref)
    return ResolvedTemplate(ref, path, load_meta(path, kind), bound=repo, remote=True)


# --------------------------------------------------------------------------- local names


def read_template_paths(root: str) -> list[str]:
    """``operator.template_paths`` of ``ROOT/angee.yaml``, best effort (no manifest → ``[]``)."""
    import yaml

    try:
        with open(os.path.join(root, "angee.yaml"), "rb") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return []
    operator = data.get("operator") if isinstance(data, dict) else None
    paths = operator.get("template_paths") if isinstance(operator, dict) else None
    if isinstance(paths, str):
        paths = [paths]
    return [str(p) for p in paths or [] if p]


def _ancestors(path: str) -> Iterator[str]:
    current = path
    for _ in range(ANCESTOR_LEVELS):
        parent = os.path.dirname(current)
        if parent == current:
            return
        yield parent
        current = parent


def local_candidates(
    root: str, ref: str, kind_ref: str, cwd: str | None, template_paths: list[str]
) -> list[str]:
    """The §2.1 search order for a local name, duplicates removed (first wins)."""
    out = [
        os.path.join(root, ".templates", kind_ref),
        os.path.join(root, "templates", kind_ref),
        os.path.join(root, kind_ref),
        os.path.join(root, ref),
    ]
    out += [os.path.join(root, p, kind_ref) for p in template_paths]
    out += [os.path.join(a, ".templates", kind_ref) for a in _ancestors(root)]
    if cwd and os.path.abspath(cwd) != root:
        cwd = os.path.abspath(cwd)
        out += [os.path.join(cwd, ".templates", kind_ref), os.path.join(cwd, "templates", kind_ref)]
        out += [os.path.join(a, ".templates", kind_ref) for a in _ancestors(cwd)]
    seen: set[str] = set()
    unique: list[str] = []
    for candidate in out:
        normal = os.path.normpath(candidate)
        if normal not in seen:
            seen.add(normal)
            unique.append(normal)
    return unique


def kind_ref(ref: str, kind: str) -> str:
    """``family/name`` for a bare name; a name with ``/`` must already start with ``family/``."""
    family = FAMILIES.get(kind, kind + "s")
    if "/" not in ref:
        return f"{family}/{ref}"
    if not ref.startswith(family + "/"):
        raise template_error(f'template "{ref}" does not match kind "{kind}"')
    return ref


def resolve_template(
    root: str,
    ref: str,
    kind: str | None,
    *,
    base_dir: str | None = None,
    cwd: str | None = None,
    template_paths: list[str] | None = None,
) -> ResolvedTemplate:
    """Resolve ``ref`` for an operation of ``kind`` (§2.1); the template's ``_angee.kind`` must match.

    ``base_dir`` is tried first for relative refs (chain layers); ``template_paths`` defaults to the
    manifest's ``operator.template_paths``. Unknown → NotFound(kind ``template``); bad refs → InvalidInput.
    ``kind=None`` accepts any kind (introspection of URLs).
    """
    ref = ref.strip()
    if not ref:
        raise template_error("template reference is empty")
    root = os.path.abspath(root)
    remote = parse_remote(ref)
    if remote is not None:
        return resolve_remote(remote, ref, kind)
    if os.path.isabs(ref):
        path = os.path.normpath(ref)
        if not os.path.isdir(path):
            raise NotFound("template", ref)
        return ResolvedTemplate(ref, path, load_meta(path, kind))
    if base_dir:
        candidate = os.path.normpath(os.path.join(os.path.abspath(base_dir), ref))
        if config_file(candidate):
            return ResolvedTemplate(ref, candidate, load_meta(candidate, kind))
    if kind is None:
        raise NotFound("template", ref)
    wanted = kind_ref(ref, kind)
    paths = read_template_paths(root) if template_paths is None else template_paths
    for candidate in local_candidates(root, ref, wanted, cwd, paths):
        if config_file(candidate):
            return ResolvedTemplate(wanted, candidate, load_meta(candidate, kind))
    raise NotFound("template", ref)


def chain_kind(ref: str) -> str:
    """The kind a relative chain ref falls back to: ``project`` for ``projects/…``, else ``stack``."""
    return "project" if ref.startswith("projects/") else "stack"


def resolve_chain_template(
    root: str,
    ref: str,
    *,
    base_dir: str,
    cwd: str | None = None,
    bound: str = "",
    bound_strict: bool = False,
) -> ResolvedTemplate:
    """A chain layer's template (§2.1, §3.7): relative refs try ``base_dir`` first, then
    ``resolve(ref, "stack"|"project")``. Chained templates must be kind ``stack`` or ``project``.

    A template found inside ``bound`` (the workspace dir, the parent's clone) inherits that bound.
    """
    ref = ref.strip()
    if not ref:
        raise template_error("template reference is empty")
    if parse_remote(ref) is None and not os.path.isabs(ref):
        candidate = os.path.normpath(os.path.join(os.path.abspath(base_dir), ref))
        if config_file(candidate):
            resolved = ResolvedTemplate(ref, candidate, load_meta(candidate))
            if bound and _inside(candidate, bound):
                resolved.bound, resolved.bound_strict = bound, bound_strict
            _check_chain_kind(resolved)
            return resolved
        resolved = resolve_template(root, ref, chain_kind(ref), cwd=cwd)
    else:
        resolved = resolve_template(root, ref, None, cwd=cwd)
    _check_chain_kind(resolved)
    return resolved


def _check_chain_kind(resolved: ResolvedTemplate) -> None:
    if resolved.meta.kind not in ("stack", "project"):
        raise template_error(
            f'chain template "{resolved.ref}" has kind "{resolved.meta.kind}" (want stack or project)'
        )


def _inside(path: str, parent: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(parent)
    return os.path.commonpath([real, base]) == base
