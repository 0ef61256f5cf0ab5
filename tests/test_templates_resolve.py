"""Template resolution (§2.1), remote refs through the user cache (§2.2) and introspection (§2.3).

Remote refs run against local bare git repos: ``file://`` URLs, and GitHub URLs / shorthands redirected
by git's ``url.<base>.insteadOf`` so the real GitHub parsing and clone URL code path is exercised.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from angee.errors import InvalidInput, NotFound
from angee.templates import get_template, list_templates, resolve_template
from angee.templates.resolve import cache_root, parse_github_url, parse_shorthand
from tests.test_templates_helpers import git, git_repo_with_template, make_template, stack_template


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def test_search_order_first_candidate_wins(tmp_path: Path) -> None:
    root = tmp_path / "proj" / ".angee"
    root.mkdir(parents=True)
    stack_template(tmp_path / "proj" / ".templates" / "stacks" / "dev")  # ancestor .templates
    resolved = resolve_template(str(root), "dev", "stack")
    assert (resolved.ref, resolved.path) == (
        "stacks/dev",
        str(tmp_path / "proj" / ".templates" / "stacks" / "dev"),
    )
    stack_template(root / "templates" / "stacks" / "dev")
    assert resolve_template(str(root), "dev", "stack").path == str(root / "templates" / "stacks" / "dev")
    stack_template(root / ".templates" / "stacks" / "dev")
    assert resolve_template(str(root), "stacks/dev", "stack").path == str(
        root / ".templates" / "stacks" / "dev"
    )


def test_template_paths_and_cwd_candidates(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root).mkdir()
    shared = tmp_path / "shared"
    stack_template(shared / "stacks" / "web")
    (root / "angee.yaml").write_text(f"name: x\noperator:\n  template_paths: [{shared}]\n")
    assert resolve_template(str(root), "web", "stack").path == str(shared / "stacks" / "web")
    elsewhere = tmp_path / "elsewhere"
    stack_template(elsewhere / "templates" / "stacks" / "api")
    with pytest.raises(NotFound):
        resolve_template(str(root), "api", "stack")
    assert resolve_template(str(root), "api", "stack", cwd=str(elsewhere)).path == str(
        elsewhere / "templates" / "stacks" / "api"
    )


def test_reference_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="template reference is empty"):
        resolve_template(str(tmp_path), "  ", "stack")
    with pytest.raises(InvalidInput, match='template "workspaces/dev" does not match kind "stack"'):
        resolve_template(str(tmp_path), "workspaces/dev", "stack")
    with pytest.raises(NotFound) as err:
        resolve_template(str(tmp_path), "nope", "stack")
    assert (err.value.kind, err.value.name) == ("template", "nope")
    with pytest.raises(NotFound):
        resolve_template(str(tmp_path), str(tmp_path / "missing"), "stack")
    make_template(tmp_path / ".templates" / "stacks" / "svc", {"_angee": {"kind": "service"}})
    with pytest.raises(InvalidInput, match='template kind "service" does not match "stack"'):
        resolve_template(str(tmp_path), "svc", "stack")


def test_absolute_path_is_recorded_verbatim(tmp_path: Path) -> None:
    template = stack_template(tmp_path / "anywhere" / "tpl")
    resolved = resolve_template(str(tmp_path), str(template), "stack")
    assert (resolved.ref, resolved.path, resolved.meta.kind) == (str(template), str(template), "stack")


def test_list_and_get(tmp_path: Path) -> None:
    stack_template(tmp_path / ".templates" / "stacks" / "dev")
    stack_template(
        tmp_path / "templates" / "stacks" / "dev", extra={"_angee": {"kind": "stack", "name": "shadowed"}}
    )
    make_template(tmp_path / "templates" / "workspaces" / "pr", {"_angee": {"kind": "workspace"}})
    make_template(tmp_path / "templates" / "services" / "broken", {"_angee": {"kind": "workspace"}})
    (tmp_path / "templates" / "projects" / "empty").mkdir(parents=True)
    listed = list_templates(str(tmp_path))
    assert [(d.ref, d.kind) for d in listed] == [("stacks/dev", "stack"), ("workspaces/pr", "workspace")]
    assert listed[0].name == "Test stack"
    assert list_templates(str(tmp_path / "nothing")) == []
    assert get_template(str(tmp_path), "workspaces/pr").kind == "workspace"
    for bad in ("/etc", "stacks/../x", "file:///tmp/x//y"):
        with pytest.raises(InvalidInput) as err:
            get_template(str(tmp_path), bad)
        assert err.value.field == "ref"
    with pytest.raises(NotFound):
        get_template(str(tmp_path), "dev")


def test_parsers() -> None:
    tree = parse_github_url("https://github.com/acme/tpl.git/tree/v2/templates/stacks/dev")
    assert (tree.clone_url, tree.ref, tree.subpath) == (
        "https://github.com/acme/tpl.git",
        "v2",
        "templates/stacks/dev",
    )
    plain = parse_github_url("https://github.com/acme/tpl/templates/stacks/dev?ref=abc1234")
    assert (plain.ref, plain.subpath, plain.key) == ("abc1234", "templates/stacks/dev", plain.key)
    with pytest.raises(InvalidInput):
        parse_github_url("https://gitlab.com/acme/tpl/x")
    short = parse_shorthand("github.com/acme/tpl//templates/stacks/dev@v1.2")
    assert short is not None
    assert (short.clone_url, short.ref, short.subpath, short.key) == (
        "https://github.com/acme/tpl.git",
        "v1.2",
        "templates/stacks/dev",
        "https://github.com/acme/tpl.git#v1.2",
    )
    kept = parse_shorthand("acme/tpl//a@b/c")
    assert kept is not None and (kept.ref, kept.subpath) == ("", "a@b/c")
    assert parse_shorthand("stacks//dev") is None and parse_shorthand("a/b/c//d") is None


def test_file_url_clones_into_the_cache_and_refreshes(tmp_path: Path, private_cache: Path) -> None:
    work, bare = tmp_path / "work", tmp_path / "bare.git"
    git_repo_with_template(work, bare, "templates/stacks/dev", project="v1")
    ref = f"file://{bare}//templates/stacks/dev"
    resolved = resolve_template(str(tmp_path), ref, "stack")
    digest = hashlib.sha256(ref.encode()).hexdigest()[:24]
    repo = private_cache / "angee" / "templates" / digest / "repo"
    assert cache_root(ref) == str(repo.parent)
    assert resolved.ref == ref and resolved.path == str(repo / "templates" / "stacks" / "dev")
    assert resolved.remote and resolved.bound == str(repo)
    assert (repo.parent / "lock").exists()
    # A new upstream commit is picked up on the next resolve (fetch + detach at origin/HEAD).
    (work / "templates" / "stacks" / "dev" / "VERSION.jinja").write_text("v2\n")
    git(work, "commit", "-qam", "v2")
    git(work, "push", "-q", "origin", "main")
    resolve_template(str(tmp_path), ref, "stack")
    assert (repo / "templates" / "stacks" / "dev" / "VERSION.jinja").read_text() == "v2\n"


def test_pinned_refs_and_kind_family_retry(tmp_path: Path) -> None:
    work, bare = tmp_path / "work", tmp_path / "bare.git"
    git_repo_with_template(work, bare, ".templates/stacks/dev", project="first")
    first = git(work, "rev-parse", "HEAD")
    git(work, "tag", "v1")
    (work / ".templates" / "stacks" / "dev" / "VERSION.jinja").write_text("second\n")
    git(work, "commit", "-qam", "second")
    git(work, "push", "-q", "--tags", "origin", "main")
    # `.templates/stack/` is retried as `.templates/stacks/`.
    by_sha = resolve_template(str(tmp_path), f"file://{bare}//.templates/stack/dev?ref={first[:10]}", "stack")
    assert Path(by_sha.path, "VERSION.jinja").read_text() == "first\n"
    by_tag = resolve_template(str(tmp_path), f"file://{bare}//.templates/stacks/dev?ref=v1", "stack")
    assert Path(by_tag.path, "VERSION.jinja").read_text() == "first\n"
    latest = resolve_template(str(tmp_path), f"file://{bare}//.templates/stacks/dev", "stack")
    assert Path(latest.path, "VERSION.jinja").read_text() == "second\n"
    with pytest.raises(NotFound):
        resolve_template(str(tmp_path), f"file://{bare}//nowhere", "stack")


def test_github_forms_use_the_same_clone_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    work = tmp_path / "work"
    git_repo_with_template(work, mirror / "acme" / "tpl.git", "templates/stacks/dev", project="gh")
    # https://github.com/<o>/<r>.git is redirected to the local mirror for this test only.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{mirror}/.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://github.com/")
    for ref in (
        "https://github.com/acme/tpl/tree/main/templates/stacks/dev",
        "https://github.com/acme/tpl/templates/stacks/dev",
        "acme/tpl//templates/stacks/dev@main",
    ):
        resolved = resolve_template(str(tmp_path), ref, "stack")
        assert resolved.ref == ref
        assert Path(resolved.path, "VERSION.jinja").read_text() == "gh\n"
    descriptor = get_template(str(tmp_path), "acme/tpl//templates/stacks/dev")
    assert descriptor.kind == "stack" and os.path.isabs(descriptor.path)
