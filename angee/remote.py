"""``RemotePlatform``: the Platform's public methods over an operator's REST API (operator-and-cli §6.5).

Same method names and signatures as :class:`angee.platform.Platform` for every operation with a REST
route, returning the same :mod:`angee.api` dataclasses (decoded from the snake_case wire form), so CLI
commands never know which one they hold. Errors are re-typed per §2 "Remote CLI": 404 → NotFound, 409 →
Conflict, 400 → InvalidInput (keeping ``kind``/``name``/``field``/``reason``), anything else a
RuntimeFailure, each with the message ``operator returned HTTP <status>: <error>``. Stdlib only
(``urllib.request``) so the CLI stays light; streams are read line by line as they arrive.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.client import HTTPResponse
from typing import Any

from angee.errors import AngeeError, Conflict, InvalidInput, NotFound, RuntimeFailure

Output = Callable[[str], None] | None
IN_BAND_ERROR = "angee: "


# --------------------------------------------------------------------------- wire decoding


def _zero(tp: Any) -> Any:
    origin = typing.get_origin(tp) or tp
    if origin in (list, tuple):
        return []
    if origin is dict:
        return {}
    return {str: "", int: 0, float: 0.0, bool: False}.get(origin)


def from_wire(tp: Any, data: Any) -> Any:
    """Decode snake_case wire data into ``tp`` (a dataclass, ``list[...]``, ``dict[str, ...]``, scalar).

    Omitted ``key?`` fields take their defaults; unknown keys are ignored (a newer operator may add some).
    """
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (list, tuple) and isinstance(data, list):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return [from_wire(item, x) for x in data]
    if origin is dict and isinstance(data, dict):
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        return {k: from_wire(value_type, v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return from_wire(options[0], data) if options else data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(data, dict):
        hints = typing.get_type_hints(tp)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            key = f.metadata.get("wire", f.name)
            if key in data:
                kwargs[f.name] = from_wire(hints.get(f.name, Any), data[key])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                kwargs[f.name] = _zero(hints.get(f.name, Any))
        return tp(**kwargs)
    return data


def wire_type(name: str) -> Any:
    """A wire type by class name: :mod:`angee.api` (and its submodules), else ``None`` (raw data)."""
    import importlib

    for module_name in (
        "angee.api",
        "angee.api.runtime",
        "angee.api.templates",
        "angee.api.template_updates",
        "angee.api.sources",
        "angee.api.workspaces",
        "angee.api.pool",
        "angee.platform.ingress",
        "angee.compile",
        "angee.operator.tokens",
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, name, None)
        if isinstance(found, type):
            return found
    return None


def decode(spec: str, data: Any) -> Any:
    """Decode by a type spec string: ``"SecretRef"``, ``"list[SourceState]"``, ``"str"``; types that do
    not exist (yet) leave the data as plain JSON."""
    if spec.startswith("list[") and spec.endswith("]"):
        return [decode(spec[5:-1], x) for x in data] if isinstance(data, list) else data
    tp = wire_type(spec)
    return from_wire(tp, data) if tp is not None else data


# --------------------------------------------------------------------------- errors


def remote_error(status: int, body: bytes, reason: str = "") -> AngeeError:
    """The typed error for an operator reply with ``status >= 300`` (§2 "Remote CLI")."""
    text = body.decode("utf-8", "replace")
    payload: dict[str, Any] = {}
    try:
        parsed = json.loads(text) if text.strip() else {}
        payload = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        payload = {}
    detail = str(payload.get("error") or "")
    message = f"operator returned HTTP {status}: {detail or text.strip() or reason}"
    if detail:
        if status == 404:
            return NotFound(str(payload.get("kind") or ""), str(payload.get("name") or ""), message=message)
        if status == 409:
            err = Conflict(
                str(payload.get("kind") or ""),
                str(payload.get("name") or ""),
                str(payload.get("reason") or ""),
                message=message,
                conflicts=payload.get("conflicts"),
            )
            return err
        if status == 400:
            return InvalidInput(
                str(payload.get("field") or ""), str(payload.get("reason") or detail), message=message
            )
    return RuntimeFailure(message, output=str(payload.get("output") or ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # ≥300 is an error, never followed
        return None


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# --------------------------------------------------------------------------- the client


class RemotePlatform:
    """A Platform whose every call is one REST request to an operator at ``url``."""

    def __init__(self, url: str, token: str = "", *, timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.root = self.url
        self.token = token or ""
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    # ------------------------------------------------------------------ transport

    def _open(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None
    ) -> HTTPResponse:
        url = self.url + path
        if query:
            pairs: list[tuple[str, str]] = []
            for key, value in query.items():
                if isinstance(value, list | tuple):
                    pairs.extend((key, str(v)) for v in value)
                elif value not in (None, "", False):
                    pairs.append((key, "true" if value is True else str(value)))
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                raise remote_error(exc.code, exc.read(), exc.reason or "") from None
        except urllib.error.URLError as exc:
            raise RuntimeFailure(f"cannot reach operator at {self.url}: {exc.reason}") from None
        except OSError as exc:
            raise RuntimeFailure(f"cannot reach operator at {self.url}: {exc}") from None

    def _json(self, method: str, path: str, result: str, **kw: Any) -> Any:
        with self._open(method, path, **kw) as response:
            raw = response.read()
            if response.status >= 300:
                raise remote_error(response.status, raw, response.reason)
        try:
            data = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise RuntimeFailure(f"operator returned invalid JSON for {method} {path}") from None
        return decode(result, data)

    def _text(self, method: str, path: str, **kw: Any) -> str:
        with self._open(method, path, **kw) as response:
            return response.read().decode("utf-8", "replace")

    def _lines(self, method: str, path: str, *, in_band_errors: bool = False, **kw: Any) -> Iterator[str]:
        """The response body line by line as it arrives; closing the iterator closes the connection.

        With ``in_band_errors`` a final ``angee: <message>`` line (a failure after the 200) is raised as
        a RuntimeFailure instead of being yielded.
        """
        response = self._open(method, path, **kw)

        def lines() -> Iterator[str]:
            held: str | None = None
            with response:
                for raw in response:
                    line = raw.decode("utf-8", "replace")
                    if held is not None:
                        yield held
                        held = None
                    if in_band_errors and line.startswith(IN_BAND_ERROR):
                        held = line
                        continue
                    yield line
            if held is not None:
                raise RuntimeFailure(held[len(IN_BAND_ERROR) :].rstrip("\r\n"))

        return lines()

    def _stream_to(self, output: Output, method: str, path: str, **kw: Any) -> None:
        for line in self._lines(method, path, in_band_errors=True, **kw):
            if output is not None:
                output(line.rstrip("\r\n"))

    # ------------------------------------------------------------------ meta

    def health(self) -> Any:
        """``GET /healthz``."""
        return self._json("GET", "/healthz", "MutationResult")

    def mcp_descriptor(self) -> dict[str, Any]:
        """``GET /mcp``."""
        return self._json("GET", "/mcp", "dict")

    def ingress_status(self) -> Any:
        return self._json("GET", "/ingress/status", "IngressStatus")

    # ------------------------------------------------------------------ stack

    def stack_status(self) -> Any:
        return self._json("GET", "/stack/status", "StackStatus")

    def stack_init(
        self,
        template: str,
        path: str | None = None,
        inputs: dict[str, str] | None = None,
        force: bool = False,
    ) -> Any:
        body = {
            "template": template,
            "path": path or "",
            "inputs": dict(inputs or {}),
            "force": force,
            "yes": True,
        }
        return self._json("POST", "/stack/init", "StackInitResult", body=body)

    def stack_update(self) -> Any:
        return self._json("POST", "/stack/update", "MutationResult")

    def stack_update_from_template(
        self, dry_run: bool = False, overwrite: bool = False, inputs: dict[str, str] | None = None
    ) -> Any:
        body = {"template": True, "dry_run": dry_run, "overwrite": overwrite, "inputs": dict(inputs or {})}
        return self._json("POST", "/stack/update", "StackTemplateUpdateResult", body=body)

    def stack_prepare(self) -> Any:
        return self._json("POST", "/stack/prepare", "CompiledStack")

    def stack_build(self, services: list[str] | None = None, output: Output = None) -> Any:
        return self._json("POST", "/stack/build", "MutationResult", body={"services": list(services or [])})

    def stack_up(self, services: list[str] | None = None, build: bool = False, output: Output = None) -> Any:
        """``up``: streamed through ``POST /stack/up/stream`` when ``output`` is given, else detached."""
        body = {"services": list(services or []), "build": build}
        if output is None:
            return self._json("POST", "/stack/up", "MutationResult", body=body)
        self._stream_to(output, "POST", "/stack/up/stream", body=body)
        return decode("MutationResult", {"status": "started"})

    def stack_dev(self, build: bool = False, detach: bool = False, output: Output = None) -> Any:
        """``dev -d`` → ``POST /stack/dev``; ``dev`` → ``POST /stack/dev/stream`` streamed to ``output``."""
        if detach:
            return self._json("POST", "/stack/dev", "MutationResult", body={"build": build})
        self._stream_to(output, "POST", "/stack/dev/stream", body={"build": build})
        return decode("MutationResult", {"status": "stopped"})

    def stack_down(self, output: Output = None) -> Any:
        return self._json("POST", "/stack/down", "MutationResult")

    def stack_destroy(self, purge: bool = False) -> Any:
        return self._json("POST", "/stack/destroy", "MutationResult", query={"purge": purge})

    def stack_logs(
        self, services: list[str] | None = None, follow: bool = False, tail: int = 0
    ) -> Iterator[str]:
        return self._lines("GET", "/stack/logs", query={"service": list(services or []), "follow": follow})

    # ------------------------------------------------------------------ services

    def services_list(self) -> list[Any]:
        return self._json("GET", "/services", "list[ServiceState]")

    def service_init(self, request: Any) -> Any:
        body = {k: v for k, v in _fields(request).items() if v is not None}
        return self._json("POST", "/services", "MutationResult", body=body)

    def service_create(
        self,
        template: str,
        workspace: str,
        inputs: dict[str, str] | None = None,
        name: str = "",
        start: bool = False,
    ) -> Any:
        body = {
            "template": template,
            "workspace": workspace,
            "inputs": dict(inputs or {}),
            "name": name,
            "start": start,
        }
        return self._json("POST", "/services/create", "ServiceState", body=body)

    def service_update(self, name: str, request: Any) -> Any:
        body = {k: v for k, v in _fields(request).items() if v is not None and k not in ("name", "start")}
        return self._json("PATCH", f"/services/{_seg(name)}", "MutationResult", body=body)

    def service_update_from_template(
        self, name: str, inputs: dict[str, str] | None = None, dry_run: bool = False, overwrite: bool = False
    ) -> Any:
        body = {"inputs": dict(inputs or {}), "dry_run": dry_run, "overwrite": overwrite}
        return self._json(
            "POST", f"/services/{_seg(name)}/template/update", "ServiceTemplateUpdateResult", body=body
        )

    def service_destroy(self, name: str, stop: bool = True) -> Any:
        query = None if stop else {"stop": "false"}
        return self._json("POST", f"/services/{_seg(name)}/destroy", "MutationResult", query=query)

    def service_up(self, name: str, output: Output = None) -> Any:
        return self._json("POST", f"/services/{_seg(name)}/up", "MutationResult")

    def service_start(self, name: str) -> Any:
        return self._json("POST", f"/services/{_seg(name)}/start", "MutationResult")

    def service_stop(self, name: str) -> Any:
        return self._json("POST", f"/services/{_seg(name)}/stop", "MutationResult")

    def service_restart(self, name: str) -> Any:
        return self._json("POST", f"/services/{_seg(name)}/restart", "MutationResult")

    def service_logs(self, name: str, follow: bool = False, tail: int = 0) -> Iterator[str]:
        return self._lines("GET", f"/services/{_seg(name)}/logs", query={"follow": follow})

    def service_endpoint(self, name: str) -> Any:
        return self._json("GET", f"/services/{_seg(name)}/endpoint", "ServiceEndpoint")

    # ------------------------------------------------------------------ jobs

    def jobs_list(self) -> list[Any]:
        return self._json("GET", "/jobs", "list[JobState]")

    def job_run(self, name: str, inputs: dict[str, str] | None = None, output: Output = None) -> str:
        """The captured output (returned whole; a failed job raises with ``output`` set)."""
        return self._text("POST", f"/jobs/{_seg(name)}/run", body={"inputs": dict(inputs or {})})

    # ------------------------------------------------------------------ sources

    def sources_list(self) -> list[Any]:
        return self._json("GET", "/sources", "list[SourceState]")

    def source_status(self, name: str) -> Any:
        return self._json("GET", f"/sources/{_seg(name)}/status", "SourceState")

    def source_fetch(self, name: str) -> Any:
        return self._json("POST", f"/sources/{_seg(name)}/fetch", "SourceState")

    def source_pull(self, name: str) -> Any:
        return self._json("POST", f"/sources/{_seg(name)}/pull", "SourceState")

    def source_push(self, name: str, ref: str = "") -> Any:
        return self._json("POST", f"/sources/{_seg(name)}/push", "SourceState", body={"ref": ref})

    def source_diff(self, name: str, ref: str = "") -> list[Any]:
        return self._json("GET", f"/sources/{_seg(name)}/diff", "list[DiffFile]", query={"ref": ref})

    # ------------------------------------------------------------------ workspaces

    def workspaces_list(self) -> list[Any]:
        return self._json("GET", "/workspaces", "list[WorkspaceRef]")

    def workspace_create(
        self,
        template: str,
        name: str = "",
        inputs: dict[str, str] | None = None,
        ttl: str = "",
        sync: bool = False,
    ) -> Any:
        body = {"template": template, "name": name, "inputs": dict(inputs or {}), "ttl": ttl, "sync": sync}
        return self._json("POST", "/workspaces", "WorkspaceRef", body=body)

    def workspace_create_preflight(
        self, template: str, name: str = "", inputs: dict[str, str] | None = None, ttl: str = ""
    ) -> Any:
        body = {"template": template, "name": name, "inputs": dict(inputs or {}), "ttl": ttl}
        return self._json("POST", "/workspaces/preflight", "WorkspaceCreatePreflight", body=body)

    def workspace_get(self, name: str) -> Any:
        return self._json("GET", f"/workspaces/{_seg(name)}", "WorkspaceRef")

    def workspace_update(
        self, name: str, inputs: dict[str, str] | None = None, ttl: str | None = None, overwrite: bool = False
    ) -> Any:
        body: dict[str, Any] = {"overwrite": overwrite}
        if inputs is not None:
            body["inputs"] = dict(inputs)
        if ttl is not None:
            body["ttl"] = ttl
        return self._json("PATCH", f"/workspaces/{_seg(name)}", "WorkspaceRef", body=body)

    def workspace_status(self, name: str) -> Any:
        return self._json("GET", f"/workspaces/{_seg(name)}/status", "WorkspaceStatus")

    def workspace_logs(self, name: str, follow: bool = False) -> Iterator[str]:
        return self._lines("GET", f"/workspaces/{_seg(name)}/logs", query={"follow": follow})

    def workspace_destroy(self, name: str, purge: bool = False, force: bool = False) -> Any:
        return self._json(
            "POST",
            f"/workspaces/{_seg(name)}/destroy",
            "MutationResult",
            query={"purge": purge, "force": force},
        )

    def workspace_git(self, name: str) -> list[Any]:
        return self._json("GET", f"/workspaces/{_seg(name)}/git", "list[SourceState]")

    def workspace_push(self, name: str, ref: str = "") -> list[Any]:
        return self._json("POST", f"/workspaces/{_seg(name)}/push", "list[SourceState]", body={"ref": ref})

    def workspace_sync_base(self, name: str, method: str = "") -> list[Any]:
        return self._json(
            "POST", f"/workspaces/{_seg(name)}/sync-base", "list[SourceState]", body={"method": method}
        )

    def workspace_lease(self, name: str, owner: str, ttl: str = "") -> Any:
        body = {"owner": owner, "ttl": ttl}
        return self._json("POST", f"/workspaces/{_seg(name)}/lease", "WorkspaceLease", body=body)

    def workspace_release(self, name: str, owner: str, discard: bool = False) -> Any:
        query = {"owner": owner, "discard": discard}
        return self._json("DELETE", f"/workspaces/{_seg(name)}/lease", "MutationResult", query=query)

    def workspace_pool_acquire(self, pool: str, owner: str, ttl: str = "") -> Any:
        body = {"owner": owner, "ttl": ttl}
        return self._json("POST", f"/workspaces/pool/{_seg(pool)}/acquire", "WorkspaceRef", body=body)

    def workspace_pools(self) -> list[Any]:
        return self._json("GET", "/workspaces/pool", "list[WorkspacePoolStatus]")

    def workspace_reap(self, dry_run: bool = False) -> list[Any]:
        return self._json("POST", "/workspaces/reap", "list[WorkspaceReapResult]", query={"dry_run": dry_run})

    # ------------------------------------------------------------------ workspace source slots

    def _slot(self, workspace: str, slot: str, op: str) -> str:
        return f"/workspaces/{_seg(workspace)}/sources/{_seg(slot)}/{op}"

    def workspace_source_fetch(self, workspace: str, slot: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "fetch"), "WorkspaceSourceStatus")

    def workspace_source_pull(self, workspace: str, slot: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "pull"), "WorkspaceSourceStatus")

    def workspace_source_push(self, workspace: str, slot: str, ref: str = "") -> Any:
        return self._json(
            "POST", self._slot(workspace, slot, "push"), "WorkspaceSourceStatus", body={"ref": ref}
        )

    def workspace_source_diff(self, workspace: str, slot: str, ref: str = "") -> list[Any]:
        return self._json("GET", self._slot(workspace, slot, "diff"), "list[DiffFile]", query={"ref": ref})

    def workspace_source_merge(self, workspace: str, slot: str, ref: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "merge"), "GitOpResult", body={"ref": ref})

    def workspace_source_rebase(self, workspace: str, slot: str, ref: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "rebase"), "GitOpResult", body={"ref": ref})

    def workspace_source_merge_abort(self, workspace: str, slot: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "merge-abort"), "GitOpResult")

    def workspace_source_rebase_abort(self, workspace: str, slot: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "rebase-abort"), "GitOpResult")

    def workspace_source_rebase_continue(self, workspace: str, slot: str) -> Any:
        return self._json("POST", self._slot(workspace, slot, "rebase-continue"), "GitOpResult")

    def workspace_source_publish(
        self, workspace: str, slot: str, remote: str = "origin", branch: str = ""
    ) -> Any:
        body = {"remote": remote or "origin", "branch": branch}
        return self._json("POST", self._slot(workspace, slot, "publish"), "GitOpResult", body=body)

    # ------------------------------------------------------------------ gitops, templates

    def gitops_topology(self, with_commits: int = 0) -> Any:
        query = {"with_commits": with_commits} if with_commits > 0 else None
        return self._json("GET", "/gitops/topology", "GitOpsTopology", query=query)

    def templates_list(self) -> list[Any]:
        return self._json("GET", "/templates", "list[TemplateDescriptor]")

    def template_get(self, ref: str) -> Any:
        return self._json("GET", "/templates/" + urllib.parse.quote(ref, safe="/"), "TemplateDescriptor")

    # ------------------------------------------------------------------ secrets

    def secrets_list(self) -> list[Any]:
        return self._json("GET", "/secrets", "list[SecretRef]")

    def secret_get(self, name: str) -> Any:
        return self._json("GET", f"/secrets/{_seg(name)}", "SecretRef")

    def secret_value(self, name: str) -> Any:
        return self._json("GET", f"/secrets/{_seg(name)}/value", "SecretValue")

    def secret_set(self, name: str, value: str) -> Any:
        return self._json("POST", f"/secrets/{_seg(name)}", "SecretRef", body={"value": value})

    def secret_delete(self, name: str) -> Any:
        return self._json("DELETE", f"/secrets/{_seg(name)}", "MutationResult")

    # ------------------------------------------------------------------ tokens

    def mint_connection_token(self, actor: str, scope: list[str] | None = None, ttl: str = "") -> Any:
        body = {"actor": actor, "scope": list(scope or []), "ttl": ttl}
        return self._json("POST", "/tokens/mint", "ConnectionToken", body=body)

    def mint_route_token(self, actor: str, service: str, ttl: str = "") -> Any:
        body = {"actor": actor, "service": service, "ttl": ttl}
        return self._json("POST", "/tokens/route", "ConnectionToken", body=body)

    # ------------------------------------------------------------------ files

    def file_list(self, path: str = "", workspace: str = "", recursive: bool = False) -> list[Any]:
        query = {"path": path, "workspace": workspace, "recursive": recursive}
        return self._json("GET", "/files", "list[FileRef]", query=query)

    def file_stat(self, path: str, workspace: str = "") -> Any:
        return self._json("GET", "/files/stat", "FileRef", query={"path": path, "workspace": workspace})

    def file_content(self, path: str, workspace: str = "") -> Any:
        return self._json(
            "GET", "/files/content", "FileContent", query={"path": path, "workspace": workspace}
        )

    def file_put(
        self,
        path: str,
        content: str,
        workspace: str = "",
        encoding: str = "utf-8",
        create_dirs: bool = False,
        if_match: str = "",
    ) -> tuple[Any, bool]:
        """``(FileRef, created)``: created is the 201 of the operator."""
        body = {
            "path": path,
            "workspace": workspace,
            "content": content,
            "encoding": encoding,
            "create_dirs": create_dirs,
            "if_match": if_match,
        }
        with self._open("PUT", "/files/content", body=body) as response:
            raw, status = response.read(), response.status
        return decode("FileRef", json.loads(raw)), status == 201

    def file_delete(self, path: str, workspace: str = "") -> Any:
        return self._json("DELETE", "/files", "MutationResult", query={"path": path, "workspace": workspace})


def _fields(request: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(request) and not isinstance(request, type):
        return {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}
    return dict(request or {})
