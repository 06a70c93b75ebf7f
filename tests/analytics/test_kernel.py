"""The compiled analytics kernel against the numpy functions, on J4 runs and on synthetic
flows: the same figures (yields and margins to 1e-10), whatever the scenarios share the
batch with, and whatever the memory layout of the run's arrays."""
from pathlib import Path

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter import analytics as AN
from interpreter.analytics import batch as AB
from interpreter.native import build as cbuild
from interpreter.native import fixed
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.report.analyze import Rows, analyze

DEALS = Path(__file__).resolve().parents[2] / "deals"
needs_cc = pytest.mark.skipif(AB._kernel() is None, reason="no C compiler: only the numpy path runs")
TOL = {"yield_pct": 1e-10 * 100, "dm_bp": 1e-10 * 10000, "wal_years": 1e-12, "mdur_years": 1e-10,
       "price": 1e-12, "mortgage_yield_pct": 1e-10 * 100, "macaulay_years": 1e-10, "convexity": 1e-8}


@pytest.fixture(scope="module")
def j4_run():
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    a = load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal)
    speeds = [0.0, 0.3, 0.8, 1.0, 1.5, 2.5]
    return run(deal, a, speeds, to=("auction", "maturity"), cdr=[0, 0.02, 0.05, 0, 0.1, 0.03],
               severity=[0.4] * 6)


def assert_same_rows(got, want):
    assert len(got) == len(want)
    for x, y in zip(got, want):
        assert x.keys() == y.keys()
        for k in x:
            if k in TOL and x[k] is not None and y[k] is not None:
                assert x[k] == pytest.approx(y[k], abs=TOL[k], rel=0), (k, x["class"], x["scenario"])
                if k in ("yield_pct", "dm_bp", "wal_years", "mdur_years"):
                    digits = 0 if k == "dm_bp" else 2
                    assert round(x[k], digits) == round(y[k], digits), (k, x[k], y[k])
            else:
                assert x[k] == y[k] and type(x[k]) is type(y[k]), (k, x["class"], x["scenario"], x[k], y[k])


@needs_cc
def test_kernel_and_numpy_give_the_same_rows_on_j4(j4_run):
    assert_same_rows(list(analyze(j4_run, compiled=True)), list(analyze(j4_run, compiled=False)))


@needs_cc
def test_kernel_and_numpy_agree_when_priced_at_yields_margins_and_odd_prices(j4_run):
    kw = dict(prices={"1-A-2": 99.5, "M-1": 97.25}, default_price=101.0, yields={"1-A-3": 0.04},
              dms={"1-A-1": 0.003})
    assert_same_rows(list(analyze(j4_run, **kw, compiled=True)), list(analyze(j4_run, **kw, compiled=False)))


def test_without_a_compiler_analyze_runs_on_numpy(j4_run, monkeypatch):
    monkeypatch.setenv("WATERFALL_ENGINE", "numpy")
    assert cbuild.load("analytics", fixed.source("analytics"), warn=True) is None
    rows = analyze(j4_run)
    assert_same_rows(list(rows), list(analyze(j4_run, compiled=False)))


@needs_cc
def test_a_scenario_figures_do_not_depend_on_the_batch(j4_run, monkeypatch):
    """Each scenario alone (and in two-thread batches) equals it in the batch, exactly."""
    monkeypatch.setattr(AB, "_THREAD_MIN", 1)  # threads even for a small batch
    both = list(analyze(j4_run))
    S = len(j4_run.modes)
    for s in (0, 3, 7):
        alone = _select(j4_run, [s])
        for row in analyze(alone):
            ref = both[[i for i, r in enumerate(both) if r["class"] == row["class"]][0] + s]
            assert {k: v for k, v in row.items() if k != "scenario"} == \
                {k: v for k, v in ref.items() if k != "scenario"}
    assert S == 12


