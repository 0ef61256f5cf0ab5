"""Secret operations of the Platform (spec manifest-and-runtime §7, operator-and-cli §1.2 "Secrets").

Listings and refs carry names and metadata only; a value leaves the Platform through
:meth:`SecretOps.secret_value` and nowhere else (never in errors or logs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from angee.api import MutationResult, SecretRef, SecretValue
from angee.errors import NotFound

if TYPE_CHECKING:  # pragma: no cover
    from angee.contracts import SecretsBackend
    from angee.manifest.model import Manifest
    from angee.plugins import PluginRegistry


class SecretOps:
    """Secret listing, lookup, reveal, set, delete and resolution for one stack root."""

    root: str

    if TYPE_CHECKING:  # provided by PlatformBase

        @property
        def plugins(self) -> PluginRegistry: ...

        def load(self) -> Manifest: ...

    # ------------------------------------------------------------------ helpers

    def _open_secrets_backend(self, manifest: Manifest) -> SecretsBackend:
        config = manifest.secrets_backend
        kind = config.type or "env-file"
        provider = self.plugins.provider("secrets_backends", kind, "secrets backend")
        return provider.open(self.root, config)

    def _secret_ref(self, manifest: Manifest, backend: SecretsBackend, name: str) -> SecretRef:
        from angee.secrets.names import secret_env_var

        decl = manifest.secrets.get(name)
        return SecretRef(
            name=name,
            declared=decl is not None,
            has_value=bool(backend.get(name)),
            required=bool(decl and decl.required),
            generated=bool(decl and decl.generated),
            import_=decl.import_ if decl else "",
            env_var=secret_env_var(name),
        )

    # ------------------------------------------------------------------ operations

    def secrets_backend(self) -> SecretsBackend:
        """The stack's opened secrets backend (``secrets_backend.type``, default ``env-file``)."""
        return self._open_secrets_backend(self.load())

    def secrets_list(self) -> list[SecretRef]:
        """Declared secrets only, sorted by name, with whether the backend holds a value."""
        manifest = self.load()
        backend = self._open_secrets_backend(manifest)
        return [self._secret_ref(manifest, backend, name) for name in sorted(manifest.secrets)]

    def secret_get(self, name: str) -> SecretRef:
        """Metadata of any valid secret name (``declared: false`` when not listed under ``secrets``)."""
        from angee.secrets.names import validate_secret_name

        validate_secret_name(name)
        manifest = self.load()
        return self._secret_ref(manifest, self._open_secrets_backend(manifest), name)

    def secret_value(self, name: str) -> SecretValue:
        """The stored value; ``NotFound`` (kind ``secret``) when the backend has none, declared or not."""
        from angee.secrets.names import validate_secret_name

        validate_secret_name(name)
        value = self.secrets_backend().get(name)
        if not value:
            raise NotFound("secret", name, message=f'secret "{name}" has no value')
        return SecretValue(name=name, value=value)

    def secret_set(self, name: str, value: str) -> SecretRef:
        """Store a value for any valid name (declared or not); the declaration is never touched."""
        from angee.lock import root_lock
        from angee.secrets.names import validate_secret_name, validate_secret_value

        validate_secret_name(name)
        validate_secret_value(value)
        manifest = self.load()
        backend = self._open_secrets_backend(manifest)
        with root_lock(self.root):  # one read-modify-write of the store at a time
            backend.set(name, value)
        return self._secret_ref(manifest, backend, name)

    def secret_delete(self, name: str) -> MutationResult:
        """Remove the backend value (idempotent); the declaration in ``angee.yaml`` stays."""
        from angee.lock import root_lock
        from angee.secrets.names import validate_secret_name

        validate_secret_name(name)
        backend = self.secrets_backend()
        with root_lock(self.root):
            backend.delete(name)
        return MutationResult(status="deleted", name=name)

    def resolve_secrets(self) -> dict[str, str]:
        """Resolve every declared secret (§7.3) to ``{name: value}``; unresolved ones are left out.

        Imported and generated values are persisted to the backend under the root lock, which is
        taken only when something must be written.
        """
        from angee.lock import root_lock
        from angee.secrets.resolve import resolve_secrets

        manifest = self.load()
        backend = self._open_secrets_backend(manifest)
        return resolve_secrets(manifest.secrets, backend, lock=lambda: root_lock(self.root))
