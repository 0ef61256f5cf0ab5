"""REST rules of §1.1/§2 through the Flask app: router errors, bodies, flags, 501s, error mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from angee import operations
from angee.api import MutationResult
from angee.errors import Conflict, InvalidInput, NotFound, RuntimeFailure
from angee.operator.app import create_app, operator_context
from angee.platform import Platform
from tests.operator.conftest import make_stack

TOKEN = "T0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Recorder:
    """A Platform stand-in that records calls and returns or raises what a test sets."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.result: Any = MutationResult(status="ok")
        self.error: Exception | None = None

    def _record(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if self.error is not None:
                raise self.error
            return self.result

        return method

    def __getattr__(self, name: str) -> Any:
        if name in {op.platform for op in operations.OPERATIONS if op.platform}:
            return self._record(name)
        raise AttributeError(name)


class Bare:
    """A Platform with no operations at all: every contract route must answer 501."""

    def __init__(self, root: str) -> None:
        self.root = root


@pytest.fixture
def recorder_app(tmp_path: Path):
    app = create_app(str(tmp_path), token=TOKEN, platform_factory=Recorder)
    return app, app.test_client(), operator_context(app).platform


def post(client, path: str, body: Any = None, raw: bytes | None = None, **kw: Any):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return client.post(path, data=data, headers=AUTH, **kw)


def test_router_errors_are_json(recorder_app) -> None:
    _, client, _ = recorder_app
    missing = client.get("/no/such/route", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json() == {"error": "not found"}
    wrong = client.delete("/stack/status", headers=AUTH)
    assert wrong.status_code == 405 and wrong.get_json() == {"error": "method not allowed"}
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    slash = client.get("/stack/status/", headers=AUTH)
    assert slash.status_code == 404  # no trailing-slash redirects


def test_body_rules(recorder_app) -> None:
    _, client, platform = recorder_app
    # empty body is {}; unknown keys ignored; Content-Type not checked
    assert post(client, "/stack/build", raw=b"").status_code == 200
    assert platform.calls[-1] == ("stack_build", (), {"services": []})
    ok = post(client, "/stack/up", raw=b'{"services":["web"],"build":true,"extra":{"x":1}}')
    assert ok.status_code == 200 and platform.calls[-1] == (
        "stack_up",
        (),
        {"services": ["web"], "build": True},
    )
    # malformed and mistyped bodies are 400 with only an error message
    bad = post(client, "/stack/up", raw=b"{nope")
    assert bad.status_code == 400 and list(bad.get_json()) == ["error"]
    assert bad.get_json()["error"].startswith("invalid JSON body")
    typed = post(client, "/stack/up", {"services": "web"})
    assert typed.status_code == 400 and typed.get_json() == {"error": "services: Not a valid list."}
    not_object = post(client, "/stack/up", [1, 2])
    assert not_object.get_json() == {"error": "request body must be a JSON object"}
    # a missing required field names it
    missing = post(client, "/stack/init", {"path": "x"})
    assert missing.status_code == 400
    assert missing.get_json() == {
        "error": "template is required",
        "reason": "is required",
        "field": "template",
    }


def test_body_cap_is_413(recorder_app) -> None:
    _, client, _ = recorder_app
    big = post(client, "/stack/up", raw=b'{"services":["' + b"x" * (1 << 20) + b'"]}')
    assert big.status_code == 413 and big.get_json() == {"error": "request body too large"}


def test_query_flags_need_literal_true(recorder_app) -> None:
    _, client, platform = recorder_app
    for query, expected in (("?purge=true", True), ("?purge=1", False), ("?purge=True", False), ("", False)):
        post(client, "/stack/destroy" + query)
        assert platform.calls[-1] == ("stack_destroy", (), {"purge": expected})
    post(client, "/services/web/destroy?stop=false")
    assert platform.calls[-1] == ("service_destroy", ("web",), {"stop": False})
    post(client, "/services/web/destroy")
    assert platform.calls[-1] == ("service_destroy", ("web",), {"stop": True})


def test_repeated_params_form_lists_and_text_routes_stream(recorder_app) -> None:
    _, client, platform = recorder_app
    platform.result = iter(["a\n", "b"])
    response = client.get("/stack/logs?service=web&service=db&follow=true", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.get_data() == b"a\nb\n"
    assert platform.calls[-1] == ("stack_logs", (), {"services": ["web", "db"], "follow": True})


def test_gitops_with_commits_parsing(recorder_app) -> None:
    _, client, platform = recorder_app
    assert client.get("/gitops/topology?with_commits=abc", headers=AUTH).get_json() == {
        "error": "with_commits must be an integer"
    }
    negative = client.get("/gitops/topology?with_commits=-1", headers=AUTH).get_json()
    assert negative == {
        "error": "withCommits: must be non-negative",
        "reason": "must be non-negative",
        "field": "withCommits",
    }
    client.get("/gitops/topology?with_commits=5000", headers=AUTH)
    assert platform.calls[-1] == ("gitops_topology", (), {"with_commits": 1000})
    client.get("/gitops/topology", headers=AUTH)
    assert platform.calls[-1] == ("gitops_topology", (), {"with_commits": 0})


def test_path_segments_and_template_refs(recorder_app) -> None:
    _, client, platform = recorder_app
    client.get("/secrets/my%20key", headers=AUTH)
    assert platform.calls[-1] == ("secret_get", ("my key",), {})
    client.get("/templates/stacks/dev", headers=AUTH)
    assert platform.calls[-1] == ("template_get", ("stacks/dev",), {})
    assert client.post("/workspaces/preflight", headers=AUTH, json={"template": "t"}).status_code == 200
    assert platform.calls[-1][0] == "workspace_create_preflight"  # the literal route beats {name}


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            NotFound("service", "web"),
            404,
            {"error": 'service "web" is not declared', "kind": "service", "name": "web"},
        ),
        (InvalidInput("name", "bad"), 400, {"error": "name: bad", "reason": "bad", "field": "name"}),
        (
            Conflict("workspace", "w1", "already exists"),
            409,
            {
                "error": "workspace w1 conflicts: already exists",
                "kind": "workspace",
                "name": "w1",
                "reason": "already exists",
            },
        ),
        (
            RuntimeFailure('job "x" failed with exit code 3', output="boom\n"),
            500,
            {"error": 'job "x" failed with exit code 3', "output": "boom\n"},
        ),
        (ValueError("kaput"), 500, {"error": "kaput"}),
    ],
)
def test_errors_map_once(recorder_app, error: Exception, status: int, body: dict) -> None:
    _, client, platform = recorder_app
    platform.error = error
    response = client.post("/jobs/x/run", headers=AUTH)
    assert response.status_code == status and response.get_json() == body


