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
from ..dates import add_months, days_30_360, delayed_payment_date, years_30_360
from ..analytics.measures import (cashflow_convexity, macaulay_duration, mortgage_from_bey, price_from_dm,
                                  price_from_yield)
from ..waterfall.records import RunResult


def class_kind(deal: A.Deal, c: A.ClassDecl) -> str:
    """'residual', 'none', 'io' (notional), 'po' (principal only: a balance, coupon 0%),
    'floater' (coupon reads an index) or 'fixed'."""
    if c.residual:
        return "residual"
    if c.no_cashflow:
        return "none"
    if c.notional is not None:
        return "io"
    if c.coupon is None or (isinstance(c.coupon, A.Quantity) and c.coupon.value == 0):
        return "po"
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
    """Dates investors are paid: the distribution dates, or for a class stated with a
    delay, the agencies' stated-delay day after the first of its accrual month (the
    calendar month before each distribution's month), in 30-day months
    (`dates.delayed_payment_date`). The stated day is not rolled to a business day:
    SIFMA's price/yield equation for a Ginnie Mae I (SF-49) times the flows at 44, 74,
    104, ... days on 30/360 whatever day of the week those fall on."""
    if c.delay_days is None:
        return list(dates)
    first = first_accrual_start(deal)
    return [delayed_payment_date(add_months(first, k), c.delay_days) for k in range(len(dates))]


def _per_initial_notional(result: RunResult, ci: int, k: int = 0):
    """An IO's (cash, notional decline) per unit of its initial notional (the notional of
    period 1, per scenario), and face 1: so its flows are per 100 of initial notional and
    its WAL is that of the notional's decline (SIFMA's average life with the notional's
    reductions in place of principal). For a buyer whose first payment is period ``k + 1``
    (a later settlement, a run from a deal state), per unit of the notional then: per 100
    of current notional, as a price is per 100 of current face."""
    notional = result.notional[:, ci, :]                     # (T, S)
    n0 = notional[min(k, len(notional) - 1)]
    with np.errstate(all="ignore"):
        scale = np.where(n0 > 0, 1.0 / n0, 0.0)
    decline = notional - np.concatenate([notional[1:], np.zeros_like(notional[:1])])
    cash = result.interest[:, ci, :] + result.carryover_paid[:, ci, :]
    return (cash * scale, np.maximum(decline, 0.0) * scale), 1.0


def paid_by_settlement(pdates, settle: _dt.date) -> int:
    """How many of the (increasing) payment dates fall on or before settlement."""
    n = 0
    while n < len(pdates) and pdates[n] <= settle:
        n += 1
    return n


def first_accrual_start(deal: A.Deal) -> _dt.date:
    fd = deal.header.first_distribution
    return add_months(_dt.date(fd.year, fd.month, 1), -1)


def accrued_points(deal: A.Deal, c: A.ClassDecl, result: RunResult, ci: int, settle: _dt.date,
                   k: int = 0) -> np.ndarray:
    """(S,) accrued interest per 100 of current face from where the period of the buyer's
    first payment (period ``k``: the earlier ones were paid to the seller) accrues to
    settlement: its calendar month (30/360; for the first period the month before the
    first date), or the previous distribution date (actual days; closing for the first
    period, as for a class that 'accrues from closing').

    The rate is the stated coupon before the cap ('accrued at coupon', the default): the
    term sheet's buyer pays "accrued interest from April 1, 2004" and a period-1 cap
    shortfall is owed back as carryover, so the buyer earns the full coupon for the
    month. 'accrued at pass-through rate' takes the capped rate instead."""
    if c.accrued_at == "pass-through rate":
        rate = result.rate[k, ci, :]
    else:
        rate = result.coupon[k, ci, :]
    if c.day_count is not A.DayCount.THIRTY_360:
        base = 360.0 if c.day_count is A.DayCount.ACTUAL_360 else 365.0
        start = deal.header.closing if k == 0 else result.dates[k - 1]
        return 100.0 * rate * (settle - start).days / base
    if k == 0:
        start = deal.header.closing if c.accrues_from_closing else first_accrual_start(deal)
    else:
        start = add_months(first_accrual_start(deal), k)
    return 100.0 * rate * days_30_360(start, settle) / 360.0


