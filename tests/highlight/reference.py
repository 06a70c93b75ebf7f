"""What each character of a deal file is, by the parser's own tokens: the
reference both highlighters are held to.

Lark's contextual lexer, run by a parse that keeps every token, decides
where keywords, names, numbers and strings are; the characters no token
covers are blanks, comments (from '#' to the end of the line) and line
continuations. Categories: keyword, unit, name, builtin, number, date,
string, comment, operator, punctuation (blanks have none).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import lark

from dsl.builtins import FUNCTIONS, VARIABLES
from dsl.parse import DealIndenter

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "grammar" / "waterfall.lark"
DEALS = sorted((ROOT / "deals").glob("*.waterfall"))


LAYOUTS = ("as written", "unparsed")


def deal_text(path: Path, layout: str) -> str:
    """A bundled deal as written, or as the unparser lays it out (another
    spelling of the same deal: its own spacing, no comments)."""
    text = path.read_text(encoding="utf-8")
    if layout == "unparsed":
        from dsl.parse import parse
        from dsl.unparse import unparse
        text = unparse(parse(text, str(path)))
    return text

OPERATORS = {"=", "..", "+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!="}
PUNCTUATION = {"(", ")", ",", ":"}


def grammar_literals() -> set:
    """Every string literal of the grammar (its comments left out)."""
    text = re.sub(r"//[^\n]*", "", GRAMMAR.read_text(encoding="utf-8"))
    return set(re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def keyword_literals() -> set:
    """The grammar's literals that are words: what a person reads as a keyword."""
    return {w for w in grammar_literals() if re.search("[A-Za-z]", w)}


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                     postlex=DealIndenter(), keep_all_tokens=True, maybe_placeholders=False)


def _number_and_unit(value: str, unit: str) -> list:
    return ["unit" if c in unit else None if c.isspace() else "number" for c in value]


def _token_categories(tok: lark.Token, text: str) -> list:
    v, t = str(tok), tok.type
    if t == "NAME":
        after = text[tok.end_pos:].lstrip(" \t")
        builtin = (v in FUNCTIONS and after.startswith("(")) or v in VARIABLES
        return ["builtin" if builtin else "name"] * len(v)
    if t == "STRING":
        return ["string"] * len(v)
    if t == "DATE":
        return ["date"] * len(v)
    if t == "PERCENT":
        return _number_and_unit(v, "%")
    if t == "BP":
        return _number_and_unit(v, "bp")
    if t in ("AMOUNT", "NUMBER", "INT"):
        return ["number"] * len(v)
    if t == "PERIOD_SPAN":
        return ["operator" if c == "-" else "number" for c in v]
    if t == "SPEED_UNIT":
        return ["unit"] * len(v)
    if t == "DAY_COUNT" or re.search("[A-Za-z]", v):
        return [None if c.isspace() else "keyword" for c in v]
    if v in OPERATORS:
        return ["operator"] * len(v)
    if v in PUNCTUATION:
        return ["punctuation"] * len(v)
    raise AssertionError(f"a token this test does not know: {t} {v!r}")


def categories(text: str) -> list:
    """The category of every character of a deal file, None for blanks."""
    tree = _parser().parse(text)
    out = [None] * len(text)
    covered = [False] * len(text)
    for tok in tree.scan_values(lambda v: isinstance(v, lark.Token)):
        if tok.type in ("_NL", "_INDENT", "_DEDENT"):
            continue
        for i, c in enumerate(_token_categories(tok, text), tok.start_pos):
            out[i] = c
            covered[i] = True
    i = 0
    while i < len(text):
        if not covered[i] and text[i] == "#":
            while i < len(text) and text[i] != "\n":
                out[i] = "comment"
                i += 1
        elif not covered[i] and text[i] == "\\":
            out[i] = "punctuation"  # a line continuation
            i += 1
        else:
            assert covered[i] or text[i].isspace(), f"uncovered {text[i]!r} at {i}"
            i += 1
    return out
