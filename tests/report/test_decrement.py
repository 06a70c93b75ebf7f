"""Decrement tables (run-deal --decrement): the prospectus layout, rounding, and
agreement with the class balances of --cashflows."""
import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from interpreter.cli import main
from interpreter.report.decrement import anniversary_periods, pct_cell

DEALS = Path(__file__).resolve().parents[2] / "deals"
J4 = str(DEALS / "cwalt-2004-j4.waterfall")
SEQ = str(DEALS / "sequential-cmo.waterfall")


def test_percents_round_half_up_and_a_sliver_shows_as_a_star():
    assert pct_cell(100.0) == "100"
    assert pct_cell(37.5) == "38"
    assert pct_cell(37.4999) == "37"
    assert pct_cell(0.5) == "1"
    assert pct_cell(0.49) == "*"
    assert pct_cell(1e-6) == "*"
    assert pct_cell(0.0) == "0"


def test_anniversaries_are_the_distribution_dates_in_the_closing_month():
    dates = [dt.date(2004, 5, 25), dt.date(2004, 6, 25)] + [dt.date(2004 + (m + 5) // 12, (m + 5) % 12 + 1, 25)
                                                           for m in range(2, 30)]
    got = [dates[t] for t in anniversary_periods(dt.date(2004, 4, 30), dates)]
    assert got == [dt.date(2005, 4, 25), dt.date(2006, 4, 25)]


def _cashflow_balances(folder: Path, cls: str) -> dict:
    with open(folder / f"{cls}.csv") as fh:
        return {(r["mode"], r["speed"], r["date"]): float(r["ending balance"]) for r in csv.DictReader(fh)}


def test_j4_decrement_rows_agree_with_the_cashflow_files(tmp_path, capsys):
    assert main([J4, "--decrement", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["deal"] == "CWALT 2004-J4"
    rows = doc["decrement"]
    assert all(list(r) == ["class", "to", "speed_pct", "date", "pct_outstanding"] for r in rows)
    assert {r["to"] for r in rows} == {"auction", "maturity"}
    assert {r["class"] for r in rows} == {"1-A-1", "1-A-2", "1-A-3", "1-A-4", "1-A-5", "1-A-6", "2-A", "M-1",
                                          "M-2", "B"}
    assert main([J4, "--cashflows", str(tmp_path / "cf"), "--format", "csv"]) == 0
    capsys.readouterr()
    original = {"1-A-1": 119_257_000, "2-A": 297_832_000, "M-2": 11_685_000}
    checked = 0
    for cls, face in original.items():
        bal = _cashflow_balances(tmp_path / "cf", cls)
        for r in rows:
            if r["class"] != cls:
                continue
            if r["date"] == "2004-04-30":  # the closing date: the initial percentage
                assert r["pct_outstanding"] == 100.0
                continue
            ending = bal[(r["to"], f"{r['speed_pct']:g}%", r["date"])]
            assert r["pct_outstanding"] == pytest.approx(ending / face * 100.0, rel=1e-12, abs=1e-9)
            checked += 1
    assert checked > 100


def test_text_layout_has_the_initial_row_the_anniversaries_and_the_wal(capsys):
    assert main([J4, "--decrement"]) == 0
    out = capsys.readouterr().out
    assert "Percent of Initial Class Principal Balance Outstanding" in out
    assert "Initial Percentage" in out and "April 25, 2005" in out
    assert "Weighted Average Life (years)" in out
    # 1-A-1 at 100% PPC to the auction: the term sheet's WAL (p.3: 0.90)
    block = out[out.index("Class 1-A-1"):]
    wal_line = next(l for l in block.splitlines() if l.strip().startswith("Weighted Average Life"))
    assert wal_line.split()[4:7] == ["11.84", "1.12", "0.90"]


def test_decrement_wal_is_the_term_sheet_wal(capsys):
    assert main([SEQ, "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)["tables"]
    assert main([SEQ, "--decrement", "--format", "json"]) == 0
    wal = json.loads(capsys.readouterr().out)["wal"]
    by = {(r["class"], r["speed_pct"]): r["wal_years"] for r in tables}
    assert len(wal) == 4 * 5
    for r in wal:
        assert r["wal_years"] == pytest.approx(by[(r["class"], r["speed_pct"])], rel=1e-12)


def test_rows_end_at_the_first_anniversary_with_the_class_retired_at_every_speed(capsys):
    assert main([SEQ, "--decrement", "--format", "csv", "--class", "A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "class,to,speed_pct,date,pct_outstanding"
    rows = [l.split(",") for l in lines[1:]]
    last_date = rows[-1][3]
    final = [float(r[4]) for r in rows if r[3] == last_date]
    assert final == [0.0] * 5
    before = sorted({r[3] for r in rows})[-2]
    assert any(float(r[4]) > 0 for r in rows if r[3] == before)
