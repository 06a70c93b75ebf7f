"""The 'waterfall' console script: fmt, fmt --check, check, lsp, and its errors."""
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from dsl.format import format_text
from interpreter.cli import main as run_deal
from interpreter.toolcli import main

ROOT = Path(__file__).resolve().parents[2]
DEALS = ROOT / "deals"
MESSY = 'deal  "M"\n  cutoff 2024-01-01   # kept\nclass R\n  residual\nwaterfall\n  clause "1"\n     pay remaining to R\n'
BROKEN = 'deal "B"\n    cutoff 2024-01-01\nclass\n'


def test_the_bundled_deals_are_formatted_as_a_subprocess_sees_them():
    proc = subprocess.run([sys.executable, "-m", "interpreter.toolcli", "fmt", "--check", "deals/"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_fmt_check_lists_a_file_that_would_change_exits_1_and_changes_nothing(tmp_path, capsys):
    messy = tmp_path / "m.waterfall"
    messy.write_text(MESSY)
    tidy = tmp_path / "t.waterfall"
    tidy.write_text(format_text(MESSY))
    before = messy.stat().st_mtime_ns
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY and messy.stat().st_mtime_ns == before


def test_fmt_rewrites_a_file_in_place_keeping_its_mode_and_leaving_no_temporary(tmp_path, capsys):
    messy = tmp_path / "m.waterfall"
    messy.write_text(MESSY)
    messy.chmod(0o640)
    assert main(["fmt", str(messy)]) == 0
    assert capsys.readouterr().out == f"reformatted {messy}\n"
    assert messy.read_text() == format_text(MESSY) != MESSY
    assert "# kept" in messy.read_text()
    assert messy.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.waterfall"]
    assert main(["fmt", str(messy)]) == 0  # already formatted: nothing to say
    assert capsys.readouterr().out == ""


def test_fmt_through_a_symbolic_link_rewrites_its_target(tmp_path):
    target = tmp_path / "real.waterfall"
    target.write_text(MESSY)
    link = tmp_path / "link.waterfall"
    link.symlink_to(target)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and target.read_text() == format_text(MESSY)


def test_a_folder_means_its_deal_files_and_subfolders_but_not_hidden_ones_or_other_files(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for p in ("a.waterfall", "sub/b.waterfall", ".hidden/c.waterfall", "notes.txt"):
        (tmp_path / p).write_text(MESSY)
    assert main(["fmt", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"reformatted {tmp_path / 'a.waterfall'}",
                                                    f"reformatted {tmp_path / 'sub' / 'b.waterfall'}"]
    assert (tmp_path / ".hidden/c.waterfall").read_text() == MESSY == (tmp_path / "notes.txt").read_text()


def test_a_file_that_does_not_parse_is_reported_where_and_left_as_it_is(tmp_path, capsys):
    bad = tmp_path / "bad.waterfall"
    bad.write_text(BROKEN)
    good = tmp_path / "good.waterfall"
    good.write_text(MESSY)
    for argv in (["fmt", str(bad), str(good)], ["fmt", "--check", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{bad}:3:6: error: unexpected end of line\n    class\n         ^\n  expected a name" in err
        assert "Traceback" not in err
        assert bad.read_text() == BROKEN
    assert good.read_text() == format_text(MESSY)  # the others are still formatted


def test_a_path_that_names_nothing_is_an_error(tmp_path, capsys):
    assert main(["fmt", str(tmp_path / "nowhere.waterfall")]) == 2
    assert capsys.readouterr().err == f"waterfall: error: no such file or folder: {tmp_path / 'nowhere.waterfall'}\n"


def _deal_pair(folder: Path, name: str) -> Path:
    shutil.copy(DEALS / f"{name}.waterfall", folder)
    shutil.copy(DEALS / f"{name}.assumptions.yaml", folder)
    return folder / f"{name}.waterfall"


def test_check_validates_several_deals_as_run_deal_check_does(tmp_path, capsys):
    deals = [_deal_pair(tmp_path, n) for n in ("sequential-cmo", "auto-abs")]
    assert main(["check", *map(str, deals)]) == 0
    out = capsys.readouterr().out
    expected = ""
    for d in deals:
        assert run_deal([str(d), "--check"]) == 0
        expected += capsys.readouterr().out
    assert out == expected and out.count(": ok: ") == 2  # each deal with its assumptions


def test_check_exits_2_when_any_deal_has_errors_and_still_checks_the_others(tmp_path, capsys):
    good = _deal_pair(tmp_path, "sequential-cmo")
    bad = tmp_path / "bad.waterfall"
    bad.write_text(good.read_text().replace("pay remaining to R", "pay remaining to Q"))
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / "bad.assumptions.yaml")
    assert main(["check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:" in captured.err and "error: unknown class 'Q'" in captured.err
    assert f"{good}: ok: " in captured.out


def test_lsp_without_the_server_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "interpreter.lsp", None)  # import fails as if it were not installed
    assert main(["lsp"]) == 2
    assert capsys.readouterr().err == "waterfall lsp: the language server needs pip install 'waterfall-dsl[lsp]'\n"


def test_lsp_starts_the_server(monkeypatch):
    started = []
    monkeypatch.setitem(sys.modules, "interpreter.lsp", types.SimpleNamespace(main=lambda: started.append(1)))
    assert main(["lsp"]) == 0 and started == [1]


@pytest.mark.parametrize("argv", [[], ["fmt"], ["check"], ["bogus"], ["fmt", "--nope", "x"], ["lsp", "extra"]])
def test_argument_errors_exit_2_without_a_traceback(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: waterfall") and "Traceback" not in err


@pytest.mark.parametrize("command", ["fmt", "check", "lsp"])
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: waterfall {command}")


def test_the_console_script_is_registered():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'waterfall = "interpreter.toolcli:main"' in text
    assert 'run-deal = "interpreter.cli:main"' in text
