"""Port pools and leases: range parsing, the availability probe, allocation, release, validation."""

from __future__ import annotations

import multiprocessing
import os
import socket
import textwrap
from datetime import UTC, datetime, timedelta, timezone

import pytest

from angee.errors import Conflict, InvalidInput, ManifestError, NotFound
from angee.manifest import load_manifest, parse_manifest, validate_manifest
from angee.manifest.model import Manifest, PortLease
from angee.manifest.store import mutate_manifest
from angee.ports import allocate, allocate_all, check_leases, parse_range, port_available, release

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def always_free(port: int) -> bool:
    return True


def manifest_with(pools: dict[str, str], leases: str = "") -> Manifest:
    lines = ["name: demo", "operator:", "  port_pool:"]
    lines += [f"    {name}: {{range: '{text}'}}" for name, text in pools.items()]
    return parse_manifest("\n".join(lines) + "\n" + textwrap.dedent(leases))


def leases_of(m: Manifest) -> dict[str, list[tuple[int, str]]]:
    return {pool: [(lease.port, lease.owner) for lease in leases] for pool, leases in m.port_leases.items()}


def listening_socket(family: int, host: str, port: int = 0) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(1)
    return sock


# ---------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8000-8010", (8000, 8010)),
        (" 8000 - 8010 ", (8000, 8010)),
        ("1-65535", (1, 65535)),
        ("80-80", (80, 80)),
    ],
)
def test_parse_range_accepts_start_end(text, expected):
    assert parse_range("web", text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8000", 'port pool "web" range must be start-end'),
        ("", 'port pool "web" range must be start-end'),
        ("a-b", 'port pool "web" has invalid range a-b'),
        ("0-10", 'port pool "web" has invalid range 0-10'),
        ("9000-8000", 'port pool "web" has invalid range 9000-8000'),
        ("1-65536", 'port pool "web" has invalid range 1-65536'),
        ("1-2-3", 'port pool "web" has invalid range 1-2-3'),
        ("-5", 'port pool "web" has invalid range -5'),
    ],
)
def test_parse_range_rejects_with_exact_message(text, message):
    with pytest.raises(InvalidInput) as err:
        parse_range("web", text)
    assert str(err.value) == message
    assert err.value.field == "operator.port_pool.web.range"


def test_validation_reports_bad_ranges_and_out_of_range_leases():
    m = manifest_with(
        {"api": "9000-9001", "bad": "nope", "web": "8000-8010"},
        """\
        port_leases:
          web:
            - {port: 8000, owner: workspace/a/web, created_at: 2025-01-01T00:00:00Z}
            - {port: 8011, owner: workspace/b/web, created_at: 2025-01-01T00:00:00Z}
        """,
    )
    assert check_leases(m) == [
        ("operator.port_pool.bad.range", 'port pool "bad" range must be start-end'),
        ("port_leases.web[1].port", 'lease for pool "web" uses out-of-range port 8011'),
    ]
    messages = [issue.message for issue in validate_manifest(m)]
    assert 'lease for pool "web" uses out-of-range port 8011' in messages


