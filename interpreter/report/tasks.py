"""The structurer's report set on the command line: ``--decrement``,
``--breakeven``, ``--size``, ``--set`` and ``--report`` of ``run-deal``
(cli.py reads the options; this module runs them)."""
from __future__ import annotations

import json
import sys
from typing import List

from ..errors import UsageError


# run-deal --help by task: each option's group (options not named here stay under "options").
HELP_GROUPS = {
    "tables and pricing": ("--speeds", "--to", "--class", "--price", "--yield", "--dm", "--afc"),
    "scenarios": ("--grid", "--chunk", "--workers", "--dask"),
    "reports": ("--decrement", "--report"),
    "solvers": ("--breakeven", "--severity", "--lag", "--size", "--remainder", "--round"),
    "state": ("--assumptions", "--set"),
    "engine": ("--engine",),
    "output": ("--format", "--cashflows", "--out", "--check"),
}


def add_options(p) -> None:
    """The report set's options, then every option grouped by task for --help."""
    _add(p)
    _group_by_task(p)


def _group_by_task(p) -> None:
    """Move each option named in HELP_GROUPS into its group (argparse lists a
    group's actions in ``_group_actions``; parsing does not read the groups)."""
    where = {opt: title for title, opts in HELP_GROUPS.items() for opt in opts}
    groups = {title: p.add_argument_group(title) for title in HELP_GROUPS}
    for g in list(p._action_groups):
        if g.title in groups:
            continue
        for action in list(g._group_actions):
            title = next((where[o] for o in action.option_strings if o in where), None)
            if title is not None:
                g._group_actions.remove(action)
                groups[title]._group_actions.append(action)
    for title, g in groups.items():  # in the order of HELP_GROUPS
        p._action_groups.remove(g)
        p._action_groups.append(g)


def _add(p) -> None:
    """The report set's options (grouped by _group_by_task)."""
    p.add_argument("--decrement", action="store_true",
                   help="decrement tables: percent of each principal class's initial balance outstanding on each "
                        "anniversary, at the table speeds, to the table event and to maturity, with the WAL")
    p.add_argument("--report", metavar="FILE.html",
                   help="write one self-contained HTML page: term-sheet and decrement tables, charts of balances, "
                        "collateral cashflows, cash by clause and the available-funds cap")
    p.add_argument("--breakeven", nargs="*", metavar="CLASS",
                   help="breakeven CDRs: the highest constant default rate without a write-down, and without an "
                        "interest shortfall, per class (default: every principal class) and speed")
    p.add_argument("--severity", metavar="PCT", help="with --breakeven: the loss severity (default: the assumptions')")
    p.add_argument("--lag", type=int, metavar="MONTHS",
                   help="with --breakeven: the recovery lag (default: the assumptions')")
    p.add_argument("--size", metavar="TARGETS",
                   help='solve class sizes to targets, e.g. "1-A-1 wal=0.90, 1-A-2 wal=2.00" (balances) or '
                        '"1-A-3 price=100 yield=3.80%%" (the coupon); in order, at 100%% of the pricing speed '
                        "to the table event unless --speeds/--to say otherwise; with --out FILE: write the resized deal")
    p.add_argument("--remainder", metavar="CLASS", help="with --size: the class that takes what is left")
    p.add_argument("--round", type=float, default=1.0, metavar="DOLLARS",
                   help="with --size: round balances to this many dollars (default 1)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="for this run only: CLASS.balance=60,000,000, CLASS.coupon=4.10%% (a fixed coupon) or "
                        "PARAMETER=VALUE; repeatable")


def requested(args) -> bool:
    return bool(args.decrement or args.breakeven is not None or args.size or args.report)


def run_task(args, deal, assumptions, speeds: List[float], modes: List[str]) -> int:
    """Run the one report-set task the options ask for; its output on stdout (or FILE)."""
    tasks = [n for n, on in (("--decrement", args.decrement), ("--breakeven", args.breakeven is not None),
                             ("--size", bool(args.size)), ("--report", bool(args.report))) if on]
    if len(tasks) > 1:
        raise UsageError(f"{' and '.join(tasks)}: one at a time")
    for opt in ("grid", "afc", "cashflows"):
        if getattr(args, opt, None):
            raise UsageError(f"--{opt} with {tasks[0]}: one at a time")
    if args.out and not args.size:
        raise UsageError(f"--out with {tasks[0]}: --out names the grid's table (with --grid) or the resized deal "
                         f"(with --size)")
    from ..native.policy import quick_start
    with quick_start():
        if args.decrement:
            return _decrement(args, deal, assumptions, speeds, modes)
        if args.breakeven is not None:
            return _breakeven(args, deal, assumptions, speeds, modes)
        if args.size:
            return _size(args, deal, assumptions, modes)
        from .html import write_report
        write_report(args.report, deal, assumptions, speeds, modes, args.classes or None)
        return 0