def analyze(result: RunResult, prices: Optional[Dict[str, float]] = None,
            default_price: float = 100.0, classes: Optional[List[str]] = None,
            yields: Optional[Dict[str, float]] = None, dms: Optional[Dict[str, float]] = None,
            compiled: Optional[bool] = None, settle: Optional[_dt.date] = None,
            face: Optional[float] = None) -> "Rows":
    """One row per class and scenario, in the JSON schema of ``run-deal --format json``.

    Each class is priced at ``prices[class]`` (else ``default_price``), or, the
    inverse, at the price that gives ``yields[class]`` (a bond-equivalent yield,
    fixed-rate classes) or ``dms[class]`` (a discount margin, floaters).

    The rows are a sequence of dicts (class by class, scenario by scenario within
    a class), made when first read; ``.columns()`` gives the same figures as arrays
    without making them. ``compiled``: None uses the compiled analytics kernel when
    there is a C compiler, False the numpy functions (the same figures). ``settle``
    prices on another settlement date than the deal's; ``face`` (an original face
    amount) adds each row's ``proceeds``: face x factor x (price + accrued) / 100."""
    deal = result.deal
    settle = settle or deal.header.settlement or deal.header.closing
    face_amount = face
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
            # a floater's accrual days, the first of the buyer's from settlement (none before it)
            prev = [settle] + pdates[:-1]
            acc = np.array([max((b - max(a, settle)).days, 0) for a, b in zip(prev, pdates)], dtype=float)
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
        # An IO or a PO has no default price: NA unless priced (by price or yield)
        unpriced = kind in ("io", "po") and name not in prices and name not in yields
        price = np.full(S, np.nan if unpriced else float(prices.get(name, default_price)))
        block = _Block(name, kind, float(c.balance.value) if c.balance is not None else None, labels)
        blocks.append(block)
        if kind == "io" and result.lean:
            continue  # a lean run keeps the notional of period 1 only: no figures
        if result.cash_paid is not None:  # a lean run keeps the total
            comps = (result.cash_paid[:, ci, :], result.principal[:, ci, :])
        else:
            comps = (result.interest[:, ci, :], result.principal[:, ci, :],
                     result.carryover_paid[:, ci, :], result.loss_reimbursed[:, ci, :])  # (T, S) each
        face = float(c.balance.value) if c.balance is not None else 1.0
        sellers = paid_by_settlement(pdates, settle)
        if kind == "io":
            comps, face = _per_initial_notional(result, ci, sellers)
        factor = 1.0
        held = 1.0  # the part of an original face amount still outstanding (for proceeds)
        if sellers:  # paid on or before settlement: the seller's, not in the buyer's flows
            comps = tuple(np.concatenate([np.zeros_like(x[:sellers]), x[sellers:]]) for x in comps)
            # a price is per 100 of current face: the balance the buyer's first payment starts from
            # (an IO's flows are already per unit of its notional then)
            k = min(sellers, len(pdates) - 1)
            if kind == "io":
                n0 = result.notional[0, ci, :]  # a run from a deal state has no original notional: NA
                with np.errstate(all="ignore"):
                    held = np.where(n0 > 0, result.notional[k, ci, :] / n0, np.nan)
            else:
                factor = held = result.begin_balance[k, ci, :] / face
        if kind != "floater":  # fixed, and IO / PO: yields on 30/360 time
            accrued = accrued_points(deal, c, result, ci, settle, sellers)
            if name in yields:
                flows = _flows_of(ClassInputs(comps, face, years, kind))
                price = price_from_yield(flows, years * 12.0, np.full(S, yields[name])) / factor - accrued
            full = price + accrued if sellers == 0 else (price + accrued) * factor
            inputs.append(ClassInputs(comps, face, years, "fixed", full, years))
            block.accrued = accrued
        else:  # floater
            path = result.index_path[floater_index(deal, c)][:, : len(pdates)]
            if name in dms:
                flows = _flows_of(ClassInputs(comps, face, years, kind))
                price = price_from_dm(flows, path, acc, np.full(S, dms[name])) / factor
            act_years = np.cumsum(acc) / 360.0
            inputs.append(ClassInputs(comps, face, years, kind, price * factor, act_years, path, acc))
            block.accrued = np.zeros(S)  # settles flat
        block.price = price
        block.inputs = inputs[-1]
        if face_amount is not None:  # SF-45: cost = face x factor x (price + accrued) / 100
            block.proceeds = face_amount * held * (price + block.accrued) / 100.0
    measures = iter(class_measures(inputs, compiled=compiled))
    written = result.writedown_total()  # (C, S)
    for block in blocks:
        if block.inputs is not None:
            block.measures = next(measures)
            ci = result.cls(block.name)
            # a lean run keeps no balances: its classes are taken as run to the end
            left = np.zeros(S) if result.balance is None else result.balance[-1, ci, :]
            _without_meaningless(block, written[ci], left)
    return Rows(result, blocks)


# A yield outside (-100%, +1000%) reproduces the price only as a number: a class cut short by the
# horizon or written down yields -200% with a duration of 1e13 years. Such figures are NA, with a note.
YIELD_RANGE = (-1.0, 10.0)
CUT_SHORT = "principal outstanding at the end of the run (neither paid nor written down): the figures stop short"


