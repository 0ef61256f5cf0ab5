"""The three surfaces against real stacks (operator-and-cli §7).

1. Every query and every mutation of ``operator.graphql`` (root fields enumerated from the parsed baseline,
   so a new field cannot be forgotten), and every addition the operator serves on top, answers from a real
   stack through the real operator: no ``INTERNAL`` error, no ``… is not implemented yet``; the few that
   must fail answer the typed error named in the plan. Runtime mutations run local services on the
   embedded engine and everything is brought down at the end. ``stackBuild`` and ``stackUp`` act on
   container services only: this stack has none, so they are the documented no-op successes.
2. Every subscription answers over SSE (its first event, or the completion of an empty log stream).
3. The same CLI workflow (status, workspace create, secret set, status) run locally and with
   ``--operator URL`` prints the same ``--json`` (only the stack root path differs).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import build_schema as parse_sdl
from graphql import parse

from angee import operations
from angee.operator.graphql.schema import build_schema
from tests.operator.graphql_support import SSEStream, post
from tests.operator.test_graphql_fixture_stack import (
    AWAITING_PLATFORM,
    angee,
    awaiting,
    bare_repo,
    bring_down,
    build_stack,
    git,
    push_upstream_change,
    root_field_document,
    run_env,
)
from tests.spec_files import spec_file


@dataclass
class Ask:
    """One GraphQL request: ``kind`` ``query``/``mutation``, a root field, its arguments (GraphQL syntax),
    the expected outcome (``ok`` or an error code) and an optional check of the field's value."""

    kind: str
    field: str
    args: str = ""
    expect: str = "ok"
    check: Callable[[Any], bool] | None = None


@dataclass
class Act:
    """Something the user does between requests (commit, push upstream, ...)."""

    what: str
    do: Callable[[], None]


def q(field: str, args: str = "", expect: str = "ok", check: Callable[[Any], bool] | None = None) -> Ask:
    return Ask("query", field, args, expect, check)


def m(field: str, args: str = "", expect: str = "ok", check: Callable[[Any], bool] | None = None) -> Ask:
    return Ask("mutation", field, args, expect, check)


def is_true(*keys: str) -> Callable[[Any], bool]:
    """A check that every key of the answered object is truthy."""
    return lambda value: all(value[key] for key in keys)


