"""run-deal: run a .waterfall deal and print its term-sheet tables.

    run-deal DEAL.waterfall [--assumptions A.yaml] [--speeds 0,50,100,200]
             [--price 100 | --price CLASS=PRICE ...] [--class NAME ...]
             [--format table|json|csv] [--cashflows DIR] [--check]

Exit status: 0 on success, 2 for an input error (the deal file, the
assumptions file, the options), 1 for a run that failed (a broken invariant).
Outputs are written atomically: a failed run leaves no partial file.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import numpy as np

from dsl.check import load_deal
from dsl.diagnostics import DealError

from . import analytics as AN
from . import dates as D
from .assumptions import load_assumptions
from .engine import RunError, run
from .report import analyze


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run-deal", description="Run a .waterfall deal and print its term-sheet tables.")
    p.add_argument("deal", help="the .waterfall deal file")
    p.add_argument("--assumptions", "-a", help="assumptions YAML (default: <deal stem>.assumptions.yaml beside the deal)")
    p.add_argument("--speeds", help="comma-separated percents of the pricing speed, e.g. 0,50,100,200")
    p.add_argument("--price", action="append", default=[],
                   help="price for all classes (100, 99-16+) or CLASS=PRICE; repeatable")
    p.add_argument("--class", dest="classes", action="append", default=[], help="only this class; repeatable")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--cashflows", metavar="DIR", help="write per-period cashflows, one CSV per class and one for the collateral")
    p.add_argument("--check", action="store_true", help="validate the deal and its assumptions without running")
    return p


def _speeds(text: Optional[str]) -> Optional[List[float]]:
    if not text:
        return None
    out = []
    for part in text.split(","):
        part = part.strip().rstrip("%")
        try:
            v = float(part)
        except ValueError:
            raise UsageError(f"--speeds: cannot read {part!r} as a percent of the pricing speed (e.g. 0,50,100)") from None
        if v < 0:
            raise UsageError(f"--speeds: a speed cannot be negative ({part})")
        out.append(v / 100.0)
    return out


def _prices(items: List[str], class_names) -> tuple:
    default = 100.0
    per = {}
    for item in items:
        if "=" in item:
            name, _, val = item.partition("=")
            name = name.strip()
            if name not in class_names:
                from dsl.diagnostics import did_you_mean
                raise UsageError(f"--price: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
            per[name] = _price(val)
        else:
            default = _price(item)
    return default, per


def _price(text: str) -> float:
    try:
        return AN.parse_price(text.strip())
    except (ValueError, TypeError):
        raise UsageError(f"--price: cannot read {text!r} (e.g. 100, 99.5, 99-16+)") from None


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except DealError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"run-deal: error: {e}", file=sys.stderr)
        return 2
    except RunError as e:
        print(f"run-deal: run failed: {e}", file=sys.stderr)
        return 1


def _main(args) -> int:
    deal = load_deal(args.deal)
    apath = args.assumptions or str(Path(args.deal).with_suffix("")) + ".assumptions.yaml"
    assumptions = load_assumptions(apath, deal)
    class_names = [c.name for c in deal.classes]
    for name in args.classes:
        if name not in class_names:
            from dsl.diagnostics import did_you_mean
            raise UsageError(f"--class: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
    speeds = _speeds(args.speeds)
    default_price, prices = _prices(args.price, class_names)
    if args.check:
        print(f"{args.deal}: ok ({len(deal.classes)} classes, {len(deal.waterfall.clauses)} clauses); "
              f"{apath}: ok ({len(assumptions.lines)} collateral lines)")
        return 0
    result = run(deal, assumptions, speeds)
    rows = analyze(result, "maturity", prices, default_price, args.classes or None)
    if args.cashflows:
        write_cashflows(result, Path(args.cashflows), "maturity")
    if args.format == "json":
        doc = {"deal": deal.name, "settlement": (deal.header.settlement or deal.header.closing).isoformat(),
               "tables": [{k: r[k] for k in ("class", "to", "speed_pct", "price", "yield_pct", "dm_bp",
                                            "wal_years", "mdur_years", "first_principal", "last_principal")}
                          for r in rows]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "csv":
        buf = io.StringIO()
        fields = ["class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                  "first_principal", "last_principal", "first_period", "last_period"]
        w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
        sys.stdout.write(buf.getvalue())
    else:
        sys.stdout.write(format_tables(deal, result, rows))
    return 0


# ------------------------------------------------------------------ tables
def _fmt(x, spec):
    return "NA" if x is None else format(x, spec)


def _window(r):
    if r["first_period"] is None:
        return "NA"
    return f"{r['first_period']}-{r['last_period']}"


def format_tables(deal, result, rows) -> str:
    out = io.StringIO()
    settle = deal.header.settlement or deal.header.closing
    speeds = [float(s * 100) for s in result.speeds]
    by_class: dict = {}
    for r in rows:
        by_class.setdefault(r["class"], {})[r["speed_pct"]] = r
    out.write(f"{deal.name}\n")
    out.write(f"Settlement {settle.isoformat()}; first distribution {deal.header.first_distribution.isoformat()}; "
              f"to maturity\n\n")
    # Summary: WAL and window per speed (page-3 style).
    head = f"{'Class':<8} {'Balance':>15}"
    for s in speeds:
        head += f" | {s:>5.0f}% WAL  Window"
    out.write(head + "\n" + "-" * len(head) + "\n")
    for name, per in by_class.items():
        first = next(iter(per.values()))
        bal = first["balance"]
        line = f"{name:<8} {_fmt(bal, ',.0f'):>15}"
        for s in speeds:
            r = per.get(s)
            line += f" | {_fmt(r['wal_years'], '.2f'):>10} {_window(r):>7}"
        out.write(line + "\n")
    out.write("\n")
    # Page-11 style: one table per class.
    for name, per in by_class.items():
        first = next(iter(per.values()))
        if first["kind"] == "io":
            continue
        measure = "DM (bp)" if first["kind"] == "floater" else "Yield (%)"
        out.write(f"Class {name} (to maturity)\n")
        out.write(f"  {'Percent of Pricing Speed':<26}" + "".join(f"{s:>10.0f}%" for s in speeds) + "\n")
        price = first["price"]
        label = f"{measure} @ {AN.format_32nds(price)}"
        vals = []
        for s in speeds:
            r = per[s]
            vals.append(_fmt(r["dm_bp"], ".0f") if first["kind"] == "floater" else _fmt(r["yield_pct"], ".2f"))
        out.write(f"  {label:<26}" + "".join(f"{v:>11}" for v in vals) + "\n")
        for lab, key, spec in (("WAL (yr)", "wal_years", ".2f"), ("MDUR (yr)", "mdur_years", ".2f")):
            out.write(f"  {lab:<26}" + "".join(f"{_fmt(per[s][key], spec):>11}" for s in speeds) + "\n")
        for lab, key in (("First Prin Pay", "first_principal"), ("Last Prin Pay", "last_principal")):
            cells = []
            for s in speeds:
                v = per[s][key]
                cells.append("NA" if v is None else D.month_label(D.parse_date(v)))
            out.write(f"  {lab:<26}" + "".join(f"{c:>11}" for c in cells) + "\n")
        out.write("\n")
    return out.getvalue()


# ------------------------------------------------------------------ cashflows
def write_cashflows(result, directory: Path, mode: str) -> None:
    """One CSV per class and one for the collateral, written to a temporary
    folder and moved into place only when all are complete."""
    directory = Path(directory)
    parent = directory.parent if str(directory.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cashflows-", dir=parent))
    try:
        cols = ["scenario", "speed", "mode", "period", "date", "beginning balance", "interest", "principal",
                "ending balance"]
        T = result.n_periods
        dates = [d.isoformat() for d in result.dates]
        for ci, name in enumerate(result.class_names):
            with open(tmp / f"{_safe(name)}.csv", "w", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(cols + ["carryover paid", "loss reimbursed", "writedown", "rate"])
                for s, sp in enumerate(result.speeds):
                    for t in range(T):
                        w.writerow([s, f"{sp * 100:g}%", mode, t + 1, dates[t],
                                    repr(float(result.begin_balance[t, ci, s])), repr(float(result.interest[t, ci, s])),
                                    repr(float(result.principal[t, ci, s])), repr(float(result.balance[t, ci, s])),
                                    repr(float(result.carryover_paid[t, ci, s])),
                                    repr(float(result.loss_reimbursed[t, ci, s])),
                                    repr(float(result.writedown[t, ci, s])), repr(float(result.rate[t, ci, s]))])
        with open(tmp / "collateral.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(cols + ["group", "scheduled principal", "prepayment", "default", "recovery", "loss",
                               "penalty"])
            for g, f in result.collateral.items():
                for s, sp in enumerate(result.speeds):
                    for t in range(T):
                        w.writerow([s, f"{sp * 100:g}%", mode, t + 1, dates[t], repr(float(f.begin_balance[s, t])),
                                    repr(float(f.net_interest[s, t])), repr(float(f.principal[s, t])),
                                    repr(float(f.end_balance[s, t])), g, repr(float(f.scheduled_principal[s, t])),
                                    repr(float(f.prepayment[s, t])), repr(float(f.default[s, t])),
                                    repr(float(f.recovery[s, t])), repr(float(f.loss[s, t])),
                                    repr(float(f.penalty[s, t]))])
        directory.mkdir(parents=True, exist_ok=True)
        for p in tmp.iterdir():
            os.replace(p, directory / p.name)
    finally:
        for p in tmp.glob("*"):
            p.unlink()
        tmp.rmdir()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
