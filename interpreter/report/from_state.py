"""The term-sheet tables of a deal run from its state (issue 18, item 3): the buyer of a
class after the state's distribution, as a secondary trade prices it.

- Settlement: ``--settle DATE``, else the next business day after the state's date (the
  calendar of ``dates.is_business_day``, the one the distribution dates roll on). A date on
  or before the state's is no trade from the state: an input error.
- The figures are ``report.analyze``'s at that settlement, so its conventions hold: payments
  on or before settlement are the seller's; a price is per 100 of current face (the balance
  the buyer's first payment starts from); accrued interest runs from the start of that
  payment's accrual period as the class's day count says (30/360: its calendar month, the
  month of the last distribution for the default settlement; actual: the last distribution
  date; floaters settle flat); WAL and durations are measured from settlement; the principal
  window keeps the deal's own period numbers. A run from closing priced at the same
  settlement gives the same figures (tests/inspect/test_state_prices.py).
- Beside each class: its current balance (the state's at the default settlement; for a later
  one the balance before the buyer's first payment) and factor, current / original balance,
  to 8 decimals as a remittance report prints it. A class the state shows paid off
  prints as paid off, without figures.
"""
from __future__ import annotations

import datetime as _dt
import io
from typing import Dict, List, Optional

import attrs

from ..dates import is_business_day
from ..errors import UsageError
from .analyze import JSON_TABLE_KEYS, paid_by_settlement, analyze, class_kind, payment_dates
from .pool import collateral_rows, format_collateral
from .quotes import label_and_order, pricing_speed_text, quoted_rows, settle_date
from .tables import class_tables, format_csv, lay_out_tables


@attrs.frozen
class Pricing:
    """The pricing options of run-deal, as its command line gave them."""
    default_price: float = 100.0
    quotes: Dict[str, list] = attrs.Factory(dict)  # class -> [(kind, value)] (quotes.quote_lists)
    classes: tuple = ()                              # --class: only these
    settle: Optional[str] = None                     # --settle as written
    face: Optional[float] = None                     # --face
    columns: Optional[list] = None                   # --speeds as written (quotes.speed_columns)


def next_business_day(d: _dt.date) -> _dt.date:
    d += _dt.timedelta(days=1)
    while not is_business_day(d):
        d += _dt.timedelta(days=1)
    return d


def state_settlement(text: Optional[str], deal, state) -> _dt.date:
    """The settlement of a trade from ``state``: ``--settle`` (after the state's date), else
    the next business day after it."""
    default = next_business_day(state.date)
    if not text:
        return default
    d = settle_date(text, deal)
    if d <= state.date:
        raise UsageError(f"--settle: {d.isoformat()} is not after the state's distribution {state.period} "
                         f"({state.date.isoformat()}): a buyer from this state settles after it "
                         f"(e.g. {default.isoformat()}, the next business day, the default)")
    return d


PAID_OFF = "paid off"


def _current(deal, result, name: str, s: int, settle: _dt.date):
    """(current balance, factor) of a class for a buyer settling on ``settle``: its balance
    before the buyer's first payment (the state's, at the default settlement), the face a
    price is per 100 of; a notional class its notional then (no factor: the state keeps no
    original notional)."""
    c = deal.class_named(name)
    ci = result.cls(name)
    k = min(paid_by_settlement(payment_dates(deal, c, result.dates), settle), result.n_periods - 1)
    if class_kind(deal, c) == "io":
        return float(result.notional[k, ci, s]), None
    balance = float(result.begin_balance[k, ci, s])
    original = float(c.balance.value) if c.balance is not None else 0.0
    return balance, (balance / original if original else None)


def state_rows(deal, result, pricing: Pricing, settle: _dt.date, modes) -> List[dict]:
    """analyze's rows at ``settle``, each with ``factor`` and ``current_balance``; a class
    with nothing left (balance and notional 0) has no price or figures and the note 'paid off'."""
    class_names = [c.name for c in deal.classes]
    rows = quoted_rows(result, pricing.default_price, pricing.quotes, list(pricing.classes) or None, settle,
                       pricing.face, analyze)
    rows = label_and_order(rows, pricing.columns, {}, class_names, modes)
    for r in rows:
        r["current_balance"], r["factor"] = _current(deal, result, r["class"], r["scenario"], settle)
        if r["current_balance"] < 0.005:  # less than a cent: nothing left to buy
            for k in ("price", "accrued", "proceeds", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                      "mortgage_yield_pct", "macaulay_years", "convexity"):
                r[k] = None
            r["note"] = PAID_OFF
    return rows


