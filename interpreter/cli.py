"""run-deal: run a .waterfall deal and print its term-sheet tables.

    run-deal DEAL.waterfall [--assumptions A.yaml] [--speeds 0,50,100,200]
             [--price 100 | --price CLASS=PRICE ...] [--class NAME ...]
             [--format table|json|csv] [--cashflows DIR] [--check]

Exit status: 0 on success, 2 for an input error (the deal file, the
assumptions file, the options, a --cashflows folder holding files run-deal did
not write), 1 for a run that failed (a broken invariant), 128 + the signal for a
run stopped by one (143 for SIGTERM, 130 for SIGINT), without a traceback.
Outputs are whole or absent: a failed or stopped run leaves no partial file, and
--cashflows DIR holds either the complete new set or exactly what it held before.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import signal
import stat
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from dsl import ast as A
from dsl.check import load_deal
from dsl.diagnostics import DealError

from . import analytics as AN
from . import dates as D
from .assumptions import MAX_SPEEDS, load_assumptions
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
    p.add_argument("--yield", dest="yields", action="append", default=[], metavar="CLASS=Y",
                   help="price a fixed-rate class at a bond-equivalent yield (e.g. 1-A-2=3.05%%); repeatable")
    p.add_argument("--dm", dest="dms", action="append", default=[], metavar="CLASS=BP",
                   help="price a floater at a discount margin in basis points (e.g. 2-A=30); repeatable")
    p.add_argument("--class", dest="classes", action="append", default=[], help="only this class; repeatable")
    p.add_argument("--to", dest="to", default=None,
                   help="EVENT, maturity, or both (the deal's table event and maturity; the default when the deal "
                        "names a table event)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--cashflows", metavar="DIR", help="write per-period cashflows, one CSV per class and one for the collateral")
    p.add_argument("--check", action="store_true", help="validate the deal and its assumptions without running")
    p.add_argument("--grid", metavar="SPEC",
                   help='scenario grid, e.g. "speed=0..300/25 cdr=0,2,5,10 severity=35%%,50%% libor=+0,+100bp" '
                        "(or a YAML file of axis: values); prints one row per scenario and class")
    p.add_argument("--out", metavar="FILE", help="with --grid: write the table to FILE (.csv, or .parquet with pyarrow)")
    p.add_argument("--chunk", type=int, default=2000, help="with --grid: scenarios per pass (bounds memory)")
    p.add_argument("--workers", type=int, default=1,
                   help="with --grid: run the chunks in this many processes (e.g. the number of cores)")
    p.add_argument("--dask", metavar="ADDRESS", help="with --grid: run the chunks on a Dask cluster "
                                                     "(a scheduler address, or 'local'); needs the [dask] extra")
    p.add_argument("--afc", nargs="?", const="20%", metavar="STRESS",
                   help="print the effective Net Rate Cap by period (available funds cap schedule) at the pricing "
                        "speed, with the indices on their curves and held at STRESS (default 20%%)")
    p.add_argument("--engine", choices=("auto", "c", "numpy"), default=None,
                   help="the compiled C engine, the numpy engine, or auto (C when a C compiler is found; the "
                        "default, or $WATERFALL_ENGINE): the same results either way")
    return p


def _speeds(text: Optional[str]) -> Optional[List[float]]:
    if not text:
        return None
    if text.count(",") >= MAX_SPEEDS:
        raise UsageError(f"--speeds: {text.count(',') + 1:,} speeds, more than the {MAX_SPEEDS} of one run (use --grid)")
    out = []
    for part in text.split(","):
        part = part.strip().rstrip("%")
        try:
            v = float(part)
        except ValueError:
            raise UsageError(f"--speeds: cannot read {part!r} as a percent of the pricing speed (e.g. 0,50,100)") from None
        if not np.isfinite(v) or v > 100_000:
            raise UsageError(f"--speeds: {part!r} is not a usable speed")
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


def _per_class(items: List[str], class_names, option: str, per_unit: float) -> dict:
    """CLASS=VALUE pairs; VALUE in percent (--yield, '%' optional) or basis points (--dm)."""
    out = {}
    for item in items:
        name, eq, val = item.partition("=")
        name = name.strip()
        if not eq:
            raise UsageError(f"{option}: expected CLASS=VALUE, got {item!r}")
        if name not in class_names:
            from dsl.diagnostics import did_you_mean
            raise UsageError(f"{option}: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
        try:
            out[name] = float(val.strip().rstrip("%").removesuffix("bp")) / per_unit
        except ValueError:
            raise UsageError(f"{option}: cannot read {val!r} as a number") from None
    return out


def _price(text: str) -> float:
    try:
        return AN.parse_price(text.strip())
    except (ValueError, TypeError):
        raise UsageError(f"--price: cannot read {text!r} (e.g. 100, 99.5, 99-16+)") from None


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning on the command line: one line, no source line quoted."""
    return f"run-deal: warning: {message}\n"


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    import warnings
    warnings.formatwarning = _one_line_warning
    # SIGTERM, SIGINT (and SIGHUP) end the run quietly: temporaries are removed
    # on the way out and the status is 128 + the signal (143, 130).
    try:
        with _signals_end_quietly():
            return _main_reporting(args)
    except Interrupted as e:
        print(f"run-deal: stopped by {_signal_name(e.signum)}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:  # before our handler was in place, or after
        print("run-deal: stopped by SIGINT", file=sys.stderr)
        return 128 + signal.SIGINT


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _main_reporting(args) -> int:
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
    except BrokenPipeError:
        # The reader closed the pipe (run-deal ... | head): nothing went wrong here.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # An output folder or file that cannot be written: nothing half-written is left.
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"run-deal: error: cannot write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    except (ValueError, FloatingPointError, OverflowError) as e:
        # Numbers no check foresaw (a collateral term the projection cannot use, say):
        # a failed run with the reason, never a traceback.
        print(f"run-deal: run failed: {e}", file=sys.stderr)
        return 1


def _main(args) -> int:
    if args.engine:
        import os
        os.environ["WATERFALL_ENGINE"] = args.engine  # grid worker processes inherit it
        if args.engine == "c":
            from .native.build import available
            if not available():
                raise UsageError("--engine c: no C compiler found (install gcc, or set CC)")
    deal = load_deal(args.deal)
    if args.cashflows:
        check_cashflow_names(deal)  # before anything runs or is written
    apath = args.assumptions or str(Path(args.deal).with_suffix("")) + ".assumptions.yaml"
    assumptions = load_assumptions(apath, deal)
    _check_tables_cover(deal, assumptions)
    class_names = [c.name for c in deal.classes]
    for name in args.classes:
        if name not in class_names:
            from dsl.diagnostics import did_you_mean
            raise UsageError(f"--class: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
    speeds = _speeds(args.speeds)
    if speeds is None:
        speeds = list(assumptions.speeds)
    default_price, prices = _prices(args.price, class_names)
    yields = _per_class(args.yields, class_names, "--yield", 100.0)
    dms = _per_class(args.dms, class_names, "--dm", 10000.0)
    modes = _modes(args.to, deal)
    if args.cashflows and not args.grid:
        cashflows_target(args.cashflows)  # refused now rather than after the run
    if args.afc:
        sys.stdout.write(format_afc(deal, assumptions, args.afc, args.classes or None))
        return 0
    if args.grid:
        from .grid import GridError, progress_bar, run_grid, write_table
        if args.chunk < 1:
            raise UsageError("--chunk must be at least 1")
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
        try:
            out = run_grid(deal, assumptions, args.grid, to=modes, prices=prices, default_price=default_price,
                           chunk=args.chunk, progress=progress_bar(sys.stderr.isatty()), dask=args.dask,
                           workers=args.workers)
            fmt = "parquet" if (args.out or "").endswith(".parquet") else "csv"
            cols = out["columns"]
            if args.classes:
                keep = [i for i, c in enumerate(cols["class"]) if c in args.classes]
                cols = {k: [v[i] for i in keep] for k, v in cols.items()}
            if args.out:
                sweep_stale_tables(args.out)
            write_table(cols, args.out, fmt)
        except GridError as e:
            raise UsageError(f"--grid: {e}") from None
        return 0
    if args.check:
        print(f"{args.deal}: ok ({len(deal.classes)} classes, {len(deal.waterfall.clauses)} clauses); "
              f"{apath}: ok ({len(assumptions.lines)} collateral lines)")
        return 0
    # One pass: the requested speeds, plus the pricing speed (for the summary)
    # and 0% (the Last Scheduled Distribution Date), in every mode.
    run_speeds = list(speeds) + [x for x in (1.0, 0.0) if x not in speeds]
    run_modes = list(modes) + (["maturity"] if "maturity" not in modes else [])
    from .native.policy import quick_start
    with quick_start():  # a kernel not built yet: -O3 in the background for the next run, -O0 for this one
        result = run(deal, assumptions, run_speeds, to=run_modes, trace=bool(args.cashflows))
        all_rows = analyze(result, prices, default_price, args.classes or None, yields, dms)
    wanted = {round(x * 100, 9) for x in speeds}
    rows = [r for r in all_rows if round(r["speed_pct"], 9) in wanted and r["to"] in [m.lower() for m in modes]]
    if args.cashflows:
        write_cashflows(result, Path(args.cashflows))
    if args.format == "json":
        import json
        doc = {"deal": deal.name, "settlement": (deal.header.settlement or deal.header.closing).isoformat(),
               "tables": [{k: r[k] for k in ("class", "to", "speed_pct", "price", "yield_pct", "dm_bp",
                                            "wal_years", "mdur_years", "first_principal", "last_principal")}
                          for r in rows]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "csv":
        import csv
        buf = io.StringIO()
        fields = ["class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                  "first_principal", "last_principal", "first_period", "last_period"]
        w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
        sys.stdout.write(buf.getvalue())
    else:
        sys.stdout.write(format_summary(deal, result, all_rows, modes))
        sys.stdout.write(format_tables(deal, result, rows, modes))
    return 0


def format_afc(deal, assumptions, stress_text: str, classes=None) -> str:
    """The available-funds cap schedule: each capped class's effective cap by
    period, at 100% of the pricing speed, to maturity, with the indices on
    their curves and with every index held at the stress level."""
    try:
        stress = float(stress_text.strip().rstrip("%")) / 100.0
    except ValueError:
        raise UsageError(f"--afc: cannot read {stress_text!r} as a rate (e.g. 20%)") from None
    base = run(deal, assumptions, [1.0])
    stressed = run(deal, assumptions, [1.0], index_levels={i.name: stress for i in deal.indices})
    capped = [i for i, n in enumerate(base.class_names)
              if not np.all(np.isnan(base.cap[:, i, 0])) and (not classes or n in classes)]
    out = io.StringIO()
    out.write(f"{deal.name}: effective Net Rate Cap (%) by period, 100% of the pricing speed\n")
    out.write(f"curve = the assumptions' index levels; stressed = every index at {stress * 100:g}%\n\n")
    tag = f"@{stress * 100:g}%"
    head = f"{'Period':>6} {'Date':>10}" + "".join(f" {base.class_names[i] + ' curve':>13} {base.class_names[i] + ' ' + tag:>13}"
                                              for i in capped)
    out.write(head + "\n")
    for t in range(base.n_periods):
        alive = any(base.begin_balance[t, i, 0] > 0 for i in capped)
        if not alive:
            break
        line = f"{t + 1:>6} {base.dates[t].isoformat():>10}"
        for i in capped:
            line += f" {base.cap[t, i, 0] * 100:>13.2f} {stressed.cap[t, i, 0] * 100:>13.2f}"
        out.write(line + "\n")
    return out.getvalue()


def _check_tables_cover(deal, assumptions) -> None:
    """A table the deal uses must have a row for every period the run reaches
    (the longest collateral term, or the assumptions' horizon)."""
    from dsl.check import deal_expressions, iter_exprs
    from dsl.diagnostics import Diagnostic
    from .engine import horizon
    used = set()
    for e in deal_expressions(deal):
        used |= {n.id for n in iter_exprs(e) if isinstance(n, A.Name)}
    T = horizon(deal, assumptions)
    diags = []
    for t in deal.tables:
        if t.name not in used or any(r.last is None for r in t.rows):
            continue
        last = max(r.last for r in t.rows)
        if last < T:
            diags.append(Diagnostic(t.rows[-1].span if t.rows else t.span,
                                    f"table {t.name} ends at {t.key} {last} but the deal runs {T} periods",
                                    expected=f"rows up to {T}, or an open last row such as '{last + 1}+'"))
    if diags:
        raise DealError(diags, {deal.path: deal.source})


def _modes(text: Optional[str], deal) -> List[str]:
    events = [e.name for e in deal.events if e.retires]
    table_event = deal.header.table_event
    if text is None or text == "both":
        if table_event:
            return [table_event, "maturity"]
        if text == "both":
            raise UsageError("--to both: the deal names no 'table event' in its header")
        return ["maturity"]
    if text == "maturity" or text in events:
        return [text]
    from dsl.diagnostics import did_you_mean
    raise UsageError(f"--to: unknown event '{text}' (the deal's early-retirement events: "
                     f"{', '.join(events) or 'none'}). {did_you_mean(text, events + ['maturity', 'both'])}".strip())


# ------------------------------------------------------------------ tables
def _fmt(x, spec):
    return "NA" if x is None else format(x, spec)


def _window(r):
    if r["first_period"] is None:
        return "NA"
    return f"{r['first_period']}-{r['last_period']}"


def format_summary(deal, result, rows, modes) -> str:
    """Page-3 style: balance, WAL and window at the pricing speed to each mode,
    and the Last Scheduled Distribution Date (last principal at 0%, to maturity)."""
    out = io.StringIO()
    settle = deal.header.settlement or deal.header.closing
    mode_names = "/".join(m.capitalize() if m != "maturity" else "Mat" for m in modes)
    out.write(f"{deal.name}\n")
    out.write(f"Settlement {settle.isoformat()}; first distribution {deal.header.first_distribution.isoformat()}; "
              f"at 100% of the pricing speed\n\n")
    head = f"{'Class':<8} {'Principal Amount':>18}  {'WAL (yrs) ' + mode_names:>22}  " \
           f"{'Window (mos) ' + mode_names:>26}  {'Last Scheduled Distribution':>28}"
    out.write(head + "\n" + "-" * len(head) + "\n")
    at = {}
    for r in rows:
        at[(r["class"], r["to"], round(r["speed_pct"], 9))] = r
    seen = []
    for r in rows:
        if r["class"] not in seen:
            seen.append(r["class"])
    for name in seen:
        per = [at.get((name, m.lower(), 100.0)) for m in modes]
        first = per[0]
        bal = first["balance"]
        if first["kind"] == "io":
            ci = result.cls(name)
            bal_text = f"{result.notional[0, ci, 0]:,.0f} (N)"
        else:
            bal_text = _fmt(bal, ",.0f")
        wal = " / ".join(_fmt(p["wal_years"], ".2f") for p in per)
        win = " / ".join(_window(p) for p in per)
        zero = at.get((name, "maturity", 0.0))
        if first["kind"] == "io":
            ci = result.cls(name)
            s0 = list(result.speeds).index(0.0) if 0.0 in list(result.speeds) else 0
            nz = [t for t in range(result.n_periods) if result.notional[t, ci, s0] > 0]
            last = D.month_label(result.dates[nz[-1]]) if nz else "NA"
        else:
            last = D.month_label(D.parse_date(zero["last_principal"])) if zero and zero["last_principal"] else "NA"
        out.write(f"{name:<8} {bal_text:>18}  {wal:>22}  {win:>26}  {last:>28}\n")
    out.write("\n")
    return out.getvalue()


def format_tables(deal, result, rows, modes) -> str:
    """Page-11 style: one table per class and mode, the speeds as columns."""
    out = io.StringIO()
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["class"], r["to"]), {})[r["speed_pct"]] = r
    for (name, to), per in groups.items():
        first = next(iter(per.values()))
        if first["kind"] == "io":
            continue
        speeds = list(per)
        floater = first["kind"] == "floater"
        measure = "DM" if floater else "Yield"
        out.write(f"Class {name} (To {to.capitalize()})\n")
        out.write(f"  {'Percent of Pricing Speed':<26}" + "".join(f"{s:>10.0f}%" for s in speeds) + "\n")
        prices = [per[s]["price"] for s in speeds]
        one_price = all(p is not None and abs(p - prices[0]) < 1e-9 for p in prices)
        label = f"{measure} @ {AN.format_32nds(first['price'])}" if one_price else measure
        vals = [_fmt(per[s]["dm_bp"], ".0f") if floater else _fmt(per[s]["yield_pct"], ".2f") for s in speeds]
        out.write(f"  {label:<26}" + "".join(f"{v:>11}" for v in vals) + "\n")
        if not one_price:
            cells = ["NA" if p is None else AN.format_32nds(p) for p in prices]
            out.write(f"  {'Price':<26}" + "".join(f"{c:>11}" for c in cells) + "\n")
        for lab, key in (("WAL (yr)", "wal_years"), ("MDUR (yr)", "mdur_years")):
            out.write(f"  {lab:<26}" + "".join(f"{_fmt(per[s][key], '.2f'):>11}" for s in speeds) + "\n")
        for lab, key in (("First Prin Pay", "first_principal"), ("Last Prin Pay", "last_principal")):
            cells = ["NA" if per[s][key] is None else D.month_label(D.parse_date(per[s][key])) for s in speeds]
            out.write(f"  {lab:<26}" + "".join(f"{c:>11}" for c in cells) + "\n")
        out.write("\n")
    return out.getvalue()


# ------------------------------------------------------------------ signals
class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived while ``main`` ran. A BaseException, so
    no ``except Exception`` stops it: it unwinds the run, every ``finally`` on
    the way removes its temporaries, and ``main`` returns 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_deferred = {"depth": 0, "pending": None}


def _on_signal(signum, frame):
    if _deferred["depth"]:
        _deferred["pending"] = signum  # raised when the step in progress is done
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_deferred():
    """A step that must not be cut in half (a swap, a clean-up): a signal that
    arrives meanwhile is raised when the step ends."""
    _deferred["depth"] += 1
    try:
        yield
    finally:
        _deferred["depth"] -= 1
        if not _deferred["depth"] and _deferred["pending"] is not None:
            signum, _deferred["pending"] = _deferred["pending"], None
            raise Interrupted(signum)


@contextlib.contextmanager
def _signals_end_quietly():
    """While run-deal runs: SIGTERM, SIGINT and SIGHUP raise Interrupted (a signal
    ignored on entry, as under nohup, stays ignored); the handlers found on entry
    are put back on the way out."""
    import threading
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGINT", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is None or signal.getsignal(sig) == signal.SIG_IGN:
                continue
            try:
                previous[sig] = signal.signal(sig, _on_signal)
            except (ValueError, OSError):
                pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _deferred["pending"] = None


# ------------------------------------------------------------------ cashflows
#
# --cashflows DIR is replaced whole or not at all. The new set is built in a
# hidden .cashflows-* folder beside DIR (the same parent, so the same file
# system) and swapped in with one rename: renameat2(RENAME_EXCHANGE) on Linux,
# else old set aside, new set in, old set removed (the old one put back if the
# second rename fails). Where DIR itself cannot be renamed (a mount point, the
# working folder or one above it, a folder another user owns, a parent we may
# not write) the set is built in a .cashflows-* folder inside DIR and its files
# moved into place one by one, the old files kept until all new ones are in and
# put back on a failure: best effort, since a machine that stops midway can
# leave a mix there. Because the whole folder is replaced, DIR must be new or
# hold only what a run writes (*.csv files, and our temporaries): anything else
# is refused, never swapped away.

TEMP_PREFIX = ".cashflows-"
STALE_AFTER = 3600.0  # seconds: a temporary of ours untouched this long is left from a dead run
RESERVED_FILES = ("collateral", "clauses", "payments", "terms")  # the run's own CSVs, besides the classes'
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def check_cashflow_names(deal) -> None:
    """--cashflows writes CLASS.csv beside collateral.csv, clauses.csv,
    payments.csv and terms.csv: a class whose file would be one of those, or
    another class's (names compared without case, as some file systems do), is an
    input error at the class, found before anything runs."""
    from dsl.diagnostics import Diagnostic
    seen = {}
    diags = []
    for c in deal.classes:
        stem = _safe(c.name)
        key = stem.lower()
        span = _name_span(deal, c)
        if key in RESERVED_FILES:
            diags.append(Diagnostic(span, f"class {c.name}: its cashflow file {stem}.csv would overwrite the run's "
                                          f"{key}.csv (file names are compared without case)",
                                    hint="rename the class, or run without --cashflows"))
        elif key in seen:
            first = seen[key]
            diags.append(Diagnostic(span, f"class {c.name}: its cashflow file {stem}.csv would overwrite class "
                                          f"{first.name}'s {_safe(first.name)}.csv (line {first.span.line}; file "
                                          f"names are compared without case)",
                                    hint="rename one of the classes, or run without --cashflows"))
        else:
            seen[key] = c
    if diags:
        raise DealError(diags, {deal.path: deal.source})


def _name_span(deal, c) -> "A.Span":
    """The span of the class's name on its 'class NAME' line (else the whole declaration)."""
    import re
    sp = c.span
    lines = (deal.source or "").splitlines()
    if 0 < sp.line <= len(lines):
        m = re.match(r"[ \t]*class[ \t]+", lines[sp.line - 1])
        if m and lines[sp.line - 1][m.end():].startswith(c.name):
            col = m.end() + 1
            return A.Span(sp.file, sp.line, col, sp.line, col + len(c.name))
    return sp


def cashflows_target(directory) -> Path:
    """The folder --cashflows DIR writes (symbolic links followed), checked before
    anything runs: new, or a folder holding only what a run writes."""
    d = Path(os.path.realpath(directory))
    if os.path.lexists(d):
        if not d.is_dir():
            raise UsageError(f"--cashflows {directory}: exists and is not a folder")
        foreign = _foreign(d)
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            raise UsageError(f"--cashflows {directory}: the folder holds {', '.join(foreign[:3])}{more}, which "
                             f"run-deal did not write; it replaces the whole folder, so it writes only to a new "
                             f"folder or one holding just its CSV files (move those out, or name another folder)")
    else:
        up = d.parent
        while not os.path.lexists(up) and up != up.parent:
            up = up.parent
        if not up.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(up))
    return d


def _foreign(d: Path) -> List[str]:
    """What in d a cashflows run did not write: anything but regular *.csv files
    and our .cashflows-* temporaries (and lost+found on a mount point)."""
    mount = os.path.ismount(d)
    out = []
    for e in os.scandir(d):
        if e.name.endswith(".csv") and e.is_file(follow_symlinks=False):
            continue
        if e.name.startswith(TEMP_PREFIX) and e.is_dir(follow_symlinks=False):
            continue
        if mount and e.name == "lost+found":
            continue
        out.append(e.name + ("/" if e.is_dir(follow_symlinks=False) else ""))
    return sorted(out)


def _in_place(d: Path) -> bool:
    """True when d cannot be swapped for a new folder: the new set then goes in file by file."""
    if not d.is_dir():
        return False
    if os.path.ismount(d):
        return True
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:
        cwd = ""
    if cwd == str(d) or cwd.startswith(str(d).rstrip(os.sep) + os.sep):
        return True
    if hasattr(os, "geteuid") and d.stat().st_uid != os.geteuid():
        return True
    return not os.access(d.parent, os.W_OK | os.X_OK)


def sweep_stale(folder: Path, now: Optional[float] = None) -> None:
    """Remove what killed runs left in folder: our .cashflows-* folders (holding
    only CSV files, owned by this user) untouched for STALE_AFTER seconds."""
    import shutil
    import time
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not (e.name.startswith(TEMP_PREFIX) and e.is_dir(follow_symlinks=False)):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if now - st.st_mtime < STALE_AFTER or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
                continue
            if all(x.name.endswith(".csv") and x.is_file(follow_symlinks=False) for x in os.scandir(e.path)):
                shutil.rmtree(e.path, ignore_errors=True)
        except OSError:
            continue


def sweep_stale_tables(path: str, now: Optional[float] = None) -> None:
    """Remove what killed --grid --out runs left beside FILE: tmpXXXXXXXX.csv.tmp
    and .parquet.tmp files of this user, untouched for STALE_AFTER seconds."""
    import re
    import time
    now = time.time() if now is None else now
    folder = os.path.dirname(os.path.abspath(path))
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not re.fullmatch(r"tmp[a-z0-9_]{8}\.(csv|parquet)\.tmp", e.name):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if (e.is_file(follow_symlinks=False) and now - st.st_mtime >= STALE_AFTER
                    and not (hasattr(os, "geteuid") and st.st_uid != os.geteuid())):
                os.unlink(e.path)
        except OSError:
            continue


def _free_name(home: Path) -> Path:
    import secrets
    for _ in range(100):
        p = home / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
        if not os.path.lexists(p):
            return p
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(home))


