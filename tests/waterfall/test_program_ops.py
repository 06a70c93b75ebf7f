"""Every operation of the period program, evaluated by both engines.

A deal whose contracts each pay one probe formula (and its negation, so a
negative value shows too) exercises every operation of waterfall/program.py
at once; both engines run it over scenarios that differ in speed, defaults,
severity and index levels, and every contract's receipts must be equal to the
last bit (the arithmetic of each operation is the same on both sides), every
other record to the engines' agreement tolerance. A new operation that no
probe uses fails ``test_every_operation_is_probed``."""
import textwrap

import numpy as np
import pytest

from dsl.check import check
from dsl.checker import CHECKS
from dsl.parse import parse
from interpreter.native import build as cbuild
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.waterfall import program as P
from interpreter.waterfall.lowering import Model

from ..support import assert_same

# probe name -> formula; each is paid as a contract receipt (positive and negated)
PROBES = {
    "lit": "2.5% * 1,000,000",
    "period": "period",
    "date": "if date >= 2024-06-25 then 1 else 0",
    "days": "accrual_days",
    "avail": "available / 1,000",
    "sched": "pac_balance / 1,000,000",
    "table": "step_table",
    "index": "LIBOR_1M * 10,000",
    "account": "reserve",
    "formula_period": "f_period",
    "formula_step": "f_step",
    "formula_never": "f_never",
    "balances": "balance(A, B) - prior_balance(A) + original_balance(\"Seniors\") / 1,000",
    "notional": "notional(X)",
    "events": "(if happens(drop) then 1 else 0) + (if since(drop) then 10 else 0) + (if after(drop) then 100 else 0)",
    "flows_g": "pool_begin(group 1) - pool_end(group 2) + principal_collected(group 1) + interest_collected(group 2)",
    "flows_all": "pool_begin() + scheduled_principal() + prepayments() + recoveries() + realized_loss()",
    "delinq": "delinquency(group 1) * 1,000 + delinquency() * 1,000,000",
    "avg_delinq": "average_delinquency(3, group 2) * 1,000 + average_delinquency(period / 2) * 1,000,000",
    "pending": "pending_recoveries(group 1) + pending_recoveries() / 3",
    "cum_loss": "cumulative_loss(group 2) + cumulative_loss() / 7",
    "wac": "net_wac(group 1) * 10,000 - gross_wac() * 10,000",
    "cutoff": "cutoff_balance(group 2) / 1,000 - cutoff_balance() / 1,000",
    "pool_factor": "pool_factor(group 1) * 1,000,000 + pool_factor() * 1,000",
    "arith": "(3 - period) * 7 / (period - 4) + 1 / 0",
    "neg_abs": "-abs(5 - period)",
    "compare": "(if period < 5 then 1 else 0) + (if period <= 5 then 2 else 0) + (if period > 5 then 4 else 0)"
               " + (if period >= 5 then 8 else 0) + (if period == 5 then 16 else 0) + (if period != 5 then 32 else 0)",
    "logic": "if (period > 3 and not (period > 9)) or period == 1 then 1 else 0",
    "extremum": "min(period, 7, 20 - period) + max(period * 2, 9)",
    "contract": "c_lit",
}

DEAL = """\
deal "Program operations"
    cutoff              2024-01-01
    closing             2024-01-30
    first distribution  2024-02-25
    distribution day    25, next business day
    pricing speed       100% PSA

index LIBOR_1M "One-month LIBOR"

group 1 "fixed"
group 2 "fixed"

class A
    balance   150,000,000
    coupon    min(5.50%, net_wac(group 1))
    group     1

class B
    balance   90,000,000
    coupon    LIBOR_1M + 0.40%
    cap       net_wac()
    carryover
    group     2

class X
    notional  20% * prior_balance(A)
    coupon    0.75%
    group     1

class R
    residual

classes "Seniors" = A, B

table step_table "Steps" by period
    1-4   3
    5-12  7
    13+   11

schedule pac_balance "Planned" = planned balance 100,000,000 of group 1 between 100% PSA and 300% PSA

account reserve "Reserve" initial 1,250,000

parameter threshold "Drop threshold" default 85%

define f_period "Pool factor" = pool_end() / cutoff_balance()
define f_step "Senior balance" = balance(A) + reserve
define f_never "Cash at hand" = available

event drop "Pool drop" when f_period < threshold

distribution to_a "Class A principal"
    pay principal to A up to amount * 50%
    then pay principal to B

"""

