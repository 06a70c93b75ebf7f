"""Scenario grids: parsing, one pass equal to one-at-a-time runs, conservation at scale."""
from pathlib import Path

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.grid import GridError, expand, parse_grid, run_grid

DEALS = Path(__file__).resolve().parents[2] / "deals"


@pytest.fixture(scope="module")
def j4():
    d = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    return d, load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", d)


def test_grid_axes_read_ranges_lists_and_units():
    axes = parse_grid("speed=0..300/100 cdr=0,2.5 severity=35%,50% libor=+0,+100bp")
    assert axes["speed"] == [0.0, 1.0, 2.0, 3.0]
    assert axes["cdr"] == [0.0, 0.025]
    assert axes["severity"] == [0.35, 0.5]
    assert axes["libor"] == [0.0, 0.01]
    flat = expand(axes, ["LIBOR_1M", "LIBOR_6M"])
    assert len(flat["speed"]) == 4 * 2 * 2 * 2


@pytest.mark.parametrize("spec", ["speed", "speed=1..0/0", "speed=5..0/1", "speed=a,b", "speed=1 speed=2", "cmt=+1bp"])
def test_bad_grids_are_refused(spec):
    with pytest.raises(GridError):
        expand(parse_grid(spec), ["LIBOR_1M"])


def test_expand_is_the_product_of_the_axes_in_order():
    import itertools
    axes = parse_grid("speed=0..200/100 cdr=0,2 severity=35%,50% libor=+0,+50bp,+100bp")
    flat = expand(axes, ["LIBOR_1M"])
    want = list(itertools.product(*axes.values()))  # the last axis varies fastest
    got = list(zip(flat["speed"], flat["cdr"], flat["severity"], flat["shift:libor"]))
    assert got == want


def test_a_grid_pass_equals_the_scenarios_run_one_at_a_time(j4):
    deal, a = j4
    speeds = [0.5, 1.0, 2.5]
    cdrs = [0.0, 0.06, 0.02]
    sevs = [0.4, 0.4, 0.6]
    batch = run(deal, a, speeds, to=("auction", "maturity"), cdr=cdrs, severity=sevs)
    for i in range(len(speeds)):
        alone = run(deal, a, [speeds[i]], to=("auction", "maturity"), cdr=[cdrs[i]], severity=[sevs[i]])
        for m in range(2):
            s = m * len(speeds) + i
            for field in ("principal", "interest", "writedown", "carryover_paid", "balance"):
                np.testing.assert_allclose(getattr(batch, field)[:, :, s], getattr(alone, field)[:, :, m],
                                           rtol=0, atol=1e-9, err_msg=f"{field} scenario {s}")
    # The batch really mixes regimes: stepdown (first subordinate principal),
    # the auction date and the losses differ between its scenarios.
    m1 = batch.cls("M-1")
    first_sub = [int(np.argmax(batch.principal[:, m1, s] > 0.01)) for s in range(len(speeds))]
    assert len(set(first_sub)) > 1
    # (to auction: the last period anything is paid is the auction's)
    auction_period = [int(np.nonzero(batch.cash()[:, :, s].sum(axis=1) > 0)[0][-1]) for s in range(len(speeds))]
    assert len(set(auction_period)) > 1


def test_grid_rows_match_single_runs(j4):
    deal, a = j4
    out = run_grid(deal, a, "speed=80,150 cdr=0,5 severity=50%", to=("maturity",), chunk=3)
    cols = out["columns"]
    assert out["n_scenarios"] == 4
    for k in range(len(cols["class"])):
        if cols["class"][k] != "2-A":
            continue
        s = cols["scenario"][k]
        speed = [0.8, 0.8, 1.5, 1.5][s]
        cdr = [0.0, 0.05, 0.0, 0.05][s]
        from interpreter.report.analyze import analyze
        single = [r for r in analyze(run(deal, a, [speed], cdr=[cdr], severity=[0.5])) if r["class"] == "2-A"][0]
        assert cols["wal_years"][k] == pytest.approx(single["wal_years"], abs=1e-9)
        assert cols["dm_bp"][k] == pytest.approx(single["dm_bp"], abs=1e-9)


