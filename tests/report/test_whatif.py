"""--set what-ifs: a class's balance or fixed coupon, or a deal parameter, for
one run, checked like the deal file."""
import json
from pathlib import Path

import pytest

from interpreter.cli import main

DEALS = Path(__file__).resolve().parents[2] / "deals"
J4 = DEALS / "cwalt-2004-j4.waterfall"


def _tables(capsys, argv):
    assert main(argv + ["--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)["tables"]


def test_setting_a_number_equals_editing_the_file(tmp_path, capsys):
    """--set 1-A-3.coupon=4.10% --set 1-A-3.balance=60,000,000 gives the tables of
    a copy of the deal file with those two numbers edited."""
    text = J4.read_text()
    assert "    balance   64,219,000\n    coupon    3.800%" in text
    edited = tmp_path / "cwalt-2004-j4.waterfall"
    edited.write_text(text.replace("    balance   64,219,000\n    coupon    3.800%",
                                   "    balance   60,000,000\n    coupon    4.10%"))
    (tmp_path / "cwalt-2004-j4.assumptions.yaml").write_text(
        (DEALS / "cwalt-2004-j4.assumptions.yaml").read_text())
    want = _tables(capsys, [str(edited)])
    got = _tables(capsys, [str(J4), "--set", "1-A-3.coupon=4.10%", "--set", "1-A-3.balance=60,000,000"])
    assert got == want
    assert got != _tables(capsys, [str(J4)])


def test_setting_a_number_to_its_own_value_changes_nothing(capsys):
    base = _tables(capsys, [str(J4)])
    assert _tables(capsys, [str(J4), "--set", "1-A-2.coupon=3.108%", "--set", "B.balance=7,381,000"]) == base


def test_a_parameter_is_set_as_the_assumptions_would_set_it(tmp_path, capsys):
    """Cumulative Loss Trigger levels of -1% fail the trigger from the Stepdown Date
    on (no loss is below them), so the subordinates stay locked out: the same
    tables as an assumptions file with those parameters, and longer subordinate WALs."""
    levels = ["cum_loss_37", "cum_loss_49", "cum_loss_61", "cum_loss_73", "cum_loss_85"]
    sets = [x for n in levels for x in ("--set", f"{n}=-1%")]
    got = _tables(capsys, [str(J4), "--class", "M-1"] + sets)
    yaml = (DEALS / "cwalt-2004-j4.assumptions.yaml").read_text()
    yaml += "\nparameters: {" + ", ".join(f"{n}: -1%" for n in levels) + "}\n"
    (tmp_path / "a.yaml").write_text(yaml)
    assert got == _tables(capsys, [str(J4), "--class", "M-1", "--assumptions", str(tmp_path / "a.yaml")])
    base = _tables(capsys, [str(J4), "--class", "M-1"])
    at = lambda rows: next(r for r in rows if r["to"] == "maturity" and r["speed_pct"] == 100)["wal_years"]
    assert at(got) > at(base) + 1.0


@pytest.mark.parametrize("item, message", [
    ("1-A-3.coupon=4.10", "has no unit"),
    ("1-A-3.balance=4.10%", "a rate where an amount is due"),
    ("1-A-3.balance=-5", "cannot be negative"),
    ("1-A-3.cupon=4%", "did you mean 'coupon'"),
    ("1-A-33.balance=1", "did you mean '1-A-3'"),
    ("1-A-4.coupon=4%", "is a formula"),
    ("corridor_2a_strik=1%", "did you mean 'corridor_2a_strike'"),
    ("corridor_2a_strike=1", "has no unit"),
    ("1-A-IO.balance=5", "no principal balance"),
    ("nothing", "expected CLASS.balance=AMOUNT"),
    ("1-A-3.balance=abc", "cannot read 'abc'"),
])
def test_bad_values_are_input_errors(capsys, item, message):
    assert main([str(J4), "--set", item]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
