"""Scenario throughput of the engine on CWALT 2004-J4 (360 periods, analytics included).

    python benchmarks/scenarios.py                  # 1, 100, 1,000 and 10,000 scenarios
    python benchmarks/scenarios.py --scenarios N    # one size; ends with 'scenarios=N seconds=S peak_mb=M'

Scenarios are a speed x CDR x severity grid run through ``interpreter.grid.run_grid``
(chunked vectorised passes, WAL / DM / yield / MDUR per class and scenario, to maturity).
Each size runs in a fresh process so that its peak memory (ru_maxrss) is its own. The
speed-up compares the time per scenario of the batched pass with single-scenario runs
in a Python loop (timed on a few single runs, per scenario).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def grid_for(n: int) -> str:
    """A speed x CDR x severity grid of exactly n scenarios."""
    if n == 1:
        return "speed=100"
    sev = 4 if n >= 1000 else 1
    cdr = 10 if n >= 100 else 1
    speeds = n // (sev * cdr)
    assert speeds * sev * cdr == n, n
    return (f"speed=0..{3 * (speeds - 1)}/3 cdr=0..{cdr - 1}/1 "
            f"severity=" + ",".join(f"{30 + 10 * i}%" for i in range(sev)))


def one(n: int, chunk: int, workers: int = 1) -> None:
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.grid import run_grid
    deal = load_deal(ROOT / "deals" / "cwalt-2004-j4.waterfall")
    a = load_assumptions(ROOT / "deals" / "cwalt-2004-j4.assumptions.yaml", deal)
    t0 = time.perf_counter()
    out = run_grid(deal, a, grid_for(n), to=("maturity",), chunk=chunk, workers=workers)
    seconds = time.perf_counter() - t0
    assert out["n_scenarios"] == n
    # the largest of this process and its worker processes (each holds one chunk)
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024.0
    print(f"scenarios={n} seconds={seconds:.3f} peak_mb={peak_mb:.0f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", type=int, help="run one size in this process")
    p.add_argument("--chunk", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1, help="processes for the chunks (peak memory is then per process)")
    p.add_argument("--engine", choices=("auto", "c", "numpy"), default="auto",
                   help="the compiled (C) or the numpy engine (WATERFALL_ENGINE)")
    p.add_argument("--compare", action="store_true",
                   help="also run 1, 100 and 1,000 scenarios on the numpy engine: the compiled kernel's gain")
    args = p.parse_args()
    os.environ["WATERFALL_ENGINE"] = args.engine
    if args.scenarios:
        one(args.scenarios, args.chunk, args.workers)
        return 0

    def size(n, engine):
        proc = subprocess.run([sys.executable, __file__, "--scenarios", str(n), "--chunk", str(args.chunk),
                               "--workers", str(args.workers), "--engine", engine],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(1)
        last = proc.stdout.strip().splitlines()[-1]
        fields = dict(kv.split("=") for kv in last.split())
        return float(fields["seconds"]), float(fields["peak_mb"])

    size(1, args.engine)  # builds (or finds) the compiled kernels, so no run below pays for compiling
    results = {n: size(n, args.engine) for n in (1, 100, 1000, 10000)}
    single = results[1][0]
    print(f"engine: {args.engine}")
    print(f"{'scenarios':>10} {'seconds':>9} {'scen/s':>9} {'peak MB':>8} {'speed-up vs loop':>17}")
    for n, (sec, mb) in results.items():
        speedup = single * n / sec
        print(f"{n:>10} {sec:>9.2f} {n / sec:>9.1f} {mb:>8.0f} {speedup:>16.1f}x")
    print(f"(speed-up = {single:.3f} s per single-scenario run x N / batched seconds)")
    if args.compare:
        print("numpy engine, for comparison:")
        for n in (1, 100, 1000):
            sec, mb = size(n, "numpy")
            print(f"{n:>10} {sec:>9.2f} {n / sec:>9.1f} {mb:>8.0f}   compiled is {sec / results[n][0]:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