def _new_temp(home: Path, mode: int = 0o700) -> Path:
    for _ in range(100):
        p = _free_name(home)
        try:
            os.mkdir(p, mode)
            return p
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(home))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 with RENAME_EXCHANGE).
    False where that is not available (another system, an old C library, a file
    system without it): the caller then renames in steps."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", -1), getattr(errno, "EOPNOTSUPP", -1)):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, d: Path) -> None:
    """Put the folder new at d in one step. Afterwards the old set, if any, is at
    new (removed by the caller) or already gone; on failure d is as it was."""
    import shutil
    with signals_deferred():
        if not os.path.lexists(d):
            os.rename(new, d)
            return
        if _foreign(d):  # something arrived while the run ran
            raise UsageError(f"--cashflows {d}: files run-deal did not write appeared during the run; left as it was")
        os.chmod(new, stat.S_IMODE(os.stat(d).st_mode))
        if _exchange(new, d):
            return
        aside = _free_name(d.parent)
        os.rename(d, aside)
        try:
            os.rename(new, d)
        except BaseException:
            os.rename(aside, d)
            raise
        shutil.rmtree(aside, ignore_errors=True)


def _move_in(new: Path, d: Path) -> None:
    """The new set's files into d one by one (d cannot be swapped): each file is
    replaced in one step; the old files are kept until all new ones are in, and
    put back if a step fails."""
    import shutil
    names = sorted(os.listdir(new))
    with signals_deferred():
        if _foreign(d):
            raise UsageError(f"--cashflows {d}: files run-deal did not write appeared during the run; left as it was")
        stale = sorted(e.name for e in os.scandir(d)
                       if e.name.endswith(".csv") and e.is_file(follow_symlinks=False) and e.name not in names)
        keep = _new_temp(d)
        kept, placed = [], []
        try:
            for name in names:
                if os.path.lexists(d / name):
                    try:
                        os.link(d / name, keep / name)  # the old file stays in place until replaced
                    except OSError:
                        os.replace(d / name, keep / name)
                    kept.append(name)
                os.replace(new / name, d / name)
                placed.append(name)
            for name in stale:
                os.replace(d / name, keep / name)
                kept.append(name)
        except BaseException:
            for name in placed:
                if name not in kept:
                    _quietly(os.unlink, d / name)
            for name in kept:
                _quietly(os.replace, keep / name, d / name)
            raise
        finally:
            shutil.rmtree(keep, ignore_errors=True)


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass


