"""``run-deal --inspect``: a run's defined terms, events, accounts, contracts,
class and group fields period by period, as a text table, CSV or JSON, and
``terms.csv`` of ``--cashflows`` (every one of them).

The values are the engines' (``RunResult.inspected``, see
``waterfall/inspection.py``), taken after each period's waterfall and losses;
a class's rate and cap are its records. An event gives NAME (0/1: it has
happened) and NAME_since (the period it happened, empty before).
"""
from __future__ import annotations

import io
from typing import List, NamedTuple, Optional, Sequence

import numpy as np

from ..errors import UsageError
from ..waterfall.inspection import RECORD_FIELDS
from .amounts import amount_text, shown

KEYS = ("scenario", "speed", "mode", "period", "date")


class Column(NamedTuple):
    name: str  # as the deal (or the class, group) names it: oc_target, 1-A-1.balance
    index: int  # its row of RunResult.inspected, or the class (a record field)
    record: Optional[str] = None  # 'rate' or 'cap': a class record
    event: bool = False
    amount: bool = False  # dollars: printed as 0 below report.amounts.DUST in CSV and text


# The class and group fields in dollars (net_wac, delinquency, rate, cap are rates or percentages).
AMOUNT_FIELDS = frozenset(("balance", "unpaid_interest", "unpaid_carryover", "unpaid_losses", "notional",
                           "pool_balance", "interest", "principal", "loss", "cumulative_loss"))


def _amounts(result) -> frozenset:
    """The names among a run's inspections that are amounts in dollars: accounts,
    contracts, a defined term whose kind is an amount (the units check's kinds),
    and the class and group fields of AMOUNT_FIELDS."""
    from dsl.checkctx import Context
    from dsl.units import Kind, Kinds
    deal = result.deal
    kinds = Kinds(Context(deal))
    out = {a.name for a in deal.accounts} | {c.name for c in deal.contracts}
    out |= {d.name for d in deal.defines if kinds.name(d.name) is Kind.AMOUNT}
    for ins in result.inspections:
        head, dot, field = ins.name.rpartition(".")
        if dot and field in AMOUNT_FIELDS and ins.name not in out:
            out.add(ins.name)
    return frozenset(out)


def columns(result) -> List[Column]:
    """Every column a run can show, in the deal's order (a class's rate and cap after its own fields)."""
    out = []
    accrues = _accruing(result)
    by_class = {}
    amounts = _amounts(result)
    for j, ins in enumerate(result.inspections):
        out.append(Column(ins.name, j, None, ins.event, ins.name in amounts))
        cls, _, field = ins.name.rpartition(".")
        if cls in accrues and field in ("balance", "notional"):
            by_class[cls] = len(out)
    for cls, at in sorted(by_class.items(), key=lambda kv: -kv[1]):
        c = result.class_names.index(cls)
        out[at:at] = [Column(f"{cls}.{f}", c, f) for f in RECORD_FIELDS if f != "cap" or accrues[cls].cap is not None]
    return out


def _accruing(result) -> dict:
    return {c.name: c for c in result.deal.classes if not c.residual and c.coupon is not None}


def select(result, names: Sequence[str]) -> List[Column]:
    """The columns ``names`` ask for: a column's name, a class or a group (all
    its fields; also written with a trailing dot: ``group_1.``), ``pool`` (every
    group together, on any deal), or ``all``. An unknown name is a usage error with
    the closest name the run knows."""
    every = columns(result)
    by_name = {c.name: c for c in every}
    prefixes = {}
    for c in every:
        head, dot, _ = c.name.rpartition(".")
        if dot:
            prefixes.setdefault(head, []).append(c)
    chosen: List[Column] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name.endswith(".") and name[:-1].strip() in prefixes:  # 'pool.', 'group_1.', '2-A.': all its fields
            name = name[:-1].strip()
        if name == "all":
            got = every
        elif name in by_name:
            got = [by_name[name]]
        elif name in prefixes:
            got = prefixes[name]
        elif name.replace(" ", "_", 1) in prefixes:  # 'group 1' as the deal writes it
            got = prefixes[name.replace(" ", "_", 1)]
        else:
            from dsl.diagnostics import did_you_mean
            known = list(by_name) + list(prefixes) + ["all"]
            hint = did_you_mean(name, known)
            raise UsageError(f"--inspect: '{name}' is not a defined term, event, account, contract, class or group "
                             f"of {result.deal.name}. {hint or 'Use --inspect all to see every name.'}".strip())
        chosen += [c for c in got if c not in chosen]
    if not chosen:
        raise UsageError("--inspect: name at least one value (or all)")
    return chosen


