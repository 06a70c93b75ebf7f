"""Issue 16 item 2: the deal linter runs on every run; --check runs too.

Warnings are ``DEAL:LINE:COL: warning: ...`` on stderr at the class or clause
concerned; --check exits 0 with them, 2 with --strict; every bundled deal is
silent under --check --strict. The money check names the step that left cash
in a fund, and its line, on both engines.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from interpreter.cli import main

from .inputs import DEAL, YAML, at, edit, refused_at, run_deal

ROOT = Path(__file__).resolve().parents[2]
WARN_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): warning: (?P<msg>.+)$", re.M)


def warnings_of(err: str) -> list:
    return [(int(m["line"]), int(m["col"]), m["msg"]) for m in WARN_RE.finditer(err)]


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "deals").glob("*.waterfall")))
def test_every_bundled_deal_passes_check_strict_silently(tmp_path, capsys, name):
    for ext in (".waterfall", ".assumptions.yaml"):
        shutil.copy(ROOT / "deals" / f"{name}{ext}", tmp_path)
    deal = tmp_path / f"{name}.waterfall"
    assert main([str(deal), "--check", "--strict"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    classes = (ROOT / "deals" / f"{name}.waterfall").read_text().count("\nclass ")
    assert re.fullmatch(rf"{re.escape(str(deal))}: ok: {classes} classes, \d+ collateral lines?\n", out), out


def test_horizon_of_one_month_warns_at_each_outstanding_class(tmp_path, capsys):
    rc, err, d, y = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 1\n")
    assert rc == 0, err
    found = warnings_of(err)
    # all four classes have (nearly) their whole balance left after one month
    assert [w[:2] for w in found] == [at(DEAL, f'class {c} "Sequential"') for c in "ABCD"]
    assert "class B still has 60,000,000.00 outstanding at the end of the run (period 1" in found[1][2]
    assert "horizon: 1" in err  # the cause, in the YAML, is named
    rc, err, *_ = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 1\n", args=("--check", "--strict"))
    assert rc == 2 and len(warnings_of(err)) == 4


def test_a_run_prints_the_warnings_too_and_strict_refuses_it(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 1\n", args=())
    assert rc == 0 and len(warnings_of(err)) == 4
    rc, err, *_ = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 1\n", args=("--strict",))
    assert rc == 2 and len(warnings_of(err)) == 4


def test_horizon_zero_is_an_error(tmp_path, capsys):
    refused_at(tmp_path, capsys, at(YAML + "horizon: 0\n", "horizon: 0", len("horizon: ")),
               "horizon: 0 months", which="yaml", yaml=YAML + "horizon: 0\n")


def test_certificates_above_the_collateral_warn_at_the_deal(tmp_path, capsys):
    # D 25,000,000 instead of 20,000,000: 205,000,000 of certificates on 200,000,000 of loans
    deal = edit(DEAL, "balance   20,000,000", "balance   25,000,000")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    found = warnings_of(err)
    assert (*at(deal, 'deal "Sequential'), ) == found[0][:2]
    assert "the certificates (205,000,000.00) exceed the collateral at closing (200,000,000.00" in found[0][2]
    # the extra 5,000,000 of D is never paid: the pool pays out first
    assert any(w[:2] == at(deal, 'class D "Sequential"') and "5,000,000.00 outstanding" in w[2] for w in found)


def test_a_class_whose_interest_no_clause_pays(tmp_path, capsys):
    deal = edit(DEAL, "interest sequentially to A, B, C, D", "interest sequentially to A, B, C")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0
    assert [(w[:2], w[2]) for w in warnings_of(err)] == [
        (at(deal, 'class D "Sequential"'), "class D accrues interest but no clause pays its current interest")]


def _oc_deal(marked: bool) -> str:
    """Principal paid up to 90% of what the pool pays while A is outstanding: the
    rest goes with the interest to R (an overcollateralization release)."""
    deal = edit(DEAL, "from principal of group 1: pay principal sequentially to A, B, C, D",
                "from principal of group 1: pay principal sequentially to A, B, C, D up to "
                "(if balance(A) > 0 then 90% else 100%) * available")
    return edit(deal, "    residual\n", "    residual\n    releases overcollateralization\n") if marked else deal


def test_principal_to_the_residual_warns_unless_the_class_says_it_releases_oc(tmp_path, capsys):
    deal = _oc_deal(False)
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    to_r = [w for w in warnings_of(err) if w[:2] == at(deal, 'class R "Residual"')]
    assert len(to_r) == 1 and "class R is paid principal while principal classes are outstanding" in to_r[0][2]
    assert "'releases overcollateralization'" in err  # the hint says how to mean it
    # the principal released is missing at the end: D is left short (true whether meant or not)
    assert any(w[:2] == at(deal, 'class D "Sequential"') and "outstanding" in w[2] for w in warnings_of(err))
    deal = _oc_deal(True)
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0 and not [w for w in warnings_of(err) if w[:2] == at(deal, 'class R "Residual"')]


def test_only_a_residual_class_releases_overcollateralization(tmp_path, capsys):
    deal = edit(DEAL, "    coupon    6.00%\n    day count 30/360\n    group     1\n\nclass R",
                "    coupon    6.00%\n    day count 30/360\n    group     1\n    releases overcollateralization\n"
                "\nclass R")
    refused_at(tmp_path, capsys, at(deal, "    releases overcollateralization", 4),
               "only a residual class releases overcollateralization", deal=deal)


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_cash_left_in_a_fund_names_the_step_and_its_line(tmp_path, capsys, monkeypatch, engine):
    monkeypatch.setenv("WATERFALL_ENGINE", engine)  # --engine sets it for the process: put back after the test
    if engine == "c":
        from interpreter.native.build import available
        if not available():
            pytest.skip("no C compiler")
    # principal limited to 100,000 a month, and only interest released: the rest of the principal stays
    step = "from principal of group 1: pay principal sequentially to A, B, C, D"
    deal = edit(edit(DEAL, step, step + " up to 100,000"), "        pay remaining to R",
                "        from interest of group 1: pay remaining to R")
    err = refused_at(tmp_path, capsys, at(deal, "pay principal sequentially to A, B, C, D up"), "cash left in a fund at the end of period 1",
                     deal=deal, args=("--engine", engine))
    line = at(deal, step)[0]
    assert f"of the principal of group 1 was neither paid nor held: the last step that draws on the " \
           f"principal of group 1 (line {line}) left it there" in err
    # the amount: the pool's principal in period 1 less the 100,000 paid
    m = re.search(r"collected ([\d,.]+), paid ([\d,.]+)", err)
    left = re.search(r"scenario 0: ([\d,.]+) of the principal", err)
    assert float(left[1].replace(",", "")) == pytest.approx(
        float(m[1].replace(",", "")) - float(m[2].replace(",", "")), abs=0.01)
