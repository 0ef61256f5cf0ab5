"""Repository-wide test settings.

Every test server listens on loopback and is reached directly (no proxy). Tests marked
``docker`` skip without an engine locally and fail without one in CI (``CI=true``).
"""

import os

import pytest

os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"


@pytest.fixture(autouse=True)
def _docker_engine_gate(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("docker") is not None:
        from tests.docker_support import require_docker

        require_docker()
