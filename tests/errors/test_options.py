"""Issue 16 item 4: command-line requests that conflict are input errors (exit 2),
said before anything runs; --class limits --cashflows too."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def j4(tmp_path):
    for ext in (".waterfall", ".assumptions.yaml"):
        shutil.copy(ROOT / "deals" / f"cwalt-2004-j4{ext}", tmp_path)
    return str(tmp_path / "cwalt-2004-j4.waterfall")


@pytest.fixture
def seq(tmp_path):
    for ext in (".waterfall", ".assumptions.yaml"):
        shutil.copy(ROOT / "deals" / f"sequential-cmo{ext}", tmp_path)
    return str(tmp_path / "sequential-cmo.waterfall")


def refused(capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("run-deal: error: ") and message in err, err
    return err


# In J4, 1-A-1 and 2-A float on LIBOR, 1-A-2 is fixed at its coupon, 1-A-IO is a notional class.
@pytest.mark.parametrize("argv, message", [
    (["--yield", "2-A=3.05"], "--yield: class 2-A is a floater: it has no yield to solve for (use --dm or --price)"),
    (["--dm", "1-A-2=30"], "--dm: class 1-A-2 is a fixed-rate class: it has no dm to solve for (use --yield"),
    (["--yield", "1-A-IO=3"], "--yield: class 1-A-IO is a notional (IO) class"),
    (["--price", "C=100"], "--price: class C is a residual class: it has no price to solve for"),
    (["--price", "1-A-2=99-16", "--yield", "1-A-2=3.05"], "--price and --yield both price class 1-A-2"),
    (["--yield", "1-A-2=3.05", "--dm", "1-A-2=30"], "--yield and --dm both price class 1-A-2"),
])
def test_pricing_conflicts(j4, capsys, argv, message):
    refused(capsys, [j4, *argv], message)


def test_a_cdr_axis_needs_a_severity_from_somewhere(seq, capsys):
    # the sequential CMO's assumptions state no severity: a cdr axis alone would lose nothing
    refused(capsys, [seq, "--grid", "speed=100 cdr=0,5"], "a cdr axis with no loss severity")
    assert main([seq, "--grid", "speed=100 cdr=0,5 severity=40%"]) == 0
    capsys.readouterr()
    yaml = Path(seq).with_name("sequential-cmo.assumptions.yaml")
    yaml.write_text(yaml.read_text() + "severity: 40%\n")
    assert main([seq, "--grid", "speed=100 cdr=0,5"]) == 0


def test_a_cdr_above_100_percent(seq, capsys):
    refused(capsys, [seq, "--grid", "cdr=0,150 severity=40%"], "a default rate is at most 100% a year (got 150%)")


@pytest.mark.parametrize("option", ["--speeds", "--grid"])
def test_a_speed_above_an_smm_of_one(seq, capsys, option):
    # 100% PSA is 6% CPR from month 30: 1,700% of it is 102% CPR, no monthly rate gives that;
    # 1,600% (96% CPR) is a rate
    arg = "1700" if option == "--speeds" else "speed=0,1700"
    refused(capsys, [seq, option, arg], "1700% of group 1's prepayment curve is a prepayment rate of 102% a year")
    assert main([seq, "--speeds", "1600"]) == 0


def test_a_negative_speed(seq, capsys):
    refused(capsys, [seq, "--speeds=-5"], "a speed cannot be negative")
    refused(capsys, [seq, "--grid", "speed=-5"], "values must be 0 or more")


def test_class_limits_the_cashflow_files(seq, capsys, tmp_path):
    out = tmp_path / "flows"
    assert main([seq, "--class", "B", "--cashflows", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [".run-deal-cashflows", "B.csv", "clauses.csv", "collateral.csv", "payments.csv", "terms.csv"]
    classes = {line.split(",")[8] for line in (out / "payments.csv").read_text().splitlines()[1:]}
    assert classes == {"B"}


def test_check_says_ok_with_the_counts(seq, capsys):
    assert main([seq, "--check"]) == 0
    assert capsys.readouterr().out == f"{seq}: ok: 5 classes, 1 collateral line\n"
