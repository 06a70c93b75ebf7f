"""Syntax highlighting of deal files: a Pygments lexer and the TextMate grammar
of the VS Code extension, both built from one table of rules (``RULES``).

The words are the grammar's (grammar/waterfall.lark): every string literal
with a letter in it is a keyword here, and tests/highlight checks both
highlighters against that list and against the parser's own tokens on every
bundled deal. The builtins are those of ``dsl.builtins``.

A regex lexer does not know where the parser stands, so a name spelt like a
keyword (a class called 'cap') shows as the keyword, except where a rule
knows a name comes: the name a section declares, and the one after
'account', 'contract' or 'event'. A class called 'balance' or 'notional'
shows as the builtin where '(' follows it.

The regexes are written in the common subset of Python's ``re`` and
Oniguruma (the regex engine of TextMate grammars): no named groups, no
possessive quantifiers, no ``\\h``/``\\A``/``\\z``, lookbehind of fixed width
only. The tests run the TextMate patterns with ``re``; keep to that subset.

Needs Pygments (the ``highlight`` extra); nothing else in the package
imports this module. ``pygmentize -l waterfall deal.waterfall`` finds the
lexer through the ``pygments.lexers`` entry point.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

from pygments.lexer import RegexLexer, bygroups, default
from pygments.token import (Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String,
                            Whitespace, _TokenType)

from .builtins import FUNCTIONS, VARIABLES

# Single-word keywords: the grammar's literals of one word.
KEYWORDS = (
    "account", "accrete", "accrued", "accrues", "all", "allocate", "and", "at", "balance", "between", "by", "cap",
    "carryover", "cashflow", "class", "classes", "clause", "closing", "contract", "count", "coupon",
    "cutoff", "day", "days", "deal", "default", "define", "delay", "deposit", "distribution", "else",
    "event", "excess", "first", "following", "from", "funds", "group", "groups", "if", "index",
    "initial", "interest", "into", "losses", "month", "months", "no", "not", "notional", "of", "or",
    "over", "overcollateralization", "parameter", "pay", "pays", "penalties", "period", "planned", "preceding", "pricing",
    "principal", "ramp", "releases", "remaining", "residual", "retires", "schedule", "sequentially", "settlement",
    "speed", "speeds", "table", "then", "to", "up", "waterfall", "when",
)
# Terminals of several words, one space apart as the grammar spells them (two
# spaces do not parse, so they are not highlighted either). Matched before
# their words: 'amount' in the last one is otherwise a builtin value.
PHRASES = (
    "current and unpaid interest", "current interest", "unpaid interest", "unpaid realized losses",
    "pro rata", "pro rata by balance then by amount owed",
    "next business day", "modified following", "no adjustment", "loan age", "deal month", "pass-through rate",
)
SPEED_UNITS = ("CPR", "SMM", "PSA", "PPC", "ABS")
DAY_COUNTS = ("actual/360", "actual/365", "actual/actual")  # and 30/360, after 'count' only
# Section keywords at the left margin whose next word is the name they declare.
CLASS_SECTION = "class"
TERM_SECTIONS = ("define", "parameter", "table", "account", "schedule", "contract", "distribution",
                 "event", "index")
# Class items that are also builtin functions ('balance 80,000,000' and
# 'balance(A)'): a keyword first on its line unless '(' follows at once.
ITEM_WORDS = tuple(sorted(set(KEYWORDS) & set(FUNCTIONS)))


class Kind(NamedTuple):
    """What a piece of text is, for each highlighter."""
    token: _TokenType  # Pygments
    scope: Optional[str]  # TextMate (None: left to the enclosing scope)


KEYWORD = Kind(Keyword, "keyword.other.waterfall")
UNIT = Kind(Keyword.Type, "keyword.other.unit.waterfall")  # %, bp, PSA: as CSS units are
DAY_COUNT = Kind(Keyword.Constant, "keyword.other.day-count.waterfall")
CLASS_NAME = Kind(Name.Class, "entity.name.type.class.waterfall")
TERM_NAME = Kind(Name.Function, "entity.name.function.waterfall")
BUILTIN = Kind(Name.Builtin, "support.function.builtin.waterfall")
BUILTIN_VALUE = Kind(Name.Builtin.Pseudo, "variable.language.waterfall")
NAME = Kind(Name, "variable.other.waterfall")
DATE = Kind(Literal.Date, "constant.other.date.waterfall")
INTEGER = Kind(Number.Integer, "constant.numeric.integer.waterfall")
FLOAT = Kind(Number.Float, "constant.numeric.float.waterfall")
OPERATOR = Kind(Operator, "keyword.operator.waterfall")
PUNCTUATION = Kind(Punctuation, "punctuation.separator.waterfall")
COMMENT = Kind(Comment.Single, "comment.line.number-sign.waterfall")
STRING = Kind(String.Double, "string.quoted.double.waterfall")
ESCAPE = Kind(String.Escape, "constant.character.escape.waterfall")
SPACE = Kind(Whitespace, None)


class Rule(NamedTuple):
    why: str
    regex: str
    kinds: tuple  # one Kind for the whole match, or one per group (the groups cover the match)


def _either(words) -> str:
    """An alternation of literal words, longest first."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))) + ")"


def _words(words) -> str:
    """Whole words: not followed by more of a name ('pay-1' is a name, not 'pay')."""
    return _either(words) + r"(?![\w-])"


_NAME = r"(?!\d+[eE][+-]?\d+(?![\w-])|\d+(?:\.\d+)?bp\b)(?:\d+-)*[A-Za-z0-9_]*[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"  # as the grammar's NAME: 1-A-1, M-2, LIBOR_1M

