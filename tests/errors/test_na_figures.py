"""Issue 16 item 3: figures that mean nothing print as NA (JSON: null and a "note").

A yield is NA where no yield within (-100%, +1000%) reproduces the price, or the
class is written down in full; its duration (taken at that yield) with it.
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
