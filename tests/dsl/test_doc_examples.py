"""Every example in docs/language.md still checks, and the unit check raises no
false alarm on them (issue 16 item 1).

The examples are fragments of different deals (a class of one, the waterfall
of another), so together they name classes and formulas none of them
declares. They are parsed as one deal under the doc's own header, and every
check that does not need the other fragments' declarations must pass.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl.checker import CHECKS, check
from dsl.parse import parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
# The checks that resolve names across the deal: the fragments leave those to each other.
ACROSS_FRAGMENTS = {"expressions", "steps", "coverage", "class sets", "losses", "events"}


def examples() -> list:
    return re.findall(r"```\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_has_a_header_example_and_sections():
    blocks = examples()
    assert sum(b.startswith("deal ") for b in blocks) == 1 and len(blocks) >= 10


@pytest.mark.parametrize("name", sorted({n for n, _ in CHECKS} - ACROSS_FRAGMENTS))
def test_the_examples_pass_each_check(name):
    blocks = examples()
    header = next(b for b in blocks if b.startswith("deal "))
    text = header + "\n" + "\n".join(b for b in blocks if not b.startswith("deal "))
    deal = parse(text, "language.md")
    assert check(deal, only={name}) == [], [d.render(text) for d in check(deal, only={name})]
