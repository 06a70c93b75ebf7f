"""Issue 16 item 6: no traceback at any depth or size.

Expressions nested hundreds deep, long chains (a sum of 1,000 terms, 500 'not'
or unary minus in a row), integers of thousands of digits, class sets that
name an undefined set, themselves or each other, chains of thousands of
formulas, sets or distributions, YAML nested thousands deep: each is a
positioned error (exit 2), never a RecursionError or an overflow.
"""
from __future__ import annotations

import pytest

from dsl.walk import MAX_NESTING

from .inputs import DEAL, YAML, at, edit, refused_at, run_deal

LIMIT = "pay remaining to R"
DIGITS = "7" * 5000


@pytest.mark.parametrize("expr", [" + ".join(["1"] * 1000), "not " * 500 + "period > 1", "- " * 500 + "1",
                                  "(" * 300 + "min(" * 300 + "1" + ", 2)" * 300 + ")" * 300,
                                  "if period > 1 then " * 300 + "1" + " else 2" * 300],
                         ids=["sum of 1000", "500 not", "500 minus", "parentheses and calls", "if chain"])
def test_long_chains_are_nested_too_deeply(tmp_path, capsys, expr):
    deal = edit(DEAL, LIMIT, f"if {expr}:\n            {LIMIT}\n        {LIMIT}" if "not" in expr
                else f"{LIMIT} up to {expr}")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 2 and f"nests more than {MAX_NESTING} levels deep" in err, err


@pytest.mark.parametrize("old, new, message", [
    ("balance   80,000,000", "balance   " + DIGITS, "is too large"),
    ("distribution day    25", "distribution day    " + DIGITS, "distribution day 777777777777... (5,000 digits)"),
    ("    coupon    5.50%", f"    coupon    5.50%\n    delay {DIGITS} days", "a delay of 777777777777..."),
    ('waterfall "Priority', f'table t "T" by period\n    1-{DIGITS} 0%\n\nwaterfall "Priority', "period 7777"),
    ("pricing speed       100% PSA", f"pricing speed       ramp 8% CPR to 24% CPR over {DIGITS} months",
     "a ramp of 7777"),
], ids=["amount", "distribution day", "delay", "table period", "ramp months"])
def test_integers_of_thousands_of_digits(tmp_path, capsys, old, new, message):
    deal = edit(DEAL, old, new)
    needle = DIGITS if "1-" + DIGITS not in deal else "1-" + DIGITS
    err = refused_at(tmp_path, capsys, at(deal, needle), message, deal=deal)
    assert "7" * 30 not in err.splitlines()[0]  # the message shows the number cut short,
    assert max(len(line) for line in err.splitlines()) < 200  # and the line is echoed as a window around it


@pytest.mark.parametrize("sets, needle, message", [
    ('classes "N" = A, "Nope"', '"Nope"', 'unknown class set "Nope": the deal has class set "N"'),
    ('classes "N" = A, "N"', 'classes "N"', 'a class set names itself: "N" -> "N"'),
    ('classes "N1" = A, "N2"\nclasses "N2" = B, "N1"', 'classes "N1"', 'a class set names itself: "N1" -> "N2" -> "N1"'),
])
def test_class_sets_naming_nothing_or_themselves(tmp_path, capsys, sets, needle, message):
    deal = edit(DEAL, 'waterfall "Priority', sets + '\n\nwaterfall "Priority')
    deal = edit(deal, "pay remaining to R", 'pay remaining to R up to balance("N1") + balance("N")'
                if "N1" in sets else 'pay remaining to R up to balance("N")')
    refused_at(tmp_path, capsys, at(deal, needle), message, deal=deal)


def test_a_chain_of_thousands_of_sets_checks_and_runs(tmp_path, capsys):
    sets = "".join(f'classes "S{i}" = "S{i + 1}"\n' for i in range(3000)) + 'classes "S3000" = A\n'
    # up to all that is left: --check runs the deal, and no cash may stay in the funds
    deal = edit(DEAL, "pay remaining to R", 'pay remaining to R up to balance("S0") + available') + "\n" + sets
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0, err


def test_a_chain_of_thousands_of_formulas_is_refused_where_it_goes_too_deep(tmp_path, capsys):
    # f_i = f_(i+1) + 1 reads f_(i+1) at depth 2 of its own tree: f_3000 nests 1 level, f_i 2 * (3000 - i) + 1,
    # so f_2900 is the first past 200 (201 levels).
    chain = "".join(f"define f{i} = f{i + 1} + 1\n" for i in range(3000)) + "define f3000 = 1\n"
    deal = edit(DEAL, "pay remaining to R", "pay remaining to R up to f0") + "\n" + chain
    err = refused_at(tmp_path, capsys, at(deal, "define f2900 "), "formula f2900 nests 201 levels deep", deal=deal)
    assert err.count("error:") == 1


def test_a_chain_of_thousands_of_distributions_is_refused(tmp_path, capsys):
    dist = "".join(f"distribution d{i}\n    pay principal to d{i + 1}\n" for i in range(2000))
    deal = DEAL + "\n" + dist + "distribution d2000\n    pay principal sequentially to A, B, C, D\n"
    # d2000 ends the chain; d1950 starts the first chain of 51
    refused_at(tmp_path, capsys, at(deal, "distribution d1950\n"), "distribution d1950 starts a chain of 51",
               deal=deal)


def test_yaml_nested_thousands_deep(tmp_path, capsys):
    yaml = YAML + "horizon: " + "[" * 5000 + "]" * 5000 + "\n"
    rc, err, _, y = run_deal(tmp_path, capsys, yaml=yaml)
    assert rc == 2 and f"{y}:" in err and "nested more than" in err, err
