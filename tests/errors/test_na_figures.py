"""Issue 16 item 3: figures that mean nothing print as NA (JSON: null and a "note").

A yield is NA where no yield within (-100%, +1000%) reproduces the price, or the
class is written down in full; its duration (taken at that yield) with it. A class
with principal outstanding at the end of its run (neither paid nor written down: a
horizon, principal the collateral never pays, a sale that does not retire it) has
NA for its WAL too. The interest breakeven (--breakeven) is never above the
principal breakeven: a class written down in full is not "whole" of interest.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interpreter.report.analyze import CUT_SHORT

from .inputs import DEAL, YAML, at, edit, run_deal

ROOT = Path(__file__).resolve().parents[2]


def test_a_class_cut_short_by_the_horizon_has_no_yield_in_the_table_or_json(tmp_path, capsys):
    # horizon 1: class A gets one month's interest and a sliver of principal for 100 of price; the
    # only yield that gives 100 is below -100% (before: -200.00, and an MDUR of 7e13 years); every
    # class has nearly all its principal outstanding when the run ends, and that is the note
    from interpreter.cli import main
    rc, err, d, y = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 1\n")  # writes the files; warns
    assert rc == 0
    main([str(d), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    for row in doc["tables"]:
        assert row["yield_pct"] is None and row["mdur_years"] is None and row["wal_years"] is None
        assert row["note"] == CUT_SHORT
    main([str(d)])
    text = capsys.readouterr().out
    yields = [line for line in text.splitlines() if line.strip().startswith("Yield @")]
    mdurs = [line for line in text.splitlines() if line.strip().startswith("MDUR")]
    assert yields and all(line.split()[3:] == ["NA"] * 5 for line in yields)
    assert mdurs and all(line.split()[2:] == ["NA"] * 5 for line in mdurs)


def test_rows_of_a_sound_run_have_no_note(tmp_path, capsys):
    from interpreter.cli import main
    rc, err, d, y = run_deal(tmp_path, capsys, args=())
    capsys.readouterr()
    main([str(d), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert all("note" not in row and row["yield_pct"] is not None for row in doc["tables"])


def test_classes_written_down_in_full_have_no_dm_and_the_senior_keeps_its_negative_dm():
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    from interpreter.report.analyze import analyze
    deal = load_deal(ROOT / "deals" / "subprime-hel.waterfall")
    a = load_assumptions(ROOT / "deals" / "subprime-hel.assumptions.yaml", deal)
    r = run(deal, a, [1.0], cdr=[0.30], severity=[0.60])  # losses beyond all the subordination
    rows = {row["class"]: row for row in analyze(r)}
    wd = r.writedown_total()
    for name in ("M-1", "M-2", "M-3", "B"):
        assert wd[r.cls(name), 0] == pytest.approx(rows[name]["balance"])  # written down in full
        assert rows[name]["note"] == "written down in full"
        assert rows[name]["dm_bp"] is None and rows[name]["mdur_years"] is None
    # A loses part of its principal: a real (negative) margin, kept
    assert 0 < wd[r.cls("A"), 0] < rows["A"]["balance"]
    assert rows["A"]["note"] is None and -10000 < rows["A"]["dm_bp"] < 0
    cols = analyze(r).columns()
    written = np.isin(cols["class"], ["M-1", "M-2", "M-3", "B"])
    assert np.isnan(cols["dm_bp"][written]).all() and np.isfinite(cols["dm_bp"][~written]).all()


def _json_rows(capsys, d, *args) -> list:
    from interpreter.cli import main
    capsys.readouterr()
    assert main([str(d), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)["tables"]


def test_a_class_outstanding_at_a_horizon_has_na_figures_only_where_it_is(tmp_path, capsys):
    # horizon 120: at 0% the pool amortizes ~16% in ten years, so every class is still outstanding
    # (before: class A printed a yield and a WAL of a bond cut short); at 300% PSA A and B are paid
    # off well within ten years and keep their figures
    from dsl.check import load_deal
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    rc, err, d, y = run_deal(tmp_path, capsys, yaml=YAML + "horizon: 120\n")
    rows = _json_rows(capsys, d)
    deal = load_deal(d)
    r = run(deal, load_assumptions(y, deal), [0.0, 3.0])
    for row in rows:
        if row["speed_pct"] not in (0.0, 300.0):
            continue
        left = r.balance[-1, r.cls(row["class"]), [0.0, 300.0].index(row["speed_pct"])]
        if left > 0.005:
            assert row["note"] == CUT_SHORT, row
            assert row["yield_pct"] is None and row["wal_years"] is None and row["mdur_years"] is None
        else:
            assert row.get("note") is None and row["yield_pct"] is not None and row["wal_years"] is not None
    at0 = {row["class"]: row for row in rows if row["speed_pct"] == 0.0}
    assert all(at0[c].get("note") == CUT_SHORT for c in "ABCD")
    assert {row["class"] for row in rows if row["speed_pct"] == 300.0 and row.get("note") is None} >= {"A", "B"}
    from interpreter.cli import main
    capsys.readouterr()
    main([str(d)])
    text = capsys.readouterr().out
    summary = [line for line in text.splitlines() if line.startswith("A ")][0]
    assert summary.split()[2] != "NA"  # the summary is at the pricing speed, where A is paid off
    block = text[text.index("Class A (To Maturity)"):]
    wal = [line for line in block.splitlines() if line.strip().startswith("WAL (yr)")][0]
    assert wal.split()[2:4] == ["NA", "NA"]  # 0% and 50%


def test_principal_the_collateral_never_pays_makes_the_class_na(tmp_path, capsys):
    # D 25,000,000 on 200,000,000 of loans for 205,000,000 of certificates, no losses allocated: D is
    # never paid 5,000,000 of its principal nor written down (before: a yield as if it were repaid)
    deal = edit(DEAL, "balance   20,000,000", "balance   25,000,000")
    rc, err, d, y = run_deal(tmp_path, capsys, deal=deal)
    assert "class D still has 5,000,000.00 outstanding" in err
    rows = _json_rows(capsys, d)
    for row in rows:
        if row["class"] == "D":
            assert row["note"] == CUT_SHORT and row["yield_pct"] is None and row["wal_years"] is None
        else:
            assert row.get("note") is None and row["yield_pct"] is not None


def test_classes_retired_by_a_sale_keep_their_figures(tmp_path, capsys):
    # to the auto ABS's clean-up call the sale retires every note: figures, no note
    auto = (ROOT / "deals" / "auto-abs.waterfall").read_text(encoding="utf-8")
    auto_yaml = (ROOT / "deals" / "auto-abs.assumptions.yaml").read_text(encoding="utf-8")
    rc, err, d, y = run_deal(tmp_path, capsys, deal=auto, yaml=auto_yaml)
    rows = _json_rows(capsys, d)
    assert {row["to"] for row in rows} == {"call", "maturity"}
    assert all(row.get("note") is None and row["yield_pct"] is not None and row["wal_years"] is not None
               for row in rows)


def test_the_interest_breakeven_is_never_above_the_principal_breakeven(capsys):
    # subprime HEL: M-3 and B are written down in full at high CDRs; their interest breakeven read
    # '99.94' (no balance, so no shortfall) above a principal breakeven near 8
    from interpreter.cli import main
    capsys.readouterr()
    assert main([str(ROOT / "deals" / "subprime-hel.waterfall"), "--breakeven", "--format", "json",
                 "--speeds", "100", "--to", "maturity"]) == 0
    rows = json.loads(capsys.readouterr().out)["breakeven"]
    assert {r["class"] for r in rows} == {"A", "M-1", "M-2", "M-3", "B"}
    for r in rows:
        assert r["breakeven_cdr_pct"] is not None and r["interest_breakeven_cdr_pct"] is not None
        assert r["interest_breakeven_cdr_pct"] <= r["breakeven_cdr_pct"]
    # a class short of interest before any write-down keeps the lower figure (the CMO allocates no
    # losses: D is short of interest as soon as loans default, and never written down)
    assert main([str(ROOT / "deals" / "sequential-cmo.waterfall"), "--breakeven", "D", "--severity", "40%",
                 "--speeds", "100", "--format", "json"]) == 0
    (d,) = json.loads(capsys.readouterr().out)["breakeven"]
    assert d["breakeven_cdr_pct"] is None and d["interest_breakeven_cdr_pct"] == 0.0


def test_a_class_of_no_balance_is_na_with_its_reason_and_no_numpy_warning(tmp_path, capsys):
    # a balance of 0 checks (a what-if or a sizing may leave one): nothing to price, said once,
    # and no "invalid value encountered in divide" on stderr
    deal = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
    assert "    balance   20,000,000\n" in deal
    deal = deal.replace("    balance   20,000,000\n", "    balance   0\n")
    yaml = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
    rc, err, d, y = run_deal(tmp_path, capsys, deal=deal, yaml=yaml, args=("--format", "json", "--speeds", "100"))
    assert rc == 0 and "invalid value" not in err and "warning" not in err, err
    from interpreter.cli import main
    assert main([str(d), "--format", "json", "--speeds", "100"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out)["tables"] if r["class"] == "D"]
    assert rows and all(r["note"] == "no balance: nothing to price" and r["yield_pct"] is None
                        and r["wal_years"] is None for r in rows)
