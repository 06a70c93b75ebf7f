"""Benchmark of interpreter.collateral.project.

Builds a 10,000-line tape of distinct loans (fixed, balloon, IO and hybrid-ARM
lines in two groups; no two lines share terms, so aggregation cannot shrink
it), projects 360 months at one scenario and prints

    lines=N seconds=S peak_mb=M

seconds: best wall time of ``--repeat`` runs (tape construction excluded);
peak_mb: peak memory allocated during one projection (tracemalloc, which
numpy reports to) plus the RSS growth, i.e. the memory the projection needs.
Run: python benchmarks/collateral.py [--lines N] [--periods T] [--scenarios S]
[--engine auto|c|numpy]

``--j4 S1,S2,...`` instead times the reference deal's collateral (CWALT
2004-J4, engine.project_collateral) at each scenario count, one fresh call
each, and prints ``scenarios=S seconds=X`` lines.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from interpreter.collateral import ArmTerms, Curve, Line, Scenarios, load_tape, project  # noqa: E402


def make_tape(n: int, seed: int = 7) -> list[Line]:
    rng = np.random.default_rng(seed)
    arm6 = ArmTerms("LIBOR_6M", 0.0275, 24, 6, 0.03, 0.01, 0.06)
    arm36 = ArmTerms("LIBOR_6M", 0.0275, 36, 6, 0.03, 0.01, 0.06)
    arm51 = ArmTerms("LIBOR_1Y", 0.0225, 60, 12, 0.05, 0.02, 0.05)
    lines = []
    for i in range(n):
        rem = int(rng.integers(120, 361))
        age = 360 - rem if i % 7 else int(rng.integers(0, 360 - rem + 1))
        bal = float(rng.uniform(50_000, 650_000))
        rate = round(float(rng.uniform(0.045, 0.08)), 6)
        fee = round(float(rng.uniform(0.0025, 0.0045)), 6)
        k = i % 5
        if k in (0, 1):
            lines.append(Line("1", bal, rate, fee, rem, age=age, penalty_rate=0.02 if i % 3 == 0 else 0.0, penalty_months=36))
        elif k == 2:
            lines.append(Line("1", bal, rate, fee, min(rem, 180), age=age, amort_term=rem))
        else:
            arm = (arm6, arm36, arm51)[i % 3]
            lines.append(Line("2", bal, rate, fee, rem, age=age, io_months=60 if i % 2 else 0, arm=arm))
    return lines


def write_tape(lines: list[Line], path: str) -> None:
    """Write lines as a CSV loan tape (the format load_tape reads)."""
    cols = [
        "group", "balance", "gross_rate", "fee_rate", "remaining_term", "age", "io_months", "amort_term",
        "arm_index", "arm_margin", "arm_first_reset", "arm_reset_every", "arm_initial_cap",
        "arm_periodic_cap", "arm_lifetime_cap", "penalty_rate", "penalty_months",
    ]  # fmt: skip
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for ln in lines:
            a = ln.arm
            w.writerow([
                ln.group, repr(ln.balance), f"{ln.gross_rate * 100:.4f}%", repr(ln.fee_rate), ln.remaining_term,
                ln.age, ln.io_months, "" if ln.amort_term is None else ln.amort_term,
                *(["", "", "", "", "", "", ""] if a is None else [
                    a.index, a.margin, a.first_reset, a.reset_every, a.initial_cap, a.periodic_cap, a.lifetime_cap,
                ]),
                ln.penalty_rate, ln.penalty_months,
            ])  # fmt: skip


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--periods", type=int, default=360)
    ap.add_argument("--scenarios", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", choices=("auto", "c", "numpy"), default="auto")
    ap.add_argument("--j4", default="", help="comma-separated scenario counts: time CWALT 2004-J4's collateral")
    a = ap.parse_args(argv)
    if a.j4:
        return j4(a.j4, a.engine)

    lines = make_tape(a.lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tape.csv")
        write_tape(lines, path)
        t0 = time.perf_counter()
        loaded = load_tape(path)
        load_s = time.perf_counter() - t0
    assert len(loaded) == len(lines)
    T, S = a.periods, a.scenarios
    scen = Scenarios(np.linspace(0.5, 2.0, S) if S > 1 else [1.0], 1.0, 0.35, recovery_lag=6)
    prepay = {"1": Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12), "2": Curve("CPR", 0.25)}
    default = {"1": Curve("SDA", 1.0), "2": Curve("CDR", 0.01)}
    paths = {"LIBOR_6M": np.full(T, 0.01145), "LIBOR_1Y": np.full(T, 0.0128625)}

    def run():
        return project(lines, T, scen, prepay, default, paths, engine=a.engine)

    run()  # warm-up
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    out = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024
    total = sum(f.cutoff_balance for f in out.values())
    assert abs(total - sum(ln.balance for ln in lines)) <= 1e-6 * total
    print(f"lines={a.lines} seconds={best:.3f} peak_mb={(peak + rss_growth) / 2**20:.1f}")
    print(
        f"# periods={T} scenarios={S} groups={len(out)} load_tape_seconds={load_s:.3f} "
        f"max_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}",
        file=sys.stderr,
    )


def j4(counts: str, engine: str) -> None:
    """Time engine.project_collateral on CWALT 2004-J4 at each scenario count
    (speeds 0-3x, CDR 0-10%, severity 40%, flat 2% index paths)."""
    import functools

    from dsl.check import load_deal
    from interpreter import collateral as C
    from interpreter import engine as E
    from interpreter.assumptions import load_assumptions

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deals")
    deal = load_deal(os.path.join(root, "cwalt-2004-j4.waterfall"))
    assumptions = load_assumptions(os.path.join(root, "cwalt-2004-j4.assumptions.yaml"), deal)
    T = E.horizon(deal, assumptions)
    C_project = C.project
    C.project = functools.partial(C_project, engine=engine)
    try:
        for S in (int(x) for x in counts.split(",")):
            sp, cdr, sev = np.linspace(0, 3, S), np.linspace(0, 0.1, S), np.full(S, 0.4)
            paths = {k: np.full((S, T), 0.02) for k in ["LIBOR_1M", "LIBOR_6M", "LIBOR_1Y", "CMT_1Y"]}
            t0 = time.perf_counter()
            E.project_collateral(deal, assumptions, sp, T, paths, cdr, sev)
            print(f"scenarios={S} seconds={time.perf_counter() - t0:.4f}")
    finally:
        C.project = C_project


if __name__ == "__main__":
    main()
