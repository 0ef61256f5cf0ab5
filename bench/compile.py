"""Benchmark: compile time for 10, 100 and 1,000 services, and `angee up` against raw compose.

Prints figures only (no pass/fail): compile medians with their per-service cost (linear growth
shows as a flat per-service figure), then the median wall time of `angee up` against
`docker compose up -d` of the same compiled file, measured in the same run. The up comparison
needs a docker engine and builds the local busybox test image; it is skipped without one.

    python bench/compile.py [--runs N] [--up-runs N] [--services-up N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Measure what a user gets: installed packages keep their bytecode caches. Some shells here set
# PYTHONDONTWRITEBYTECODE, which makes every run recompile every module.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from angee.compile import compile_stack  # noqa: E402
from angee.manifest import parse_manifest  # noqa: E402


def manifest_text(services: int, image: str = "angee-test-busybox:latest") -> str:
    """Half container services with ports/mounts/env, half local services with dependencies."""
    lines = [
        "name: Bench",
        "secrets:\n  token: {generated: true}",
        "volumes:\n  data: {}",
        "sources:\n  app: {kind: local, path: .}",
        "services:",
    ]
    for i in range(services):
        if i % 2 == 0:
            lines.append(
                f"  c{i}:\n    runtime: container\n    image: {image}\n"
                f"    command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']\n"
                f'    env: {{TOKEN: "${{secret.token}}", INDEX: "{i}"}}\n'
                f"    mounts: ['volume://data:/data', 'source://app:/app:ro']"
            )
        else:
            deps = f"\n    depends_on: [l{i - 2}]" if i >= 3 else ""
            lines.append(
                f"  l{i}:\n    runtime: local\n    command: [python3, -m, http.server, '{20000 + i}']\n"
                f'    env: {{TOKEN: "${{secret.token}}", PORT: "{20000 + i}"}}\n'
                f"    workdir: source://app{deps}"
            )
    return "\n".join(lines) + "\n"


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_compile(runs: int) -> None:
    print("# compile (parse + validate + compile, no I/O), median of", runs, "runs")
    root = "/srv/bench/.angee"
    for count in (10, 100, 1000):
        text = manifest_text(count)

        def once(text: str = text) -> None:
            compile_stack(parse_manifest(text), root, ["token"])

        once()
        ms = median_ms(once, runs)
        print(f"{count:>5} services  {ms:9.1f} ms  {ms * 1000 / count:8.1f} µs/service")


def docker_ready() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bench_up(runs: int, services: int) -> None:
    print(f"# up: {services} container services, median of {runs} runs (down between runs)")
    if not docker_ready():
        print("skipped: no docker engine")
        return
    from tests.docker_support import busybox_image

    image = busybox_image()
    angee = shutil.which("angee") or str(Path(sys.executable).parent / "angee")
    compose = ["docker", "compose"]
    if subprocess.run([*compose, "version"], capture_output=True).returncode != 0:
        compose = ["docker-compose"]
    with tempfile.TemporaryDirectory(prefix="angee-bench-up-") as tmp:
        root = Path(tmp)
        text = "\n".join(
            line for line in manifest_text(services * 2, image).splitlines()
        ).replace("runtime: local", "runtime: local")
        # container services only: drop the local ones
        doc = parse_manifest(text)
        doc.services = {k: v for k, v in doc.services.items() if v.runtime == "container"}
        from angee.manifest import dump_manifest

        (root / "angee.yaml").write_text(dump_manifest(doc))
        env = {**os.environ, "ANGEE_ROOT": str(root)}
        subprocess.run([angee, "stack", "prepare"], env=env, check=True, capture_output=True)
        project = (root / "docker-compose.yaml").read_text().split("x-angee-project: ", 1)[1].split("\n", 1)[0]
        base = [*compose, "-p", project, "-f", str(root / "docker-compose.yaml"), "--env-file", str(root / ".env")]

        def down() -> None:
            subprocess.run([*base, "down"], capture_output=True, check=True)

        def raw_up() -> None:
            subprocess.run([*base, "up", "-d"], capture_output=True, check=True)

        def angee_up() -> None:
            subprocess.run([angee, "up"], env=env, capture_output=True, check=True)

        raw, ours = [], []
        try:
            for _ in range(runs):
                raw.append(median_ms(raw_up, 1))
                down()
                ours.append(median_ms(angee_up, 1))
                down()
        finally:
            down()
        raw_ms, our_ms = statistics.median(raw), statistics.median(ours)
        print(f"docker compose up -d  {raw_ms:8.0f} ms")
        print(f"angee up              {our_ms:8.0f} ms  overhead {100 * (our_ms - raw_ms) / raw_ms:+.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--up-runs", type=int, default=3)
    parser.add_argument("--services-up", type=int, default=3)
    args = parser.parse_args()
    bench_compile(args.runs)
    bench_up(args.up_runs, args.services_up)


if __name__ == "__main__":
    main()