# In order: Pygments takes the first rule that matches where it stands; a
# TextMate engine takes the match that starts first, the earlier rule on a
# tie. Names come before numbers (1-A-1 is a name), keywords before names.
RULES = (
    Rule("a comment runs to the end of the line", r"#.*$", (COMMENT,)),
    Rule("a line continues after a backslash", r"\\[ \t\f]*$", (PUNCTUATION,)),
    Rule("the name a class section declares", rf"^({CLASS_SECTION})([ \t]+)({_NAME})",
         (KEYWORD, SPACE, CLASS_NAME)),
    Rule("the defined term a section declares",
         rf"^({'|'.join(TERM_SECTIONS)})([ \t]+)({_NAME})", (KEYWORD, SPACE, TERM_NAME)),
    Rule("a class item, not the builtin of the same name",
         rf"^([ \t]+)({'|'.join(ITEM_WORDS)})(?![\w(-])", (SPACE, KEYWORD)),
    Rule("the name of an account, contract or event, even one spelt like a keyword (contract cap)",
         rf"(account|contract|event)([ \t]+)({_NAME})", (KEYWORD, SPACE, NAME)),
    Rule("a date", r"\d{4}-\d{2}-\d{2}(?![\w-])", (DATE,)),
    Rule("a keyword of several words", _words(PHRASES), (KEYWORD,)),
    Rule("the 30/360 day count", r"(count)([ \t]+)(30/360)(?![\w/.-])", (KEYWORD, SPACE, DAY_COUNT)),
    Rule("the other day counts", _words(DAY_COUNTS), (DAY_COUNT,)),
    Rule("what a table is by ('period' is also a builtin value)", r"(by)([ \t]+)(period|month)(?![\w-])",
         (KEYWORD, SPACE, KEYWORD)),
    Rule("a builtin function", _either(FUNCTIONS) + r"(?=[ \t]*\()", (BUILTIN,)),
    Rule("a builtin value", _words(VARIABLES), (BUILTIN_VALUE,)),
    Rule("a prepayment speed unit", _words(SPEED_UNITS), (UNIT,)),
    Rule("a keyword", _words(KEYWORDS), (KEYWORD,)),
    Rule("a name", _NAME, (NAME,)),
    Rule("a percentage", r"(\d[\d,]*\.\d+)([ \t]?)(%)", (FLOAT, SPACE, UNIT)),
    Rule("a whole percentage", r"(\d[\d,]*)([ \t]?)(%)", (INTEGER, SPACE, UNIT)),
    Rule("basis points", r"(\d+\.\d+)([ \t]?)(bp)\b", (FLOAT, SPACE, UNIT)),
    Rule("whole basis points", r"(\d+)([ \t]?)(bp)\b", (INTEGER, SPACE, UNIT)),
    Rule("an amount with cents", r"\$?\d{1,3}(?:,\d{3})+\.\d+|\$\d+\.\d+", (FLOAT,)),
    Rule("an amount", r"\$?\d{1,3}(?:,\d{3})+|\$\d+", (INTEGER,)),
    Rule("a span of periods in a table", r"(\d+)(-)(\d+)(?![\w-])", (INTEGER, OPERATOR, INTEGER)),
    Rule("a decimal number", r"\d+\.\d+", (FLOAT,)),
    Rule("a whole number", r"\d+", (INTEGER,)),
    Rule("an operator (.. is a range of classes)", r"\.\.|<=|>=|==|!=|[<>+*/=-]", (OPERATOR,)),
    Rule("punctuation", r"[(),:]", (PUNCTUATION,)),
)
# Strings are a region: "..." with backslash escapes, ended by the line's end
# if unclosed (the grammar's strings are one line).
STRING_BEGIN, STRING_END, STRING_ESCAPE = r'"', r'"|$', r"\\."


def _pygments_rule(rule: Rule):
    if len(rule.kinds) == 1:
        return rule.regex, rule.kinds[0].token
    return rule.regex, bygroups(*(k.token for k in rule.kinds))


class WaterfallLexer(RegexLexer):
    """Deal files of the waterfall language (.waterfall)."""

    name = "Waterfall"
    aliases = ["waterfall"]
    filenames = ["*.waterfall"]
    mimetypes = ["text/x-waterfall"]

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (STRING_BEGIN, STRING.token, "string"),
            *(_pygments_rule(r) for r in RULES),
            (r"[ \t\f\r]+", Whitespace),
        ],
        "string": [
            (r'[^"\\\n]+', STRING.token),
            (STRING_ESCAPE, ESCAPE.token),
            (r'"', STRING.token, "#pop"),
            default("#pop"),  # an unclosed string ends with its line
        ],
    }


def tmlanguage() -> dict:
    """The TextMate grammar of editors/vscode (editors/make_tmlanguage.py writes it)."""
    def pattern(rule: Rule) -> dict:
        p = {"comment": rule.why, "match": rule.regex}
        if len(rule.kinds) == 1:
            p["name"] = rule.kinds[0].scope
        else:
            p["captures"] = {str(i): {"name": k.scope} for i, k in enumerate(rule.kinds, 1) if k.scope}
        return p

    string = {"comment": "a quoted string: a set of classes, a title, a clause's label",
              "begin": STRING_BEGIN, "end": STRING_END, "name": STRING.scope,
              "patterns": [{"match": STRING_ESCAPE, "name": ESCAPE.scope}]}
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "Waterfall",
        "scopeName": "source.waterfall",
        "fileTypes": ["waterfall"],
        "comment": "Generated by editors/make_tmlanguage.py from dsl/highlight.py; do not edit by hand.",
        "patterns": [string, *(pattern(r) for r in RULES)],
    }