def test_created_statuses(recorder_app) -> None:
    _, client, platform = recorder_app
    platform.result = MutationResult(status="created", name="web")
    created = post(client, "/services", {"name": "web", "image": "nginx", "env": {"A": "1"}})
    assert created.status_code == 201 and created.get_json() == {"status": "created", "name": "web"}
    request = platform.calls[-1][1][0]
    assert (request.name, request.image, request.env, request.command) == ("web", "nginx", {"A": "1"}, None)
    patch = client.patch("/services/web", headers=AUTH, json={"name": "ignored", "ports": []})
    assert patch.status_code == 200
    name, request = platform.calls[-1][1]
    assert name == "web" and request.ports == [] and request.name == "" and request.command is None


def test_job_logs_is_always_501(recorder_app) -> None:
    _, client, _ = recorder_app
    response = client.get("/jobs/x/logs", headers=AUTH)
    assert response.status_code == 501 and response.get_json() == {
        "error": "job logs are returned by job run"
    }


def test_every_platform_route_answers_501_until_the_platform_has_it(tmp_path: Path) -> None:
    app = create_app(str(tmp_path), platform_factory=Bare)
    client = app.test_client()
    checked = 0
    for method, path, op in operations.rest_routes():
        if not op.platform or op.streaming and not op.text:
            continue
        url = (
            path.replace("{name}", "n")
            .replace("{slot}", "s")
            .replace("{pool}", "p")
            .replace("{ref...}", "a/b")
        )
        response = client.open(
            url,
            method=method,
            json={
                "template": "t",
                "workspace": "w",
                "name": "n",
                "owner": "o",
                "ref": "r",
                "path": "p",
                "content": "",
            },
        )
        assert response.status_code == 501, (method, path, response.get_json())
        sharing = {o.id for o in operations.OPERATIONS if o.rest == (method, path)}
        assert response.get_json()["error"] in {f"{o} is not implemented yet" for o in sharing}
        checked += 1
    assert checked > 50


def test_missing_manifest_is_stack_not_found(tmp_path: Path) -> None:
    client = create_app(str(tmp_path)).test_client()
    response = client.get("/stack/status")
    assert response.status_code == 404
    assert response.get_json() == {"error": "stack not found", "kind": "stack"}


def test_service_endpoint_carries_a_route_token(tmp_path: Path) -> None:
    from angee.api.runtime import ServiceEndpoint

    app = create_app(str(tmp_path), token=TOKEN, platform_factory=Recorder)
    ctx = operator_context(app)
    ctx.platform.result = ServiceEndpoint(routed=False, url="", internal_host="web", internal_port=8080)
    minted = ctx.tokens.mint_connection("alice", [], "")
    body = (
        app.test_client()
        .get("/services/web/endpoint", headers={"Authorization": f"Bearer {minted.token}"})
        .get_json()
    )
    stream = body.pop("log_stream")
    assert body == {"routed": False, "url": "", "internal_host": "web", "internal_port": 8080}
    assert stream["url"] == "ws://localhost/services/web/logs/stream"
    assert (stream["target"], stream["protocol"]) == ("operator", "ws")
    claims = ctx.tokens.verify(stream["token"], "svc:web")
    assert claims is not None and claims.actor == "alice" and stream["expires_at"].endswith("Z")
    open_app = create_app(str(tmp_path), platform_factory=Recorder)
    operator_context(open_app).platform.result = ServiceEndpoint(
        routed=False, url="", internal_host="web", internal_port=0
    )
    open_stream = open_app.test_client().get("/services/web/endpoint").get_json()["log_stream"]
    assert "token" not in open_stream and "expires_at" not in open_stream


def test_real_platform_secret_routes(tmp_path: Path) -> None:
    root = make_stack(tmp_path / "stack")
    app = create_app(str(root), token=TOKEN)
    client = app.test_client()
    ref = client.post("/secrets/api_key", headers=AUTH, json={"value": "v1"}).get_json()
    assert ref == {
        "name": "api_key",
        "declared": True,
        "has_value": True,
        "required": True,
        "env_var": "ANGEE_SECRET_API_KEY",
    }
    empty = client.post("/secrets/api_key", headers=AUTH, json={"value": ""})
    assert empty.status_code == 400 and empty.get_json()["field"] == "value"
    bad_name = client.get("/secrets/bad%20name", headers=AUTH)
    assert bad_name.status_code == 400 and bad_name.get_json()["field"] == "name"
    assert client.get("/secrets/ghost/value", headers=AUTH).get_json()["kind"] == "secret"
    assert client.delete("/secrets/api_key", headers=AUTH).get_json() == {
        "status": "deleted",
        "name": "api_key",
    }
    assert Platform(str(root)).secret_get("api_key").has_value is False