def state_tables(deal, state, result, pricing: Pricing, fmt: str) -> str:
    """run-deal --state: the tables (text), or their rows (json, csv), for a buyer from ``state``."""
    settle = state_settlement(pricing.settle, deal, state)
    modes = [m for m in dict.fromkeys(result.modes)]
    rows = state_rows(deal, result, pricing, settle, modes)
    pool = label_and_order(collateral_rows(result, settle), pricing.columns, {}, [], modes)
    if fmt == "json":
        return _json(deal, state, settle, rows, pool, pricing.face is not None)
    if fmt == "csv":
        return _csv(rows)
    return _text(deal, state, result, settle, rows, pool)


def _json(deal, state, settle, rows, pool, face: bool) -> str:
    import json
    keys = JSON_TABLE_KEYS + (("proceeds",) if face else ()) + ("current_balance", "factor")
    doc = {"deal": deal.name, "state": {"distribution": state.period, "date": state.date.isoformat()},
           "settlement": settle.isoformat(),
           "tables": [{k: r.get(k) for k in keys} | ({"note": r["note"]} if r.get("note") else {}) for r in rows],
           "collateral": [{k: v for k, v in r.items() if not k.endswith("_period")} for r in pool]}
    return json.dumps(doc, indent=2) + "\n"


def _csv(rows) -> str:
    return format_csv(rows, ("current_balance", "factor"))


def _factor_text(f) -> str:
    return "" if f is None else f"{f:.8f}"


def _text(deal, state, result, settle, rows, pool) -> str:
    out = io.StringIO()
    n = state.period
    k = paid_by_settlement(result.dates, settle)  # the buyer's first distribution is k + 1
    out.write(f"{deal.name} from its state after distribution {n} ({state.date.isoformat()})\n")
    out.write(f"Settlement {settle.isoformat()}" + (f"; the buyer's first distribution {k + 1} "
                                                    f"({result.dates[k].isoformat()})" if k < result.n_periods
                                                    else "") + "\n")
    out.write("Factor = current balance / original balance; prices clean, per 100 of current face\n\n")
    out.write(_summary(deal, rows))
    out.write(f"Pricing speed: {pricing_speed_text(deal)}; a percent is of the pricing speed\n\n")
    out.write(format_collateral(pool) if pool else "")
    live = [r for r in rows if r.get("note") != PAID_OFF]
    suffix = {}
    for r in live:
        f = "" if r["factor"] is None else f", factor {r['factor']:.8f}"
        what = "notional" if r["kind"] == "io" else "balance"
        suffix[r["class"]] = f"; current {what} {r['current_balance']:,.2f}{f}"
    # class_tables captions "Class NAME (To MODE)"
    out.write(lay_out_tables([(cap + suffix[cap[len("Class "):cap.rindex(" (To ")]], head, body)
                       for cap, head, body in class_tables(live)]))
    return out.getvalue()


def _summary(deal, rows) -> str:
    """Each class's original and current balance and factor, and its WAL and principal window
    (periods of the deal) at the pricing speed (else the first speed run) to each mode."""
    speeds = list(dict.fromkeys(r["speed_pct"] for r in rows))
    at_speed = 100.0 if 100.0 in speeds else (speeds[0] if speeds else 100.0)
    modes = list(dict.fromkeys(r["to"] for r in rows))
    names = "/".join(m.capitalize() if m != "maturity" else "Mat" for m in modes)
    by = {(r["class"], r["to"]): r for r in rows if r["speed_pct"] == at_speed and r.get("quote", 0) == 0}
    head = (f"{'Class':<8} {'Original Balance':>18} {'Current Balance':>18} {'Factor':>11}  "
            f"{'WAL (yrs) ' + names:>22}  {'Window (mos) ' + names:>24}")
    lines = [f"At {at_speed:g}% of the pricing speed", head, "-" * len(head)]
    for name in dict.fromkeys(r["class"] for r in rows):
        per = [by.get((name, m)) for m in modes]
        first = next(p for p in per if p is not None)
        io_ = first["kind"] == "io"
        c = deal.class_named(name)
        original = "notional" if io_ else f"{float(c.balance.value):,.2f}"
        current = f"{first['current_balance']:,.2f}" + (" (N)" if io_ else "")
        if first.get("note") == PAID_OFF:
            wal = win = PAID_OFF
        else:
            wal = " / ".join("NA" if p is None or p["wal_years"] is None else f"{p['wal_years']:.2f}" for p in per)
            win = " / ".join("NA" if p is None or p["first_period"] is None else
                             f"{p['first_period']}-{p['last_period']}" for p in per)
        lines.append(f"{name:<8} {original:>18} {current:>18} {_factor_text(first['factor']):>11}  "
                     f"{wal:>22}  {win:>24}")
    return "\n".join(lines) + "\n\n"
