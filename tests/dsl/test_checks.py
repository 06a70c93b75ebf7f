"""The checker is a list of small named checks (dsl.checker.CHECKS), each with
its own test here: the bundled sequential CMO with one mistake, which that
check alone reports (and the sound deal, which it passes)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dsl.checker import CHECKS, check
from dsl.parse import parse

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
PRINCIPAL = "pay principal sequentially to A, B, C, D"


def edit(old: str, new: str) -> str:
    assert DEAL.count(old) == 1, old
    return DEAL.replace(old, new)


def before_waterfall(text: str) -> str:
    return edit('waterfall "Priority', text + '\n\nwaterfall "Priority')


# check name -> (the broken deal, a piece of the message it must give)
CASES = {
    "duplicates": (before_waterfall('class D "Again"\n    balance 1,000,000\n    coupon 1%'), "'D' is declared twice"),
    "header": (edit("closing             2024-01-30", "closing             2023-12-30"), "is before the cut-off date"),
    "calendar": (edit("2024-02-25", "9999-12-25"), "leaves no room for the deal's 720 monthly periods"),
    "dates": (edit("distribution day    25", "distribution day    15"), "is not a distribution date"),
    "delays": (edit("coupon    5.50%", "coupon    5.50%\n    delay 24 days"), "so it pays on 2024-01-24"),
    "classes": (edit("balance   80,000,000", "balance   80%"), "a balance is a dollar amount"),
    "class sets": (before_waterfall('classes "N" = A, "N"'), 'a class set names itself: "N" -> "N"'),
    "tables": (before_waterfall('table t "T" by period\n    1-36 0%\n    40+ 1%'), "expected a row starting at 37"),
    "schedules": (before_waterfall("schedule s = planned balance 1,000,000 of group 2 between 100% PSA and 300% PSA"),
                  "schedule s: unknown group '2': the deal has group 1"),
    "events": (before_waterfall("event e when period > 1\n    retires A, A"), "class A is named twice"),
    "losses": (DEAL + "\nlosses\n    allocate to X\n", "unknown class 'X'"),
    "expressions": (edit("coupon    5.50%", "coupon    minn(5.50%, 6%)"), "unknown function 'minn'"),
    "formula cycles": (DEAL + "\ndefine a = b\ndefine b = a\n", "circular definition: a -> b -> a"),
    "distribution cycles": (before_waterfall("distribution one\n    pay principal to two\n"
                                             "distribution two\n    pay principal to one"),
                            "routes back to itself: one -> two -> one"),
    # f_i = f_(i+1) + 1: f_110 nests 1 level, f_i 2 * (110 - i) + 1, so f_10 is the first past 200 (201)
    "formula depth": (DEAL + "".join(f"\ndefine f{i} = f{i + 1} + 1" for i in range(110)) + "\ndefine f110 = 1\n",
                      "formula f10 nests 201 levels deep"),
    # d0 -> d1 -> ... -> d51: d_i starts a chain of 52 - i; d1 is the first past 50 (51), reported there
    "routing depth": (DEAL + "".join(f"\ndistribution d{i}\n    pay principal to d{i + 1}" for i in range(51))
                      + "\ndistribution d51\n    pay principal to A\n", "distribution d1 starts a chain of 51"),
    "steps": (edit("from principal of group 1", "from principal of group 2"), "unknown group '2': the deal has group 1"),
    "coverage": (edit(PRINCIPAL, "pay principal sequentially to A, B, C"),
                 "class D has a balance but no clause pays it principal"),
    "units": (edit("coupon    5.50%", "coupon    5.50"), "5.50 is a bare number where a rate belongs"),
}


@pytest.mark.parametrize("name", [name for name, _ in CHECKS])
def test_each_check_finds_its_mistake_alone(name):
    text, message = CASES[name]  # a check without a case here fails: every check has its test
    found = [d.message for d in check(parse(text, "deal.waterfall"), only={name})]
    assert any(message in m for m in found), found


@pytest.mark.parametrize("name", [name for name, _ in CHECKS])
def test_each_check_passes_the_sound_deal(name):
    assert check(parse(DEAL, "deal.waterfall"), only={name}) == []


def test_the_checks_have_distinct_names_and_cases_name_only_checks():
    names = [name for name, _ in CHECKS]
    assert len(names) == len(set(names)) and set(CASES) == set(names)


def test_diagnostics_come_in_file_order():
    text = edit("coupon    5.75%", "coupon    5.75") + "\ndefine a = b\ndefine b = a\n"
    text = text.replace("balance   80,000,000", "balance   80%")
    diags = check(parse(text, "deal.waterfall"))
    assert [d.span.line for d in diags] == sorted(d.span.line for d in diags) and len(diags) == 3
