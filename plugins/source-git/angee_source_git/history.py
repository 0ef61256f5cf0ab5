"""Recent commits of a checkout with the refs pointing at them (templates-workspaces-git §4.2)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from angee.api.sources import CommitRef
from angee.errors import AngeeError, InvalidInput
from angee_source_git.runner import git

MAX_COMMITS = 1000
_LOG_FORMAT = "%H%x1f%P%x1f%ct%x1f%an <%ae>%x1f%B"
_REF_FORMAT = "%(objectname)%1f%(*objectname)%1f%(*objecttype)%1f%(symref)%1f%(refname)"


def check_commit_limit(limit: int) -> int:
    """``limit`` clamped to 1000; negative → InvalidInput (field ``with_commits``)."""
    if limit < 0:
        raise InvalidInput("with_commits", f"must not be negative, got {limit}")
    return min(limit, MAX_COMMITS)


def utc_time(unix_seconds: int) -> str:
    """RFC 3339 UTC with ``Z``."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_commits(path: str, limit: int) -> list[CommitRef]:
    """Up to ``limit`` commits from HEAD, newest first (``git log --date-order``), each with the full
    names of the refs pointing at it (annotated tags peeled, HEAD and symbolic refs left out, sorted).

    An unreadable repository (missing, not a checkout, no commits) yields ``[]``, never an error.
    """
    limit = check_commit_limit(limit)
    if limit == 0 or not os.path.lexists(os.path.join(path, ".git")):
        return []
    try:
        log = git(["log", f"-n{limit}", "--date-order", "-z", f"--format={_LOG_FORMAT}", "HEAD", "--"], path)
        refs = refs_by_commit(path)
    except AngeeError:
        return []
    commits: list[CommitRef] = []
    for record in log.stdout.split("\0"):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, ctime, author, body = (record.split("\x1f", 4) + [""] * 5)[:5]
        summary = body.strip().split("\n", 1)[0].strip() if body.strip() else ""
        commits.append(
            CommitRef(
                sha=sha,
                parents=parents.split(),
                refs=sorted(refs.get(sha, [])),
                time=utc_time(int(ctime)) if ctime.isdigit() else "",
                summary=summary,
                author=author.strip(),
            )
        )
    return commits


def refs_by_commit(path: str) -> dict[str, list[str]]:
    """``{commit sha: [full ref names]}`` over every ref; tags resolve to the commit they finally name."""
    out = git(["for-each-ref", f"--format={_REF_FORMAT}"], path).stdout
    found: dict[str, list[str]] = {}
    nested: list[str] = []
    for line in out.splitlines():
        parts = line.split("\x1f")
        if len(parts) != 5:
            continue
        target, peeled, peeled_type, symref, refname = parts
        if symref:
            continue
        if peeled_type == "tag":  # a tag of a tag: peel all the way below
            nested.append(refname)
            continue
        found.setdefault(peeled or target, []).append(refname)
    for refname in nested:
        done = git(["rev-parse", "--verify", "--quiet", f"{refname}^{{commit}}"], path, check=False)
        if done.ok and done.stdout.strip():
            found.setdefault(done.stdout.strip(), []).append(refname)
    return found
