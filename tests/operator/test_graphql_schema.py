"""The served GraphQL schema is a superset of the contract's ``operator.graphql`` (spec §3, §7 rule 4)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    is_required_argument,
    is_required_input_field,
)

from angee.operator.graphql.schema import build_schema as build_served_schema
from tests.spec_files import spec_file


def contract_differences(baseline: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    """Every way ``served`` fails to offer ``baseline`` unchanged: a missing type, field, argument or
    enum value, a changed kind, type or nullability, a changed description, or a new required input."""
    problems: list[str] = []
    for root in ("query_type", "mutation_type", "subscription_type"):
        want, got = getattr(baseline, root), getattr(served, root)
        if want is not None and (got is None or got.name != want.name):
            problems.append(f"root {root}: {want.name} is not served as such")
    for name, want in baseline.type_map.items():
        if name.startswith("__"):
            continue
        got = served.type_map.get(name)
        if got is None:
            problems.append(f"type {name} is missing")
            continue
        if type(got) is not type(want):
            problems.append(f"type {name} is a {type(got).__name__}, not a {type(want).__name__}")
            continue
        if want.description and got.description != want.description:
            problems.append(f"type {name}: description {got.description!r} != {want.description!r}")
        if isinstance(want, GraphQLEnumType):
            missing = set(want.values) - set(got.values)
            problems += [f"enum {name}: value {v} is missing" for v in sorted(missing)]
        if isinstance(want, GraphQLUnionType):
            missing = {t.name for t in want.types} - {t.name for t in got.types}
            problems += [f"union {name}: member {m} is missing" for m in sorted(missing)]
        if isinstance(want, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            problems += _field_differences(name, want, got)
    return problems


def _field_differences(type_name: str, want: Any, got: Any) -> list[str]:
    problems: list[str] = []
    for field_name, field in want.fields.items():
        where = f"{type_name}.{field_name}"
        served = got.fields.get(field_name)
        if served is None:
            problems.append(f"field {where} is missing")
            continue
        if str(served.type) != str(field.type):
            problems.append(f"field {where}: type {served.type} != {field.type}")
        if field.description and served.description != field.description:
            problems.append(f"field {where}: description {served.description!r} != {field.description!r}")
        for arg_name, arg in getattr(field, "args", {}).items():
            served_arg = served.args.get(arg_name)
            if served_arg is None:
                problems.append(f"argument {where}({arg_name}) is missing")
            elif str(served_arg.type) != str(arg.type):
                problems.append(f"argument {where}({arg_name}): type {served_arg.type} != {arg.type}")
        for arg_name, arg in getattr(served, "args", {}).items():
            if arg_name not in getattr(field, "args", {}) and is_required_argument(arg):
                problems.append(f"argument {where}({arg_name}) is new and required")
    if isinstance(want, GraphQLInputObjectType):
        for field_name, field in got.fields.items():
            if field_name not in want.fields and is_required_input_field(field):
                problems.append(f"input field {type_name}.{field_name} is new and required")
    return problems


@pytest.fixture(scope="module")
def baseline() -> GraphQLSchema:
    return build_schema(spec_file("operator.graphql").read_text())


def test_served_schema_offers_the_whole_contract(baseline: GraphQLSchema) -> None:
    served = build_served_schema()._schema
    assert contract_differences(baseline, served) == []


# templates-workspaces-git §12 (with §5.2, §5.5, §5.9, §2.3, §7.3, §8.2, §9, §11): everything the core schema
# serves beyond the baseline, with its exact names, arguments, types and nullability.
ADDITIONS = """
extend input WorkspaceCreateInput { sync: Boolean }
extend input WorkspaceUpdateInput { overwrite: Boolean }

type TemplateInputChoice { label: String! value: String! }
extend type TemplateDescriptor { description: String }
extend type TemplateInputDescriptor { help: String choices: [TemplateInputChoice!]! }

type WorkspaceLease {
  owner: String!
  createdAt: String!
  expiresAt: String
  expired: Boolean!
  workspace: String
}
extend type WorkspaceRef { lease: WorkspaceLease pool: String }
extend type WorkspaceStatus {
  lease: WorkspaceLease
  pool: String
  poolState: String
  reapBlockedReason: String
}

type TemplateChange { path: String! kind: String! }
type TemplateConflict { path: String! reason: String! base: JSON ours: JSON theirs: JSON }
type StackTemplateUpdateResult {
  changed: Boolean!
  changes: [TemplateChange!]!
  conflicts: [TemplateConflict!]!
  manifestDiff: String!
}
type ServiceTemplateUpdateResult {
  name: String!
  service: JSON
  changed: Boolean!
  changes: [TemplateChange!]!
  conflicts: [TemplateConflict!]!
}
input StackTemplateUpdateInput { dryRun: Boolean overwrite: Boolean inputs: [KeyValueInput!] }
input ServiceTemplateUpdateInput { inputs: [KeyValueInput!] dryRun: Boolean overwrite: Boolean }

