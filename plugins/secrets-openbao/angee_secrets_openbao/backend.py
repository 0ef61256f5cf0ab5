"""The OpenBao KV v2 secrets backend (spec manifest-and-runtime §7.4, §7.5) on hvac.

Every failure becomes one typed, one-line error naming the address and the KV path; a secret value
never appears in a message. hvac and requests are imported inside methods (the CLI imports plugins at start).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from angee.contracts import SecretsBackend
from angee.errors import AngeeError, RuntimeFailure
from angee_secrets_openbao.settings import OpenBaoSettings

RUNTIME_ENV_FILE = os.path.join("run", "secrets.env")
_MOUNT_MISSING_MARKERS = ("no handler for route", "preflight capability check")
_HEALTHY_STATUSES = (200, 429, 472, 473)  # active, standby, DR secondary, performance standby


def _server_errors(response: Any) -> list[str]:
    """The ``errors`` strings of an OpenBao error body (``[]`` when the body is not the usual JSON)."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str(e) for e in errors] if isinstance(errors, list) else []


def _mount_missing(errors: list[str]) -> bool:
    """Whether OpenBao's error texts say the mount has no route (it is not enabled)."""
    joined = "; ".join(errors)
    return any(marker in joined for marker in _MOUNT_MISSING_MARKERS)


def _absent(response: Any) -> bool:
    """A 404 that means "no such key" (not "no such mount")."""
    return response.status_code == 404 and not _mount_missing(_server_errors(response))


class OpenBaoUnreachable(RuntimeFailure):
    """No HTTP answer from OpenBao (refused, timed out, DNS, TLS)."""


class OpenBaoTokenRejected(RuntimeFailure):
    """OpenBao answered 403: the token is missing, wrong, expired or lacks the capability."""


class OpenBaoSealed(RuntimeFailure):
    """OpenBao answered 503: sealed (or down for maintenance)."""


class OpenBaoMountMissing(RuntimeFailure):
    """The configured KV mount is not enabled on the server."""


