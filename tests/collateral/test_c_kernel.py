"""The compiled collateral kernel (interpreter.collateral.c_backend) against the numpy path.

Both compute the same formulas in the same order; these tests hold them equal
to 1e-9 relative (1e-6 absolute dollars) over randomised pools, curves and
scenarios, for every lane width the CPU runs and for one and two threads.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from interpreter.collateral import c_backend as collateral_c
from interpreter.native import build as cbuild
from interpreter.collateral import ArmTerms, Curve, GroupFlows, Line, Scenarios, load_tape, project

pytestmark = pytest.mark.skipif(not cbuild.available(), reason="no C compiler (or WATERFALL_ENGINE=numpy)")

ROOT = Path(__file__).resolve().parents[2]
FIELDS = [f.name for f in attrs.fields(GroupFlows) if f.name != "cutoff_balance"]


def assert_same(c: dict, n: dict) -> None:
    """Every field of every group equal to 1e-9 relative / 1e-6 absolute."""
    assert c.keys() == n.keys()
    for g in n:
        assert c[g].cutoff_balance == n[g].cutoff_balance
        for name in FIELDS:
            a, b = getattr(c[g], name), getattr(n[g], name)
            assert a.shape == b.shape, (g, name)
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6, err_msg=f"group {g} {name}")


@pytest.fixture(params=["widest", "narrow", "threads"])
def kernel_mode(request, monkeypatch):
    """Run the C path with the CPU's widest kernel, the 2-lane kernel, or forced onto 2 threads."""
    if request.param == "narrow":
        monkeypatch.setattr(collateral_c, "WIDTH", 2)
    elif request.param == "threads":
        monkeypatch.setattr(collateral_c, "THREAD_MIN_WORK", 0)
    return request.param


def both(*args, **kw):
    return project(*args, engine="c", **kw), project(*args, engine="numpy", **kw)


# --------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------
rates = st.one_of(st.just(0.0), st.floats(0.0005, 0.15))
small = st.floats(0.0, 0.06)


@st.composite
def arms(draw):
    return ArmTerms(
        index=draw(st.sampled_from(["L6", "L1Y"])),
        margin=draw(small),
        first_reset=draw(st.integers(0, 96)),
        reset_every=draw(st.integers(1, 12)),
        initial_cap=draw(small),
        periodic_cap=draw(small),
        lifetime_cap=draw(small),
        floor=draw(st.one_of(st.none(), small)),
        rounding=draw(st.one_of(st.none(), st.sampled_from([0.00125, 0.0025, 0.01]))),
    )


@st.composite
def lines(draw):
    rem = draw(st.integers(1, 360))
    return Line(
        group=draw(st.sampled_from(["A", "B", "C"])),
        balance=draw(st.one_of(st.just(0.0), st.floats(1.0, 5e7))),
        gross_rate=draw(rates),
        fee_rate=draw(st.floats(0.0, 0.01)),
        remaining_term=rem,
        age=draw(st.integers(0, 120)),
        amort_term=draw(st.one_of(st.none(), st.integers(rem, rem + 240))),
        io_months=draw(st.integers(0, 120)),
        arm=draw(st.one_of(st.none(), arms())),
        penalty_rate=draw(st.one_of(st.just(0.0), st.floats(0.0, 0.05))),
        penalty_months=draw(st.integers(0, 60)),
    )


basis = st.sampled_from(["age", "deal"])
vectors = st.lists(st.floats(0.0, 0.5), min_size=1, max_size=40)


