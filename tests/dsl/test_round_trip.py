"""parse(unparse(deal)) == deal for every bundled deal: the AST keeps everything
the deal file says (spans and comments aside), and the unparser writes valid deals."""
from pathlib import Path

import pytest

from dsl.check import check
from dsl.parse import parse
from dsl.unparse import unparse

DEALS = sorted((Path(__file__).resolve().parents[2] / "deals").glob("*.waterfall"))


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_bundled_deals_round_trip(path):
    deal = parse(path.read_text(), str(path))
    text = unparse(deal)
    again = parse(text, "unparsed.waterfall")
    assert again == deal
    assert not check(again)
    assert unparse(again) == text  # the canonical layout is a fixed point


def test_random_deals_round_trip():
    from hypothesis import given, settings

    from tests.support import deals

    @settings(max_examples=40, deadline=None)
    @given(text=deals())
    def inner(text):
        deal = parse(text, "random.waterfall")
        assert parse(unparse(deal), "unparsed.waterfall") == deal
    inner()