def plan(root: Path, bare: Path, scratch: Path) -> list[Ask | Act]:
    """Every request of the run, in an order a user would send them (create before destroy)."""
    worktree = root / "workspaces" / "w1" / "app"

    def diverge() -> None:
        push_upstream_change(bare, scratch, "README.md", "upstream change\n")
        (worktree / "README.md").write_text("workspace change\n")
        git(worktree, "commit", "-q", "-am", "workspace edits README")

    w1_slot = 'workspace: "w1", slot: "app"'
    return [
        # ---------------------------------------------------------------- reads of the fresh stack
        q("health", check=lambda v: v["status"] == "ok"),
        q("stackStatus", check=lambda v: [s["name"] for s in v["services"]] == ["web"]),
        q("serviceEndpoint", 'name: "web"', check=lambda v: v["internalHost"] == "web"),
        q("ingressStatus"),
        q("services"),
        q("jobs", check=lambda v: [j["name"] for j in v] == ["hello"]),
        q("sources", check=lambda v: [s["name"] for s in v] == ["app", "docs"]),
        q("source", 'name: "app"', check=lambda v: v["kind"] == "git"),
        q("sourceDiff", 'name: "app"', check=lambda v: v == []),
        q("sourceDiff", 'name: "docs"', expect="INVALID_INPUT"),  # only git sources can be diffed
        q("templates"),
        q("template", 'ref: "workspaces/dev"', check=lambda v: v["description"]),
        q("template", 'ref: "workspaces/ghost"', expect="NOT_FOUND"),
        q("secrets"),
        q("secret", 'name: "api_key"', check=lambda v: v["declared"]),
        q("mcpDescriptor", check=lambda v: "stack.status" in v["tools"]),
        q("gitOpsTopology", "withCommits: 2"),
        q("workspaces", check=lambda v: v == []),
        q("workspace", 'name: "ghost"', expect="NOT_FOUND"),
        q("file", 'source: "docs", path: "README.md"', check=lambda v: v["content"] == "# docs\n"),
        q("workspacePools", check=lambda v: v == []),
        # ---------------------------------------------------------------- secrets, runtime files
        m("secretSet", 'name: "api_key", value: "s3cret"', check=is_true("hasValue")),
        q("secretValue", 'name: "api_key"', check=lambda v: v["value"] == "s3cret"),
        m("stackPrepare"),
        m("stackUpdate"),
        # ---------------------------------------------------------------- runtime (embedded local engine)
        m("stackBuild"),  # no container services: nothing to build
        m("stackUp"),  # no container services: nothing to start
        m("stackDev"),
        q("stackLogs", "limit: 65536"),
        q("serviceLogs", 'name: "web", limit: 65536'),
        m("jobRun", 'name: "hello", inputs: [{key: "who", value: "e2e"}]', check=lambda v: "hello e2e" in v),
        m(
            "serviceInit",
            'input: {name: "worker", runtime: "local", command: ["sh", "-c", "echo worker; sleep 3600"]}',
        ),
        m("serviceUpdate", 'name: "worker", input: {env: [{key: "MODE", value: "test"}]}'),
        m("serviceUp", 'name: "worker"'),
        m("serviceStop", 'name: "worker"'),
        m("serviceStart", 'name: "worker"'),
        m("serviceRestart", 'name: "worker"'),
        m("serviceDestroy", 'name: "worker"'),
        m("serviceStart", 'name: "worker"', expect="NOT_FOUND"),
        # ---------------------------------------------------------------- sources
        m("sourceFetch", 'name: "app"'),
        m("sourcePull", 'name: "app"'),
        m("sourcePush", 'name: "app"'),
        # ---------------------------------------------------------------- workspaces
        m("workspaceCreatePreflight", 'input: {template: "dev", name: "w1"}', check=is_true("ok")),
        m("workspaceCreate", 'input: {template: "dev", name: "w1", inputs: [{key: "topic", value: "e2e"}]}'),
        m("workspaceCreate", 'input: {template: "dev", name: "w1"}', expect="CONFLICT"),
        q("workspaces", check=lambda v: [w["name"] for w in v] == ["w1"]),
        q("workspace", 'name: "w1"'),
        q("workspaceStatus", 'name: "w1"', check=lambda v: v["state"] == "ready"),
        q("workspaceGit", 'name: "w1"'),
        q("workspaceLogs", 'name: "w1"'),
        q("workspaceSourceDiff", w1_slot),
        m("workspaceUpdate", 'name: "w1", input: {ttl: "2h"}', check=lambda v: v["ttl"] == "2h"),
        m(
            "workspaceLeaseAcquire",
            'name: "w1", input: {owner: "agent-1", ttl: "1h"}',
            check=lambda v: v["owner"] == "agent-1" and not v["expired"],
        ),
        q("workspace", 'name: "w1"', check=lambda v: v["lease"]["owner"] == "agent-1"),
        m("workspaceLeaseRelease", 'name: "w1", owner: "agent-1"'),
        m("workspacePoolAcquire", 'template: "ghost", input: {owner: "agent-1"}', expect="NOT_FOUND"),
        m("workspaceReap", "dryRun: true"),
        m(
            "serviceCreate",
            'input: {template: "agent", workspace: "w1"}',
            check=lambda v: v["name"] == "agent-w1",
        ),
        m("serviceUpdateFromTemplate", 'name: "agent-w1", input: {dryRun: true}'),
        m("serviceDestroy", 'name: "agent-w1"'),
        m("workspaceSourceFetch", w1_slot),
        m("workspaceSourcePublish", w1_slot, check=is_true("ok")),
        m("workspaceSourcePull", w1_slot),
        m("workspaceSourcePush", w1_slot),
        m("workspacePush", 'name: "w1"'),
        m("workspaceSyncBase", 'name: "w1"'),
        Act("upstream and the workspace edit README.md differently", diverge),
        m("workspaceSourceFetch", w1_slot),
        m("workspaceSourceMerge", w1_slot + ', ref: "origin/main"', check=is_true("conflicted")),
        m("workspaceSourceMergeAbort", w1_slot, check=is_true("ok")),
        m("workspaceSourceRebase", w1_slot + ', ref: "origin/main"', check=is_true("conflicted")),
        m("workspaceSourceRebaseContinue", w1_slot, check=is_true("conflicted")),
        m("workspaceSourceRebaseAbort", w1_slot, check=is_true("ok")),
        m("workspacePush", 'name: "w1"'),
        m("workspaceDestroy", 'name: "w1", purge: true'),
        # ---------------------------------------------------------------- files, templates, tokens
        m("fileWrite", 'source: "docs", path: "notes/todo.txt", content: "write me"'),
        q("file", 'source: "docs", path: "notes/todo.txt"', check=lambda v: v["content"] == "write me"),
        m(
            "fileWrite",
            'source: "docs", path: "notes/todo.txt", content: "x", etag: "0000"',
            expect="CONFLICT",
        ),
        m(
            "stackInit",
            'input: {template: "mini", path: "sub"}',
            check=lambda v: v["root"] == str(root / "sub"),
        ),
        m("stackUpdateFromTemplate", "input: {dryRun: true}"),
        m("mintConnectionToken", 'actor: "e2e"', check=is_true("token")),
        m("mintRouteToken", 'actor: "e2e", service: "web"', check=is_true("token")),
        m("secretDelete", 'name: "api_key"'),
        # ---------------------------------------------------------------- bring everything down
        m("stackDown"),
        m("stackDestroy", "purge: true"),
    ]


