"""The operator's Flask application factory (operator-and-cli §1, §2, §4).

``create_app(root, ...)`` binds one stack root: it builds the Platform, resolves the token signing key,
registers the REST blueprints (flask-smorest, OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``),
installs the bearer gate, the cross-origin check and the body cap, maps every error to the contract's
ErrorResponse, mounts plugin blueprints, and finally lets ``angee.operator.graphql.install(app, ctx)``
add GraphQL and the WebSocket transports when that module exists.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from angee import __version__, operations
from angee.errors import AngeeError, NotImplementedYet, Unauthorized
from angee.operator.auth import Authenticator, cross_origin_allowed, is_auth_exempt
from angee.operator.rest.batching import ReadBatcher
from angee.operator.tokens import TokenService, resolve_signing_key

BODY_CAP = 1 << 20
# Writes of whole files may exceed the general cap (templates-workspaces-git §9: "body limit ≥ 8 MiB").
BODY_CAPS = {"files.fileWrite": 8 << 20}
DOCS_PATH = "docs"
SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"


@dataclass
class OperatorContext:
    """What every surface of one operator shares; ``app.extensions["angee"]``.

    ``on_start``/``on_stop`` register background workers (GraphQL hub pollers, ...): the server calls
    :meth:`start` in the serving process once it is ready and :meth:`stop` when shutdown begins;
    ``stopping`` is set from then on so open streams end and in-flight requests can finish.
    """

    root: str
    platform: Any
    auth: Authenticator
    tokens: TokenService
    allowed_origins: tuple[str, ...] = ()
    version: str = __version__
    stopping: threading.Event = field(default_factory=threading.Event)
    reads: ReadBatcher = field(default_factory=ReadBatcher)
    _start_hooks: list[Callable[[], Any]] = field(default_factory=list)
    _stop_hooks: list[Callable[[], Any]] = field(default_factory=list)
    _started: bool = False

    def on_start(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` when the server starts serving (after any fork)."""
        self._start_hooks.append(hook)

    def on_stop(self, hook: Callable[[], Any]) -> None:
        """Run ``hook`` when graceful shutdown begins (e.g. stop the event hub)."""
        self._stop_hooks.append(hook)

    def start(self) -> None:
        """Run the start hooks once (idempotent)."""
        if self._started:
            return
        self._started = True
        for hook in self._start_hooks:
            _run_hook(hook, "start")

    def stop(self) -> None:
        """Signal shutdown: set ``stopping`` and run the stop hooks once."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        for hook in self._stop_hooks:
            _run_hook(hook, "stop")


def _run_hook(hook: Callable[[], Any], what: str) -> None:
    try:
        hook()
    except Exception as exc:  # a failing background worker must not take the operator down
        print(f"operator: {what} hook failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def operator_context(app: Flask) -> OperatorContext:
    """The :class:`OperatorContext` of an app built by :func:`create_app`."""
    return app.extensions["angee"]


def _json_response(app: Flask, body: dict[str, Any], status: int) -> Response:
    return app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def _install_errors(app: Flask) -> None:
    """Map every failure to the ErrorResponse of §2 (overriding Flask's and flask-smorest's envelopes)."""

    def angee_error(exc: AngeeError) -> Response:
        status = 501 if isinstance(exc, NotImplementedYet) else exc.http_status
        return _json_response(app, exc.to_wire(), status)

    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        if code == 404:
            body = {"error": "not found"}
        elif code == 405:
            body = {"error": "method not allowed"}
        elif code == 413:
            body = {"error": "request body too large"}
        elif code == 400:
            body = {"error": exc.description or "bad request"}
        else:
            body = {"error": (exc.description or exc.name or "error")}
        response = _json_response(app, body, code)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            allowed = sorted(set(exc.valid_methods) - {"OPTIONS"})
            response.headers["Allow"] = ", ".join(allowed)
        return response

    def unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        print(f"operator: {request.method} {request.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("ANGEE_DEBUG", "") not in ("", "0", "false"):
            traceback.print_exc()
        return _json_response(app, {"error": str(exc) or type(exc).__name__}, 500)

    app.register_error_handler(AngeeError, angee_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def _install_gate(app: Flask, ctx: OperatorContext) -> None:
    """Bearer gate (§4.1) → cross-origin check (§4.5) → body cap, before every routed view."""
    unauthorized = Unauthorized().to_wire()
    rejected = {"error": "cross-origin request rejected"}

    @app.before_request
    def gate() -> Response | None:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and is_auth_exempt(view, request.method):
            return None
        principal = ctx.auth.check_header(request.headers.get("Authorization"))
        if principal is None:
            return _json_response(app, unauthorized, 401)
        g.principal = principal
        if not cross_origin_allowed(request.method, request.headers, ctx.allowed_origins):
            return _json_response(app, rejected, 403)
        cap = BODY_CAPS.get(request.endpoint or "", BODY_CAP)
        request.max_content_length = cap
        if request.content_length is not None and request.content_length > cap:
            return _json_response(app, {"error": "request body too large"}, 413)
        return None


def _install_docs_assets(app: Flask) -> str:
    """Serve the Swagger UI assets locally when ``swagger-ui-bundle`` is installed; else use the CDN."""
    try:
        import swagger_ui_bundle  # type: ignore[import-not-found]
    except ImportError:
        return SWAGGER_UI_CDN
    from flask import send_from_directory

    folder = swagger_ui_bundle.swagger_ui_path

    def docs_assets(file: str) -> Response:
        return send_from_directory(folder, file)

    rule = operations.flask_rule(operations.get("apiDocsAssets").rest_path)
    app.add_url_rule(rule, endpoint="apiDocsAssets", view_func=docs_assets, methods=["GET"])
    return f"/{DOCS_PATH}/assets/"


def _mount_plugin_blueprints(app: Flask, platform: Any) -> None:
    """Blueprints contributed through the ``angee_operator_blueprints`` hook (a broken one is reported)."""
    plugins = getattr(platform, "plugins", None)
    if plugins is None or not hasattr(plugins, "call_each"):
        return
    try:
        contributed = plugins.call_each("angee_operator_blueprints")
    except Exception as exc:
        print(f"operator: plugin blueprints: {exc}", file=sys.stderr)
        return
    for plugin, blueprints in contributed:
        for blueprint in blueprints or []:
            try:
                app.register_blueprint(blueprint)
            except Exception as exc:
                print(f"operator: plugin {plugin}: blueprint rejected: {exc}", file=sys.stderr)


def _install_graphql(app: Flask, ctx: OperatorContext) -> None:
    """``angee.operator.graphql.install(app, ctx)`` when the GraphQL transport module exists."""
    try:
        module = importlib.import_module("angee.operator.graphql")
    except ModuleNotFoundError as exc:
        if exc.name in ("angee.operator.graphql",):
            return
        raise
    install = getattr(module, "install", None)
    if not callable(install):
        return
    surface = install(app, ctx)
    # The surface's background workers (event hub) follow the server's lifecycle.
    for attr, register in (("start", ctx.on_start), ("stop", ctx.on_stop)):
        hook = getattr(surface, attr, None)
        if callable(hook):
            register(hook)


def create_app(
    root: str,
    *,
    token: str | None = None,
    jwt_secret: str | None = None,
    allowed_origins: Iterable[str] = (),
    platform_factory: Callable[[str], Any] | None = None,
) -> Flask:
    """The operator's WSGI app for one stack root.

    ``token`` is the admin bearer (``None``/empty = open mode; callers enforce loopback); ``jwt_secret``
    overrides the token signing key (§4.2); ``allowed_origins`` feeds §4.4/§4.5; ``platform_factory(root)``
    builds the Platform (default :class:`angee.platform.Platform`).
    """
    from flask_smorest import Api

    from angee.operator.rest import all_blueprints
    from angee.operator.rest import schemas as s

    root = os.path.abspath(root)
    if platform_factory is None:
        from angee.platform import Platform

        platform_factory = Platform
    platform = platform_factory(root)
    tokens = TokenService(resolve_signing_key(jwt_secret, token))
    ctx = OperatorContext(
        root=root,
        platform=platform,
        auth=Authenticator(token, tokens),
        tokens=tokens,
        allowed_origins=tuple(o.strip() for o in allowed_origins if o and o.strip()),
    )

    app = Flask("angee.operator", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = True
    app.url_map.merge_slashes = False
    app.extensions["angee"] = ctx
    app.config.update(
        MAX_CONTENT_LENGTH=max(BODY_CAPS.values(), default=BODY_CAP),
        PROVIDE_AUTOMATIC_OPTIONS=False,
        API_TITLE="Angee operator",
        API_VERSION=ctx.version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH=DOCS_PATH,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
            "info": {"description": "REST surface of the Angee operator (snake_case JSON)."},
        },
    )

    app.config["OPENAPI_SWAGGER_UI_URL"] = _install_docs_assets(app)

    class OperatorApi(Api):
        ERROR_SCHEMA = s.ErrorResponse
        DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

        def _register_error_handlers(self) -> None:  # ours are installed below
            return None

    api = OperatorApi(app)
    for blueprint in all_blueprints():
        api.register_blueprint(blueprint)
    _install_gate(app, ctx)
    _install_errors(app)
    _mount_plugin_blueprints(app, platform)
    _install_graphql(app, ctx)
    return app