@st.composite
def prepay_curves(draw):
    kind = draw(st.sampled_from(["CPR", "SMM", "PSA", "PPC", "ABS", "CPRv", "SMMv"]))
    b = draw(basis)
    if kind == "CPR":
        return Curve("CPR", draw(st.floats(0.0, 1.0)), basis=b)
    if kind == "SMM":
        return Curve("SMM", draw(st.floats(0.0, 0.3)), basis=b)
    if kind == "PSA":
        return Curve("PSA", draw(st.floats(0.0, 6.0)), basis=b)
    if kind == "PPC":
        return Curve(
            "PPC",
            ramp_start=draw(st.floats(0.0, 0.3)),
            ramp_end=draw(st.floats(0.0, 0.6)),
            ramp_months=draw(st.integers(1, 36)),
            basis=b,
        )
    if kind == "ABS":
        return Curve("ABS", draw(st.floats(0.0, 0.05)), basis=b)
    return Curve(kind[:3], vector=draw(vectors), basis=b)


@st.composite
def default_curves(draw):
    kind = draw(st.sampled_from(["CDR", "MDR", "SDA", "CDRv", "MDRv"]))
    b = draw(basis)
    if kind == "CDR":
        return Curve("CDR", draw(st.floats(0.0, 0.5)), basis=b)
    if kind == "MDR":
        return Curve("MDR", draw(st.floats(0.0, 0.05)), basis=b)
    if kind == "SDA":
        return Curve("SDA", draw(st.floats(0.0, 10.0)), basis=b)
    return Curve(kind[:3], vector=draw(st.lists(st.floats(0.0, 0.3), min_size=1, max_size=40)), basis=b)


@st.composite
def cases(draw):
    ls = draw(st.lists(lines(), min_size=1, max_size=12))
    groups = sorted({ln.group for ln in ls})
    T = draw(st.integers(1, 400))
    S = draw(st.integers(1, 11))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scen = Scenarios(
        rng.uniform(0.0, 3.0, S) if draw(st.booleans()) else [draw(st.floats(0.0, 3.0))],
        rng.uniform(0.0, 3.0, S),
        rng.uniform(0.0, 1.0, S),
        recovery_lag=draw(st.integers(0, 30)),
    )
    prepay = {g: draw(prepay_curves()) for g in groups}
    default = {g: draw(default_curves()) for g in groups} if draw(st.booleans()) else None
    paths = {
        "L6": rng.uniform(0.0, 0.1, (S, T)) if draw(st.booleans()) else rng.uniform(0.0, 0.1, T + 5),
        "L1Y": rng.uniform(0.0, 0.1, (S, T + 3)),
    }
    dq = {groups[0]: rng.uniform(0.0, 0.2, T)} if draw(st.booleans()) else None
    return ls, T, scen, prepay, default, paths, dq


# Found by hypothesis: rate 0 + a lifetime cap of machine epsilon.  The annuity factor
# r / ((1 + r)^n - 1) from 1 + 6.3e-15 rounded by exp: numpy's and libm's exp differ in
# the last bit there, and the engines' scheduled principal by 3.4% (both ~2% off).
EPS_ARM_CASE = (
    [Line("A", 1.0, 0.0, 0.0, 343, arm=ArmTerms("L6", 0.0, 0, 1, 0.0, 0.03125, 2.220446049250313e-16))],
    2,
    Scenarios([1.91088506], [0.80936014], [0.04097352]),
    {"A": Curve("CPR", 0.0)},
    None,
    {"L6": np.array([0.00165276, 0.08132702, 0.09127556]), "L1Y": np.zeros((1, 5))},
    None,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=cases())
@example(case=EPS_ARM_CASE)
def test_random_pools_match_numpy(case, kernel_mode):
    ls, T, scen, prepay, default, paths, dq = case
    assert_same(*both(ls, T, scen, prepay, default, paths, dq))


