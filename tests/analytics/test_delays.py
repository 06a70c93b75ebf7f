"""Stated payment delays count 30-day months, as the agencies state them (issue 17, item 3;
SIFMA SF-44 "Delay Days": Ginnie Mae I 45 days -> the 15th, Ginnie Mae II 50 -> the 20th,
Fannie Mae 55 -> the 25th, Freddie Mac non-Gold 75 -> the 15th of the month after)."""
import contextlib
import csv
import datetime as dt
import io
import json
import shutil

import numpy as np
import pytest

from interpreter.cli import main
from interpreter.dates import delayed_payment_date
from tests.conftest import DEALS

D = dt.date


@pytest.mark.parametrize("accrual_month", [D(2004, 4, 1), D(2004, 2, 1), D(2023, 2, 1), D(2024, 1, 1), D(2024, 7, 1)])
def test_the_stated_delay_pays_the_same_day_whatever_the_months_length(accrual_month):
    nxt = D(accrual_month.year + accrual_month.month // 12, accrual_month.month % 12 + 1, 1)
    after = D(nxt.year + nxt.month // 12, nxt.month % 12 + 1, 1)
    assert delayed_payment_date(accrual_month, 45) == nxt.replace(day=15)
    assert delayed_payment_date(accrual_month, 50) == nxt.replace(day=20)
    assert delayed_payment_date(accrual_month, 55) == nxt.replace(day=25)
    assert delayed_payment_date(accrual_month, 75) == after.replace(day=15)


def test_a_45_day_delay_after_a_30_day_month_pays_on_the_15th_not_the_16th():
    # April has 30 days: April 1 + 45 actual days is May 16; the stated delay means May 15.
    assert D(2004, 4, 1) + dt.timedelta(days=45) == D(2004, 5, 16)
    assert delayed_payment_date(D(2004, 4, 1), 45) == D(2004, 5, 15)


def test_the_stated_day_is_not_rolled_unless_asked():
    # January 2024 accrual, 55 days: Sunday February 25 stays (SF-49 times flows at 44, 74,
    # 104, ... days); rolled 'following' it would be Monday the 26th.
    assert delayed_payment_date(D(2024, 1, 1), 55) == D(2024, 2, 25)
    assert delayed_payment_date(D(2024, 1, 1), 55, "following") == D(2024, 2, 26)
    # a business day stays where it is either way (Monday March 25, 2024)
    assert delayed_payment_date(D(2024, 2, 1), 55) == delayed_payment_date(D(2024, 2, 1), 55, "following") \
        == D(2024, 3, 25)
    with pytest.raises(ValueError):
        delayed_payment_date(D(2024, 1, 1), 0)


def _deal(tmp_path, delay: str, settlement: str = "2024-01-30"):
    text = (DEALS / "sequential-cmo.waterfall").read_text()
    text = text.replace('class A "Sequential"\n', f'class A "Sequential"\n    delay {delay} days\n')
    text = text.replace("    settlement          2024-01-30\n", f"    settlement          {settlement}\n")
    path = tmp_path / "delay.waterfall"
    path.write_text(text)
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / "delay.assumptions.yaml")
    return path


def _json(path, *extra):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(path), "--format", "json", "--speeds", "100", *extra]) == 0
    return {r["class"]: r for r in json.loads(out.getvalue())["tables"]}


def test_run_deal_pays_a_45_day_class_on_the_15th_and_the_cashflows_show_it(tmp_path):
    path = _deal(tmp_path, "45")
    rows = _json(path, "--cashflows", str(tmp_path / "cf"))
    assert rows["A"]["first_principal"] == "2024-02-15"
    assert rows["B"]["first_principal"] is None or rows["B"]["first_principal"] > "2024-02-26"
    with open(tmp_path / "cf" / "A.csv") as fh:
        a = [r["date"] for r in csv.DictReader(fh) if r["scenario"] == "0"]
    with open(tmp_path / "cf" / "B.csv") as fh:
        b = [r["date"] for r in csv.DictReader(fh) if r["scenario"] == "0"]
    assert a[:3] == ["2024-02-15", "2024-03-15", "2024-04-15"]
    assert b[:3] == ["2024-02-26", "2024-03-25", "2024-04-25"]  # the distribution dates (Feb 25 a Sunday)


def test_a_negative_delay_is_an_input_error(tmp_path, capsys):
    path = _deal(tmp_path, "-5")
    assert main([str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert "delay.waterfall:" in err and "Traceback" not in err


def test_a_payment_on_or_before_settlement_is_the_sellers(tmp_path):
    """Settled February 20, 2024: A's February 15 payment (45-day delay) went to the seller.

    The buyer's first payment is March 15; the price is per 100 of the face left after
    February's principal, and accrued interest runs from February 1 (19 days, 30/360)."""
    from dsl.check import load_deal
    from interpreter.analytics.measures import bond_equivalent_yield
    from interpreter.assumptions import load_assumptions
    from interpreter.dates import days_30_360
    from interpreter.engine import run
    from interpreter.report.analyze import analyze

    path = _deal(tmp_path, "45", settlement="2024-02-20")
    deal = load_deal(path)
    r = run(deal, load_assumptions(tmp_path / "delay.assumptions.yaml", deal), [1.0])
    row = next(x for x in analyze(r, classes=["A"]))
    assert row["first_principal"] == "2024-03-15"
    ci = r.cls("A")
    face = 80_000_000.0
    cash = (r.interest + r.principal)[:, ci, 0]
    settle = D(2024, 2, 20)
    pay = [delayed_payment_date(D(2024, 1 + k, 1) if k < 12 else D(2024 + k // 12, k % 12 + 1, 1), 45)
           for k in range(len(cash))]
    months = np.array([days_30_360(settle, d) / 30.0 for d in pay])
    factor = r.begin_balance[1, ci, 0] / face
    full = (100.0 + 5.50 * 19 / 360) * factor       # coupon 5.50%, February 1 -> 20
    want = bond_equivalent_yield(cash[1:] / face * 100.0, months[1:], full)[0] * 100.0
    assert row["yield_pct"] == pytest.approx(want, abs=1e-9)
    # principal WAL counts only the buyer's principal
    prin = r.principal[1:, ci, 0]
    assert row["wal_years"] == pytest.approx((prin * months[1:] / 12.0).sum() / prin.sum(), abs=1e-12)
