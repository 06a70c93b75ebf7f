"""Issue 16 follow-up A6: a rate or a percentage added to an amount is an error
wherever the kinds are known: in a ``define`` as in an ``up to``, through a
parameter's default as through a literal (``dsl.units``). Reported once, at the
operand of the wrong kind."""
from __future__ import annotations

import pytest

from dsl.checker import check
from dsl.parse import parse

from .inputs import DEAL, at, edit, refused_at, run_deal

PAY = "pay principal sequentially to A, B, C, D"
WATERFALL = 'waterfall "Priority'


def with_formula(text: str, deal: str = DEAL) -> str:
    return edit(deal, WATERFALL, text + "\n\n" + WATERFALL)


def test_a_percentage_added_to_an_amount_in_a_define_is_refused(tmp_path, capsys):
    deal = with_formula('define pda "P" = 3% + (max(0, prior_balance(A) - pool_end(group 1)))')
    err = refused_at(tmp_path, capsys, at(deal, "3% +"), "formula pda: 3% is a percentage, and the other side of "
                     "'+' is an amount", deal=deal)
    assert "3% * cutoff_balance()" in err


def test_a_parameter_defaulting_to_a_percentage_added_to_an_amount_is_refused(tmp_path, capsys):
    deal = with_formula('parameter extra "E" default 3%\ndefine pda "P" = pool_end(group 1) - extra')
    refused_at(tmp_path, capsys, at(deal, "extra\n", 0), "formula pda: extra is a percentage, and the other side "
               "of '-' is an amount", deal=deal)


def test_a_percentage_beside_an_amount_in_max_is_refused(tmp_path, capsys):
    deal = with_formula('define floor_amt "F" = max(0.5%, pool_end(group 1))')
    refused_at(tmp_path, capsys, at(deal, "0.5%"), "0.5% is a percentage, beside an amount in max()", deal=deal)


def test_the_same_mistake_in_an_up_to_is_reported_once(tmp_path, capsys):
    deal = with_formula('define pda "P" = prior_balance(A)')
    deal = edit(deal, PAY, PAY + " up to 3% + pda")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 2 and err.count("error:") == 1, err
    assert "up to: 3% is a percentage where an amount belongs" in err


@pytest.mark.parametrize("formula", [
    "min(100%, prior_balance(A) / pool_begin(group 1))",  # ratio beside ratio
    "5% * cutoff_balance() + pool_end(group 1)",  # a share of an amount is an amount
    "max(0, prior_balance(A) - 1,000,000)",  # a bare number beside an amount is an amount
    "2 * pool_end(group 1) - prior_balance(A)",  # a scale factor times an amount is an amount
])
def test_sums_of_one_kind_pass(formula):
    deal = with_formula(f'define f "F" = {formula}')
    assert check(parse(deal, "deal.waterfall"), only={"units"}) == []
    mixed = with_formula(f'define f "F" = {formula} + 1%')  # the same, plus a percentage: refused
    found = [d.message for d in check(parse(mixed, "deal.waterfall"), only={"units"})]
    amount = not formula.startswith("min")  # the ratio plus 1% is a ratio: passes
    assert found == (["formula f: 1% is a percentage, and the other side of '+' is an amount"] if amount else []), found


def test_an_amount_added_to_a_coupon_is_reported_once_at_the_amount(tmp_path, capsys):
    # the coupon's kind says which side is wrong: the amount, not the rate
    deal = edit(DEAL, "coupon    5.50%", "coupon    5.50% + pool_end(group 1)")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 2 and err.count("error:") == 1, err
    assert f"deal.waterfall:{at(deal, 'pool_end(group 1)')[0]}:{at(deal, 'pool_end(group 1)')[1]}: error: class A: " \
           "coupon: this is an amount where a rate belongs" in err
