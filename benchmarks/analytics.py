"""Seconds of ``interpreter.report.analyze`` on CWALT 2004-J4 (360 periods, 12 analysed
classes: 5 fixed, 5 floaters, 2 IO) at 10, 1,000 and 10,000 scenarios, and of the grid's
column building (``interpreter.grid.chunk_columns``) on the same runs.

    python benchmarks/analytics.py              # compiled kernel (numpy when no compiler)
    python benchmarks/analytics.py --numpy      # the numpy functions only
    python benchmarks/analytics.py --sizes 10,1000

S=10 is the default ``run-deal`` (5 speeds x 2 modes). The larger runs are a speed x CDR
sweep (0-300% of the pricing speed, 0-10% CDR, 40% severity), to maturity. Each engine run
up to 1,000 scenarios is cached as a pickle under the system's temporary folder (delete
the files to rebuild; a 10,000-scenario run is ~6 GB of arrays and is run each time). Times are the best of a few calls, wall clock and CPU.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_for(n: int):
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    deal_path = ROOT / "deals" / "cwalt-2004-j4.waterfall"
    ass_path = ROOT / "deals" / "cwalt-2004-j4.assumptions.yaml"
    key = hashlib.sha256(deal_path.read_bytes() + ass_path.read_bytes() + str(n).encode()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"waterfall-bench-analytics-{n}-{key}.pkl"
    if cache.exists():
        try:
            return pickle.loads(cache.read_bytes())
        except Exception:
            pass
    deal = load_deal(deal_path)
    a = load_assumptions(ass_path, deal)
    t0 = time.perf_counter()
    if n == 10:
        r = run(deal, a, list(a.speeds), to=("auction", "maturity"))
    else:
        r = run(deal, a, np.linspace(0, 3, n), cdr=np.linspace(0, 0.1, n), severity=np.full(n, 0.4))
    print(f"  (engine run of {n} scenarios: {time.perf_counter() - t0:.1f} s, cached in {cache})", file=sys.stderr)
    if n <= 1000:  # a 10,000-scenario run pickles to ~6 GB: run it again instead
        try:
            cache.write_bytes(pickle.dumps(r))
        except OSError:
            pass
    return r


def best(f, reps: int):
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10,1000,10000")
    p.add_argument("--numpy", action="store_true", help="the numpy path (as without a C compiler)")
    p.add_argument("--threads", type=int, help="threads of the compiled kernel (default: up to 2)")
    args = p.parse_args()
    from interpreter.analytics import batch as AB
    from interpreter.grid import chunk_columns
    from interpreter.report.analyze import analyze
    if args.threads:
        AB.THREADS = args.threads
    compiled = False if args.numpy else None
    path = "numpy" if args.numpy or AB._kernel() is None else "compiled kernel"
    print(f"analyze() on CWALT 2004-J4, {path}")
    print(f"{'scenarios':>10} {'rows':>8} {'analyze s':>10} {'(cpu s)':>8} {'columns s':>10}")
    for n in [int(x) for x in args.sizes.split(",")]:
        r = run_for(n)
        S = len(r.modes)
        analyze(r, compiled=compiled)  # warm: compile / load the kernel
        reps = 7 if S <= 1000 else 3
        wall, cpu = best(lambda: analyze(r, compiled=compiled), reps)
        rows = analyze(r, compiled=compiled)
        grid = {"speed": np.asarray(r.speeds, float), "cdr": np.zeros(S), "severity": np.full(S, 0.4)}
        cols, _ = best(lambda: chunk_columns(r, rows, grid, 0, 0.4), reps)
        print(f"{S:>10} {len(rows):>8} {wall:>10.4f} {cpu:>8.4f} {cols:>10.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
