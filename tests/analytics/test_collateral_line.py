"""The collateral line (issue 17, item 10): the pool's own WAL, yield at 100 at its net rate,
and window per speed, under JSON 'collateral' and above the classes in the text tables."""
import contextlib
import io
import json

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.analytics.measures import bond_equivalent_yield
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.dates import days_30_360
from interpreter.engine import run
from tests.conftest import DEALS

SEQ = DEALS / "sequential-cmo.waterfall"


def test_the_collateral_line_by_hand():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(SEQ), "--format", "json", "--speeds", "0,100"]) == 0
    doc = json.loads(out.getvalue())
    pool = doc["collateral"]
    assert [(r["to"], r["speed"]) for r in pool] == [("maturity", "0%"), ("maturity", "100%")]
    assert all("collateral" not in r["class"] for r in doc["tables"])
    deal = load_deal(SEQ)
    r = run(deal, load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", deal), [0.0, 1.0])
    f = r.collateral["1"] if "1" in r.collateral else next(iter(r.collateral.values()))
    settle = deal.header.settlement
    months = np.array([days_30_360(settle, d) / 30.0 for d in r.dates])
    for s, row in enumerate(pool):
        assert row["net_rate_pct"] == pytest.approx(6.0, abs=1e-9)    # 6.50% gross less 0.50% servicing
        assert row["accrued"] == pytest.approx(6.0 * 29 / 360, abs=1e-12)  # January 1 -> 30
        cash = (f.net_interest[s] + f.principal[s]) / 200e6 * 100
        want = bond_equivalent_yield(cash, months, 100 + 6.0 * 29 / 360)[0] * 100
        assert row["yield_pct"] == pytest.approx(want, abs=1e-9)
        prin = f.principal[s]
        assert row["wal_years"] == pytest.approx((prin * months / 12).sum() / prin.sum(), abs=1e-12)


def test_the_text_tables_put_the_collateral_above_the_classes(capsys):
    assert main([str(SEQ), "--speeds", "100"]) == 0
    out = capsys.readouterr().out
    assert "Collateral (To Maturity), net rate 6.000%" in out
    assert out.index("Collateral (To Maturity)") < out.index("Class A (To Maturity)")
