"""Issue 16 item 5: every input-caused failure exits exactly 2 with FILE:LINE:COL.

Each case is one of the failures that used to exit 1 with an internal message
(or a traceback): the first diagnostic must name the file, the line and the
column where the mistake is written and say what is wrong there.
"""
from __future__ import annotations

import pytest

from .inputs import DEAL, YAML, at, edit, refused_at, run_deal

IDX_DEAL = edit(edit(DEAL, 'group 1 "30', 'index LIBOR_1M "One-month LIBOR"\n\ngroup 1 "30'),
                "coupon    5.50%", "coupon    LIBOR_1M + 0.50%")
ARM = ("    arm: {index: LIBOR_1M, margin: 2.75%, first reset: 24, reset every: 0, initial cap: 3%, "
       "periodic cap: 1%, lifetime cap: 6%}\n")


def test_invalid_utf8_is_an_error_at_its_byte(tmp_path, capsys):
    raw = DEAL.encode().replace(b'deal "Sequential', b'deal "Seq\x80uential')
    line, col = at(DEAL, 'deal "Sequential', len('deal "Seq'))
    err = refused_at(tmp_path, capsys, (line, col), "invalid UTF-8 byte 0x80", deal_bytes=raw)
    assert 'deal "Seq\ufffduential' in err  # the line shown, the byte replaced


def test_invalid_utf8_in_the_assumptions_is_an_error_at_its_byte(tmp_path, capsys):
    raw = YAML.encode().replace(b"# Assumptions", b"# Assum\xffptions")
    refused_at(tmp_path, capsys, at(YAML, "# Assumptions", len("# Assum")), "invalid UTF-8 byte 0xff",
               which="yaml", yaml_bytes=raw)


def test_a_byte_order_mark_at_the_start_of_a_deal_is_accepted(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, deal_bytes=b"\xef\xbb\xbf" + DEAL.encode())
    assert rc == 0, err


@pytest.mark.parametrize("date", ["0000-01-01", "9999-12-25"])
def test_dates_outside_the_calendar(tmp_path, capsys, date):
    # year 0 is no date; a first distribution in 9999 has no room for its periods (they would reach year 10000)
    field = "cutoff              2024-01-01" if date.startswith("0") else "first distribution  2024-02-25"
    deal = edit(DEAL, field, field[:-10] + date)
    message = "impossible date" if date.startswith("0") else "leaves no room for the deal's 720 monthly periods"
    refused_at(tmp_path, capsys, at(deal, date), message, deal=deal, args=("--speeds", "100"))


def test_a_delay_of_billions_of_days(tmp_path, capsys):
    deal = edit(DEAL, "    coupon    5.50%", "    coupon    5.50%\n    delay 9999999999 days")
    err = refused_at(tmp_path, capsys, at(deal, "9999999999"), "a delay of 9999999999 is out of range", deal=deal,
                     args=("--speeds", "100"))
    assert "from 0 to 365" in err


def test_a_class_range_whose_end_is_not_a_class(tmp_path, capsys):
    deal = edit(DEAL, 'waterfall "Priority', 'classes "Notes" = day .. B\n\nwaterfall "Priority')
    err = refused_at(tmp_path, capsys, at(deal, "day .. B"), "unknown class 'day': a range runs between two classes",
                     deal=deal)
    assert "the deal has classes A, B, C, D and R" in err


@pytest.mark.parametrize("key, value", [("age", ".nan"), ("remaining term", ".inf"), ("age", "-.inf")])
def test_nan_and_inf_in_whole_number_fields(tmp_path, capsys, key, value):
    yaml = edit(YAML, f"    {key}: ", f"    {key}: {value} #")
    refused_at(tmp_path, capsys, at(yaml, value), "is not a finite number", which="yaml", yaml=yaml)


def test_reset_every_zero(tmp_path, capsys):
    yaml = edit(YAML, "    age: 2\n", "    age: 2\n" + ARM) + "indices: {LIBOR_1M: 1.10%}\n"
    refused_at(tmp_path, capsys, at(yaml, "reset every: 0", len("reset every: ")), "arm reset every: 0 months",
               which="yaml", deal=IDX_DEAL, yaml=yaml, args=("--speeds", "100"))


def test_a_missing_index_level(tmp_path, capsys):
    err = refused_at(tmp_path, capsys, at(YAML, "collateral:"), "index LIBOR_1M has no level", which="yaml",
                     deal=IDX_DEAL, args=("--speeds", "100"))
    assert "LIBOR_1M: 1.10%" in err and "the deal declares it at" in err


def test_an_empty_index_vector(tmp_path, capsys):
    yaml = YAML + "indices: {LIBOR_1M: []}\n"
    refused_at(tmp_path, capsys, at(yaml, "[]}"), "index LIBOR_1M: an empty list", which="yaml", deal=IDX_DEAL,
               yaml=yaml, args=("--speeds", "100"))


def test_duplicate_yaml_keys_are_an_error(tmp_path, capsys):
    yaml = edit(YAML, "    age: 2\n", "    age: 2\n    age: 3\n")
    refused_at(tmp_path, capsys, at(yaml, "age: 3"), "duplicate key 'age' (first at line", which="yaml", yaml=yaml)


def test_escape_sequences_in_names_are_shown_escaped(tmp_path, capsys):
    deal = edit(DEAL, 'waterfall "Priority', 'classes "N\x1b[31m" = A, "Q\x1b[2J"\n\nwaterfall "Priority')
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 2 and "\x1b" not in err
    assert 'unknown class set "Q\\x1b[2J"' in err and 'the deal has class set "N\\x1b[31m"' in err
    echoed, caret = err.splitlines()[1:3]
    assert echoed == '    classes "N\\x1b[31m" = A, "Q\\x1b[2J"'
    assert caret.index("^") == echoed.index('"Q') and caret.count("^") == len('"Q\\x1b[2J"')


@pytest.mark.parametrize("old, new, message", [
    ("from principal of group 1", "from principal of group 3", "unknown group '3': the deal has group 1"),
    ("sequentially to A, B, C, D\n    clause \"2", "sequentially to A, B, X, D\n    clause \"2",
     "unknown class 'X': the deal has classes A, B, C, D and R"),
])
def test_messages_list_what_is_valid(tmp_path, capsys, old, new, message):
    deal = edit(DEAL, old, new)
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 2 and message in err, err


def test_yaml_messages_list_what_is_valid(tmp_path, capsys):
    yaml = edit(YAML, "group: 1", "group: 2")
    refused_at(tmp_path, capsys, at(yaml, "group: 2", len("group: ")), "unknown group '2': the deal has group 1",
               which="yaml", yaml=yaml)


def test_a_grid_axis_gets_a_did_you_mean(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, args=("--grid", "sped=0..100/50"))
    assert rc == 2 and "did you mean 'speed'?" in err, err
