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
import io
import os
import signal
import sys
from pathlib import Path
from typing import List, Optional

import attrs
import numpy as np

from dsl.diagnostics import DealError

from .api import load_files
from .assumptions import MAX_SPEEDS
from .engine import RunError, run
from .errors import UsageError
from .report.analyze import JSON_TABLE_KEYS, analyze
from .report.cashflows import (check_cashflow_names, cashflows_target, own_files, sweep_stale_tables,
                               write_cashflows)
from .report.pool import collateral_rows, format_collateral
from .report.quotes import (face_amount, label_and_order, quote_lists, quoted_rows, settle_date, single_quotes,
                            speed_columns)
from .report.tables import format_csv, format_summary, format_tables, last_scheduled
from .signals import Interrupted, signals_end_quietly


class _Parser(argparse.ArgumentParser):
    """argparse, with the closest option named for one it does not know (--speds: did you mean --speeds?)."""

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            from dsl.diagnostics import did_you_mean
            known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
            for word in message.split(":", 1)[1].split():
                opt = word.split("=", 1)[0]
                if opt.startswith("-") and opt not in known:
                    longer = [k for k in known if k.startswith(opt)]  # a shortened option: never guessed
                    hint = (f"did you mean {' or '.join(longer)}? (options are written in full)" if longer
                            else did_you_mean(opt, known).replace("'", ""))
                    message = f"unknown option {opt}" + (f": {hint}" if hint else " (run-deal --help lists them)")
                    break
        super().error(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run-deal", description="Run a .waterfall deal and print its term-sheet tables.",
                allow_abbrev=False)  # --spe is a slip, not --speeds: said so, never guessed
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
    p.add_argument("--check", action="store_true",
                   help="validate the deal and its assumptions, and lint a run at the table speeds (no tables)")
    p.add_argument("--strict", action="store_true", help="a warning of the deal linter is an error (exit 2)")
    p.add_argument("--grid", metavar="SPEC",
                   help='scenario grid, e.g. "speed=0..300/25 cdr=0,2,5,10 severity=35%%,50%% libor=+0,+100bp" '
                        "(or a YAML file of axis: values); prints one row per scenario and class")
    p.add_argument("--out", metavar="FILE", help="with --grid: write the table to FILE (.csv, or .parquet with pyarrow); "
                                                 "with --size: write the resized deal to FILE")
    p.add_argument("--chunk", type=int, default=2000, help="with --grid: scenarios per pass (bounds memory)")
    p.add_argument("--workers", type=int, default=1,
                   help="with --grid: run the chunks in this many processes (e.g. the number of cores)")
    p.add_argument("--dask", metavar="ADDRESS", help="with --grid: run the chunks on a Dask cluster "
                                                     "(a scheduler address, or 'local'); needs the [dask] extra")
    p.add_argument("--afc", nargs="?", const="20%", metavar="STRESS",
                   help="print the effective Net Rate Cap by period (available funds cap schedule) at the pricing "
                        "speed, with the indices on their curves and held at STRESS (default 20%%)")
    # pricing (issue 17): settlement date and face amount for proceeds
    p.add_argument("--settle", metavar="DATE", help="price for settlement on DATE instead of the deal's settlement date")
    p.add_argument("--face", metavar="AMOUNT", help="original face amount: print each class's proceeds "
                                                    "(face x factor x (price + accrued) / 100)")
    p.add_argument("--engine", choices=("auto", "c", "numpy"), default=None,
                   help="the compiled C engine, the numpy engine, or auto (C when a C compiler is found; the "
                        "default, or $WATERFALL_ENGINE): the same results either way")
    from .report.tasks import add_options
    add_options(p)  # decrement tables, breakeven, sizing, --set, the HTML report
    # issue 18: inspection and deal states (interpreter/report/inspect.py, interpreter/state.py)
    p.add_argument("--inspect", metavar="NAME[,NAME...]",
                   help="print defined terms, events, accounts, contracts, class and group fields by period "
                        "(a name, a class, group_G, pool, or all) instead of the tables")
    p.add_argument("--state", metavar="STATE.yaml", help="run the deal from a deal state (see --save-state)")
    p.add_argument("--save-state", metavar="FILE", help="write the deal state after distribution --after N "
                                                        "(one speed, one mode)")
    p.add_argument("--after", type=int, metavar="N", help="with --save-state: the distribution")
    return p


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
        with signals_end_quietly():
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
        _tell(e.render())
        return 2
    except UsageError as e:
        _tell(f"run-deal: error: {e}")
        return 2
    except RunError as e:
        if getattr(e, "span", None) is not None and e.span.line > 0:  # the deal caused it: shown at that line
            from dsl.diagnostics import Diagnostic
            _tell(Diagnostic(e.span, str(e), hint=e.hint).render(_source(e.span.file)))
            return 2
        _tell(f"run-deal: run failed: {e}")
        return 1
    except BrokenPipeError:
        # The reader closed the pipe (run-deal ... | head): nothing went wrong here.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # An output folder or file that cannot be written: nothing half-written is left.
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        _tell(f"run-deal: error: cannot write{where}: {e.strerror or e}")
        return 2
    except (ValueError, FloatingPointError, OverflowError) as e:
        # Numbers no check foresaw (a collateral term the projection cannot use, say):
        # a failed run with the reason, never a traceback.
        _tell(f"run-deal: run failed: {e}")
        return 1


