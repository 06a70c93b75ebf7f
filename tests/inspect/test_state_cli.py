"""run-deal --save-state / --state: the deal state file and its errors."""
import csv
import io

import pytest

from interpreter.cli import main

from ..conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")


@pytest.fixture(scope="module")
def j4_state(tmp_path_factory):
    path = tmp_path_factory.mktemp("state") / "j4-24.yaml"
    assert main([J4, "--speeds", "100", "--to", "maturity", "--save-state", str(path), "--after", "24"]) == 0
    return path


def test_saved_state_reads_like_a_remittance_report(j4_state):
    text = j4_state.read_text()
    assert "distribution: 24" in text and "date: 2006-04-25" in text
    assert "unpaid interest:" in text and "unpaid carryover:" in text and "# factor" in text


def test_run_from_state_continues_the_periods(j4_state, capsys):
    assert main([J4, "--state", str(j4_state), "--inspect", "oc_target,2-A.balance", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["period"] == "25" and rows[0]["date"] == "2006-05-25"
    assert float(rows[0]["oc_target"]) == pytest.approx(2_152_500.0)
    # the same as the uninterrupted run's period 25
    assert main([J4, "--speeds", "100", "--to", "maturity", "--inspect", "2-A.balance", "--format", "csv"]) == 0
    whole = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(whole[24]["2-A.balance"]) == float(rows[0]["2-A.balance"])


def test_factors_print_beside_the_balances(j4_state, capsys):
    assert main([J4, "--state", str(j4_state)]) == 0
    out = capsys.readouterr().out
    assert "Factor" in out and "after distribution 24" in out
    line = next(l for l in out.splitlines() if l.startswith("M-1 "))
    # original, current balance, factor, WAL, window (the deal's own periods)
    assert line.split()[1:4] == ["14,452,000.00", "14,452,000.00", "1.00000000"]  # no subordinate principal
    assert line.split()[-1] == "37-141"  # before the Stepdown Date (distribution 37)


def test_save_state_needs_one_speed_and_one_mode(tmp_path, capsys):
    assert main([J4, "--speeds", "100,200", "--to", "maturity", "--save-state", str(tmp_path / "s.yaml"),
                 "--after", "3"]) == 2
    assert "exactly one speed and one mode" in capsys.readouterr().err
    assert main([J4, "--speeds", "100", "--save-state", str(tmp_path / "s.yaml"), "--after", "3"]) == 2  # two modes
    assert not (tmp_path / "s.yaml").exists()


def _broken(j4_state, tmp_path, old, new):
    text = j4_state.read_text()
    assert old in text
    p = tmp_path / "bad.yaml"
    p.write_text(text.replace(old, new, 1))
    return p


def test_a_class_the_deal_lacks_is_a_positioned_error(j4_state, tmp_path, capsys):
    p = _broken(j4_state, tmp_path, "  M-2:", "  M-3:")
    assert main([J4, "--state", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:" in err and "no class 'M-3'" in err and "did you mean 'M-2'?" in err
    assert "Traceback" not in err


def test_a_date_that_is_not_the_distribution_date_is_refused(j4_state, tmp_path, capsys):
    p = _broken(j4_state, tmp_path, "date: 2006-04-25", "date: 2006-04-26")
    assert main([J4, "--state", str(p)]) == 2
    err = capsys.readouterr().err
    assert ":5:" in err and "not the date of distribution 24" in err and "2006-04-25" in err


def test_balances_that_do_not_add_up_are_refused(j4_state, tmp_path, capsys):
    p = _broken(j4_state, tmp_path, "B: {balance: 7381000.0", "B: {balance: 907381000.0")
    assert main([J4, "--state", str(p)]) == 2
    assert "do not add up" in capsys.readouterr().err


def test_an_unknown_key_suggests_the_word(j4_state, tmp_path, capsys):
    p = _broken(j4_state, tmp_path, "unpaid interest", "unpaid intrest")
    assert main([J4, "--state", str(p)]) == 2
    assert "did you mean 'unpaid interest'?" in capsys.readouterr().err


@pytest.mark.parametrize("options", [["--decrement"], ["--breakeven"], ["--grid", "cdr=0,1"],
                                     ["--size", "1-A-1 wal=0.90", "--remainder", "1-A-2"], ["--report", "r.html"],
                                     ["--afc"], ["--check"]])
def test_a_report_option_a_state_run_does_not_carry_out_is_an_input_error(j4_state, capsys, options, tmp_path):
    """A12: each of these exited 0 with the ordinary tables, the option passed over."""
    options = [str(tmp_path / o) if o.endswith(".html") else o for o in options]
    assert main([J4, "--state", str(j4_state), *options]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert f"run-deal: error: {options[0]} does not run from a deal state yet" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("options", [["--decrement"], ["--inspect", "oc_target"], ["--cashflows", "cf"],
                                     ["--format", "json"], ["--price", "100"]])
def test_save_state_refuses_what_it_would_pass_over(capsys, options, tmp_path):
    path = tmp_path / "s.yaml"
    options = [str(tmp_path / o) if o == "cf" else o for o in options]
    assert main([J4, "--speeds", "100", "--to", "maturity", "--save-state", str(path), "--after", "24",
                 *options]) == 2
    err = capsys.readouterr().err
    assert f"run-deal: error: {options[0]} with --save-state: --save-state only writes the deal state" in err
    assert not path.exists() and not (tmp_path / "cf").exists()
