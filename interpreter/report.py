"""Term-sheet figures from a run: WAL, principal window, yield or discount
margin at a price, modified duration, per class and scenario.

Conventions (the pricing-assumptions page of the reference deal; SIFMA
Standard Formulas for MBS where they define the measure):
- WAL: 30/360 years from settlement to each principal payment date;
  first/last principal payment: any payment of at least $0.01.
- Fixed-rate classes: monthly cash-flow yield on 30/360 time, converted to
  bond-equivalent BEY = 2((1 + y/12)^6 - 1); the full price adds accrued
  interest at the coupon from the start of the first accrual period (the
  calendar month before the first distribution date) to settlement.
- Floating-rate classes (a coupon that reads an index): settle flat; discount
  margin on the projected index path, actual/360 between distribution dates.
- Modified duration: Macaulay / (1 + y/2), y the semi-annual cash-flow yield
  at the price (fixed: on 30/360 time; floaters: on actual/360 time).
"""
from __future__ import annotations

import datetime as _dt
from typing import Dict, List, Optional

import numpy as np

from dsl import ast as A
from dsl.check import iter_exprs

from . import analytics as AN
from . import dates as D
from .engine import RunResult


def class_kind(deal: A.Deal, c: A.ClassDecl) -> str:
    """'residual', 'none', 'io' (notional), 'floater' (coupon reads an index) or 'fixed'."""
    if c.residual:
        return "residual"
    if c.no_cashflow:
        return "none"
    if c.notional is not None:
        return "io"
    if floater_index(deal, c) is not None:
        return "floater"
    return "fixed"


def floater_index(deal: A.Deal, c: A.ClassDecl) -> Optional[str]:
    if c.coupon is None:
        return None
    names = {i.name for i in deal.indices}
    for node in iter_exprs(c.coupon):
        if isinstance(node, A.Name) and node.id in names:
            return node.id
    return None


def payment_dates(deal: A.Deal, c: A.ClassDecl, dates) -> list:
    """Dates investors are paid: the distribution dates, or for a class stated
    with a delay, the first day of the accrual month plus the stated delay."""
    if c.delay_days is None:
        return list(dates)
    out = []
    for d in dates:
        start = D.add_months(_dt.date(d.year, d.month, 1), -1)
        out.append(start + _dt.timedelta(days=c.delay_days))
    return out


def first_accrual_start(deal: A.Deal) -> _dt.date:
    fd = deal.header.first_distribution
    return D.add_months(_dt.date(fd.year, fd.month, 1), -1)


def analyze(result: RunResult, prices: Optional[Dict[str, float]] = None,
            default_price: float = 100.0, classes: Optional[List[str]] = None,
            yields: Optional[Dict[str, float]] = None, dms: Optional[Dict[str, float]] = None) -> List[dict]:
    """One row per class and scenario, in the JSON schema of ``run-deal --format json``.

    Each class is priced at ``prices[class]`` (else ``default_price``), or, the
    inverse, at the price that gives ``yields[class]`` (a bond-equivalent yield,
    fixed-rate classes) or ``dms[class]`` (a discount margin, floaters)."""
    deal = result.deal
    settle = deal.header.settlement or deal.header.closing
    prices = prices or {}
    yields = yields or {}
    dms = dms or {}
    all_cash = result.cash()  # (T, C, S), once
    rows = []
    for ci, name in enumerate(result.class_names):
        c = deal.class_named(name)
        kind = class_kind(deal, c)
        if kind in ("residual", "none"):
            continue
        if classes and name not in classes:
            continue
        pdates = payment_dates(deal, c, result.dates)
        # Only the periods up to the class's last payment (in any scenario) matter:
        # trimming them makes the root-finding cheaper without changing a result.
        paying = np.nonzero((all_cash[:, ci, :] != 0).any(axis=1))[0]
        n = int(paying[-1]) + 1 if len(paying) else 1
        pdates = pdates[:n]
        prin = result.principal[:n, ci, :].T  # (S, n)
        cash = all_cash[:n, ci, :].T
        S = prin.shape[0]
        years = np.array(D.years_30_360(settle, pdates))
        months = years * 12.0
        first_i, last_i = AN.principal_window(prin)
        price = np.full(S, float(prices.get(name, default_price)))
        wal = np.full(S, np.nan)
        yld = np.full(S, np.nan)
        dm = np.full(S, np.nan)
        mdur = np.full(S, np.nan)
        if kind in ("fixed", "floater"):
            wal = AN.wal(prin, years)
            face = float(c.balance.value)
            flows = cash / face * 100.0
        else:
            face = float(result.notional[0, ci, 0]) or 1.0
            flows = cash / face * 100.0
        if kind == "fixed":
            coupon = result.rate[0, ci, :]  # period-1 rate accrues from the accrual start
            # Accrued interest to settlement, from where the class's first period accrues:
            # the calendar month before the first date (30/360), or closing (actual days,
            # or a class that 'accrues from closing').
            if c.day_count.startswith("actual"):
                base = 360.0 if c.day_count == "actual/360" else 365.0
                accrued = 100.0 * coupon * (settle - deal.header.closing).days / base
            else:
                start = deal.header.closing if c.accrues_from_closing else first_accrual_start(deal)
                accrued = 100.0 * coupon * D.days_30_360(start, settle) / 360.0
            if name in yields:
                price = AN.price_from_yield(flows, months, np.full(S, yields[name])) - accrued
            full = price + accrued
            yd = AN.yield_and_duration(flows, years, full, frequency=2)
            yld = yd.yld
            mdur = yd.modified
        elif kind == "floater":
            idx = floater_index(deal, c)
            path = result.index_path[idx][:, : len(pdates)]
            prev = [settle] + pdates[:-1]
            acc = np.array([(b - a).days for a, b in zip(prev, pdates)], dtype=float)
            if name in dms:
                price = AN.price_from_dm(flows, path, acc, np.full(S, dms[name]))
            dm = AN.discount_margin(flows, path, acc, price)
            act_years = np.cumsum(acc) / 360.0
            yd = AN.yield_and_duration(flows, act_years, price, frequency=2)
            mdur = yd.modified
        for s in range(S):
            fi, li = int(first_i[s]), int(last_i[s])
            rows.append({
                "scenario": s,
                "class": name,
                "to": result.modes[s].lower(),
                "speed_pct": float(result.speeds[s] * 100.0),
                "price": _num(price[s]) if kind in ("fixed", "floater") else None,
                "yield_pct": _num(yld[s] * 100.0),
                "dm_bp": _num(dm[s] * 10000.0),
                "wal_years": _num(wal[s]),
                "mdur_years": _num(mdur[s]),
                "first_principal": pdates[fi].isoformat() if fi >= 0 and kind != "io" else None,
                "last_principal": pdates[li].isoformat() if li >= 0 and kind != "io" else None,
                "first_period": fi + 1 if fi >= 0 and kind != "io" else None,
                "last_period": li + 1 if li >= 0 and kind != "io" else None,
                "kind": kind,
                "balance": float(c.balance.value) if c.balance is not None else None,
            })
    return rows


def _num(x) -> Optional[float]:
    x = float(x)
    return None if not np.isfinite(x) else x