@pytest.mark.parametrize("lag", [0, 4, 500])
def test_every_feature_at_once(kernel_mode, lag):
    """Fixed, balloon, IO, hybrid ARMs with caps / floors / rounding, penalties,
    age- and deal-based curves in three groups, over 13 scenarios (a partial
    last block of lanes) and a recovery lag (500: beyond the horizon)."""
    T, S = 360, 13
    rng = np.random.default_rng(3)
    ls = [
        Line("F", 3e6, 0.0625, 0.0025, 353, age=7, penalty_rate=0.03, penalty_months=36),
        Line("F", 2e6, 0.0, 0.0, 120, age=0),  # zero rate: principal B / n
        Line("F", 1e6, 0.07, 0.003, 84, age=12, amort_term=348),  # balloon
        Line("I", 4e6, 0.055, 0.00384, 358, age=2, io_months=60),
        Line("I", 5e6, 0.05, 0.004, 300, age=30, io_months=120, amort_term=330),
        Line("R", 6e6, 0.045, 0.0035, 358, age=2, io_months=60,
             arm=ArmTerms("L6", 0.0275, 24, 6, 0.03, 0.01, 0.06, floor=0.0275)),
        Line("R", 7e6, 0.05, 0.0035, 357, age=3,
             arm=ArmTerms("L1Y", 0.0225, 60, 12, 0.05, 0.02, 0.05, rounding=0.00125)),
        Line("R", 1e6, 0.06, 0.0035, 200, age=40,
             arm=ArmTerms("L6", 0.02, 24, 6, 0.02, 0.01, 0.05, floor=0.04, rounding=0.0025)),
    ]  # fmt: skip
    scen = Scenarios(rng.uniform(0, 3, S), rng.uniform(0, 3, S), rng.uniform(0, 1, S), recovery_lag=lag)
    prepay = {
        "F": Curve("PSA", 1.5),
        "I": Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12),
        "R": Curve("CPR", vector=[0.05, 0.1, 0.2, 0.3, 0.25], basis="deal"),
    }
    default = {"F": Curve("SDA", 2.0), "I": Curve("CDR", 0.02, basis="deal"), "R": Curve("MDR", vector=[0.001, 0.002])}
    paths = {"L6": np.linspace(0.01, 0.09, T)[None, :] + rng.uniform(0, 0.01, (S, 1)), "L1Y": np.full(T, 0.0128625)}
    dq = {"I": rng.uniform(0, 0.1, (S, T))}
    assert_same(*both(ls, T, scen, prepay, default, paths, dq))


def test_abs_and_smm_curves(kernel_mode):
    ls = [Line("auto", 1e6, 0.08, 0.01, 60, age=a) for a in (0, 5, 20)]
    T, S = 60, 9
    for curve in (Curve("ABS", 0.015), Curve("ABS", 0.04, basis="deal"), Curve("SMM", 0.02), Curve("SMM", vector=[0.01, 0.5])):
        scen = Scenarios(np.linspace(0, 4, S), 1.0, 0.5)
        assert_same(*both(ls, T, scen, {"auto": curve}, {"auto": Curve("CDR", 0.05)}))


@pytest.mark.parametrize("n_lines", [9, 17, 300])
def test_large_groups_sum_like_numpy(kernel_mode, n_lines):
    """Groups past 8 and 129 lines (numpy's pairwise summation kicks in)."""
    rng = np.random.default_rng(n_lines)
    ls = [
        Line("g", float(rng.uniform(1e4, 1e6)), float(rng.uniform(0.03, 0.09)), 0.0025, int(rng.integers(60, 361)),
             age=int(rng.integers(0, 60)), penalty_rate=0.01, penalty_months=24)
        for _ in range(n_lines)
    ]  # fmt: skip
    scen = Scenarios(np.linspace(0.5, 2, 5), np.linspace(0, 2, 5), 0.4, recovery_lag=3)
    assert_same(*both(ls, 360, scen, {"g": Curve("PSA", 1.0)}, {"g": Curve("SDA", 1.0)}))