def _decrement(args, deal, assumptions, speeds, modes) -> int:
    from ..engine import run
    from .decrement import decrement_rows, decrement_tables, format_decrement, wal_rows
    result = run(deal, assumptions, speeds, to=modes)
    tables = decrement_tables(result, args.classes or None)
    if args.format == "json":
        doc = {"deal": deal.name, "decrement": decrement_rows(tables), "wal": wal_rows(tables)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "csv":
        _csv(decrement_rows(tables), ["class", "to", "speed_pct", "date", "pct_outstanding"])
    else:
        sys.stdout.write(format_decrement(deal, tables))
    return 0


def _breakeven(args, deal, assumptions, speeds, modes) -> int:
    from ..engine import run
    from .breakeven import breakeven, breakeven_rows, format_breakeven, stress_terms
    from .decrement import principal_classes
    from .whatif import read_value
    severity = None if args.severity is None else read_value(args.severity, "%", "--severity")[0]
    stressed, severity = stress_terms(assumptions, severity, args.lag)
    principal = principal_classes(run(deal, assumptions, [1.0], keep="lean"))
    classes = list(args.breakeven) or list(args.classes) or principal
    for c in classes:
        if deal.class_named(c) is None:
            from dsl.diagnostics import did_you_mean
            raise UsageError(f"--breakeven: unknown class '{c}'. "
                             f"{did_you_mean(c, [x.name for x in deal.classes])}".strip())
        if c not in principal:
            raise UsageError(f"--breakeven: class {c} has no principal balance to write down "
                             f"(the principal classes: {', '.join(principal)})")
    rows = breakeven(deal, stressed, speeds, modes, classes, severity)
    if args.format == "json":
        sys.stdout.write(json.dumps({"deal": deal.name, "breakeven": breakeven_rows(rows)}, indent=2) + "\n")
    elif args.format == "csv":
        _csv(breakeven_rows(rows), ["class", "to", "speed_pct", "breakeven_cdr_pct", "interest_breakeven_cdr_pct",
                                    "cum_loss_pct"])
    else:
        sys.stdout.write(format_breakeven(deal, rows, severity, stressed.recovery_lag))
    return 0


def _size(args, deal, assumptions, modes) -> int:
    from .sizing import format_solved, parse_targets, resized_text, solve, write_text_atomically
    if args.speeds and "," in args.speeds:
        raise UsageError("--size solves at one speed: give --speeds one percent of the pricing speed")
    speed = float(args.speeds.strip().rstrip("%")) / 100.0 if args.speeds else 1.0
    if args.to in (None, "both"):
        mode = deal.header.table_event or "maturity"
    else:
        mode = modes[0]
    yields = {}
    for item in args.yields:
        name, _, val = item.partition("=")
        from .whatif import read_value
        yields[name.strip()] = read_value(val if val.strip().endswith(("%", "bp")) else val.strip() + "%", "%",
                                          f"--yield {name.strip()}")[0]
    targets = parse_targets(args.size, deal, yields)
    original = deal
    resized, solved = solve(deal, assumptions, targets, args.remainder, speed, mode, args.round)
    sys.stdout.write(format_solved(resized, original, solved, args.remainder, speed, mode))
    if args.out:
        write_text_atomically(args.out, resized_text(original, resized))
        sys.stdout.write(f"\nwrote {args.out}\n")
    return 0


def _csv(rows: List[dict], fields: List[str]) -> None:
    import csv
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r[k] is None else r[k] for k in fields})
    sys.stdout.write(buf.getvalue())


def apply_sets(args, deal, assumptions):
    """``--set`` what-ifs applied to the deal and assumptions (for this run only)."""
    if not args.sets:
        return deal, assumptions
    from .whatif import apply_sets as apply
    return apply(deal, assumptions, args.sets)