def test_loading_a_manifest_with_an_out_of_range_lease_fails(tmp_path):
    path = tmp_path / "angee.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: demo
            operator:
              port_pool:
                web: {range: 8000-8010}
            port_leases:
              web:
                - {port: 7999, owner: service/x/web, created_at: 2025-01-01T00:00:00Z}
            """
        )
    )
    with pytest.raises(ManifestError, match='lease for pool "web" uses out-of-range port 7999'):
        load_manifest(str(path))


# ---------------------------------------------------------------------------- probe


def test_port_held_on_ipv4_is_unavailable_until_closed():
    sock = listening_socket(socket.AF_INET, "0.0.0.0")
    port = sock.getsockname()[1]
    try:
        assert port_available(port) is False
    finally:
        sock.close()
    assert port_available(port) is True


def test_port_held_on_ipv6_only_is_unavailable():
    try:
        sock = listening_socket(socket.AF_INET6, "::")
    except OSError:
        pytest.skip("no IPv6 on this host")
    port = sock.getsockname()[1]
    try:
        assert port_available(port) is False
    finally:
        sock.close()


# ---------------------------------------------------------------------------- allocation


def test_allocation_is_lowest_first_in_allocation_order():
    m = manifest_with({"web": "8000-8010"})
    assert allocate(m, "web", "workspace/a/web", probe=always_free, now=NOW) == 8000
    assert allocate(m, "web", "workspace/b/web", probe=always_free, now=NOW) == 8001
    assert leases_of(m) == {"web": [(8000, "workspace/a/web"), (8001, "workspace/b/web")]}
    assert m.port_leases["web"][0].created_at == NOW


def test_owner_lease_is_reused_without_probing():
    m = manifest_with({"web": "8000-8010"})
    allocate(m, "web", "workspace/a/web", probe=always_free, now=NOW)

    def must_not_probe(port: int) -> bool:
        raise AssertionError("probed")

    assert allocate(m, "web", "workspace/a/web", probe=must_not_probe) == 8000
    assert len(m.port_leases["web"]) == 1


def test_ports_leased_in_any_pool_are_skipped():
    m = manifest_with(
        {"api": "8000-8010", "web": "8000-8010"},
        """\
        port_leases:
          api:
            - {port: 8000, owner: service/x/api, created_at: 2025-01-01T00:00:00Z}
        """,
    )
    assert allocate(m, "web", "service/y/web", probe=always_free, now=NOW) == 8001


def test_unavailable_ports_are_skipped():
    m = manifest_with({"web": "8000-8010"})
    busy = {8000, 8001, 8003}
    assert allocate(m, "web", "workspace/a/web", probe=lambda p: p not in busy, now=NOW) == 8002
    assert allocate(m, "web", "workspace/b/web", probe=lambda p: p not in busy, now=NOW) == 8004


def test_port_in_use_on_the_host_is_skipped_by_the_real_probe():
    sock = listening_socket(socket.AF_INET, "0.0.0.0")
    busy = sock.getsockname()[1]
    try:
        m = manifest_with({"web": f"{busy}-{min(busy + 50, 65535)}"})
        got = allocate(m, "web", "workspace/a/web")
        assert got != busy and busy < got <= busy + 50
    finally:
        sock.close()


def test_created_at_is_stored_in_utc():
    m = manifest_with({"web": "8000-8010"})
    local = datetime(2025, 3, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    allocate(m, "web", "workspace/a/web", probe=always_free, now=local)
    stamp = m.port_leases["web"][0].created_at
    assert stamp == NOW and stamp.utcoffset() == timedelta(0)


def test_exhausted_pool_is_a_typed_conflict_and_adds_nothing():
    m = manifest_with({"web": "8000-8001"})
    allocate(m, "web", "workspace/a/web", probe=always_free, now=NOW)
    with pytest.raises(Conflict) as err:
        allocate(m, "web", "workspace/b/web", probe=lambda p: p != 8001, now=NOW)
    assert str(err.value) == 'port pool "web" is exhausted'
    assert (err.value.kind, err.value.name, err.value.reason) == ("port-pool", "web", "exhausted")
    assert err.value.http_status == 409
    assert leases_of(m) == {"web": [(8000, "workspace/a/web")]}


def test_undeclared_pool_is_not_found():
    m = manifest_with({"web": "8000-8010"})
    with pytest.raises(NotFound, match='^port pool "db" is not declared$'):
        allocate(m, "db", "workspace/a/db", probe=always_free)


def test_allocate_all_takes_one_port_per_pool_in_sorted_order():
    m = manifest_with({"web": "8000-8010", "api": "8000-8010", "db": "5400-5410"})
    got = allocate_all(m, "workspace/a/", probe=always_free, now=NOW)
    assert list(got.items()) == [("api", 8000), ("db", 5400), ("web", 8001)]
    assert leases_of(m) == {
        "api": [(8000, "workspace/a/api")],
        "db": [(5400, "workspace/a/db")],
        "web": [(8001, "workspace/a/web")],
    }
    assert allocate_all(m, "service/s/", pools=["web"], probe=always_free, now=NOW) == {"web": 8002}


def test_failure_in_a_later_pool_saves_nothing(tmp_path):
    root = str(tmp_path)
    (tmp_path / "angee.yaml").write_text(
        "name: demo\noperator:\n  port_pool:\n    api: {range: 8000-8010}\n    web: {range: 9000-9000}\n"
        "port_leases:\n  web:\n    - {port: 9000, owner: service/x/web, created_at: 2025-01-01T00:00:00Z}\n"
    )
    before = (tmp_path / "angee.yaml").read_bytes()
    with pytest.raises(Conflict, match='port pool "web" is exhausted'):
        mutate_manifest(root, lambda m: allocate_all(m, "workspace/a/", probe=always_free))
    assert (tmp_path / "angee.yaml").read_bytes() == before


# ---------------------------------------------------------------------------- release


def test_release_drops_owner_prefix_and_empty_pools():
    m = manifest_with({"api": "8000-8010", "web": "9000-9010"})
    allocate_all(m, "workspace/a/", probe=always_free, now=NOW)
    allocate(m, "web", "workspace/ab/web", probe=always_free, now=NOW)
    dropped = release(m, "workspace/a/")
    assert [(lease.port, lease.owner) for lease in dropped] == [
        (8000, "workspace/a/api"),
        (9000, "workspace/a/web"),
    ]
    assert leases_of(m) == {"web": [(9001, "workspace/ab/web")]}
    assert release(m, "workspace/zzz/") == []


def test_release_requires_a_slash_terminated_prefix():
    m = manifest_with({"web": "9000-9010"})
    m.port_leases["web"] = [PortLease(port=9000, owner="workspace/a/web", created_at=NOW)]
    with pytest.raises(ValueError):
        release(m, "workspace/a")
    assert len(m.port_leases["web"]) == 1


# ---------------------------------------------------------------------------- acceptance: two processes


ROUNDS = 20


def _allocating_process(root: str, worker: int, barrier, results) -> None:
    """Each round: wait for the other process, then lease one port for an owner of our own."""
    ports = []
    for rnd in range(ROUNDS):
        barrier.wait(timeout=120)
        owner = f"workspace/w{worker}-r{rnd}/web"
        ports.append((owner, mutate_manifest(root, lambda m, owner=owner: allocate(m, "web", owner))))
    results.put((worker, ports))


def test_two_processes_allocating_at_once_get_distinct_ports(tmp_path):
    root = str(tmp_path)
    (tmp_path / "angee.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            kind: stack
            name: race
            operator:
              port_pool:
                web:
                  range: 42100-42399
            """
        )
    )
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_allocating_process, args=(root, w, barrier, results)) for w in (0, 1)]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    manifest = load_manifest(os.path.join(root, "angee.yaml"))  # loads and validates
    assert validate_manifest(manifest) == []
    leases = manifest.port_leases["web"]
    assert len(leases) == 2 * ROUNDS
    assert len({lease.port for lease in leases}) == 2 * ROUNDS
    assert all(42100 <= lease.port <= 42399 for lease in leases)
    saved = {lease.owner: lease.port for lease in leases}
    assert saved == {owner: port for ports in got.values() for owner, port in ports}