YAML = """
collateral:
  - {group: 1, balance: "160,000,000", gross rate: 6.50%, fee rate: 0.50%, remaining term: 120, age: 10}
  - {group: 2, balance: "100,000,000", gross rate: 7.25%, fee rate: 0.40%, remaining term: 100, age: 3}
defaults: {all: 4% CDR}
severity: 40%
recovery lag: 4
delinquency: {group 1: 2%, group 2: [1%, 3%, 6%, 2%]}
indices: {LIBOR_1M: [1.10%, 1.30%, 1.90%, 2.40%, 3.00%]}
horizon: 120
"""

# Every check but units: the probes pay each operation's value (a pool factor, a rate) as a contract's cash.
PROBE_CHECKS = {name for name, _ in CHECKS} - {"units"}


def _deal_text():
    contracts = "".join(f'contract p_{k} "probe" pays {v}\ncontract n_{k} "probe" pays -({v})\n'
                        for k, v in PROBES.items() if k != "contract")
    contracts = 'contract c_lit "probe" pays 12,345\n' + contracts
    contracts += f'contract p_contract "probe" pays {PROBES["contract"]}\n'
    waterfall = textwrap.dedent("""\
        waterfall
            clause "1) Interest"
                from interest of group 1, interest of group 2: pay current and unpaid interest pro rata to A, B, X
            clause "2) Reserve"
                from interest of group 1: deposit to account reserve up to 10,000 * period
            clause "3) Principal"
                from principal of group 1: pay principal to to_a
                from principal of group 2: pay principal sequentially to B, A
            clause "4) Carryover"
                if f_never > 0:
                    pay carryover to B
            clause "5) Release"
                from account reserve: pay unpaid interest to A
                pay remaining to R
        losses
            allocate pro rata to A, B
        """)
    return DEAL + contracts + "\n" + waterfall


@pytest.fixture(scope="module")
def deal_and_assumptions(tmp_path_factory):
    text = _deal_text()
    deal = parse(text, "ops.waterfall")
    problems = check(deal, only=PROBE_CHECKS)
    assert not problems, [d.render(text) for d in problems]
    p = tmp_path_factory.mktemp("ops") / "ops.assumptions.yaml"
    p.write_text(YAML)
    return deal, load_assumptions(p, deal)


def test_every_operation_is_probed(deal_and_assumptions):
    deal, a = deal_and_assumptions
    m = Model(deal, a, 120)
    used = set()
    for e in [c.pays for c in deal.contracts] + [f.body for f in m.formulas]:
        used |= {type(op) for op in P.walk(m.lower(e))}
    used |= {type(op) for cls in m.classes for e in (cls.coupon, cls.cap, cls.notional) if e is not None
             for op in P.walk(m.lower(e))}
    used |= {type(op) for d in deal.distributions for st in d.steps if st.limit is not None
             for op in P.walk(m.lower(st.limit))}  # 'amount': the distribution's limit
    missing = set(P.OPERATIONS) - used
    assert not missing, f"operations no probe uses: {sorted(t.__name__ for t in missing)}"
    # and each formula's caching is the one its reads call for
    caching = {f.name: f.caching for f in m.formulas}
    assert caching == {"f_period": P.Caching.PERIOD, "f_step": P.Caching.STEP, "f_never": P.Caching.NEVER}


@pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")
def test_every_operation_same_on_both_engines(deal_and_assumptions):
    deal, a = deal_and_assumptions
    speeds = [0.0, 0.7, 1.0, 2.5, 6.0]
    kw = dict(cdr=[0.0, 0.02, 0.08, 0.3, 0.01], severity=[0.2, 0.45, 0.6, 0.9, 0.0],
              index_shift={"LIBOR_1M": [0.0, 0.01, -0.005, 0.03, 0.002]})
    rc = run(deal, a, speeds, engine="c", **kw)
    rn = run(deal, a, speeds, engine="numpy", **kw)
    names = list(rc.contract_names)
    for k in PROBES:
        i = names.index(f"p_{k}")
        pos_c, pos_n = rc.contracts[:, i], rn.contracts[:, i]
        np.testing.assert_array_equal(pos_c, pos_n, err_msg=k)
        if f"n_{k}" in names:
            j = names.index(f"n_{k}")
            np.testing.assert_array_equal(rc.contracts[:, j], rn.contracts[:, j], err_msg=k)
    # the probes are not all zero: each shows a value somewhere
    for k in PROBES:
        seen = np.abs(rn.contracts[:, names.index(f"p_{k}")]).sum()
        if f"n_{k}" in names:
            seen += np.abs(rn.contracts[:, names.index(f"n_{k}")]).sum()
        assert seen > 0, f"probe {k} is zero everywhere"
    assert_same(rc, rn)


@pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")
def test_a_changed_number_runs_without_a_compile(deal_and_assumptions, monkeypatch, tmp_path):
    """The C kernel is keyed by the deal's structure: a class balance, a coupon,
    an account's initial balance, a parameter's default, a literal in a formula
    or a step are inputs of the run. A new class is a new kernel."""
    deal, a = deal_and_assumptions
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("WATERFALL_CACHE", str(cache))
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    monkeypatch.setattr(cbuild, "_loaded", {})  # nothing built earlier in this process
    monkeypatch.setattr(c_run, "_kernels", {})
    compiles = []
    real = cbuild._compile
    monkeypatch.setattr(cbuild, "_compile", lambda cc, source, so, *rest: (compiles.append(so), real(cc, source, so, *rest))[1])
    text = _deal_text()

    def run_text(t):
        d = parse(t, "ops.waterfall")
        assert not check(d, only=PROBE_CHECKS)
        return run(d, a, [1.0], engine="c")

    base = run_text(text)
    assert compiles, "the first run builds the kernel"
    built = len(compiles)
    edits = [("balance   150,000,000", "balance   140,000,000"), ("coupon    0.75%", "coupon    0.70%"),
             ("initial 1,250,000", "initial 2,000,000"), ("default 85%", "default 90%"),
             ("up to amount * 50%", "up to amount * 40%"), ("1-4   3", "1-4   4")]
    changed = text
    for old, new in edits:
        assert old in changed
        changed = changed.replace(old, new)
    other = run_text(changed)
    assert len(compiles) == built, f"a changed number recompiled: {compiles[built:]}"
    assert not np.array_equal(other.balance, base.balance)  # the numbers did change the run
    d = parse(changed, "ops.waterfall")
    ref = run(d, a, [1.0], engine="numpy")
    assert_same(other, ref)
    run_text(changed.replace("class R\n", "class Y\n    balance   1,000\n    coupon    1%\n\nclass R\n")
             .replace("pay principal sequentially to B, A", "pay principal sequentially to B, A, Y"))
    assert len(compiles) == built + 1, "a new class is a new kernel"


def test_pool_factor_is_pool_end_over_cutoff(deal_and_assumptions):
    """pool_factor(G) = pool_end(G) / cutoff_balance(G), by hand from the run's collateral."""
    deal, a = deal_and_assumptions
    r = run(deal, a, [1.0], engine="numpy")
    got = r.contracts[:, list(r.contract_names).index("p_pool_factor"), 0]
    g1, g2 = r.collateral["1"].end_balance[0], r.collateral["2"].end_balance[0]
    want = g1 / 160e6 * 1e6 + (g1 + g2) / 260e6 * 1e3
    np.testing.assert_allclose(got, np.maximum(want, 0.0), rtol=1e-12)


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_a_condition_used_as_a_number_is_one_or_zero(engine, deal_and_assumptions, tmp_path):
    """(period > 2) + (period > 3) is 2 from period 4 on both engines; -(period > 2) is -1."""
    if engine == "c" and not cbuild.available():
        pytest.skip("no C compiler")
    text = _deal_text().replace('contract c_lit "probe" pays 12,345\n',
                                'contract c_lit "probe" pays 12,345\n'
                                'contract p_bools "probe" pays (period > 2) + (period > 3) - -(period > 2)\n')
    deal = parse(text, "ops.waterfall")
    _, a = deal_and_assumptions
    r = run(deal, a, [1.0, 2.0], engine=engine)
    got = r.contracts[:6, list(r.contract_names).index("p_bools"), 0]
    np.testing.assert_array_equal(got, [0, 0, 2, 3, 3, 3])


def test_one_scenario_pays_the_same_alone_and_in_a_batch(deal_and_assumptions):
    """A scenario's payments do not depend on the other scenarios of its batch."""
    deal, a = deal_and_assumptions
    kw = dict(cdr=[0.0, 0.3], severity=[0.4, 0.9])
    both = run(deal, a, [1.0, 6.0], engine="numpy", **kw)
    alone = run(deal, a, [6.0], engine="numpy", cdr=[0.3], severity=[0.9])
    for f in ("interest", "principal", "carryover_paid", "balance"):
        np.testing.assert_array_equal(getattr(both, f)[:, :, 1], getattr(alone, f)[:, :, 0], err_msg=f)


