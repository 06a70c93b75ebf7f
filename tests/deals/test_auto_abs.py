"""Auto-loan ABS (deals/auto-abs.waterfall): ABS prepayment speed, sequential notes,
the reserve account, the turbo trigger and the clean-up call, checked against hand
calculations and invariants of the priority of payments."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "deals" / "auto-abs.waterfall"
YAML = ROOT / "deals" / "auto-abs.assumptions.yaml"
BASE = yaml.safe_load(YAML.read_text())

NOTES = ["A-1", "A-2", "A-3", "A-4", "B"]
COUPON = {"A-1": 0.0548, "A-2": 0.0532, "A-3": 0.0510, "A-4": 0.0505, "B": 0.0565}
ORIGINAL = {"A-1": 80e6, "A-2": 170e6, "A-3": 160e6, "A-4": 57.5e6, "B": 17.5e6}
CUTOFF = 500e6
TARGET_OC = 0.03 * CUTOFF           # 15,000,000
FLOOR = 0.005 * CUTOFF              # 2,500,000
CNL_LIMIT = [(12, 0.0175), (24, 0.0325), (36, 0.045), (10**6, 0.055)]
EPS = 1e-6


@pytest.fixture(scope="module")
def deal():
    return load_deal(DEAL)


@pytest.fixture(scope="module")
def base(deal):
    """Pricing assumptions at 0%, 50%, 100% and 150% of 1.5% ABS: scenarios 0-3 to
    maturity, 4-7 to the clean-up call."""
    return run(deal, load_assumptions(YAML, deal), [0.0, 0.5, 1.0, 1.5], to=("maturity", "call"))


@pytest.fixture(scope="module")
def stressed(deal, tmp_path_factory):
    """Front-loaded losses: 4% CDR for a year, then none; 60% severity, recoveries 2 months
    later. Cumulative net losses pass the 1.75% trigger level in month 10 or 11; the OC,
    eroded meanwhile, is rebuilt by month 18, after which the turbo pays."""
    doc = dict(BASE)
    doc.update({"defaults": {"all": {"kind": "CDR", "vector": ["4%"] * 12 + ["0%"]}}, "severity": "60%",
                "recovery lag": 2})
    p = tmp_path_factory.mktemp("auto") / "stress.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return run(deal, load_assumptions(p, deal), [0.5, 1.0, 1.5], to=("maturity", "call"))


@pytest.fixture(scope="module")
def collapse(deal, tmp_path_factory):
    """No defaults for 30 months (the reserve fills), then every loan defaults in month 31
    with nothing recovered: no collections at all from that month on."""
    doc = dict(BASE)
    doc.update({"defaults": {"all": {"kind": "CDR", "vector": ["0%"] * 30 + ["100%"]}}, "severity": "100%"})
    p = tmp_path_factory.mktemp("auto") / "collapse.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return run(deal, load_assumptions(p, deal), [1.0])


# ---------------------------------------------------------------- helpers
def f(r, what):
    return getattr(r.collateral["1"], what)  # (S, T)


def notes(r):
    return [r.cls(n) for n in NOTES]


def call_period(r, s):
    """Index of the first period whose ending pool is <= 10% of the cut-off balance."""
    return int(np.nonzero(f(r, "end_balance")[s] <= 0.10 * CUTOFF)[0][0])


def collections(r):
    """(T, S): net interest + principal collected; in a run to the call, plus the sale of
    the receivables at their balance in the call period and nothing afterwards."""
    coll = (f(r, "net_interest") + f(r, "principal")).T.copy()
    for s, mode in enumerate(r.modes):
        if mode == "call":
            tc = call_period(r, s)
            coll[tc, s] += f(r, "end_balance")[s, tc]
            coll[tc + 1:, s] = 0.0
    return coll


def reserve(r):
    return r.accounts[:, r.account_names.index("reserve"), :]  # (T, S)


def required(r):
    """Specified Reserve Balance by hand: min(notes, max(1.5% x pool, 0.5% x original))."""
    n_end = r.balance[:, notes(r), :].sum(axis=1)
    return np.minimum(n_end, np.maximum(0.015 * f(r, "end_balance").T, FLOOR))


# ---------------------------------------------------------------- period 1 by hand
def test_first_period_by_hand(deal, base):
    r, s = base, 2                            # 100% of the pricing speed, to maturity
    assert r.speeds[s] == 1.0 and r.modes[s] == "maturity"
    B, rate = 500e6, 0.08 / 12
    # Level payment of a 60-month 8% loan: P = B r / (1 - (1 + r)^-60) = 10,138,197.14.
    pmt = B * rate / (1 - (1 + rate) ** -60)
    assert pmt == pytest.approx(10_138_197.14, abs=0.01)
    sched = pmt - B * rate                     # 6,804,863.81
    # ABS speed: SMM = ABS / (1 - ABS x (month - 1)); month 1 at age 0 -> 1.5%.
    prepay = 0.015 * (B - sched)               # 7,397,927.04
    assert f(r, "scheduled_principal")[s, 0] == pytest.approx(sched, abs=1e-6)
    assert f(r, "prepayment")[s, 0] == pytest.approx(prepay, abs=1e-6)
    net_int = B * 0.07 / 12                    # 8% gross less 1% servicing = 2,916,666.67
    assert f(r, "net_interest")[s, 0] == pytest.approx(net_int, abs=1e-6)
    # Interest: A-1 actual/360 from the closing date (Mar 15 -> Apr 15, 31 days); the
    # others a 30/360 month.
    assert (r.dates[0] - deal.header.closing).days == 31
    due = {"A-1": 80e6 * 0.0548 * 31 / 360}    # 377,511.11
    due.update({n: ORIGINAL[n] * COUPON[n] / 12 for n in NOTES[1:]})
    assert sum(due.values()) == pytest.approx(2_135_552.777778, abs=1e-4)
    for n in NOTES:
        assert r.interest[0, r.cls(n), s] == pytest.approx(due[n], abs=1e-6)
    # Principal: the notes are kept 15,000,000 below the pool, so all of it (14,202,790.85)
    # goes to A-1.
    assert r.principal[0, r.cls("A-1"), s] == pytest.approx(sched + prepay, abs=1e-6)
    assert r.principal[0, r.cls("A-1"), s] == pytest.approx(14_202_790.85, abs=0.01)
    assert all(r.principal[0, r.cls(n), s] == 0.0 for n in NOTES[1:])
    # Reserve: the excess, 2,916,666.67 - 2,135,552.78 = 781,113.89, is less than the
    # Specified Reserve Balance (1.5% x 485.8m = 7.29m), so all of it is deposited.
    assert reserve(r)[0, s] == pytest.approx(net_int - sum(due.values()), abs=1e-6)
    assert reserve(r)[0, s] == pytest.approx(781_113.888889, abs=1e-4)
    assert r.cash()[0, r.cls("R"), s] == 0.0


def test_abs_speed_in_month_two(base):
    # Month 2: SMM = 1.5% / (1 - 1.5%) = 1.522843%, on the balance after scheduled principal.
    r, s = base, 2
    b2 = f(r, "begin_balance")[s, 1]
    rate = 0.08 / 12
    sched = b2 * rate / ((1 + rate) ** 59 - 1)
    assert f(r, "scheduled_principal")[s, 1] == pytest.approx(sched, rel=1e-12)
    assert f(r, "prepayment")[s, 1] == pytest.approx(0.015 / (1 - 0.015) * (b2 - sched), rel=1e-12)


def test_a1_is_repaid_within_a_year_even_at_zero_prepayments(base):
    # Money-market eligibility: at 0% ABS, scheduled principal alone retires A-1 by month 12.
    r = base
    a1 = r.balance[:, r.cls("A-1"), 0]
    assert r.speeds[0] == 0.0 and a1[11] == 0.0 and a1[10] > 0


# ---------------------------------------------------------------- money
@pytest.mark.parametrize("which", ["base", "stressed"])
def test_cash_to_classes_plus_change_in_the_reserve_equals_collections(which, base, stressed):
    r = {"base": base, "stressed": stressed}[which]
    held = np.diff(np.vstack([np.zeros((1, r.accounts.shape[2])), reserve(r)]), axis=0)
    np.testing.assert_allclose(r.cash().sum(axis=1) + held, collections(r), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- reserve account
def test_reserve_fills_to_its_target_and_releases_only_the_excess(base):
    r = base
    res, req = reserve(r), required(r)
    R = r.cash()[:, r.cls("R"), :]
    # Collections left after the notes (no draws on the reserve: interest is always covered).
    left = collections(r) - r.cash()[:, notes(r), :].sum(axis=1)
    prev = np.vstack([np.zeros((1, res.shape[1])), res[:-1]])
    for s in range(4):                                     # to maturity
        live = r.balance[:, notes(r), s].sum(axis=1) > 0
        # Each period the account holds what it held plus the excess, never more than the
        # Specified Reserve Balance; Class R gets the rest, which is the excess above it.
        np.testing.assert_allclose(res[live, s], np.minimum(req[live, s], prev[live, s] + left[live, s]),
                                   rtol=0, atol=1e-6)
        np.testing.assert_allclose(R[live, s], np.maximum(0.0, prev[live, s] + left[live, s] - req[live, s]),
                                   rtol=0, atol=1e-6)
        # Releases happen (the target falls with the pool) but never below the target.
        released = live & (res[:, s] < prev[:, s] - 1.0)
        assert released.sum() > 5
        np.testing.assert_allclose(res[released, s], req[released, s], rtol=0, atol=1e-6)
        # Once the notes are paid the account is released in full.
        assert res[-1, s] == 0.0


def test_reserve_never_below_its_floor_while_funds_allow(base, stressed, collapse):
    fell = 0
    for r in (base, stressed, collapse):
        res, req = reserve(r), required(r)
        R = r.cash()[:, r.cls("R"), :]
        n_end = r.balance[:, notes(r), :].sum(axis=1)
        for s in range(len(r.speeds)):
            if r.modes[s] != "maturity":
                continue
            funded = np.nonzero(res[:, s] >= FLOOR - EPS)[0]
            assert len(funded) > 0
            after = np.arange(r.n_periods) >= funded[0]
            below = after & (n_end[:, s] >= FLOOR) & (res[:, s] < FLOOR - EPS)
            # Below the floor only when nothing was left for Class R (the funds ran out).
            assert np.all(R[below, s] == 0.0)
            fell += below.sum()
            ok = after & (n_end[:, s] >= FLOOR) & (R[:, s] > 0)
            assert np.all(res[ok, s] >= np.minimum(FLOOR, req[ok, s]) - EPS)
    assert fell > 0                           # the collapse drains it
    # Without losses, once funded the account never falls below the floor (while notes
    # remain to need it).
    res, n_end = reserve(base), base.balance[:, notes(base), :].sum(axis=1)
    for s in range(4):
        first = np.nonzero(res[:, s] >= FLOOR - EPS)[0][0]
        keep = (np.arange(base.n_periods) >= first) & (n_end[:, s] >= FLOOR)
        assert np.all(res[keep, s] >= FLOOR - EPS)


def test_reserve_pays_interest_shortfalls_then_the_first_allocation(collapse):
    r = collapse
    t = 30
    res = reserve(r)[:, 0]
    assert collections(r)[t, 0] == 0.0
    assert res[t - 1] == pytest.approx(max(0.015 * f(r, "end_balance")[0, t - 1], FLOOR), abs=1e-6)
    # The Class A interest (A-1 and A-2 are retired) comes from the reserve in full ...
    a_int = 0.0
    for n in ("A-1", "A-2", "A-3", "A-4"):
        i = r.cls(n)
        due = r.begin_balance[t, i, 0] * COUPON[n] / 12
        assert r.interest[t, i, 0] == pytest.approx(due, abs=1e-6)
        a_int += due
    assert a_int > 0
    # ... then the First Allocation (Class A above a pool of zero) takes the rest, which
    # leaves nothing for Class B's interest.
    assert r.principal[t, notes(r), 0].sum() == pytest.approx(res[t - 1] - a_int, abs=1e-6)
    assert r.principal[t, r.cls("A-3"), 0] == pytest.approx(res[t - 1] - a_int, abs=1e-6)
    assert r.interest[t, r.cls("B"), 0] == 0.0
    assert res[t] == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- turbo
def trigger(r, s):
    """(T,) the Cumulative Net Loss Trigger by hand, not cured once it happens."""
    cnl = np.cumsum(f(r, "loss")[s]) / CUTOFF
    period = np.arange(1, r.n_periods + 1)
    limit = np.array([next(v for last, v in CNL_LIMIT if p <= last) for p in period])
    return np.cumsum(cnl > limit) > 0


def test_turbo_pays_principal_from_excess_only_when_the_trigger_is_on(base, stressed):
    # No losses: never a trigger, and the notes stay exactly 15,000,000 below the pool.
    for s in range(4):
        n_end = base.balance[:, notes(base), s].sum(axis=1)
        live = n_end > 0
        np.testing.assert_allclose(n_end[live], f(base, "end_balance")[s, live] - TARGET_OC, rtol=0, atol=1e-6)
    r = stressed
    res, req = reserve(r), required(r)
    for s in range(len(r.speeds)):
        if r.modes[s] != "maturity":
            continue
        on = trigger(r, s)
        assert on.any() and not on[0] and on[11]
        pe = f(r, "end_balance")[s]
        n_begin = r.begin_balance[:, notes(r), s].sum(axis=1)
        n_end = r.balance[:, notes(r), s].sum(axis=1)
        principal = r.principal[:, notes(r), s].sum(axis=1)
        R = r.cash()[:, r.cls("R"), s]
        # Regular Allocation: notes down to the pool less 15,000,000 (no lower).
        regular = np.minimum(n_begin, np.maximum(0.0, n_begin - (pe - TARGET_OC)))
        off = ~on & (n_end > 0)
        assert np.all(principal[off] <= regular[off] + EPS)
        assert np.all(n_end[off] >= pe[off] - TARGET_OC - EPS)
        # With the trigger on, everything left after interest, the regular allocation and
        # the reserve deposit pays principal: Class R gets only what the reserve releases.
        t_on = np.nonzero(on & (n_end > 0.2 * pe) & (n_end > FLOOR))[0]
        assert len(t_on) > 6
        prev = np.concatenate([[0.0], res[:-1, s]])
        coll = collections(r)[:, s]
        interest = r.interest[:, notes(r), s].sum(axis=1)
        assert np.all(coll[t_on] >= interest[t_on])     # no reserve draws for interest
        left = coll - interest
        reg_paid = np.minimum(regular, left)
        deposit = np.minimum(np.maximum(0.0, req[:, s] - prev), left - reg_paid)
        turbo = left - reg_paid - deposit
        np.testing.assert_allclose(principal[t_on], reg_paid[t_on] + turbo[t_on], rtol=0, atol=1e-5)
        np.testing.assert_allclose(R[t_on], np.maximum(0.0, prev[t_on] - req[t_on, s]), rtol=0, atol=1e-5)
        # ... and the notes fall below the pool less the target by the turbo payments.
        paying = t_on[turbo[t_on] > 1.0]
        assert len(paying) > 6
        assert np.all(n_end[paying] < pe[paying] - TARGET_OC - 1.0)


# ---------------------------------------------------------------- clean-up call
def test_clean_up_call_retires_the_notes_when_the_pool_first_reaches_10_percent(base, stressed):
    for r in (base, stressed):
        n_bal = r.balance[:, notes(r), :].sum(axis=1)
        for s in range(len(r.speeds)):
            tc = call_period(r, s)
            pe = f(r, "end_balance")[s]
            assert pe[tc - 1] > 0.10 * CUTOFF >= pe[tc]
            if r.modes[s] == "call":
                assert n_bal[tc - 1, s] > 0 and n_bal[tc, s] == 0.0
                # The whole note balance outstanding after the waterfall is paid from the
                # sale, and Class R receives the rest of the proceeds.
                assert np.all(r.cash()[tc + 1:, notes(r), s] == 0.0)
            else:
                assert n_bal[tc, s] > 0        # to maturity the notes run on


def test_run_deal_prints_the_tables():
    exe = shutil.which("run-deal")
    cmd = [exe] if exe else [sys.executable, "-m", "interpreter"]
    p = subprocess.run(cmd + [str(DEAL)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    for n in NOTES:
        assert f"Class {n} (To Call)" in p.stdout
    assert "WAL (yr)" in p.stdout and "Auto Receivables Owner Trust 2024-A" in p.stdout
