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
import operator
from collections.abc import Sequence
from typing import Dict, List, Optional

import numpy as np

from dsl import ast as A
from dsl.check import iter_exprs

from ..analytics.batch import ClassInputs, ClassMeasures, _flows_of, class_measures
from ..dates import add_months, days_30_360, years_30_360
from ..analytics.measures import price_from_dm, price_from_yield
from ..waterfall.records import RunResult


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
        start = add_months(_dt.date(d.year, d.month, 1), -1)
        out.append(start + _dt.timedelta(days=c.delay_days))
    return out


def first_accrual_start(deal: A.Deal) -> _dt.date:
    fd = deal.header.first_distribution
    return add_months(_dt.date(fd.year, fd.month, 1), -1)


def analyze(result: RunResult, prices: Optional[Dict[str, float]] = None,
            default_price: float = 100.0, classes: Optional[List[str]] = None,
            yields: Optional[Dict[str, float]] = None, dms: Optional[Dict[str, float]] = None,
            compiled: Optional[bool] = None) -> "Rows":
    """One row per class and scenario, in the JSON schema of ``run-deal --format json``.

    Each class is priced at ``prices[class]`` (else ``default_price``), or, the
    inverse, at the price that gives ``yields[class]`` (a bond-equivalent yield,
    fixed-rate classes) or ``dms[class]`` (a discount margin, floaters).

    The rows are a sequence of dicts (class by class, scenario by scenario within
    a class), made when first read; ``.columns()`` gives the same figures as arrays
    without making them. ``compiled``: None uses the compiled analytics kernel when
    there is a C compiler, False the numpy functions (the same figures)."""
    deal = result.deal
    settle = deal.header.settlement or deal.header.closing
    prices = prices or {}
    yields = yields or {}
    dms = dms or {}
    S = len(result.modes)
    timing: Dict[object, tuple] = {}  # payment dates are shared by the classes without a delay

    def schedule(c):
        key = c.delay_days
        if key not in timing:
            pdates = payment_dates(deal, c, result.dates)
            years = np.array(years_30_360(settle, pdates), dtype=float)
            prev = [settle] + pdates[:-1]
            acc = np.array([(b - a).days for a, b in zip(prev, pdates)], dtype=float)
            labels = np.array([d.isoformat() for d in pdates] + [None], dtype=object)
            timing[key] = (pdates, years, acc, labels)
        return timing[key]

    blocks: List[_Block] = []
    inputs: List[ClassInputs] = []
    for ci, name in enumerate(result.class_names):
        c = deal.class_named(name)
        kind = class_kind(deal, c)
        if kind in ("residual", "none"):
            continue
        if classes and name not in classes:
            continue
        pdates, years, acc, labels = schedule(c)
        price = np.full(S, float(prices.get(name, default_price)))
        block = _Block(name, kind, float(c.balance.value) if c.balance is not None else None, labels)
        blocks.append(block)
        if kind == "io":
            continue  # no price, yield, WAL or window for a notional class
        if result.cash_paid is not None:  # a lean run keeps the total
            comps = (result.cash_paid[:, ci, :], result.principal[:, ci, :])
        else:
            comps = (result.interest[:, ci, :], result.principal[:, ci, :],
                     result.carryover_paid[:, ci, :], result.loss_reimbursed[:, ci, :])  # (T, S) each
        face = float(c.balance.value)
        if kind == "fixed":
            coupon = result.rate[0, ci, :]  # period-1 rate accrues from the accrual start
            # Accrued interest to settlement, from where the class's first period accrues:
            # the calendar month before the first date (30/360), or closing (actual days,
            # or a class that 'accrues from closing').
            if c.day_count is not A.DayCount.THIRTY_360:
                base = 360.0 if c.day_count is A.DayCount.ACTUAL_360 else 365.0
                accrued = 100.0 * coupon * (settle - deal.header.closing).days / base
            else:
                start = deal.header.closing if c.accrues_from_closing else first_accrual_start(deal)
                accrued = 100.0 * coupon * days_30_360(start, settle) / 360.0
            if name in yields:
                flows = _flows_of(ClassInputs(comps, face, years, kind))
                price = price_from_yield(flows, years * 12.0, np.full(S, yields[name])) - accrued
            inputs.append(ClassInputs(comps, face, years, kind, price + accrued, years))
        else:  # floater
            path = result.index_path[floater_index(deal, c)][:, : len(pdates)]
            if name in dms:
                flows = _flows_of(ClassInputs(comps, face, years, kind))
                price = price_from_dm(flows, path, acc, np.full(S, dms[name]))
            act_years = np.cumsum(acc) / 360.0
            inputs.append(ClassInputs(comps, face, years, kind, price, act_years, path, acc))
        block.price = price
    measures = iter(class_measures(inputs, compiled=compiled))
    written = result.writedown_total()  # (C, S)
    for block in blocks:
        if block.kind != "io":
            block.measures = next(measures)
            _without_meaningless(block, written[result.cls(block.name)])
    return Rows(result, blocks)


