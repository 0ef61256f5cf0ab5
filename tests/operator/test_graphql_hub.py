"""The event hub (spec §3.4) driven tick by tick, and the log reads of §3.5 over real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from angee.errors import NotFound
from angee.operator.graphql.hub import END, TIMEOUT, EventHub, canonical_hash
from angee.operator.graphql.logs import TRUNCATED, LogFollowSource, bounded_log, log_limit, split_line
from angee.operator.graphql.resolvers import RequestContext
from angee.operator.graphql.subscriptions import open_source
from angee.platform import Platform
from tests.operator.graphql_support import wait_for, write_stack


class Reading:
    """A poll function of our own: returns ``value`` (or raises ``error``) and counts its calls."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.error: Exception | None = None
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture
def log() -> list[str]:
    return []


def make_hub(log: list[str], value: Any = None) -> tuple[EventHub, Reading]:
    hub = EventHub(log=log.append, autostart=False)
    reading = Reading({"n": 1} if value is None else value)
    hub.add_stream("snapshot", "snapshot", reading)
    return hub, reading


def drain(subscriber: Any) -> list[Any]:
    events = []
    while (event := subscriber.get(0)) not in (TIMEOUT, END):
        events.append(event)
    return events


def test_no_reads_without_subscribers(log: list[str]) -> None:
    hub, reading = make_hub(log)
    hub.poll_once()
    hub.poll_once()
    assert reading.calls == 0
    subscriber = hub.subscribe("snapshot")
    hub.poll_once()
    assert reading.calls == 1
    subscriber.close()
    hub.poll_once()
    assert reading.calls == 1


def test_publishes_only_changes_and_nothing_on_subscribe(log: list[str]) -> None:
    hub, reading = make_hub(log)
    first = hub.subscribe("snapshot")
    assert first.get(0) is TIMEOUT  # nothing on subscribe
    hub.poll_once()  # the baseline starts empty: the first poll with a subscriber publishes
    assert drain(first) == [{"n": 1}]
    hub.poll_once()
    hub.poll_once()
    assert drain(first) == []

    late = hub.subscribe("snapshot")
    hub.poll_once()
    assert drain(late) == []  # a new subscriber only sees later changes

    reading.value = {"n": 2}
    hub.poll_once()
    hub.poll_once()
    assert drain(first) == [{"n": 2}]
    assert drain(late) == [{"n": 2}]


def test_change_detection_uses_canonical_json(log: list[str]) -> None:
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})
    hub, reading = make_hub(log, {"a": 1, "b": 2})
    subscriber = hub.subscribe("snapshot")
    hub.poll_once()
    reading.value = {"b": 2, "a": 1}
    hub.poll_once()
    assert drain(subscriber) == [{"a": 1, "b": 2}]


def test_full_buffer_drops_events_for_that_subscriber_only(log: list[str]) -> None:
    hub, reading = make_hub(log)
    slow = hub.subscribe("snapshot")
    fast = hub.subscribe("snapshot")
    seen = []
    for n in range(1, 7):
        reading.value = {"n": n}
        hub.poll_once()
        seen += drain(fast)
    assert seen == [{"n": n} for n in range(1, 7)]
    assert drain(slow) == [{"n": n} for n in range(1, 5)]
    assert slow.dropped == 2


def test_poll_failures_are_logged_once_per_message_then_recovery(log: list[str]) -> None:
    hub, reading = make_hub(log)
    subscriber = hub.subscribe("snapshot")
    reading.error = RuntimeError("docker is not running")
    hub.poll_once()
    hub.poll_once()
    reading.error = RuntimeError("stack not found")
    hub.poll_once()
    assert drain(subscriber) == []
    reading.error = None
    hub.poll_once()
    hub.poll_once()
    assert log == [
        "operator: snapshot poll failed: docker is not running",
        "operator: snapshot poll failed: stack not found",
        "operator: snapshot poll recovered",
    ]
    assert drain(subscriber) == [{"n": 1}]


def test_stop_completes_every_subscription(log: list[str]) -> None:
    hub, reading = make_hub(log)
    subscriber = hub.subscribe("snapshot")
    hub.poll_once()
    hub.stop()
    assert subscriber.get(0) == {"n": 1}  # what was buffered is still delivered
    assert subscriber.get(0) is END
    assert hub.subscribe("snapshot").get(0) is END


