"""Invariants: conservation, aggregation, batching, blocks."""

import numpy as np
import pytest

from interpreter.collateral import (
    ArmTerms,
    Curve,
    Line,
    Scenarios,
    aggregate,
    combine,
    project,
)

from .helpers import assert_conserves

FIELDS = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "interest",
    "fee",
    "net_interest",
    "end_balance",
    "gross_wac",
    "net_wac",
    "penalty",
    "delinquent",
)


def mixed_tape(n=60, seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = i % 4
        rem = int(rng.integers(60, 361))
        age = int(rng.integers(0, 360 - rem + 1))
        arm = None
        io = 0
        amort = None
        if kind == 1:
            arm = ArmTerms("L6", 0.0275, 24, 6, 0.03, 0.01, 0.06)
            io = 60 if i % 8 == 1 else 0
        elif kind == 2:
            amort = rem + int(rng.integers(0, 120))
        elif kind == 3:
            arm = ArmTerms("L1Y", 0.0225, 60, 12, 0.05, 0.02, 0.05, floor=0.03, rounding=0.00125)
        out.append(
            Line(
                "A" if i % 3 else "B",
                float(rng.uniform(5e4, 5e5)),
                float(rng.uniform(0.03, 0.08)),
                float(rng.uniform(0.002, 0.005)),
                rem,
                age=age,
                amort_term=amort,
                io_months=io,
                arm=arm,
                penalty_rate=0.02 if i % 5 == 0 else 0.0,
                penalty_months=36 if i % 5 == 0 else 0,
            )
        )
    return out


T = 360
CURVES = {"A": Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12), "B": Curve("PSA", 1.5)}
DEFAULTS = {"A": Curve("SDA", 1.0), "B": Curve("CDR", 0.02)}
PATHS = {"L6": np.linspace(0.01, 0.06, T), "L1Y": np.linspace(0.05, 0.0, T)}
SCEN = Scenarios([0.0, 0.5, 1.0, 2.5], [0.0, 1.0, 3.0, 1.0], [0.0, 0.35, 0.5, 1.0], recovery_lag=6)


@pytest.fixture(scope="module")
def batch():
    return project(mixed_tape(), T, SCEN, CURVES, DEFAULTS, PATHS)


def test_conservation_every_period(batch):
    for f in batch.values():
        assert f.begin_balance.shape == (4, T)
        assert_conserves(f)
        assert np.all(f.end_balance >= -1e-9)
        # nothing is left after the longest maturity
        assert np.all(f.end_balance[:, -1] == 0)
        np.testing.assert_allclose(f.begin_balance[:, 0], f.cutoff_balance, rtol=1e-15)
        np.testing.assert_allclose(f.principal, f.scheduled_principal + f.prepayment + f.recovery)
        np.testing.assert_allclose(f.net_interest, f.interest - f.fee)


def test_total_balance_runoff(batch):
    # cut-off balance = all scheduled + prepaid + defaulted principal
    for f in batch.values():
        total = f.scheduled_principal + f.prepayment + f.default
        np.testing.assert_allclose(total.sum(axis=1), f.cutoff_balance, rtol=1e-12)


def test_scale_zero_means_no_prepayments_or_defaults(batch):
    for f in batch.values():
        assert np.all(f.prepayment[0] == 0)
        assert np.all(f.default[0] == 0)
        assert np.all(f.penalty[0] == 0)


def test_batch_equals_scenarios_alone(batch):
    for i in range(SCEN.n):
        alone = project(mixed_tape(), T, SCEN.take(slice(i, i + 1)), CURVES, DEFAULTS, PATHS)
        for g, f in alone.items():
            for name in FIELDS:
                np.testing.assert_allclose(
                    getattr(f, name)[0], getattr(batch[g], name)[i], rtol=1e-12, atol=1e-12, err_msg=name
                )


def test_scenario_blocks_do_not_change_results(batch):
    small = project(mixed_tape(), T, SCEN, CURVES, DEFAULTS, PATHS, max_block_elements=1)
    for g in batch:
        for name in FIELDS:
            np.testing.assert_allclose(getattr(small[g], name), getattr(batch[g], name), rtol=1e-12, atol=1e-12)


def test_index_path_per_scenario_equals_alone():
    paths = {"L6": np.stack([np.full(T, 0.01), np.full(T, 0.07)]), "L1Y": np.full(T, 0.02)}
    scen = Scenarios([1.0, 1.0], 1.0, 0.4)
    both = project(mixed_tape(), T, scen, CURVES, DEFAULTS, paths)
    for i in range(2):
        p_i = {"L6": paths["L6"][i], "L1Y": paths["L1Y"]}
        alone = project(mixed_tape(), T, scen.take(slice(i, i + 1)), CURVES, DEFAULTS, p_i)
        for g in both:
            np.testing.assert_allclose(alone[g].interest[0], both[g].interest[i], rtol=1e-12)
            np.testing.assert_allclose(alone[g].end_balance[0], both[g].end_balance[i], rtol=1e-12, atol=1e-9)
    assert not np.allclose(both["A"].interest[0], both["A"].interest[1])


