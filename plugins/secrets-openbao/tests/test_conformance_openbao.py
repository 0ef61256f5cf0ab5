"""The kernel's secrets backend conformance suite, run against the OpenBao backend on the fake server."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import TOKEN
from fake_openbao import FakeOpenBao

from angee.contracts import SecretsBackend
from angee.manifest.model import SecretsBackend as SecretsBackendConfig

try:
    from tests.conformance.secrets_suite import SecretsBackendConformance
except (
    ImportError
):  # pytest started without the repo root on sys.path (e.g. `pytest plugins/secrets-openbao`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tests.conformance.secrets_suite import SecretsBackendConformance

from angee_secrets_openbao import OpenBaoProvider


class TestOpenBaoBackendConformance(SecretsBackendConformance):
    @pytest.fixture
    def server(self) -> Iterator[FakeOpenBao]:
        with FakeOpenBao(token=TOKEN) as server:
            yield server

    @pytest.fixture
    def open_backend(self, server: FakeOpenBao, tmp_path: Path) -> Callable[[], SecretsBackend]:
        config = SecretsBackendConfig(type="openbao", address=server.address, token=TOKEN)
        return lambda: OpenBaoProvider().open(str(tmp_path), config)


class TestOpenBaoBackendConformanceCustomMount(SecretsBackendConformance):
    """Same contract on a nested mount and a deeper KV sub-path."""

    @pytest.fixture
    def open_backend(self, tmp_path: Path) -> Iterator[Callable[[], SecretsBackend]]:
        with FakeOpenBao(token=TOKEN, mounts=("kv/team",)) as server:
            config = SecretsBackendConfig(
                type="openbao", address=server.address, token=TOKEN, mount="kv/team/", path="/stacks/web/"
            )
            yield lambda: OpenBaoProvider().open(str(tmp_path), config)
