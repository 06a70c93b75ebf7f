"""The collateral line's net rate is the loans' (net WAC), not their interest after defaults."""
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.report.pool import collateral_rows
from tests.conftest import DEALS


def test_the_net_rate_is_the_net_wac_whatever_the_defaults(tmp_path):
    # sequential-cmo's one line: 6.50% gross less 0.50% servicing = 6.00% net
    deal = load_deal(DEALS / "sequential-cmo.waterfall")
    text = (DEALS / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
    p = tmp_path / "credit.assumptions.yaml"
    p.write_text(text + "defaults: {all: 10% CDR}\nseverity: 40%\n", encoding="utf-8")
    for a in (load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", deal), load_assumptions(p, deal)):
        rows = collateral_rows(run(deal, a, [1.0], to=["maturity"]))
        assert rows[0]["net_rate_pct"] == pytest.approx(6.00, abs=1e-12)
        # accrued from January 1 to the January 30 settlement: 29 days of 30/360 at 6.00%
        assert rows[0]["accrued"] == pytest.approx(6.00 * 29 / 360, abs=1e-12)
