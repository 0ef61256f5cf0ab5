"""The operation registry (§7) against the served app: routes, MCP descriptor (§5.5), owned CLI commands."""

from __future__ import annotations

from pathlib import Path

import click

from angee import __version__, operations
from angee.operator.app import create_app

UNCLAIMED_RULES = {"/graphql", "/openapi.json"}  # §7 rule 2 exempts these


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, rule.rule))
    return routes


def test_every_operation_has_each_surface_or_a_reason() -> None:
    assert operations.missing_surfaces() == []
    assert len({op.id for op in operations.OPERATIONS}) == len(operations.OPERATIONS)


def test_registered_routes_exist_and_nothing_unregistered_is_served(tmp_path: Path) -> None:
    app = create_app(str(tmp_path))
    served = served_routes(app)
    claimed = {(m, operations.flask_rule(p)) for m, p, _ in operations.rest_routes()}
    assert claimed - served == set()
    assert {(m, r) for m, r in served if r not in UNCLAIMED_RULES} - claimed == set()


def test_flask_rules_from_spec_paths() -> None:
    assert operations.flask_rule("/services/{name}/logs") == "/services/<name>/logs"
    assert operations.flask_rule("/templates/{ref...}") == "/templates/<path:ref>"
    assert operations.openapi_path("/templates/{ref...}") == "/templates/{ref}"


def test_mcp_descriptor_is_generated_from_the_registry(tmp_path: Path) -> None:
    descriptor = operations.mcp_descriptor(__version__)
    assert descriptor["name"] == "angee-operator" and descriptor["version"] == __version__
    tools = descriptor["tools"]
    for required in (
        "stack.status",
        "stack.up",
        "stack.down",
        "services.create",
        "workspaces.create",
        "sources.fetch",
    ):
        assert required in tools
    assert len(tools) == len(set(tools))
    assert all(tool.split(".")[0] in operations.MCP_GROUPS for tool in tools)
    assert "workspace_sources.merge_abort" in tools and "workspaces.sync_base" in tools
    assert "stack.up_stream" not in tools  # streaming routes are not tools
    by_tool = {entry["tool"]: entry for entry in descriptor["operations"]}
    assert by_tool["stack.status"] == {
        "tool": "stack.status",
        "operation": "stackStatus",
        "method": "GET",
        "path": "/stack/status",
        "graphql": "stackStatus",
        "mutating": False,
        "privileged": False,
    }
    assert by_tool["services.create"]["operation"] == "serviceCreate"
    assert {t for t, e in by_tool.items() if e["privileged"]} == {
        "secrets.value",
        "tokens.mint",
        "tokens.route",
        "files.write",
        "files.delete",
    }
    served = create_app(str(tmp_path)).test_client().get("/mcp").get_json()
    assert served == descriptor


def test_owned_cli_commands_exist() -> None:
    from angee.cli.operator_cmd import operator
    from angee.cli.token_cmd import token

    assert isinstance(operator, click.Group) and operator.invoke_without_command
    names = {p.name for p in operator.params}
    assert {"root", "bind", "port", "token", "jwt_secret", "allowed_origins"} <= names
    assert set(token.commands) == {"mint", "route"}
    claimed = {path for op in operations.OPERATIONS for path in op.cli}
    assert {"operator", "token mint", "token route"} <= claimed
