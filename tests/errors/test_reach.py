"""Issue 16, the fuzz's last gap: the run errors that had no position.

``benchmarks/fuzz.py`` (seed 0, 10,000 cases) found two kinds of input
mistake that reached the run: a table whose rows stop before the run's last
period (a deal mutation dropping an open row 'N+'), which the engine refused
only at that period with its position inside the message text; and a
settlement date past the run's last payment (a deal mutation of the date),
which ended in an IndexError while pricing. Both are known once the
assumptions say how many periods the run makes: interpreter/reach.py refuses
them there, at the deal line concerned. The catalogue (test_catalogue.py) holds
their minimal inputs; here, the command-line and API sides.
"""
from __future__ import annotations

import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import RunError, run

from .inputs import DEAL, YAML, at, edit, run_deal

# sequential-cmo's line has 358 months to run: distributions from 2024-02-25
# on the 25th, the 358th on 2053-11-25 (357 months later; a Tuesday).
LAST_PAYMENT = "2053-11-25"
SHORT_TABLE = edit(edit(DEAL, 'waterfall "Priority',
                        'table rate "Class A Coupon" by period\n    1-36    5.50%\n    37-60   5.75%\n\n'
                        'waterfall "Priority'), "coupon    5.50%", "coupon    rate")


def test_settle_on_the_last_payment_is_refused(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, args=("--settle", LAST_PAYMENT))
    assert rc == 2, err
    assert err.startswith(f"run-deal: error: --settle: {LAST_PAYMENT} is on or after the last payment of the run "
                          f"({LAST_PAYMENT}, after 358 periods)"), err


def test_settle_the_day_before_the_last_payment_is_priced(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, args=("--settle", "2053-11-24", "--speeds", "100"))
    assert rc == 0, err


def test_a_settlement_past_the_last_payment_is_refused_before_the_run(tmp_path, capsys):
    deal = edit(DEAL, "settlement          2024-01-30", "settlement          2060-01-30")
    rc, err, d, _ = run_deal(tmp_path, capsys, deal=deal, args=("--speeds", "100"))
    assert rc == 2, err
    line, col = at(deal, "2060-01-30")
    assert err.startswith(f"{d}:{line}:{col}: error: settlement 2060-01-30 is on or after the last payment"), err


def test_the_api_refuses_a_table_too_short_at_its_last_row(tmp_path):
    from interpreter.api import WaterfallError, load
    (tmp_path / "deal.waterfall").write_text(SHORT_TABLE, encoding="utf-8")
    (tmp_path / "deal.assumptions.yaml").write_text(YAML, encoding="utf-8")
    with pytest.raises(WaterfallError) as e:
        load(tmp_path / "deal.waterfall")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column) == at(SHORT_TABLE, "37-60")
    assert d.message == "table rate ends at period 60 but the deal runs 358 periods"


def test_a_run_past_a_table_is_an_error_at_the_table(tmp_path):
    """engine.run called directly (no loader's check): the lookup that finds no
    row stops the run with the table's position as its span, which run-deal
    shows as FILE:LINE:COL and exit 2."""
    path = tmp_path / "deal.waterfall"
    path.write_text(SHORT_TABLE, encoding="utf-8")
    (tmp_path / "deal.assumptions.yaml").write_text(YAML, encoding="utf-8")
    deal = load_deal(str(path))
    with pytest.raises(RunError, match=r"table rate has no row for period 61 \(its last row ends at 60") as e:
        run(deal, load_assumptions(str(tmp_path / "deal.assumptions.yaml"), deal), [1.0], engine="numpy")
    assert e.value.span.line == at(SHORT_TABLE, 'table rate')[0]
    assert not str(e.value).startswith(str(path))  # the position is the span, not a prefix of the text


def test_fuzz_counts_a_run_error_without_a_position_as_a_failure():
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("waterfall_fuzz_bench", root / "benchmarks" / "fuzz.py")
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    assert "run error without a position" in fuzz.FAILING
    assert "run error, positioned" not in fuzz.FAILING
