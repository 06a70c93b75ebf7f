"""Cases found by reviewing the compiled engine against the numpy one.

Each deal here once made the two engines differ, or made one scenario's result
depend on the other scenarios of its batch. The rules they pin down:
'available' is the cash of the enclosing 'from' (all interest and principal
outside one, and outside the waterfall); a distribution runs where something is
routed to it and only there; average_delinquency(N) uses each scenario's own N;
a compiled kernel serves every horizon of its deal."""
import numpy as np
import pytest

from dsl.check import check, load_deal
from dsl.parse import parse
from interpreter.native import build as cbuild
from interpreter.assumptions import load_assumptions
from interpreter.engine import ConservationError, run

from ..conftest import DEALS
from ..support import assert_same

pytestmark = pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")

HEADER = """
deal "T"
    cutoff 2024-01-01
    closing 2024-01-30
    first distribution 2024-02-25
    distribution day 25, next business day
    pricing speed 100% PSA
group 1
group 2
index LIBOR
"""
YAML = """
collateral:
  - {group: 1, balance: "120,000,000", gross rate: 6.50%, fee rate: 0.50%, remaining term: 120, age: 10IO}
  - {group: 2, balance: "80,000,000", gross rate: 7.25%, fee rate: 0.40%, remaining term: 100, age: 3}
defaults: {all: CDR}
severity: 40%
recovery lag: 6
delinquency: {all: DQ}
indices: {LIBOR: 5%}
"""


def setup(tmp_path, body, cdr="3% CDR", dq="2%", io=""):
    text = HEADER + body
    deal = parse(text, "t.waterfall")
    assert not check(deal), [d.render(text) for d in check(deal)]
    p = tmp_path / "a.yaml"
    p.write_text(YAML.replace("CDR}", cdr + "}").replace("DQ", dq).replace("10IO", "10" + io))
    return deal, load_assumptions(p, deal)


def both(deal, a, speeds, **kw):
    rc = run(deal, a, speeds, engine="c", **kw)
    rn = run(deal, a, speeds, engine="numpy", **kw)
    assert_same(rc, rn)
    return rc, rn


def batch_independent(deal, a, speeds, engine):
    batch = run(deal, a, speeds, engine=engine)
    for i, sp in enumerate(speeds):
        alone = run(deal, a, [sp], engine=engine)
        for f in ("interest", "principal", "balance"):
            np.testing.assert_allclose(getattr(batch, f)[:, :, i], getattr(alone, f)[:, :, 0], rtol=1e-12, atol=1e-7,
                                       err_msg=f"{engine} {f} speed {sp}")


def test_available_outside_the_waterfall_is_all_interest_and_principal(tmp_path):
    deal, a = setup(tmp_path, """
class A
    balance 100,000,000
    coupon 5%
class R
    residual
contract k pays 0.001 * available
waterfall
    clause "1"
        from interest of group 1: pay interest to A
    clause "2"
        from principal of all groups: pay principal to A
    clause "3"
        pay remaining to R
""")
    rc, _ = both(deal, a, [1.0])
    f = rc.collateral
    for t in (0, 1, 5):  # every period, the first included
        cash = sum(g.net_interest[0, t] + g.principal[0, t] for g in f.values())
        assert rc.contracts[t, 0, 0] == pytest.approx(0.001 * cash, rel=1e-12)


def test_available_in_a_condition_is_the_enclosing_funds_in_every_batch(tmp_path):
    deal, a = setup(tmp_path, """
class A
    balance 20,000,000
    coupon 5%
class B
    balance 130,000,000
    coupon 6%
class R
    residual
waterfall
    clause "1"
        from interest of group 1:
            pay interest to A
            if available > 1.5 * interest_collected(group 1):
                pay interest to B
    clause "2"
        from funds of all groups: pay interest to B
        from principal of all groups: pay principal sequentially to A, B
    clause "3"
        pay remaining to R
""")
    both(deal, a, [0.5, 4.0])
    for engine in ("c", "numpy"):
        batch_independent(deal, a, [0.5, 4.0], engine)


