"""Subprime home-equity deal (deals/subprime-hel.waterfall): OC, excess spread,
stepdown, triggers, the cap agreement and the allocation of losses, checked
against hand calculations and invariants of the term sheet."""
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "deals" / "subprime-hel.waterfall"
BASE = yaml.safe_load((ROOT / "deals" / "subprime-hel.assumptions.yaml").read_text())

CERTS = ["A", "M-1", "M-2", "M-3", "B"]
SUBS = ["M-1", "M-2", "M-3", "B"]
MARGIN = {"A": 0.0024, "M-1": 0.0040, "M-2": 0.0062, "M-3": 0.0120, "B": 0.0250}
ORIGINAL = {"A": 628e6, "M-1": 56e6, "M-2": 44e6, "M-3": 24e6, "B": 36e6}
CUTOFF = 800e6
CLOSING = dt.date(2006, 3, 30)
STRIKE = 0.0525
OC_TARGET_PRE = 0.025 * CUTOFF          # 20,000,000 before the Stepdown Date / with a trigger
OC_FLOOR = 0.005 * CUTOFF               # 4,000,000
STEPDOWN_SE = 2 * (CUTOFF - 628e6) / CUTOFF   # twice the initial 21.50% = 43.00%
# Cumulative Loss Trigger percentages by period (the deal's table).
CUM_LOSS_LIMIT = [(24, 1.0), (36, 0.015), (48, 0.0325), (60, 0.05), (72, 0.0625), (10**6, 0.07)]
EPS = 1e-6


@pytest.fixture(scope="module")
def deal():
    return load_deal(DEAL)


def assumptions(deal, tmp, name, **changes):
    doc = dict(BASE)
    doc.update(changes)
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_assumptions(p, deal)


@pytest.fixture(scope="module")
def base(deal):
    """The pricing assumptions at 50%, 100% and 200% of the pricing speed: scenarios 0-2 to
    maturity, 3-5 to the call."""
    a = load_assumptions(ROOT / "deals" / "subprime-hel.assumptions.yaml", deal)
    return run(deal, a, [0.5, 1.0, 2.0], to=("maturity", "call"))


# ---------------------------------------------------------------- helpers (hand formulas on run data)
def idx(r, names):
    return [r.cls(n) for n in names]


def pool(r, what):
    return sum(getattr(f, what) for f in r.collateral.values())  # (S, T)


def accrual_days(r):
    prev = [CLOSING] + list(r.dates[:-1])
    return np.array([(b - a).days for a, b in zip(prev, r.dates)], dtype=float)


def cap_notional(deal):
    """The deal's Cap Agreement notional schedule (the term-sheet input), period -> amount."""
    table = next(t for t in deal.tables if t.name == "cap_notional")
    out = {}
    for row in table.rows:
        if row.last is None:                      # "37+  0": the agreement has ended
            assert float(row.values[0].value) == 0.0 and row.first == 37
            continue
        for p in range(row.first, row.last + 1):
            out[p] = float(row.values[0].value)
    assert sorted(out) == list(range(1, 37))
    return out


def cap_receipts(r, deal):
    """Notional x max(0, LIBOR - 5.25%) x actual days / 360, for periods 1-36 (S, T)."""
    sched = cap_notional(deal)
    notional = np.array([sched.get(t, 0.0) if t <= 36 else 0.0 for t in range(1, r.n_periods + 1)])
    libor = r.index_path["LIBOR_1M"]
    return notional * np.maximum(0.0, libor - STRIKE) * accrual_days(r) / 360.0


def oc_end(r):
    """Loans less certificates at the end of each period (T, S)."""
    return pool(r, "end_balance").T - r.balance[:, idx(r, CERTS), :].sum(axis=1)


