"""Seconds of the structurer's report set on CWALT 2004-J4 (compiled engine when
there is a C compiler), each the median of ``--repeat`` calls after one warm-up
(the deal's kernel compiled and cached):

- breakeven: every principal class (10), both measures, at the five table speeds, to
  the Mandatory Auction and to maturity (``report.breakeven.breakeven``); target <= 2 s;
- decrement tables: ``report.decrement.decrement_tables`` on the table run's result,
  against the table run itself (run + analyze at the table speeds, 0% and 100%, both
  modes, as ``run-deal`` does); target: < 10% of the table run;
- sizing: 1-A-1..1-A-4 to their page-3 WALs (0.90, 2.00, 3.00, 5.00), 1-A-5 the
  remainder, at 100% to the auction (``report.sizing.solve``); target <= 3 s.

    python benchmarks/reports.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(f, repeat: int) -> tuple:
    f()  # warm-up: kernels compiled and cached
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    from interpreter.report.analyze import analyze
    from interpreter.report.breakeven import breakeven, stress_terms
    from interpreter.report.decrement import decrement_tables, principal_classes
    from interpreter.report.sizing import Target, solve
    deal = load_deal(ROOT / "deals" / "cwalt-2004-j4.waterfall")
    a = load_assumptions(ROOT / "deals" / "cwalt-2004-j4.assumptions.yaml", deal)
    modes = ["auction", "maturity"]
    speeds = list(a.speeds)
    stressed, severity = stress_terms(a, None, None)
    classes = principal_classes(run(deal, a, [1.0], keep="lean"))

    def be():
        return breakeven(deal, stressed, speeds, modes, classes, severity)
    rows = be()
    m, lo, hi = timed(be, args.repeat)
    print(f"breakeven: {len(classes)} classes x 2 measures x {len(speeds)} speeds x 2 modes "
          f"({len(rows)} rows): median {m:.3f} s (min {lo:.3f}, max {hi:.3f})")

    table_speeds = speeds + [x for x in (1.0, 0.0) if x not in speeds]
    holder = {}

    def table_run():
        holder["r"] = run(deal, a, table_speeds, to=modes)
        list(analyze(holder["r"]))
    mt, _, _ = timed(table_run, args.repeat)
    md, _, _ = timed(lambda: decrement_tables(holder["r"]), args.repeat)
    import contextlib
    import io
    from interpreter.cli import main as run_deal
    path = str(ROOT / "deals" / "cwalt-2004-j4.waterfall")

    def cli(argv):
        with contextlib.redirect_stdout(io.StringIO()):
            run_deal(argv)
    mc, _, _ = timed(lambda: cli([path]), args.repeat)
    mcd, _, _ = timed(lambda: cli([path, "--decrement"]), args.repeat)
    print(f"run + analyze {mt * 1000:.1f} ms; decrement tables on its result {md * 1000:.1f} ms "
          f"(+{md / mt * 100:.1f}%); run-deal's main() in process: tables {mc * 1000:.1f} ms, "
          f"--decrement {mcd * 1000:.1f} ms; decrement tables = {md / mc * 100:.1f}% of a table run")

    targets = [Target("1-A-1", "wal", 0.90), Target("1-A-2", "wal", 2.00), Target("1-A-3", "wal", 3.00),
               Target("1-A-4", "wal", 5.00)]
    m, lo, hi = timed(lambda: solve(deal, a, targets, "1-A-5", 1.0, "auction"), args.repeat)
    print(f"sizing 4 classes of J4 to WALs: median {m:.3f} s (min {lo:.3f}, max {hi:.3f})")


if __name__ == "__main__":
    main()
