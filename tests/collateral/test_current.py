"""Current lines (collateral.current): the projection's own state after period n,
projected on from there, repeats the uninterrupted projection exactly, on the
numpy path and on the C kernel (the deal state's collateral)."""
from __future__ import annotations

import attrs
import numpy as np
import pytest

from interpreter.collateral import ArmTerms, Curve, GroupFlows, Line, Scenarios, project
from interpreter.collateral.current import current_lines, next_reset
from interpreter.native import build as cbuild

ENGINES = ["numpy"] + (["c"] if cbuild.available() else [])
FIELDS = [f.name for f in attrs.fields(GroupFlows) if f.name not in ("cutoff_balance", "recovery", "delinquent")]
ARM = ArmTerms(index="L6", margin=0.0275, first_reset=24, reset_every=6, initial_cap=0.03, periodic_cap=0.01,
               lifetime_cap=0.06, floor=None, rounding=0.00125)
LINES = [
    Line("1", 1_000_000.0, 0.0625, 0.0025, 353, age=7),
    Line("1", 250_000.0, 0.071, 0.0025, 120, age=60, amort_term=300),  # a balloon
    Line("2", 2_000_000.0, 0.055, 0.00384, 358, age=2, io_months=60, arm=ARM),
    Line("2", 500_000.0, 0.055, 0.00384, 358, age=2, arm=attrs.evolve(ARM, first_reset=36),
         penalty_rate=0.02, penalty_months=36),
]
T = 370
PATHS = {"L6": np.linspace(0.01, 0.07, T)}
PREPAY = {"1": Curve("PSA", rate=1.5), "2": Curve("CPR", vector=(0.06,) * 30 + (0.25,))}
DEFAULT = {"1": Curve("SDA", rate=2.0), "2": Curve("CDR", rate=0.02, basis="deal")}


def _split(engine, n, s):
    sc = Scenarios([1.0, 2.5], [1.0, 0.5], [0.4, 0.3], recovery_lag=6)
    kept = {}
    whole = project(LINES, T, sc, PREPAY, DEFAULT, PATHS, engine=engine, keep_after=(n,), kept=kept)
    lines = current_lines(kept[n], n, s)
    part = project(lines, T - n, sc.take(slice(s, s + 1)), PREPAY, DEFAULT, {k: v[n:] for k, v in PATHS.items()},
                   engine=engine, merge=False, period0=n)
    return whole, part, lines


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("n", [1, 23, 24, 31, 119, 130])
def test_the_lines_after_n_project_on_as_the_uninterrupted_projection(engine, n):
    for s in (0, 1):
        whole, part, _ = _split(engine, n, s)
        for g in whole:
            for f in FIELDS:
                np.testing.assert_array_equal(getattr(part[g], f)[0], getattr(whole[g], f)[s, n:], err_msg=f"{g} {f}")


def test_a_line_moves_on_by_the_periods_run():
    _, _, lines = _split("numpy", 30, 0)
    fixed, balloon, arm6, arm36 = lines
    assert (fixed.age, fixed.remaining_term) == (37, 323)
    assert (balloon.remaining_term, balloon.amort_term) == (90, 270)
    assert arm6.arm.first_reset == 36 and arm6.arm.initial_cap == 0.01  # resets at 24 and 30 are past
    assert arm36.arm.first_reset == 36 and arm36.arm.initial_cap == 0.03  # its first reset still to come
    assert arm6.arm.max_rate == 0.055 + 0.06 and arm6.gross_rate != 0.055  # reset from 5.5%
    assert next_reset(ARM, 24) == 24 and next_reset(ARM, 25) == 30


def test_a_line_without_its_amortization_factor_derives_it():
    _, part, lines = _split("numpy", 24, 0)
    bare = [attrs.evolve(ln, amort_factor=None) for ln in lines]
    sc = Scenarios([1.0], [1.0], [0.4], recovery_lag=6)
    other = project(bare, T - 24, sc, PREPAY, DEFAULT, {k: v[24:] for k, v in PATHS.items()}, engine="numpy",
                    merge=False, period0=24)
    for g in part:  # the factor from the rate and the months left: the same to rounding
        np.testing.assert_allclose(other[g].end_balance, part[g].end_balance, rtol=1e-9)


def test_a_paid_off_line_has_no_remaining_term_and_a_balance_needs_one():
    Line("1", 0.0, 0.06, 0.0, 0)
    with pytest.raises(ValueError, match="remaining_term must be >= 1"):
        Line("1", 10.0, 0.06, 0.0, 0)


@pytest.mark.skipif(len(ENGINES) < 2, reason="no C compiler: one collateral backend")
def test_the_c_kernel_keeps_the_lines_state_the_numpy_path_keeps():
    sc = Scenarios([1.0, 2.5, 0.5], [1.0, 0.5, 2.0], [0.4, 0.3, 0.5], recovery_lag=6)
    kept = {e: {} for e in ENGINES}
    for e in ENGINES:
        project(LINES, T, sc, PREPAY, DEFAULT, PATHS, engine=e, keep_after=(1, 24, 200), kept=kept[e])
    for n in (1, 24, 200):
        c, p = kept["c"][n], kept["numpy"][n]
        assert c.lines == p.lines and c.recovery_lag == p.recovery_lag == 6
        for f in ("balance", "rate", "gm1"):
            np.testing.assert_allclose(getattr(c, f), getattr(p, f), rtol=1e-12, atol=1e-9, err_msg=f"{n} {f}")
