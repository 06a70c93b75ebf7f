"""run-deal on CWALT 2004-J4: modes, the available-funds cap schedule, grids to a file."""
import csv
import json
from pathlib import Path

import pytest

from interpreter.cli import main

J4 = str(Path(__file__).resolve().parents[2] / "deals" / "cwalt-2004-j4.waterfall")


def test_json_carries_the_event_name_in_lower_case(capsys):
    assert main([J4, "--format", "json", "--speeds", "100", "--class", "2-A"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(r["to"] for r in doc["tables"]) == ["auction", "maturity"]
    assert main([J4, "--format", "json", "--speeds", "100", "--class", "2-A", "--to", "call"]) == 0
    assert [r["to"] for r in json.loads(capsys.readouterr().out)["tables"]] == ["call"]


def test_io_classes_show_na_where_a_figure_does_not_apply(capsys):
    assert main([J4, "--format", "json", "--speeds", "100", "--class", "1-A-IO", "--to", "maturity"]) == 0
    row = json.loads(capsys.readouterr().out)["tables"][0]
    # issue 17: an IO has no principal window and no default price; its WAL is the notional's decline
    assert row["first_principal"] is None and row["price"] is None and row["yield_pct"] is None
    assert 0 < row["wal_years"] < 2


def test_afc_schedule_period_1_by_hand(capsys):
    # Period 1 (April 30 - May 25, 25 days): the 1-A cap is 5.991% - 1.50% x 300m/300m
    # = 4.491% on 30/360, so 1-A-1's effective cap is 4.491% x 30/25 = 5.3892%. The ARMs
    # have not reset, so the 20% index stress changes nothing yet.
    assert main([J4, "--afc", "--class", "1-A-1"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.strip().startswith("1 2004-05-25"))
    curve, stressed = (float(x) for x in line.split()[2:4])
    assert curve == pytest.approx(5.39, abs=0.005)
    assert stressed == pytest.approx(5.39, abs=0.005)


def test_grid_writes_a_table_file(tmp_path, capsys):
    out = tmp_path / "grid.csv"
    assert main([J4, "--grid", "speed=50,150 cdr=0,5 severity=40%", "--to", "maturity", "--class", "M-1",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    assert {(r["speed_pct"], r["cdr_pct"]) for r in rows} == {("50.0", "0.0"), ("50.0", "5.0"),
                                                              ("150.0", "0.0"), ("150.0", "5.0")}
    lossy = [r for r in rows if r["cdr_pct"] == "5.0"]
    assert all(float(r["collateral_loss"]) > 0 for r in lossy)


def test_a_bad_grid_is_an_input_error(capsys):
    assert main([J4, "--grid", "speed=fast"]) == 2
    assert "--grid" in capsys.readouterr().err
