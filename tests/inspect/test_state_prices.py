"""run-deal --state: the term-sheet tables for a buyer settling after the state's date
(issue 18, item 3). J4 after distribution 24 (2006-04-25, a Tuesday), at 100% of the
pricing speed."""
import datetime as dt
import json

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.engine import horizon, run
from interpreter.report.analyze import analyze
from interpreter.report.from_state import Pricing, next_business_day, state_rows
from interpreter.report.pool import collateral_rows
from interpreter.state import dump, load_state, state_after, write_state
from interpreter.waterfall.run import distribution_schedule

from ..conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")
N = 24


@pytest.fixture(scope="module")
def j4(tmp_path_factory):
    """(deal, the run from closing, the state file after N, the run from that state, the state)."""
    deal = load_deal(J4)
    a = load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal)
    full = run(deal, a, [1.0], to=("maturity",), inspect=True, keep_lines_after=(N,))
    path = tmp_path_factory.mktemp("state") / "j4-24.yaml"
    write_state(str(path), dump(state_after(full, N), full))
    state = load_state(str(path), deal, distribution_schedule(deal, horizon(deal, a)))
    continued = run(deal, a, [1.0], to=("maturity",), start=state.start(deal))
    return deal, full, path, continued, state


@pytest.fixture(scope="module")
def j4_json(j4):
    """run-deal DEAL --state S.yaml --format json (the default settlement)."""
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([J4, "--state", str(j4[2]), "--format", "json", "--face", "1000000"]) == 0
    return json.loads(out.getvalue())


def _row(doc, name):
    return next(r for r in doc["tables"] if r["class"] == name)


def test_the_default_settlement_is_the_next_business_day_after_the_state(j4_json):
    assert j4_json["state"] == {"distribution": 24, "date": "2006-04-25"}
    assert j4_json["settlement"] == "2006-04-26"  # Tuesday -> Wednesday


def test_next_business_day_skips_the_weekend_and_memorial_day():
    # Friday 2006-05-26; Monday 2006-05-29 is Memorial Day (last Monday of May)
    assert next_business_day(dt.date(2006, 5, 26)) == dt.date(2006, 5, 30)
    assert next_business_day(dt.date(2006, 4, 25)) == dt.date(2006, 4, 26)


def test_accrued_interest_runs_from_the_accrual_month_of_the_next_distribution(j4_json):
    # 1-A-3: 3.80% fixed, 30/360, accruing the calendar month before each distribution [term
    # sheet, "Interest Accrual Period"]: distribution 25 (May 2006) accrues from 2006-04-01;
    # to settlement 2006-04-26 that is 25 days of 30/360: 3.80 x 25 / 360 per 100 of current face.
    r = _row(j4_json, "1-A-3")
    assert r["accrued"] == pytest.approx(3.80 * 25 / 360, abs=1e-12)
    # 1-A-2 (3.108%) on its current face 5,417,449.32: proceeds = face x factor x (price + accrued) / 100
    r2 = _row(j4_json, "1-A-2")
    assert r2["accrued"] == pytest.approx(3.108 * 25 / 360, abs=1e-12)
    assert r2["proceeds"] == pytest.approx(1_000_000 * r2["factor"] * (100 + 3.108 * 25 / 360) / 100, rel=1e-12)
    assert _row(j4_json, "2-A")["accrued"] == 0.0  # floaters settle flat [term sheet, "Accrued Interest"]


def test_factor_is_the_current_balance_over_the_original(j4, j4_json):
    state = j4[4]
    for name, original in (("1-A-2", 14_370_000), ("2-A", 297_832_000), ("M-1", 14_452_000)):  # term sheet p.3
        r = _row(j4_json, name)
        balance = state.classes[name]["balance"]  # the state file's own figure, read back unrounded
        assert r["current_balance"] == balance
        assert r["factor"] == balance / original
    assert _row(j4_json, "M-1")["factor"] == 1.0  # no subordinate principal before the Stepdown Date


def test_a_class_paid_off_before_the_state_prints_as_paid_off(j4_json, j4, capsys):
    r = _row(j4_json, "1-A-1")
    assert r["current_balance"] == 0.0 and r["factor"] == 0.0 and r["note"] == "paid off"
    assert r["price"] is None and r["yield_pct"] is None and r["dm_bp"] is None
    assert main([J4, "--state", str(j4[2])]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("1-A-1 "))
    assert "paid off" in line and "0.00000000" in line and "NA" not in line
    assert "Class 1-A-1 (To" not in out  # no table of figures for it
    assert "Class 1-A-2 (To Maturity); current balance 5,417,449.32, factor 0.37699717" in out


