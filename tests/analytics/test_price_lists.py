"""Price/yield tables: several prices per class against the speeds (issue 17, item 6)."""
import contextlib
import io
import json

import pytest

from interpreter.cli import main
from tests.conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")


def _json(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([J4, "--format", "json", "--speeds", "0,100", "--to", "maturity", *args]) == 0
    return json.loads(out.getvalue())["tables"]


def test_a_price_list_gives_one_row_per_price_speed_and_mode():
    rows = _json("--class", "1-A-3", "--price", "1-A-3=99-16,100-00,100-16")
    assert [(r["price"], r["speed_pct"]) for r in rows] == [
        (99.5, 0.0), (99.5, 100.0), (100.0, 0.0), (100.0, 100.0), (100.5, 0.0), (100.5, 100.0)]
    # each row is what a single --price gives
    for price in ("99-16", "100-00", "100-16"):
        alone = _json("--class", "1-A-3", "--price", f"1-A-3={price}")
        listed = [r for r in rows if r["price"] == alone[0]["price"]]
        assert listed == alone
    # a higher price, a lower yield
    y = {(r["price"], r["speed_pct"]): r["yield_pct"] for r in rows}
    assert y[(99.5, 100.0)] > y[(100.0, 100.0)] > y[(100.5, 100.0)]


def test_a_repeated_price_option_adds_rows_instead_of_keeping_the_last():
    rows = _json("--class", "1-A-3", "--price", "1-A-3=99-16", "--price", "1-A-3=100-16")
    assert sorted({r["price"] for r in rows}) == [99.5, 100.5]


def test_yield_and_dm_lists_price_the_class_at_each():
    rows = _json("--class", "1-A-2", "--class", "1-A-1", "--yield", "1-A-2=3.00,3.10", "--dm", "1-A-1=10,20")
    fixed = [r for r in rows if r["class"] == "1-A-2"]
    assert [round(r["yield_pct"], 9) for r in fixed] == [3.0, 3.0, 3.1, 3.1]
    assert fixed[0]["price"] > fixed[2]["price"]  # a lower yield, a higher price
    floats = [r for r in rows if r["class"] == "1-A-1"]
    assert [round(r["dm_bp"], 6) for r in floats] == [10.0, 10.0, 20.0, 20.0]


def test_without_a_list_json_keeps_one_row_per_class_mode_and_speed():
    rows = _json("--class", "1-A-3", "--price", "1-A-3=99-16")
    assert len(rows) == 2 and {r["price"] for r in rows} == {99.5}


def test_the_text_table_has_a_row_per_price(capsys):
    assert main([J4, "--class", "1-A-3", "--speeds", "100", "--to", "maturity",
                 "--price", "1-A-3=99-16,100-00"]) == 0
    out = capsys.readouterr().out
    assert "Yield @ 99-16" in out and "Yield @ 100-00" in out and "MDUR (yr) @ 99-16" in out


@pytest.mark.parametrize("args, words", [(["--price", "1-A-3=99-16,abc"], "cannot read 'abc'"),
                                         (["--price", "99,100"], "a list of prices is for one class"),
                                         (["--price", "1-A-9=99"], "did you mean")])
def test_bad_lists_are_input_errors(capsys, args, words):
    assert main([J4, *args]) == 2
    assert words in capsys.readouterr().err
