"""CLI start-up benchmark: median wall time of ``angee --help`` and ``angee status`` vs ``python -c pass``.

Run on demand (not a test): ``.venv/bin/python bench/cli_startup.py [--runs N] [--profile]``.
``angee status`` runs on a generated 20-service manifest (10 container, 10 local) in a temp dir.
Target: each angee figure at most 8x ``python -c pass``. ``--profile`` adds the costliest imports
of each angee command (``python -X importtime``), the first place to look when over target.
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

# Measure what a user gets: installed packages keep their bytecode caches. Some shells here set
# PYTHONDONTWRITEBYTECODE, which makes every run recompile every module.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


TARGET_RATIO = 8.0
WARMUPS = 2


def angee_script() -> str:
    """The installed ``angee`` console script: next to this interpreter, else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "angee")
    if os.path.isfile(beside):
        return beside
    found = shutil.which("angee")
    if not found:
        sys.exit("bench: no `angee` console script found (pip install -e . first)")
    return found


def write_manifest(root: str) -> None:
    """A 20-service angee.yaml: 10 container services with an image, 10 local services with a command."""
    lines = ["version: 1", "kind: stack", "name: Bench Stack", "services:"]
    for i in range(10):
        lines += [f"  web{i:02d}:", "    runtime: container", f"    image: nginx:1.{i}"]
    for i in range(10):
        lines += [
            f"  worker{i:02d}:",
            "    runtime: local",
            f"    command: [python, -m, http.server, '{9000 + i}']",
        ]
    with open(os.path.join(root, "angee.yaml"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def median_seconds(argv: list[str], cwd: str, runs: int) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Median wall time of ``runs`` executions after WARMUPS untimed ones; also the last result."""
    last = None
    for _ in range(WARMUPS):
        last = subprocess.run(argv, cwd=cwd, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        last = subprocess.run(argv, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
    assert last is not None
    return statistics.median(times), last


def top_imports(argv: list[str], cwd: str, count: int = 15) -> list[tuple[int, int, str]]:
    """The ``count`` imports with the largest cumulative time: ``(cumulative µs, self µs, module)``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], cwd=cwd, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, module = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(cumulative_us), int(self_us), module))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    parser.add_argument("--profile", action="store_true", help="also list the costliest imports")
    args = parser.parse_args()

    angee = angee_script()
    with tempfile.TemporaryDirectory(prefix="angee-bench-") as root:
        write_manifest(root)
        env_note = f"python {sys.version.split()[0]}, {args.runs} runs after {WARMUPS} warm-ups, median"
        print(f"# angee CLI start-up ({env_note})")
        baseline, _ = median_seconds([sys.executable, "-c", "pass"], root, args.runs)
        print(f"python -c pass        {baseline * 1000:8.1f} ms")
        worst = 0.0
        for label, argv in (("angee --help", [angee, "--help"]), ("angee status", [angee, "status"])):
            seconds, last = median_seconds(argv, root, args.runs)
            ratio = seconds / baseline
            worst = max(worst, ratio)
            note = (
                ""
                if last.returncode == 0
                else f"  (exit {last.returncode}: {last.stderr.decode().strip()[:120]})"
            )
            print(f"{label:<20}  {seconds * 1000:8.1f} ms  ratio {ratio:5.2f}{note}")
        verdict = "within" if worst <= TARGET_RATIO else "OVER"
        print(f"target ratio <= {TARGET_RATIO:g}: {verdict} (worst {worst:.2f})")
        if args.profile:
            for label, argv in (("angee --help", [angee, "--help"]), ("angee status", [angee, "status"])):
                print(f"\n# costliest imports of `{label}` (cumulative µs, self µs, module)")
                for cumulative, self_us, module in top_imports(argv, root):
                    print(f"{cumulative:9d} {self_us:9d}  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
