"""The parser's lexers match with shared, per-terminal regexes (dsl.parse._SharedRe)
instead of Lark's one alternation per parser state. Lark's own lexers are the
reference: same tokens at the same places, same trees, same syntax errors."""
from __future__ import annotations

import random
from pathlib import Path

import lark
import pytest

import dsl.parse as P
from dsl.diagnostics import DealError
from tests.errors import mutations as M

ROOT = Path(__file__).resolve().parents[2]
DEALS = sorted((ROOT / "deals").glob("*.waterfall"))


@pytest.fixture(scope="module")
def parsers():
    shared = P._new_parser(shared_regexes=True)
    stock = P._new_parser(shared_regexes=False)
    lexer = shared.parser.lexer.lexer
    assert all(isinstance(b.re, P._SharedRe) for b in [*lexer.lexers.values(), lexer.root_lexer]), \
        "the shared regexes are not in use: this test would compare Lark with itself"
    assert not any(isinstance(b.re, P._SharedRe) for b in stock.parser.lexer.lexer.lexers.values())
    return shared, stock


def flat(node):
    """A tree with every position in it, as plain values."""
    if isinstance(node, lark.Token):
        return ("tok", node.type, str(node), node.start_pos, node.line, node.column, node.end_line,
                node.end_column, node.end_pos)
    meta = node.meta
    pos = (meta.line, meta.column, meta.end_line, meta.end_column) if not meta.empty else None
    return (node.data, pos, [flat(c) for c in node.children])


def outcome(parser, text):
    try:
        return "tree", flat(parser.parse(text))
    except lark.exceptions.UnexpectedToken as e:
        return ("token", e.line, e.column, e.token.type, str(e.token), sorted(e.expected),
                sorted(e.accepts or ()))
    except lark.exceptions.UnexpectedCharacters as e:
        return "chars", e.line, e.column, e.pos_in_stream, sorted(e.allowed or ())
    except P._BadDedent as e:
        return "dedent", e.line, e.column


def diagnostics(parser, text, monkeypatch):
    monkeypatch.setattr(P, "_parser", lambda: parser)
    try:
        P.parse(text, "deal.waterfall")
        return "ok"
    except DealError as e:
        return e.render()


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.name)
def test_the_bundled_deals_lex_alike(parsers, path):
    shared, stock = parsers
    text = path.read_text(encoding="utf-8")
    assert outcome(shared, text)[0] == "tree"
    assert outcome(shared, text) == outcome(stock, text)


def test_mutated_deals_lex_and_fail_alike(parsers, monkeypatch):
    shared, stock = parsers
    rng = random.Random(7)
    texts = [p.read_text(encoding="utf-8") for p in DEALS]
    kinds = {}
    for k in range(400):
        text = texts[k % len(texts)]
        for _ in range(1 + k % 3):
            _, text = M.random_mutation(text, rng)
        if k % 4 == 0:  # a character Lark's lexers may refuse, anywhere
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice("@!?;{}[]&|~`'\"\t\\%$^") + text[i:]
        text = text if text.endswith("\n") else text + "\n"
        got, want = outcome(shared, text), outcome(stock, text)
        assert got == want, f"the lexers differ on:\n{text}"
        kinds[want[0]] = kinds.get(want[0], 0) + 1
        if k % 10 == 0:
            assert diagnostics(shared, text, monkeypatch) == diagnostics(stock, text, monkeypatch)
    assert kinds.get("tree", 0) > 20 and kinds.get("token", 0) > 20 and kinds.get("chars", 0) > 20, kinds


def test_a_pattern_not_built_by_lark_is_compiled_by_re(parsers):
    shared_re = P._SharedRe(parsers[0].terminals)
    assert isinstance(shared_re.compile(r"\d+|x"), type(lark.lexer.re.compile("x")))
    name = parsers[0].terminals[0].name
    piece = "(?P<%s>%s)" % (name, parsers[0].terminals[0].pattern.to_regexp())
    assert isinstance(shared_re.compile(piece), P._Alternation)
    assert not isinstance(shared_re.compile(piece + "|"), P._Alternation)
    assert not isinstance(shared_re.compile(piece + "x"), P._Alternation)
