"""No text of a deal reaches the generated C (issue 13, item 2).

A deal given to the library API (``dsl.parse.parse`` then ``engine.run(...,
engine="c")``) is compiled to C. Its labels, quoted strings, names, header and
file path are the author's text: written into a C comment, a backslash or
``??/`` before a carriage return splices the next characters out of the
comment, and the deal runs code of its choosing. The generator refers to
clauses, classes, formulas, distributions and funds by index and deal-file
line only, so a deal whose every piece of text is hostile compiles to the very
source of the same deal with plain text, runs to the numpy engine's results,
and runs nothing else.
"""
from pathlib import Path

import pytest

from dsl.check import check
from dsl.diagnostics import DealError
from dsl.parse import parse
from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
from interpreter.native import build as cbuild
from interpreter.assumptions import load_assumptions
from interpreter.engine import horizon, lower_program, run

from ..conftest import DEALS
from ..support import assert_same

needs_cc = pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")

CONTROLS = "".join(chr(i) for i in range(32) if i != 10) + "\x7f"  # all but LF: a string cannot span lines
HOSTILE = {
    "controls": CONTROLS,
    "nul": "\x00",
    "cr": "\r",
    "backslash-cr": "\\\r",
    "trigraph-cr": "??/\r",
    "comment-end": "*/",
    "comment-start": "/*",
    "spliced-comment-end": "*\\\r/",
    "trigraph-comment-end": "*??/\r/",
    "line-comment": "// ",
    "quotes": "'\"\\x",  # ' " \ x  (the deal spells the quote \")
    "preprocessor": "\r#include </dev/zero>\r#define double int\r",
    "non-ascii": "\u00e9\u20ac\U0001d11e\u2028\u2029\u0085\u202e\ufeff\u00a0",
}
EVERYTHING = "".join(HOSTILE.values())

# A small deal that names every kind of thing the language has and puts a label
# on each: {L} is replaced by a label for that place, {S} by the class set's name.
DEAL = """# a comment: {L}
deal "{L}"
    cutoff 2024-01-01
    closing 2024-01-30
    first distribution 2024-02-25
    distribution day 25, next business day
    pricing speed 100% PSA

index ZQIDX "{L}"
group zq-grp "{L}"
group 2

class Zq-A1 "{L}"
    balance 120,000,000
    coupon ZQIDX + 0.5%
    cap zq_cap_rate
    carryover
class Zq-B2 "{L}"
    balance 80,000,000
    coupon 6% + (if after(zq_event) then 0.5% else 0%)
class Zq-IO "{L}"
    notional balance("{S}") * zq_table
    coupon zq_param
class Zq-R9 "{L}"
    residual

classes "{S}" = Zq-A1, Zq-B2
table zq_table "{L}" by period
    1-12   50%
    13+    25%
define zq_cap_rate "{L}" = 5.25%
define zq_target "{L}" = 0.5% * balance("{S}")
parameter zq_param "{L}" default 0.25%
account zq_acct "{L}"
contract zq_contract "{L}" pays 0.0001 * balance("{S}")
distribution zq_dist "{L}"
    pay principal sequentially to "{S}"
event zq_event "{L}" when pool_end() <= 90% * cutoff_balance()

waterfall "{L}"
    clause "{C0}"
        from interest of all groups: pay current and unpaid interest pro rata to "{S}", Zq-IO
    clause "{C1}"
        from principal of all groups: pay principal to zq_dist
    clause "{C2}"
        from contract zq_contract: pay carryover to Zq-A1
        from interest of all groups: deposit to account zq_acct up to zq_target - zq_acct
    clause "{C3}"
        pay remaining to Zq-R9
losses "{L}"
    allocate sequentially to Zq-B2, Zq-A1
"""
NAMES = ("zq",)  # every name the deal declares starts so (any case): none may reach the C

YAML = """
collateral:
  - {group: zq-grp, balance: "120,000,000", gross rate: 6.50%, fee rate: 0.50%, remaining term: 120, age: 10}
  - {group: 2, balance: "80,000,000", gross rate: 7.25%, fee rate: 0.40%, remaining term: 100, age: 3}
defaults: {all: 4% CDR}
severity: 40%
recovery lag: 6
indices: {ZQIDX: 5%}
"""


def quoted(s: str) -> str:
    """``s`` in a deal's quoted string (the deal escapes only its quote)."""
    assert "\n" not in s and not s.endswith("\\") and '\\"' not in s
    return s.replace('"', '\\"')


def deal_text(label: str, clauses=None) -> str:
    clauses = clauses or [label + f" {k}" for k in range(4)]
    text = DEAL.replace("{S}", quoted(label + " set"))
    for k, c in enumerate(clauses):
        text = text.replace("{C%d}" % k, quoted(c))
    return text.replace("{L}", quoted(label))


def build(tmp_path, label: str, clauses=None, path="t.waterfall"):
    deal = parse(deal_text(label, clauses), path)
    assert not check(deal), [d.message for d in check(deal)]
    # the hostile text reached the deal as written: it is the labels' and names' own
    assert deal.header.name == label
    assert [c.label for c in deal.waterfall.clauses] == (clauses or [label + f" {k}" for k in range(4)])
    assert {s.name for s in deal.sets} == {label + " set"}
    y = tmp_path / "a.yaml"
    y.write_text(YAML)
    return deal, load_assumptions(y, deal)


def c_source(deal, a) -> str:
    return c_unit.generate(lower_program(deal, a, horizon(deal, a)))


def assert_plain(src: str) -> None:
    """Printable ASCII and newlines, no trigraph, no backslash, no string literal,
    and none of the deal's names."""
    assert all(" " <= ch <= "~" or ch == "\n" for ch in src)
    assert "??" not in src and "\\" not in src and '"' not in src
    assert not any(n in src.lower() for n in NAMES)