def _tell(text: str) -> None:
    """A message on stderr; a reader that closed it (run-deal ... 2>&1 | head) changes
    nothing: the exit status stays the message's (2 for an input error)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())


def _source(path: str) -> Optional[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _main(args) -> int:
    if args.engine:
        import os
        os.environ["WATERFALL_ENGINE"] = args.engine  # grid worker processes inherit it
        if args.engine == "c":
            from .native.build import available
            if not available():
                raise UsageError("--engine c: no C compiler found (install gcc, or set CC)")
    deal, assumptions, apath = _load(args.deal, args.assumptions)
    _check_output_files(args, [("deal file", args.deal), ("assumptions file", apath), ("deal state", args.state),
                               ("grid file", args.grid)])
    if args.cashflows:
        check_cashflow_names(deal)  # before anything runs or is written
    from .report import tasks
    deal, assumptions = tasks.apply_sets(args, deal, assumptions)
    from .reach import check_reach, settle_within_reach
    check_reach(deal, assumptions)  # tables and the settlement date against the run's horizon
    class_names = [c.name for c in deal.classes]
    for name in args.classes:
        if name not in class_names:
            from dsl.diagnostics import did_you_mean
            raise UsageError(f"--class: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
    columns = speed_columns(args.speeds, deal, assumptions, MAX_SPEEDS)  # issue 17: speeds in any unit
    speeds = [c.multiple for c in columns if c.multiple is not None] if columns else list(assumptions.speeds)
    default_price, quotes = quote_lists(args.price, args.yields, args.dms, class_names)
    prices, yields, dms = single_quotes(quotes)
    for name, qs in quotes.items():  # a class is quoted one way: prices, yields or margins (a list of them)
        kinds = sorted({k for k, _ in qs}, key=("price", "yield", "dm").index)
        if len(kinds) > 1:
            raise UsageError(f"--{kinds[0]} and --{kinds[1]} both price class {name}")
    modes = _modes(args.to, deal)
    settle, face = settle_date(args.settle, deal), face_amount(args.face)
    if settle is not None and settle_within_reach(settle, deal, assumptions):  # nothing left to price
        raise UsageError(f"--settle: {settle_within_reach(settle, deal, assumptions)}")
    from .options import check_options  # requests that conflict: input errors, before anything runs
    check_options(deal, assumptions, speeds if args.speeds else None, args.grid, prices, yields, dms)
    if args.cashflows and not args.grid:
        cashflows_target(args.cashflows, own_files(class_names))  # refused now rather than after the run
    if args.save_state or args.state or args.after is not None:
        from .state import run_from_state, save_state
        if args.save_state and args.state:
            raise UsageError("--save-state and --state: one at a time")
        _check_state_options(args)
        if args.save_state or args.after is not None:
            sys.stdout.write(save_state(deal, assumptions, speeds, modes, args.save_state or "",
                                        args.after) if args.save_state else "")
            if not args.save_state:
                raise UsageError("--after N goes with --save-state FILE")
            return 0
        from .report.from_state import Pricing
        pricing = Pricing(default_price, quotes, tuple(args.classes), args.settle, face, columns)
        sys.stdout.write(run_from_state(deal, assumptions, args.state, speeds if args.speeds else None,
                                        modes if args.to else None, args.inspect, args.format, args.cashflows,
                                        pricing))
        return 0
    _check_one_output(args)
    if args.inspect:
        from .report.inspect_run import inspect_run
        sys.stdout.write(inspect_run(deal, assumptions, speeds, modes, args.inspect, args.format, args.cashflows))
        return 0
    if tasks.requested(args) and not args.check:
        return tasks.run_task(args, deal, assumptions, speeds, modes)
    if args.afc:
        sys.stdout.write(format_afc(deal, assumptions, args.afc, args.classes or None))
        return 0
    if args.grid:
        from .grid import GridError, progress_bar, run_grid, write_table
        if any(len(q) > 1 for q in quotes.values()):
            raise UsageError("--grid prices each class once: a list of prices, yields or margins is for the tables")
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
    # One pass: the requested speeds, plus the pricing speed (for the summary)
    # and 0% (the Last Scheduled Distribution Date), in every mode.
    run_speeds = list(speeds) + [x for x in (1.0, 0.0) if x not in speeds]
    run_modes = list(modes) + (["maturity"] if "maturity" not in modes else [])
    from .native.policy import quick_start
    with quick_start():  # a kernel not built yet: -O3 in the background for the next run, -O0 for this one
        result = run(deal, assumptions, run_speeds, to=run_modes, trace=bool(args.cashflows) and not args.check,
                     inspect=bool(args.cashflows) and not args.check)
        from .lint import lint, print_warnings
        warned = print_warnings(lint(deal, assumptions, result), deal, sys.stderr)
        if args.check and not warned:
            n = len(assumptions.lines)
            print(f"{args.deal}: ok: {len(deal.classes)} classes, {n} collateral line{'s' * (n != 1)}")
        if args.check or (warned and args.strict):
            return 2 if warned and args.strict else 0
        all_rows = quoted_rows(result, default_price, quotes, args.classes or None, settle, face, analyze)
    wanted = {round(x * 100, 9) for x in speeds}
    rows = [r for r in all_rows if round(r["speed_pct"], 9) in wanted and r["to"] in [m.lower() for m in modes]]
    extra_runs = {c.written: run(deal, attrs.evolve(assumptions, prepayment={"all": c.curve}), [1.0], to=modes)
                  for c in columns or () if c.multiple is None}  # a speed not a multiple of the pricing speed
    extra = {w: quoted_rows(r, default_price, quotes, args.classes or None, settle, face, analyze)
             for w, r in extra_runs.items()}
    rows = label_and_order(rows, columns, extra, class_names, modes)
    pool = label_and_order([r for r in collateral_rows(result, settle) if round(r["speed_pct"], 9) in wanted
                            and r["to"] in [m.lower() for m in modes]], columns,
                           {w: collateral_rows(r, settle) for w, r in extra_runs.items()}, [], modes)  # the collateral line
    if args.cashflows:
        asked = [m.lower() for m in modes]  # the files carry the speeds and modes asked for, not the summary's
        write_cashflows(result, Path(args.cashflows), args.classes or None,
                        scenarios=[s for s, (sp, m) in enumerate(zip(result.speeds, result.modes))
                                   if round(sp * 100, 9) in wanted and m.lower() in asked])
    if args.format == "json":
        import json
        doc = {"deal": deal.name, "settlement": (settle or deal.header.settlement or deal.header.closing).isoformat(),
               "tables": [{k: r[k] for k in JSON_TABLE_KEYS + (("proceeds",) if face else ())}
                          | ({"note": r["note"]} if r.get("note") else {}) for r in rows],
               "collateral": [{k: v for k, v in r.items() if not k.endswith("_period")} for r in pool]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "csv":
        sys.stdout.write(format_csv(rows, ("proceeds",) if face else ()))
    else:
        sys.stdout.write(format_summary(deal, result, all_rows, modes, settle,
                                        last_scheduled(deal, assumptions, result, all_rows)))
        sys.stdout.write(format_tables(deal, result, rows, modes, settle, format_collateral(pool),
                                       assumptions.prepayment))
    return 0


def format_afc(deal, assumptions, stress_text: str, classes=None) -> str:
    """The available-funds cap schedule: each capped class's effective cap by
    period, at 100% of the pricing speed, to maturity, with the indices on
    their curves and with every index held at the stress level."""
    try:
        stress = float(stress_text.strip().rstrip("%")) / 100.0
    except ValueError:
        raise UsageError(f"--afc: cannot read {stress_text!r} as a rate (e.g. 20%)") from None
    if not any(c.cap is not None for c in deal.classes if not classes or c.name in classes):
        which = "no class given with --class has" if classes else f"{deal.name} has no class with"
        raise UsageError(f"--afc: {which} a cap (a Net Rate Cap or available funds cap): there is no "
                         f"cap schedule to print")
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


def _load(deal_path: str, assumptions: Optional[str]):
    """The API's loader (interpreter/api.py); an assumptions file that is not there
    says where run-deal looked and how to name another."""
    try:
        return load_files(deal_path, assumptions)
    except DealError as e:
        from .api import assumptions_path
        apath = assumptions if assumptions is not None else assumptions_path(deal_path)
        if os.path.lexists(apath) or not any(d.span.file == apath for d in e.diagnostics):
            raise
        hint = ("give the assumptions with --assumptions FILE (-a FILE)" if assumptions is None
                else "check the path given to --assumptions")
        where = " (run-deal looks beside the deal for DEAL.assumptions.yaml)" if assumptions is None else ""
        raise DealError([attrs.evolve(d, hint=hint, message=d.message + where) if d.span.file == apath else d
                         for d in e.diagnostics], e.sources) from None


def _check_one_output(args) -> None:
    """--inspect, --afc and --grid each print instead of the tables: one at a time,
    and --cashflows goes with the tables or --inspect (never passed over)."""
    given = [n for n, on in (("--inspect", args.inspect), ("--afc", args.afc), ("--grid", args.grid)) if on]
    if len(given) > 1:
        raise UsageError(f"{given[0]} and {given[1]}: one at a time")
    if args.cashflows and given and given[0] != "--inspect":
        raise UsageError(f"--cashflows with {given[0]}: --cashflows writes the tables' run (or --inspect's); "
                         f"{given[0]} prints its own table (run them one at a time)")


def _state_conflicts(args) -> List[str]:
    """The options a run from (or to) a deal state would otherwise pass over."""
    given = [("--decrement", args.decrement), ("--breakeven", args.breakeven is not None), ("--grid", args.grid),
             ("--size", args.size), ("--remainder", args.remainder), ("--report", args.report), ("--afc", args.afc),
             ("--severity", args.severity), ("--lag", args.lag is not None), ("--out", args.out),
             ("--check", args.check)]
    if args.save_state:  # it writes the state and nothing else
        given += [("--inspect", args.inspect), ("--cashflows", args.cashflows), ("--price", args.price),
                  ("--yield", args.yields), ("--dm", args.dms), ("--settle", args.settle), ("--face", args.face),
                  ("--class", args.classes),
                  ("--format", args.format != "table")]
    return [name for name, on in given if on]


def _check_state_options(args) -> None:
    """--state and --save-state: an option they do not carry out is an input error, never passed over."""
    conflicts = _state_conflicts(args)
    if not conflicts:
        return
    first = conflicts[0]
    if args.save_state:
        raise UsageError(f"{first} with --save-state: --save-state only writes the deal state (run {first} "
                         f"without it, or from the state with --state)")
    raise UsageError(f"{first} does not run from a deal state yet: --state prints the tables, --inspect and "
                     f"--cashflows (run {first} without --state)")


def _check_output_files(args, inputs) -> None:
    """--out, --report and --save-state replace FILE whole: never a folder, nor a
    file this run reads (the deal, its assumptions, a state, a grid's YAML)."""
    for option, path in (("--out", args.out), ("--report", args.report), ("--save-state", args.save_state)):
        if not path:
            continue
        if os.path.isdir(path):
            raise UsageError(f"{option} {path}: is a folder; name the file to write")
        for what, source in inputs:
            if source and os.path.isfile(path) and os.path.isfile(source) and os.path.samefile(path, source):
                raise UsageError(f"{option} {path}: is the {what} this run reads; writing it would replace it "
                                 f"(name another file)")


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


if __name__ == "__main__":  # python -m interpreter.cli, as run-deal
    sys.exit(main())
