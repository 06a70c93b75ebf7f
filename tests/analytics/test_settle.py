"""`--settle`, accrued interest and proceeds (issue 17, item 8). Prices are clean, per 100 of
current face; proceeds = face x factor x (price + accrued) / 100 (SIFMA SF-45)."""
import contextlib
import io
import json

import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.engine import run
from tests.conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")


def _rows(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([J4, "--format", "json", "--speeds", "100", "--to", "maturity", *args]) == 0
    doc = json.loads(out.getvalue())
    return doc, {r["class"]: r for r in doc["tables"]}


def test_the_deals_settlement_accrues_29_days():
    doc, rows = _rows("--class", "1-A-2")
    assert doc["settlement"] == "2004-04-30"
    assert rows["1-A-2"]["accrued"] == pytest.approx(3.108 * 29 / 360, abs=1e-12)  # April 1 -> 30
    assert "proceeds" not in rows["1-A-2"]  # only with --face


def test_settle_moves_accrued_and_face_gives_proceeds():
    doc, rows = _rows("--class", "1-A-2", "--class", "1-A-4", "--settle", "2004-05-10", "--face", "2,000,000")
    assert doc["settlement"] == "2004-05-10"
    # April 1 -> May 10: 39 days on 30/360, at the stated coupons
    assert rows["1-A-2"]["accrued"] == pytest.approx(3.108 * 39 / 360, abs=1e-12)
    assert rows["1-A-4"]["accrued"] == pytest.approx(4.924 * 39 / 360, abs=1e-12)
    assert rows["1-A-2"]["proceeds"] == pytest.approx(2_000_000 * (100 + 3.108 * 39 / 360) / 100, abs=1e-6)


def test_after_the_first_payment_the_price_is_per_current_face():
    # Settled May 28, 2004: the May 25 payment was the seller's. 1-A-1 (a floater, flat) was
    # paid principal on May 25, so a 1,000,000 original face is worth factor x 1,000,000.
    doc, rows = _rows("--class", "1-A-1", "--class", "1-A-2", "--settle", "2004-05-28", "--face", "1000000")
    deal = load_deal(J4)
    r = run(deal, load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal), [1.0])
    i = r.cls("1-A-1")
    factor = r.begin_balance[1, i, 0] / r.begin_balance[0, i, 0]
    assert factor < 0.99
    assert rows["1-A-1"]["accrued"] == 0.0
    assert rows["1-A-1"]["proceeds"] == pytest.approx(1_000_000 * factor, rel=1e-12)
    assert rows["1-A-1"]["first_principal"] == "2004-06-25"
    # 1-A-2 accrues May 1 -> 28 (27 days) of its second period
    assert rows["1-A-2"]["accrued"] == pytest.approx(3.108 * 27 / 360, abs=1e-12)


def test_the_text_tables_say_prices_are_clean_and_show_accrued_and_proceeds(capsys):
    assert main([J4, "--class", "1-A-2", "--speeds", "100", "--face", "1000000"]) == 0
    out = capsys.readouterr().out
    assert "Prices clean, per 100 of current face; settlement 2004-04-30" in out
    assert "Accrued (per 100)" in out and "0.25037" in out  # 3.108 x 29 / 360 = 0.250367
    assert "Proceeds" in out and "1,002,503.67" in out


@pytest.mark.parametrize("bad, words", [("2004-13-01", "cannot read"), ("2004-04-01", "before the deal's closing"),
                                        ])
def test_a_bad_settlement_is_an_input_error(capsys, bad, words):
    assert main([J4, "--settle", bad]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_bad_face_is_an_input_error(capsys):
    assert main([J4, "--face", "lots"]) == 2
    assert "--face" in capsys.readouterr().err


def test_proceeds_of_any_size_keep_their_columns_apart(capsys):
    # 25,000,000 x (100 + 3.800 x 29 / 360) / 100 = 25,076,527.78 (1-A-3's coupon, April 1 -> 30):
    # thirteen characters, more than the 11 a figure column had; the columns widen instead.
    assert main([J4, "--class", "1-A-3", "--speeds", "100,300", "--to", "maturity", "--face", "25000000"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("Proceeds"))
    assert line.split()[1:] == ["25,076,527.78", "25,076,527.78"]