@pytest.fixture(scope="module")
def plain_source(tmp_path_factory):
    deal, a = build(tmp_path_factory.mktemp("plain"), "Plain label")
    return c_source(deal, a)


def test_the_source_names_nothing_of_the_deal(plain_source):
    assert "Plain" not in plain_source
    assert_plain(plain_source)


@pytest.mark.parametrize("what", [*HOSTILE, "everything"])
def test_hostile_text_leaves_the_c_source_as_it_is_for_plain_text(tmp_path, plain_source, what):
    label = EVERYTHING if what == "everything" else f"x {HOSTILE[what]} y"
    deal, a = build(tmp_path, label, path=f"{label}.waterfall")
    src = c_source(deal, a)
    assert label not in src
    assert_plain(src)
    assert src == plain_source


def exploit(marker: Path, splice: str) -> str:
    """A clause label that, were labels written into a C comment, would end the
    comment with a line splice and have the kernel call system()."""
    return f'Interest *{splice}/ int system(const char *); system("touch {marker}"); /*'


SPEEDS = [0.0, 1.0, 3.0]


@needs_cc
def test_hostile_deal_runs_to_the_numpy_engines_results(tmp_path):
    clauses = [EVERYTHING + f" {k}" for k in range(4)]
    deal, a = build(tmp_path, EVERYTHING, clauses, path=f"{tmp_path}/{EVERYTHING}.waterfall")
    rc = run(deal, a, SPEEDS, engine="c")
    assert_same(rc, run(deal, a, SPEEDS, engine="numpy"))
    assert rc.clause_labels == tuple(clauses)  # the labels stay on the Python side, whole
    assert rc.interest.sum() > 0 and rc.principal.sum() > 0 and rc.contracts.sum() > 0
    assert rc.accounts.sum() > 0 and rc.carryover_paid.sum() > 0 and rc.writedown.sum() > 0
    # the same numbers as the deal with plain labels
    plain, pa = build(tmp_path, "Plain label")
    assert_same(rc, run(plain, pa, SPEEDS, engine="c"))


@needs_cc
def test_a_label_that_splices_itself_out_of_a_comment_runs_nothing(tmp_path):
    markers = [tmp_path / "marker-backslash", tmp_path / "marker-trigraph"]
    clauses = [exploit(markers[0], "\\\r"), exploit(markers[1], "??/\r"), "Plain 2", "Plain 3"]
    deal, a = build(tmp_path, EVERYTHING, clauses)
    rc = run(deal, a, SPEEDS, engine="c")
    assert [m for m in markers if m.exists()] == []
    assert_same(rc, run(deal, a, SPEEDS, engine="numpy"))


@pytest.mark.parametrize("inside, expected", [
    ("\n", "unterminated string"),
    ("\\\n", "unterminated string"),
])
def test_a_string_cannot_span_lines(inside, expected):
    text = deal_text("ok").replace('"ok 1"', '"ok' + inside + '1"')
    with pytest.raises(DealError) as e:
        parse(text, "t.waterfall")
    (d,) = e.value.diagnostics
    line = 1 + next(i for i, l in enumerate(text.split("\n")) if l.endswith('clause "ok' + inside.rstrip("\n")))
    assert (d.message, d.span.line, d.span.column) == (expected, line, 12)


@pytest.mark.parametrize("bad", ["\x00", "\r", "\\\r", "\x1b", "\u00e9", "\u2028", "?", "*/"])
def test_text_outside_strings_is_refused_where_it_stands(bad):
    """A name holds ASCII letters, digits, '_' and '-' only: anything else in one is
    a positioned error (not a crash, and nothing that reaches the C)."""
    text = deal_text("ok").replace("class Zq-B2", "class Zq" + bad + "B2")
    line = 1 + text.split("\n").index(next(l for l in text.split("\n") if l.startswith("class Zq" + bad)))
    with pytest.raises(DealError) as e:
        parse(text, "t.waterfall")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column) == (line, 9), d.message


def test_no_number_of_the_deal_is_written_in_the_c():
    """Every number of the deal (balances, coupons, literals in formulas and limits,
    account balances) is an input of the kernel: none is C text."""
    seq = (DEALS / "sequential-cmo.waterfall").read_text()
    text = (seq.replace("80,000,000", "81,234,567").replace("5.50%", "5.4321%")
            .replace("pay remaining to R", "pay remaining to R up to 98,765,432 * 1.2345%"))
    deal = parse(text, "n.waterfall")
    a = load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", deal)
    src = c_unit.generate(lower_program(deal, a, horizon(deal, a)))
    for number in ("81234567", "054321", "98765432", "012345", "5.4321", "1.2345"):
        assert number not in src, number
    assert "s->K[" in src


@pytest.mark.parametrize("bad", ['"x"', "'x'", "a \\\n b", "/* ??/ */", "/* a /* b */", "// c", "\r", "\x00",
                                 "\u00e9", "\t", "*/"])
def test_the_generator_refuses_source_that_breaks_its_rules(monkeypatch, tmp_path, bad):
    """The last guard: were some text ever written into the source, generate()
    raises (a CompileError: a bug here; the numpy engine runs the deal instead)."""
    deal, a = build(tmp_path, "Plain label")
    gen = c_emit.Generator(lower_program(deal, a, horizon(deal, a)))
    fixed = c_unit._fixed
    monkeypatch.setattr(c_unit, "_fixed", lambda name: fixed(name) + "\nint probe; " + bad + "\n")
    with pytest.raises(c_emit.UnsafeSource):
        c_unit.assemble(gen)
    assert issubclass(c_emit.UnsafeSource, cbuild.CompileError)
