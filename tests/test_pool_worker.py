"""The operator's pool worker (spec templates-workspaces-git §11.3, §11.5): the ``--reap-interval`` value,
periodic sweeps that reclaim expired workspaces by themselves, ``0`` disabling them, and a clean stop."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from angee.errors import InvalidInput
from angee.operator.workers import PoolWorker, parse_reap_interval
from tests.test_pool_support import PoolPlatform, edit, make_pool_stack, manifest, members
from tests.test_workspaces_support import git_identity  # noqa: F401 - fixture


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll until ``predicate`` is truthy (an awaited condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)
    return value


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 60.0),
        ("", 60.0),
        ("0", 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("90s", 90.0),
        ("5m", 300.0),
        (15, 15.0),
    ],
)
def test_reap_interval_values(value: Any, seconds: float) -> None:
    assert parse_reap_interval(value) == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "-5m"])
def test_bad_reap_interval_is_invalid_input(value: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_reap_interval(value)
    assert err.value.field == "reap-interval"


@pytest.fixture
def root(tmp_path, git_identity) -> str:  # noqa: F811
    return make_pool_stack(str(tmp_path), size=1)


def test_periodic_sweeps_reclaim_an_expired_workspace_without_being_asked(root: str) -> None:
    platform = PoolPlatform(root)
    worker = PoolWorker(platform, reap_interval=0.05, log=lambda line: None)
    platform.pool_scheduler = worker.submit
    worker.start()
    try:
        assert worker.wait_idle(120)
        assert len(members(root, "ready")) == 1  # start-up top-up
        platform.workspace_create("agent-runtime", name="short", ttl="1h")

        def expire(m: Any) -> None:
            m.workspaces["short"].ttl_expires_at = datetime.now(UTC) - timedelta(seconds=1)

        edit(root, expire)
        wait_for(lambda: "short" not in manifest(root).workspaces)
        assert not os.path.exists(os.path.join(root, "workspaces", "short"))
        assert worker.sweeps >= 2
    finally:
        worker.stop()


def test_interval_zero_disables_sweeps_but_not_pool_jobs(root: str) -> None:
    platform = PoolPlatform(root)
    platform.workspace_create("agent-runtime", name="short", ttl="1h")

    def expire(m: Any) -> None:
        m.workspaces["short"].ttl_expires_at = datetime.now(UTC) - timedelta(seconds=1)

    edit(root, expire)
    worker = PoolWorker(platform, reap_interval=0, log=lambda line: None)
    platform.pool_scheduler = worker.submit
    worker.start()
    try:
        assert worker.wait_idle(120)
        assert worker.sweeps == 0
        assert "short" in manifest(root).workspaces  # no sweep: the expired workspace stays
        assert len(members(root, "ready")) == 1  # but the pool was topped up
    finally:
        worker.stop()


def test_a_failing_job_is_logged_and_the_worker_goes_on(root: str) -> None:
    lines: list[str] = []
    platform = PoolPlatform(root)
    worker = PoolWorker(platform, reap_interval=0, log=lines.append)
    worker.start()
    try:
        assert worker.wait_idle(120)
        done = threading.Event()

        def boom() -> None:
            raise RuntimeError("boom")

        worker.submit("bad", boom)
        worker.submit("good", done.set)
        assert done.wait(30)
        assert worker.wait_idle(30)
        assert lines == ["operator: pool worker: bad: RuntimeError: boom"]
    finally:
        worker.stop()
    assert worker._thread is not None and not worker._thread.is_alive()