# ------------------------------------------------------------------ the starting state
@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_per_scenario_class_sizes_equal_deals_written_with_those_sizes(engine, deal_and_assumptions):
    """One batch, class A sized differently in each scenario (as a sizing solver
    would run it), equals the deal written with each size."""
    if engine == "c" and not cbuild.available():
        pytest.skip("no C compiler")
    deal, a = deal_and_assumptions
    sizes = [150_000_000.0, 120_000_000.0, 90_000_000.0]
    batch = run(deal, a, [1.0, 1.0, 1.0], engine=engine, start={"balance": {"A": sizes}})
    for s, size in enumerate(sizes):
        written = parse(_deal_text().replace("balance   150,000,000", f"balance   {size:,.0f}"), "ops.waterfall")
        one = run(written, a, [1.0], engine=engine)
        for f in ("interest", "principal", "balance", "carryover_paid", "writedown", "accounts", "contracts"):
            np.testing.assert_allclose(getattr(batch, f)[..., s], getattr(one, f)[..., 0], rtol=1e-12, atol=1e-6,
                                       err_msg=f"{f} at size {size}")


@pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")
def test_a_run_from_a_starting_state_is_the_same_on_both_engines(deal_and_assumptions):
    """Amounts owed, account balances and an event already happened, per scenario:
    both engines start there and agree; money is conserved (each run checks it)."""
    deal, a = deal_and_assumptions
    start = {"balance": {"A": [100e6, 140e6]}, "original_balance": {"A": 150e6},
             "shortfall": {"B": [250_000.0, 0.0]}, "carryover": {"B": 40_000.0},
             "unpaid_loss": {"A": [0.0, 1_000_000.0]}, "accounts": {"reserve": [3e6, 0.0]},
             "events_happened": ["drop"]}
    rc = run(deal, a, [1.0, 2.0], engine="c", start=start)
    rn = run(deal, a, [1.0, 2.0], engine="numpy", start=start)
    assert_same(rc, rn)
    assert rn.begin_balance[0, rn.cls("A")].tolist() == [100e6, 140e6]
    assert rn.accounts[0, 0, 0] != run(deal, a, [1.0, 2.0], engine="numpy").accounts[0, 0, 0]
    # the event has happened: 'since' holds from the first period, 'happens' never
    names = list(rn.contract_names)
    events = rn.contracts[:, names.index("p_events"), :]
    assert set(np.unique(events)) <= {110.0}


def test_a_starting_state_that_names_nothing_is_refused(deal_and_assumptions):
    from interpreter.engine import RunError
    deal, a = deal_and_assumptions
    for bad, msg in (({"balance": {"Q": 1.0}}, "no class 'Q'"), ({"accounts": {"nope": 1.0}}, "no account"),
                     ({"events_happened": ["nope"]}, "no event"), ({"balances": {}}, "unknown balances"),
                     ({"balance": {"A": [1.0, 2.0, 3.0]}}, "one for each of the 2 scenarios"),
                     ({"shortfall": {"A": -5.0}}, "not negative")):
        with pytest.raises(RunError, match=msg):
            run(deal, a, [1.0, 2.0], engine="numpy", start=bad)


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_per_scenario_parameters_equal_deals_written_with_those_values(engine, deal_and_assumptions, monkeypatch):
    """A parameter varied by scenario in one batch (a trigger threshold, as a
    breakeven solver would vary it) equals the deal with each value as its
    default, and compiles nothing new."""
    if engine == "c" and not cbuild.available():
        pytest.skip("no C compiler")
    deal, a = deal_and_assumptions
    values = [0.85, 0.97, 0.5]
    run(deal, a, [1.0], engine=engine)
    compiles = []
    real = cbuild._compile
    monkeypatch.setattr(cbuild, "_compile", lambda cc, source, so, *rest: (compiles.append(so), real(cc, source, so, *rest))[1])
    batch = run(deal, a, [2.0, 2.0, 2.0], engine=engine, parameters={"threshold": values})
    assert compiles == []
    for s, v in enumerate(values):
        written = parse(_deal_text().replace("default 85%", f"default {v * 100:g}%"), "ops.waterfall")
        one = run(written, a, [2.0], engine=engine)
        for f in ("interest", "principal", "balance", "contracts", "accounts"):
            np.testing.assert_array_equal(getattr(batch, f)[..., s], getattr(one, f)[..., 0], err_msg=f"{f} at {v}")
    events = batch.contracts[:, list(batch.contract_names).index("p_events"), :]
    assert len({tuple(events[:, s]) for s in range(3)}) == 3  # the event happens at three different periods


def test_an_unknown_parameter_to_vary_is_refused(deal_and_assumptions):
    from interpreter.engine import RunError
    deal, a = deal_and_assumptions
    with pytest.raises(RunError, match="no parameter 'treshold'"):
        run(deal, a, [1.0, 2.0], engine="numpy", parameters={"treshold": [0.8, 0.9]})
    with pytest.raises(RunError, match="one for each of the 2 speeds"):
        run(deal, a, [1.0, 2.0], engine="numpy", parameters={"threshold": [0.8, 0.9, 0.7]})
