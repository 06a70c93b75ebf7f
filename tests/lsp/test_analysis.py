"""What the language server answers, without the protocol (interpreter/lsp/analysis.py): no pygls needed."""
import re
import shutil
from pathlib import Path

import pytest

from interpreter.cli import main as run_deal
from interpreter.lsp.analysis import (analyse, completions, definition, hover, keywords, outline, references,
                                      saved_diagnostics)

DEALS = Path(__file__).resolve().parents[2] / "deals"
SEQ = DEALS / "sequential-cmo.waterfall"
J4 = DEALS / "cwalt-2004-j4.waterfall"
BROKEN = {  # what a person might type, and the kind of error it is
    "syntax": ("    coupon    5.75%", "    coupon    5.75% +"),
    "name": ("pay principal sequentially to A, B, C, D", "pay principal sequentially to A, B, C, E"),
    "date": ("closing             2024-01-30", "closing             2023-12-30"),
}


@pytest.fixture
def seq(tmp_path):
    """The sequential CMO and its assumptions, copied where a test may change them."""
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / "seq.assumptions.yaml")
    path = tmp_path / "seq.waterfall"
    path.write_text(SEQ.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _check_lines(path, capsys):
    """run-deal --check's messages, as (file, line, column, message)."""
    assert run_deal([str(path), "--check"]) == 2
    err = capsys.readouterr().err
    return [m.groups() for m in re.finditer(r"^(\S+?):(\d+):(\d+): error: (.*)$", err, re.M)]


def _as_lines(by_file):
    return [(d.span.file, str(d.span.line), str(d.span.column), d.message)
            for diags in by_file.values() for d in diags]


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_the_editors_text_gets_the_messages_of_check(seq, capsys, kind):
    old, new = BROKEN[kind]
    text = seq.read_text(encoding="utf-8").replace(old, new)
    a = analyse(text, str(seq))  # the file on disk is still sound: the editor's text is what counts
    seq.write_text(text, encoding="utf-8")
    expected = _check_lines(seq, capsys)
    assert expected and _as_lines(a.diagnostics) == expected
    assert (a.deal is None) == (kind == "syntax")


def test_a_sound_deal_has_no_diagnostics_for_either_file(seq):
    a = analyse(seq.read_text(encoding="utf-8"), str(seq))
    assert a.diagnostics == {str(seq): [], str(seq.with_suffix("")) + ".assumptions.yaml": []}
    assert saved_diagnostics(str(seq)) == a.diagnostics


def test_the_assumptions_beside_the_deal_are_checked_against_its_text(seq, capsys):
    apath = seq.parent / "seq.assumptions.yaml"
    apath.write_text(apath.read_text(encoding="utf-8").replace("gross rate", "gross rte"), encoding="utf-8")
    a = analyse(seq.read_text(encoding="utf-8"), str(seq))
    assert a.diagnostics[str(seq)] == []
    assert _as_lines(a.diagnostics) == _check_lines(seq, capsys)
    missing, unknown = a.diagnostics[str(apath)]
    assert (missing.span.line, missing.span.column) == (5, 5)  # the line ('- group: 1') lacks a gross rate
    assert (unknown.span.line, unknown.span.column) == (7, 5)  # '    gross rte: 6.50%' is line 7 of the YAML
    assert "did you mean 'gross rate'" in unknown.hint
    # a group the deal does not have is known only from the deal's text in the editor
    apath.write_text(apath.read_text(encoding="utf-8").replace("gross rte", "gross rate"), encoding="utf-8")
    text = seq.read_text(encoding="utf-8").replace("group 1 ", "group 2 ").replace("group     1", "group     2") \
        .replace("group 1:", "group 2:")
    [d] = analyse(text, str(seq)).diagnostics[str(apath)]
    assert "group" in d.message and d.span.line == 5


def test_without_an_assumptions_file_the_deal_alone_is_checked(tmp_path):
    path = tmp_path / "alone.waterfall"
    a = analyse(SEQ.read_text(encoding="utf-8"), str(path))
    assert not any(a.diagnostics.values())


def test_save_runs_the_check_path_on_the_saved_file(seq):
    seq.write_text(seq.read_text(encoding="utf-8").replace(*BROKEN["name"]), encoding="utf-8")
    messages = [d.message for d in saved_diagnostics(str(seq))[str(seq)]]
    assert messages == ["class D has a balance but no clause pays it principal", "unknown class 'E': the deal has classes A, B, C, D and R"]


def _pos(text, needle, offset=0):
    at = text.index(needle) + offset
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def test_hover_shows_a_class_block_a_formula_a_table_and_a_builtin():
    text = J4.read_text(encoding="utf-8")
    a = analyse(text, str(J4))
    md, span = hover(a, *_pos(text, "lockout * prior_balance"))
    assert "**Lockout Percentage**: table `lockout`" in md
    assert "1-36    0%" in md and "85+     300%" in md  # its rows as written
    md, _ = hover(a, *_pos(text, "prior_balance(1-A-6)", len("prior_balance(")))
    assert "class `1-A-6`" in md and 'class 1-A-6 "Fixed Rate Lockout"\n    balance   28,365,000\n' in md
    md, _ = hover(a, *_pos(text, "oc_target", 0))
    assert "Overcollateralization Target" in md and "define oc_target" in md
    md, _ = hover(a, *_pos(text, "prior_balance(1-A-6)"))
    assert "prior_balance(class, ...)" in md and "start of the period" in md
    md, _ = hover(a, *_pos(text, "pool_end()"))
    assert "pool_end([group])" in md


def test_definition_and_references_of_a_distribution():
    text = J4.read_text(encoding="utf-8")
    a = analyse(text, str(J4))
    decl = _pos(text, "distribution class_1a_principal", len("distribution "))
    # every 'pay principal to class_1a_principal' routes cash through it (six in J4)
    uses = [(text.count("\n", 0, m.start()) + 1, m.start() - text.rfind("\n", 0, m.start()) + len("to "))
            for m in re.finditer(r"to class_1a_principal", text)]
    assert len(uses) == 6
    sym = definition(a, *uses[3])
    assert sym.kind == "distribution" and (sym.span.line, sym.span.column) == decl
    assert [(s.line, s.column) for s in references(a, *decl)] == [decl] + uses
    assert [(s.line, s.column) for s in references(a, *uses[0], include_declaration=False)] == uses


def test_a_text_that_does_not_parse_still_navigates_to_declarations():
    text = SEQ.read_text(encoding="utf-8").replace(*BROKEN["syntax"])
    a = analyse(text, str(SEQ))
    assert a.deal is None
    use = _pos(text, "to A, B", len("to "))
    sym = definition(a, *use)
    assert (sym.kind, sym.name, sym.span.line) == ("class", "A", _pos(text, "class A")[0])
    assert "balance   80,000,000" in hover(a, *use)[0]
    assert [i.kind for i in outline(a)][:3] == ["deal", "group", "class"]


def test_completion_offers_names_builtins_and_keywords():
    a = analyse(SEQ.read_text(encoding="utf-8"), str(SEQ))
    by_label = {c.label: c for c in completions(a)}
    assert by_label["A"].kind == "class" and by_label["1"].kind == "group"
    assert by_label["prior_balance"].kind == "function" and by_label["period"].kind == "value"
    for word in ("pay", "sequentially", "pro rata", "current and unpaid interest", "waterfall", "clause"):
        assert by_label[word].kind == "keyword"
    assert "pro rata by balance then by amount owed" in keywords()


def test_every_text_short_of_a_line_is_answered(tmp_path):
    # What an editor holds while a person types: the sequential CMO with any one line
    # taken out. Each is analysed without an exception, each diagnostic is inside the
    # text, and the outline, completion and a hover at every known name still answer.
    lines = SEQ.read_text(encoding="utf-8").splitlines(True)
    path = str(tmp_path / "seq.waterfall")
    for i in range(len(lines)):
        text = "".join(lines[:i] + lines[i + 1:])
        a = analyse(text, path)
        for d in a.diagnostics[path]:
            assert 1 <= d.span.line <= text.count("\n") + 1, (i, d)
        assert outline(a) and completions(a)
        for occ in a.index.occurrences:
            known = occ.key[0] == "builtin" or a.index.definition(occ.key) is not None
            assert (hover(a, occ.span.line, occ.span.column) is not None) == known, (i, occ)
