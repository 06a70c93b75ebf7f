"""A deal made messy and the same deal formatted run to the same numbers, to the
bit, on the numpy engine (the reference): two bundled deals payment by payment,
and random deals."""
import random
import shutil
from pathlib import Path

import attrs
import numpy as np
import pytest

from dsl.check import load_deal
from dsl.format import format_text
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from tests.format.mess import mess, without_comments

DEALS = Path(__file__).resolve().parents[2] / "deals"


def _run(folder: Path, name: str, text: str):
    folder.mkdir()
    path = folder / f"{name}.waterfall"
    path.write_text(text)
    shutil.copy(DEALS / f"{name}.assumptions.yaml", folder)
    deal = load_deal(path)
    assumptions = load_assumptions(folder / f"{name}.assumptions.yaml", deal)
    return run(deal, assumptions, [0.5, 1.0, 2.5], engine="numpy", trace=True)


def _code(text: str, line: int) -> str:
    return "".join(without_comments(text.split("\n")[line - 1]).split())


@pytest.mark.parametrize("name", ["auto-abs", "agency-cmo"])
def test_a_messy_deal_and_its_formatted_text_run_to_the_same_results(tmp_path, name):
    messy = mess((DEALS / f"{name}.waterfall").read_text(), random.Random(name), comments=True)
    formatted = format_text(messy, name)
    assert formatted != messy
    a = _run(tmp_path / "messy", name, messy)
    b = _run(tmp_path / "formatted", name, formatted)
    compared = 0
    for field in attrs.fields(type(a)):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
            compared += 1
    assert compared >= 15
    assert a.collateral.keys() == b.collateral.keys()
    for g in a.collateral:
        for field in attrs.fields(type(a.collateral[g])):
            np.testing.assert_array_equal(getattr(a.collateral[g], field.name), getattr(b.collateral[g], field.name))
    # Every payment the same, made by the same clause, from a line holding the same code in each file.
    assert len(a.trace) == len(b.trace) > 100
    for (t, clause, line, what, targets, paid), (t2, clause2, line2, what2, targets2, paid2) in zip(a.trace, b.trace):
        assert (t, clause, what) == (t2, clause2, what2)
        np.testing.assert_array_equal(targets, targets2)
        np.testing.assert_array_equal(paid, paid2)
        assert _code(messy, line) == _code(formatted, line2)


def test_random_deals_made_messy_and_formatted_run_to_the_same_results(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from dsl.parse import parse
    from tests.support import YAML, deals

    assumptions_file = tmp_path / "a.yaml"
    assumptions_file.write_text(YAML.replace("DEFAULTS", "3% CDR").replace("SEVERITY", "35%").replace("LAG", "6"))

    @settings(max_examples=5, deadline=None)
    @given(text=deals(), rnd=st.randoms(use_true_random=False))
    def inner(text, rnd):
        messy = mess(text, rnd, comments=True)
        results = []
        for t in (messy, format_text(messy, "random.waterfall")):
            deal = parse(t, "random.waterfall")
            results.append(run(deal, load_assumptions(assumptions_file, deal), [0.5, 2.0], engine="numpy"))
        for field in attrs.fields(type(results[0])):
            if isinstance(getattr(results[0], field.name), np.ndarray):
                np.testing.assert_array_equal(getattr(results[0], field.name), getattr(results[1], field.name))
    inner()
