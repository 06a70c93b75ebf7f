"""Page 3 (classes, sizes, WAL, windows, Last Scheduled Distribution Date) and the
Initial Subordination column of page 7, checked in the projected cashflows."""
import numpy as np
import pytest

from .helpers import (CERTS, CUTOFF, IOS, OC_TARGET, OFFERED, SENIORS, SUBS, idx, months_between,
                      pool_end, scen)


# ---------------------------------------------------------------- 1. Classes and sizes [p.3]
def test_classes_and_sizes_match_page_3_and_sum_to_615_000_000(base, p3):
    r = base
    for c in CERTS:
        assert r.begin_balance[0, r.cls(c), :] == pytest.approx(p3[c]["amount"], abs=0.005), c
    total = r.begin_balance[0, idx(r, CERTS), 0].sum()
    assert total == pytest.approx(615_000_000.0, abs=0.005)
    assert total == pytest.approx(p3["Total"], abs=0.005)
    # "Initial overcollateralization at closing is zero" (p.7): the pool equals the certificates.
    pool0 = sum(f.begin_balance[:, 0] for f in r.collateral.values())
    np.testing.assert_allclose(pool0, total, rtol=0, atol=0.01)
    # The principal of the offered certificates, at every speed and mode, repays exactly
    # their original balances (nothing more, nothing less) when nothing is lost.
    paid = r.principal[:, idx(r, CERTS), :].sum(axis=0)  # (C, S)
    want = np.broadcast_to(np.array([p3[c]["amount"] for c in CERTS])[:, None], paid.shape)
    np.testing.assert_allclose(paid, want, rtol=0, atol=1e-4)


def test_classes_and_sizes_io_notionals_in_period_1(base, p3):
    r = base
    for c in IOS:
        np.testing.assert_allclose(r.notional[0, r.cls(c), :], p3[c]["notional"], rtol=0, atol=0.005)
        # an IO class has no principal
        assert np.all(r.principal[:, r.cls(c), :] == 0.0)
    assert p3["1-A-IO"]["notional"] == 300_000_000 and p3["2-A-IO"]["notional"] == 315_000_000


def test_classes_and_sizes_residuals_c_p_and_a_r_receives_nothing(base, loss_runs, high_libor):
    for r in [base, high_libor, *loss_runs.values()]:
        for c in ("C", "P", "A-R"):
            i = r.cls(c)
            assert np.all(r.begin_balance[:, i, :] == 0.0), c     # no principal balance
            assert np.all(r.principal[:, i, :] == 0.0), c
        assert np.all(r.cash()[:, r.cls("A-R"), :] == 0.0)        # A-R: no cashflow
        assert np.all(r.cash()[:, r.cls("P"), :] == 0.0)          # P: prepayment charges only (none)
    # C is the residual: it receives cash at the table speeds
    assert base.cash()[:, base.cls("C"), :].sum(axis=0).min() > 0.0


# ---------------------------------------------------------------- page 3 at 100% PPC
PAGE3_CLASSES = SENIORS + SUBS
# Windows to maturity that differ today (measured): 1-A-5 ends in month 224 (printed 225),
# 1-A-6 in month 221 (printed 223).
WINDOW_MISSES: dict = {}  # every page-3 window is reproduced


def _row(rows, c, mode, speed=100.0):
    hits = [x for x in rows if x["class"] == c and x["to"] == mode and x["speed_pct"] == speed]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.parametrize("mode", ["auction", "maturity"])
@pytest.mark.parametrize("c", PAGE3_CLASSES)
def test_page_3_wal_at_100_pct_within_0_03(page3_rows, p3, c, mode):
    printed = p3[c]["wal"][0 if mode == "auction" else 1]
    got = _row(page3_rows, c, mode)["wal_years"]
    assert abs(got - printed) <= 0.03 + 1e-9, (c, mode, got, printed)


def _window_params():
    out = []
    for c in PAGE3_CLASSES:
        for mode in ("auction", "maturity"):
            miss = WINDOW_MISSES.get((c, mode))
            marks = []
            if miss:
                marks = [pytest.mark.xfail(strict=True, reason=(
                    f"p.3 prints the {c} window to maturity as "
                    f"{'76-225' if c == '1-A-5' else '37-223'}; the engine gives {miss[0]}-{miss[1]}"))]
            out.append(pytest.param(c, mode, marks=marks, id=f"{c}-{mode}"))
    return out


@pytest.mark.parametrize("c, mode", _window_params())
def test_page_3_principal_window_at_100_pct(page3_rows, p3, c, mode):
    printed = p3[c]["window"][0 if mode == "auction" else 1]
    row = _row(page3_rows, c, mode)
    assert (row["first_period"], row["last_period"]) == printed


@pytest.mark.parametrize("c", ["1-A-5", "1-A-6"])
def test_page_3_window_to_maturity_within_two_months(page3_rows, p3, c):
    """The known window misses stay small: first month exact, last within 2 months."""
    printed = p3[c]["window"][1]
    row = _row(page3_rows, c, "maturity")
    assert row["first_period"] == printed[0]
    assert abs(row["last_period"] - printed[1]) <= 2


@pytest.mark.parametrize("c", PAGE3_CLASSES)
def test_last_scheduled_distribution_date_within_one_month(base, p3, c):
    """p.3 Last Scheduled Distribution Date = the last principal payment at 0%, to maturity."""
    r = base
    s = scen(r, "maturity", 0.0)
    paid = np.nonzero(r.principal[:, r.cls(c), s] >= 0.01)[0]
    last = r.dates[paid[-1]]
    assert abs(months_between(p3[c]["last_scheduled"], (last.year, last.month))) <= 1, (c, last)


@pytest.mark.parametrize("c", ["1-A-IO", "2-A-IO"])
def test_last_scheduled_distribution_date_of_the_io_classes_january_2006(base, p3, c):
    r = base
    s = scen(r, "maturity", 0.0)
    paid = np.nonzero(r.interest[:, r.cls(c), s] >= 0.01)[0]
    last = r.dates[paid[-1]]
    assert (last.year, last.month) == p3[c]["last_scheduled"] == (2006, 1)


# ---------------------------------------------------------------- p.7 Initial Subordination
def test_initial_subordination_column_of_page_7(base, p3):
    """5.80% / 3.45% / 1.55% / 0.35% = (classes below + OC target) / cut-off balance, the OC
    target being the one the run actually reaches; the Target Subordination at Stepdown is
    twice each figure (11.60 / 6.90 / 3.10 / 0.70)."""
    r = base
    s = scen(r, "maturity", 1.0)
    oc = pool_end(r)[s] - r.balance[:, idx(r, CERTS), s].sum(axis=1)
    reached = oc[np.argmax(np.abs(oc - OC_TARGET) < 0.01)]
    assert reached == pytest.approx(2_152_500.0, abs=0.01)
    amt = {c: p3[c]["amount"] for c in SUBS}
    below = {"1-A": amt["M-1"] + amt["M-2"] + amt["B"], "M-1": amt["M-2"] + amt["B"], "M-2": amt["B"], "B": 0.0}
    printed = {"1-A": 5.80, "M-1": 3.45, "M-2": 1.55, "B": 0.35}
    at_stepdown = {"1-A": 11.60, "M-1": 6.90, "M-2": 3.10, "B": 0.70}
    for c, pct in printed.items():
        got = (below[c] + reached) / CUTOFF * 100
        assert round(got, 2) == pct, (c, got)
        assert round(2 * got, 2) == at_stepdown[c]