def _select(r, idx):
    """The run restricted to scenarios `idx` (a new RunResult)."""
    import attrs
    idx = np.asarray(idx)
    fields = {}
    for f in attrs.fields(type(r)):
        v = getattr(r, f.name)
        if isinstance(v, np.ndarray) and v.ndim == 3:
            v = np.ascontiguousarray(v[:, :, idx])
        elif f.name == "speeds":
            v = v[idx]
        elif f.name == "modes":
            v = tuple(v[i] for i in idx)
        elif f.name == "index_path":
            v = {k: a[idx] for k, a in v.items()}
        elif f.name == "writedowns" and v is not None:  # (C, S) totals
            v = v[:, idx]
        fields[f.name] = v
    return attrs.evolve(r, **fields)


@needs_cc
def test_the_kernel_reads_transposed_views_of_scenario_major_arrays(j4_run):
    """(T, C, S) views of (S, T, C) arrays, as the engine may hand them over."""
    import attrs
    fields = {}
    for name in ("interest", "principal", "carryover_paid", "loss_reimbursed", "rate"):
        a = getattr(j4_run, name)
        fields[name] = np.ascontiguousarray(a.transpose(2, 0, 1)).transpose(1, 2, 0)
        assert not fields[name].flags.c_contiguous
    fields["index_path"] = {k: np.asfortranarray(v) for k, v in j4_run.index_path.items()}
    t = attrs.evolve(j4_run, **fields)
    assert list(analyze(t)) == list(analyze(j4_run))


def _synthetic(S=40, n=120, seed=3):
    rng = np.random.default_rng(seed)
    prin = np.where(rng.random((n, S)) < 0.7, rng.random((n, S)) * 1e5, 0.0)
    prin[:5, : S // 2] = 0.0
    prin[:, 0] = 0.0                        # no principal: no window, WAL NaN
    inter = np.abs(rng.normal(2e3, 5e2, (n, S)))
    inter[:, 1] = 0.0
    prin[:, 1] = 0.0                        # no cash at all: NaN yields
    zero = np.zeros((n, S))
    carry = zero.copy()
    carry[10, 2] = -50.0                    # a negative flow: the bracketed search decides
    prin[7, 3] = 0.0055                     # half a cent rounds up to a paid cent
    prin[8, 3] = 0.0049
    days = np.array([30 * (k + 1) - 5 + (k % 3) for k in range(n)], dtype=float)
    years = days / 360.0
    acc = np.diff(np.concatenate([[0.0], days]))
    idx = 0.01 + 0.02 * rng.random((S, n))
    price = np.full(S, 100.0)
    price[4] = -5.0                         # no yield can reach a negative price
    price[5] = np.nan
    price[6] = 1e4                          # far from par
    return (inter, prin, carry, zero), years, acc, idx, price


@needs_cc
@pytest.mark.parametrize("kind", ["fixed", "floater"])
def test_kernel_and_numpy_agree_on_synthetic_flows_and_edge_cases(kind):
    comps, years, acc, idx, price = _synthetic()
    times = years if kind == "fixed" else np.cumsum(acc) / 360.0
    ci = AN.ClassInputs(comps, 2.5e6, years, kind, price, times, idx, acc)
    (c,) = AN.class_measures([ci], compiled=True)
    (p,) = AN.class_measures([ci], compiled=False)
    np.testing.assert_array_equal(c.first, p.first)
    np.testing.assert_array_equal(c.last, p.last)
    np.testing.assert_allclose(c.wal, p.wal, rtol=1e-13, atol=0)
    for f in ("yld", "dm", "mdur"):
        a, b = getattr(c, f), getattr(p, f)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=f)
    assert np.isnan(c.wal[0]) and c.first[0] == -1
    assert np.isnan(c.yld[1]) and np.isnan(c.yld[4]) and np.isnan(c.yld[5])
    assert c.first[3] == 5 and np.isfinite(c.yld[6])


def test_rows_are_a_sequence_of_dicts_made_once(j4_run):
    rows = analyze(j4_run, compiled=False)
    assert isinstance(rows, Rows)
    assert len(rows) == len(list(rows)) == 12 * 12
    assert rows[0] is rows[0] and rows[-1] is rows[len(rows) - 1]
    assert rows[2:4] == [rows[2], rows[3]]
    with pytest.raises(IndexError):
        rows[len(rows)]
    cols = rows.columns()
    assert cols["class"].tolist() == [r["class"] for r in rows]
    assert [None if np.isnan(x) else x for x in cols["yield_pct"]] == [r["yield_pct"] for r in rows]