def stepdown_rules(r, s, delinquency):
    """(T,) True where the stepdown rules apply, by hand: from the first period >= 37 in
    which the Senior Enhancement Percentage after the principal remittance is >= 43%,
    and no Trigger Event (3-month average 60+ delinquency >= 37.5% of the start-of-period
    Senior Enhancement Percentage, or cumulative losses / cut-off above the schedule)."""
    T = r.n_periods
    a = r.cls("A")
    pb, pe = pool(r, "begin_balance")[s], pool(r, "end_balance")[s]
    prin = pool(r, "principal")[s]
    a_begin = r.begin_balance[:, a, s]
    with np.errstate(divide="ignore", invalid="ignore"):
        se_after = np.where(pe > 0, (pe - np.maximum(0, a_begin - prin)) / np.where(pe > 0, pe, 1), 0.0)
        se_start = np.where(pb > 0, (pb - a_begin) / np.where(pb > 0, pb, 1), 0.0)
    period = np.arange(1, T + 1)
    hit = (period >= 37) & (se_after >= STEPDOWN_SE)
    since = np.cumsum(hit) > 0
    if np.ndim(delinquency):      # a vector by period, the last value held
        d = np.concatenate([delinquency, np.full(max(0, T - len(delinquency)), delinquency[-1])])[:T]
    else:
        d = np.full(T, float(delinquency))
    avg3 = np.array([d[max(0, t - 2): t + 1].mean() for t in range(T)])
    limit = np.array([next(v for last, v in CUM_LOSS_LIMIT if p <= last) for p in period])
    cum_loss = np.cumsum(pool(r, "loss")[s]) / CUTOFF
    trigger = (avg3 >= 0.375 * se_start) | (cum_loss > limit)
    return since & ~trigger, trigger


def check_no_release_without_stepdown(r, s, rules):
    """Where the stepdown rules do not apply (before the Stepdown Date or with a Trigger
    Event) the OC target is 2.50% of the cut-off balance: the OC never ends above it, and
    principal collected is held back from the certificates (released) only to keep the OC
    at exactly that target. While Class A is outstanding the subordinates get no principal."""
    prin = pool(r, "principal")[s]
    paid = r.principal[:, idx(r, CERTS), s].sum(axis=1)
    oc = oc_end(r)[:, s]
    open_ = r.balance[:, idx(r, CERTS), s].sum(axis=1) > 1.0
    pre = ~rules & open_
    assert np.all(oc[pre] <= OC_TARGET_PRE + 1e-5)
    held_back = pre & (paid < prin - EPS)
    np.testing.assert_allclose(oc[held_back], OC_TARGET_PRE, rtol=0, atol=1e-5)
    a_open = pre & (r.balance[:, r.cls("A"), s] > 1.0)
    assert np.all(r.principal[a_open][:, idx(r, SUBS), s] == 0.0)
    return held_back


