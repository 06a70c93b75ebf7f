"""Bounded resources: an input that asks for more than a stated limit is refused
at once, with exit status 2 and a message that names the limit (and, for a
file, where), before anything in proportion to the request is allocated.

* a grid: at most ``grid.MAX_SCENARIOS`` scenarios, counted from the axes'
  lengths (a range ``a..b/step`` is counted, not built); ``--speeds`` and the
  assumptions' ``speeds:`` at most ``assumptions.MAX_SPEEDS``;
* YAML (the assumptions file, a grid file): aliases repeat at most
  ``MAX_YAML_NODES`` nodes in all, nesting is at most ``MAX_YAML_DEPTH`` levels
  (through aliases), with either loader (PyYAML's, or libyaml's parser);
* a loan tape: terms, ages and other months at most ``collateral.MAX_MONTHS``
  (as in the YAML), a field at most ``collateral.MAX_FIELD`` characters.
"""
from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest
import yaml

from interpreter import assumptions as AS
from interpreter import collateral as C
from interpreter import grid as G
from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
TAPE_HEADER = "group,balance,gross_rate,fee_rate,remaining_term,age"
LOADERS = [AS._Loader] + ([AS._CLoader] if AS._CLoader is not None else [])
HEADER_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$", re.M)


def deal_dir(tmp_path: Path, yaml_text: str = YAML) -> Path:
    (tmp_path / "deal.assumptions.yaml").write_text(yaml_text, encoding="utf-8")
    deal = tmp_path / "deal.waterfall"
    deal.write_text(DEAL, encoding="utf-8")
    return deal


def run_deal(capsys, *args) -> tuple:
    """(status, stderr, seconds) of run-deal in this process."""
    capsys.readouterr()
    start = time.perf_counter()
    rc = main([str(a) for a in args])
    took = time.perf_counter() - start
    return rc, capsys.readouterr().err, took


def warm(capsys, deal: Path) -> None:
    """Parse and check the deal once, so that what is timed is the refusal alone."""
    rc, err, _ = run_deal(capsys, deal, "--check")
    assert rc == 0, err


def positioned(err: str, path: Path, text: str) -> tuple:
    """The one diagnostic's (line, column, message); its line is echoed with a caret under the column."""
    heads = list(HEADER_RE.finditer(err))
    assert len(heads) == 1, err
    m = heads[0]
    assert Path(m["file"]) == path, err
    line, col = int(m["line"]), int(m["col"])
    rest = err[m.end():].lstrip("\n").splitlines()
    assert rest[0].startswith("    " + text.splitlines()[line - 1][:100]), err
    assert rest[1] == "    " + " " * (col - 1) + "^", err
    assert "Traceback" not in err
    return line, col, m["msg"]


