"""Speeds in any unit beside percents of the pricing speed (issue 17, item 9)."""
import contextlib
import io
import json

import pytest

from interpreter.cli import main
from tests.conftest import DEALS

SEQ = str(DEALS / "sequential-cmo.waterfall")   # priced at 100% PSA
J4 = str(DEALS / "cwalt-2004-j4.waterfall")     # group 1 on a PPC ramp, group 2 at 25% CPR


def _rows(deal, speeds, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([deal, "--format", "json", "--speeds", speeds, "--to", "maturity", *args]) == 0
    return json.loads(out.getvalue())["tables"]


def test_psa_speeds_of_a_psa_deal_are_percents_of_its_pricing_speed():
    units = _rows(SEQ, "100 PSA,300PSA", "--class", "A")
    plain = _rows(SEQ, "100,300", "--class", "A")
    assert [r["speed"] for r in units] == ["100 PSA", "300 PSA"]
    assert [r["speed"] for r in plain] == ["100%", "300%"]
    for u, p in zip(units, plain):
        assert u["speed_pct"] == p["speed_pct"]
        assert {k: v for k, v in u.items() if k != "speed"} == {k: v for k, v in p.items() if k != "speed"}


def test_a_cpr_speed_on_a_psa_deal_runs_on_its_own_and_has_no_percent():
    rows = _rows(SEQ, "50, 6 CPR", "--class", "A")
    assert [(r["speed"], r["speed_pct"]) for r in rows] == [("50%", 50.0), ("6% CPR", None)]
    # PSA is 6% CPR from month 30 on: with the pool aged 2 months, 100% PSA pays slower at first,
    # so 6% CPR (flat) retires A sooner than 100% PSA does
    psa = _rows(SEQ, "100", "--class", "A")[0]
    assert rows[1]["wal_years"] < psa["wal_years"]


def test_j4_mixed_units_keep_the_order_written():
    rows = _rows(J4, "0,100, 25 CPR,300 PSA", "--class", "1-A-3")
    assert [r["speed"] for r in rows] == ["0%", "100%", "25% CPR", "300 PSA"]
    assert [r["speed_pct"] for r in rows] == [0.0, 100.0, None, None]


def test_every_table_names_the_pricing_speed(capsys):
    assert main([J4, "--class", "1-A-3", "--speeds", "100"]) == 0
    out = capsys.readouterr().out
    assert "Pricing speed: 100% PPC = 8% to 24% CPR over 12 months by loan age (group 1); " \
           "100% = 25% CPR (group 2)" in out


@pytest.mark.parametrize("bad", ["100 XYZ", "fast", "-5"])
def test_unreadable_speeds_are_input_errors(capsys, bad):
    assert main([SEQ, "--speeds", bad]) == 2
    assert "--speeds" in capsys.readouterr().err


def test_the_collateral_line_has_a_column_for_every_speed_written(capsys):
    # 25% CPR is not a multiple of J4's pricing speed (a PPC ramp on group 1): it runs on its own,
    # and the pool's line has its column as every class has.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([J4, "--format", "json", "--speeds", "100, 25 CPR", "--class", "1-A-3"]) == 0
    pool = json.loads(out.getvalue())["collateral"]
    assert [(r["to"], r["speed"], r["speed_pct"]) for r in pool] == [
        ("auction", "100%", 100.0), ("auction", "25% CPR", None),
        ("maturity", "100%", 100.0), ("maturity", "25% CPR", None)]
    # a flat 25% CPR pays the pool down faster than the PPC ramp (8% CPR in month 1, 24% from
    # month 12) on group 1, and group 2's pricing speed is 25% CPR already
    assert pool[3]["wal_years"] < pool[2]["wal_years"]
    assert main([J4, "--speeds", "100, 25 CPR", "--class", "1-A-3"]) == 0
    text = capsys.readouterr().out
    head = text[text.index("Collateral (To Maturity)"):].splitlines()[1]
    assert head.split()[-3:] == ["100%", "25%", "CPR"]


def test_csv_rows_say_their_speed_as_written():
    # a speed that is not a multiple of the pricing speed has no speed_pct: its own column names it
    import csv
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([J4, "--format", "csv", "--speeds", "165, 25 CPR", "--to", "maturity", "--class", "1-A-3"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["speed"], r["speed_pct"]) for r in rows] == [("165%", "165.0"), ("25% CPR", "")]
    assert list(rows[0])[:12] == ["class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years",
                                  "mdur_years", "first_principal", "last_principal", "first_period", "last_period"]
    assert float(rows[0]["accrued"]) == pytest.approx(3.8 * 29 / 360, abs=1e-12)  # 1-A-3's coupon, April 1 -> 30


def test_an_assumptions_prepayment_curve_is_what_the_percents_are_of(tmp_path, capsys):
    # The assumptions' `prepayment:` replaces the deal's pricing speed: 100% is then 200% PSA,
    # and the tables must not say "100% = 100% PSA" above figures run at 200% PSA.
    text = (DEALS / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
    yaml_path = tmp_path / "fast.assumptions.yaml"
    yaml_path.write_text(text + "prepayment: {1: 200% PSA}\n", encoding="utf-8")
    assert main([SEQ, "--class", "A", "--speeds", "100"]) == 0
    assert "Pricing speed: 100% = 100% PSA; a percent" in capsys.readouterr().out
    assert main([SEQ, "--assumptions", str(yaml_path), "--class", "A", "--speeds", "100"]) == 0
    out = capsys.readouterr().out
    assert "Pricing speed: 100% = 200% PSA (the assumptions' prepayment, not the deal's pricing speed)" in out
    # and the figures are those of 200% of the deal's own pricing speed
    fast = _rows(SEQ, "200", "--class", "A")[0]
    over = io.StringIO()
    with contextlib.redirect_stdout(over):
        assert main([SEQ, "--assumptions", str(yaml_path), "--format", "json", "--speeds", "100", "--to",
                     "maturity", "--class", "A"]) == 0
    assert json.loads(over.getvalue())["tables"][0]["wal_years"] == fast["wal_years"]
