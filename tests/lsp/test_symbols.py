"""The index of names behind the language server (dsl/symbols.py): no pygls needed."""
from pathlib import Path

import pytest

from dsl.parse import parse
from dsl.symbols import BUILTIN, GROUP, NAMES, index_deal, index_text, outline_deal, outline_text, word_at

DEALS = Path(__file__).resolve().parents[2] / "deals"
ALL_DEALS = sorted(DEALS.glob("*.waterfall"))
SEQ = DEALS / "sequential-cmo.waterfall"
J4 = DEALS / "cwalt-2004-j4.waterfall"


def _deal(path):
    return parse(path.read_text(encoding="utf-8"), str(path))


def _text_at(deal, span):
    return deal.source.splitlines()[span.line - 1][span.column - 1:span.end_column - 1]


def _find(text, needle, nth=0):
    """(line, column) of the nth occurrence of needle, 1-based: where a person reads it in the file."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


@pytest.mark.parametrize("path", ALL_DEALS, ids=lambda p: p.stem)
def test_every_occurrence_spans_its_name_and_resolves(path):
    # Invariant: a checked deal has no unknown names, so every use resolves to a declaration,
    # and the text under each span is the name (a set's name with its quotes).
    deal = _deal(path)
    index = index_deal(deal)
    assert index.parsed and index.symbols
    for occ in index.occurrences:
        assert _text_at(deal, occ.span).strip('"') == occ.key[1], occ
        if occ.key[0] != BUILTIN:
            assert index.definition(occ.key) is not None, occ


@pytest.mark.parametrize("path", ALL_DEALS, ids=lambda p: p.stem)
def test_line_scan_outline_matches_the_parsed_one(path):
    # The outline of a file that does not parse comes from a line scan; on a file that
    # parses the two must agree item for item (kinds, names, positions, clauses).
    deal = _deal(path)

    def shape(items):
        return [(i.kind, i.name, i.span, i.extent, shape(i.children)) for i in items]
    assert shape(outline_text(deal.source, str(path))) == shape(outline_deal(deal))


def test_class_a_of_the_sequential_cmo():
    deal = _deal(SEQ)
    text = deal.source
    index = index_deal(deal)
    a = index.definition((NAMES, "A"))
    assert a.kind == "class" and a.title == "Sequential"
    assert (a.span.line, a.span.column) == (_find(text, 'class A "')[0], len("class ") + 1)
    # its block: 'class A' and its four indented lines
    assert (a.extent.line, a.extent.end_line) == (a.span.line, a.span.line + 4)
    # paid interest (clause 1) and principal (clause 2): two uses and the declaration
    uses = [(o.span.line, o.span.column) for o in index.references((NAMES, "A"), include_declaration=False)]
    (l1, c1), (l2, c2) = _find(text, "to A, B"), _find(text, "to A, B", 1)
    assert uses == [(l1, c1 + len("to ")), (l2, c2 + len("to "))]
    assert len(index.references((NAMES, "A"))) == 3
    # group 1: declared once, named by each class and by both 'from' steps
    assert len(index.references((GROUP, "1"), include_declaration=False)) == 4 + 2


def test_the_cursor_finds_the_name_under_it_or_just_after_it():
    deal = _deal(J4)
    index = index_deal(deal)
    line, col = _find(deal.source, "lockout * prior_balance(1-A-6)")
    for c in (col, col + 3, col + len("lockout")):
        occ = index.at(line, c)
        assert occ.key == (NAMES, "lockout")
    assert index.at(line, col + len("lockout * ")).key == (BUILTIN, "prior_balance")
    rng = index.at(*_find(deal.source, "1-A-1 .. 1-A-6"))
    assert rng.key == (NAMES, "1-A-1")
    line, col = _find(deal.source, "1-A-1 .. 1-A-6")
    assert index.at(line, col + len("1-A-1 .. ")).key == (NAMES, "1-A-6")


def test_j4_names_of_every_kind_resolve_to_their_declarations():
    deal = _deal(J4)
    index = index_deal(deal)
    kinds = {s.kind for s in index.symbols}
    assert {"class", "class set", "group", "index", "table", "formula", "parameter", "event",
            "distribution", "contract"} <= kinds
    used = {index.definition(o.key).kind for o in index.occurrences
            if o.key[0] != BUILTIN and not o.is_declaration}
    assert {"class", "class set", "group", "index", "table", "formula", "parameter", "event",
            "distribution", "contract"} <= used
    # the lockout table: declared once, used once (the Class 1-A Principal Distribution)
    refs = index.references((NAMES, "lockout"))
    assert [r.span.line for r in refs] == [_find(deal.source, "table lockout")[0],
                                      _find(deal.source, "lockout * prior")[0]]


def test_a_file_that_does_not_parse_still_has_its_declarations():
    text = SEQ.read_text(encoding="utf-8").replace("    coupon    5.75%", "    coupon    5.75% +")
    with pytest.raises(Exception):
        parse(text, "x.waterfall")
    index = index_text(text, "x.waterfall")
    assert not index.parsed
    assert [s.name for s in index.symbols] == ["1", "A", "B", "C", "D", "R"]
    assert index.definition((NAMES, "C")).span.line == _find(text, "class C")[0]
    outline = outline_text(text, "x.waterfall")
    assert [i.kind for i in outline] == ["deal", "group"] + ["class"] * 5 + ["waterfall"]
    assert [c.name for c in outline[-1].children] == ["1) Interest", "2) Principal", "3) Residual"]


def test_an_unfinished_declaration_is_left_out_of_the_scan():
    items = outline_text('deal "X"\nclass \nclass A\n', "x")
    assert [(i.kind, i.name) for i in items] == [("deal", "X"), ("class", "A")]


def test_word_at():
    assert word_at('pay principal to "Class 1-A" up to x\n', 1, 20)[0] == "Class 1-A"
    assert word_at("pay principal to 1-A-1\n", 1, 20)[0] == "1-A-1"
    assert word_at("pay principal to 1-A-1\n", 3, 1) is None
