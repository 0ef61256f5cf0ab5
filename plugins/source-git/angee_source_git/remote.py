"""Clone, fetch, pull and push a checkout, and find where it pushes (templates-workspaces-git §4, §5.7)."""

from __future__ import annotations

import os
from collections.abc import Callable

from angee.errors import Conflict, InvalidInput, RuntimeFailure
from angee_source_git.runner import NETWORK_TIMEOUT, git
from angee_source_git.validate import check_git_arg, check_git_args


def has_checkout(path: str) -> bool:
    """Whether ``path`` holds a git checkout (``<path>/.git``, a directory or a worktree's file)."""
    return os.path.lexists(os.path.join(path, ".git"))


def clone(
    repo: str,
    path: str,
    *,
    branch: str = "",
    progress: Callable[[str], None] | None = None,
    repo_field: str = "repo",
) -> None:
    """``git clone [--progress] [--branch <branch>] <repo> <path>`` (parents created). With ``progress``,
    git's progress lines go to it as git prints them. A repo or path beginning with ``-`` is refused."""
    if branch:
        check_git_arg("default_ref", branch)
    if repo.startswith("-"):
        raise InvalidInput(repo_field, f'"{repo}" must not begin with "-"')
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    args = ["clone"]
    if progress is not None:
        args.append("--progress")
    if branch:
        args += ["--branch", branch]
    if progress is not None:
        progress(f"cloning {repo} into {path}")
    git([*args, repo, path], os.path.dirname(path), timeout=NETWORK_TIMEOUT, progress=progress)


def fetch_all(path: str) -> None:
    """``git fetch --all --prune``."""
    git(["fetch", "--all", "--prune"], path, timeout=NETWORK_TIMEOUT)


def pull_ff_only(path: str) -> None:
    """``git pull --ff-only``."""
    git(["pull", "--ff-only"], path, timeout=NETWORK_TIMEOUT)


def is_dirty(path: str) -> bool:
    """``git status --porcelain=v1 --untracked-files=all`` is non-empty (untracked files count)."""
    out = git(["--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"], path).stdout
    return bool(out.strip())


def current_branch(path: str) -> str:
    """The checked-out branch (``git symbolic-ref --quiet --short HEAD``), ``""`` when detached."""
    done = git(["symbolic-ref", "--quiet", "--short", "HEAD"], path, check=False)
    return done.stdout.strip() if done.ok else ""


def upstream_of(path: str) -> str:
    """``git rev-parse --abbrev-ref --symbolic-full-name @{upstream}``, ``""`` when there is none."""
    done = git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"], path, check=False)
    return done.stdout.strip() if done.ok else ""


def _config(path: str, key: str) -> str:
    done = git(["config", "--get", key], path, check=False)
    return done.stdout.strip() if done.ok else ""


def remotes(path: str) -> list[str]:
    """Configured remote names (``git remote``), sorted."""
    return sorted(line.strip() for line in git(["remote"], path).stdout.splitlines() if line.strip())


def push_remote(path: str, branch: str | None = None) -> str:
    """Where ``branch`` (default: the current one) pushes: ``branch.<b>.pushRemote`` →
    ``remote.pushDefault`` → ``branch.<b>.remote`` → ``origin`` if present → the only remote."""
    if branch is None:
        branch = current_branch(path)
    if branch:
        found = _config(path, f"branch.{branch}.pushRemote")
        if found:
            return found
    found = _config(path, "remote.pushDefault")
    if found:
        return found
    if branch:
        found = _config(path, f"branch.{branch}.remote")
        if found and found != ".":
            return found
    names = remotes(path)
    if "origin" in names:
        return "origin"
    if len(names) == 1:
        return names[0]
    if not names:
        raise RuntimeFailure("no git remotes configured")
    raise RuntimeFailure(
        f"several git remotes configured ({', '.join(names)}); set remote.pushDefault to choose one"
    )


def push(path: str, ref: str = "", *, branch: str = "") -> None:
    """Push a checkout (§5.7 rules; a source push passes no ``branch``).

    ``ref`` → ``git push <pushRemote> <ref>``; else with an upstream → ``git push``; else with
    ``branch`` → ``git push -u <pushRemote> <branch>``; else ``git push``.
    """
    check_git_args(ref=ref, branch=branch)
    if ref:
        remote = check_git_arg("remote", push_remote(path))
        git(["push", remote, ref], path, timeout=NETWORK_TIMEOUT)
    elif branch and not upstream_of(path):
        remote = check_git_arg("remote", push_remote(path, branch))
        git(["push", "-u", remote, branch], path, timeout=NETWORK_TIMEOUT)
    else:
        git(["push"], path, timeout=NETWORK_TIMEOUT)


def refuse_dirty(path: str, kind: str, name: str, message: str) -> None:
    """Raise Conflict(``kind``, ``name``, "uncommitted changes", ``message``) when the checkout is dirty."""
    if is_dirty(path):
        raise Conflict(kind, name, "uncommitted changes", message=message)
