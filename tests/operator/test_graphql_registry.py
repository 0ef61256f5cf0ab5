"""The operation registry (operator-and-cli §7) against the served GraphQL schema and the Platform.

Rule (1): every GraphQL field the registry names is served; rule (2): every served root field (Query,
Mutation, Subscription) is claimed by an operation; and the registry's Platform method names are the
Platform's, so every adapter (REST, GraphQL, remote client) calls what exists.
"""

from __future__ import annotations

import inspect

from angee import operations
from angee.operator.graphql.schema import build_schema
from angee.platform import Platform
from tests.operator.test_graphql_fixture_stack import AWAITING_PLATFORM

# Operations served by the operator itself (tokens, MCP descriptor, health), not by a Platform method.
OPERATOR_LEVEL = {"health", "mcpDescriptor", "mintConnectionToken", "mintRouteToken"}


def served_root_fields() -> set[str]:
    schema = build_schema([])._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields}


def test_every_registered_graphql_field_is_served_and_every_served_field_is_registered() -> None:
    claimed = {field for op in operations.OPERATIONS for field in op.graphql}
    served = served_root_fields()
    assert claimed - served == set(), "registered but not served"
    assert served - claimed == set(), "served but not registered"


def test_each_graphql_field_is_claimed_once() -> None:
    seen: dict[str, str] = {}
    for op in operations.OPERATIONS:
        for field in op.graphql:
            assert field not in seen, f"{field} claimed by {seen[field]} and {op.id}"
            seen[field] = op.id


def test_the_schema_additions_are_registered_with_their_platform_methods() -> None:
    """templates-workspaces-git §12 operations: GraphQL field → registry row → Platform method."""
    expected = {
        "stackUpdateFromTemplate": "stack_update_from_template",
        "serviceUpdateFromTemplate": "service_update_from_template",
        "file": "file_read",
        "fileWrite": "file_write",
        "workspaceLeaseAcquire": "workspace_lease",
        "workspaceLeaseRelease": "workspace_release",
        "workspacePoolAcquire": "workspace_pool_acquire",
        "workspacePools": "workspace_pools",
        "workspaceReap": "workspace_reap",
    }
    by_field = {field: op for op in operations.OPERATIONS for field in op.graphql}
    assert {field: by_field[field].platform for field in expected} == expected


def test_registry_platform_methods_exist_on_the_platform() -> None:
    missing = [
        f"{op.id} → Platform.{op.platform}"
        for op in operations.OPERATIONS
        if op.platform
        and not callable(getattr(Platform, op.platform, None))
        and op.platform not in AWAITING_PLATFORM
    ]
    assert missing == []
    for op in operations.OPERATIONS:
        if op.graphql and not op.platform:
            assert op.id in OPERATOR_LEVEL or op.id == "stackSnapshot", f"{op.id} has no Platform method"


def test_graphql_arguments_reach_the_platform_signatures() -> None:
    """The keyword arguments the §12 resolvers pass exist on the Platform methods they call."""
    wanted = {
        "workspace_create": {"template", "name", "inputs", "ttl", "sync"},
        "workspace_update": {"name", "inputs", "ttl", "overwrite"},
        "workspace_destroy": {"name", "purge", "force"},
        "stack_update_from_template": {"dry_run", "overwrite", "inputs"},
        "service_update_from_template": {"name", "inputs", "dry_run", "overwrite"},
        "file_read": {"source", "path"},
        "file_write": {"source", "path", "content", "etag", "remote_addr"},
        "workspace_lease": {"name", "owner", "ttl"},
        "workspace_release": {"name", "owner", "discard"},
        "workspace_pool_acquire": {"pool", "owner", "ttl"},
        "workspace_reap": {"dry_run"},
    }
    for method, params in wanted.items():
        fn = getattr(Platform, method, None)
        assert callable(fn), f"Platform.{method} is missing"
        assert params <= set(inspect.signature(fn).parameters), f"Platform.{method}{inspect.signature(fn)}"