# ---------------------------------------------------------------- period 1 by hand
def test_first_period_by_hand(deal, tmp_path):
    # One-month LIBOR 5.60% in period 1 (above the 5.25% cap strike), 4.80% after.
    a = assumptions(deal, tmp_path, "p1", indices={"LIBOR_1M": ["5.60%", "4.80%"], "LIBOR_6M": "5.05%"},
                    horizon=60)
    r = run(deal, a, [1.0])
    days = (dt.date(2006, 4, 25) - CLOSING).days
    assert days == 26
    # Collateral interest, net of the 0.52% fees, on the cut-off balances (no defaults):
    # (170m x 8.08% + 30m x 9.73% + 450m x 7.63% + 150m x 7.33%) / 12 = 61,985,000 / 12.
    net_interest = (170e6 * 0.0808 + 30e6 * 0.0973 + 450e6 * 0.0763 + 150e6 * 0.0733) / 12
    assert net_interest == pytest.approx(5_165_416.666667, abs=1e-4)
    assert pool(r, "net_interest")[0, 0] == pytest.approx(net_interest, abs=1e-4)
    # Net WAC Rate = 7.748125% x 30/26 = 8.9401%: above every coupon, so nothing is capped.
    net_wac_rate = 61_985_000 / 800e6 * 30 / 26
    # Each class: original balance x (LIBOR + margin) x 26/360.
    due = {c: ORIGINAL[c] * (0.056 + MARGIN[c]) * days / 360 for c in CERTS}
    assert due["A"] == pytest.approx(628e6 * 0.0584 * 26 / 360)                  # 2,648,764.44
    assert sum(due.values()) == pytest.approx(3_417_555.555556, abs=1e-4)
    for c in CERTS:
        assert 0.056 + MARGIN[c] < net_wac_rate
        assert r.interest[0, r.cls(c), 0] == pytest.approx(due[c], abs=1e-6)
        assert r.rate[0, r.cls(c), 0] == pytest.approx(0.056 + MARGIN[c], abs=1e-12)
    # OC build: the target is 20,000,000 and the OC 12,000,000, so all of the excess
    # interest (1,747,861.11 < 8,000,000) is paid to Class A as extra principal.
    excess = net_interest - sum(due.values())
    assert excess == pytest.approx(1_747_861.111111, abs=1e-4)
    prin = pool(r, "principal")[0, 0]
    assert r.principal[0, r.cls("A"), 0] == pytest.approx(prin + excess, abs=1e-6)
    assert all(r.principal[0, r.cls(c), 0] == 0.0 for c in SUBS)
    assert oc_end(r)[0, 0] == pytest.approx(12_000_000 + excess, abs=1e-5)
    # The cap pays 788,000,000 x (5.60% - 5.25%) x 26/360 = 199,188.89; no carryover is
    # owed, so all of it goes to Class CE, which gets nothing else this period.
    cap = 788e6 * 0.0035 * 26 / 360
    assert cap == pytest.approx(199_188.888889, abs=1e-4)
    assert r.cash()[0, r.cls("CE"), 0] == pytest.approx(cap, abs=1e-6)
    # Prepayment charges go to Class P.
    assert r.cash()[0, r.cls("P"), 0] == pytest.approx(pool(r, "penalty")[0, 0], abs=1e-6)
    assert r.cash()[0, r.cls("P"), 0] > 0


