"""Issue 16 item 5, the loan tape: a tape with a header only, and a fee above the
gross rate (once "money not conserved ... collected -43.47", which looked like an
engine bug), are input errors at their place in the tape (exit 2)."""
from __future__ import annotations

from .inputs import first_error, run_deal

HEADER = "group,balance,gross_rate,fee_rate,remaining_term,age\n"
YAML = "loan tape: tape.csv\nspeeds: [100%]\n"


def _with_tape(tmp_path, rows: str) -> None:
    (tmp_path / "tape.csv").write_text(HEADER + rows, encoding="utf-8")


def refused_at(tmp_path, capsys, where, message, **kw) -> str:
    """Exit 2, the first diagnostic at ``where`` (line, column) of tape.csv, holding ``message``."""
    rc, err, *_ = run_deal(tmp_path, capsys, **kw)
    assert rc == 2, err
    file, line, col, msg = first_error(err)
    assert (file, line, col) == (str(tmp_path / "tape.csv"), *where), err
    assert message in msg, err
    return err


def test_a_tape_with_a_header_only(tmp_path, capsys):
    _with_tape(tmp_path, "")
    err = refused_at(tmp_path, capsys, (1, 1), "loan tape: a header and no loans", yaml=YAML)
    assert err.startswith(f"{tmp_path / 'tape.csv'}:1:1: error:")


def test_a_tape_with_blank_rows_only_is_a_header_only(tmp_path, capsys):
    _with_tape(tmp_path, "\n,,,,,\n")
    refused_at(tmp_path, capsys, (1, 1), "a header and no loans", yaml=YAML)


def test_a_fee_above_the_gross_rate_is_an_error_at_its_cell(tmp_path, capsys):
    # the first loan is sound; the second's fee (7%) exceeds its gross rate (6.5%): a negative net rate
    _with_tape(tmp_path, "1,100000000,0.065,0.005,358,2\n1,100000000,6.5%,7%,358,2\n")
    err = refused_at(tmp_path, capsys, (3, len("1,100000000,6.5%,") + 1),
                     "fee_rate: 7% is more than the gross_rate 6.5%", yaml=YAML)
    assert "money not conserved" not in err


def test_a_fee_equal_to_the_gross_rate_is_allowed(tmp_path, capsys):
    # a zero net rate (every cent of interest to the servicer) is odd but sound: the deal runs
    _with_tape(tmp_path, "1,200000000,0.065,0.065,358,2\n")
    rc, err, *_ = run_deal(tmp_path, capsys, yaml=YAML)
    assert "error" not in err and rc == 0, err
