"""Page 11 of the CWALT 2004-J4 term sheet: the Discount Margin / Yield tables of
Classes 1-A-1 and 1-A-2, to auction and to maturity, at 0/80/100/120/150% of the
pricing speed, priced at 100-00.

Tolerances (issue: yield 0.02, DM 1 bp, WAL and MDUR 0.05, one month) and the
count of figures exact at the printed precision (at least 78 of 100; the misses of
the given collateral set are listed on the pricing-assumptions page)."""
import datetime as dt
from pathlib import Path

import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.report.analyze import analyze

DEALS = Path(__file__).resolve().parents[2] / "deals"
SPEEDS = [0.0, 0.8, 1.0, 1.2, 1.5]

# (class, measure) -> the five printed figures; the same in both modes on p.11.
PAGE_11 = {
    ("1-A-1", "dm_bp"): [16, 16, 16, 16, 16],
    ("1-A-1", "wal_years"): [11.86, 1.12, 0.90, 0.75, 0.60],
    ("1-A-1", "mdur_years"): [10.93, 1.12, 0.90, 0.76, 0.61],
    ("1-A-1", "first_principal"): ["May-04"] * 5,
    ("1-A-1", "last_principal"): ["Apr-24", "Aug-06", "Feb-06", "Nov-05", "Jul-05"],
    ("1-A-2", "yield_pct"): [3.11, 3.04, 3.02, 3.00, 2.96],
    ("1-A-2", "wal_years"): [20.67, 2.51, 2.00, 1.65, 1.30],
    ("1-A-2", "mdur_years"): [15.04, 2.38, 1.91, 1.59, 1.25],
    ("1-A-2", "first_principal"): ["Apr-24", "Aug-06", "Feb-06", "Nov-05", "Jul-05"],
    ("1-A-2", "last_principal"): ["Sep-25", "Dec-06", "Jun-06", "Jan-06", "Sep-05"],
}
TOLERANCE = {"dm_bp": 1.0, "yield_pct": 0.02, "wal_years": 0.05, "mdur_years": 0.05}
DIGITS = {"dm_bp": 0, "yield_pct": 2, "wal_years": 2, "mdur_years": 2}


def _month(label: str) -> int:
    d = dt.datetime.strptime(label, "%b-%y")
    return d.year * 12 + d.month


@pytest.fixture(scope="module")
def figures():
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    a = load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal)
    r = run(deal, a, SPEEDS, to=("auction", "maturity"))
    out = {}
    for row in analyze(r, classes=["1-A-1", "1-A-2"]):
        out[(row["class"], row["to"], round(row["speed_pct"]))] = row
    return out


def _compare(figures):
    exact, misses = 0, []
    for mode in ("auction", "maturity"):
        for (cls, measure), printed in PAGE_11.items():
            for speed, want in zip(SPEEDS, printed):
                row = figures[(cls, mode, round(speed * 100))]
                got = row[measure]
                if measure.endswith("principal"):
                    got_label = dt.date.fromisoformat(got).strftime("%b-%y")
                    ok = got_label == want
                    within = abs(_month(got_label) - _month(want)) <= 1
                    shown = got_label
                else:
                    shown = round(got, DIGITS[measure]) if DIGITS[measure] else round(got)
                    ok = shown == want
                    within = abs(got - want) <= TOLERANCE[measure] + 0.005
                exact += ok
                if not ok:
                    misses.append((mode, cls, measure, speed, want, shown, within))
    return exact, misses


def test_every_page_11_figure_is_within_tolerance(figures):
    _, misses = _compare(figures)
    outside = [m for m in misses if not m[-1]]
    assert not outside, outside


def test_at_least_78_of_the_100_page_11_figures_are_exact(figures):
    exact, misses = _compare(figures)
    assert exact >= 78, (exact, misses)


def test_floaters_settle_flat_and_fixed_classes_pay_29_days_accrued(figures):
    # At 100-00 flat, a floater with no cap binding has DM = its margin (16 bp).
    assert figures[("1-A-1", "auction", 100)]["dm_bp"] == pytest.approx(16.0, abs=0.05)
    # 1-A-2 at 100-00 plus 29 days of accrued (April 1-30, 30/360), paid on the 25th:
    # a yield below its 3.108% coupon at every speed but 0%.
    for speed in (80, 100, 120, 150):
        assert figures[("1-A-2", "maturity", speed)]["yield_pct"] < 3.108
