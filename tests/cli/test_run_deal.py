"""run-deal on the bundled sequential CMO: table, JSON schema, cashflow files, errors."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from interpreter.cli import main

DEAL = str(Path(__file__).resolve().parents[2] / "deals" / "sequential-cmo.waterfall")


def test_table_lists_every_class_at_every_speed(capsys):
    assert main([DEAL]) == 0
    out = capsys.readouterr().out
    assert "Sequential CMO 2024-1" in out
    for c in ("A", "B", "C", "D"):
        assert f"\n{c} " in out
    for s in ("0%", "50%", "100%", "200%", "300%"):
        assert s in out


def test_json_matches_the_schema(capsys):
    assert main([DEAL, "--format", "json", "--speeds", "0,100"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["deal"] == "Sequential CMO 2024-1"
    assert doc["settlement"] == "2024-01-30"
    keys = {"class", "to", "speed_pct", "price", "yield_pct", "dm_bp", "wal_years", "mdur_years",
            "first_principal", "last_principal",
            "mortgage_yield_pct", "macaulay_years", "convexity", "accrued", "speed"}  # added by issue 17
    assert len(doc["tables"]) == 4 * 2
    for row in doc["tables"]:
        assert set(row) == keys
        assert row["to"] == "maturity"
        assert row["speed_pct"] in (0.0, 100.0)
        assert isinstance(row["wal_years"], float)
        assert row["dm_bp"] is None  # fixed-rate classes have a yield, not a DM
        assert row["first_principal"] <= row["last_principal"]


def test_class_a_pays_first_at_every_speed(capsys):
    main([DEAL, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    for row in doc["tables"]:
        if row["class"] == "A":
            assert row["first_principal"] == "2024-02-26"  # Feb 25, 2024 is a Sunday


def test_cashflow_files_sum_to_the_collateral(tmp_path, capsys):
    out = tmp_path / "cf"
    assert main([DEAL, "--speeds", "100,200", "--cashflows", str(out), "--format", "csv"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [".run-deal-cashflows", "A.csv", "B.csv", "C.csv", "D.csv", "R.csv", "clauses.csv", "collateral.csv", "payments.csv", "terms.csv"]

    def load(name):
        with open(out / name) as fh:
            return list(csv.DictReader(fh))
    coll = load("collateral.csv")
    for col in ("scenario", "speed", "mode", "period", "date", "beginning balance", "interest", "principal",
                "ending balance"):
        assert col in coll[0]
    total = {}
    for name in ("A", "B", "C", "D", "R"):
        for row in load(f"{name}.csv"):
            key = (row["scenario"], row["period"])
            total[key] = total.get(key, 0.0) + float(row["interest"]) + float(row["principal"])
    for row in coll:
        key = (row["scenario"], row["period"])
        assert total[key] == pytest.approx(float(row["interest"]) + float(row["principal"]), abs=1e-6)
    # The clause ledger adds up to the same cash, clause by clause.
    by_clause = {}
    for row in load("clauses.csv"):
        key = (row["scenario"], row["period"])
        by_clause[key] = by_clause.get(key, 0.0) + float(row["paid"])
    for key, v in total.items():
        assert by_clause[key] == pytest.approx(v, abs=1e-6)
    # Every payment traces to its clause and to the line of the deal file that made it.
    deal_lines = Path(DEAL).read_text().splitlines()
    by_payment = {}
    for row in load("payments.csv"):
        key = (row["scenario"], row["period"])
        by_payment[key] = by_payment.get(key, 0.0) + float(row["amount"])
        line = deal_lines[int(row["line"]) - 1]
        assert row["class"] in line and ("pay" in line), (row, line)
    for key, v in total.items():
        assert by_payment.get(key, 0.0) == pytest.approx(v, abs=1e-6)


def test_parse_error_shows_position_line_and_caret(tmp_path, capsys):
    bad = tmp_path / "bad.waterfall"
    bad.write_text(Path(DEAL).read_text().replace("balance   80,000,000", "balance   eighty"))
    rc = main([str(bad), "--assumptions", str(Path(DEAL).with_suffix("")) + ".assumptions.yaml"])
    err = capsys.readouterr().err
    assert rc == 2
    first = err.splitlines()[0]
    assert first.startswith(f"{bad}:22:15: error:")
    assert "    balance   eighty" in err
    assert "\n" + " " * (4 + 14) + "^^^^^^\n" in err  # under 'eighty', column 15
    assert "Traceback" not in err


def test_unknown_class_in_a_rule_gets_did_you_mean(tmp_path, capsys):
    bad = tmp_path / "bad.waterfall"
    bad.write_text(Path(DEAL).read_text().replace("sequentially to A, B, C, D\n    clause \"3",
                                                  "sequentially to A, B, CC, D\n    clause \"3"))
    (tmp_path / "bad.assumptions.yaml").write_text(Path(str(Path(DEAL).with_suffix("")) + ".assumptions.yaml").read_text())
    rc = main([str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown class 'CC'" in err
    assert "did you mean 'C'?" in err


def test_price_from_a_yield_is_the_inverse_of_yield_at_a_price(capsys):
    main([DEAL, "--format", "json", "--class", "B", "--speeds", "100", "--price", "B=99-16+"])
    at_price = json.loads(capsys.readouterr().out)["tables"][0]
    assert at_price["price"] == pytest.approx(99 + 16.5 / 32)
    main([DEAL, "--format", "json", "--class", "B", "--speeds", "100", "--yield", f"B={at_price['yield_pct']}"])
    back = json.loads(capsys.readouterr().out)["tables"][0]
    assert back["price"] == pytest.approx(at_price["price"], abs=1e-9)
    assert back["yield_pct"] == pytest.approx(at_price["yield_pct"], abs=1e-9)


def test_a_stated_delay_moves_the_payment_dates(tmp_path, capsys):
    # A pass-through stated with a 55-day delay is paid 55 days after the first
    # day of its accrual month: January 2024 accrual -> February 25, 2024
    # (24 days after the end of January, the "actual" delay).
    text = Path(DEAL).read_text().replace("class A \"Sequential\"\n", "class A \"Sequential\"\n    delay 55 days\n")
    bad = tmp_path / "delay.waterfall"
    bad.write_text(text)
    (tmp_path / "delay.assumptions.yaml").write_text(Path(str(Path(DEAL).with_suffix("")) + ".assumptions.yaml").read_text())
    assert main([str(bad), "--format", "json", "--speeds", "100", "--class", "A"]) == 0
    row = json.loads(capsys.readouterr().out)["tables"][0]
    assert row["first_principal"] == "2024-02-25"


def test_an_unwritable_output_is_an_input_error_without_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    rc = main([DEAL, "--speeds", "100", "--cashflows", str(blocker / "cf")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "cannot write" in err and "Traceback" not in err
    assert blocker.read_text() == "not a folder"


def test_a_table_shorter_than_the_deal_is_refused_before_running(tmp_path, capsys):
    text = Path(DEAL).read_text()
    text = text.replace('class A "Sequential"', 'table short "Short" by period\n    1-10 5%\nclass A "Sequential"')
    text = text.replace("pay principal sequentially to A, B, C, D",
                        "pay principal sequentially to A, B, C, D up to short * 1,000,000,000")
    bad = tmp_path / "short.waterfall"
    bad.write_text(text)
    (tmp_path / "short.assumptions.yaml").write_text(Path(str(Path(DEAL).with_suffix("")) + ".assumptions.yaml").read_text())
    assert main([str(bad), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:22:5: error: table short ends at period 10 but the deal runs 358 periods" in err


def test_both_engines_print_the_same_tables(capsys, monkeypatch):
    monkeypatch.delenv("WATERFALL_ENGINE", raising=False)
    outs = []
    for engine in ("numpy", "auto"):
        assert main([DEAL, "--format", "json", "--engine", engine]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    # unrounded figures: the numpy paths (engine, collateral, analytics) agree with the
    # compiled ones to rounding error; every date and every printed figure is the same
    assert len(outs[0]["tables"]) == len(outs[1]["tables"]) > 0
    for a, b in zip(outs[0]["tables"], outs[1]["tables"]):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert b[k] == pytest.approx(a[k], rel=1e-11, abs=1e-11), (a["class"], k)
            else:
                assert a[k] == b[k]
    monkeypatch.delenv("WATERFALL_ENGINE", raising=False)


def test_engine_c_without_a_compiler_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("WATERFALL_ENGINE", "numpy")  # as if no compiler: cbuild finds none
    monkeypatch.setenv("CC", "no-such-compiler")
    from interpreter.native import build as cbuild
    monkeypatch.setattr(cbuild, "_which", {})
    assert main([DEAL, "--engine", "c"]) == 2
    assert "no C compiler" in capsys.readouterr().err
