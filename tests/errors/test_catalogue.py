"""The error catalogue: one small broken input per kind of error, run through
``run-deal`` in-process, with the message a person sees checked for shape and
position.

Every case is the bundled sequential CMO (deal and assumptions) with one small
text edit. Two tests run over every case:

* ``test_shape``: exit status 2, a ``file:line:col: error: ...`` line (or
  ``run-deal: error: ...`` for a bad option), the source line echoed under it
  with a caret line under the column it names, and no traceback anywhere.
* ``test_position``: the diagnostic names the right line and column, says the
  right thing, and offers "did you mean" where a name is misspelt.

Positions are found in the broken text itself (``at(text, needle)``), never
typed in by hand, so an edit to the bundled deal does not break the catalogue.

Cases marked xfail(strict=True) are known bugs (listed in each reason, with
the fix); when a fix lands the test XPASSes, fails, and the mark should go.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Optional, Tuple

import attrs
import pytest

from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")


# ------------------------------------------------------------------ helpers
def edit(text: str, old: str, new: str) -> str:
    """Replace the single occurrence of old (which must be there exactly once)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the bundled file"
    return text.replace(old, new)


def at(text: str, needle: str, offset: int = 0) -> Tuple[int, int]:
    """1-based (line, column) of needle (which must occur once) plus offset characters."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    i = text.index(needle) + offset
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, col


@attrs.frozen
class Case:
    id: str
    deal: str = DEAL
    yaml: str = YAML
    args: tuple = ()
    which: str = "deal"  # the file the diagnostic is about: 'deal', 'yaml' or 'cli'
    where: Optional[Callable] = None  # (deal, yaml) -> (line, col) of the expected diagnostic
    message: str = ""  # a piece of the expected message
    hint: str = ""  # e.g. "did you mean 'C'?"
    expected: str = ""  # a piece of the 'expected ...' line
    position_bug: str = ""  # reason for xfail on the position test
    crash_bug: str = ""  # reason for xfail on every test (the input raises a traceback today)


def run_cli(tmp_path: Path, capsys, deal: str, yaml: str, args=()) -> tuple:
    deal_path = tmp_path / "deal.waterfall"
    deal_path.write_text(deal, encoding="utf-8")
    (tmp_path / "deal.assumptions.yaml").write_text(yaml, encoding="utf-8")
    try:
        rc = main([str(deal_path), *args])
    except SystemExit as e:  # argparse
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err, deal_path, tmp_path / "deal.assumptions.yaml"


HEADER_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")


def diagnostics(err: str) -> list:
    """Split stderr into diagnostics: (file, line, col, message, following lines)."""
    out = []
    for text in err.splitlines():
        m = HEADER_RE.match(text)
        if m:
            out.append([m["file"], int(m["line"]), int(m["col"]), m["msg"], []])
        elif out:
            out[-1][4].append(text)
    return out


def assert_echo_and_caret(diag, source: str):
    """The source line is echoed indented by four spaces and a caret line
    stands under the column the header names."""
    file, line, col, msg, rest = diag
    lines = source.splitlines()
    assert 1 <= line <= len(lines), f"{file}:{line}:{col} is outside the file ({len(lines)} lines)"
    assert col >= 1
    assert len(rest) >= 2, f"no echoed line and caret under {file}:{line}:{col}: {msg}"
    assert rest[0] == "    " + lines[line - 1].rstrip("\n"), "the echoed line is not the named line"
    caret = rest[1]
    assert caret.startswith("    ") and caret.strip() and set(caret.strip()) == {"^"}, f"not a caret line: {caret!r}"
    assert caret.index("^") == 4 + col - 1, f"caret at column {caret.index('^') - 3}, header says {col}"


# ------------------------------------------------------------------ the catalogue
def _deal(id, deal, needle, offset=0, **kw):
    return Case(id=id, deal=deal, which="deal", where=lambda d, y: at(d, needle, offset), **kw)


def _yaml(id, yaml, needle, offset=0, **kw):
    return Case(id=id, yaml=yaml, which="yaml", where=lambda d, y: at(y, needle, offset), **kw)


_SETS_DEAL = edit(edit(DEAL, 'waterfall "Priority', 'classes "Seniors" = A, B\n\nwaterfall "Priority'),
                  "pay principal sequentially to A, B, C, D", 'pay principal sequentially to "Senior", C, D')
_DUP_D = 'class D "Again"\n    balance   1,000,000\n    coupon    1.00%\n    group     1\n\n'

# A table of Class A's coupon by period; sequential-cmo's one collateral line
# has 358 months to run, so its run reaches period 358.
_RATE_TABLE = 'table rate "Class A Coupon" by period\n    1-36    5.50%\n    37-{last}  5.75%\n\nwaterfall "Priority'


def _rate_table_deal(last: int) -> str:
    return edit(edit(DEAL, 'waterfall "Priority', _RATE_TABLE.format(last=last)), "coupon    5.50%", "coupon    rate")


_PARAM_DEAL = edit(edit(DEAL, 'waterfall "Priority', 'parameter step_up "Class A step-up"\n\nwaterfall "Priority'),
                   "coupon    5.50%", "coupon    5.50% + step_up")

CASES = [
    # ---- syntax
    _deal("syntax: missing balance value", edit(DEAL, "balance   80,000,000", "balance"),
          "    balance\n", offset=len("    balance"),
          message="unexpected end of line", expected="an amount"),
    _deal("syntax: stray word", edit(DEAL, 'class B "Sequential"', 'class B "Sequential" extra'),
          "extra", message="unexpected 'extra'", expected="end of line"),
    _deal("syntax: stray character", edit(DEAL, "coupon    5.50%", "coupon    5.50% %"),
          "5.50% %", offset=6, message="unexpected character '%'"),
    _deal("syntax: over-indented line", edit(DEAL, "    coupon    5.75%", "      coupon    5.75%"),
          "      coupon    5.75%", offset=6, message="unexpected indentation"),
    _deal("syntax: dedent to a column no block opened", edit(DEAL, 'class B "Sequential"', ' class B "Sequential"'),
          ' class B', offset=1, message="indent"),
    _deal("syntax: unterminated string",
          edit(DEAL, 'group 1 "30-year fixed-rate pass-through"', 'group 1 "30-year fixed-rate pass-through'),
          '"30-year', message="unterminated string"),
    # ---- names
    _deal("unknown class in a pay step",
          edit(DEAL, "unpaid interest sequentially to A, B, C, D", "unpaid interest sequentially to A, B, CC, D"),
          "CC", message="unknown class 'CC'", hint="did you mean 'C'?"),
    _deal("unknown group in a from clause", edit(DEAL, "from principal of group 1", "from principal of group 2"),
          "principal of group 2", message="unknown group '2'"),
    _deal("unknown group in a class", edit(DEAL, "group     1\n\nclass B", "group     2\n\nclass B"),
          "group     2", message="class A: unknown group '2'"),
    _deal("unknown class set", _SETS_DEAL, '"Senior"', message='unknown class set "Senior"',
          hint="did you mean 'Seniors'?"),
    _deal("unknown function", edit(DEAL, "coupon    5.50%", "coupon    minn(5.50%, 6%)"),
          "minn(", message="unknown function 'minn'", hint="did you mean 'min'?"),
    _deal("unknown name in an expression",
          edit(DEAL, "coupon    5.50%", "coupon    if perod > 12 then 5.50% else 5.25%"),
          "perod", message="unknown name 'perod'", hint="did you mean 'period'?"),
    _deal("duplicate class", edit(DEAL, 'class R "Residual"', _DUP_D + 'class R "Residual"'),
          'class D "Again"', message="'D' is declared twice", hint="first declared as a class at line"),
    # ---- units
    _deal("a dollar amount as a coupon", edit(DEAL, "coupon    5.50%", "coupon    5,500,000"),
          "5,500,000", message="dollar amount '5,500,000'", expected="a percentage"),
    _deal("a percent as a balance", edit(DEAL, "balance   80,000,000", "balance   80%"),
          "80%", message="a balance is a dollar amount", expected="an amount"),
    # ---- dates
    _deal("impossible date", edit(DEAL, "closing             2024-01-30", "closing             2024-02-30"),
          "2024-02-30", message="impossible date '2024-02-30'"),
    _deal("closing before cut-off", edit(DEAL, "closing             2024-01-30", "closing             2023-12-30"),
          "2023-12-30", message="is before the cut-off date"),
    _deal("first distribution before closing",
          edit(DEAL, "first distribution  2024-02-25", "first distribution  2024-01-25"),
          "2024-01-25", message="is not after closing"),
    # ---- coverage
    _deal("a class no clause pays principal",
          edit(DEAL, "pay principal sequentially to A, B, C, D", "pay principal sequentially to A, B, C"),
          'class D "Sequential"', message="class D has a balance but no clause pays it principal"),
    _deal("no residual clause", edit(DEAL, '    clause "3) Residual"\n        pay remaining to R\n', ""),
          'waterfall "Priority', message="no clause releases the remaining cash"),
    _deal("table rows that skip periods",
          DEAL + '\ntable lockout "Lockout Percentage" by period\n    1-36     0%\n    40+      100%\n',
          "40+", message="expected a row starting at 37, found 40"),
    _deal("circular define", DEAL + "\ndefine a = b\ndefine b = a\n", "define a = b", offset=len("define a = "),
          message="circular definition: a -> b -> a"),  # at the reference that closes the circle
    # ---- the run's reach: known once the assumptions say how many periods the run makes
    _deal("a table the run outlives", _rate_table_deal(60), "37-60",
          message="table rate ends at period 60 but the deal runs 358 periods",
          expected="an open last row such as '61+'"),
    Case("a horizon past a table's last row", deal=_rate_table_deal(358), yaml=YAML + "horizon: 360\n",
         which="deal", where=lambda d, y: at(d, "37-358"),
         message="table rate ends at period 358 but the deal runs 360 periods"),
    # 358 monthly distributions from 2024-02-25: the last on 2053-11-25 (357 months on, a Tuesday)
    _deal("settlement after the run's last payment",
          edit(DEAL, "settlement          2024-01-30", "settlement          2054-01-30"), "2054-01-30",
          message="settlement 2054-01-30 is on or after the last payment of the run (2053-11-25, after 358 periods)",
          expected="a settlement date before 2053-11-25"),
    _deal("a parameter without a default that the assumptions do not set", _PARAM_DEAL, 'parameter step_up',
          message="parameter 'step_up' has no value: set it under 'parameters:'"),
    # ---- assumptions
    _yaml("yaml: bad syntax", edit(YAML, "    gross rate: 6.50%", "    gross rate: rate: 6.50%"),
          "rate: rate:", offset=len("rate: rate"), message="bad YAML"),
    _yaml("yaml: unknown top-level key", edit(YAML, "speeds:", "speds:"), "speds:",
          message="unknown key 'speds'", hint="did you mean 'speeds'?"),
    _yaml("yaml: misspelt line key", edit(YAML, "gross rate:", "gross_rate:"), "gross_rate",
          message="unknown key 'gross_rate'", hint="did you mean 'gross rate'?"),
    _yaml("yaml: a rate without a unit", edit(YAML, "gross rate: 6.50%", "gross rate: 6.5"), "6.5\n",
          message="gross rate: 6.5 has no unit", expected="a percentage such as 6.5%"),
    _yaml("yaml: unknown group in a line", edit(YAML, "group: 1", "group: 2"), "2\n    balance",
          message="unknown group '2'"),
    _yaml("yaml: missing required key", edit(YAML, "    remaining term: 358\n", ""), "group: 1",
          message="has no 'remaining term'"),
    _yaml("yaml: a speed that is not a number", edit(YAML, "speeds: [0%, 50%,", "speeds: [0%, fast,"),
          "fast", message="cannot read 'fast'"),
    _yaml("yaml: impossible date as a value", edit(YAML, "balance: 200,000,000", "balance: 2024-02-30"),
          "2024-02-30", message="2024-02-30"),
    # ---- options
    Case("cli: --speeds abc", args=("--speeds", "abc"), which="cli", message="--speeds: cannot read 'abc'"),
    Case("cli: --class Z unknown", args=("--class", "Z"), which="cli", message="--class: unknown class 'Z'"),
    Case("cli: --class misspelt", args=("--class", "a"), which="cli", message="--class: unknown class 'a'",
         hint="did you mean 'A'?"),
    Case("cli: --price X=100 unknown class", args=("--price", "X=100"), which="cli",
         message="--price: unknown class 'X'"),
    Case("cli: --price misspelt class", args=("--price", "AA=100"), which="cli",
         message="--price: unknown class 'AA'", hint="did you mean 'A'?"),
]


def _params(kind: str):
    out = []
    for c in CASES:
        marks = []
        if c.crash_bug:
            marks.append(pytest.mark.xfail(strict=True, reason=c.crash_bug))
        elif kind == "position" and c.position_bug:
            marks.append(pytest.mark.xfail(strict=True, reason=c.position_bug))
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def _source(case: Case) -> str:
    return case.deal if case.which == "deal" else case.yaml


@pytest.mark.parametrize("case", _params("shape"))
def test_shape(case: Case, tmp_path, capsys):
    rc, out, err, deal_path, yaml_path = run_cli(tmp_path, capsys, case.deal, case.yaml, case.args)
    assert "Traceback" not in out + err
    assert rc == 2, f"exit status {rc}\n{err}"
    if case.which == "cli":
        assert err.startswith("run-deal: error: "), err
        return
    diags = diagnostics(err)
    assert diags, f"no 'file:line:col: error:' line in\n{err}"
    path = str(deal_path if case.which == "deal" else yaml_path)
    for d in diags:
        assert d[0] == path, f"diagnostic names {d[0]!r}, not the file {path!r}"
        assert_echo_and_caret(d, _source(case))


@pytest.mark.parametrize("case", _params("position"))
def test_position(case: Case, tmp_path, capsys):
    rc, out, err, deal_path, yaml_path = run_cli(tmp_path, capsys, case.deal, case.yaml, case.args)
    assert "Traceback" not in out + err
    assert rc == 2, f"exit status {rc}\n{err}"
    if case.which == "cli":
        assert case.message in err
        if case.hint:
            assert case.hint in err
        return
    path = str(deal_path if case.which == "deal" else yaml_path)
    line, col = case.where(case.deal, case.yaml)
    diags = diagnostics(err)
    found = [d for d in diags if d[0] == path and case.message in d[3]]
    assert found, f"no diagnostic saying {case.message!r} in\n{err}"
    d = found[0]
    assert (d[1], d[2]) == (line, col), f"at {d[1]}:{d[2]}, expected {line}:{col}\n{err}"
    assert_echo_and_caret(d, _source(case))
    if case.hint:
        assert any(case.hint in r for r in d[4]), f"no {case.hint!r} under the diagnostic\n{err}"
    if case.expected:
        assert any(r.strip().startswith("expected") and case.expected in r for r in d[4]), err


# ------------------------------------------------------------------ single cases
def test_check_on_the_good_deal_exits_0(capsys):
    rc = main([str(ROOT / "deals" / "sequential-cmo.waterfall"), "--check"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "ok" in out and err == ""


def test_missing_deal_file(tmp_path, capsys):
    missing = tmp_path / "no-such-deal.waterfall"
    rc = main([str(missing)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in out + err
    assert str(missing) in err and "cannot read the deal file" in err and "error:" in err


def test_missing_assumptions_file(tmp_path, capsys):
    deal = tmp_path / "deal.waterfall"
    deal.write_text(DEAL, encoding="utf-8")
    rc = main([str(deal)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in out + err
    assert "deal.assumptions.yaml" in err and "cannot read the assumptions file" in err


def test_missing_deal_file_has_no_made_up_position(tmp_path, capsys):
    missing = tmp_path / "no-such-deal.waterfall"
    main([str(missing)])
    _, err = capsys.readouterr()
    assert f"{missing}:0:0" not in err
    assert err.startswith(f"{missing}: error: ")


def test_unterminated_string_says_so(tmp_path, capsys):
    deal = edit(DEAL, 'group 1 "30-year fixed-rate pass-through"', 'group 1 "30-year fixed-rate pass-through')
    rc, out, err, *_ = run_cli(tmp_path, capsys, deal, YAML)
    assert rc == 2
    assert "unterminated string" in diagnostics(err)[0][3]


def test_ppc_without_ramp_is_an_input_error(tmp_path, capsys):
    deal = edit(DEAL, "pricing speed       100% PSA", "pricing speed       100% PPC")
    rc, out, err, deal_path, _ = run_cli(tmp_path, capsys, deal, YAML, ("--check",))
    assert rc == 2, f"exit status {rc}\n{out}{err}"
    line, col = at(deal, "100% PPC")
    assert f"{deal_path}:{line}:{col}: error:" in err


def test_ppc_without_ramp_does_not_crash(tmp_path, capsys):
    """Today's behaviour, the floor under the bug above: no traceback."""
    deal = edit(DEAL, "pricing speed       100% PSA", "pricing speed       100% PPC")
    rc, out, err, *_ = run_cli(tmp_path, capsys, deal, YAML, ("--speeds", "100"))
    assert rc in (1, 2)
    assert "Traceback" not in out + err
    assert "ramp" in err