def where(text: str, needle: str, nth: int = 0) -> tuple:
    """1-based (line, column) of the nth occurrence of needle."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


# ------------------------------------------------------------------ 6. grids and speeds
def test_a_grid_past_the_limit_is_refused_at_once(tmp_path, capsys):
    deal = deal_dir(tmp_path)
    warm(capsys, deal)
    rc, err, took = run_deal(capsys, deal, "--grid", "speed=0..9999/1 cdr=0..9999/1")
    assert rc == 2, err
    assert "100,000,000 scenarios" in err and f"{G.MAX_SCENARIOS:,}" in err, err
    assert took < 1.0, f"{took:.2f} s to refuse"


@pytest.mark.parametrize("spec, count", [
    ("speed=0..1000000000000/1", "1,000,000,000,001"),  # one range, alone
    ("speed=0..1/0.0000000000000000000000000001", "10,000,000,000,000,000,000,000,000,001"),
    ("speed=0..%s/1" % ("9" * 5000), "more than 10^30"),  # digits past Python's int-to-text limit
])
def test_one_huge_range_is_counted_not_built(spec, count):
    start = time.perf_counter()
    with pytest.raises(G.GridError) as e:
        G.parse_grid(spec)
    assert time.perf_counter() - start < 0.5
    assert count in str(e.value) and f"{G.MAX_AXIS_VALUES:,}" in str(e.value)


def test_the_limit_is_the_product_of_the_axes():
    assert G.check_size({"speed": 10_000, "cdr": 1_000}) == G.MAX_SCENARIOS
    axes = G.parse_grid("speed=0..9999/1 cdr=0..999/1")  # exactly the limit: allowed
    assert len(axes["speed"]) * len(axes["cdr"]) == G.MAX_SCENARIOS
    with pytest.raises(G.GridError, match=r"10,010,000 scenarios \(10,000 speed x 1,001 cdr\)"):
        G.parse_grid("speed=0..9999/1 cdr=0..1000/1")
    with pytest.raises(G.GridError, match="more than the limit"):
        G.expand({"speed": [1.0] * 4000, "cdr": [0.0] * 4000}, [])


def test_too_many_speeds_are_refused(tmp_path, capsys):
    deal = deal_dir(tmp_path)
    warm(capsys, deal)
    too_many = ",".join(str(i) for i in range(AS.MAX_SPEEDS + 1))
    rc, err, took = run_deal(capsys, deal, "--speeds", too_many)
    assert rc == 2 and f"--speeds: {AS.MAX_SPEEDS + 1} speeds" in err and str(AS.MAX_SPEEDS) in err, err
    assert took < 1.0
    # the assumptions' own list: the same limit, at its place in the file
    text = YAML.replace("speeds: [0%, 50%, 100%, 200%, 300%]", "speeds: [" + ", ".join(["100%"] * 101) + "]")
    deal = deal_dir(tmp_path, text)
    rc, err, _ = run_deal(capsys, deal)
    assert rc == 2
    line, col, msg = positioned(err, tmp_path / "deal.assumptions.yaml", text)
    assert (line, col) == where(text, "[")
    assert "101 speeds" in msg
    # the deal's table speeds, when the assumptions name none
    deal = deal_dir(tmp_path, YAML.replace("speeds: [0%, 50%, 100%, 200%, 300%]", ""))
    table = "table speeds        0%, 50%, 100%, 200%, 300%"
    text = DEAL.replace(table, "table speeds        " + ", ".join(f"{i}%" for i in range(101)))
    deal.write_text(text, encoding="utf-8")
    rc, err, _ = run_deal(capsys, deal)
    assert rc == 2
    line, col, msg = positioned(err, deal, text)
    assert (line, col) == where(text, "table speeds")
    assert "101 speeds" in msg


# ------------------------------------------------------------------ 7. YAML
def laughs(levels: int = 8, key: str = "speeds") -> str:
    """Eight levels of ten aliases: 10**9 values in under a kilobyte."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\n{key}: [*lol{levels}]\n"


@pytest.mark.parametrize("loader", LOADERS, ids=lambda L: L.__name__)
def test_billion_laughs_are_refused_by_either_loader(loader):
    text = laughs()
    assert len(text) < 1000
    start = time.perf_counter()
    with pytest.raises(yaml.YAMLError) as e:
        yaml.load(text, Loader=loader)
    assert time.perf_counter() - start < 2.0
    mark = e.value.problem_mark
    # At the alias that crosses the bound: lol1 to lol3 repeat 110 + 1,110 + 11,110 nodes,
    # and each *lol3 11,111 more, so the 8th *lol3 crosses 100,000.
    assert AS.MAX_YAML_NODES == 100_000
    assert (mark.line + 1, mark.column + 1) == where(text, "*lol3", 7)
    assert f"{AS.MAX_YAML_NODES:,}" in e.value.problem


def test_billion_laughs_in_the_assumptions_are_a_positioned_error(tmp_path, capsys):
    text = YAML.replace("speeds: [0%, 50%, 100%, 200%, 300%]\n", laughs())
    deal = deal_dir(tmp_path, text)
    warm_deal = tmp_path / "warm"
    warm_deal.mkdir()
    warm(capsys, deal_dir(warm_deal))
    rc, err, took = run_deal(capsys, deal)
    assert rc == 2, err
    assert took < 2.0
    line, col, msg = positioned(err, tmp_path / "deal.assumptions.yaml", text)
    assert (line, col) == where(text, "*lol3", 7)
    assert "*lol3" in msg and f"{AS.MAX_YAML_NODES:,}" in msg


