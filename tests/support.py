"""What several test packages share: random deals (a hypothesis strategy) with
their assumptions, and the check that two runs (the C and numpy engines, or a
run and its split halves) agree record by record."""

import textwrap

import numpy as np
from hypothesis import strategies as st

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


# every record of a run, compared by assert_same
FIELDS = ("interest", "principal", "carryover_paid", "loss_reimbursed", "writedown", "balance", "begin_balance",
          "notional", "rate", "cap", "coupon", "accreted", "unpaid_interest", "accounts", "contracts", "clause_paid",
          "sold_period")


def assert_same(rc, rn):
    """Two runs agree on every record (FIELDS): NaN where the other has NaN, else to 1e-12."""
    for f in FIELDS:
        x, y = np.asarray(getattr(rc, f), dtype=float), np.asarray(getattr(rn, f), dtype=float)
        assert x.shape == y.shape, f
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=f)
        np.testing.assert_allclose(np.nan_to_num(x), np.nan_to_num(y), rtol=1e-12, atol=1e-7, err_msg=f)