def _last_period(result, s: int) -> int:
    """The last period (index) worth showing for scenario s: the sale of the
    collateral, else the last period anything was left in the deal."""
    sold = result.sold_period[s] if result.sold_period is not None else -1
    if sold >= 0:
        return int(sold)
    alive = (result.begin_balance[:, :, s] > 0).any(axis=1)
    for f in result.collateral.values():
        alive |= f.begin_balance[s] > 0
    idx = np.nonzero(alive)[0]
    return int(idx[-1]) if len(idx) else 0


def rows(result, cols: Sequence[Column], t0: int = 0, since_before: Optional[dict] = None,
         scenarios: Optional[Sequence[int]] = None) -> List[dict]:
    """One dict per scenario x period (each scenario up to its last period): the
    keys of KEYS then each column's value (an event: NAME and NAME_since).
    ``t0``: the distributions made before the run (a run from a deal state:
    its rows start after them, periods keep their numbers); ``since_before``:
    {event: period} for events that happened before the run started;
    ``scenarios``: the run's scenarios to show (numbered 0, 1, ... in the rows)."""
    since_before = since_before or {}
    out = []
    dates = [d.isoformat() for d in result.dates]
    keep = range(len(result.speeds)) if scenarios is None else scenarios
    for n, s in enumerate(keep):
        last = _last_period(result, s)
        since = {}
        for t in range(t0, last + 1):
            row = {"scenario": n, "speed": f"{result.speeds[s] * 100:g}%", "mode": result.modes[s],
                   "period": t + 1, "date": dates[t]}
            for c in cols:
                if c.record is not None:
                    v = float(getattr(result, c.record)[t, c.index, s])
                else:
                    v = float(result.inspected[t, c.index, s])
                if c.event:
                    happened = v != 0.0
                    if happened and c.name not in since:
                        since[c.name] = since_before.get(c.name, t + 1)
                    row[c.name] = int(happened)
                    row[c.name + "_since"] = since.get(c.name) if happened else None
                else:
                    row[c.name] = v
            out.append(row)
    return out


def header(cols: Sequence[Column]) -> list:
    out = list(KEYS)
    for c in cols:
        out += [c.name, c.name + "_since"] if c.event else [c.name]
    return out


def to_csv(rows_: List[dict], cols: Sequence[Column]) -> str:
    import csv
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = header(cols)
    amounts = {c.name for c in cols if c.amount}
    w.writerow(head)
    for r in rows_:
        w.writerow(["" if r[k] is None else (amount_text(r[k]) if k in amounts else repr(r[k]))
                    if isinstance(r[k], float) else r[k] for k in head])
    return buf.getvalue()


def to_json(deal_name: str, rows_: List[dict]) -> str:
    import json
    clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in rows_]
    return json.dumps({"deal": deal_name, "inspect": clean}, indent=1) + "\n"


def _cell(v, amount: bool = False) -> str:
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    if not np.isfinite(v):
        return "NA"
    if amount:  # dollars and cents; floating-point dust is 0.00
        return f"{shown(v):,.2f}"
    if v != 0 and abs(v) < 10:  # a rate, a fraction, a ratio: its significant digits
        return f"{v:.6g}"
    return f"{v:,.2f}"


def to_text(deal_name: str, rows_: List[dict], cols: Sequence[Column]) -> str:
    """A table per scenario: its periods down, the inspected values across."""
    out = io.StringIO()
    head = ["period", "date"] + header(cols)[len(KEYS):]
    scenario = None
    widths = [max(len(h), 6) for h in head]
    body = []
    amounts = {c.name for c in cols if c.amount}
    for r in rows_:
        cells = [str(r["period"]), r["date"]] + [_cell(r[h], h in amounts) for h in head[2:]]
        widths = [max(w, len(x)) for w, x in zip(widths, cells)]
        body.append((r, cells))
    out.write(f"{deal_name}: values after each period's waterfall and losses\n")
    for r, cells in body:
        if (r["speed"], r["mode"]) != scenario:
            scenario = (r["speed"], r["mode"])
            out.write(f"\n{r['speed']} of the pricing speed, to {r['mode']}\n")
            out.write("  ".join(h.rjust(w) for h, w in zip(head, widths)) + "\n")
        out.write("  ".join(x.rjust(w) for x, w in zip(cells, widths)) + "\n")
    return out.getvalue()


def render(result, names: Sequence[str], fmt: str, t0: int = 0, since_before: Optional[dict] = None) -> str:
    cols = select(result, names)
    rs = rows(result, cols, t0, since_before)
    if fmt == "csv":
        return to_csv(rs, cols)
    if fmt == "json":
        return to_json(result.deal.name, rs)
    return to_text(result.deal.name, rs, cols)


def terms_csv(result, t0: int = 0, since_before: Optional[dict] = None, scenarios=None) -> str:
    """--cashflows' terms.csv: every column, every scenario (of ``scenarios``) and period."""
    cols = columns(result)
    return to_csv(rows(result, cols, t0, since_before, scenarios), cols)
