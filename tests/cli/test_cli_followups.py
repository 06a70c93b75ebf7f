"""Reviewer follow-ups on run-deal's outputs (A18: floating-point dust; B: the
--cashflows files carry only the speeds asked for)."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from interpreter.api import load_files
from interpreter.cli import main
from interpreter.engine import run
from interpreter.report.amounts import DUST, amount_text, shown

from ..conftest import DEALS

SEQ = str(DEALS / "sequential-cmo.waterfall")
J4 = str(DEALS / "cwalt-2004-j4.waterfall")
MONEY = ("beginning balance", "interest", "principal", "ending balance", "carryover paid", "loss reimbursed",
         "writedown", "scheduled principal", "prepayment", "default", "recovery", "loss", "penalty",
         "sale proceeds", "paid", "amount")


def _dust(x) -> int:
    x = np.abs(np.nan_to_num(np.asarray(x, float)))
    return int(((x > 0) & (x < DUST)).sum())


def _rows(path: Path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_half_a_millionth_of_a_dollar_is_the_line():
    assert DUST == 5e-7  # half a millionth of a dollar
    assert shown(1.46e-11) == 0.0 and shown(-2.44967e-10) == 0.0 and repr(shown(-1e-12)) == "0.0"
    assert shown(5e-7) == 5e-7 and shown(0.01) == 0.01 and np.isnan(shown(float("nan")))
    assert amount_text(92361114.90062316) == "92361114.90062316"  # every digit above the line


def test_dust_prints_as_zero_in_every_cashflow_file_and_nothing_else_changes(tmp_path, capsys):
    deal, a, _ = load_files(SEQ, None)
    raw = run(deal, a, [1.0], to=["maturity"], trace=True)
    assert _dust(raw.interest) and sum(_dust(p) for *_, p in raw.trace)  # the run does leave dust
    out = tmp_path / "cf"
    assert main([SEQ, "--speeds", "100", "--to", "maturity", "--cashflows", str(out), "--format", "csv"]) == 0
    for f in sorted(out.glob("*.csv")):
        for r in _rows(f):
            for k in MONEY:
                if r.get(k):
                    v = float(r[k])
                    assert v == 0.0 or abs(v) >= DUST, (f.name, k, v)
    a_rows = _rows(out / "A.csv")
    ci = raw.class_names.index("A")
    for t, r in enumerate(a_rows):  # above the line, each figure as the run computed it, to the last digit
        assert float(r["interest"]) == shown(raw.interest[t, ci, 0])
    paid = [float(r["amount"]) for r in _rows(out / "payments.csv")]
    assert len(paid) == sum(int((np.abs(p[:, 0]) >= DUST).sum()) for *_, p in raw.trace)  # no dust payment


def test_inspect_amounts_lose_their_dust_in_text_and_csv_and_keep_it_in_json(capsys):
    args = [SEQ, "--speeds", "100", "--to", "maturity", "--inspect", "all"]
    assert main(args + ["--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)["inspect"]
    amounts = [k for k in doc[0] if k.endswith((".balance", ".pool_balance", ".unpaid_interest", ".interest"))]
    assert _dust([r[k] for r in doc for k in amounts if r[k] is not None])  # JSON: unrounded, as the README says
    assert main(args + ["--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert not _dust([float(r[k]) for r in rows for k in amounts if r[k]])
    assert all(float(r["pool.net_wac"]) == j["pool.net_wac"] for r, j in zip(rows, doc))  # a rate is never cleaned
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "e-" not in text and "-0.00 " not in text


@pytest.mark.parametrize("speeds", ["100", "0", "50,200"])
def test_cashflow_files_carry_only_the_speeds_asked_for(tmp_path, capsys, speeds):
    """The tables' run adds 100% (the summary) and 0% (the last scheduled date); the files do not."""
    out = tmp_path / "cf"
    assert main([SEQ, "--speeds", speeds, "--cashflows", str(out), "--format", "csv"]) == 0
    asked = [f"{s}%" for s in speeds.split(",")]
    for name in ("A.csv", "collateral.csv", "clauses.csv", "payments.csv", "terms.csv"):
        got = sorted({(int(r["scenario"]), r["speed"]) for r in _rows(out / name)})
        assert got == list(enumerate(asked)), name


def test_scenario_numbers_are_the_same_with_and_without_inspect(tmp_path, capsys):
    """J4 at 100% to auction and to maturity: the tables' run (which adds 0%) and the --inspect run
    number the scenarios alike."""
    tables, inspected = tmp_path / "t", tmp_path / "i"
    assert main([J4, "--speeds", "100", "--cashflows", str(tables), "--format", "csv"]) == 0
    assert main([J4, "--speeds", "100", "--cashflows", str(inspected), "--inspect", "oc_target",
                 "--format", "csv"]) == 0
    keys = lambda p: sorted({(r["scenario"], r["speed"], r["mode"]) for r in _rows(p)})  # noqa: E731
    assert keys(tables / "2-A.csv") == keys(inspected / "2-A.csv") == [("0", "100%", "auction"),
                                                                       ("1", "100%", "maturity")]
    assert (tables / "2-A.csv").read_text() == (inspected / "2-A.csv").read_text()
