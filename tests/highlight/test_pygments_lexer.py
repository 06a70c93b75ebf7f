"""The Pygments lexer (dsl/highlight.py): every bundled deal lexes with no
error token and each character gets the kind the parser's own tokens give
it; every keyword of the grammar is a keyword; 'pygmentize -l waterfall'
finds the lexer through its entry point."""
from __future__ import annotations

import pytest

pytest.importorskip("pygments")

from pygments import highlight  # noqa: E402
from pygments.formatters import HtmlFormatter  # noqa: E402
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename  # noqa: E402
from pygments.util import ClassNotFound  # noqa: E402
from pygments.token import (Comment, Error, Keyword, Literal, Name, Number, Operator,  # noqa: E402
                            Punctuation, String, Whitespace)

from dsl.builtins import FUNCTIONS, VARIABLES  # noqa: E402
from dsl.highlight import DAY_COUNTS, KEYWORDS, PHRASES, SPEED_UNITS, WaterfallLexer  # noqa: E402
from tests.highlight.reference import DEALS, LAYOUTS, deal_text, categories, keyword_literals  # noqa: E402

# A keyword that is also a builtin value, lexed where the grammar has it as a keyword.
CONTEXT = {"period": "table t by {}"}


def lex(text: str) -> list:
    return list(WaterfallLexer(stripnl=False).get_tokens(text))  # keep leading blank lines: offsets stay put


def category(token) -> str | None:
    for kind, name in [(Keyword.Type, "unit"), (Keyword, "keyword"), (Name.Builtin, "builtin"),
                       (Name, "name"), (Literal.Date, "date"), (Number, "number"), (String, "string"),
                       (Comment, "comment"), (Operator, "operator"), (Punctuation, "punctuation"),
                       (Whitespace, None)]:
        if token in kind:
            return name
    raise AssertionError(f"a token kind this test does not know: {token}")


def lexer_categories(text: str) -> list:
    out = []
    for token, value in lex(text):
        out.extend([category(token)] * len(value))
    return out


def first_difference(text: str, want: list, got: list) -> str:
    for i, (w, g) in enumerate(zip(want, got)):
        if w is not None and w != g:
            line = text.count("\n", 0, i) + 1
            col = i - (text.rfind("\n", 0, i) + 1) + 1
            src = text.splitlines()[line - 1]
            return f"{line}:{col}: parser says {w}, highlighter {g}\n{src}\n{' ' * (col - 1)}^"
    return ""


@pytest.mark.parametrize("deal", DEALS, ids=lambda p: p.name)
def test_every_bundled_deal_lexes_with_no_error_token(deal):
    text = deal.read_text(encoding="utf-8")
    tokens = lex(text)
    assert "".join(v for _, v in tokens) == text
    assert [(t, v) for t, v in tokens if t in Error] == []


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("deal", DEALS, ids=lambda p: p.name)
def test_every_character_of_a_bundled_deal_is_what_the_parser_says(deal, layout):
    text = deal_text(deal, layout)
    want, got = categories(text), lexer_categories(text)
    assert len(got) == len(text)
    assert first_difference(text, want, got) == ""


def test_the_lexer_has_exactly_the_grammar_keywords():
    assert set(KEYWORDS) | set(PHRASES) | set(SPEED_UNITS) | set(DAY_COUNTS) == keyword_literals()


@pytest.mark.parametrize("word", sorted(keyword_literals()))
def test_every_keyword_literal_of_the_grammar_is_a_keyword(word):
    text = CONTEXT.get(word, "{}").format(word)
    start = text.index(word)
    cats = lexer_categories(text + "\n")[start:start + len(word)]
    assert all(c in ("keyword", "unit") for c, ch in zip(cats, word) if not ch.isspace()), cats


def test_the_keywords_that_are_also_builtin_values_have_a_context():
    assert keyword_literals() & set(VARIABLES) <= set(CONTEXT)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_builtin_function_call_is_a_builtin(name):
    tokens = [(t, v) for t, v in lex(f"define x = {name}(A)\n") if t is not Whitespace]
    assert tokens[3:5] == [(Name.Builtin, name), (Punctuation, "(")]


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_a_builtin_value_is_a_builtin(name):
    assert (Name.Builtin.Pseudo, name) in lex(f"define x = {name} + 1\n")


SNIPPET = '''\
class 1-A-1 "Floating Rate \\"Senior\\""   # p.3
    balance   119,257,000
    coupon    LIBOR_1M + 0.160%
    notional  min(io_notional_1, pool_begin(group 1))
    day count 30/360
    pricing speed 300% PSA
table lockout "Lockout Percentage" by period
    1-36    0%
    85+     25bp
define step_up = if period < 37 and date >= 2004-11-01 then balance(A) / 2.5 else amount
    then pay current and unpaid interest pro rata by balance then by amount owed to 1-A-1 .. 1-A-6
'''