def _without_meaningless(block: "_Block", written_down: np.ndarray, outstanding: np.ndarray) -> None:
    """NA (NaN) for the yield, DM and duration of the scenarios where they mean
    nothing, and the reason in ``block.note``: the class written down in full;
    principal still outstanding when the run ends (a horizon short of the
    collateral's life, more principal than the collateral pays, a sale that does
    not retire it: its WAL too, as its principal is never all paid); or no yield
    (a floater: no margin) within YIELD_RANGE gives the price."""
    m = block.measures
    lo, hi = YIELD_RANGE
    measure = m.dm if block.kind == "floater" else m.yld
    what = "discount margin" if block.kind == "floater" else "yield"
    no_root = ~((measure > lo) & (measure < hi)) | ~((m.yld > lo) & (m.yld < hi))
    if block.balance is not None and abs(block.balance) < 0.005:  # a class of no balance (--set, sizing)
        block.note = np.full(no_root.shape, "no balance: nothing to price", dtype=object)
        nan = np.full(no_root.shape, np.nan)
        block.measures = m._replace(yld=nan, dm=nan, mdur=nan, wal=nan)
        return
    gone = written_down >= block.balance - 0.005 if block.balance else np.zeros_like(no_root)
    short = (outstanding > 0.005) & ~gone if block.balance else np.zeros_like(no_root)
    if not (no_root | gone | short).any():
        return
    block.note = np.where(gone, "written down in full", np.where(short, CUT_SHORT, np.where(
        no_root, f"no {what} within -100% to +1000% gives the price", None))).astype(object)
    bad = no_root | gone | short
    block.measures = m._replace(yld=np.where(bad, np.nan, m.yld), dm=np.where(bad, np.nan, m.dm),
                                mdur=np.where(bad, np.nan, m.mdur), wal=np.where(short, np.nan, m.wal))


class _Block:
    """The figures of one class over the scenarios."""

    def __init__(self, name, kind, balance, labels):
        self.name = name
        self.kind = kind
        self.balance = balance
        self.labels = labels          # ISO payment dates, and None at index -1
        self.price = None             # (S,) for fixed classes and floaters
        self.accrued = None           # (S,) accrued interest per 100 (fixed classes; floaters settle flat)
        self.proceeds = None          # (S,) with a face amount: what the buyer pays
        self.inputs: Optional[ClassInputs] = None
        self.measures: Optional[ClassMeasures] = None
        self._sf = None
        self.note = None              # (S,) why a scenario's yield/DM/duration is NA, else None

    def standard_measures(self) -> Dict[str, np.ndarray]:
        """SIFMA SF-48's other measures at the class's yield, made on first use (a grid that
        never asks pays nothing): mortgage yield (fixed classes), Macaulay duration and
        cash-flow convexity (on the yield's own times: 30/360 fixed, actual/360 floaters)."""
        if self._sf is None:
            m, ci = self.measures, self.inputs
            flows = _flows_of(ci)
            with np.errstate(all="ignore"):
                self._sf = {
                    "mortgage_yield_pct": (mortgage_from_bey(m.yld) * 100.0 if self.kind != "floater"
                                           else np.full(len(m.yld), np.nan)),
                    "macaulay_years": macaulay_duration(flows, ci.times, m.yld),
                    "convexity": cashflow_convexity(flows, ci.times, m.yld),
                }
        return self._sf


def _finite_or_none(a: np.ndarray) -> list:
    """Python floats, None where not finite (as `_num`)."""
    a = np.asarray(a, dtype=float)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