# A yield outside (-100%, +1000%) reproduces the price only as a number: a class cut short by the
# horizon or written down yields -200% with a duration of 1e13 years. Such figures are NA, with a note.
YIELD_RANGE = (-1.0, 10.0)


def _without_meaningless(block: "_Block", written_down: np.ndarray) -> None:
    """NA (NaN) for the yield, DM and duration of the scenarios where they mean
    nothing, and the reason in ``block.note``: the class written down in full, or
    no yield (a floater: no margin) within YIELD_RANGE gives the price."""
    m = block.measures
    lo, hi = YIELD_RANGE
    measure = m.dm if block.kind == "floater" else m.yld
    what = "discount margin" if block.kind == "floater" else "yield"
    no_root = ~((measure > lo) & (measure < hi)) | ~((m.yld > lo) & (m.yld < hi))
    gone = written_down >= block.balance - 0.005 if block.balance else np.zeros_like(no_root)
    if not (no_root | gone).any():
        return
    block.note = np.where(gone, "written down in full", np.where(
        no_root, f"no {what} within -100% to +1000% gives the price", None)).astype(object)
    bad = no_root | gone
    block.measures = m._replace(yld=np.where(bad, np.nan, m.yld), dm=np.where(bad, np.nan, m.dm),
                                mdur=np.where(bad, np.nan, m.mdur))


class _Block:
    """The figures of one class over the scenarios."""

    def __init__(self, name, kind, balance, labels):
        self.name = name
        self.kind = kind
        self.balance = balance
        self.labels = labels          # ISO payment dates, and None at index -1
        self.price = None             # (S,) for fixed classes and floaters
        self.measures: Optional[ClassMeasures] = None
        self.note = None              # (S,) why a scenario's yield/DM/duration is NA, else None


def _finite_or_none(a: np.ndarray) -> list:
    """Python floats, None where not finite (as `_num`)."""
    a = np.asarray(a, dtype=float)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


