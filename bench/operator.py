"""Operator throughput benchmark: ``GET /stack/status`` vs a bare Flask route on the same server.

Run on demand (not a test): ``.venv/bin/python bench/operator.py [--clients 16] [--requests 400]``.
Starts the real operator server (gunicorn gthread, open mode, loopback only) on a temp stack root with a
10-service manifest (5 container, 5 local), plus a bare ``GET /bench/bare`` Flask route (no auth, no
Platform) in the same app; then 16 client threads with keep-alive ``http.client`` connections each send a bounded number of
requests to one route, then the other. Prints requests/s, p50 and p99 per route and the ratio.
Goal: status ≥ 50% of bare requests/s, status p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
HOST = "127.0.0.1"


def write_manifest(root: str, services: bool = True) -> None:
    """A small stack; without ``services`` only a job, so status asks no runtime backend."""
    lines = ["version: 1", "kind: stack", "name: Bench Stack"]
    if services:
        lines.append("services:")
        for i in range(5):
            lines += [f"  web{i}:", "    runtime: container", f"    image: nginx:1.{i}"]
        for i in range(5):
            lines += [f"  worker{i}:", "    runtime: local", "    command: [sleep, '1000']"]
    lines += ["jobs:", "  migrate:", "    runtime: local", "    command: [true]"]
    with open(os.path.join(root, "angee.yaml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def serve(root: str, port: int) -> None:
    """The server side (``--serve``): the operator app plus the bare route, served until SIGTERM."""
    from angee.operator.app import create_app
    from angee.operator.auth import auth_exempt
    from angee.operator.server import serve as run_server

    app = create_app(root)

    @auth_exempt()
    def bare() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    app.add_url_rule("/bench/bare", endpoint="benchBare", view_func=bare, methods=["GET"])
    sys.exit(run_server(app, host=HOST, port=port))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: the operator exited early (status {proc.returncode})")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: the operator did not start in time")


def load(port: int, path: str, clients: int, per_client: int) -> tuple[float, list[float], int]:
    """``clients`` threads × ``per_client`` keep-alive requests: (requests/s, latencies in s, errors)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine = latencies[index]
        barrier.wait()
        for _ in range(per_client):
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            mine.append(time.perf_counter() - start)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return len(flat) / elapsed, flat, sum(errors)


def platform_latency(root: str, runs: int = 30) -> tuple[float, float]:
    """Median in-process ``Platform.stack_status()`` time in ms, served from the observed-state cache
    and with the backends asked every time: the floor any surface pays per call."""
    from angee.platform import Platform
    from angee.platform.stack import invalidate_observed

    platform = Platform(root)
    platform.stack_status()
    medians = []
    for fresh in (False, True):
        times = []
        for _ in range(runs):
            if fresh:
                invalidate_observed(root)
            start = time.perf_counter()
            platform.stack_status()
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times) * 1000)
    return medians[0], medians[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="requests per client per route")
    parser.add_argument(
        "--no-services",
        action="store_true",
        help="manifest without services (status asks no runtime backend)",
    )
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0

    with tempfile.TemporaryDirectory(prefix="angee-bench-") as root:
        write_manifest(root, services=not args.no_services)
        cached_ms, fresh_ms = platform_latency(root)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", root, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_ready(port, proc)
            load(port, "/bench/bare", args.clients, 20)  # warm-up
            load(port, "/stack/status", args.clients, 20)
            results = {}
            for label, path in (("bare", "/bench/bare"), ("status", "/stack/status")):
                rps, latencies, errors = load(port, path, args.clients, args.requests)
                results[label] = (rps, latencies, errors)
                print(
                    f"{label:7s} {path:15s} {rps:9.1f} req/s  p50 {percentile(latencies, 0.5) * 1000:6.2f} ms"
                    f"  p99 {percentile(latencies, 0.99) * 1000:6.2f} ms  mean {statistics.mean(latencies) * 1000:6.2f} ms"
                    f"  errors {errors}"
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(
        f"in-process Platform.stack_status(): p50 {cached_ms:.2f} ms cached, {fresh_ms:.2f} ms asking the"
        " backends (one caller, no HTTP)"
    )
    ratio = results["status"][0] / results["bare"][0]
    p99 = percentile(results["status"][1], 0.99) * 1000
    print(
        f"ratio status/bare: {ratio:.0%} (goal >= {GOAL_RATIO:.0%}); status p99 {p99:.2f} ms (goal < {GOAL_P99_MS:.0f} ms)"
    )
    ok = ratio >= GOAL_RATIO and p99 < GOAL_P99_MS and not any(r[2] for r in results.values())
    print("within goal" if ok else "OUTSIDE GOAL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
