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


# ------------------------------------------------------------------ issue 16 follow-ups (a reviewer's deals)
AUTO = (ROOT / "deals" / "auto-abs.waterfall").read_text(encoding="utf-8")
AUTO_YAML = (ROOT / "deals" / "auto-abs.assumptions.yaml").read_text(encoding="utf-8")


def test_a_table_event_that_retires_nothing_is_an_error_at_the_header(tmp_path, capsys):
    # without 'retires', a run to the call sold the collateral and paid it all to the residual, the notes
    # left outstanding, and '--to call' was refused ("the deal's early-retirement events: none")
    deal = edit(AUTO, '    retires "Notes"\n', "")
    err = refused_at(tmp_path, capsys, at(deal, "    table event         call", len("    table event         ")),
                     "the table event 'call' retires no classes", deal=deal, yaml=AUTO_YAML)
    assert f"'retires CLASSES' under 'event call' (line {at(deal, 'event call')[0]})" in err


def test_a_sale_that_leaves_a_class_outstanding_warns_at_the_event(tmp_path, capsys):
    # the call retires the A notes only: B (17,500,000, paid after every A class) is left whole at the sale
    deal = edit(AUTO, '    retires "Notes"', "    retires A-1 .. A-4")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal, yaml=AUTO_YAML)
    assert rc == 0
    found = warnings_of(err)
    assert [w[:2] for w in found] == [at(deal, "event call")]  # at the event, not "cut short" at B as well
    assert "the sale at event call leaves class B outstanding: 17,500,000.00 in period" in found[0][2]
    assert "(17,500,000.00 left unpaid), while the rest of the proceeds go to the residual" in found[0][2]
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal, yaml=AUTO_YAML, args=("--check", "--strict"))
    assert rc == 2


def test_a_class_written_down_at_the_sale_warns_at_the_event(tmp_path, capsys):
    # the sequential CMO with a clean-up call retiring A, B and C only, and losses allocated: D is
    # written down at the sale (the collateral is gone), while the proceeds above A-C go to R
    deal = edit(DEAL, "    table speeds        0%, 50%, 100%, 200%, 300%\n",
                "    table speeds        0%, 50%, 100%, 200%, 300%\n    table event         call\n")
    deal = edit(deal, 'waterfall "Priority', 'event call "Clean-up Call" when pool_end() <= 10% * cutoff_balance()\n'
                '    retires A, B, C\n\nwaterfall "Priority')
    deal += 'losses "Allocation of Losses"\n    allocate to D, C, B, A\n'
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    found = [w for w in warnings_of(err) if w[:2] == at(deal, "event call")]
    assert len(found) == 1, err
    m = re.search(r"leaves class D outstanding: ([\d,.]+) in period \d+ .*\(([\d,.]+) written down\)", found[0][2])
    assert m and m[1] == m[2] and float(m[1].replace(",", "")) > 0  # all of what was left, written down


def test_pay_remaining_to_a_class_that_is_not_residual_is_an_error(tmp_path, capsys):
    # docs/language.md: 'pay remaining to R' releases what is left to the residual; to D the cash was
    # counted as D's "interest"
    deal = edit(DEAL, "        pay remaining to R", "        pay remaining to D")
    err = refused_at(tmp_path, capsys, at(deal, "pay remaining to D"),
                     "'pay remaining' releases cash to a residual class: class D is not one", deal=deal)
    assert "the deal's residual classes: R" in err


def test_a_step_after_pay_remaining_never_receives_cash(tmp_path, capsys):
    late = "        from principal of group 1: pay principal to A"
    deal = edit(DEAL, "        pay remaining to R", "        pay remaining to R\n" + late)
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0
    line = at(deal, "pay remaining to R")[0]
    assert [(w[:2], w[2]) for w in warnings_of(err)] == [
        (at(deal, "pay principal to A"), f"this step never receives cash: 'pay remaining' (line {line}) releases "
                                         f"everything left in the principal of group 1 before it")]
    # a limited release leaves cash behind: no warning
    deal = edit(deal, "        pay remaining to R\n", "        pay remaining to R up to 1,000\n")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert not [w for w in warnings_of(err) if "never receives cash" in w[2]]


def test_a_class_left_owing_interest_warns_at_the_class_with_the_amount(tmp_path, capsys):
    # D at 7.50% on a 6.00%-net pool: once D is the last class, the pool's interest (6% of a pool no
    # larger than D) cannot pay D's coupon, and interest is paid from interest only
    deal = edit(DEAL, 'class D "Sequential"\n    balance   20,000,000\n    coupon    6.00%',
                'class D "Sequential"\n    balance   20,000,000\n    coupon    7.50%')
    rc, err, d, y = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0
    found = warnings_of(err)
    assert [w[:2] for w in found] == [at(deal, 'class D "Sequential"')], err
    m = re.match(r"class D is owed ([\d,.]+) of unpaid interest at the end of the run \(period (\d+), .*\) at "
                 r"(\d+)% of the pricing speed", found[0][2])
    assert m, found[0][2]
    # the amount: D's interest accrued (30/360: balance at the start of each period x 7.50% / 12) less paid
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    deal_ = load_deal(d)
    r = run(deal_, load_assumptions(y, deal_), [float(m[3]) / 100])
    D = r.cls("D")
    owed = (r.begin_balance[:, D, 0] * 0.075 / 12).sum() - r.interest[:, D, 0].sum()
    assert float(m[1].replace(",", "")) == pytest.approx(owed, abs=0.01)
    assert int(m[2]) == r.n_periods


def test_an_account_holding_cash_when_every_class_is_retired_warns_at_the_account(tmp_path, capsys):
    # funded at closing and never drawn on or released: 1,000,000 stranded when the bonds are paid off
    deal = edit(DEAL, 'waterfall "Priority', 'account spare "Spare Account" initial 1,000,000\n\nwaterfall "Priority')
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    found = warnings_of(err)
    assert [w[:2] for w in found] == [at(deal, 'account spare "Spare Account"')], err
    assert "account spare holds 1,000,000.00 at the end of the run" in found[0][2]
    assert "when every class is retired" in found[0][2]
    # released by the last clause: silent
    deal = edit(deal, "        pay remaining to R", "        pay remaining to R\n        from account spare: pay remaining to R")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal, args=("--check", "--strict"))
    assert rc == 0 and err == ""


def test_an_account_holding_cash_while_a_class_is_written_down_warns_at_the_account(tmp_path, capsys):
    deal = edit(DEAL, 'waterfall "Priority', 'account spare "Spare Account" initial 1,000,000\n\nwaterfall "Priority')
    deal = edit(deal, "        pay remaining to R", "        pay remaining to R\n        from account spare: pay remaining to R")
    deal += 'losses "Allocation of Losses"\n    allocate to D, C, B, A\n'
    # the account is released only in the last clause: while it holds cash D is written down
    deal = edit(deal, "        from account spare: pay remaining to R",
                "        from account spare: pay remaining to R up to (if balance(A) > 0 then 0 else spare)")
    yaml = YAML + "defaults: {all: 10% CDR}\nseverity: 50%\nrecovery lag: 3\n"
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal, yaml=yaml)
    found = [w for w in warnings_of(err) if w[:2] == at(deal, 'account spare "Spare Account"')]
    assert len(found) == 1, err
    m = re.search(r"account spare holds 1,000,000.00 at the end of period \d+ .* while ([\d,.]+) of principal "
                  r"is written down", found[0][2])
    assert m and float(m[1].replace(",", "")) > 0.005, found[0][2]
