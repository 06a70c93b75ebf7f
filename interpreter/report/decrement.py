"""Decrement tables, as a prospectus supplement prints them: "Percent of
Initial Class Principal Balance Outstanding" for each principal class at the
table speeds, a row for the closing date (the initial percentage) and one for
each anniversary distribution date until every class is retired, then the
class's Weighted Average Life.

Conventions (those of prospectus supplements):
- the anniversary rows are the distribution dates in the closing date's month
  of each later year (closing April 2004: April 2005, April 2006, ...), each
  after that date's distribution;
- percents are of the class's balance at closing, rounded to whole percents
  (half up); a balance above zero that rounds to 0 shows as ``*``; a balance
  under half a cent counts as retired (money is paid in cents);
- the WAL is the term sheet's (30/360 years from settlement to each principal
  payment, ``analytics.measures.wal``).
"""
from __future__ import annotations

import datetime as _dt
import io
import math
from typing import List, Optional, Sequence

import attrs
import numpy as np

from ..analytics.measures import wal
from ..dates import years_30_360
from ..waterfall.records import RunResult
from .analyze import class_kind, payment_dates

RETIRED = 0.005  # dollars: a balance below half a cent is paid off


@attrs.frozen
class DecrementTable:
    """One class's table in one mode: ``pct[row, speed]`` unrounded percents,
    row 0 the closing date; ``wal[speed]`` years (NaN: no principal paid)."""
    cls: str
    to: str
    speeds_pct: tuple
    dates: tuple  # closing date, then the anniversary distribution dates
    pct: np.ndarray
    wal: np.ndarray


def anniversary_periods(closing: _dt.date, dates: Sequence[_dt.date]) -> List[int]:
    """0-based periods of the distribution dates in the closing month of each later year."""
    out = []
    t = 0
    for year in range(closing.year + 1, dates[-1].year + 1 if dates else 0):
        while t < len(dates) and (dates[t].year, dates[t].month) < (year, closing.month):
            t += 1
        if t == len(dates):
            break
        out.append(t)
    return out


def principal_classes(result: RunResult, classes: Optional[Sequence[str]] = None) -> List[str]:
    """Classes with a principal balance (not notional, residual or without cashflow), in deal order."""
    deal = result.deal
    out = []
    for name in result.class_names:
        if classes and name not in classes:
            continue
        if class_kind(deal, deal.class_named(name)) in ("fixed", "floater"):
            out.append(name)
    return out


def decrement_tables(result: RunResult, classes: Optional[Sequence[str]] = None) -> List[DecrementTable]:
    """The decrement tables of ``result`` (a run with all records), class by
    class by class in the run's order. A table's rows run until its class is
    retired at every speed (the first all-zero row included)."""
    deal = result.deal
    if result.balance is None:
        raise ValueError("decrement tables need a run that keeps its records (keep='all')")
    modes = list(dict.fromkeys(result.modes))
    n_speeds = len(result.modes) // len(modes)
    speeds_pct = tuple(float(x) * 100.0 for x in result.speeds[:n_speeds])
    names = principal_classes(result, classes)
    periods = anniversary_periods(deal.header.closing, result.dates)
    settle = deal.header.settlement or deal.header.closing
    out = []
    years_by_delay: dict = {}  # payment times are shared by the classes without a delay
    for m, mode in enumerate(modes):
        cols = slice(m * n_speeds, (m + 1) * n_speeds)
        for name in names:
            ci = result.cls(name)
            initial = result.begin_balance[0, ci, cols]
            bal = result.balance[periods, ci, cols] if periods else np.zeros((0, n_speeds))
            bal = np.where(bal < RETIRED, 0.0, bal)
            with np.errstate(invalid="ignore", divide="ignore"):
                pct = np.vstack([np.where(initial > 0, 100.0, 0.0)[None, :],
                                 np.where(initial > 0, bal / initial * 100.0, 0.0)])
            alive = np.nonzero((pct[1:] > 0).any(axis=1))[0]
            # up to the first row that shows the class retired at every speed
            rows = min(int(alive[-1]) + 2 if len(alive) else 1, len(periods))
            dates = (deal.header.closing,) + tuple(result.dates[t] for t in periods[:rows])
            c = deal.class_named(name)
            if c.delay_days not in years_by_delay:
                years_by_delay[c.delay_days] = np.array(years_30_360(settle, payment_dates(deal, c, result.dates)))
            years = years_by_delay[c.delay_days]
            w = wal(result.principal[:, ci, cols].T, years)
            out.append(DecrementTable(name, mode.lower(), speeds_pct, dates, pct[: rows + 1], w))
    return out


def pct_cell(x: float) -> str:
    """Whole percent, half up; above zero but under 0.5 is '*'."""
    if not x > 0:
        return "0"
    r = math.floor(x + 0.5)
    return "*" if r == 0 else str(int(r))


def _date_label(d: _dt.date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


def format_decrement(deal, tables: List[DecrementTable], width: int = 112) -> str:
    """The prospectus layout: classes side by side (as many as fit in ``width``
    columns), each with the speeds as columns; a block's rows run until all its
    classes are retired."""
    out = io.StringIO()
    out.write(f"{deal.name}: Percent of Initial Class Principal Balance Outstanding\n\n")
    label_w, cell = 30, 7
    for to in dict.fromkeys(tb.to for tb in tables):
        mode = [tb for tb in tables if tb.to == to]
        per_class = len(mode[0].speeds_pct) * cell + 3 if mode else 1
        k = max(1, (width - label_w) // per_class)
        for b in range(0, len(mode), k):
            block = mode[b:b + k]
            longest = max(block, key=lambda tb: len(tb.dates))
            to_label = "Maturity" if to == "maturity" else to.capitalize()
            out.write(f"  {'(to ' + to_label + ')':<{label_w}}"
                      + "".join(f"{'Class ' + tb.cls:^{per_class}}" for tb in block) + "\n")
            out.write(f"  {'Distribution Date':<{label_w}}"
                      + "".join("   " + "".join(f"{s:>{cell - 1}g}%" for s in tb.speeds_pct) for tb in block) + "\n")
            for r, d in enumerate(longest.dates):
                label = "Initial Percentage" if r == 0 else _date_label(d)
                cells = ("   " + "".join(f"{pct_cell(tb.pct[r, j]) if r < len(tb.pct) else '0':>{cell}}"
                                         for j in range(len(tb.speeds_pct))) for tb in block)
                out.write(f"  {label:<{label_w}}" + "".join(cells) + "\n")
            out.write(f"  {'Weighted Average Life (years)':<{label_w}}"
                      + "".join("   " + "".join(f"{_wal_cell(w):>{cell}}" for w in tb.wal) for tb in block) + "\n\n")
    return out.getvalue()


def _wal_cell(w: float) -> str:
    return "NA" if not np.isfinite(w) else format(w, ".2f")


def decrement_rows(tables: List[DecrementTable]) -> List[dict]:
    """The rows of ``--format json|csv``: one per class, mode, date and speed (unrounded percents)."""
    rows = []
    for tb in tables:
        for k, d in enumerate(tb.dates):
            for j, s in enumerate(tb.speeds_pct):
                rows.append({"class": tb.cls, "to": tb.to, "speed_pct": s, "date": d.isoformat(),
                             "pct_outstanding": float(tb.pct[k, j])})
    return rows


def wal_rows(tables: List[DecrementTable]) -> List[dict]:
    return [{"class": tb.cls, "to": tb.to, "speed_pct": s,
             "wal_years": float(w) if np.isfinite(w) else None}
            for tb in tables for s, w in zip(tb.speeds_pct, tb.wal)]
