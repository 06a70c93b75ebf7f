"""IO and PO classes have yields (issue 17, item 7): an IO is priced per 100 of its initial
notional, a PO per 100 of its balance; neither has a default price (NA unless priced)."""
import contextlib
import io
import json
import shutil

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.analytics.measures import bond_equivalent_yield
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.dates import days_30_360
from interpreter.engine import run
from interpreter.report.analyze import analyze
from tests.conftest import DEALS


@pytest.fixture(scope="module")
def j4_run():
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    return run(deal, load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal), [0.0, 1.0, 1.5])


def test_an_io_priced_per_100_of_initial_notional(j4_run):
    r = j4_run
    rows = list(analyze(r, prices={"1-A-IO": 3.0}, classes=["1-A-IO"]))
    i = r.cls("1-A-IO")
    months = np.array([days_30_360(r.deal.header.settlement, d) / 30.0 for d in r.dates])
    for s, row in enumerate(rows):
        n = r.notional[:, i, s]
        cash = (r.interest + r.carryover_paid)[:, i, s] / n[0] * 100.0
        accrued = 100.0 * r.coupon[0, i, s] * 29 / 360      # April 1 -> 30 on the notional
        want = bond_equivalent_yield(cash, months, 3.0 + accrued)[0] * 100.0
        assert row["price"] == 3.0 and row["accrued"] == pytest.approx(accrued, abs=1e-12)
        assert row["yield_pct"] == pytest.approx(want, abs=1e-9)
        # WAL of the notional's decline: sum t x (N_t - N_t+1) / N_1
        dec = n - np.append(n[1:], 0.0)
        assert row["wal_years"] == pytest.approx((dec * months / 12.0).sum() / dec.sum(), abs=1e-12)
        assert row["mdur_years"] is not None and row["convexity"] is not None
        assert row["first_principal"] is None  # an IO pays no principal


def test_an_io_has_no_default_price(j4_run):
    for row in analyze(j4_run, classes=["1-A-IO"]):
        assert row["price"] is None and row["yield_pct"] is None
        assert row["wal_years"] is not None


@pytest.fixture()
def po_deal(tmp_path):
    text = (DEALS / "sequential-cmo.waterfall").read_text().replace("    coupon    5.50%", "    coupon    0%", 1)
    path = tmp_path / "po.waterfall"
    path.write_text(text)
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / "po.assumptions.yaml")
    return path


def _json(path, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(path), "--format", "json", "--speeds", "100", "--class", "A", *args]) == 0
    return json.loads(out.getvalue())["tables"][0]


def test_a_po_is_na_unless_priced_and_yields_on_its_principal(po_deal):
    assert _json(po_deal)["yield_pct"] is None
    row = _json(po_deal, "--price", "A=80")
    deal = load_deal(po_deal)
    r = run(deal, load_assumptions(po_deal.with_name("po.assumptions.yaml"), deal), [1.0])
    prin = r.principal[:, r.cls("A"), 0] / 80e6 * 100.0
    months = np.array([days_30_360(deal.header.settlement, d) / 30.0 for d in r.dates])
    assert row["accrued"] == 0.0
    assert row["yield_pct"] == pytest.approx(bond_equivalent_yield(prin, months, 80.0)[0] * 100.0, abs=1e-9)
    assert row["yield_pct"] > 0
