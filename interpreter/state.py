"""A deal state: where a deal stands after a distribution date, in the words
of a remittance report, as a YAML document (``run-deal --save-state FILE
--after N`` writes one, ``run-deal --state FILE`` runs from one).

    deal: CWALT 2004-J4
    distribution: 24                # the last distribution made ...
    date: 2006-04-25                # ... and its date (a distribution date of the deal)
    scenario: {speed: 100%, to: maturity}   # the run the state was saved from
    classes:                        # every figure unrounded
      1-A-1: {balance: 0.0, unpaid interest: 0.0, unpaid carryover: 0.0, unpaid realized losses: 0.0}
      M-1:   {balance: 14452000.0, ...}
    accounts: {}                    # each account's balance
    events: {auction: 61}           # each event that happened, and the distribution it happened on
    collateral:                     # each group's current lines after the distribution
      "1": {balance: 201337005.83, cumulative loss: 0.0, pending recoveries: 0.0,
            lines: [{balance: 201337005.83, gross rate: 6.25%, fee rate: 0.259%, remaining term: 329, ...}]}
      "2": {tape: current-loans.csv}   # or a current loan tape

The collateral is the pool's current lines (``state_collateral``: their keys,
a current loan tape, the recoveries still to come and the delinquency history
the triggers average), so a state stands on its own: ``--state`` projects the
lines from the next period at any speed (``--speeds``; the state's own
scenario is only the default). A state that ``--save-state`` wrote carries
the projection's own figures (each line's performing balance, current rate
and amortisation factor, unrounded), and the run from it repeats the
uninterrupted run's floating-point operations.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Optional

import attrs
import numpy as np

from dsl import ast as A
from dsl.diagnostics import DealError, Diagnostic, did_you_mean

from .collateral.current import CurrentPool
from .errors import UsageError
from .state_collateral import collateral_after, dump_collateral, read_collateral

CLASS_KEYS = {"balance": "balance", "unpaid interest": "shortfall", "unpaid carryover": "carryover",
              "unpaid realized losses": "unpaid_loss"}
INFO_CLASS_KEYS = ("notional", "factor", "original balance")  # written for a reader, not read back
TOP_KEYS = ("deal", "distribution", "date", "scenario", "classes", "accounts", "events", "collateral")


@attrs.frozen
class DealState:
    deal: str
    period: int  # the last distribution made
    date: object  # its date
    speed: float  # the scenario it was saved from (a multiple of the pricing speed)
    mode: str
    classes: dict  # class -> {start field: amount}
    accounts: dict  # account -> balance
    events: dict  # event -> the distribution it happened on
    groups: dict  # group -> {'balance': pool balance, 'cumulative loss': amount}
    span: A.Span = A.NOWHERE  # its classes: (where "do not add up" points)
    collateral: Optional[CurrentPool] = None  # the current lines (state_collateral)

    def start(self, deal: A.Deal) -> dict:
        """The run's starting state (waterfall.lowering.start_state): the deal's own original balances."""
        out = {f: {} for f in CLASS_KEYS.values()}
        out["original_balance"] = {}
        for c in deal.classes:
            if c.name in self.classes:
                for f, v in self.classes[c.name].items():
                    out[f][c.name] = v
                out["original_balance"][c.name] = float(c.balance.value) if c.balance is not None else 0.0
        out["accounts"] = dict(self.accounts)
        out["events_happened"] = list(self.events)
        out["cumulative_loss"] = {g: v["cumulative loss"] for g, v in self.groups.items()}
        out["period"] = self.period
        if self.collateral is not None:
            out["collateral"] = self.collateral
        return out


# ------------------------------------------------------------------ saving
def state_after(result, n: int) -> DealState:
    """The state after distribution ``n`` of a one-scenario run made with
    ``inspect=True`` (its inspected values are the state's figures) and
    ``keep_lines_after`` holding ``n`` (the collateral's own lines)."""
    if len(result.speeds) != 1:
        raise UsageError("--save-state: run exactly one speed and one mode (--speeds S --to MODE)")
    if not 1 <= n < result.n_periods:
        raise UsageError(f"--after {n}: give a distribution from 1 to {result.n_periods - 1} (the run makes "
                         f"{result.n_periods}; a state after the last has nothing left to run)")
    if result.sold_period is not None and 0 <= result.sold_period[0] < n:
        raise UsageError(f"--after {n}: the collateral was sold at distribution {result.sold_period[0] + 1}; "
                         f"the deal has no state after it")
    t = n - 1
    names = {i.name: j for j, i in enumerate(result.inspections)}

    def v(name):
        return float(result.inspected[t, names[name], 0])
    classes = {}
    for c in result.class_names:
        if f"{c}.balance" in names:
            classes[c] = {f: v(f"{c}.{k}") for k, f in
                          (("balance", "balance"), ("unpaid_interest", "shortfall"),
                           ("unpaid_carryover", "carryover"), ("unpaid_losses", "unpaid_loss"))}
    events = {}
    for e in result.deal.events:
        col = result.inspected[:n, names[e.name], 0]
        if col[-1]:
            events[e.name] = int(np.argmax(col != 0)) + 1
    groups = {g: {"balance": v(f"group_{g}.pool_balance"), "cumulative loss": v(f"group_{g}.cumulative_loss")}
              for g in result.collateral}
    try:
        pool, _ = collateral_after(result, n)
    except ValueError as e:
        raise UsageError(f"--after {n}: {e}") from None
    return DealState(result.deal.name, n, result.dates[t], float(result.speeds[0]), result.modes[0], classes,
                     {a: float(result.accounts[t, k, 0]) for k, a in enumerate(result.account_names)}, events, groups,
                     collateral=pool)


def _num(x: float) -> str:
    """Unrounded: the shortest text that reads back as the same double (never an exponent)."""
    r = repr(float(x))
    return r if "e" not in r and "n" not in r else format(Decimal(float(x)), "f")


def _key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() and not k[0].isdigit() else f'"{k}"'


def dump(state: DealState, result=None) -> str:
    """The state as YAML, every figure unrounded, with a factor beside each balance."""
    orig = {}
    if result is not None:
        for c in result.deal.classes:
            if c.balance is not None and c.notional is None:
                orig[c.name] = float(c.balance.value)
    lines = [f"# {state.deal} after distribution {state.period} ({state.date.isoformat()}), written by "
             f"run-deal --save-state.", "# Every figure is unrounded; a factor is the balance / the original balance.",
             f"deal: {state.deal}", f"distribution: {state.period}", f"date: {state.date.isoformat()}",
             f"scenario: {{speed: {_num(state.speed * 100)}%, to: {state.mode}}}", "classes:"]
    rev = {f: k for k, f in CLASS_KEYS.items()}
    for c, fields in state.classes.items():
        body = ", ".join(f"{rev[f]}: {_num(x)}" for f, x in fields.items())
        factor = f"  # factor {fields['balance'] / orig[c]:.8f}" if orig.get(c) else ""
        lines.append(f"  {_key(c)}: {{{body}}}{factor}")
    lines.append("accounts:" + ("" if state.accounts else " {}"))
    lines += [f"  {_key(a)}: {_num(x)}" for a, x in state.accounts.items()]
    lines.append("events:" + ("" if state.events else " {}  # none has happened"))
    lines += [f"  {_key(e)}: {p}  # happened on distribution {p}" for e, p in state.events.items()]
    lines += dump_collateral(state.collateral, {g: v["cumulative loss"] for g, v in state.groups.items()})
    return "\n".join(lines) + "\n"


def write_state(path: str, text: str) -> None:
    """Written beside the target and swapped in: the file is whole or as it was."""
    import os
    import tempfile
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ reading
def load_state(path: str, deal: A.Deal, dates) -> DealState:
    """The state in ``path`` for ``deal`` (whose distribution dates are ``dates``),
    validated as the assumptions are: every error at its line and column, with
    what was expected and the closest name the deal knows."""
    import yaml
    from .assumptions import _load_yaml, _Map, _Reader, yaml_message
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise DealError([Diagnostic(A.Span(path, 0, 0), f"cannot read the deal state: {e.strerror}")]) from None
    try:
        doc = _load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        span = A.Span(path, mark.line + 1, mark.column + 1) if mark else A.Span(path, 1, 1)
        raise DealError([Diagnostic(span, yaml_message(e))], {path: text}) from None
    r = _Reader(path, text, deal)
    if not isinstance(doc, _Map):
        raise DealError([Diagnostic(A.Span(path, 1, 1), "a deal state is a mapping of keys",
                                    expected="deal:, distribution:, date:, classes:, ...")], {path: text})
    r.keys(doc, TOP_KEYS, "the deal state", required=("deal", "distribution", "date", "classes", "collateral"))
    if r.diags:
        raise DealError(r.diags, {path: text})

    def at(m, k, i=1):
        return m.marks[k][i]

    def amount(m, k, what):
        x = r.number(m[k], at(m, k), what, unit="$", end=at(m, k, 2))
        if x is not None and x < 0:
            r.error(at(m, k), f"{what}: an amount owed or held is not negative ({m[k]})")
        return x
    if str(doc["deal"]) != deal.name:
        r.error(at(doc, "deal"), f"this state is of deal '{doc['deal']}', not of {deal.name}",
                expected=f"deal: {deal.name}")
    n = r.integer(doc["distribution"], at(doc, "distribution"), "distribution") or 0
    if not 1 <= n < len(dates):
        r.error(at(doc, "distribution"), f"distribution {n} is not one of the run's 1..{len(dates) - 1}")
        n = 0
    from .dates import parse_date
    try:
        when = parse_date(doc["date"])
    except (ValueError, TypeError):
        r.error(at(doc, "date"), f"cannot read {doc['date']!r} as a date", expected="YYYY-MM-DD")
        when = None
    if when is not None and n and when != dates[n - 1]:
        hint = f"distribution {n} is on {dates[n - 1].isoformat()}"
        other = [i + 1 for i, d in enumerate(dates) if d == when]
        r.error(at(doc, "date"), f"{when.isoformat()} is not the date of distribution {n}"
                + ("" if other else " (it is not a distribution date of the deal)"), hint=hint)
    speed, mode = 1.0, "maturity"
    if "scenario" in doc:
        sc = doc["scenario"]
        if isinstance(sc, _Map):
            r.keys(sc, ("speed", "to"), "scenario")
            if "speed" in sc:
                speed = (r.number(sc["speed"], at(sc, "speed"), "scenario speed", unit="%") or 0.0)
            mode = str(sc.get("to", "maturity"))
    classes = {}
    known = {c.name: c for c in deal.classes}
    cm = doc["classes"] if isinstance(doc["classes"], _Map) else None
    if cm is None:
        r.error(at(doc, "classes"), "classes: a mapping of class: {balance: ..., ...}")
    for name, fields in (cm or {}).items():
        if name not in known:
            r.error(cm.marks[name][0], f"the deal has no class '{name}'", hint=did_you_mean(str(name), known))
            continue
        if not isinstance(fields, _Map):
            r.error(at(cm, name), f"class {name}: a mapping such as {{balance: 1000000.0}}")
            continue
        r.keys(fields, tuple(CLASS_KEYS) + INFO_CLASS_KEYS, f"class {name}")
        classes[name] = {f: amount(fields, k, f"{k} of {name}") for k, f in CLASS_KEYS.items() if k in fields}
    for c in deal.classes:
        if c.balance is not None and c.notional is None and c.name not in classes and cm is not None:
            r.error(cm.mark, f"the state gives no balance of class {c.name}", expected=f"{c.name}: {{balance: ...}}")
    accounts = _named(r, doc, "accounts", [a.name for a in deal.accounts], amount)
    events = {}
    em = doc.get("events") or {}
    for name in em:
        if name not in [e.name for e in deal.events]:
            r.error(em.marks[name][0], f"the deal has no event '{name}'",
                    hint=did_you_mean(str(name), [e.name for e in deal.events]))
            continue
        p = r.integer(em[name], at(em, name), f"event {name}")
        if p is not None and not 1 <= p <= n:
            r.error(at(em, name), f"event {name} happened on distribution {p}, not one of 1..{n}")
        events[name] = p
    gm = doc.get("collateral")
    if not isinstance(gm, _Map):
        r.error(at(doc, "collateral", 0) if "collateral" in doc else doc.mark,
                "collateral: each group's current lines (or a current loan tape)",
                expected='collateral: {"1": {lines: [{balance: ..., gross rate: ..., ...}]}}')
        gm = _Map()
        gm.marks, gm.mark = {}, doc.mark
    pool, cum = read_collateral(r, gm, n, deal, Path(path).parent, amount)
    groups = {g: {"balance": pool.balance(g), "cumulative loss": c} for g, c in cum.items()}
    if r.diags:
        raise DealError(r.diags, {path: text, **r.sources})
    return DealState(deal.name, n, when, speed, mode, classes, accounts, events, groups, r.span(at(doc, "classes", 0)),
                     pool)


def _named(r, doc, key, names, amount) -> dict:
    out = {}
    m = doc.get(key) or {}
    for name in m:
        if name not in names:
            r.error(m.marks[name][0], f"the deal has no {key[:-1]} '{name}'", hint=did_you_mean(str(name), names))
            continue
        out[name] = amount(m, name, f"{key[:-1]} {name}")
    return out


def check_adds_up(state: DealState, path: str) -> None:
    """The classes' principal is no more than the state's collateral: its lines'
    balances and the defaulted balance whose recovery is still to come."""
    pool = state.collateral
    owed = sum(v["balance"] for v in state.classes.values())
    lines = sum(pool.balance(g) for g in pool.groups())
    pending = max(sum(pool.pending.values()), 0.0)
    if owed > lines + pending + 1e-6 * max(1.0, lines):
        text = Path(path).read_text(encoding="utf-8")
        raise DealError([Diagnostic(state.span, f"the classes' balances ({owed:,.2f}) exceed the collateral after "
                                    f"distribution {state.period} ({lines + pending:,.2f}): they do not add up",
                                    hint="losses write the classes down to the pool each period")], {path: text})


# ------------------------------------------------------------------ run-deal --save-state, --state
def save_state(deal, assumptions, speeds, modes, path: str, after: Optional[int]) -> str:
    """run-deal --save-state FILE --after N: one speed, one mode; the state written atomically."""
    from .engine import run
    if after is None:
        raise UsageError("--save-state needs --after N (the distribution after which the deal stands)")
    if len(speeds) != 1 or len(modes) != 1:
        raise UsageError("--save-state: run exactly one speed and one mode (--speeds S --to MODE)")
    result = run(deal, assumptions, speeds, to=modes, inspect=True, keep_lines_after=(after,))
    state = state_after(result, after)
    write_state(path, dump(state, result))
    return f"{path}: {deal.name} after distribution {after} ({state.date.isoformat()})\n"


def run_from_state(deal, assumptions, path: str, speeds, modes, inspect: Optional[str], fmt: str,
                   cashflows=None, pricing=None) -> str:
    """run-deal --state FILE: the deal from there (periods keep their numbers), its
    current lines projected at each speed (default: the state's own scenario); the
    inspection if asked, else the term-sheet tables for a buyer settling after the
    state's date (report.from_state, with ``pricing``, the command line's options)."""
    from .engine import horizon, run
    from .report.from_state import Pricing, state_settlement, state_tables
    from .waterfall.run import distribution_schedule
    dates = distribution_schedule(deal, horizon(deal, assumptions))
    state = load_state(path, deal, dates)
    pricing = pricing or Pricing()
    state_settlement(pricing.settle, deal, state)  # a --settle before the state's date: refused before the run
    speeds = list(speeds) if speeds is not None else [state.speed]
    modes = modes if modes is not None else [state.mode]
    check_adds_up(state, path)
    result = run(deal, assumptions, speeds, to=modes, start=state.start(deal), inspect=True, trace=bool(cashflows))
    if cashflows:  # the periods after the state's distribution
        from .report.cashflows import write_cashflows
        write_cashflows(result, Path(cashflows), list(pricing.classes) or None, t0=state.period,
                        since_before=state.events)
    if inspect:
        from .report.inspect import render
        return render(result, inspect.split(","), fmt, t0=state.period, since_before=state.events)
    return state_tables(deal, state, result, pricing, fmt)