def test_conservation_in_every_scenario_and_period_of_a_1000_scenario_grid_with_losses(j4):
    deal, a = j4
    grid = expand(parse_grid("speed=0..225/25 cdr=0..18/2 severity=20..60/10"), [])
    assert len(grid["speed"]) == 10 * 10 * 5
    r = run(deal, a, grid["speed"], cdr=grid["cdr"], severity=grid["severity"])  # the engine checks every period
    cash = r.cash().sum(axis=1)  # (T, S)
    collected = sum(f.net_interest + f.principal + f.penalty for f in r.collateral.values()).T
    np.testing.assert_allclose(cash, collected, rtol=0, atol=1e-5)
    assert (r.writedown.sum(axis=(0, 1)) > 0).any()  # the grid does reach the subordinates


def test_a_grid_on_a_local_dask_cluster_returns_the_single_process_results(j4):
    pytest.importorskip("distributed")
    deal, a = j4
    spec = "speed=50,100,200 cdr=0,4 severity=40%"
    here = run_grid(deal, a, spec, chunk=2)
    there = run_grid(deal, a, spec, chunk=2, dask="local")
    assert here["columns"]["class"] == there["columns"]["class"]
    assert here["columns"]["scenario"] == there["columns"]["scenario"]
    for k in ("wal_years", "dm_bp", "yield_pct", "mdur_years", "writedown", "collateral_loss"):
        for x, y in zip(here["columns"][k], there["columns"][k]):
            assert (x is None and y is None) or x == pytest.approx(y, abs=1e-9), k


@pytest.mark.parametrize("spec", ["severity=150%", "speed=-5", "cdr=-1"])
def test_impossible_grid_values_are_refused(spec):
    with pytest.raises(GridError):
        parse_grid(spec)


def test_a_grid_in_two_processes_returns_the_single_process_results(j4):
    deal, a = j4
    spec = "speed=50,100,200 cdr=0,4 severity=40%"
    here = run_grid(deal, a, spec, chunk=2)
    there = run_grid(deal, a, spec, chunk=2, workers=2)
    assert here["columns"]["scenario"] == there["columns"]["scenario"]
    for k in ("wal_years", "dm_bp", "yield_pct", "mdur_years", "writedown"):
        for x, y in zip(here["columns"][k], there["columns"][k]):
            assert (x is None and y is None) or x == pytest.approx(y, abs=1e-12), k


def test_chunk_columns_equal_the_rows_one_by_one(j4):
    """The grid's vectorised columns are exactly what a loop over analyze()'s rows gives."""
    from interpreter.grid import _columns, columns_as_lists, run_chunk
    from interpreter.report.analyze import analyze
    deal, a = j4
    grid = expand(parse_grid("speed=50,150 cdr=0,4 libor=+0,+50bp"), [i.name for i in deal.indices])
    lo = 10
    cols, r = run_chunk(deal, a, grid, lo, to=("auction", "maturity"), keep_result=True)
    got = columns_as_lists(cols)
    m = len(grid["speed"])
    loss_by_period = sum(f.loss for f in r.collateral.values())  # (S, T)
    # a run to an event: the losses until the collateral is sold (the period of the sale included)
    loss = [float(loss_by_period[s, :r.sold_period[s] + 1].sum()) if r.sold_period[s] >= 0
            else float(loss_by_period[s].sum()) for s in range(len(r.modes))]
    assert any(x >= 0 for x in r.sold_period) and any(x < 0 for x in r.sold_period)
    wd = r.writedown.sum(axis=0)
    want = _columns(["shift:libor"])
    for row in analyze(r):
        s = row["scenario"]
        local = s % m
        want["scenario"].append(lo + local)
        want["to"].append(row["to"])
        want["class"].append(row["class"])
        want["speed_pct"].append(row["speed_pct"])
        want["cdr_pct"].append(float(grid["cdr"][local] * 100))
        want["severity_pct"].append(a.severity * 100)
        want["libor_shift_bp"].append(float(grid["shift:libor"][local] * 10000))
        for k in ("price", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period", "last_period"):
            want[k].append(row[k])
        want["writedown"].append(float(wd[r.cls(row["class"]), s]))
        want["collateral_loss"].append(float(loss[s]))
    assert list(got) == list(want)
    for k in want:
        assert [type(x) for x in got[k]] == [type(x) for x in want[k]], k
        if k == "collateral_loss":  # summed in another order: equal to the last bits
            assert got[k] == pytest.approx(want[k], rel=1e-13, abs=1e-9), k
        else:
            assert got[k] == want[k], k
    assert None in got["yield_pct"] and None in got["first_period"]  # floaters, IO classes
    assert len(set(got["scenario"])) == m