@pytest.mark.parametrize("settle", [dt.date(2006, 4, 26), dt.date(2006, 5, 10), dt.date(2006, 6, 1)])
def test_prices_from_the_state_equal_the_run_from_closing_at_that_settlement(j4, settle):
    deal, full, _, continued, _ = j4
    mine = state_rows(deal, continued, Pricing(settle=settle.isoformat()), settle, ["maturity"])
    theirs = {r["class"]: r for r in analyze(full, settle=settle)}
    outstanding = [r for r in mine if r.get("note") != "paid off"]
    assert len(outstanding) >= 8
    for r in outstanding:
        t = theirs[r["class"]]
        for k in ("price", "accrued", "yield_pct", "dm_bp", "wal_years", "mdur_years", "first_period", "last_period"):
            if t[k] is None:
                assert r[k] is None, (r["class"], k)
            else:
                assert r[k] == pytest.approx(t[k], rel=0, abs=1e-9), (r["class"], k)
    a, b = collateral_rows(continued, settle)[0], collateral_rows(full, settle)[0]
    for k in ("yield_pct", "wal_years", "mdur_years", "accrued", "first_period"):
        assert a[k] == pytest.approx(b[k], rel=0, abs=1e-9), k


def test_the_collateral_line_is_priced_on_the_pool_after_settlement(j4):
    deal, full, _, continued, _ = j4
    settle = dt.date(2006, 4, 26)
    row = collateral_rows(continued, settle)[0]
    assert row["first_period"] == N + 1  # the earlier flows were the seller's
    pool = sum(f.begin_balance[0, N] for f in full.collateral.values())
    interest = sum(f.net_interest[0, N] for f in full.collateral.values())
    assert row["net_rate_pct"] == pytest.approx(interest / pool * 1200, rel=1e-12)
    assert row["accrued"] == pytest.approx(interest / pool * 1200 * 25 / 360, rel=1e-12)


@pytest.mark.parametrize("settle,words", [("2006-04-25", "not after the state's distribution 24"),
                                          ("2005-01-03", "not after the state's distribution 24"),
                                          ("2006-04-31", "cannot read"), ("2003-01-01", "before the deal's closing")])
def test_a_settlement_not_after_the_state_is_an_input_error(j4, settle, words, capsys):
    assert main([J4, "--state", str(j4[2]), "--settle", settle]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_csv_adds_the_factor_and_current_balance(j4, capsys):
    assert main([J4, "--state", str(j4[2]), "--format", "csv", "--class", "2-A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(",current_balance,factor") and lines[0].startswith("class,to,speed_pct,price,")
    assert len(lines) == 2 and lines[1].startswith("2-A,maturity,100.0,100.0,")


def test_cashflows_from_a_state_start_after_its_distribution(j4, tmp_path, capsys):
    import csv
    assert main([J4, "--state", str(j4[2]), "--class", "1-A-3", "--cashflows", str(tmp_path / "cf")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "cf" / "1-A-3.csv")))
    assert rows[0]["period"] == str(N + 1) and rows[0]["date"] == "2006-05-25"
    assert float(rows[0]["beginning balance"]) == 64_219_000.0
    col = list(csv.DictReader(open(tmp_path / "cf" / "collateral.csv")))
    assert {r["period"] for r in col} >= {str(N + 1)} and str(N) not in {r["period"] for r in col}
    assert not (tmp_path / "cf" / "2-A.csv").exists()
    total = sum(float(r["principal"]) for r in rows)
    assert total == pytest.approx(64_219_000.0, abs=1e-6)
    assert np.isfinite(total)


def test_an_interest_only_class_from_a_state_is_priced_per_100_of_current_notional():
    """Agency CMO's PIO after distribution 12: its yield and WAL at 20 per 100 of current
    notional are the run from closing's at that settlement (the IO's flows per unit of the
    notional of the buyer's first period, in both)."""
    deal = load_deal(DEALS / "agency-cmo.waterfall")
    a = load_assumptions(DEALS / "agency-cmo.assumptions.yaml", deal)
    full = run(deal, a, [1.0], to=("maturity",), inspect=True, keep_lines_after=(12,))
    state = state_after(full, 12)
    continued = run(deal, a, [1.0], to=("maturity",), start=state.start(deal))
    settle = next_business_day(state.date)
    quotes = {"PIO": [("price", 20.0)]}
    mine = state_rows(deal, continued, Pricing(quotes=quotes, classes=("PIO",)), settle, ["maturity"])[0]
    theirs = analyze(full, {"PIO": 20.0}, classes=["PIO"], settle=settle)[0]
    assert mine["current_balance"] == full.notional[12, full.cls("PIO"), 0] > 0 and mine["factor"] is None
    assert mine["yield_pct"] is not None and 0 < mine["yield_pct"] < 100
    for k in ("yield_pct", "wal_years", "mdur_years", "accrued"):
        assert mine[k] == pytest.approx(theirs[k], rel=0, abs=1e-9), k