@pytest.mark.parametrize("key, value", [("remaining term", "99999999999999999999"),
                                        ("remaining term", "413,062,679"),
                                        ("age", "200,000,000")])
def test_absurd_months_are_refused(tmp_path, capsys, key, value):
    yaml = re.sub(rf"(?m)^(    {key}:) .*$", rf"\1 {value}", YAML)
    assert value in yaml
    # --check: the input must be refused before any run is attempted (a run would allocate gigabytes).
    rc, out, err, _, yaml_path = run_cli(tmp_path, capsys, DEAL, yaml, ("--check",))
    assert rc == 2, f"exit status {rc}\n{out}{err}"
    line, col = at(yaml, f"{key}: {value}", len(key) + 2)
    assert f"{yaml_path}:{line}:{col}: error:" in err


def test_distributions_that_route_in_a_circle_are_refused():
    from dsl.check import check
    from dsl.parse import parse
    text = DEAL.replace('waterfall "Priority of Distributions"',
                        'distribution one "One"\n    pay principal to two\n'
                        'distribution two "Two"\n    pay principal to one\n'
                        'waterfall "Priority of Distributions"')
    msgs = [d.message for d in check(parse(text, "deal.waterfall"))]
    assert any("routes back to itself: one -> two -> one" in m for m in msgs), msgs