class Rows(Sequence):
    """analyze()'s rows: a read-only sequence of dicts (one per class and scenario,
    class-major), each made on first access; ``columns()`` the same as arrays."""

    def __init__(self, result: RunResult, blocks: List[_Block]):
        self._blocks = blocks
        self._S = len(result.modes)
        self._modes = [m.lower() for m in result.modes]
        self._speed_pct = np.asarray(result.speeds, dtype=float) * 100.0
        self._made: List[Optional[list]] = [None] * len(blocks)

    def __len__(self) -> int:
        return len(self._blocks) * self._S

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        i = operator.index(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("row index out of range")
        b, s = divmod(i, self._S)
        made = self._made[b]
        if made is None:
            made = self._made[b] = self._make(self._blocks[b])
        return made[s]

    def __iter__(self):
        for b, block in enumerate(self._blocks):
            made = self._made[b]
            if made is None:
                made = self._made[b] = self._make(block)
            yield from made

    def __eq__(self, other):
        if isinstance(other, (Rows, list, tuple)):
            return len(self) == len(other) and all(x == y for x, y in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"Rows({len(self._blocks)} classes x {self._S} scenarios)"

    def _block_values(self, block: _Block) -> dict:
        S = self._S
        none = [None] * S
        m = block.measures
        if m is None:  # IO: no figures
            return {"price": none, "yield_pct": none, "dm_bp": none, "wal_years": none, "mdur_years": none,
                    "first": np.full(S, -1, np.int64), "last": np.full(S, -1, np.int64)}
        return {"price": _finite_or_none(block.price),
                "yield_pct": _finite_or_none(m.yld * 100.0) if block.kind == "fixed" else none,
                "dm_bp": _finite_or_none(m.dm * 10000.0) if block.kind == "floater" else none,
                "wal_years": _finite_or_none(m.wal),
                "mdur_years": _finite_or_none(m.mdur),
                "first": m.first, "last": m.last}

    def _make(self, block: _Block) -> list:
        v = self._block_values(block)
        fp = block.labels[v["first"]].tolist()
        lp = block.labels[v["last"]].tolist()
        fn = _periods(v["first"])
        ln = _periods(v["last"])
        name, kind, balance = block.name, block.kind, block.balance
        notes = [None] * self._S if block.note is None else block.note.tolist()
        return [{"scenario": s, "class": name, "to": to, "speed_pct": sp, "price": pr, "yield_pct": y,
                 "dm_bp": d, "wal_years": w, "mdur_years": md, "first_principal": f, "last_principal": la,
                 "first_period": f1, "last_period": l1, "kind": kind, "balance": balance, "note": nt}
                for s, to, sp, pr, y, d, w, md, f, la, f1, l1, nt
                in zip(range(self._S), self._modes, self._speed_pct.tolist(), v["price"], v["yield_pct"],
                       v["dm_bp"], v["wal_years"], v["mdur_years"], fp, lp, fn, ln, notes)]

    def columns(self) -> Dict[str, np.ndarray]:
        """Every row field as one array, in row order, without making the rows: 'scenario'
        int64; 'class', 'to', 'kind', 'first_principal', 'last_principal' object arrays
        (None where a row has None); 'speed_pct', 'price', 'yield_pct', 'dm_bp', 'wal_years',
        'mdur_years', 'balance', 'first_period', 'last_period' float64, NaN where a row has None."""
        S = self._S
        nb = len(self._blocks)
        nan = np.full(S, np.nan)
        parts: Dict[str, list] = {k: [] for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                                                  "first_principal", "last_principal", "first_period",
                                                  "last_period")}
        for block in self._blocks:
            m = block.measures
            if m is None:
                for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period", "last_period"):
                    parts[k].append(nan)
                none = np.full(S, None, dtype=object)
                parts["first_principal"].append(none)
                parts["last_principal"].append(none)
                continue
            parts["price"].append(block.price)
            parts["yield_pct"].append(m.yld * 100.0 if block.kind == "fixed" else nan)
            parts["dm_bp"].append(m.dm * 10000.0 if block.kind == "floater" else nan)
            parts["wal_years"].append(m.wal)
            parts["mdur_years"].append(m.mdur)
            parts["first_principal"].append(block.labels[m.first])
            parts["last_principal"].append(block.labels[m.last])
            parts["first_period"].append(np.where(m.first >= 0, m.first + 1.0, np.nan))
            parts["last_period"].append(np.where(m.last >= 0, m.last + 1.0, np.nan))
        cols: Dict[str, np.ndarray] = {
            "scenario": np.tile(np.arange(S, dtype=np.int64), nb),
            "class": np.repeat(np.array([b.name for b in self._blocks] or [""], dtype=object)[:nb], S),
            "to": np.tile(np.array(self._modes + [""], dtype=object)[:S], nb),
            "speed_pct": np.tile(self._speed_pct, nb),
        }
        for k, v in parts.items():
            cols[k] = np.concatenate(v) if v else np.empty(0, dtype=object if k.endswith("principal") else float)
            if k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years"):
                cols[k] = np.where(np.isfinite(cols[k]), cols[k], np.nan)
        cols["kind"] = np.repeat(np.array([b.kind for b in self._blocks] or [""], dtype=object)[:nb], S)
        cols["balance"] = np.repeat(np.array([np.nan if b.balance is None else b.balance
                                              for b in self._blocks], dtype=float), S)
        return cols


def column_list(a: np.ndarray, integer: bool = False) -> list:
    """A column of `Rows.columns()` as the rows hold it: Python values, None for NaN in a
    float column (whole numbers as int with ``integer``); other columns as they are."""
    a = np.asarray(a)
    if a.dtype == object or a.dtype.kind in "iub":
        return a.tolist()
    bad = ~np.isfinite(a)
    out = (np.where(bad, 0, a).astype(np.int64) if integer else a).astype(object)
    out[bad] = None
    return out.tolist()


def _periods(idx: np.ndarray) -> list:
    """1-based periods, None where there is none (-1)."""
    out = (np.asarray(idx) + 1).astype(object)
    out[np.asarray(idx) < 0] = None
    return out.tolist()