def baseline_root_fields() -> dict[str, set[str]]:
    """The Query and Mutation root fields of ``operator.graphql``."""
    schema = parse_sdl(spec_file("operator.graphql").read_text())
    assert schema.query_type is not None and schema.mutation_type is not None
    return {"query": set(schema.query_type.fields), "mutation": set(schema.mutation_type.fields)}


def asked(steps: list[Ask | Act]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"query": set(), "mutation": set()}
    for step in steps:
        if isinstance(step, Ask):
            out[step.kind].add(step.field)
    return out


def platform_method(field: str) -> str:
    """The Platform method behind a GraphQL root field (from the operation registry)."""
    return next((op.platform for op in operations.OPERATIONS if field in op.graphql), "")


def run_step(operator: Any, schema: Any, step: Ask) -> str:
    """Send one request; ``""`` when it answered as planned, ``"pending: …"`` for a known Platform gap
    (:data:`AWAITING_PLATFORM`), else what went wrong."""
    document = root_field_document(schema, step.kind, step.field, step.args)
    parse(document)  # a malformed plan entry fails here, not as a server error
    status, _, body = post(operator, {"query": document})
    label = f"{step.kind} {step.field}({step.args})"
    if status != 200:
        return f"{label}: HTTP {status} {body}"
    errors = body.get("errors") or []
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    method = platform_method(step.field)
    if errors and "not implemented" in errors[0]["message"] and awaiting(method):
        return f"pending: {label} awaits Platform.{method} ({AWAITING_PLATFORM[method]})"
    if step.expect == "ok":
        if errors:
            return f"{label}: {[(c, e['message']) for c, e in zip(codes, errors, strict=True)]}"
        value = body["data"][step.field]
        if value is None:
            return f"{label}: answered null"
        if step.check is not None and not step.check(value):
            return f"{label}: unexpected value {value!r}"
        return ""
    if codes != [step.expect]:
        return f"{label}: expected {step.expect}, got {[(c, e['message']) for c, e in zip(codes, errors, strict=True)]}"
    if "not implemented" in errors[0]["message"]:
        return f"{label}: {errors[0]['message']}"
    return ""


