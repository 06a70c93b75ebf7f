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


# ------------------------------------------------------------------ B: small command-line issues
@pytest.mark.parametrize("args,said", [(["--speds", "100"], "unknown option --speds: did you mean --speeds?"),
                                       (["--speds=100"], "unknown option --speds: did you mean --speeds?"),
                                       (["--frmat", "csv"], "unknown option --frmat: did you mean --format?"),
                                       (["--zzzzzz"], "unknown option --zzzzzz (run-deal --help lists them)"),
                                       # a shortened option is not taken for the one it starts (argparse would)
                                       (["--spe", "100"], "unknown option --spe: did you mean --speeds? "
                                                          "(options are written in full)"),
                                       (["--form", "csv"], "unknown option --form: did you mean --format?")])
def test_a_misspelt_option_names_the_closest(capsys, args, said):
    with pytest.raises(SystemExit) as e:
        main([SEQ, *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"run-deal: error: {said}" in err and "Traceback" not in err


@pytest.mark.parametrize("after", ["0", "last", "-1"])
def test_after_outside_the_run_says_the_valid_range(tmp_path, capsys, after):
    """A state after distribution 1 .. N-1 of a run of N distributions."""
    deal, a, _ = load_files(SEQ, None)
    n = run(deal, a, [1.0], to=["maturity"], keep="lean").n_periods
    after = str(n) if after == "last" else after
    path = tmp_path / "s.yaml"
    assert main([SEQ, "--speeds", "100", "--to", "maturity", "--save-state", str(path), "--after", after]) == 2
    err = capsys.readouterr().err
    assert f"run-deal: error: --after {after}: give a distribution from 1 to {n - 1} (the run makes {n};" in err
    assert not path.exists()


def test_a_missing_assumptions_file_says_where_run_deal_looked_and_names_the_option(tmp_path, capsys):
    deal = tmp_path / "x.waterfall"
    deal.write_text(Path(SEQ).read_text())
    assert main([str(deal)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'x.assumptions.yaml'}: error: cannot read the assumptions file")
    assert "looks beside the deal for DEAL.assumptions.yaml" in err and "--assumptions FILE" in err
    assert main([str(deal), "--assumptions", str(tmp_path / "nope.yaml")]) == 2
    assert "check the path given to --assumptions" in capsys.readouterr().err


def test_afc_on_a_deal_without_a_capped_class_is_an_input_error(capsys):
    assert main([SEQ, "--afc"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--afc: Sequential CMO 2024-1 has no class with a cap" in err
    assert main([J4, "--afc", "--class", "A-R"]) == 2
    assert "--afc: no class given with --class has a cap" in capsys.readouterr().err


@pytest.mark.parametrize("args,said", [(["--grid", "speed=100", "--cashflows", "CF"], "--cashflows with --grid"),
                                       (["--afc", "--cashflows", "CF"], "--cashflows with --afc"),
                                       (["--inspect", "A", "--afc"], "--inspect and --afc: one at a time"),
                                       (["--inspect", "A", "--grid", "speed=100"], "--inspect and --grid")])
def test_an_output_option_that_would_be_passed_over_is_an_input_error(tmp_path, capsys, args, said):
    args = [str(tmp_path / "cf") if a == "CF" else a for a in args]
    assert main([SEQ, *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"run-deal: error: {said}" in err and not (tmp_path / "cf").exists()


def test_an_input_error_exits_2_when_stderr_is_closed(tmp_path):
    # run-deal BAD 2>&1 | head -1: the reader goes away; the status is still the error's, not 1
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    deal = tmp_path / "bad.waterfall"
    deal.write_text((root / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8").replace("coupon", "cupon"),
                    encoding="utf-8")
    r, w = os.pipe()
    os.close(r)  # nobody reads: the first write fails with EPIPE
    try:
        p = subprocess.run([sys.executable, "-m", "interpreter", str(deal)], stdout=subprocess.DEVNULL, stderr=w,
                           env=dict(os.environ, PYTHONPATH=str(root)), timeout=120)
    finally:
        os.close(w)
    assert p.returncode == 2
