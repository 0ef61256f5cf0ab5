"""Port pools and leases (spec manifest-and-runtime §6).

Pools are declared as ``operator.port_pool.<pool>.range: "a-b"``; leases live in
``port_leases.<pool>`` in allocation order. Allocation and release work on an in-memory manifest; the
caller saves it through :func:`angee.manifest.store.mutate_manifest`, so a failure saves nothing.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from angee.errors import Conflict, InvalidInput, NotFound
from angee.manifest.model import Manifest, PortLease

_DECIMAL = re.compile(r"[0-9]+")


def range_error(pool: str, text: str) -> str | None:
    """The §6.1 error message for a pool range, or ``None`` when it parses."""
    if "-" not in text:
        return f'port pool "{pool}" range must be start-end'
    start, end = (side.strip() for side in text.split("-", 1))
    if not (_DECIMAL.fullmatch(start) and _DECIMAL.fullmatch(end)):
        return f'port pool "{pool}" has invalid range {text}'
    a, b = int(start), int(end)
    if not 1 <= a <= b <= 65535:
        return f'port pool "{pool}" has invalid range {text}'
    return None


def parse_range(pool: str, text: str) -> tuple[int, int]:
    """Parse ``"a-b"`` (split at the first ``-``, sides trimmed, decimal, 1 ≤ a ≤ b ≤ 65535).

    Raises ``InvalidInput`` on ``operator.port_pool.<pool>.range`` with the exact §6.1 message.
    """
    message = range_error(pool, text)
    if message is not None:
        raise InvalidInput(field=f"operator.port_pool.{pool}.range", reason=message, message=message)
    start, end = text.split("-", 1)
    return int(start.strip()), int(end.strip())


def port_available(port: int) -> bool:
    """Whether a TCP listener can bind ``port`` on ``0.0.0.0`` and ``[::]`` (spec §6.3).

    IPv4 failure → unavailable; an IPv6 failure is ignored only when the host lacks IPv6 (EAFNOSUPPORT).
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as v4:
            v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            v4.bind(("0.0.0.0", port))
            v4.listen(1)
    except OSError:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            v6.bind(("::", port))
            v6.listen(1)
    except OSError as err:
        return err.errno == errno.EAFNOSUPPORT
    return True


def _pool_range(manifest: Manifest, pool: str) -> tuple[int, int]:
    declared = manifest.operator.port_pool.get(pool)
    if declared is None:
        raise NotFound("port pool", pool)
    return parse_range(pool, declared.range)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def allocate(
    manifest: Manifest,
    pool: str,
    owner: str,
    *,
    probe: Callable[[int], bool] = port_available,
    now: datetime | None = None,
) -> int:
    """Lease a port of ``pool`` to ``owner`` in memory and return it (spec §6.2).

    The owner's existing lease is reused without probing; otherwise the lowest port of the range that is
    leased in no pool and passes ``probe``. None left → ``Conflict`` "port pool "p" is exhausted".
    """
    start, end = _pool_range(manifest, pool)
    for lease in manifest.port_leases.get(pool, []):
        if lease.owner == owner:
            return lease.port
    leased = {lease.port for leases in manifest.port_leases.values() for lease in leases}
    for port in range(start, end + 1):
        if port in leased or not probe(port):
            continue
        manifest.port_leases.setdefault(pool, []).append(
            PortLease(port=port, owner=owner, created_at=_utc(now))
        )
        return port
    raise Conflict(
        kind="port-pool", name=pool, reason="exhausted", message=f'port pool "{pool}" is exhausted'
    )


def _check_prefix(owner_prefix: str) -> None:
    if not owner_prefix.endswith("/"):
        raise ValueError(f"lease owner prefix must end with '/': {owner_prefix!r}")


def allocate_all(
    manifest: Manifest,
    owner_prefix: str,
    pools: Iterable[str] | None = None,
    *,
    probe: Callable[[int], bool] = port_available,
    now: datetime | None = None,
) -> dict[str, int]:
    """One port from every declared pool (or just ``pools``), pools sorted, owner ``<prefix><pool>``.

    ``owner_prefix`` is e.g. ``workspace/<ws>/`` or ``service/<svc>/``. Returns pool → port in the order
    allocated (the render inputs ``alloc_<pool>`` and ``resolved.allocations``).
    """
    _check_prefix(owner_prefix)
    names = sorted(manifest.operator.port_pool if pools is None else set(pools))
    stamp = _utc(now)
    return {name: allocate(manifest, name, owner_prefix + name, probe=probe, now=stamp) for name in names}


def release(manifest: Manifest, owner_prefix: str) -> list[PortLease]:
    """Drop every lease whose owner starts with ``owner_prefix`` (ending in ``/``); return what was dropped.

    Pool lists left empty are removed from ``port_leases`` (spec §6.4).
    """
    _check_prefix(owner_prefix)
    dropped: list[PortLease] = []
    for pool in list(manifest.port_leases):
        kept = []
        for lease in manifest.port_leases[pool]:
            (dropped if lease.owner.startswith(owner_prefix) else kept).append(lease)
        if kept:
            manifest.port_leases[pool] = kept
        else:
            del manifest.port_leases[pool]
    return dropped


def check_leases(manifest: Manifest) -> list[tuple[str, str]]:
    """Validation of pools and leases: ``(dotted path, message)`` for each bad range or out-of-range lease.

    Pools are checked in sorted order; leases of a pool with a bad or missing range are not checked.
    """
    issues: list[tuple[str, str]] = []
    ranges: dict[str, tuple[int, int]] = {}
    for pool in sorted(manifest.operator.port_pool):
        text = manifest.operator.port_pool[pool].range
        message = range_error(pool, text)
        if message is not None:
            issues.append((f"operator.port_pool.{pool}.range", message))
        else:
            ranges[pool] = parse_range(pool, text)
    for pool in sorted(manifest.port_leases):
        bounds = ranges.get(pool)
        if bounds is None:
            continue
        for index, lease in enumerate(manifest.port_leases[pool]):
            if not bounds[0] <= lease.port <= bounds[1]:
                issues.append(
                    (
                        f"port_leases.{pool}[{index}].port",
                        f'lease for pool "{pool}" uses out-of-range port {lease.port}',
                    )
                )
    return issues