def test_every_query_and_mutation_answers_from_a_real_stack(tmp_path: Path, operator_server: Any) -> None:
    bare = bare_repo(tmp_path)
    root = build_stack(tmp_path / "stack", bare)
    steps = plan(root, bare, tmp_path / "upstream-clone")

    baseline, served_schema = baseline_root_fields(), build_schema()._schema
    covered = asked(steps)
    for kind, fields in baseline.items():
        assert fields - covered[kind] == set(), f"baseline {kind} fields missing from the plan"
    served = {
        "query": set(served_schema.query_type.fields),
        "mutation": set(served_schema.mutation_type.fields),
    }
    for kind, fields in served.items():
        assert fields - covered[kind] == set(), f"served {kind} fields missing from the plan"

    operator = operator_server(root, env=run_env())
    problems: list[str] = []
    try:
        for step in steps:
            if isinstance(step, Act):
                step.do()
                continue
            problem = run_step(operator, served_schema, step)
            if problem:
                problems.append(problem)
    finally:
        bring_down(root)
    failures = [p for p in problems if not p.startswith("pending: ")]
    internal = [line for line in operator.stderr.lines if "graphql" in line and "failed" in line]
    assert failures == [], "\n".join(failures + internal)
    audit = [line for line in operator.stderr.lines if line.startswith("operator: file write")]
    assert audit and 'path="docs/notes/todo.txt"' in audit[0], operator.stderr.text
    for pending in problems:
        warnings.warn(pending, stacklevel=1)


# --------------------------------------------------------------------------- subscriptions

# Every baseline subscription with arguments on the fixture stack; the expected first frame: ``next``
# (snapshot streams publish on their first poll, a follow stream sends the first line) or ``complete``
# (a workspace without an inner stack has no logs: the stream ends at once).
SUBSCRIPTIONS = {
    "onStackSnapshotChange": ("", "next"),
    "onGitOpsTopologyChange": ("", "next"),
    "onWorkspaceStatusChange": ('name: "w1"', "next"),
    "onServiceLogs": ('name: "web"', "next"),
    "onWorkspaceLogs": ('name: "w1"', "complete"),
}


def subscription_document(schema: Any, field: str, args: str) -> str:
    from tests.operator.test_graphql_fixture_stack import selection

    root = schema.subscription_type
    call = f"{field}({args})" if args else field
    return f"subscription {{ {call} {selection(root.fields[field].type)} }}"


def test_every_subscription_answers_over_sse_from_a_real_stack(tmp_path: Path, operator_server: Any) -> None:
    schema = build_schema()._schema
    baseline = parse_sdl(spec_file("operator.graphql").read_text()).subscription_type
    assert baseline is not None and set(baseline.fields) <= set(SUBSCRIPTIONS)
    root = build_stack(tmp_path / "stack", bare_repo(tmp_path))
    operator = operator_server(root, env=run_env())
    try:
        assert operator.json("POST", "/workspaces", {"template": "dev", "name": "w1"})[0] == 201
        assert operator.json("POST", "/stack/dev", {})[0] == 200
        for field, (args, first) in SUBSCRIPTIONS.items():
            stream = SSEStream(operator, {"query": subscription_document(schema, field, args)})
            try:
                assert stream.status == 200, field
                kind, payload = stream.event()
                assert kind == first, f"{field}: {kind} {payload}"
                if kind == "next":
                    assert not payload.get("errors") and payload["data"][field], f"{field}: {payload}"
            finally:
                stream.close()
        stream = SSEStream(
            operator, {"query": subscription_document(schema, "onWorkspaceStatusChange", 'name: "x"')}
        )
        kind, payload = stream.event()
        stream.close()
        assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        bring_down(root)


# --------------------------------------------------------------------------- CLI: local vs --operator


WORKFLOW = (
    ("status", "--json"),
    ("workspace", "create", "w1", "--template", "dev", "--input", "topic=parity", "--json"),
    ("secret", "set", "api_key", "--value", "s3cret", "--json"),
    ("workspace", "get", "w1", "--json"),
    ("status", "--json"),
)


def test_the_same_workflow_prints_the_same_json_locally_and_through_the_operator(
    tmp_path: Path, operator_server: Any
) -> None:
    local_root = build_stack(tmp_path / "local" / "stack", bare_repo(tmp_path / "local"))
    remote_root = build_stack(tmp_path / "remote" / "stack", bare_repo(tmp_path / "remote"))
    operator = operator_server(remote_root, env=run_env())

    for args in WORKFLOW:
        local = angee(local_root, *args)
        remote = angee(None, *args, operator=operator.url)
        assert local.returncode == 0, f"local {args}: {local.stderr}"
        assert remote.returncode == 0, f"remote {args}: {remote.stderr}"
        assert local.stdout.replace(str(local_root), "<ROOT>") == remote.stdout.replace(
            str(remote_root), "<ROOT>"
        ), args
        assert str(local_root) in local.stdout or args[0] == "secret"
