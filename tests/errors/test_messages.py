"""Issue 16 follow-up B: messages a careless writer of a new deal meets, each
positioned at its cause, saying what is expected, and never echoed by cascading
errors (exit 2 from run-deal)."""
from __future__ import annotations

import pytest

from .inputs import DEAL, at, edit, refused_at, run_deal

PAY = "pay principal sequentially to A, B, C, D"
WATERFALL = 'waterfall "Priority'


def with_formula(text: str, deal: str = DEAL) -> str:
    return edit(deal, WATERFALL, text + "\n\n" + WATERFALL)


# ------------------------------------------------------------------ amounts
@pytest.mark.parametrize("written, meant", [
    ("1,5000,00", "1,500,000"),  # commas out of their groups of three
    ("92.5MM", "92,500,000"),  # a market abbreviation
    ("60.5M", "60,500,000"),
    ("1,500,000X", None),  # a suffix that means nothing: no guess
])
def test_a_malformed_amount_says_how_amounts_are_written(tmp_path, capsys, written, meant):
    deal = edit(DEAL, "balance   60,000,000", f"balance   {written}")
    err = refused_at(tmp_path, capsys, at(deal, written), f"'{written}' is not", deal=deal)
    assert "digits with thousands commas in groups of three (150,000,000) or none (150000000)" in err
    assert (f"did you mean {meant}?" in err) if meant else "did you mean" not in err
    assert "^" * len(written) in err  # the caret under the whole word


def test_a_balance_under_a_thousand_dollars_is_refused(tmp_path, capsys):
    deal = edit(DEAL, "balance   60,000,000", "balance   1.5")
    refused_at(tmp_path, capsys, at(deal, "1.5\n"), "class B: a balance of 1.5 is $1.50: a class of under $1,000 "
               "in dollars and cents is surely a mistake", deal=deal)


def test_a_balance_of_a_thousand_dollars_or_of_zero_checks(tmp_path, capsys):
    # and a whole $100: a REMIC residual certificate's balance (J4's Class A-R is one)
    for balance in ("1,000", "0", "100"):
        rc, err, *_ = run_deal(tmp_path, capsys, deal=edit(DEAL, "balance   20,000,000", f"balance   {balance}"))
        assert rc == 0, err


# ------------------------------------------------------------------ names
def test_a_misspelt_function_is_reported_once_not_again_for_its_class(tmp_path, capsys):
    deal = edit(DEAL, PAY, PAY + " up to prior_balnce(A)")
    err = refused_at(tmp_path, capsys, at(deal, "prior_balnce"), "unknown function 'prior_balnce'", deal=deal)
    assert err.count("error:") == 1 and "did you mean 'prior_balance'?" in err, err


def test_a_class_set_without_quotes_says_it_needs_them(tmp_path, capsys):
    deal = edit(with_formula('classes "Seniors" = A, B'), PAY, PAY + " up to prior_balance(Seniors)")
    err = refused_at(tmp_path, capsys, at(deal, "Seniors)"), "'Seniors' is a class set, and a class set is written "
                     "in quotes", deal=deal)
    assert 'expected prior_balance("Seniors")' in err and err.count("error:") == 1, err


def test_a_class_declared_twice_is_reported_there_and_nothing_else(tmp_path, capsys):
    # class C renamed B by mistake: C is then paid but declared nowhere, and B named twice in every list
    deal = edit(DEAL, 'class C "Sequential"', 'class B "Sequential"')
    err = refused_at(tmp_path, capsys, at(deal, 'class B "Sequential"\n    balance   40'), "'B' is declared twice",
                     deal=deal)
    assert err.count("error:") == 1, err
    assert "first declared as a class at line 27; the deal names 'C', which no class declares" in err


@pytest.mark.parametrize("cycle, reference", [
    ('define a "A" = 1,000 + a', "a\n"),  # itself
    ('define a "A" = b + 1,000\ndefine b "B" = 2 * a', "b + 1,000"),  # through another
])
def test_a_circular_definition_points_at_the_reference(tmp_path, capsys, cycle, reference):
    deal = with_formula(cycle)
    refused_at(tmp_path, capsys, at(deal, reference), "circular definition: a -> ", deal=deal)


# ------------------------------------------------------------------ layout
def test_a_block_line_indented_short_is_reported_at_that_line(tmp_path, capsys):
    deal = edit(DEAL, "    balance   60,000,000", "  balance   60,000,000")
    err = refused_at(tmp_path, capsys, at(deal, "balance   60,000,000"), "this line is indented 2 spaces and the next "
                     "line 4", deal=deal)
    assert "expected 4 spaces" in err


def test_an_over_indented_line_is_still_reported_at_itself(tmp_path, capsys):
    deal = edit(DEAL, "    coupon    5.75%", "        coupon    5.75%")
    refused_at(tmp_path, capsys, at(deal, "coupon    5.75%"), "unexpected indentation", deal=deal)


@pytest.mark.parametrize("line, wrong, right", [("coupon    5.50%", "cupon", "coupon"),
                                               ("balance   60,000,000", "balanse", "balance")])
def test_a_misspelt_keyword_gets_a_did_you_mean(tmp_path, capsys, line, wrong, right):
    deal = edit(DEAL, line, line.replace(right, wrong))
    err = refused_at(tmp_path, capsys, at(deal, wrong), f"unexpected '{wrong}'", deal=deal)
    assert f"did you mean '{right}'?" in err


@pytest.mark.parametrize("written, meant", [("2024-1-30", "2024-01-30"), ("1/30/2024", "2024-01-30")])
def test_a_date_written_another_way_says_how_and_which(tmp_path, capsys, written, meant):
    deal = edit(DEAL, "closing             2024-01-30", f"closing             {written}")
    err = refused_at(tmp_path, capsys, at(deal, written), f"'{written}' is not a date as a deal writes one", deal=deal)
    assert "expected a date written YYYY-MM-DD" in err and f"did you mean {meant}?" in err


def test_a_negative_balance_says_numbers_here_have_no_sign(tmp_path, capsys):
    deal = edit(DEAL, "balance   60,000,000", "balance   -60,000,000")
    refused_at(tmp_path, capsys, at(deal, "-60,000,000"), "unexpected '-': a number here is written without a sign",
               deal=deal)


def test_a_negative_stated_coupon_is_refused(tmp_path, capsys):
    # it parsed (unary minus) and ran as a coupon of -5.50%, the class paying the deal
    deal = edit(DEAL, "coupon    5.50%", "coupon    -5.50%")
    refused_at(tmp_path, capsys, at(deal, "-5.50%"), "class A: a coupon of -5.50% is negative", deal=deal)
