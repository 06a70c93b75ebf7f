"""Outputs whole or absent (issue 13): class files cannot collide with the run's own."""
from pathlib import Path

import pytest

from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = ROOT / "deals" / "sequential-cmo.waterfall"
ASSUMPTIONS = ROOT / "deals" / "sequential-cmo.assumptions.yaml"


def temporaries(*folders: Path) -> list:
    return [p.name for f in folders if f.is_dir() for p in f.iterdir()
            if p.name.startswith(".cashflows-") or p.name.endswith(".tmp")]


# ------------------------------------------------------------------ 4: file names
@pytest.mark.parametrize("renamed,caret", [("Collateral", "^" * 10), ("payments", "^" * 8)])
def test_a_class_whose_file_is_the_runs_own_is_an_error_at_the_class(tmp_path, capsys, renamed, caret):
    text = DEAL.read_text().replace('class R "Residual"', f'class {renamed} "Residual"')
    text = text.replace("pay remaining to R\n", f"pay remaining to {renamed}\n")
    deal = tmp_path / "named.waterfall"
    deal.write_text(text)
    (tmp_path / "named.assumptions.yaml").write_text(ASSUMPTIONS.read_text())
    line = text.splitlines().index(f'class {renamed} "Residual"') + 1
    out = tmp_path / "cf"
    assert main([str(deal), "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{deal}:{line}:7: error: class {renamed}: its cashflow file {renamed}.csv would overwrite "
                          f"the run's {renamed.lower()}.csv")
    assert f'\n    class {renamed} "Residual"\n          {caret}\n' in err
    assert "Traceback" not in err
    assert not out.exists() and temporaries(tmp_path) == []
    # without --cashflows the deal runs as before
    assert main([str(deal), "--speeds", "100", "--format", "csv"]) == 0


def test_two_classes_whose_files_differ_only_in_case_are_an_error(tmp_path, capsys):
    text = DEAL.read_text().replace('class B "Sequential"', 'class a "Sequential"').replace("A, B, C, D", "A, a, C, D")
    deal = tmp_path / "case.waterfall"
    deal.write_text(text)
    (tmp_path / "case.assumptions.yaml").write_text(ASSUMPTIONS.read_text())
    lines = text.splitlines()
    out = tmp_path / "cf"
    assert main([str(deal), "--cashflows", str(out)]) == 2
    err = capsys.readouterr().err
    a_line, first = lines.index('class a "Sequential"') + 1, lines.index('class A "Sequential"') + 1
    assert err.startswith(f"{deal}:{a_line}:7: error: class a: its cashflow file a.csv would overwrite class A's "
                          f"A.csv (line {first};")
    assert '\n    class a "Sequential"\n          ^\n' in err
    assert not out.exists()