def test_loan_tape(kernel_mode, tmp_path):
    """A CSV tape of distinct loans (the collateral benchmark's tape generator)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from collateral import make_tape, write_tape  # benchmarks/collateral.py
    finally:
        sys.path.pop(0)
    path = tmp_path / "tape.csv"
    write_tape(make_tape(400, seed=11), str(path))
    tape = load_tape(path)
    T = 360
    scen = Scenarios([0.5, 1.0, 2.0], [1.0, 0.0, 2.0], 0.35, recovery_lag=6)
    prepay = {"1": Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12), "2": Curve("CPR", 0.25)}
    default = {"1": Curve("SDA", 1.0), "2": Curve("CDR", 0.01)}
    paths = {"LIBOR_6M": np.full(T, 0.01145), "LIBOR_1Y": np.full(T, 0.0128625)}
    assert_same(*both(tape, T, scen, prepay, default, paths))


@pytest.fixture(scope="module")
def j4():
    from dsl.check import load_deal
    from interpreter import engine as E
    from interpreter.assumptions import load_assumptions

    deal = load_deal(ROOT / "deals" / "cwalt-2004-j4.waterfall")
    a = load_assumptions(ROOT / "deals" / "cwalt-2004-j4.assumptions.yaml", deal)
    return deal, a, E.horizon(deal, a)


@pytest.mark.parametrize("S", [1, 3, 10, 257])
def test_j4_lines(j4, kernel_mode, S):
    """CWALT 2004-J4's own lines (fixed group 1, hybrid ARMs with IO in group 2)."""
    from interpreter import engine as E

    deal, a, T = j4
    rng = np.random.default_rng(S)
    speeds, cdr, sev = np.linspace(0, 3, S), np.linspace(0, 0.1, S), np.full(S, 0.4)
    paths = {k: rng.uniform(0.0, 0.08, (S, T)) for k in ["LIBOR_1M", "LIBOR_6M", "LIBOR_1Y", "CMT_1Y"]}
    prepay = {"1": Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12), "2": Curve("CPR", 0.25)}
    default = {g: Curve("CDR", 1.0) for g in ("1", "2")}
    scen = Scenarios(speeds, cdr, sev, recovery_lag=a.recovery_lag)
    assert_same(*both(list(a.lines), T, scen, prepay, default, paths))
    # and through the engine's entry point (its own curves and delinquency)
    c = E.project_collateral(deal, a, speeds, T, paths, cdr, sev)
    n = project(list(a.lines), T, scen, prepay, default, paths, engine="numpy")
    assert_same(c, n)


def test_no_defaults_no_prepay_curves(kernel_mode):
    ls = [Line("g", 1e6, 0.06, 0.0025, 120, age=3, penalty_rate=0.02, penalty_months=12)]
    scen = Scenarios([0.0, 1.0], [0.0, 1.0], 0.3)
    assert_same(*both(ls, 130, scen, {"g": Curve("CPR", 0.0)}, None))
    assert_same(*both(ls, 130, scen, {"g": Curve("CPR", 0.1)}, {"g": Curve("CDR", 0.0)}))


def test_numpy_fallback_when_disabled(monkeypatch):
    """WATERFALL_ENGINE=numpy: no kernel, project() runs numpy; engine='c' refuses."""
    ls = [Line("g", 1e6, 0.06, 0.0025, 60)]
    scen = Scenarios.single(1.0)
    want = project(ls, 60, scen, {"g": Curve("CPR", 0.1)}, engine="numpy")
    monkeypatch.setenv("WATERFALL_ENGINE", "numpy")
    assert collateral_c.library() is None
    got = project(ls, 60, scen, {"g": Curve("CPR", 0.1)})
    assert_same(got, want)
    with pytest.raises(RuntimeError, match="unavailable"):
        project(ls, 60, scen, {"g": Curve("CPR", 0.1)}, engine="c")
    with pytest.raises(ValueError, match="engine"):
        project(ls, 60, scen, {"g": Curve("CPR", 0.1)}, engine="fortran")


def test_kernel_widths():
    assert 2 in collateral_c.widths()
    with pytest.raises(ValueError, match="lane"):
        collateral_c.run(None, 1, None, [], [], [], width=3)
