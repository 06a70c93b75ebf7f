"""A benchmark here and at another commit, interleaved, in the same run.

    python benchmarks/against.py [--ref HEAD~1] [--repeat 5] -- python benchmarks/scenarios.py --scenarios 10000

Checks REF out in a temporary work tree, runs the command once in each tree to
warm it (compiled kernels, bytecode), then REPEAT times in each tree in turn
(this tree, REF, this tree, ...), so a shared, noisy machine slows both alike.
Each tree has a cache folder of its own (WATERFALL_CACHE), warmed by that run.
The command's wall time is measured, and, when its last line holds
``seconds=S``, that figure too (the benchmark's own timing, without process
start). Prints each tree's medians and the ratio this tree / REF.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def once(tree: Path, cmd: list, cache: Path) -> tuple:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    env["WATERFALL_CACHE"] = str(cache)  # each tree its own: one's housekeeping never touches the other's
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {tree}:\n{proc.stderr[-2000:]}")
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    m = re.search(r"seconds=([0-9.]+)", last)
    return wall, float(m.group(1)) if m else None


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--ref", default="HEAD~1")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        p.error("give the command after --")
    cmd = [sys.executable if c == "python" else c for c in cmd]
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        ref = Path(tmp) / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(ref), args.ref], cwd=ROOT, check=True)
        try:
            trees = {"this tree": ROOT, args.ref: ref}
            caches = {name: Path(tmp) / f"cache-{i}" for i, name in enumerate(trees)}
            for name, tree in trees.items():
                caches[name].mkdir(mode=0o700)
                once(tree, cmd, caches[name])  # warm-up: kernels compiled, bytecode written
            times = {name: [] for name in trees}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    times[name].append(once(tree, cmd, caches[name]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(ref)], cwd=ROOT)
    print(f"{' '.join(args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd)}  ({args.repeat} interleaved runs each)")
    med = {}
    for name, ts in times.items():
        wall = statistics.median(t[0] for t in ts)
        own = [t[1] for t in ts if t[1] is not None]
        med[name] = (wall, statistics.median(own) if own else None)
        own_s = f", its own timing {med[name][1]:.3f} s" if own else ""
        print(f"  {name:12} median wall {wall:.3f} s{own_s}")
    a, b = med["this tree"], med[args.ref]
    print(f"  ratio this tree / {args.ref}: wall {a[0] / b[0]:.3f}" +
          (f", own timing {a[1] / b[1]:.3f}" if a[1] and b[1] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
