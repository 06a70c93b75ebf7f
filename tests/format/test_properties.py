"""The formatter's properties on every bundled deal and on random deals: idempotent,
the same deal (AST equal, spans aside), every comment kept, and canonical (how
a deal was spaced and indented does not change what it formats to)."""
import random
from pathlib import Path

import pytest

from dsl.format import comments, format_text
from dsl.parse import parse
from tests.format.mess import comment_texts, mess, without_comments

DEALS = sorted((Path(__file__).resolve().parents[2] / "deals").glob("*.waterfall"))


def assert_tidy(out: str) -> None:
    for line in out.split("\n"):
        assert line == line.rstrip(), repr(line)
        assert "\t" not in line[:len(line) - len(line.lstrip())], repr(line)
    assert out.endswith("\n") and not out.endswith("\n\n") and "\n\n\n" not in out


def assert_same_deal_with_its_comments(original: str, messy: str, out: str) -> None:
    assert parse(out) == parse(original)
    assert format_text(out) == out
    assert comment_texts(out) == comment_texts(messy)  # read independently of dsl.format ...
    assert comments(out) == comment_texts(messy)       # ... and by it
    assert_tidy(out)


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_every_bundled_deal_is_already_formatted(path):
    text = path.read_text()
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_a_messy_bundled_deal_formats_to_the_same_deal_keeping_every_comment(path):
    text = path.read_text()
    messy = mess(text, random.Random(path.stem), comments=True)
    added = [c for c in comment_texts(messy) if c.startswith("# note-")]
    assert len(added) > 10 and messy != text
    out = format_text(messy, str(path))
    assert_same_deal_with_its_comments(text, messy, out)


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_respacing_a_bundled_deal_changes_nothing_of_its_formatted_code(path):
    """Other indentation units, runs of spaces and tabs between tokens, doubled
    blank lines: the code formats back to the bundled deal's (comments keep the
    columns they were given, so they are compared as texts)."""
    text = path.read_text()
    messy = mess(text, random.Random(3), move_continuations=False)
    assert without_comments(messy) != without_comments(text)
    out = format_text(messy, str(path))
    assert without_comments(out) == without_comments(text)
    assert comment_texts(out) == comment_texts(text)


def test_random_deals_messed_up_format_back_keeping_every_comment():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.support import deals

    @settings(max_examples=25, deadline=None)
    @given(text=deals(), rnd=st.randoms(use_true_random=False), with_comments=st.booleans())
    def inner(text, rnd, with_comments):
        messy = mess(text, rnd, comments=with_comments)
        out = format_text(messy, "random.waterfall")
        assert_same_deal_with_its_comments(text, messy, out)
        if not with_comments:
            assert out == format_text(text, "random.waterfall")  # canonical
    inner()