# Row keys added by issue 17 (never renaming the older ones): SIFMA SF-48's mortgage yield,
# Macaulay duration and cash-flow convexity, and the accrued interest of the price.
EXTRA_KEYS = ("mortgage_yield_pct", "macaulay_years", "convexity", "accrued")
# The keys of a row in run-deal --format json's "tables" (then "proceeds" with a face amount).
JSON_TABLE_KEYS = ("class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                   "first_principal", "last_principal", "speed") + EXTRA_KEYS


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
                    "first": np.full(S, -1, np.int64), "last": np.full(S, -1, np.int64),
                    **{k: none for k in EXTRA_KEYS + ("proceeds",)}}
        sf = block.standard_measures()
        return {**{k: _finite_or_none(v) for k, v in sf.items()},
                "accrued": none if block.accrued is None else _finite_or_none(block.accrued),
                "proceeds": none if block.proceeds is None else _finite_or_none(block.proceeds),
                "price": _finite_or_none(block.price),
                "yield_pct": _finite_or_none(m.yld * 100.0) if block.kind != "floater" else none,
                "dm_bp": _finite_or_none(m.dm * 10000.0) if block.kind == "floater" else none,
                "wal_years": _finite_or_none(m.wal),
                "mdur_years": _finite_or_none(m.mdur),
                **_window_of(block, S)}

    def _make(self, block: _Block) -> list:
        v = self._block_values(block)
        fp = block.labels[v["first"]].tolist()
        lp = block.labels[v["last"]].tolist()
        fn = _periods(v["first"])
        ln = _periods(v["last"])
        name, kind, balance = block.name, block.kind, block.balance
        notes = [None] * self._S if block.note is None else block.note.tolist()
        rows = [{"scenario": s, "class": name, "to": to, "speed_pct": sp, "price": pr, "yield_pct": y,
                 "dm_bp": d, "wal_years": w, "mdur_years": md, "first_principal": f, "last_principal": la,
                 "first_period": f1, "last_period": l1, "kind": kind, "balance": balance, "note": nt}
                for s, to, sp, pr, y, d, w, md, f, la, f1, l1, nt
                in zip(range(self._S), self._modes, self._speed_pct.tolist(), v["price"], v["yield_pct"],
                       v["dm_bp"], v["wal_years"], v["mdur_years"], fp, lp, fn, ln, notes)]
        for k in EXTRA_KEYS + ("proceeds",):
            for row, x in zip(rows, v[k]):
                row[k] = x
        return rows

    def columns(self, standard: bool = False) -> Dict[str, np.ndarray]:
        """Every row field as one array, in row order, without making the rows: 'scenario'
        int64; 'class', 'to', 'kind', 'first_principal', 'last_principal' object arrays
        (None where a row has None); 'speed_pct', 'price', 'yield_pct', 'dm_bp', 'wal_years',
        'mdur_years', 'balance', 'first_period', 'last_period' float64, NaN where a row has None.
        ``standard``: SIFMA's other measures too (mortgage yield, Macaulay duration, convexity,
        computed in numpy: several times the rest for a large grid); NaN without it."""
        S = self._S
        nb = len(self._blocks)
        nan = np.full(S, np.nan)
        parts: Dict[str, list] = {k: [] for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
                                                  "first_principal", "last_principal", "first_period",
                                                  "last_period") + EXTRA_KEYS}
        for block in self._blocks:
            m = block.measures
            if m is None:
                for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period",
                          "last_period") + EXTRA_KEYS:
                    parts[k].append(nan)
                none = np.full(S, None, dtype=object)
                parts["first_principal"].append(none)
                parts["last_principal"].append(none)
                continue
            parts["price"].append(block.price)
            for k, x in (block.standard_measures().items() if standard else
                         ((k, nan) for k in EXTRA_KEYS if k != "accrued")):
                parts[k].append(x)
            parts["accrued"].append(nan if block.accrued is None else block.accrued)
            parts["yield_pct"].append(m.yld * 100.0 if block.kind != "floater" else nan)
            parts["dm_bp"].append(m.dm * 10000.0 if block.kind == "floater" else nan)
            parts["wal_years"].append(m.wal)
            parts["mdur_years"].append(m.mdur)
            w = _window_of(block, S)
            parts["first_principal"].append(block.labels[w["first"]])
            parts["last_principal"].append(block.labels[w["last"]])
            parts["first_period"].append(np.where(w["first"] >= 0, w["first"] + 1.0, np.nan))
            parts["last_period"].append(np.where(w["last"] >= 0, w["last"] + 1.0, np.nan))
        cols: Dict[str, np.ndarray] = {
            "scenario": np.tile(np.arange(S, dtype=np.int64), nb),
            "class": np.repeat(np.array([b.name for b in self._blocks] or [""], dtype=object)[:nb], S),
            "to": np.tile(np.array(self._modes + [""], dtype=object)[:S], nb),
            "speed_pct": np.tile(self._speed_pct, nb),
        }
        for k, v in parts.items():
            cols[k] = np.concatenate(v) if v else np.empty(0, dtype=object if k.endswith("principal") else float)
            if k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years") + EXTRA_KEYS:
                cols[k] = np.where(np.isfinite(cols[k]), cols[k], np.nan)
        cols["kind"] = np.repeat(np.array([b.kind for b in self._blocks] or [""], dtype=object)[:nb], S)
        cols["balance"] = np.repeat(np.array([np.nan if b.balance is None else b.balance
                                              for b in self._blocks], dtype=float), S)
        return cols


def _window_of(block: _Block, S: int) -> dict:
    """The principal window's periods (0-based, -1 none); an IO has none (it pays no principal)."""
    if block.kind == "io":
        return {"first": np.full(S, -1, np.int64), "last": np.full(S, -1, np.int64)}
    return {"first": block.measures.first, "last": block.measures.last}


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
