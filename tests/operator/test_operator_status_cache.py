"""The short-lived cache of backend-observed service states behind ``stack status`` (operator status
performance): one backend query per root while fresh, shared by concurrent callers, invalidated by any
mutating Platform call and by a change of ``angee.yaml``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from angee.api import MutationResult
from angee.contracts import ObservedService, Runtime, RuntimeStack
from angee.hookspecs import hookimpl
from angee.platform import Platform
from angee.platform import stack as stack_module
from angee.platform.stack import ObservedCache, invalidate_observed
from angee.plugins import LoadedPlugin, PluginRegistry
from tests.operator.conftest import wait_for

MANIFEST = """\
version: 1
kind: stack
name: cached
services:
  web: {runtime: container, image: nginx}
"""


class CountingRuntime(Runtime):
    """A container backend reporting ``self.state`` for web; ``gate`` (when set) holds each query."""

    name = "counting"
    serves = "container"

    def __init__(self) -> None:
        self.state = "created"
        self.queries = 0
        self.gate: threading.Event | None = None
        self.started = threading.Event()

    def available(self) -> bool:
        return True

    def status(self, stack: RuntimeStack) -> list[ObservedService]:
        self.queries += 1
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        return [ObservedService("web", self.state), ObservedService("api", "running")]

    def build(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def up(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def down(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def control(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def logs(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        raise NotImplementedError


class _Plugin:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @hookimpl
    def angee_runtimes(self) -> list[Runtime]:
        return [self.runtime]


class StartingPlatform(Platform):
    """A Platform whose ``stack_up`` (a mutating operation) starts web in the fake backend."""

    backend: CountingRuntime

    def stack_up(self, services: list[str] | None = None, build: bool = False, output: Any = None) -> Any:
        self.backend.state = "running"
        return MutationResult(status="started")


@pytest.fixture(autouse=True)
def long_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh cache whose entries never expire during a test (no timing in assertions)."""
    monkeypatch.setattr(stack_module, "OBSERVED", ObservedCache(ttl=3600))


@pytest.fixture
def backend() -> CountingRuntime:
    return CountingRuntime()


def platform_for(root: Path, backend: CountingRuntime, cls: type[Platform] = Platform) -> Platform:
    registry = PluginRegistry()
    registry.pm.register(_Plugin(backend), name="counting")
    registry.plugins["counting"] = LoadedPlugin("counting", "tests", "0", "tests", False)
    platform = cls(str(root), plugins=registry)
    platform.backend = backend  # type: ignore[attr-defined]
    return platform


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "angee.yaml").write_text(MANIFEST)
    return tmp_path


def test_repeated_status_asks_the_backend_once(root: Path, backend: CountingRuntime) -> None:
    platform = platform_for(root, backend)
    states = [platform.stack_status().services["web"].status for _ in range(5)]
    assert states == ["created"] * 5 and backend.queries == 1
    backend.state = "exited"  # changed behind the Platform's back: visible once invalidated
    invalidate_observed(str(root))
    assert platform.stack_status().services["web"].status == "exited" and backend.queries == 2


def test_a_mutating_call_invalidates_the_root(root: Path, backend: CountingRuntime) -> None:
    platform = platform_for(root, backend, StartingPlatform)
    assert platform.stack_status().services["web"].status == "created"
    platform.stack_up()
    assert platform.stack_status().services["web"].status == "running"
    other = Platform(str(root), plugins=platform.plugins)  # another Platform object on the same root
    assert other.stack_status().services["web"].status == "running"
    assert backend.queries == 2


def test_a_changed_manifest_is_not_served_from_the_cache(root: Path, backend: CountingRuntime) -> None:
    platform = platform_for(root, backend)
    assert set(platform.stack_status().services) == {"web"}
    (root / "angee.yaml").write_text(MANIFEST + "  api: {runtime: container, image: api}\n")
    status = platform.stack_status()
    assert status.services["api"].status == "running" and backend.queries == 2


def test_concurrent_callers_share_one_query(root: Path, backend: CountingRuntime) -> None:
    backend.gate = threading.Event()
    platform = platform_for(root, backend)
    results: list[str] = []

    def read() -> None:
        results.append(platform.stack_status().services["web"].status)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    wait_for(backend.started.is_set, what="the first backend query")
    backend.gate.set()
    for thread in threads:
        thread.join(10)
    assert results == ["created"] * 8 and backend.queries == 1


def test_a_read_after_an_invalidation_does_not_join_an_older_query() -> None:
    cache = ObservedCache(ttl=3600)
    release = threading.Event()
    started = threading.Event()
    values: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(10)
        return "before"

    first = threading.Thread(target=lambda: values.append(cache.get("/r", "k", slow)))
    first.start()
    wait_for(started.is_set, what="the slow query")
    cache.invalidate("/r")
    assert cache.get("/r", "k", lambda: "after") == "after"
    release.set()
    first.join(10)
    assert values == ["before"]
    assert cache.get("/r", "k", lambda: "again") == "after"  # the older result was not stored


def test_failures_are_not_cached() -> None:
    cache = ObservedCache(ttl=3600)

    def boom() -> str:
        raise RuntimeError("backend down")

    with pytest.raises(RuntimeError):
        cache.get("/r", "k", boom)
    assert cache.get("/r", "k", lambda: "ok") == "ok"
