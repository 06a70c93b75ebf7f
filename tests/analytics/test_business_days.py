"""Every business-day rule docs/language.md lists runs (issue 17, item 2), and the rule
of a deal that states none is 'next business day' (following).

Hand calendar (2024): Sunday February 25 rolls to Monday the 26th (following, modified
following) or back to Friday the 23rd (preceding); Saturday March 30 rolls to Monday
April 1 (following), which leaves the month, so modified following and preceding give
Friday March 29. 'no adjustment' keeps the stated day."""
import contextlib
import io
import json
import shutil

import pytest

from interpreter.cli import main
from interpreter.dates import roll
from tests.conftest import DEALS

RULES = {  # rule as written -> (period-1 date for day 25 from 2024-02-25, for day 30 from 2024-03-30)
    "next business day": ("2024-02-26", "2024-04-01"),
    "following": ("2024-02-26", "2024-04-01"),
    "modified following": ("2024-02-26", "2024-03-29"),
    "preceding": ("2024-02-23", "2024-03-29"),
    "no adjustment": ("2024-02-25", "2024-03-30"),
    None: ("2024-02-26", "2024-04-01"),  # not written: next business day
}


def _deal(tmp_path, day: int, first: str, rule):
    text = (DEALS / "sequential-cmo.waterfall").read_text()
    lines = []
    for line in text.splitlines():
        key = line.strip()
        if key.startswith("distribution day"):
            line = f"    distribution day {day}" + (f", {rule}" if rule else "")
        elif key.startswith("first distribution"):
            line = f"    first distribution {first}"
        elif key.startswith("closing") or key.startswith("settlement"):
            line = line.replace(key.split()[-1], "2024-02-15")
        lines.append(line)
    path = tmp_path / f"d{day}.waterfall"
    path.write_text("\n".join(lines) + "\n")
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / f"d{day}.assumptions.yaml")
    return path


def _first_date(path) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(path), "--format", "json", "--speeds", "100", "--class", "A"]) == 0
    return json.loads(out.getvalue())["tables"][0]["first_principal"]


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r or "not written")
def test_every_documented_business_day_rule_runs(tmp_path, rule):
    want25, want30 = RULES[rule]
    assert _first_date(_deal(tmp_path, 25, "2024-02-25", rule)) == want25
    assert _first_date(_deal(tmp_path, 30, "2024-03-30", rule)) == want30


def test_the_documented_rules_are_the_language_words():
    doc = (DEALS.parent / "docs" / "language.md").read_text()
    for rule in RULES:
        if rule:
            assert f"`{rule}`" in doc, rule


def test_roll_takes_the_deal_files_words():
    import datetime as dt
    sunday = dt.date(2024, 2, 25)
    assert roll(sunday, "no adjustment") == sunday
    assert roll(sunday, "next business day") == dt.date(2024, 2, 26)
    with pytest.raises(ValueError, match="no adjustment"):
        roll(sunday, "sideways")
