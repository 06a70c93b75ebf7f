"""The sale at an early-retirement event (a clean-up call, an auction): the collateral
is sold at its performing balance plus the recoveries still to come on defaulted loans,
and the proceeds pay the retired classes in the reverse of the loss allocation, so a
shortfall falls where the deal's losses would (program.EventDecl, program.sale_tiers)."""
import numpy as np
import pytest

from interpreter.engine import run
from interpreter.waterfall.program import Mode, sale_tiers
from tests.dsl.test_constructs import COLLATERAL, build

DEAL = """
class A
    balance 80,000,000
    coupon 5.00%
class B "Subordinate"
    balance 20,000,000
    coupon 6.00%
class R
    residual
event call "Clean-up Call" when period >= 6
    retires A, B
waterfall
    clause "1) Interest"
        from funds of group 1: pay current and unpaid interest sequentially to A, B
    clause "2) Principal"
        from funds of group 1: pay principal sequentially to A, B
    clause "3) Residual"
        pay remaining to R
losses "Allocation of Losses"
    allocate sequentially to B, A
"""
CREDIT = COLLATERAL + "defaults: {1: 20% CDR}\nseverity: 50%\nrecovery lag: 12\n"


class _Loss:
    def __init__(self, mode, classes):
        self.mode, self.classes = mode, classes


def test_the_tiers_reverse_the_loss_allocation():
    losses = [_Loss(Mode.SEQUENTIAL, (4, 3, 2)), _Loss(Mode.PRO_RATA, (0, 1))]
    # 5 is named by no allocation: paid first; then the seniors pro rata; then 2, 3, 4
    assert sale_tiers((0, 1, 2, 3, 4, 5), losses) == ((5,), (0, 1), (2,), (3,), (4,))
    assert sale_tiers((0, 1, 3), losses) == ((0, 1), (3,))  # only the classes the event retires
    assert sale_tiers((0, 1, 2), []) == ((0, 1, 2),)  # no allocation: one tier, pro rata


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_a_short_sale_pays_the_senior_first_and_counts_the_recoveries_to_come(tmp_path, engine):
    deal, a = build(tmp_path, DEAL, CREDIT)
    call = run(deal, a, [1.0], to=["call"], engine=engine)
    mat = run(deal, a, [1.0], to=["maturity"], engine=engine)  # the same through period 6's waterfall
    t = int(call.sold_period[0])
    assert t == 5  # period 6
    f = call.collateral["1"]
    # recoveries still to come: defaults less losses less recoveries received, through period 6
    pending = float(np.sum(f.default[0, :t + 1] - f.loss[0, :t + 1] - f.recovery[0, :t + 1]))
    assert pending > 1_000_000  # a 12-month lag: none has arrived yet
    assert call.pending[0, t] == pytest.approx(pending, rel=1e-12)  # the run's record of it (the collateral line's)
    proceeds = float(f.end_balance[0, t]) + pending
    owed, sold = {}, {}
    for c in ("A", "B"):
        i = call.cls(c)
        owed[c] = mat.balance[t, i, 0] + mat.writedown[t, i, 0]  # after the period's clauses, before losses
        sold[c] = call.principal[t, i, 0] - mat.principal[t, i, 0]  # what the sale paid
    assert owed["A"] + owed["B"] > proceeds > owed["A"]  # the sale is short ...
    assert sold["A"] == pytest.approx(owed["A"], abs=1e-6)  # ... the senior is paid in full
    assert sold["B"] == pytest.approx(proceeds - owed["A"], abs=1e-6)  # the subordinate takes what is left
    assert call.writedown[t, call.cls("A"), 0] == 0.0
    assert call.writedown[t, call.cls("B"), 0] == pytest.approx(owed["B"] - sold["B"], abs=1e-6)
    assert call.cash()[t, call.cls("R"), 0] == pytest.approx(0.0, abs=1e-6)  # nothing left for the residual


def test_the_engines_agree_on_a_short_sale(tmp_path):
    deal, a = build(tmp_path, DEAL, CREDIT)
    n = run(deal, a, [0.5, 1.0, 2.0], to=["call"], engine="numpy")
    c = run(deal, a, [0.5, 1.0, 2.0], to=["call"], engine="c")
    for k in ("principal", "interest", "writedown", "balance"):
        np.testing.assert_allclose(getattr(c, k), getattr(n, k), rtol=0, atol=1e-9)
