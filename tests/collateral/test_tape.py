"""CSV loan tape reading."""

import pytest

from interpreter.collateral import ArmTerms, Line, load_tape

HEADER = "group,balance,gross_rate,fee_rate,remaining_term,age"


def write(tmp_path, text, name="tape.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_minimal_tape_and_percent_rates(tmp_path):
    p = write(
        tmp_path,
        HEADER + "\n1,300000000,6.25%,0.259%,353,6\n\n2,\"1,000.50\",0.055,0.00384,358,2\n",
    )
    lines = load_tape(p)
    assert lines[0] == Line("1", 300_000_000.0, 0.0625, 0.00259, 353, age=6)
    assert lines[1].balance == 1000.5
    assert lines[1].gross_rate == 0.055
    assert len(lines) == 2


def test_full_tape_with_arm_io_balloon_penalty(tmp_path):
    cols = (
        HEADER + ",io_months,amort_term,arm_index,arm_margin,arm_first_reset,arm_reset_every,"
        "arm_initial_cap,arm_periodic_cap,arm_lifetime_cap,arm_floor,penalty_rate,penalty_months,loan_id"
    )
    rows = [
        "2,1000,5.5%,0.384%,358,2,60,,LIBOR_6M,2.75%,24,6,3%,1%,6%,,,,A1",
        "2,2000,0.055,0.00384,358,2,0,,LIBOR_1Y,0.0225,60,12,0.05,0.02,0.05,0.03,2%,36,A2",
        "1,3000,7%,0.5%,84,0,,360,,,,,,,,,,,B1",
    ]
    lines = load_tape(write(tmp_path, "\n".join([cols] + rows) + "\n"))
    assert lines[0].io_months == 60
    assert lines[0].arm == ArmTerms("LIBOR_6M", 0.0275, 24, 6, 0.03, 0.01, 0.06)
    assert lines[1].arm.floor == 0.03
    assert lines[1].penalty_rate == 0.02 and lines[1].penalty_months == 36
    assert lines[2].arm is None and lines[2].amort_term == 360 and lines[2].remaining_term == 84


@pytest.mark.parametrize(
    "row, lineno, message",
    [
        ("1,abc,6%,0.25%,353,6", 3, "balance"),
        ("1,100,6.25,0.25%,353,6", 3, "gross_rate"),  # 6.25 without % is not a decimal rate
        ("1,100,6%,0.25%,353.5,6", 3, "remaining_term"),
        ("1,100,6%,0.25%,0,6", 3, "remaining_term"),
        ("1,-100,6%,0.25%,353,6", 3, "balance"),
        (",100,6%,0.25%,353,6", 3, "group"),
        ("1,100,6%,,353,6", 3, "fee_rate"),
    ],
)
def test_bad_rows_report_path_line_and_column(tmp_path, row, lineno, message):
    p = write(tmp_path, HEADER + "\n1,100,6%,0.25%,353,6\n" + row + "\n")
    with pytest.raises(ValueError) as exc:
        load_tape(p)
    text = str(exc.value)
    field = HEADER.split(",").index(message)
    column = sum(len(f) + 1 for f in row.split(",")[:field]) + 1  # where the field starts
    assert text.startswith(f"{p}:{lineno}:{column}: ")
    assert message in text


def test_arm_rows_need_all_arm_terms(tmp_path):
    p = write(tmp_path, HEADER + ",arm_index,arm_margin\n2,100,5%,0.3%,358,2,LIBOR_6M,2.75%\n")
    with pytest.raises(ValueError, match=r":2:\d+: arm_first_reset"):
        load_tape(p)
    p = write(tmp_path, HEADER + ",arm_margin\n2,100,5%,0.3%,358,2,2.75%\n", name="stray.csv")
    with pytest.raises(ValueError, match=r":2:\d+: .*without arm_index"):
        load_tape(p)


def test_missing_column_and_empty_file(tmp_path):
    p = write(tmp_path, "group,balance,gross_rate,fee_rate,age\n1,1,1%,0%,0\n")
    with pytest.raises(ValueError, match=r":1:1: missing required column\(s\): remaining_term"):
        load_tape(p)
    p = write(tmp_path, "", name="empty.csv")
    with pytest.raises(ValueError, match=r"empty\.csv:1:1: "):
        load_tape(p)