# ---------------------------------------------------------------- the cap agreement
def test_cap_pays_only_when_libor_is_above_the_strike(deal, tmp_path):
    libor = ["4.80%", "5.25%", "5.30%", "6.00%", "5.00%", "7.50%", "5.26%", "4.00%"] * 5   # 40 periods
    a = assumptions(deal, tmp_path, "cap", indices={"LIBOR_1M": libor, "LIBOR_6M": "5.05%"}, horizon=60)
    r = run(deal, a, [1.0])
    # With no accounts, cash to the classes less the collections is the cap's receipt.
    got = r.cash()[:, :, 0].sum(axis=1) - (pool(r, "net_interest") + pool(r, "principal") + pool(r, "penalty"))[0]
    want = cap_receipts(r, deal)[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    lib = r.index_path["LIBOR_1M"][0]
    t = np.arange(1, r.n_periods + 1)
    assert np.all(got[lib <= STRIKE] == pytest.approx(0.0, abs=1e-6))      # at or below the strike: nothing
    assert np.all(got[(lib > STRIKE) & (t <= 36)] > 0)                    # above it: a payment
    assert np.all(np.abs(got[t > 36]) < 1e-6)                             # the schedule ends at 36
    # Period 4 by hand: June 25, 2006 was a Sunday, so the period runs from June 26 to
    # July 25, 29 days: 757,471,000 x (6.00% - 5.25%) x 29/360 = 457,638.73.
    assert got[3] == pytest.approx(457_638.729167, abs=1e-4)


def test_net_wac_cap_binds_and_the_cap_pays_the_carryover(deal, tmp_path):
    # LIBOR 8%: every coupon is above the Net WAC Rate, so each class is paid at the cap
    # and owed the difference as carryover; the cap agreement (8% - 5.25%) pays it first.
    a = assumptions(deal, tmp_path, "hi", indices={"LIBOR_1M": "8.00%", "LIBOR_6M": "8.25%"}, horizon=40)
    r = run(deal, a, [1.0])
    days = accrual_days(r)
    begin = pool(r, "begin_balance")[0]
    net_wac = sum(f.net_wac[0] * f.begin_balance[0] for f in r.collateral.values()) / begin
    cap_rate = net_wac * 30 / days
    for c in CERTS:
        i = r.cls(c)
        np.testing.assert_allclose(r.rate[:, i, 0], np.minimum(0.08 + MARGIN[c], cap_rate), rtol=0, atol=1e-12)
    # Period 1 (26 days) the Net WAC Rate, 7.748125% x 30/26 = 8.94%, is above every
    # coupon but Class B's 10.50%; period 2 (30 days) it is 7.75% or so, below them all.
    assert cap_rate[0] == pytest.approx(0.07748125 * 30 / 26, abs=1e-12)
    assert r.rate[0, r.cls("A"), 0] == pytest.approx(0.0824, abs=1e-12)
    # Period 2: each class is owed (coupon - cap) x begin balance x 30/360 as carryover; the
    # cap receipt (778,317,000 x 2.75% x 30/360 = 1,783,643.13) pays all of it.
    assert days[1] == 30
    receipt = 778_317_000 * 0.0275 * 30 / 360
    assert receipt == pytest.approx(1_783_643.125, abs=1e-6)
    carry = {c: r.begin_balance[1, r.cls(c), 0] * (0.08 + MARGIN[c] - cap_rate[1]) * 30 / 360 for c in CERTS}
    # B was also capped in period 1: its carryover then earns interest at its coupon.
    b1 = 36e6 * (0.105 - cap_rate[0]) * 26 / 360
    carry["B"] += b1 * (1 + 0.105 * 30 / 360) - r.carryover_paid[0, r.cls("B"), 0] * (1 + 0.105 * 30 / 360)
    assert sum(carry.values()) < receipt
    for c in CERTS:
        assert carry[c] > 0
        assert r.carryover_paid[1, r.cls(c), 0] == pytest.approx(carry[c], abs=1e-6)
    assert r.carryover_paid[0, r.cls("B"), 0] == pytest.approx(b1, abs=1e-6)


# ---------------------------------------------------------------- stepdown and triggers
def test_no_stepdown_before_month_37(base):
    r = base
    oc = oc_end(r)
    for s in range(3):
        rules, _ = stepdown_rules(r, s, 0.0)
        assert not rules[:36].any()
        check_no_release_without_stepdown(r, s, rules)
        # Before month 37 the OC only builds, never above the 2.50% target.
        assert np.all(np.diff(oc[:36, s]) >= -EPS)
        assert np.all(oc[:36, s] <= OC_TARGET_PRE + EPS)
    # At the pricing speed the Stepdown Date is month 37: the OC is released down to 5% of
    # the pool in that very period.
    s = 1
    rules, _ = stepdown_rules(r, s, 0.0)
    assert rules[36]
    assert oc[35, s] == pytest.approx(OC_TARGET_PRE, abs=1e-6)
    pe = pool(r, "end_balance")[s]
    assert oc[36, s] == pytest.approx(max(0.05 * pe[36], OC_FLOOR), abs=1e-5)


def check_stepped_down_oc(r, s, rules):
    """With no losses, where the stepdown rules apply (and Class B is outstanding) the OC
    ends at the larger of its stepped-down target (5% of the pool, at least the floor) and
    where it would be if no principal were paid: released down to the target, never below.
    Returns the number of periods checked."""
    oc = oc_end(r)[:, s]
    pe = pool(r, "end_balance")[s]
    bonds_begin = r.begin_balance[:, idx(r, CERTS), s].sum(axis=1)
    live = rules & (r.balance[:, r.cls("B"), s] > 1.0)
    want = np.maximum(np.maximum(0.05 * pe, OC_FLOOR), pe - bonds_begin)
    np.testing.assert_allclose(oc[live], want[live], rtol=0, atol=1e-5)
    return live.sum()


def test_after_stepdown_the_oc_follows_its_stepped_down_target(base):
    for s in range(3):
        rules, _ = stepdown_rules(base, s, 0.0)
        assert check_stepped_down_oc(base, s, rules) > 12


def test_delinquency_trigger_stops_the_stepdown(deal, tmp_path):
    # No delinquencies until period 47, then 40% of the pool 60+ days delinquent.
    delinq = ["0%"] * 47 + ["40%"]
    a = assumptions(deal, tmp_path, "dq", delinquency={"all": delinq}, horizon=120)
    r = run(deal, a, [1.0])
    rules, trigger = stepdown_rules(r, 0, np.array([0.0] * 47 + [0.40]))
    oc = oc_end(r)[:, 0]
    on = np.nonzero(trigger & (np.arange(1, r.n_periods + 1) >= 37))[0]
    assert rules[36] and len(on) > 0 and 48 <= on[0] + 1 <= 50
    # Up to the trigger, the stepdown rules hold ...
    assert check_stepped_down_oc(r, 0, rules) >= on[0] - 36
    # Before the trigger the OC was stepped down; once it is on, no more is released ...
    assert not check_no_release_without_stepdown(r, 0, rules)[on].any()
    assert oc[on[0] - 1] < OC_TARGET_PRE - 1.0
    # ... and the target is 2.50% of the cut-off balance again: excess interest rebuilds it.
    rebuilding = on[(oc[on] < OC_TARGET_PRE - 1.0) & (r.balance[on, r.cls("A"), 0] > 1.0)]
    assert len(rebuilding) > 3
    assert np.all(oc[rebuilding] > oc[rebuilding - 1])
    # The same run without the delinquencies keeps releasing in those periods.
    a0 = assumptions(deal, tmp_path, "dq0", horizon=120)
    r0 = run(deal, a0, [1.0])
    released = pool(r0, "principal")[0] - r0.principal[:, idx(r0, CERTS), 0].sum(axis=1)
    assert released[on].max() > 1e5


def test_cumulative_loss_trigger_keeps_the_pre_stepdown_rules(deal, tmp_path):
    # 6% CDR at 50% severity: cumulative losses pass 3.25% of the cut-off balance by month 37.
    a = assumptions(deal, tmp_path, "cl", defaults={"all": "6% CDR"}, severity="50%", **{"recovery lag": 6},
                    horizon=120)
    r = run(deal, a, [1.0])
    rules, trigger = stepdown_rules(r, 0, 0.0)
    cum = np.cumsum(pool(r, "loss")[0]) / CUTOFF
    assert cum[36] > 0.0325
    assert trigger[36:72].all() and not rules[:72].any()
    check_no_release_without_stepdown(r, 0, rules)


# ---------------------------------------------------------------- losses and conservation
GRID_CDR = [5, 10, 20]
GRID_SEVERITY = [30, 50, 70]


@pytest.fixture(scope="module")
def grid(deal, tmp_path_factory):
    """CDR x severity, each at 50%, 100% and 200% speed, to call and to maturity (200 months:
    every loss scenario has paid down by then). With 5% 60+ delinquency throughout."""
    tmp = tmp_path_factory.mktemp("hel_grid")
    out = {}
    for cdr in GRID_CDR:
        for sev in GRID_SEVERITY:
            a = assumptions(deal, tmp, f"g{cdr}_{sev}", defaults={"all": f"{cdr}% CDR"}, severity=f"{sev}%",
                            delinquency={"all": "5%"}, horizon=200, **{"recovery lag": 6})
            out[(cdr, sev)] = run(deal, a, [0.5, 1.0, 2.0], to=("call", "maturity"))
    return out


def collections(r, deal):
    """(T, S) cash into the deal: collateral net interest, principal and prepayment charges
    plus the cap receipts; in a run to the call, the sale of the loans in the call period
    (the performing ones at their balance, the defaulted ones at the recoveries still to
    come: defaults less losses less recoveries received) and nothing after it."""
    coll = (pool(r, "net_interest") + pool(r, "principal") + pool(r, "penalty") + cap_receipts(r, deal)).T
    pe = pool(r, "end_balance").T
    to_come = np.maximum(np.cumsum(pool(r, "default") - pool(r, "loss") - pool(r, "recovery"), axis=1), 0.0).T
    for s, mode in enumerate(r.modes):
        if mode == "call":
            tc = int(np.nonzero(pe[:, s] <= 0.10 * CUTOFF)[0][0])
            coll[tc, s] += pe[tc, s] + to_come[tc, s]
            coll[tc + 1:, s] = 0.0
    return coll


def test_money_is_conserved_every_period_in_every_scenario(deal, base, grid):
    for r in [base] + list(grid.values()):
        np.testing.assert_allclose(r.cash().sum(axis=1), collections(r, deal), rtol=0, atol=1e-5)


def test_losses_write_down_b_then_m3_then_m2_then_m1(grid):
    order = ["B", "M-3", "M-2", "M-1"]
    written = set()
    for r in grid.values():
        wd, bal = r.writedown, r.balance
        for j, c in enumerate(order):
            i = r.cls(c)
            for junior in order[:j]:
                # A class is written down only once every class below it is gone.
                hit = wd[:, i, :] > 0
                assert np.all(bal[:, r.cls(junior), :][hit] == 0.0), (c, junior)
            if wd[:, i, :].sum() > 0:
                written.add(c)
        # Write-downs only remove the certificates' excess over the loans, counting the
        # defaulted loans whose recoveries are still to come (default - loss - recoveries so far).
        certs = r.balance[:, idx(r, CERTS), :].sum(axis=1)
        pending = np.cumsum(pool(r, "default") - pool(r, "loss") - pool(r, "recovery"), axis=1)
        pe = (pool(r, "end_balance") + np.maximum(pending, 0.0)).T
        alive = np.array([m == "maturity" for m in r.modes])
        assert np.all(certs[:, alive] <= pe[:, alive] + 1e-5)
        hit = r.writedown.sum(axis=1)[:, alive] > 0
        np.testing.assert_allclose(certs[:, alive][hit], pe[:, alive][hit], rtol=0, atol=1e-5)
    assert written == set(order)          # the grid's worst cases reach M-1


def test_principal_rules_hold_under_losses(grid):
    for (cdr, sev), r in grid.items():
        for s in range(len(r.speeds)):
            if r.modes[s] != "maturity":
                continue
            rules, _ = stepdown_rules(r, s, 0.05)
            check_no_release_without_stepdown(r, s, rules)


# ---------------------------------------------------------------- call
def test_call_retires_the_certificates_and_margins_step_up_after_it(base):
    r = base
    pe = pool(r, "end_balance")
    certs = r.balance[:, idx(r, CERTS), :].sum(axis=1)
    for s_mat, s_call in [(0, 3), (1, 4), (2, 5)]:
        assert r.modes[s_mat] == "maturity" and r.modes[s_call] == "call"
        tc = int(np.nonzero(pe[s_call] <= 0.10 * CUTOFF)[0][0])
        assert certs[tc - 1, s_call] > 0 and certs[tc, s_call] == 0.0     # to call: retired in that period
        assert np.all(r.cash()[tc + 1:, :, s_call] == 0.0)                # and nothing is paid after it
        assert certs[tc, s_mat] > 0                                       # to maturity: still outstanding
        # The call date passes in both: Class A's margin is 0.48% from the next period on.
        a = r.cls("A")
        if r.balance[tc, a, s_mat] > 0:
            assert r.rate[tc, a, s_mat] == pytest.approx(0.048 + 0.0024, abs=1e-12)
            assert r.rate[tc + 1, a, s_mat] == pytest.approx(0.048 + 0.0048, abs=1e-12)
        b = r.cls("B")
        assert r.rate[tc + 1, b, s_mat] == pytest.approx(min(0.048 + 0.0375, r.cap[tc + 1, b, s_mat]), abs=1e-12)
        assert r.rate[tc, b, s_mat] == pytest.approx(min(0.048 + 0.0250, r.cap[tc, b, s_mat]), abs=1e-12)
