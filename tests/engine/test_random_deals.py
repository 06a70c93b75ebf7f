"""Random deals and scenarios: money is conserved in every period.

Hypothesis writes small deals from the language's own pieces (sequential and
pro rata interest and principal, limits, conditions, accounts, distributions,
losses) and runs them over random speeds and credit; the engine's own check
raises on any period where collected != paid + held, and the test recomputes it."""
import textwrap

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.check import check
from dsl.parse import parse
from interpreter.assumptions import load_assumptions
from interpreter.engine import run

HEADER = """
deal "Random"
    cutoff 2024-01-01
    closing 2024-01-30
    first distribution 2024-02-25
    distribution day 25, next business day
    pricing speed 100% PSA
group 1
group 2
account reserve
"""


@st.composite
def deals(draw):
    n = draw(st.integers(2, 5))
    names = [f"C{i}" for i in range(n)]
    lines = [HEADER]
    for i, c in enumerate(names):
        bal = draw(st.integers(1, 60)) * 1_000_000
        cpn = draw(st.sampled_from(["4.00%", "5.50%", "6.25%", "7.00%", "25bp"]))
        lines.append(f"class {c}\n    balance {bal:,}\n    coupon {cpn}\n    group {1 + i % 2}\n")
    lines.append("class R\n    residual\n")
    order = draw(st.permutations(names))
    imode = draw(st.sampled_from(["sequentially", "pro rata"]))
    pmode = draw(st.sampled_from(["sequentially", "pro rata"]))
    cond = draw(st.sampled_from(["period > 12", "pool_end() < 50% * cutoff_balance()",
                                 "balance(C0) > 0", "delinquency() > 1%"]))
    limit = draw(st.sampled_from(["", " up to 50% * principal_collected()", " up to 1,000,000"]))
    deposit = draw(st.sampled_from(["", "        deposit to account reserve up to 100,000\n"]))
    lines.append(textwrap.dedent(f"""
    distribution prin "Principal"
        pay principal {pmode} to {", ".join(order)}{limit}
        pay principal sequentially to {", ".join(names)}
    waterfall
        clause "1) Interest"
            from interest of all groups: pay current and unpaid interest {imode} to {", ".join(order)}
        clause "2) Principal"
            if {cond}:
                from principal of all groups: pay principal to prin
            else:
                from principal of group 1: pay principal sequentially to {", ".join(names)}
                from principal of group 2: pay principal {pmode} to {", ".join(reversed(names))}
        clause "3) Reserve and excess"
    """) + deposit + textwrap.dedent("""\
            from account reserve: pay unpaid interest sequentially to C0
            from excess: pay principal sequentially to C0
            pay remaining to R
    losses
        allocate sequentially to """ + ", ".join(reversed(names)) + "\n"))
    return "".join(lines)


YAML = """
collateral:
  - {group: 1, balance: "120,000,000", gross rate: 6.50%, fee rate: 0.50%, remaining term: 300, age: 10}
  - {group: 2, balance: "80,000,000", gross rate: 7.25%, fee rate: 0.40%, remaining term: 180, age: 3,
     io months: 24}
defaults: {all: DEFAULTS}
severity: SEVERITY
recovery lag: LAG
delinquency: {all: 2%}
horizon: 200
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=deals(), cdr=st.sampled_from(["0% CDR", "3% CDR", "15% CDR", "100% SDA"]),
       sev=st.sampled_from(["0%", "35%", "80%"]), lag=st.integers(0, 12),
       speeds=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 6.0]), min_size=1, max_size=4))
def test_random_deals_conserve_money_in_every_period(tmp_path, text, cdr, sev, lag, speeds):
    deal = parse(text, "random.waterfall")
    assert not check(deal), [d.render(text) for d in check(deal)]
    p = tmp_path / "a.yaml"
    p.write_text(YAML.replace("DEFAULTS", cdr).replace("SEVERITY", sev).replace("LAG", str(lag)))
    a = load_assumptions(p, deal)
    r = run(deal, a, speeds)  # raises ConservationError on any period that does not balance
    cash = r.cash().sum(axis=1)
    collected = sum(f.net_interest + f.principal + f.penalty for f in r.collateral.values()).T
    held = np.diff(np.concatenate([np.zeros((1,) + r.accounts.shape[1:]), r.accounts]), axis=0).sum(axis=1)
    np.testing.assert_allclose(cash + held, collected, rtol=0, atol=1e-5)
    assert (r.balance >= -1e-6).all()