def test_billion_laughs_in_a_grid_file_are_a_positioned_error(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(laughs(key="speed"), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(G.GridError) as e:
        G.parse_grid(str(path))
    assert time.perf_counter() - start < 2.0
    assert re.match(rf"{re.escape(str(path))}:5:\d+: bad YAML: the alias \*lol3", str(e.value)), str(e.value)


def test_a_grid_file_reads_as_its_command_line_form(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text("speed: 0..300/100\ncdr: [0, 2.5]\nseverity: [35%, 50%]\nlibor: +0,+100bp\n", encoding="utf-8")
    assert G.parse_grid(str(path)) == G.parse_grid("speed=0..300/100 cdr=0,2.5 severity=35%,50% libor=+0,+100bp")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda L: L.__name__)
def test_the_limit_counts_what_aliases_repeat_not_what_is_written(loader, monkeypatch):
    monkeypatch.setattr(AS, "MAX_YAML_NODES", 100)
    text = "x: [" + ", ".join(["1"] * 150) + "]\n"
    assert len(yaml.load(text, Loader=loader)["x"]) == 150
    a = "a: &a [" + ", ".join(["1"] * 9) + "]\n"  # 10 nodes, repeated 10 times: at the limit
    assert len(yaml.load(a + "b: [" + ", ".join(["*a"] * 10) + "]\n", Loader=loader)["b"]) == 10
    with pytest.raises(yaml.YAMLError, match="past 100 repeated nodes"):  # once more: past it
        yaml.load(a + "b: [" + ", ".join(["*a"] * 11) + "]\n", Loader=loader)


DEEP = {
    "flow sequences": "indices: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "flow mappings": "indices: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
    "block sequences": "indices:\n" + "".join("  " * i + "-\n" for i in range(150)) + "  " * 150 + "x\n",
    "aliases": "d0: &d0 [[[[[[[[[[1]]]]]]]]]]\n" + "".join(
        f"d{i}: &d{i} [[[[[[[[[*d{i - 1}]]]]]]]]]\n" for i in range(1, 15)),
}


@pytest.mark.parametrize("loader", LOADERS, ids=lambda L: L.__name__)
@pytest.mark.parametrize("kind", DEEP)
def test_deep_nesting_is_a_positioned_error_not_a_recursion_error(kind, loader):
    text = DEEP[kind]
    start = time.perf_counter()
    with pytest.raises(yaml.YAMLError) as e:
        yaml.load(text, Loader=loader)
    assert time.perf_counter() - start < 2.0
    # Ours, or (PyYAML >= 6.0.4's libyaml scanner, which stops deep flow collections
    # itself) libyaml's own limit: either way a marked error, never a RecursionError.
    assert f"more than {AS.MAX_YAML_DEPTH} levels deep" in e.value.problem \
        or e.value.problem == "exceeded maximum nesting depth"
    assert e.value.problem_mark is not None


def test_deep_nesting_in_the_assumptions_is_a_positioned_error(tmp_path, capsys):
    text = YAML + DEEP["flow sequences"]
    deal = deal_dir(tmp_path, text)
    rc, err, _ = run_deal(capsys, deal)
    assert rc == 2, err
    line, col, msg = positioned(err, tmp_path / "deal.assumptions.yaml", text)
    first_line, first_col = where(text, "indices: [")
    # the 100th '[': the document's mapping is the first level
    assert (line, col) == (first_line, first_col + len("indices: ") + AS.MAX_YAML_DEPTH - 1)
    assert "levels deep" in msg


def test_an_alias_inside_the_node_it_names_is_refused():
    for loader in LOADERS:
        with pytest.raises(yaml.YAMLError, match="inside the node it names"):
            yaml.load("a: &a [1, *a]\n", Loader=loader)


def test_a_number_of_thousands_of_digits_is_a_positioned_error(tmp_path, capsys):
    text = YAML + "horizon: " + "9" * 5000 + "\n"
    rc, err, _ = run_deal(capsys, deal_dir(tmp_path, text))
    assert rc == 2, err
    line, col, msg = positioned(err, tmp_path / "deal.assumptions.yaml", text)
    assert (line, col) == where(text, "9999")
    assert "5,000 digits" in msg


# ------------------------------------------------------------------ 8. loan tapes
def tape_deal(tmp_path: Path, tape: str) -> Path:
    (tmp_path / "tape.csv").write_text(tape, encoding="utf-8")
    return deal_dir(tmp_path, "loan tape: tape.csv\nspeeds: [100%]\n")


def test_a_tape_term_of_a_billion_months_is_a_positioned_error(tmp_path, capsys):
    tape = TAPE_HEADER + "\n1,100000000,6.5%,0.5%,358,2\n1,100000000,6.5%,0.5%,1e9,2\n"
    deal = tape_deal(tmp_path, tape)
    rc, err, took = run_deal(capsys, deal)
    assert rc == 2, err
    assert took < 2.0
    line, col, msg = positioned(err, tmp_path / "tape.csv", tape)
    assert (line, col) == where(tape, "1e9")
    assert "remaining_term" in msg and f"more than {C.MAX_MONTHS}" in msg


MONTHS = ["remaining_term", "age", "amort_term", "io_months", "arm_first_reset", "arm_reset_every",
          "penalty_months"]


@pytest.mark.parametrize("column", MONTHS)
def test_every_number_of_months_on_a_tape_is_capped_as_in_the_yaml(tmp_path, column):
    header = TAPE_HEADER + ",amort_term,io_months,arm_index,arm_margin,arm_first_reset,arm_reset_every," \
                           "arm_initial_cap,arm_periodic_cap,arm_lifetime_cap,penalty_rate,penalty_months"
    values = dict(zip(header.split(","), "1,1000,5%,0.25%,360,0,720,60,LIBOR_6M,2.75%,24,6,2%,1%,6%,2%,36".split(",")))
    if column == "remaining_term":
        values["amort_term"] = ""
    path = tmp_path / "tape.csv"
    path.write_text(header + "\n" + ",".join(values.values()) + "\n")
    assert len(C.load_tape(path)) == 1  # each at most the cap: read
    values[column] = str(C.MAX_MONTHS + 1)
    row = ",".join(values.values())
    path.write_text(header + "\n" + row + "\n")
    with pytest.raises(C.TapeError) as e:
        C.load_tape(path)
    field = header.split(",").index(column)
    assert (e.value.line, e.value.column) == (2, sum(len(v) + 1 for v in row.split(",")[:field]) + 1)
    assert e.value.message.startswith(f"{column}: {C.MAX_MONTHS + 1} months is more than {C.MAX_MONTHS}")


def test_a_200_kb_tape_field_is_a_positioned_error(tmp_path, capsys):
    tape = TAPE_HEADER + ",note\n1,100000000,6.5%,0.5%,358,2,ok\n1,100000000,6.5%,0.5%,358,2," + "x" * 200_000 + "\n"
    deal = tape_deal(tmp_path, tape)
    rc, err, _ = run_deal(capsys, deal)
    assert rc == 2, err
    line, col, msg = positioned(err, tmp_path / "tape.csv", tape)
    assert (line, col) == where(tape, "xxx")
    assert msg == "loan tape: a field longer than 128 KB"
    assert len(err) < 1000  # the line is shown shortened


def test_a_long_field_is_refused_whatever_the_csv_modules_limit(tmp_path):
    path = tmp_path / "tape.csv"
    path.write_text(TAPE_HEADER + ',note\n1,100,6%,0.25%,353,6,"' + "y\n" * 70_000 + '"\n')
    for limit in (None, 10 * C.MAX_FIELD):  # as it is, and raised by someone else in this process
        old = csv.field_size_limit(limit) if limit else None
        try:
            with pytest.raises(C.TapeError) as e:
                C.load_tape(path)
        finally:
            if old:
                csv.field_size_limit(old)
        assert (e.value.line, e.value.column, e.value.message) == (2, 22, "a field longer than 128 KB")


def test_a_line_past_a_megabyte_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "tape.csv"
    with open(path, "w") as fh:
        fh.write(TAPE_HEADER + "\n")
        fh.write("," * (C.MAX_LINE + 10))
    with pytest.raises(C.TapeError, match=r"tape\.csv:2:1: a line longer than 1,048,576 characters"):
        C.load_tape(path)
