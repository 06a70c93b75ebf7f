"""The collateral line of the tables (issue 17, item 10): the pool's own WAL, yield at a price
(default 100, per 100 of the cut-off balance) on its net cashflows, and principal window, per
mode and speed. All groups together; a run to an event sells the pool at its balance in the
period the event happens, and the sale is principal."""
from __future__ import annotations

import datetime as _dt
from typing import List, Optional

import numpy as np

from ..analytics.batch import ClassInputs, class_measures
from ..analytics.measures import mortgage_from_bey
from ..dates import days_30_360, years_30_360
from ..waterfall.records import RunResult
from ..dates import add_months
from .analyze import YIELD_RANGE, paid_by_settlement, first_accrual_start


def collateral_rows(result: RunResult, settle: Optional[_dt.date] = None, price: float = 100.0) -> List[dict]:
    """One row per scenario: to, speed_pct, price, net_rate_pct, yield_pct, mortgage_yield_pct,
    wal_years, mdur_years, first_principal, last_principal.

    The price is clean, per 100 of the cut-off balance; accrued interest runs at the pool's
    period-1 net rate (its net WAC, weighted by the groups' starting balances) from the first
    accrual month to settlement (30/360), as for a pass-through of the whole pool. A settlement
    after a distribution date leaves that date's flows to the seller, as ``analyze`` does for a
    class: the price is then per 100 of the pool's balance before the buyer's first period,
    and accrues at that period's net rate from its accrual month."""
    deal = result.deal
    settle = settle or deal.header.settlement or deal.header.closing
    flows = list(result.collateral.values())
    T = result.n_periods
    principal = sum(f.principal[:, :T] for f in flows)          # (S, T)
    interest = sum(f.net_interest[:, :T] for f in flows)
    begin = sum(f.begin_balance[:, :T] for f in flows)
    end = sum(f.end_balance[:, :T] for f in flows)
    sold = result.sold_period if result.sold_period is not None else np.full(principal.shape[0], -1)
    t = np.arange(T)[None, :]
    pending = (result.pending[:, :T] if result.pending is not None  # sold with the loans (program.EventDecl)
               else np.zeros_like(principal))
    principal = np.where(t == sold[:, None], principal + end + pending,
                         np.where((sold[:, None] >= 0) & (t > sold[:, None]), 0.0, principal))
    interest = np.where((sold[:, None] >= 0) & (t > sold[:, None]), 0.0, interest)
    face = float(sum(f.cutoff_balance for f in flows))
    k = min(paid_by_settlement(result.dates, settle), T - 1)  # the buyer's first period
    factor = np.ones(principal.shape[0])
    if k:  # paid on or before settlement: the seller's
        principal = np.where(t < k, 0.0, principal)
        interest = np.where(t < k, 0.0, interest)
        factor = begin[:, k] / face if face else factor
    # the period's net WAC weighted by the groups' starting balances: the loans' rate, which
    # defaults (interest on the surviving balance only) do not lower
    weighted = sum(f.net_wac[:, k] * f.begin_balance[:, k] for f in flows)
    with np.errstate(all="ignore"):
        net_rate = np.where(begin[:, k] > 0, weighted / begin[:, k], 0.0)
    accrued = 100.0 * net_rate * days_30_360(add_months(first_accrual_start(deal), k), settle) / 360.0
    years = np.array(years_30_360(settle, result.dates), dtype=float)
    ci = ClassInputs(((interest + principal).T, principal.T), face, years, "fixed", (price + accrued) * factor, years)
    m = class_measures([ci])[0]
    lo, hi = YIELD_RANGE  # as the classes' figures: a yield outside it gives no figure (NA)
    meaningful = (m.yld > lo) & (m.yld < hi)
    m = m._replace(yld=np.where(meaningful, m.yld, np.nan), mdur=np.where(meaningful, m.mdur, np.nan))
    labels = [d.isoformat() for d in result.dates]
    out = []
    for s in range(principal.shape[0]):
        out.append({"to": result.modes[s].lower(), "speed_pct": float(result.speeds[s]) * 100.0, "price": price,
                    "net_rate_pct": float(net_rate[s]) * 100.0, "accrued": float(accrued[s]),
                    "yield_pct": _num(m.yld[s] * 100.0), "mortgage_yield_pct": _num(mortgage_from_bey(m.yld[s]) * 100.0),
                    "wal_years": _num(m.wal[s]), "mdur_years": _num(m.mdur[s]),
                    "first_principal": labels[m.first[s]] if m.first[s] >= 0 else None,
                    "last_principal": labels[m.last[s]] if m.last[s] >= 0 else None,
                    "first_period": int(m.first[s]) + 1 if m.first[s] >= 0 else None,
                    "last_period": int(m.last[s]) + 1 if m.last[s] >= 0 else None})
    return out


def _num(x) -> Optional[float]:
    x = float(x)
    return x if np.isfinite(x) else None


def format_collateral(rows: List[dict]) -> str:
    """The collateral line above the classes' tables: one table per mode, the speeds as columns."""
    from ..analytics.measures import format_32nds
    from ..dates import month_label, parse_date
    from .tables import lay_out
    by_mode: dict = {}
    for r in rows:
        by_mode.setdefault(r["to"], []).append(r)
    out = []
    for to, rs in by_mode.items():
        def cells(key, spec=".2f"):
            return ["NA" if r[key] is None else format(r[key], spec) for r in rs]
        body = [["Yield @ " + format_32nds(rs[0]["price"])] + cells("yield_pct"),
                ["WAL (yr)"] + cells("wal_years"), ["MDUR (yr)"] + cells("mdur_years")]
        body += [[lab] + ["NA" if r[key] is None else month_label(parse_date(r[key])) for r in rs]
                 for lab, key in (("First Prin Pay", "first_principal"), ("Last Prin Pay", "last_principal"))]
        head = ["Prepayment Speed"] + [r.get("speed") or f"{r['speed_pct']:g}%" for r in rs]
        out.append(f"Collateral (To {to.capitalize()}), net rate {rs[0]['net_rate_pct']:.3f}%\n" + lay_out(head, body))
    return "\n".join(out) + "\n"
