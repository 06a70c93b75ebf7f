"""run-deal --inspect: every defined term and state field by period, the same on both engines."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.engine import run
from interpreter.native import build as cbuild

from ..conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")
BUNDLED = ["sequential-cmo", "cwalt-2004-j4", "agency-cmo", "prime-jumbo", "subprime-hel", "auto-abs"]


def _load(name):
    deal = load_deal(DEALS / f"{name}.waterfall")
    return deal, load_assumptions(DEALS / f"{name}.assumptions.yaml", deal)


@pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")
@pytest.mark.parametrize("name", BUNDLED)
def test_inspections_are_the_same_on_both_engines(name):
    deal, a = _load(name)
    to = ("maturity",) + tuple(e.name for e in deal.events if e.retires)
    kw = {"cdr": [0.0, 0.06, 0.25], "severity": [0.35, 0.6, 0.8]}
    rc = run(deal, a, [0.5, 1.0, 3.0], to=to, engine="c", inspect=True, **kw)
    rn = run(deal, a, [0.5, 1.0, 3.0], to=to, engine="numpy", inspect=True, **kw)
    assert [i.name for i in rc.inspections] == [i.name for i in rn.inspections]
    assert rc.inspected.shape == rn.inspected.shape == (rc.n_periods, len(rc.inspections), len(rc.speeds))
    np.testing.assert_array_equal(np.isnan(rc.inspected), np.isnan(rn.inspected))
    np.testing.assert_allclose(np.nan_to_num(rc.inspected), np.nan_to_num(rn.inspected), rtol=1e-12, atol=1e-7)


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_inspection_changes_no_payment(engine):
    if engine == "c" and not cbuild.available():
        pytest.skip("no C compiler")
    deal, a = _load("cwalt-2004-j4")
    plain = run(deal, a, [1.0, 2.0], to=("auction", "maturity"), engine=engine, cdr=[0.0, 0.1], severity=0.5)
    seen = run(deal, a, [1.0, 2.0], to=("auction", "maturity"), engine=engine, cdr=[0.0, 0.1], severity=0.5,
               inspect=True)
    for f in ("interest", "principal", "balance", "carryover_paid", "writedown"):
        np.testing.assert_array_equal(getattr(plain, f), getattr(seen, f), err_msg=f)
    assert plain.inspected is None and plain.inspections == ()


def test_inspected_state_is_the_runs_own_records():
    # invariants: a class's inspected balance is its end-of-period balance record, a
    # group's pool balance is the collateral's, interest and principal are what it collected
    deal, a = _load("cwalt-2004-j4")
    r = run(deal, a, [1.0], to=("maturity",), engine="numpy", inspect=True, cdr=[0.05], severity=0.4)
    names = [i.name for i in r.inspections]
    for c in ("1-A-1", "2-A", "M-1", "B"):
        np.testing.assert_array_equal(r.inspected[:, names.index(f"{c}.balance"), 0], r.balance[:, r.cls(c), 0])
    f = r.collateral["1"]
    np.testing.assert_array_equal(r.inspected[:, names.index("group_1.pool_balance"), 0], f.end_balance[0])
    np.testing.assert_allclose(r.inspected[:, names.index("group_1.principal"), 0], f.principal[0], atol=1e-6)
    np.testing.assert_array_equal(r.inspected[:, names.index("group_1.interest"), 0], f.net_interest[0])
    assert r.inspected[-1, names.index("pool.cumulative_loss"), 0] == pytest.approx(
        sum(g.loss[0].sum() for g in r.collateral.values()), rel=1e-12)


def _csv(capsys):
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_overcollateralization_target_is_zero_before_nov_2004(capsys):
    # [p.8] the target is 0 before the November 2004 distribution date, then
    # 0.35% of the cut-off balance: 0.35% x 615,000,000 = 2,152,500.
    assert main([J4, "--speeds", "100", "--to", "maturity", "--inspect", "oc_target", "--format", "csv"]) == 0
    rows = _csv(capsys)
    assert list(rows[0]) == ["scenario", "speed", "mode", "period", "date", "oc_target"]
    by_period = {int(r["period"]): r for r in rows}
    assert by_period[6]["date"] == "2004-10-25" and float(by_period[6]["oc_target"]) == 0.0
    assert by_period[7]["date"] == "2004-11-26" and float(by_period[7]["oc_target"]) == pytest.approx(2_152_500.0)


def test_stepdown_date_is_not_before_may_2007(capsys):
    # the Stepdown Date is no earlier than the May 2007 distribution (period 37) unless
    # the seniors are paid off first (at 300% they are, in August 2006)
    assert main([J4, "--speeds", "100", "--to", "maturity", "--inspect", "stepdown", "--format", "csv"]) == 0
    rows = _csv(capsys)
    assert list(rows[0])[-2:] == ["stepdown", "stepdown_since"]
    for speed in ("100%",):
        mine = [r for r in rows if r["speed"] == speed]
        first = next(r for r in mine if r["stepdown"] == "1")
        assert first["date"] >= "2007-05-01"
        since = int(first["period"])
        assert all(r["stepdown_since"] == "" for r in mine if int(r["period"]) < since)
        assert all(r["stepdown"] == "1" and r["stepdown_since"] == str(since) for r in mine if int(r["period"]) >= since)


def test_json_rows_carry_the_same_keys(capsys):
    assert main([J4, "--speeds", "100", "--to", "auction", "--inspect", "oc_target,2-A", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["deal"] == "CWALT 2004-J4"
    row = doc["inspect"][0]
    assert list(row)[:5] == ["scenario", "speed", "mode", "period", "date"]
    assert {"oc_target", "2-A.balance", "2-A.rate", "2-A.cap", "2-A.unpaid_interest"} <= set(row)
    assert row["2-A.balance"] < 297_832_000  # after the first distribution's principal


def test_text_table_names_the_scenario(capsys):
    assert main([J4, "--speeds", "100", "--to", "auction", "--inspect", "oc_target,stepdown"]) == 0
    out = capsys.readouterr().out
    assert "100% of the pricing speed, to auction" in out
    assert "oc_target" in out and "stepdown_since" in out
    assert "2004-11-26  2,152,500.00" in out


def test_unknown_name_is_an_input_error_with_a_suggestion(capsys):
    assert main([J4, "--speeds", "100", "--inspect", "oc_targt"]) == 2
    err = capsys.readouterr().err
    assert "oc_targt" in err and "did you mean 'oc_target'?" in err and "Traceback" not in err


def test_all_gives_every_term_and_group(capsys):
    assert main([J4, "--speeds", "100", "--to", "maturity", "--inspect", "all", "--format", "csv"]) == 0
    head = list(_csv(capsys)[0])
    for col in ("oc_target", "nrc_1a", "stepdown", "stepdown_since", "auction", "corridor_2a", "1-A-1.rate",
                "1-A-IO.notional", "group_2.net_wac", "pool.delinquency", "M-1.unpaid_carryover"):
        assert col in head


def test_cashflows_write_terms_csv(tmp_path, capsys):
    out = tmp_path / "cf"
    assert main([J4, "--speeds", "100", "--to", "maturity", "--cashflows", str(out)]) == 0
    with open(out / "terms.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert "oc_target" in rows[0] and "group_1.pool_balance" in rows[0]
    assert float(next(r for r in rows if r["period"] == "7")["oc_target"]) == pytest.approx(2_152_500.0)


SEQ = str(DEALS / "sequential-cmo.waterfall")  # one collateral group


@pytest.mark.parametrize("deal,names", [(J4, ["pool.", "pool"]), (SEQ, ["pool.", "pool"])])
def test_pool_with_or_without_its_dot_gives_every_group_together(capsys, deal, names):
    """README: `pool.` gives the fields of all groups together, on a deal of one group too."""
    heads = []
    for name in names:
        assert main([deal, "--speeds", "100", "--to", "maturity", "--inspect", name, "--format", "csv"]) == 0
        heads.append(list(_csv(capsys)[0]))
    assert heads[0] == heads[1]
    assert [h for h in heads[0] if "." in h] == [f"pool.{f}" for f in ("pool_balance", "net_wac", "interest",
                                                                        "principal", "loss", "cumulative_loss",
                                                                        "delinquency")]


def test_one_group_pool_fields_are_the_groups_own(capsys):
    assert main([SEQ, "--speeds", "100", "--to", "maturity", "--inspect", "pool.net_wac,group_1.net_wac,"
                 "pool.pool_balance,group_1.", "--format", "csv"]) == 0
    rows = _csv(capsys)
    assert rows and all(r["pool.net_wac"] == r["group_1.net_wac"] and r["pool.pool_balance"] ==
                        r["group_1.pool_balance"] for r in rows)
