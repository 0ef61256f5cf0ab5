"""The secrets backend conformance suite, run against the built-in env-file backend."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from angee.builtin.env_file import EnvFileBackendProvider
from angee.contracts import SecretsBackend
from angee.manifest.model import SecretsBackend as SecretsBackendConfig
from angee.secrets.names import secret_env_var
from tests.conformance.secrets_suite import SecretsBackendConformance


class TestEnvFileBackendConformance(SecretsBackendConformance):
    @pytest.fixture
    def open_backend(self, tmp_path: Path) -> Callable[[], SecretsBackend]:
        root = str(tmp_path / "stack")
        os.makedirs(root)
        return lambda: EnvFileBackendProvider().open(root, SecretsBackendConfig())

    def stored_key(self, name: str) -> str:
        return secret_env_var(name)


class TestEnvFileBackendConformanceCustomPath(SecretsBackendConformance):
    """Same contract with ``secrets_backend.path`` pointing into a directory that does not exist yet."""

    @pytest.fixture
    def open_backend(self, tmp_path: Path) -> Callable[[], SecretsBackend]:
        config = SecretsBackendConfig(path="config/secrets/stack.env")
        return lambda: EnvFileBackendProvider().open(str(tmp_path), config)

    def stored_key(self, name: str) -> str:
        return secret_env_var(name)
