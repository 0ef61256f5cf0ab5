"""A cheap OpenBao liveness probe for the bootstrap (spec manifest-and-runtime §7.6)."""

from __future__ import annotations


def health(address: str, token: str = "", timeout: float = 1.0) -> int | None:
    """HTTP status of ``GET <address>/v1/sys/health`` (token header when given), ``None`` when no answer.

    The bootstrap treats a status in ``[200, 500)`` as "reachable"; a sealed server answers 503.
    """
    import hvac
    import requests
    from hvac.adapters import RawAdapter

    client = hvac.Client(
        url=address.strip().rstrip("/"),
        token=token or "",
        timeout=timeout,
        adapter=RawAdapter,
        ignore_exceptions=True,
    )
    try:
        response = client.sys.read_health_status(method="GET")
    except requests.exceptions.RequestException:
        return None
    finally:
        client.adapter.close()
    return response.status_code