def write_cashflows(result, directory: Path) -> None:
    """One CSV per class, one for the collateral, the clause ledger and every
    payment, written to a temporary folder and swapped in as a whole only when all
    are complete: DIR holds the new set or, on any failure or signal, exactly what
    it held before."""
    import shutil
    _check_file_names(result.class_names)
    d = cashflows_target(directory)
    in_place = _in_place(d)
    if not in_place:
        d.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(d.parent)
    if d.is_dir():
        sweep_stale(d)
    tmp = None
    try:
        with signals_deferred():
            # a new DIR gets the mode a plain mkdir gives; a replaced one keeps its own
            tmp = _new_temp(d if in_place else d.parent, 0o700 if in_place or d.exists() else 0o777)
        _write_set(result, tmp)
        if in_place:
            _move_in(tmp, d)
        else:
            _swap_in(tmp, d)
    finally:
        if tmp is not None:
            with signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)


def _check_file_names(class_names) -> None:
    seen = {k: k for k in RESERVED_FILES}
    for name in class_names:
        key = _safe(name).lower()
        if key in seen:
            raise UsageError(f"--cashflows: class {name}'s file {_safe(name)}.csv would overwrite {seen[key]}.csv")
        seen[key] = _safe(name)


def _write_set(result, tmp: Path) -> None:
    import csv
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
                    w.writerow([s, f"{sp * 100:g}%", result.modes[s], t + 1, dates[t],
                                repr(float(result.begin_balance[t, ci, s])), repr(float(result.interest[t, ci, s])),
                                repr(float(result.principal[t, ci, s])), repr(float(result.balance[t, ci, s])),
                                repr(float(result.carryover_paid[t, ci, s])),
                                repr(float(result.loss_reimbursed[t, ci, s])),
                                repr(float(result.writedown[t, ci, s])), repr(float(result.rate[t, ci, s]))])
    with open(tmp / "collateral.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols + ["group", "scheduled principal", "prepayment", "default", "recovery", "loss",
                           "penalty", "sale proceeds"])
        sold = result.sold_period if result.sold_period is not None else np.full(len(result.speeds), -1)
        for g, f in result.collateral.items():
            for s, sp in enumerate(result.speeds):
                for t in range(T):
                    if 0 <= sold[s] < t:
                        break  # the collateral was sold (early retirement): no later flows
                    sale = f.end_balance[s, t] if sold[s] == t else 0.0
                    end = 0.0 if sold[s] == t else f.end_balance[s, t]
                    w.writerow([s, f"{sp * 100:g}%", result.modes[s], t + 1, dates[t],
                                repr(float(f.begin_balance[s, t])),
                                repr(float(f.net_interest[s, t])), repr(float(f.principal[s, t])),
                                repr(float(end)), g, repr(float(f.scheduled_principal[s, t])),
                                repr(float(f.prepayment[s, t])), repr(float(f.default[s, t])),
                                repr(float(f.recovery[s, t])), repr(float(f.loss[s, t])),
                                repr(float(f.penalty[s, t])), repr(float(sale))])
    # The clause ledger: what each clause of the waterfall paid, so every
    # payment can be traced to the term-sheet clause that made it.
    with open(tmp / "clauses.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["scenario", "speed", "mode", "period", "date", "clause", "paid"])
        for s, sp in enumerate(result.speeds):
            for t in range(T):
                for k, label in enumerate(result.clause_labels):
                    w.writerow([s, f"{sp * 100:g}%", result.modes[s], t + 1, dates[t], label,
                                repr(float(result.clause_paid[t, k, s]))])
    # Every payment, with the clause and the line of the deal file that made it.
    if result.trace is not None:
        with open(tmp / "payments.csv", "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["scenario", "speed", "mode", "period", "date", "clause", "line", "pays", "class", "amount"])
            for t, label, line, what, targets, paid in result.trace:
                for j, ci in enumerate(targets):
                    for s in np.nonzero(paid[j])[0]:
                        w.writerow([s, f"{result.speeds[s] * 100:g}%", result.modes[s], t + 1, dates[t], label,
                                    line, what, result.class_names[ci], repr(float(paid[j, s]))])


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
