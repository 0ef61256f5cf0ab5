"""GitOps benchmark: topology time and workspace create time against raw git (+ copier) doing the same work.

Run on demand (not a test): ``.venv/bin/python bench/topology.py [--sources 10] [--workspaces 50]
[--files 5000] [--runs 5] [--workers 8]``.

1. **Topology.** ``--sources`` bare remotes, a stack declaring them, and ``--workspaces`` workspaces whose
   template has one worktree slot per source (default 10 × 50 = 500 worktrees; every 5th workspace has a
   dirty slot and a slot with a local commit). ``Platform.gitops_topology()`` is timed against a parallel
   loop (same worker count) of raw ``git status --porcelain=v2 --branch`` over the same checkouts (the
   worktrees and the source clones), interleaved in the same run. Goal: ≤ 2x.
2. **Workspace create.** One source with ``--files`` files (clone made beforehand), a workspace template
   with that one slot and a few rendered files. ``Platform.workspace_create`` is timed against raw
   ``git worktree add`` + a bare ``copier.run_copy`` of the same template. Goal: ≤ 1.5x.

Prints the medians and ratios; exits 1 when a goal is missed.
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
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOPOLOGY_GOAL = 2.0
CREATE_GOAL = 1.5
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: str, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"bench: git {' '.join(args)} in {cwd}: {done.stderr.strip()}")
    return done.stdout


def platform_class() -> type:
    """The Platform, composed with the git mixins when they have not joined its bases yet."""
    from angee.platform import Platform
    from angee.platform.gitops import GitOpsOps
    from angee.platform.workspace_git import WorkspaceGitOps

    if issubclass(Platform, WorkspaceGitOps) and issubclass(Platform, GitOpsOps):
        return Platform
    return type("BenchPlatform", (WorkspaceGitOps, GitOpsOps, Platform), {})


def make_remote(base: str, name: str, files: int) -> str:
    """A bare repository ``<name>.git`` whose ``main`` holds ``files`` small files (100 per directory)."""
    bare = os.path.join(base, f"{name}.git")
    seed = os.path.join(base, f"{name}-seed")
    git(base, "init", "-q", "--bare", "-b", "main", bare)
    git(base, "init", "-q", "-b", "main", seed)
    for i in range(files):
        path = os.path.join(seed, f"d{i // 100:03d}", f"f{i:05d}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"{name} file {i}\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", bare, "main")
    shutil.rmtree(seed)
    return bare


def write_stack(root: str, sources: dict[str, str], slots: list[str]) -> None:
    """``angee.yaml`` declaring the git ``sources`` and the workspace template ``bench`` with ``slots``."""
    os.makedirs(root, exist_ok=True)
    lines = ["version: 1", "kind: stack", "name: bench", "sources:"]
    lines += [f"  {n}: {{kind: git, repo: {repo}, default_ref: main}}" for n, repo in sorted(sources.items())]
    with open(os.path.join(root, "angee.yaml"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    tpl = os.path.join(root, ".templates", "workspaces", "bench")
    os.makedirs(tpl, exist_ok=True)
    meta = ["_angee:", "  kind: workspace", "  sources:"] + [f"    {s}: {{source: {s}}}" for s in slots]
    with open(os.path.join(tpl, "copier.yml"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(meta) + "\n")
    for i in range(5):
        with open(os.path.join(tpl, f"file{i}.md.jinja"), "w", encoding="utf-8") as fh:
            fh.write(f"# {{{{ workspace_name }}}} file {i}\n")


def median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_status(paths: list[str], workers: int) -> None:
    """The baseline: ``git status --porcelain=v2 --branch`` in every checkout, ``workers`` at a time."""

    def one(path: str) -> None:
        subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch"], cwd=path, capture_output=True, check=True
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, paths))


def bench_topology(tmp: str, n_sources: int, n_workspaces: int, runs: int, workers: int) -> float:
    names = [f"src{i:02d}" for i in range(n_sources)]
    remotes = os.path.join(tmp, "remotes")
    os.makedirs(remotes)
    sources = {n: make_remote(remotes, n, 20) for n in names}
    root = os.path.join(tmp, "topology")
    write_stack(root, sources, names)
    platform = platform_class()(root)
    print(f"topology: creating {n_workspaces} workspaces x {n_sources} slots ...", file=sys.stderr)
    for i in range(n_workspaces):
        platform.workspace_create("bench", name=f"ws{i:03d}")
        if i % 5 == 0:  # some variety: a dirty slot and a slot with a local commit
            ws = os.path.join(root, "workspaces", f"ws{i:03d}")
            with open(os.path.join(ws, names[0], "scratch.txt"), "w", encoding="utf-8") as fh:
                fh.write("wip\n")
            ahead = os.path.join(ws, names[-1])
            with open(os.path.join(ahead, "local.txt"), "w", encoding="utf-8") as fh:
                fh.write("local\n")
            git(ahead, "add", "-A")
            git(ahead, "commit", "-q", "-m", "local")
    paths = [os.path.join(root, "sources", n) for n in names]
    paths += [os.path.join(root, "workspaces", f"ws{i:03d}", n) for i in range(n_workspaces) for n in names]
    topo = platform.gitops_topology()
    assert len(topo.links) == n_sources * n_workspaces, len(topo.links)
    raw_status(paths, workers)  # warm the page cache for both sides
    angee_t, raw_t = [], []
    for _ in range(runs):  # interleaved, so both see the same machine state
        angee_t.append(median(platform.gitops_topology, 1))
        raw_t.append(median(lambda: raw_status(paths, workers), 1))
    a, r = statistics.median(angee_t), statistics.median(raw_t)
    ratio = a / r
    print(f"topology: {len(paths)} checkouts ({n_sources} sources x {n_workspaces} workspaces + sources)")
    s = topo.summary
    print(f"  summary: clean={s.clean} dirty={s.dirty} ahead={s.ahead} worktrees={s.worktrees}")
    print(f"  angee gitops_topology():            {a * 1000:8.1f} ms (median of {runs})")
    print(f"  raw parallel git status x{len(paths)}:   {r * 1000:8.1f} ms ({workers} workers)")
    print(f"  ratio {ratio:.2f}x (goal <= {TOPOLOGY_GOAL}x) {'OK' if ratio <= TOPOLOGY_GOAL else 'MISSED'}")
    return ratio


def bench_create(tmp: str, n_files: int, runs: int) -> float:
    import copier

    remotes = os.path.join(tmp, "big-remotes")
    os.makedirs(remotes)
    bare = make_remote(remotes, "big", n_files)
    root = os.path.join(tmp, "create")
    write_stack(root, {"big": bare}, ["big"])
    platform = platform_class()(root)
    platform.source_fetch("big", progress=lambda line: None)  # the cache exists before timing
    cache = os.path.join(root, "sources", "big")
    template = os.path.join(root, ".templates", "workspaces", "bench")
    scratch = os.path.join(tmp, "raw")
    os.makedirs(scratch)
    counter = iter(range(10_000))

    def angee_create() -> None:
        name = f"c{next(counter):03d}"
        platform.workspace_create("bench", name=name)

    def raw_create() -> None:
        i = next(counter)
        dest = os.path.join(scratch, f"r{i:03d}")
        git(
            cache,
            "worktree",
            "add",
            "-q",
            "--no-track",
            "-b",
            f"raw/{i}",
            os.path.join(dest, "big"),
            "origin/main",
        )
        copier.run_copy(
            template,
            dest,
            data={"workspace_name": f"r{i:03d}"},
            defaults=True,
            overwrite=True,
            quiet=True,
            unsafe=False,
            skip_tasks=True,
        )

    angee_create(), raw_create()  # warm-up (imports, page cache)
    angee_t, raw_t = [], []
    for _ in range(runs):
        angee_t.append(median(angee_create, 1))
        raw_t.append(median(raw_create, 1))
    a, r = statistics.median(angee_t), statistics.median(raw_t)
    ratio = a / r
    print(f"workspace create: one slot of {n_files} files")
    print(f"  angee workspace_create():           {a * 1000:8.1f} ms (median of {runs})")
    print(f"  raw git worktree add + copier copy: {r * 1000:8.1f} ms")
    print(f"  ratio {ratio:.2f}x (goal <= {CREATE_GOAL}x) {'OK' if ratio <= CREATE_GOAL else 'MISSED'}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8, help="raw baseline parallelism (angee uses 8)")
    parser.add_argument("--only", choices=("topology", "create"), default="")
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    tmp = tempfile.mkdtemp(prefix="angee-bench-topology-")
    try:
        ok = True
        if args.only in ("", "topology"):
            ok &= bench_topology(tmp, args.sources, args.workspaces, args.runs, args.workers) <= TOPOLOGY_GOAL
        if args.only in ("", "create"):
            ok &= bench_create(tmp, args.files, args.runs) <= CREATE_GOAL
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