@pytest.mark.parametrize("merge", [False, True])
def test_n_identical_loans_equal_one_big_line(merge):
    N = 250
    arm = ArmTerms("L6", 0.0275, 24, 6, 0.03, 0.01, 0.06)
    loan = Line("g", 123_456.78, 0.0575, 0.0035, 340, age=20, io_months=60, arm=arm, penalty_rate=0.01, penalty_months=24)
    big = Line("g", N * 123_456.78, 0.0575, 0.0035, 340, age=20, io_months=60, arm=arm, penalty_rate=0.01, penalty_months=24, count=N)
    scen = Scenarios([0.7, 1.3], [1.0, 2.0], 0.4, recovery_lag=3)
    kw = dict(prepay={"g": Curve("PSA", 2.0)}, default={"g": Curve("SDA", 1.0)}, index_paths={"L6": np.full(T, 0.03)})
    many = project([loan] * N, T, scen, merge=merge, **kw)["g"]
    one = project([big], T, scen, merge=merge, **kw)["g"]
    for name in FIELDS:
        np.testing.assert_allclose(getattr(many, name), getattr(one, name), rtol=1e-9, atol=1e-6, err_msg=name)
    assert many.cutoff_balance == pytest.approx(one.cutoff_balance, rel=1e-12)


def test_aggregate_merges_identical_terms_only():
    a = Line("g", 100.0, 0.05, 0.0, 360)
    b = Line("g", 50.0, 0.05, 0.0, 360, count=2)
    c = Line("g", 70.0, 0.05, 0.0, 359)  # different term
    d = Line("h", 10.0, 0.05, 0.0, 360)  # different group
    out = aggregate([a, c, b, d])
    assert len(out) == 3
    assert out[0] == Line("g", 150.0, 0.05, 0.0, 360, count=3)
    assert out[1] == c and out[2] == d
    # merged and unmerged tapes project to the same group flows
    scen = Scenarios.single(1.0, 1.0, 0.3)
    cur = {"g": Curve("CPR", 0.1), "h": Curve("CPR", 0.2)}
    dflt = {"g": Curve("CDR", 0.01), "h": Curve("CDR", 0.01)}
    p1 = project([a, c, b, d], 360, scen, cur, dflt, merge=False)
    p2 = project(out, 360, scen, cur, dflt, merge=False)
    for g in p1:
        for name in FIELDS:
            np.testing.assert_allclose(getattr(p1[g], name), getattr(p2[g], name), rtol=1e-12, atol=1e-10)


def test_wac_is_beginning_balance_weighted():
    a = Line("g", 300.0, 0.06, 0.005, 360)
    b = Line("g", 100.0, 0.04, 0.002, 12)
    f = project([a, b], 14, Scenarios.single(), {"g": Curve("CPR", 0.0)})["g"]
    assert f.gross_wac[0, 0] == pytest.approx((300 * 0.06 + 100 * 0.04) / 400, rel=1e-14)
    assert f.net_wac[0, 0] == pytest.approx((300 * 0.055 + 100 * 0.038) / 400, rel=1e-14)
    # after b matures the WAC is a's rate
    assert f.gross_wac[0, 12] == pytest.approx(0.06, rel=1e-14)


def test_delinquency_pass_through_and_combine():
    a = Line("A", 300.0, 0.06, 0.005, 360)
    b = Line("B", 100.0, 0.04, 0.002, 360)
    dq = {"A": np.linspace(0, 0.1, 24)}
    out = project([a, b], 24, Scenarios([1.0, 2.0], 1.0, 0.0), {"A": Curve("CPR", 0.1), "B": Curve("CPR", 0.3)}, delinquency=dq)
    assert out["A"].delinquent.shape == (2, 24)
    np.testing.assert_array_equal(out["A"].delinquent[1], dq["A"])
    assert np.all(out["B"].delinquent == 0)
    tot = combine(out)
    np.testing.assert_allclose(tot.begin_balance, out["A"].begin_balance + out["B"].begin_balance)
    assert tot.cutoff_balance == 400.0
    assert tot.gross_wac[0, 0] == pytest.approx(0.055)
    assert_conserves(tot)


def test_scenarios_validation():
    with pytest.raises(ValueError):
        Scenarios([1.0, 2.0], [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError):
        Scenarios(1.0, 1.0, 1.5)
    with pytest.raises(ValueError):
        Scenarios(-1.0, 1.0, 0.5)
    assert Scenarios([1.0, 2.0], 1.0, 0.5).n == 2
