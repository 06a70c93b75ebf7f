"""The compiled engine (the deal translated to C) against the numpy engine.

Both run the same deal over the same scenarios; every record of the run (cash
by kind, balances, rates, caps, notionals, accounts, contracts, the clause
ledger, the sale period) must agree. The numpy engine is the reference: it is
the one the term-sheet tests were written against."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.check import check, load_deal
from dsl.parse import parse
from interpreter.native import build as cbuild
from interpreter.assumptions import load_assumptions
from interpreter.engine import RunError, run

from ..conftest import DEALS
from ..support import YAML, assert_same, deals

pytestmark = pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")


BUNDLED = ["sequential-cmo", "cwalt-2004-j4", "agency-cmo", "prime-jumbo", "subprime-hel", "auto-abs"]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_deal_same_as_numpy_engine(name):
    deal = load_deal(DEALS / f"{name}.waterfall")
    a = load_assumptions(DEALS / f"{name}.assumptions.yaml", deal)
    to = ("maturity",) + tuple(e.name for e in deal.events if e.retires)
    speeds = [0.0, 0.5, 1.0, 2.0, 4.0]
    cdr = [0.0, 0.02, 0.06, 0.10, 0.25]
    sev = [0.35, 0.45, 0.60, 0.20, 0.80]
    for kw in ({}, {"cdr": cdr, "severity": sev}):
        rc = run(deal, a, speeds, to=to, engine="c", **kw)
        rn = run(deal, a, speeds, to=to, engine="numpy", **kw)
        assert_same(rc, rn)


def test_j4_grid_with_differing_stepdown_trigger_and_auction():
    """Scenarios in one pass that differ in stepdown date, trigger state and
    auction date: each equals its own single-scenario numpy run."""
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    a = load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal)
    import attrs
    a = attrs.evolve(a, parameters={**a.parameters, "cum_loss_37": 0.002, "cum_loss_49": 0.004,
                                    "cum_loss_61": 0.006, "cum_loss_73": 0.008, "cum_loss_85": 0.01})
    speeds, cdr, sev = [0.5, 1.0, 1.5, 3.0], [0.0, 0.01, 0.04, 0.08], [0.3, 0.4, 0.5, 0.6]
    rc = run(deal, a, speeds, to=("auction", "maturity"), cdr=cdr, severity=sev, engine="c")
    assert len(set(rc.sold_period[:4])) > 1  # the auction falls in different periods
    for i in range(4):
        for j, mode in enumerate(("auction", "maturity")):
            rn = run(deal, a, [speeds[i]], to=(mode,), cdr=[cdr[i]], severity=[sev[i]], engine="numpy")
            k = j * 4 + i
            for f in ("interest", "principal", "balance", "writedown", "carryover_paid"):
                np.testing.assert_allclose(getattr(rc, f)[:, :, k], getattr(rn, f)[:, :, 0], rtol=1e-12, atol=1e-7,
                                           err_msg=f"{f} scenario {k}")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=deals(), cdr=st.sampled_from(["0% CDR", "3% CDR", "15% CDR", "100% SDA"]),
       sev=st.sampled_from(["0%", "35%", "80%"]), lag=st.integers(0, 12),
       speeds=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 6.0]), min_size=1, max_size=4))
def test_random_deals_same_as_numpy_engine(tmp_path, text, cdr, sev, lag, speeds):
    deal = parse(text, "random.waterfall")
    assert not check(deal)
    p = tmp_path / "a.yaml"
    p.write_text(YAML.replace("DEFAULTS", cdr).replace("SEVERITY", sev).replace("LAG", str(lag)))
    a = load_assumptions(p, deal)
    assert_same(run(deal, a, speeds, engine="c"), run(deal, a, speeds, engine="numpy"))


def test_trace_runs_on_numpy_engine(seq_deal, seq_assumptions):
    r = run(seq_deal, seq_assumptions, trace=True)
    assert r.trace  # the payment ledger: the numpy engine keeps it
    with pytest.raises(RunError, match="trace"):
        run(seq_deal, seq_assumptions, trace=True, engine="c")


def test_unknown_engine_is_refused(seq_deal, seq_assumptions):
    with pytest.raises(RunError, match="unknown engine 'fortran'"):
        run(seq_deal, seq_assumptions, engine="fortran")


def test_environment_picks_the_engine(seq_deal, seq_assumptions, monkeypatch):
    monkeypatch.setenv("WATERFALL_ENGINE", "numpy")
    with pytest.raises(RunError, match="no C compiler"):
        run(seq_deal, seq_assumptions, engine="c")
    assert run(seq_deal, seq_assumptions).interest.sum() > 0


def test_compiled_step_that_debits_without_crediting_is_caught(seq_deal, seq_assumptions, monkeypatch):
    """The compiled engine checks conservation itself: a principal payment that
    credits the class with less than it took from the funds is refused."""
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    from interpreter.engine import ConservationError
    original = c_emit._settle

    from interpreter.waterfall import program as P

    def lossy(owing, c, p):
        principal = owing.paid is P.ClassState.PAID_PRINCIPAL
        return original(owing, c, f"0.999 * {p}") + (f" s->balance[{c}] -= 0.001 * {p};" if principal else "")
    monkeypatch.setattr(c_emit, "_settle", lossy)
    monkeypatch.setattr(c_run, "_kernels", {})
    monkeypatch.setattr(c_run, "_index_path", lambda key: None)
    with pytest.raises(ConservationError, match="money not conserved in period 1 "):
        run(seq_deal, seq_assumptions, [1.0], engine="c")


def test_compiled_step_that_pays_more_interest_than_owed_is_caught(seq_deal, seq_assumptions, monkeypatch):
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    from interpreter.engine import ConservationError
    from interpreter.waterfall import program as P
    original = c_emit._owed

    def generous(owing, c):
        owed = original(owing, c)
        return f"1.5 * {owed}" if owing.paid is P.ClassState.PAID_INTEREST else owed
    monkeypatch.setattr(c_emit, "_owed", generous)
    monkeypatch.setattr(c_run, "_kernels", {})
    monkeypatch.setattr(c_run, "_index_path", lambda key: None)
    with pytest.raises(ConservationError, match="more interest than it was owed"):
        run(seq_deal, seq_assumptions, [1.0], engine="c")


def test_lean_run_keeps_what_the_analytics_read():
    deal = load_deal(DEALS / "subprime-hel.waterfall")
    a = load_assumptions(DEALS / "subprime-hel.assumptions.yaml", deal)
    speeds, cdr, sev = [0.5, 1.0, 2.0], [0.02, 0.08, 0.15], [0.4, 0.5, 0.6]
    full = run(deal, a, speeds, cdr=cdr, severity=sev, engine="c")
    lean = run(deal, a, speeds, cdr=cdr, severity=sev, engine="c", keep="lean")
    assert lean.lean and lean.interest is None and lean.balance is None and lean.clause_paid is None
    np.testing.assert_array_equal(lean.cash(), full.cash())
    np.testing.assert_array_equal(lean.principal, full.principal)
    np.testing.assert_array_equal(lean.rate[0], full.rate[0])
    np.testing.assert_array_equal(lean.notional[0], full.notional[0])
    np.testing.assert_allclose(lean.writedown_total(), full.writedown.sum(axis=0), rtol=1e-12, atol=1e-7)
    assert full.writedown.sum() > 0  # the scenarios do write classes down


def test_a_kernel_that_cannot_be_built_falls_back_to_numpy_on_auto(seq_deal, seq_assumptions, monkeypatch):
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    monkeypatch.setattr(c_run, "_kernels", {})
    monkeypatch.setattr(c_run, "_index_path", lambda key: None)
    monkeypatch.setattr(c_run, "assemble", lambda self: "this is not C")
    with pytest.warns(RuntimeWarning, match="running the numpy engine"):
        r = run(seq_deal, seq_assumptions, [1.0], engine="auto")
    assert r.principal.sum() > 0
    with pytest.raises(RunError, match="compiled engine cannot run this deal"):
        run(seq_deal, seq_assumptions, [1.0], engine="c")


def test_a_deal_finds_its_kernel_without_generating_it_again(seq_deal, seq_assumptions, monkeypatch, tmp_path):
    """The index (deal text + package code -> library) spares a run the generation of C."""
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path))
    monkeypatch.setattr(c_run, "_kernels", {})
    # the deal's library as not yet loaded by this process (an index names only a library in its own folder)
    monkeypatch.setattr(cbuild, "_loaded", {k: v for k, v in cbuild._loaded.items() if "deal-" not in v._name})
    first = run(seq_deal, seq_assumptions, [1.0], engine="c")
    assert list((tmp_path / "c").glob("deal-index-*"))

    def refuse(self):
        raise AssertionError("generated again")
    monkeypatch.setattr(c_run, "assemble", refuse)
    monkeypatch.setattr(c_run, "_kernels", {})  # as in a new process
    again = run(seq_deal, seq_assumptions, [1.0], engine="c")
    np.testing.assert_array_equal(first.principal, again.principal)