class OpenBaoRequestFailed(RuntimeFailure):
    """Any other non-2xx answer; ``status`` keeps the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _unreachable_reason(exc: BaseException) -> str:
    """A short reason for a connection failure (``connection refused``, ``name resolution failed``, ...)."""
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "name resolution failed"
    if "ssl" in text or "certificate" in text:
        return "TLS handshake failed"
    if "reset" in text or "aborted" in text or "remote end closed" in text:
        return "connection closed by the server"
    return "connection failed"


class OpenBaoBackend(SecretsBackend):
    """Secrets as KV v2 entries ``<mount>/<path>/<name>`` holding ``{"value": ...}`` in OpenBao."""

    def __init__(self, root: str, settings: OpenBaoSettings) -> None:
        self.root = root
        self.settings = settings
        self._client_obj: Any = None

    def __repr__(self) -> str:
        return f"OpenBaoBackend(root={self.root!r}, settings={self.settings!r})"

    # ------------------------------------------------------------------ transport

    def _client(self) -> Any:
        """The hvac client (raw responses, no exceptions on status: this class maps statuses itself)."""
        if self._client_obj is None:
            import hvac
            from hvac.adapters import RawAdapter

            self._client_obj = hvac.Client(
                url=self.settings.address,
                token=self.settings.token,  # "" keeps hvac away from VAULT_TOKEN / ~/.vault-token
                timeout=self.settings.timeout,
                adapter=RawAdapter,
                ignore_exceptions=True,
            )
        return self._client_obj

    def _send(self, logical: str, call: Callable[[Any], Any]) -> Any:
        """Run one hvac call; a transport failure becomes ``RuntimeFailure`` naming the address and path."""
        import requests

        address = self.settings.address
        try:
            return call(self._client())
        except requests.exceptions.Timeout:
            reason = f"timed out after {self.settings.timeout:g}s"
        except requests.exceptions.ConnectionError as exc:
            reason = _unreachable_reason(exc)
        except requests.exceptions.RequestException as exc:
            reason = f"request failed ({type(exc).__name__})"
        raise OpenBaoUnreachable(f"openbao at {address} is not reachable ({logical}): {reason}")

    def _fail(self, response: Any, api_path: str, logical: str, secret: str | None = None) -> AngeeError:
        """The typed error for a non-2xx ``response`` to ``api_path`` (``secret/data/angee/x``)."""
        address = self.settings.address
        status = response.status_code
        errors = _server_errors(response)
        if _mount_missing(errors):
            return OpenBaoMountMissing(
                f'openbao mount "{self.settings.mount}" does not exist at {address} ({logical})'
            )
        if status == 403:
            if not self.settings.token:
                return OpenBaoTokenRejected(
                    f"openbao rejected the request (403) for {api_path} at {address}: no token configured "
                    "(set secrets_backend.token or OPENBAO_TOKEN)"
                )
            return OpenBaoTokenRejected(f"openbao rejected the token (403) for {api_path} at {address}")
        if status == 503:
            return OpenBaoSealed(f"openbao at {address} is sealed (503) ({logical})")
        detail = "; ".join(errors)[:200]
        if secret and secret in detail:
            detail = ""  # never echo a value, even if a server put it in its error text
        message = f"openbao request failed with status {status} for {api_path} at {address}"
        return OpenBaoRequestFailed(f"{message}: {detail}" if detail else message, status)

    def _secret_paths(self, name: str, kind: str) -> tuple[str, str, str]:
        """``(kv path, api path without /v1/, logical path)`` of secret ``name`` for ``kind`` data|metadata."""
        from hvac import utils

        kv_path = self.settings.secret_path(name)
        api_path = utils.format_url(
            "{mount}/{kind}/{path}", mount=self.settings.mount, kind=kind, path=kv_path
        )
        return kv_path, api_path, self.settings.logical_path(name)

    # ------------------------------------------------------------------ SecretsBackend

    def get(self, name: str) -> str | None:
        """``GET /v1/<mount>/data/<path>/<name>`` → ``data.data.value``; 404 → ``None``."""
        kv_path, api_path, logical = self._secret_paths(name, "data")
        response = self._send(
            logical,
            lambda c: c.secrets.kv.v2.read_secret_version(
                path=kv_path, mount_point=self.settings.mount, raise_on_deleted_version=True
            ),
        )
        if _absent(response):
            return None
        if not response.ok:
            raise self._fail(response, api_path, logical)
        try:
            value = ((response.json().get("data") or {}).get("data") or {}).get("value")
        except (ValueError, AttributeError):
            raise RuntimeFailure(
                f"openbao at {self.settings.address} returned an unreadable answer for {api_path}"
            ) from None
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise RuntimeFailure(
                f'openbao secret {logical} at {self.settings.address} holds a non-string "value"'
            )
        return value

    def set(self, name: str, value: str) -> None:
        """``POST /v1/<mount>/data/<path>/<name>`` with body ``{"data": {"value": value}}`` (a new version)."""
        _, api_path, logical = self._secret_paths(name, "data")
        # The adapter (not create_or_update_secret, which adds "options": {}) keeps the exact §7.4 body.
        response = self._send(
            logical, lambda c: c.adapter.post(url=f"/v1/{api_path}", json={"data": {"value": value}})
        )
        if not response.ok:
            raise self._fail(response, api_path, logical, secret=value)

    def delete(self, name: str) -> None:
        """``DELETE /v1/<mount>/metadata/<path>/<name>`` (every version); 404 is fine."""
        kv_path, api_path, logical = self._secret_paths(name, "metadata")
        response = self._send(
            logical,
            lambda c: c.secrets.kv.v2.delete_metadata_and_all_versions(
                path=kv_path, mount_point=self.settings.mount
            ),
        )
        if _absent(response):
            return
        if not response.ok:
            raise self._fail(response, api_path, logical)

    def list(self) -> list[str]:
        """``LIST /v1/<mount>/metadata/<path>`` → ``data.keys`` (sub-folders skipped), sorted; 404 → ``[]``."""
        kv_path, api_path, logical = self._secret_paths("", "metadata")
        response = self._send(
            logical, lambda c: c.secrets.kv.v2.list_secrets(path=kv_path, mount_point=self.settings.mount)
        )
        if _absent(response):
            return []
        if not response.ok:
            raise self._fail(response, api_path, logical)
        try:
            keys = (response.json().get("data") or {}).get("keys") or []
        except (ValueError, AttributeError):
            raise RuntimeFailure(
                f"openbao at {self.settings.address} returned an unreadable answer for {api_path}"
            ) from None
        return sorted(str(k) for k in keys if not str(k).endswith("/"))

    def runtime_env_file(self) -> str:
        """``<root>/run/secrets.env``: the env file compose and the local engines read (§5.6, §7.5)."""
        return os.path.join(self.root, RUNTIME_ENV_FILE)

    def write_runtime_env(self, values: dict[str, str]) -> None:
        """Write ``ANGEE_SECRET_<N>=<quoted value>`` per secret, sorted by secret name, mode 0600.

        No values → the file is removed, so a stale file never feeds old values to the runtimes.
        """
        from angee.secrets.envfile import quote_value
        from angee.secrets.names import secret_env_var

        path = self.runtime_env_file()
        if not values:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise RuntimeFailure(f"remove {path}: {exc.strerror or exc}") from None
            return
        text = "".join(f"{secret_env_var(name)}={quote_value(values[name])}\n" for name in sorted(values))
        write_private_file(path, text)

    def check(self) -> tuple[str, str]:
        """Doctor: ``sys/health`` answers unsealed, the token passes ``lookup-self`` and the mount exists."""
        address = self.settings.address
        try:
            health = self._send("sys/health", lambda c: c.sys.read_health_status(method="GET"))
            if health.status_code == 503:
                return ("error", f"openbao at {address} is sealed (503)")
            if health.status_code == 501:
                return ("error", f"openbao at {address} is not initialized (501)")
            if health.status_code not in _HEALTHY_STATUSES:
                return ("error", str(self._fail(health, "sys/health", "sys/health")))
            if not self.settings.token:
                return (
                    "error",
                    f"openbao {address} reachable, but no token is set (secrets_backend.token or OPENBAO_TOKEN)",
                )
            lookup = self._send("auth/token/lookup-self", lambda c: c.auth.token.lookup_self())
            if not lookup.ok:
                return ("error", str(self._fail(lookup, "auth/token/lookup-self", "auth/token/lookup-self")))
            self.list()
        except (OpenBaoUnreachable, OpenBaoMountMissing, OpenBaoSealed) as exc:
            return ("error", str(exc))
        except OpenBaoRequestFailed:
            pass  # e.g. a token allowed to read and write but not to list: not a set-up error
        except OpenBaoTokenRejected:
            _, api_path, _ = self._secret_paths("", "metadata")
            return (
                "warn",
                f"openbao {address} reachable, token valid, but listing {api_path} was refused (403)",
            )
        return ("ok", f"openbao {address} reachable, token valid")


def write_private_file(path: str, text: str) -> None:
    """Replace ``path`` atomically with ``text``, mode 0600 (temp file, fsync, rename); parents 0755."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise RuntimeFailure(f"write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise RuntimeFailure(f"write {path}: {exc.strerror or exc}") from None
