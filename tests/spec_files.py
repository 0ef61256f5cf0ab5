"""Locate the shared contract (``../shared/spec``) the tests check examples against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def spec_dir() -> Path:
    """``$ANGEE_SPEC_DIR``, else ``<repo>/../shared/spec``; missing is a failure in CI, a skip elsewhere."""
    candidate = Path(os.environ.get("ANGEE_SPEC_DIR") or REPO.parent / "shared" / "spec")
    if not candidate.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared spec is missing at {candidate}")
        pytest.skip(f"the shared spec is not beside this checkout ({candidate})")
    return candidate


def spec_file(name: str) -> Path:
    return spec_dir() / name
