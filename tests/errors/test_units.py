"""Issue 16 item 1: units wherever a field's kind is fixed.

``coupon 5.50`` (no %) would run as a 550% coupon, ``pay principal ... up to
5%`` pays 5 cents: both are positioned errors with what was expected and, for
the bare number, "did you mean 5.50%?". A percentage and an amount / amount
quotient are both ratios (``min(100%, a / b)`` stays valid), and a formula
whose kind is not known is never reported. Numbers past 10**15 (a 400-digit
balance, a coupon that would overflow) are errors where they are written.
"""
from __future__ import annotations

import pytest

from dsl.checker import check
from dsl.parse import parse

from .inputs import DEAL, at, edit, refused_at, run_deal

UP_TO = "pay principal sequentially to A, B, C, D"


def units(text: str) -> list:
    return [d.message for d in check(parse(text, "deal.waterfall"), only={"units"})]


def test_a_coupon_without_its_percent_sign_is_refused_with_did_you_mean(tmp_path, capsys):
    deal = edit(DEAL, "coupon    5.50%", "coupon    5.50")
    err = refused_at(tmp_path, capsys, at(deal, "5.50\n"), "5.50 is a bare number where a rate belongs", deal=deal)
    assert "it would be 550%" in err and "did you mean 5.50%?" in err


def test_a_percentage_where_an_amount_belongs_is_refused(tmp_path, capsys):
    deal = edit(DEAL, UP_TO, UP_TO + " up to 5%")
    err = refused_at(tmp_path, capsys, at(deal, "up to 5%", 6), "up to: 5% is a percentage where an amount belongs", deal=deal)
    assert "expected an amount" in err


def test_a_bare_margin_in_a_coupon_sum_is_refused():
    deal = edit(edit(DEAL, 'group 1 "30', 'index LIBOR_1M "L"\n\ngroup 1 "30'),
                "coupon    5.50%", "coupon    LIBOR_1M + 0.5")
    assert units(deal) == ["class A: coupon: 0.5 is a bare number where a rate belongs (it would be 50%)"]


def test_a_formula_of_known_kind_in_the_wrong_field_is_refused():
    deal = edit(DEAL, UP_TO, UP_TO + " up to share") + "\ndefine share = 5% * 40%\n"  # a ratio of a ratio
    assert units(deal) == ["up to: this is a percentage where an amount belongs"]


def test_an_amount_compared_with_a_percentage_is_refused():
    deal = DEAL + "\nevent small when pool_end() <= 20%\n"
    assert units(deal) == ["this compares an amount with a percentage"]


def test_a_percentage_as_a_count_of_months_is_refused():
    deal = DEAL + "\nevent bad when average_delinquency(3%, group 1) > 5%\n"
    assert units(deal) == ["average_delinquency(): 3% where a whole number of months belongs"]


def test_a_number_as_a_condition_is_refused():
    deal = edit(DEAL, "        pay remaining to R", "        if 5%:\n            pay remaining to R\n"
                                                    "        pay remaining to R")
    assert units(deal) == ["if: 5% where a condition belongs"]


@pytest.mark.parametrize("field", [
    "coupon    min(6%, net_wac(group 1))",  # a rate formula
    "coupon    0",  # zero is zero of every kind
    "coupon    if period > 12 then 5.50% else 50bp + 5%",
    "coupon    5.50% * min(100%, balance(B) / original_balance(B))",  # ratio x ratio
])
def test_valid_coupons_pass(field):
    assert units(edit(DEAL, "coupon    5.50%", field)) == []


@pytest.mark.parametrize("limit", [
    "min(100%, balance(A) / original_balance(A)) * principal_collected()",  # amount / amount is a ratio
    "max(0, pool_end() - 35% * cutoff_balance())",
    "1000000",  # an amount written without separators
    "period * 1,000,000",
    "unknown_kind",  # a parameter without a default: whatever the assumptions set
    "unknown_kind * 5%",
    "2.5% * 1,000,000",  # a share of a figure: a number may be a scale or dollars, so not known
    "available / 1,000",
])
def test_valid_limits_pass(limit):
    deal = edit(DEAL, UP_TO, UP_TO + " up to " + limit) + "\nparameter unknown_kind\n"
    assert units(deal) == []


@pytest.mark.parametrize("old, new, needle", [
    ("balance   80,000,000", "balance   " + "9" * 400, "9" * 400),  # a 400-digit balance
    ("coupon    5.50%", "coupon    1" + "0" * 400 + "%", "1" + "0" * 400),  # a coupon that overflows
    ("coupon    5.50%", "coupon    1" + "0" * 17 + ".5%", "1" + "0" * 17),  # past 10**15, still finite
])
def test_numbers_past_the_bound_are_refused_where_written(tmp_path, capsys, old, new, needle):
    deal = edit(DEAL, old, new)
    err = refused_at(tmp_path, capsys, at(deal, needle), "is too large", deal=deal)
    assert "expected a number up to 1,000,000,000,000,000" in err


def test_every_bundled_deal_still_checks(tmp_path, capsys):
    from .inputs import ROOT
    for path in sorted((ROOT / "deals").glob("*.waterfall")):
        assert check(parse(path.read_text(encoding="utf-8"), str(path))) == [], path.name
        rc, err, *_ = run_deal(tmp_path, capsys, deal=path.read_text(encoding="utf-8"),
                               yaml=path.with_suffix(".assumptions.yaml").read_text(encoding="utf-8"))
        assert rc == 0, err
