"""Fixtures for the OpenBao plugin tests: a fake OpenBao server and backends opened against it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `import fake_openbao` from any rootdir

from angee_secrets_openbao import OpenBaoProvider  # noqa: E402
from fake_openbao import FakeOpenBao  # noqa: E402

from angee.manifest.model import SecretsBackend as SecretsBackendConfig  # noqa: E402

TOKEN = "s.test-root-token"


@pytest.fixture
def openbao_server() -> Iterator[FakeOpenBao]:
    """A running fake OpenBao that accepts only ``TOKEN`` and has the KV v2 mount ``secret``."""
    with FakeOpenBao(token=TOKEN) as server:
        yield server


@pytest.fixture
def open_openbao(tmp_path, monkeypatch) -> Callable[..., object]:
    """Open an ``openbao`` backend on ``tmp_path`` with the given ``secrets_backend`` fields."""
    monkeypatch.delenv("OPENBAO_ADDR", raising=False)
    monkeypatch.delenv("OPENBAO_TOKEN", raising=False)

    def opener(**fields: str) -> object:
        config = SecretsBackendConfig(type="openbao", **fields)
        return OpenBaoProvider().open(str(tmp_path), config)

    return opener


@pytest.fixture
def openbao_backend(openbao_server: FakeOpenBao, open_openbao: Callable[..., object]) -> object:
    """A backend talking to ``openbao_server`` with the right token and default mount/path."""
    return open_openbao(address=openbao_server.address, token=TOKEN)