def test_each_kind_of_word_in_a_snippet_gets_its_own_token_type():
    tokens = [(t, v) for t, v in lex(SNIPPET) if t is not Whitespace]
    want = [
        (Keyword, "class"), (Name.Class, "1-A-1"),
        (String.Double, '"'), (String.Double, "Floating Rate "), (String.Escape, '\\"'),
        (String.Double, "Senior"), (String.Escape, '\\"'), (String.Double, '"'),
        (Comment.Single, "# p.3"),
        (Keyword, "balance"), (Number.Integer, "119,257,000"),
        (Keyword, "coupon"), (Name, "LIBOR_1M"), (Operator, "+"), (Number.Float, "0.160"), (Keyword.Type, "%"),
        (Keyword, "notional"), (Name.Builtin, "min"), (Punctuation, "("), (Name, "io_notional_1"),
        (Punctuation, ","), (Name.Builtin, "pool_begin"), (Punctuation, "("), (Keyword, "group"),
        (Number.Integer, "1"), (Punctuation, ")"), (Punctuation, ")"),
        (Keyword, "day"), (Keyword, "count"), (Keyword.Constant, "30/360"),
        (Keyword, "pricing"), (Keyword, "speed"), (Number.Integer, "300"), (Keyword.Type, "%"),
        (Keyword.Type, "PSA"),
        (Keyword, "table"), (Name.Function, "lockout"), (String.Double, '"'),
        (String.Double, "Lockout Percentage"), (String.Double, '"'), (Keyword, "by"), (Keyword, "period"),
        (Number.Integer, "1"), (Operator, "-"), (Number.Integer, "36"), (Number.Integer, "0"), (Keyword.Type, "%"),
        (Number.Integer, "85"), (Operator, "+"), (Number.Integer, "25"), (Keyword.Type, "bp"),
        (Keyword, "define"), (Name.Function, "step_up"), (Operator, "="), (Keyword, "if"),
        (Name.Builtin.Pseudo, "period"), (Operator, "<"), (Number.Integer, "37"), (Keyword, "and"),
        (Name.Builtin.Pseudo, "date"), (Operator, ">="), (Literal.Date, "2004-11-01"), (Keyword, "then"),
        (Name.Builtin, "balance"), (Punctuation, "("), (Name, "A"), (Punctuation, ")"), (Operator, "/"),
        (Number.Float, "2.5"), (Keyword, "else"), (Name.Builtin.Pseudo, "amount"),
        (Keyword, "then"), (Keyword, "pay"), (Keyword, "current and unpaid interest"),
        (Keyword, "pro rata by balance then by amount owed"), (Keyword, "to"),
        (Name, "1-A-1"), (Operator, ".."), (Name, "1-A-6"),
    ]
    assert tokens == want


def test_a_keyword_inside_a_hyphenated_name_is_a_name():
    assert [(t, v) for t, v in lex("pay-1 to-B class-x\n") if t is not Whitespace] == [
        (Name, "pay-1"), (Name, "to-B"), (Name, "class-x")]


def test_two_spaces_inside_a_phrase_are_not_the_keyword():
    # The grammar's 'next business day' is one terminal with single spaces.
    assert (Keyword, "next business day") not in lex("distribution day 25, next  business day\n")


def test_an_unclosed_string_ends_with_its_line():
    tokens = lex('classes "Class A = A\nclass B\n')
    assert (Keyword, "class") in tokens and not any(t in Error for t, _ in tokens)


def test_the_entry_point_finds_the_lexer():
    try:
        lexer = get_lexer_by_name("waterfall")
    except ClassNotFound:
        pytest.fail("no 'waterfall' lexer: the entry point is in the installed metadata; "
                    "reinstall the package (pip install -e .)")
    assert isinstance(lexer, WaterfallLexer)
    assert isinstance(get_lexer_for_filename("deals/cwalt-2004-j4.waterfall"), WaterfallLexer)


def test_html_output_marks_keywords_numbers_and_dates():
    html = highlight("    cutoff 2004-04-01\n    balance 80,000,000\n", get_lexer_by_name("waterfall"),
                     HtmlFormatter())
    assert '<span class="k">cutoff</span>' in html
    assert '<span class="ld">2004-04-01</span>' in html
    assert '<span class="mi">80,000,000</span>' in html


def test_random_deals_are_lexed_as_the_parser_reads_them():
    from hypothesis import given, settings

    from tests.support import deals

    @settings(max_examples=30, deadline=None)
    @given(text=deals())
    def inner(text):
        assert first_difference(text, categories(text), lexer_categories(text)) == ""
    inner()
