"""The SIFMA (PSA/BMA) Uniform Practices standard formulas, chapter SF (issue 17, item 5).

The standard's worked example (SF-49 to SF-51): a Ginnie Mae I 9.0% pass-through (9.5% loans,
360 months, new), 45-day stated delay (14 days actual), 150% PSA, priced at par settled on
the issue date: CF1 0.8242, CF2 0.8491, CF3 0.8738 per 100; Yield 9.10675%, Mortgage Yield
8.93863%, Average Life 9.77844 years, Duration 5.73147, Modified Duration 5.48186, Cash-Flow
Convexity 54.4326 years^2; the pool factor after three payments 0.99701075. Settled seven
days later at par: full price 100.1750, yield 9.10644%."""
import contextlib
import io
import json
import math

import numpy as np
import pytest

from interpreter.analytics.measures import (bond_equivalent_yield, cashflow_convexity, macaulay_duration,
                                            modified_duration, mortgage_from_bey)
from interpreter.cli import main
from tests.conftest import DEALS

GNMA = """deal "Ginnie Mae I 9.0% (SIFMA SF-49)"
    cutoff              1990-01-01
    closing             1990-01-01
    settlement          {settle}
    first distribution  1990-02-15
    distribution day    15, no adjustment
    pricing speed       150% PSA
group 1 "GNMA I 9.5% loans"
class A "Pass-through"
    balance   100,000,000
    coupon    9.00%
    delay     45 days
class R
    residual
waterfall
    clause "1) Interest"
        from interest of group 1: pay current and unpaid interest to A
    clause "2) Principal"
        from principal of group 1: pay principal to A
    clause "3) Residual"
        pay remaining to R
"""
ASSUMPTIONS = """collateral:
  - group: 1
    balance: 100,000,000
    gross rate: 9.50%
    fee rate: 0.50%
    remaining term: 360
    age: 0
"""


def _gnma(tmp_path, settle="1990-01-01", *extra):
    (tmp_path / "gnma.waterfall").write_text(GNMA.format(settle=settle))
    (tmp_path / "gnma.assumptions.yaml").write_text(ASSUMPTIONS)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(tmp_path / "gnma.waterfall"), "--format", "json", "--speeds", "100", *extra]) == 0
    return json.loads(out.getvalue())["tables"][0]


def test_the_standards_ginnie_mae_example_at_its_printed_precision(tmp_path):
    row = _gnma(tmp_path, "1990-01-01", "--cashflows", str(tmp_path / "cf"))
    assert round(row["yield_pct"], 5) == 9.10675
    assert round(row["mortgage_yield_pct"], 5) == 8.93863
    assert round(row["wal_years"], 5) == 9.77844
    assert round(row["macaulay_years"], 5) == 5.73147
    assert round(row["mdur_years"], 5) == 5.48186
    assert round(row["convexity"], 4) == 54.4326
    assert row["accrued"] == 0.0
    import csv
    with open(tmp_path / "cf" / "A.csv") as fh:
        rows = [r for r in csv.DictReader(fh)][:3]
    cash = [(float(r["interest"]) + float(r["principal"])) / 1e6 for r in rows]  # per 100 of face
    assert [round(x, 4) for x in cash] == [0.8242, 0.8491, 0.8738]
    assert [r["date"] for r in rows] == ["1990-02-15", "1990-03-15", "1990-04-15"]  # T1 = 44/360
    assert round(float(rows[2]["ending balance"]) / 1e8, 8) == 0.99701075


def test_the_standards_example_settled_seven_days_later(tmp_path):
    row = _gnma(tmp_path, "1990-01-08")
    assert row["accrued"] == pytest.approx(9.0 * 7 / 360, abs=1e-12)  # 100.1750 - 100
    assert round(row["price"] + row["accrued"], 4) == 100.1750
    assert round(row["yield_pct"], 5) == 9.10644


def test_each_formula_by_hand_on_two_flows():
    # 50 at half a year, 60 at one year, yield 6% semi-annual (discount 1.03 a half-year)
    cf = np.array([[50.0, 60.0]])
    t = np.array([0.5, 1.0])
    pv1, pv2 = 50 / 1.03, 60 / 1.03 ** 2
    price = pv1 + pv2
    y = bond_equivalent_yield(cf, t * 12, price)[0]
    assert y == pytest.approx(0.06, abs=1e-12)
    mac = (0.5 * pv1 + 1.0 * pv2) / price
    assert macaulay_duration(cf, t, 0.06)[0] == pytest.approx(mac, abs=1e-12)
    assert modified_duration(cf, t, 0.06)[0] == pytest.approx(mac / 1.03, abs=1e-12)
    conv = (0.5 * 1.0 * pv1 + 1.0 * 1.5 * pv2) / price / 1.03 ** 2
    assert cashflow_convexity(cf, t, 0.06)[0] == pytest.approx(conv, abs=1e-12)
    # convexity is the second derivative of price in the yield, over the price
    def p(yy):
        return 50 / (1 + yy / 2) ** 1 + 60 / (1 + yy / 2) ** 2
    h = 1e-4
    assert conv == pytest.approx((p(0.06 + h) - 2 * p(0.06) + p(0.06 - h)) / h ** 2 / price, rel=1e-6)
    # mortgage yield: 1200 ((1 + Y/200)^(1/6) - 1), Y in percent
    assert mortgage_from_bey(0.06) * 100 == pytest.approx(1200 * ((1 + 6 / 200) ** (1 / 6) - 1), abs=1e-12)


def test_j4_fixed_rows_carry_the_new_keys_and_the_old_ones_follow_sf(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(DEALS / "cwalt-2004-j4.waterfall"), "--format", "json"]) == 0
    rows = json.loads(out.getvalue())["tables"]
    fixed = [r for r in rows if r["yield_pct"] is not None]
    assert {r["class"] for r in fixed} == {"1-A-2", "1-A-3", "1-A-4", "1-A-5", "1-A-6"}
    for r in fixed:
        for k in ("mortgage_yield_pct", "macaulay_years", "convexity", "accrued"):
            assert r[k] is not None and math.isfinite(r[k]), (r["class"], k)
        y = r["yield_pct"]
        assert r["mortgage_yield_pct"] == pytest.approx(1200 * ((1 + y / 200) ** (1 / 6) - 1), abs=1e-10)
        # SF-48 e.: modified duration is Macaulay over (1 + Y/200)
        assert r["mdur_years"] == pytest.approx(r["macaulay_years"] / (1 + y / 200), rel=1e-12)