type FileContent {
  path: String!
  source: String!
  content: String!
  etag: String!
  size: Int!
  sha256: String!
  encoding: String!
}
type FileRef {
  path: String!
  source: String!
  etag: String!
  name: String
  type: String
  size: Int
  mode: String
  modifiedAt: String
}

input WorkspaceLeaseInput { owner: String! ttl: String }
type WorkspaceAcquireResult { workspace: WorkspaceRef! warm: Boolean! }
type WorkspacePoolMember { name: String! state: String! owner: String expiresAt: String }
type WorkspacePoolStatus {
  name: String!
  template: String!
  size: Int!
  ttl: String!
  ready: Int!
  leased: Int!
  provisioning: Int!
  recycling: Int!
  failed: Int!
  members: [WorkspacePoolMember!]!
}
type WorkspaceReapResult { name: String! action: String! reason: String! }

extend type Query {
  file(source: String!, path: String!): FileContent!
  workspacePools: [WorkspacePoolStatus!]!
}
extend type Mutation {
  stackUpdateFromTemplate(input: StackTemplateUpdateInput): StackTemplateUpdateResult!
  serviceUpdateFromTemplate(name: String!, input: ServiceTemplateUpdateInput): ServiceTemplateUpdateResult!
  fileWrite(source: String!, path: String!, content: String!, etag: String): FileRef!
  workspaceLeaseAcquire(name: String!, input: WorkspaceLeaseInput!): WorkspaceLease!
  workspaceLeaseRelease(name: String!, owner: String!, discard: Boolean): MutationResult!
  workspacePoolAcquire(template: String!, input: WorkspaceLeaseInput!): WorkspaceAcquireResult!
  workspaceReap(dryRun: Boolean): [WorkspaceReapResult!]!
}
"""


def extended_contract() -> GraphQLSchema:
    """The baseline SDL with the §12 additions (SDL cannot extend arguments: ``force`` is patched in)."""
    text = spec_file("operator.graphql").read_text()
    destroy = "workspaceDestroy(name: String!, purge: Boolean)"
    assert destroy in text
    text = text.replace(destroy, "workspaceDestroy(name: String!, purge: Boolean, force: Boolean)")
    return build_schema(text + ADDITIONS)


def test_core_schema_is_the_contract_plus_exactly_the_schema_additions() -> None:
    expected = extended_contract()
    served = build_served_schema([])._schema
    assert contract_differences(expected, served) == []
    assert contract_differences(served, expected) == []
    destroy = served.mutation_type.fields["workspaceDestroy"]
    assert list(destroy.args) == ["name", "purge", "force"] and str(destroy.args["force"].type) == "Boolean"


def test_the_additions_are_served_and_introspectable(baseline: GraphQLSchema) -> None:
    """The served schema (with whatever plugins are installed) still offers the baseline and the additions."""
    served = build_served_schema()._schema
    expected = extended_contract()
    assert contract_differences(expected, served) == []
    assert contract_differences(baseline, served) == []


def test_the_comparison_catches_changes(baseline: GraphQLSchema) -> None:
    changed = (
        spec_file("operator.graphql")
        .read_text()
        .replace("  health: String\n}\n\ntype JobState", "  health: String!\n}\n\ntype JobState")
        .replace("serviceEndpoint(name: String!)", "serviceEndpoint(service: String!)")
        .replace("  conflictFiles: [String!]!\n", "  conflictFiles: [String]!\n")
        .replace("type RouteRef {\n  service: String!\n  url: String!\n}\n", "")
        .replace("  routes: [RouteRef!]!\n", "")
        .replace('"Emitted whenever the aggregate stack snapshot\'s hash changes."\n', "")
        .replace("input WorkspaceUpdateInput {\n", "input WorkspaceUpdateInput {\n  reason: String!\n")
    )
    problems = contract_differences(baseline, build_schema(changed))
    assert "field ServiceState.health: type String! != String" in problems
    assert "argument Query.serviceEndpoint(name) is missing" in problems
    assert "field GitOpResult.conflictFiles: type [String]! != [String!]!" in problems
    assert "type RouteRef is missing" in problems
    assert "field IngressStatus.routes is missing" in problems
    assert any(p.startswith("field Subscription.onStackSnapshotChange: description") for p in problems)
    assert "input field WorkspaceUpdateInput.reason is new and required" in problems


def test_operator_schema_command_prints_the_served_sdl(baseline: GraphQLSchema) -> None:
    from angee.cli.schema_cmd import schema

    result = CliRunner().invoke(schema, [])
    assert result.exit_code == 0, result.output
    printed = build_schema(result.output)
    assert contract_differences(baseline, printed) == []
    assert "scalar JSON" in result.output
    assert "input KeyValueInput {" in result.output
    assert '"""Emitted whenever the aggregate stack snapshot\'s hash changes."""' in result.output