def test_a_distribution_runs_only_where_something_is_routed_to_it(tmp_path):
    deal, a = setup(tmp_path, """
class A
    balance 100,000,000
    coupon 5%
class B
    balance 50,000,000
    coupon 6%
class R
    residual
distribution d
    pay principal to A
    from principal of group 2: pay principal to B
waterfall
    clause "1"
        from interest of all groups: pay interest sequentially to A, B
    clause "2"
        from principal of group 1: pay principal to d
        from principal of group 2: pay principal sequentially to A, B
    clause "3"
        pay remaining to R
""", cdr="0% CDR", io=", io months: 24")
    rc, _ = both(deal, a, [0.0, 1.0])
    for engine in ("c", "numpy"):
        batch_independent(deal, a, [0.0, 1.0], engine)
    # at 0% PSA group 1 (interest only for 24 months) routes nothing to d: group 2's
    # principal goes to A by clause 2's own sequential step, none to B
    assert rc.principal[0, deal.classes.index(deal.class_named("B")), 0] == 0.0


def test_average_delinquency_over_each_scenarios_own_window(tmp_path):
    deal, a = setup(tmp_path, """
class A
    balance 100,000,000
    coupon 5%
class B
    balance 50,000,000
    coupon 6% + average_delinquency(if pool_end() < 97% * cutoff_balance() then 6 else 1)
class R
    residual
waterfall
    clause "1"
        from interest of all groups: pay interest sequentially to A, B
    clause "2"
        from principal of all groups: pay principal sequentially to A, B
    clause "3"
        pay remaining to R
""", dq="[1%, 2%, 3%, 4%, 5%, 6%, 7%, 8%]")
    rc, _ = both(deal, a, [0.2, 3.0])
    for engine in ("c", "numpy"):
        batch_independent(deal, a, [0.2, 3.0], engine)
    b = deal.classes.index(deal.class_named("B"))
    # period 3, slow scenario: pool still above 97%, N = 1: this period's 3%
    assert rc.rate[2, b, 0] == pytest.approx(0.06 + 0.03, abs=1e-12)


def test_one_kernel_serves_every_horizon_of_its_deal():
    import attrs
    deal = load_deal(DEALS / "agency-cmo.waterfall")  # a PAC schedule, planned by period
    a = load_assumptions(DEALS / "agency-cmo.assumptions.yaml", deal)
    for horizon in (30, 126, 360):
        ah = attrs.evolve(a, horizon=horizon)
        both(deal, ah, [0.5, 1.0, 3.0])


def test_a_class_named_twice_in_a_list_is_refused():
    text = HEADER + """
class A
    balance 100,000,000
    coupon 5%
class B
    balance 50,000,000
    coupon 6%
class R
    residual
classes "S" = A, B
waterfall
    clause "1"
        from interest of all groups: pay interest pro rata to "S", A
    clause "2"
        pay remaining to R
losses
    allocate pro rata to B, B, A
"""
    diags = check(parse(text, "t.waterfall"))
    msgs = [d.message for d in diags]
    assert "class A is named twice in this list (directly or through a class set)" in msgs
    assert "class B is named twice in this list (directly or through a class set)" in msgs
    lines = text.splitlines()
    want = [1 + next(i for i, l in enumerate(lines) if k in l) for k in ('pro rata to "S", A', "to B, B, A")]
    assert [d.span.line for d in diags if "named twice" in d.message] == want


def test_not_a_number_fails_the_money_check(tmp_path, monkeypatch):
    """NaN cash is not 'within the tolerance': both engines stop on it."""
    deal, a = setup(tmp_path, """
class A
    balance 100,000,000
    coupon 5%
class R
    residual
waterfall
    clause "1"
        from interest of all groups: pay interest to A
        from principal of all groups: pay principal to A
    clause "2"
        pay remaining to R
""")
    from interpreter.waterfall import run as run_module
    real = run_module.project  # the collateral projection, as the run calls it

    def poisoned(*args, **kw):
        flows = real(*args, **kw)
        for f in flows.values():
            f.net_interest[:, 4] = np.nan
        return flows
    monkeypatch.setattr(run_module, "project", poisoned)
    for engine in ("c", "numpy"):
        with pytest.raises(ConservationError, match="period 5 "):
            run(deal, a, [1.0], engine=engine)