def test_background_ticks_publish_without_being_driven(log: list[str]) -> None:
    hub = EventHub(tick=0.01, log=log.append)
    reading = Reading({"n": 1})
    hub.add_stream("topology", "topology", reading)
    subscriber = hub.subscribe("topology")
    try:
        assert hub.running
        assert subscriber.get(timeout=10) == {"n": 1}
        assert hub.wait_ticks(3, timeout=10)
        assert subscriber.get(0) is TIMEOUT
        reading.value = {"n": 2}
        assert subscriber.get(timeout=10) == {"n": 2}
    finally:
        hub.stop()
    assert not hub.running


def test_workspace_status_subscription_needs_a_declared_workspace(tmp_path: Path, log: list[str]) -> None:
    platform = Platform(str(write_stack(tmp_path / "stack")))
    context = RequestContext(platform=platform, hub=EventHub(log=log.append, autostart=False))
    with pytest.raises(NotFound) as missing:
        open_source("onWorkspaceStatusChange", context, {"name": "ghost"})
    assert str(missing.value) == 'workspace "ghost" is not declared'
    assert context.hub.stream("workspace[ghost] status") is None


# --------------------------------------------------------------------------- bounded log reads


@pytest.mark.parametrize(
    ("limit", "effective"), [(None, 1 << 20), (0, 1 << 20), (-5, 1 << 20), (10, 10), (1 << 21, 1 << 20)]
)
def test_log_limit(limit: int | None, effective: int) -> None:
    assert log_limit(limit) == effective


def test_bounded_log_keeps_whole_lines_then_cuts_on_a_utf8_boundary() -> None:
    assert bounded_log(["one", "two"], 100) == "one\ntwo\n"
    assert bounded_log("one\ntwo\n", 8) == "one\ntwo\n"
    assert bounded_log(["one", "two"], 6) == "one\ntw" + TRUNCATED
    # "é" is two bytes: a cut inside it keeps the whole character out
    assert bounded_log(["ab", "éé"], 5) == "ab\né" + TRUNCATED
    assert bounded_log(["ab", "éé"], 4) == "ab\n" + TRUNCATED
    assert bounded_log(["x" * 10, "y"], 4) == "xxxx" + TRUNCATED


def test_bounded_log_closes_the_backend_iterator() -> None:
    closed = []

    def lines() -> Any:
        try:
            for n in range(1000):
                yield f"line {n}"
        finally:
            closed.append(True)

    text = bounded_log(lines(), 20)
    assert text.endswith(TRUNCATED) and closed == [True]


def test_long_lines_are_split_into_events_of_at_most_1_mib() -> None:
    parts = split_line("é" * (1 << 20))
    assert [len(p.encode()) <= 1 << 20 for p in parts] == [True, True, True]
    assert "".join(parts) == "é" * (1 << 20) + "\n"
    assert parts[-1].endswith("\n") and not parts[0].endswith("\n")


# --------------------------------------------------------------------------- live follows


class FollowProcess:
    """A follow stream over a real child process: lines of its stdout; ``close()`` kills it."""

    SCRIPT = "import sys, time\nfor i in range(3):\n    print(f'line {i}', flush=True)\ntime.sleep(600)\n"

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdout=subprocess.PIPE, text=True)

    def __iter__(self) -> FollowProcess:
        return self

    def __next__(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise StopIteration
        return line.rstrip("\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_log_follow_streams_lines_and_close_kills_the_process() -> None:
    backend = FollowProcess()
    source = LogFollowSource(backend)
    try:
        assert [source.get(timeout=30) for _ in range(3)] == ["line 0\n", "line 1\n", "line 2\n"]
        assert backend.proc.poll() is None  # still following
    finally:
        source.close()
    wait_for(lambda: backend.proc.poll() is not None, what="the follow process to die")
    assert source.get(0) is END


def test_log_follow_failure_is_raised_to_the_consumer() -> None:
    def failing() -> Any:
        yield "first"
        raise RuntimeError("logs: exit status 1")

    source = LogFollowSource(failing())
    assert source.get(timeout=10) == "first\n"
    with pytest.raises(RuntimeError, match="exit status 1"):
        while source.get(timeout=10) is TIMEOUT:
            pass
    assert source.get(0) is END
