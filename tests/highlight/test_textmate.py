"""The TextMate grammar of the VS Code extension (editors/vscode): valid JSON
wired up by package.json, regexes in the subset Oniguruma and Python's re
share, every keyword of the grammar a keyword, and every character of every
bundled deal what the parser's own tokens say, tokenized the way a TextMate
engine does (tests/highlight/textmate.py)."""
from __future__ import annotations

import json
import re

import pytest

from dsl.builtins import FUNCTIONS, VARIABLES
from tests.highlight.reference import DEALS, LAYOUTS, deal_text, ROOT, categories, grammar_literals, keyword_literals
from tests.highlight.textmate import TextMate

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR_JSON = VSCODE / "syntaxes" / "waterfall.tmLanguage.json"
CONTEXT = {"period": "table t by {}"}  # as in test_pygments_lexer


@pytest.fixture(scope="module")
def grammar() -> dict:
    return json.loads(GRAMMAR_JSON.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine(grammar) -> TextMate:
    return TextMate(grammar)


def category(scopes: tuple) -> str | None:
    if not scopes:
        return None
    s = scopes[-1]
    for prefix, name in [("keyword.other.unit.", "unit"), ("keyword.operator.", "operator"),
                         ("keyword.", "keyword"), ("support.function.", "builtin"),
                         ("variable.language.", "builtin"), ("entity.name.", "name"),
                         ("variable.other.", "name"), ("constant.other.date.", "date"),
                         ("constant.numeric.", "number"), ("string.", "string"),
                         ("constant.character.escape.", "string"), ("comment.", "comment"),
                         ("punctuation.", "punctuation")]:
        if s.startswith(prefix):
            return name
    raise AssertionError(f"a scope this test does not know: {s}")


def regexes(node):
    if isinstance(node, dict):
        for key in ("match", "begin", "end"):
            if key in node:
                yield node[key]
        for v in node.values():
            yield from regexes(v)
    elif isinstance(node, list):
        for v in node:
            yield from regexes(v)


def test_package_json_contributes_the_language_and_its_grammar(grammar):
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    assert "vscode" in package["engines"] and "scripts" not in package  # no build step
    assert all((VSCODE / f).is_file() for f in package["files"])
    [language] = package["contributes"]["languages"]
    [contributed] = package["contributes"]["grammars"]
    assert language["id"] == contributed["language"] == "waterfall"
    assert language["extensions"] == [".waterfall"]
    assert (VSCODE / language["configuration"]).is_file()
    assert VSCODE / contributed["path"] == GRAMMAR_JSON
    assert contributed["scopeName"] == grammar["scopeName"] == "source.waterfall"


def test_the_language_configuration_has_the_grammar_comment_and_brackets():
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}  # the grammar's COMMENT: /#[^\n]*/
    assert "(" in grammar_literals() and ")" in grammar_literals()
    assert config["brackets"] == [["(", ")"]]
    assert {"open": "(", "close": ")"} in config["autoClosingPairs"]
    for rx in config["indentationRules"].values():
        re.compile(rx)


def test_the_regexes_stay_in_the_subset_oniguruma_and_python_share(grammar):
    found = list(regexes(grammar["patterns"]))
    assert len(found) > 20
    for rx in found:
        re.compile(rx)
        # Python-only (?P<..>), Oniguruma-only named groups, possessive quantifiers, \h, \A, \z, \Z
        assert not re.search(r"\(\?P?<[A-Za-z]|[*+?}]\+|\\[hAzZ]", rx), rx
        # lookbehind must be of fixed width in both: no quantifier inside one
        for body in re.findall(r"\(\?<[=!]((?:[^()]|\([^()]*\))*)\)", rx):
            assert not re.search(r"(?<!\\)[*+?{]", re.sub(r"\[[^\]]*\]", "", body)), rx


def test_the_grammar_json_is_what_the_generator_writes(grammar):
    pytest.importorskip("pygments")
    from dsl.highlight import tmlanguage
    # Out of date: run  python editors/make_tmlanguage.py
    assert grammar == tmlanguage()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("deal", DEALS, ids=lambda p: p.name)
def test_every_character_of_a_bundled_deal_is_what_the_parser_says(engine, deal, layout):
    text = deal_text(deal, layout)
    want = categories(text)
    got = [category(s) for s in engine.tokenize(text)]
    assert len(got) == len(text)
    wrong = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w is not None and w != g]
    if wrong:
        i, w, g = wrong[0]
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        pytest.fail(f"{deal.name} ({layout}):{line}:{col}: parser says {w}, TextMate grammar {g}\n"
                    f"{text.splitlines()[line - 1]}\n{' ' * (col - 1)}^ ({len(wrong)} characters differ)")


