"""Breakeven CDRs (run-deal --breakeven): the class is whole at the breakeven and
written down 0.05 CDR above it, checked through --grid; the input rules."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from interpreter.cli import main

DEALS = Path(__file__).resolve().parents[2] / "deals"
HEL = str(DEALS / "subprime-hel.waterfall")
SEQ = str(DEALS / "sequential-cmo.waterfall")


def _grid_writedowns(capsys, cls, speed, cdrs, severity="40%"):
    spec = f"speed={speed} cdr={','.join(f'{c:.2f}' for c in cdrs)} severity={severity}"
    assert main([HEL, "--grid", spec, "--to", "maturity", "--class", cls]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    return {round(float(r["cdr_pct"]), 2): float(r["writedown"]) for r in rows}


@pytest.fixture(scope="module")
def hel_breakeven():
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([HEL, "--breakeven", "--format", "json", "--speeds", "100,200"]) == 0
    return json.loads(buf.getvalue())


def test_json_rows_carry_the_keys_in_order(hel_breakeven):
    assert hel_breakeven["deal"] == "Subprime Home Equity Loan Trust 2006-HE1"
    rows = hel_breakeven["breakeven"]
    assert [list(r) for r in rows][0] == ["class", "to", "speed_pct", "breakeven_cdr_pct",
                                         "interest_breakeven_cdr_pct", "cum_loss_pct"]
    # every principal class, to the call and to maturity, at each speed
    assert {r["class"] for r in rows} == {"A", "M-1", "M-2", "M-3", "B"}
    assert len(rows) == 5 * 2 * 2
    for r in rows:
        g = r["breakeven_cdr_pct"]
        assert g is None or g == pytest.approx(round(g, 2), abs=1e-9)  # a multiple of 0.01 CDR


@pytest.mark.parametrize("cls", ["A", "M-1", "B"])
def test_the_class_is_whole_at_its_breakeven_and_written_down_just_above(hel_breakeven, capsys, cls):
    row = next(r for r in hel_breakeven["breakeven"]
               if r["class"] == cls and r["to"] == "maturity" and r["speed_pct"] == 100.0)
    be = row["breakeven_cdr_pct"]
    assert be is not None and 0 < be < 100
    wd = _grid_writedowns(capsys, cls, 100, [be, be + 0.05])
    assert wd[round(be, 2)] < 0.005  # whole (at most floating-point dust)
    assert wd[round(be + 0.05, 2)] > 0.005
    # senior breakevens sit above the subordinates'
    if cls == "A":
        sub = next(r for r in hel_breakeven["breakeven"]
                   if r["class"] == "B" and r["to"] == "maturity" and r["speed_pct"] == 100.0)
        assert be > sub["breakeven_cdr_pct"]


def test_interest_breakeven_is_the_last_cdr_without_unpaid_interest_or_a_writedown(hel_breakeven):
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    deal = load_deal(HEL)
    a = load_assumptions(str(DEALS / "subprime-hel.assumptions.yaml"), deal)
    row = next(r for r in hel_breakeven["breakeven"]
               if r["class"] == "M-1" and r["to"] == "maturity" and r["speed_pct"] == 100.0)
    g = row["interest_breakeven_cdr_pct"]
    r = run(deal, a, [1.0, 1.0], to=["maturity"], cdr=[g / 100, (g + 0.01) / 100], severity=[0.4, 0.4])
    unpaid = r.unpaid_interest[:, r.cls("M-1"), :].max(axis=0)
    written = r.writedown_total()[r.cls("M-1")]  # interest on principal written down is never paid
    assert unpaid[0] < 0.005 and written[0] < 0.005
    assert unpaid[1] >= 0.005 or written[1] >= 0.005
    # cumulative loss at the breakeven: the collateral's losses over its cut-off balance
    r = run(deal, a, [1.0], to=["maturity"], cdr=[row["breakeven_cdr_pct"] / 100], severity=[0.4])
    loss = sum(f.loss[0].sum() for f in r.collateral.values())
    assert row["cum_loss_pct"] == pytest.approx(loss / 800_000_000 * 100, rel=1e-9)


def test_a_deal_without_a_severity_is_an_input_error(capsys):
    assert main([SEQ, "--breakeven"]) == 2
    err = capsys.readouterr().err
    assert "--severity" in err and "sequential-cmo.assumptions.yaml" in err


def test_options_are_checked(capsys):
    assert main([SEQ, "--breakeven", "--severity", "40"]) == 2
    assert "has no unit" in capsys.readouterr().err
    assert main([SEQ, "--breakeven", "AA", "--severity", "40%"]) == 2
    assert "unknown class 'AA'" in capsys.readouterr().err
    assert main([SEQ, "--breakeven", "R", "--severity", "40%"]) == 2
    assert "no principal balance" in capsys.readouterr().err


def test_a_deal_without_losses_never_writes_down(capsys):
    """The sequential CMO allocates no losses: no CDR writes a class down ('>100'),
    while its last class is short of interest as soon as loans default."""
    assert main([SEQ, "--breakeven", "--severity", "40%", "--lag", "6", "--speeds", "100", "--format", "json"]) == 0
    rows = {r["class"]: r for r in json.loads(capsys.readouterr().out)["breakeven"]}
    assert all(r["breakeven_cdr_pct"] is None for r in rows.values())
    assert rows["D"]["interest_breakeven_cdr_pct"] == 0.0
    assert main([SEQ, "--breakeven", "D", "--severity", "40%", "--speeds", "100"]) == 0
    assert ">100" in capsys.readouterr().out


def test_unpaid_interest_record_agrees_between_engines():
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    from interpreter.native.build import available
    if not available():
        pytest.skip("no C compiler")
    deal = load_deal(SEQ)
    a = load_assumptions(str(DEALS / "sequential-cmo.assumptions.yaml"), deal)
    kw = dict(to=["maturity"], cdr=[0.0, 0.05, 0.3], severity=[0.4] * 3)
    rc = run(deal, a, [1.0] * 3, engine="c", **kw)
    rn = run(deal, a, [1.0] * 3, engine="numpy", **kw)
    assert rn.unpaid_interest[:, rn.cls("D"), 2].max() > 1000  # not a comparison of zeros
    np.testing.assert_allclose(rc.unpaid_interest, rn.unpaid_interest, rtol=1e-9, atol=1e-6)
    credit = run(deal, a, [1.0] * 3, engine="c", keep="credit", **kw)
    np.testing.assert_array_equal(credit.unpaid_interest, rc.unpaid_interest)
    np.testing.assert_array_equal(credit.writedown_total(), rc.writedown_total())


def test_the_stress_recovery_lag_lengthens_only_runs_with_defaults():
    """J4's longest remaining term is 358 months (group 2) and its assumptions state a
    12-month recovery lag for stress runs: a run without defaults has 358 periods (the
    base tables as before), a run given a CDR 358 + 12, so its last recoveries arrive."""
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    a = load_assumptions(str(DEALS / "cwalt-2004-j4.assumptions.yaml"), deal)
    assert "severity" in a.stated and a.recovery_lag == 12
    assert run(deal, a, [1.0], keep="lean").n_periods == 358
    assert run(deal, a, [1.0], cdr=[0.05], severity=[0.35], keep="credit").n_periods == 370
