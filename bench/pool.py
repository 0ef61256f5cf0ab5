"""Warm pool benchmark: pool acquire vs a cold create of the same workspace template, in the same run.

Run on demand (not a test): ``.venv/bin/python bench/pool.py [--files 5000] [--members 7] [--colds 5]``.
Builds a temp stack whose git source has ``--files`` tracked files, a workspace template with that source
as a worktree slot (plus a rendered file, an inner stack and a persist dir), and a pool of ``--members``
members of it. Then it times, each on its own: cold ``workspace_create`` of the template, warm
``workspace_pool_acquire`` (the top-up an acquire schedules runs on the operator's worker thread, so it is
not part of the acquire here either), and the recycle of a released member (git reset + re-render).
Prints p50/max per step and checks the goal: acquire p50 ≤ 50 ms and ≥ 10x faster than a cold create.
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
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GOAL_ACQUIRE_MS = 50.0
GOAL_RATIO = 10.0

TEMPLATE = """\
_angee:
  kind: workspace
  inputs:
    AGENT_ID: {default: none}
  chain_root: .angee
  chain:
    - template: stacks/bench-inner
  sources:
    app: {}
  persist:
    data: {subpath: .data, scope: workspace}
"""

INNER = """\
version: 1
kind: stack
name: inner
jobs:
  seed:
    runtime: local
    command: [sh, -c, "echo seeded >> ../.data/seed.log"]
"""


def sh(cwd: str, *args: str) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def make_stack(base: str, files: int, members: int) -> str:
    """Upstream repo with ``files`` tracked files, a host stack with a pool of ``members``, templates."""
    upstream = os.path.join(base, "upstream")
    os.makedirs(upstream)
    sh(upstream, "git", "init", "-q", "-b", "main")
    write(os.path.join(upstream, ".gitignore"), "node_modules/\n")
    for i in range(files):
        write(os.path.join(upstream, "src", f"d{i // 100:03d}", f"f{i:05d}.py"), f"VALUE = {i}\n")
    sh(upstream, "git", "add", "-A")
    # no background auto-gc racing the clones below; pack now, like any real repository is packed
    sh(upstream, "git", "-c", "gc.auto=0", "commit", "-q", "-m", "bench tree")
    sh(upstream, "git", "gc", "-q")
    root = os.path.join(base, "stack")
    write(
        os.path.join(root, "angee.yaml"),
        "version: 1\nkind: stack\nname: bench\n"
        "operator:\n  workspace_pool:\n    agent:\n      template: bench-runtime\n"
        f"      size: {members}\n      ttl: 1h\n      inputs: {{AGENT_ID: pool}}\n"
        f"sources:\n  app: {{kind: git, repo: {upstream}, default_ref: main}}\n",
    )
    tdir = os.path.join(root, ".templates", "workspaces", "bench-runtime")
    write(os.path.join(tdir, "copier.yml"), TEMPLATE)
    write(os.path.join(tdir, "AGENT.md.jinja"), "agent {{ AGENT_ID }}\n")
    idir = os.path.join(root, ".templates", "stacks", "bench-inner")
    write(os.path.join(idir, "copier.yml"), "_angee:\n  kind: stack\n")
    write(os.path.join(idir, "angee.yaml"), INNER)
    return root


def platform_class() -> Any:
    """The Platform with the pool operations (also before they join Platform's bases)."""
    from angee.platform import Platform
    from angee.platform.leases import WorkspaceLeaseOps
    from angee.platform.pool import WorkspacePoolOps
    from angee.platform.workspaces import WorkspaceOps

    bases = [m for m in (WorkspaceLeaseOps, WorkspacePoolOps, WorkspaceOps) if not issubclass(Platform, m)]
    return type("BenchPlatform", (*bases, Platform), {}) if bases else Platform


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000.0, result


def summary(label: str, samples: list[float]) -> str:
    return f"{label:<28} n={len(samples):<3} p50={statistics.median(samples):8.1f} ms  max={max(samples):8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="tracked files in the slot's repository")
    parser.add_argument("--members", type=int, default=7, help="pool size (= number of warm acquires)")
    parser.add_argument("--colds", type=int, default=5, help="number of cold creates")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    for key, value in (("GIT_AUTHOR_NAME", "bench"), ("GIT_COMMITTER_NAME", "bench")):
        os.environ.setdefault(key, value)
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        os.environ.setdefault(key, "bench@example.invalid")

    base = tempfile.mkdtemp(prefix="angee-bench-pool-")
    try:
        root = make_stack(base, args.files, args.members)
        platform = platform_class()(root)
        print(f"stack {root}: slot with {args.files} tracked files, pool size {args.members}")

        # warm up the source cache (the first clone) so neither side pays for it
        ms, _ = timed(lambda: platform.workspace_create("bench-runtime", name="warmup"))
        print(f"first create (clones the source cache): {ms:.0f} ms")
        platform.workspace_destroy("warmup", purge=True, force=True)

        colds = []
        for i in range(args.colds):
            ms, _ = timed(lambda i=i: platform.workspace_create("bench-runtime", name=f"cold-{i}"))
            colds.append(ms)

        ms, _ = timed(lambda: platform._pool_top_up("agent"))
        ready = [n for n, ws in platform.load().workspaces.items() if ws.pool_state == "ready"]
        print(f"top-up of {len(ready)} members: {ms:.0f} ms ({ms / max(len(ready), 1):.0f} ms per member)")

        platform.pool_scheduler = lambda key, job: None  # the top-up belongs to the worker thread
        acquires, taken = [], []
        for i in range(len(ready)):
            ms, result = timed(lambda i=i: platform.workspace_pool_acquire("agent", f"bench:{i}"))
            assert result.warm, "pool ran dry"
            acquires.append(ms)
            taken.append((result.workspace.name, f"bench:{i}"))

        platform.pool_scheduler = None  # recycle in-process, to time it
        recycles = []
        for name, owner in taken:
            write(os.path.join(root, "workspaces", name, "app", "node_modules", "dep.js"), "cache\n")
            write(os.path.join(root, "workspaces", name, "app", "src", "d000", "f00000.py"), "EDITED = 1\n")
            ms, _ = timed(lambda n=name, o=owner: platform.workspace_release(n, o, discard=True))
            recycles.append(ms)

        print(summary("cold workspace_create", colds))
        print(summary("warm pool acquire", acquires))
        print(summary("recycle (release+reset)", recycles))
        acquire_p50 = statistics.median(acquires)
        cold_p50 = statistics.median(colds)
        ratio = cold_p50 / acquire_p50 if acquire_p50 else float("inf")
        ok = acquire_p50 <= GOAL_ACQUIRE_MS and ratio >= GOAL_RATIO
        print(
            f"acquire p50 {acquire_p50:.1f} ms (goal <= {GOAL_ACQUIRE_MS:g} ms); "
            f"cold/acquire = {ratio:.1f}x (goal >= {GOAL_RATIO:g}x): {'OK' if ok else 'MISSED'}"
        )
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
