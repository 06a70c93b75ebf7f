"""Class names as exhibits print them (issue 17, item 4): letters, digits, _ and -, with at
least one letter, and not readable as a number."""
import pytest

from dsl.diagnostics import DealError
from dsl.parse import parse
from dsl.unparse import unparse
from tests.conftest import DEALS

TEXT = (DEALS / "sequential-cmo.waterfall").read_text()


def _rename(old: str, new: str) -> str:
    import re
    return re.sub(rf"(?<![\w-]){old}(?![\w-])", new, TEXT)


@pytest.mark.parametrize("name", ["1A1", "2X", "1SUB", "30PO", "1-A-1", "A1B", "_x"])
def test_a_name_as_exhibits_print_it_parses_and_round_trips(name):
    deal = parse(_rename("A", name), "d.waterfall")
    assert deal.classes[0].name == name
    assert parse(unparse(deal), "d.waterfall") == deal


@pytest.mark.parametrize("name", ["1e5", "2E10", "123"])
def test_a_name_readable_as_a_number_is_refused(name):
    with pytest.raises(DealError):
        parse(_rename("A", name), "d.waterfall")


def test_numbers_with_units_are_still_numbers():
    deal = parse(TEXT.replace("coupon    5.50%", "coupon    5.25% + 25bp", 1), "d.waterfall")
    assert deal.classes[0].coupon is not None