@pytest.mark.parametrize("word", sorted(keyword_literals()))
def test_every_keyword_literal_of_the_grammar_is_a_keyword(engine, word):
    text = CONTEXT.get(word, "{}").format(word)
    start = text.index(word)
    scopes = engine.tokenize(text + "\n")[start:start + len(word)]
    assert all(s and s[-1].startswith("keyword.") for s, ch in zip(scopes, word) if not ch.isspace()), scopes


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_builtin_function_call_is_a_builtin(engine, name):
    text = f"define x = {name}(A)\n"
    start = text.index(name, 8)
    assert {s[-1] for s in engine.tokenize(text)[start:start + len(name)]} == {"support.function.builtin.waterfall"}


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_a_builtin_value_is_a_builtin(engine, name):
    text = f"define x = {name} + 1\n"
    start = text.index(name, 8)
    assert {s[-1] for s in engine.tokenize(text)[start:start + len(name)]} == {"variable.language.waterfall"}


def spans(engine, text: str) -> list:
    """(text, innermost scope) of each run of characters with the same scopes, blanks left out."""
    out, scopes = [], engine.tokenize(text)
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and scopes[j] == scopes[i]:
            j += 1
        if scopes[i]:
            out.append((text[i:j], scopes[i][-1].rsplit(".waterfall", 1)[0]))
        i = j
    return out


def test_each_kind_of_word_in_a_snippet_gets_its_own_scope(engine):
    text = ('class 1-A-1 "Senior \\"A\\""   # p.3\n'
            "    coupon 0.160%\n"
            "    notional  min(io_1, pool_begin(group 1))\n"
            "    pricing speed 300% PSA\n"
            "    day count 30/360\n"
            "define x = if period < 37 and date >= 2004-11-01 then 25bp else amount\n"
            "    then pay current interest pro rata to 1-A-1 .. 1-A-6\n")
    assert spans(engine, text) == [
        ("class", "keyword.other"), ("1-A-1", "entity.name.type.class"), ('"Senior ', "string.quoted.double"),
        ('\\"', "constant.character.escape"), ("A", "string.quoted.double"),
        ('\\"', "constant.character.escape"), ('"', "string.quoted.double"),
        ("# p.3", "comment.line.number-sign"),
        ("coupon", "keyword.other"), ("0.160", "constant.numeric.float"), ("%", "keyword.other.unit"),
        ("notional", "keyword.other"), ("min", "support.function.builtin"), ("(", "punctuation.separator"),
        ("io_1", "variable.other"), (",", "punctuation.separator"), ("pool_begin", "support.function.builtin"),
        ("(", "punctuation.separator"), ("group", "keyword.other"), ("1", "constant.numeric.integer"),
        ("))", "punctuation.separator"),
        ("pricing", "keyword.other"), ("speed", "keyword.other"), ("300", "constant.numeric.integer"),
        ("%", "keyword.other.unit"), ("PSA", "keyword.other.unit"),
        ("day", "keyword.other"), ("count", "keyword.other"), ("30/360", "keyword.other.day-count"),
        ("define", "keyword.other"), ("x", "entity.name.function"), ("=", "keyword.operator"),
        ("if", "keyword.other"), ("period", "variable.language"), ("<", "keyword.operator"),
        ("37", "constant.numeric.integer"), ("and", "keyword.other"), ("date", "variable.language"),
        (">=", "keyword.operator"), ("2004-11-01", "constant.other.date"), ("then", "keyword.other"),
        ("25", "constant.numeric.integer"), ("bp", "keyword.other.unit"), ("else", "keyword.other"),
        ("amount", "variable.language"),
        ("then", "keyword.other"), ("pay", "keyword.other"), ("current interest", "keyword.other"),
        ("pro rata", "keyword.other"), ("to", "keyword.other"), ("1-A-1", "variable.other"),
        ("..", "keyword.operator"), ("1-A-6", "variable.other"),
    ]


def test_a_keyword_inside_a_hyphenated_name_is_a_name(engine):
    assert spans(engine, "    pay-1 to-B class-x\n") == [
        ("pay-1", "variable.other"), ("to-B", "variable.other"), ("class-x", "variable.other")]


def test_random_deals_are_tokenized_as_the_parser_reads_them(engine):
    from hypothesis import given, settings

    from tests.support import deals

    @settings(max_examples=30, deadline=None)
    @given(text=deals())
    def inner(text):
        want, got = categories(text), [category(s) for s in engine.tokenize(text)]
        assert [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w is not None and w != g] == []
    inner()
