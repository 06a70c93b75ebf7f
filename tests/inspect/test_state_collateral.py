"""A deal state carries the collateral: each group's current lines (or a
current loan tape), from which a run continues at any speed."""
import csv
import io

import attrs
import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.cli import main
from interpreter.collateral import Curve
from interpreter.engine import horizon, run
from interpreter.native import build as cbuild
from interpreter.state import dump, load_state, state_after, write_state
from interpreter.waterfall.run import distribution_schedule

from ..conftest import DEALS

J4 = str(DEALS / "cwalt-2004-j4.waterfall")
ENGINES = ["numpy"] + (["c"] if cbuild.available() else [])
FIELDS = ("interest", "principal", "carryover_paid", "balance", "writedown")


def _load(name):
    deal = load_deal(DEALS / f"{name}.waterfall")
    return deal, load_assumptions(DEALS / f"{name}.assumptions.yaml", deal)


@pytest.mark.parametrize("name,n", [("cwalt-2004-j4", 24), ("subprime-hel", 30), ("prime-jumbo", 12)])
def test_a_state_at_another_speed_pays_what_a_run_whose_speed_changes_there_pays(tmp_path, name, n):
    # 10% CPR by deal period through distribution n, 20% after: the uninterrupted run. The state
    # after n, continued at 200% of a flat 10% CPR vector (2 x 0.1 == 0.2 exactly), must pay the same.
    deal, a = _load(name)
    kw = dict(to=("maturity",), cdr=[0.02], severity=[0.4])
    flat = attrs.evolve(a, prepayment={"all": Curve("CPR", vector=(0.10,))})
    change = attrs.evolve(a, prepayment={"all": Curve("CPR", vector=(0.10,) * n + (0.20,))})
    dates = distribution_schedule(deal, horizon(deal, a))
    for saver in ENGINES:
        whole = run(deal, change, [1.0], engine=saver, inspect=True, keep_lines_after=(n,), **kw)
        path = tmp_path / f"{name}-{saver}.yaml"
        write_state(str(path), dump(state_after(whole, n), whole))
        state = load_state(str(path), deal, dates)
        assert state.speed == 1.0
        for cont in ENGINES:
            r = run(deal, flat, [2.0], engine=cont, start=state.start(deal), **kw)
            for f in FIELDS:
                np.testing.assert_allclose(getattr(r, f)[n:], getattr(whole, f)[n:], rtol=0, atol=1e-6,
                                           err_msg=f"{name} {saver}->{cont} {f}")


def test_run_deal_runs_every_speed_from_a_state(tmp_path, capsys):
    path = tmp_path / "j4-24.yaml"
    assert main([J4, "--speeds", "100", "--to", "maturity", "--save-state", str(path), "--after", "24"]) == 0
    capsys.readouterr()
    assert main([J4, "--state", str(path), "--speeds", "50,100,300", "--inspect", "group_1.pool_balance",
                 "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    first = {r["speed"]: float(r["group_1.pool_balance"]) for r in rows if r["period"] == "25"}
    assert list(first) == ["50%", "100%", "300%"]
    assert first["50%"] > first["100%"] > first["300%"]  # faster prepayments, less collateral after 25
    # 100% from the state is the uninterrupted run's period 25
    assert main([J4, "--speeds", "100", "--to", "maturity", "--inspect", "group_1.pool_balance",
                 "--format", "csv"]) == 0
    whole = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(whole[24]["group_1.pool_balance"]) == first["100%"]


# A trustee's report after distribution 24, written by hand: every figure below is the report's.
HAND = """\
deal: CWALT 2004-J4
distribution: 24
date: 2006-04-25
classes:
  1-A-1: {balance: 0}
  1-A-2: {balance: 5000000}
  1-A-3: {balance: 64219000}
  1-A-4: {balance: 29485000}
  1-A-5: {balance: 27954000}
  1-A-6: {balance: 28365000}
  2-A: {balance: 150000000, unpaid interest: 0}
  M-1: {balance: 14452000}
  M-2: {balance: 11685000}
  B: {balance: 7381000}
collateral:
  "1":
    lines:
      - {balance: 170000000, gross rate: 6.25%, fee rate: 0.259%, remaining term: 329, age: 30}
  "2":
GROUP2
"""
GROUP2_LINES = """\
    lines:
      - {balance: 100000000, gross rate: 3.895%, fee rate: 0.384%, remaining term: 334, age: 26,
         io months left: 34, arm: {index: LIBOR_6M, margin: 2.75%, next reset: 30, reset every: 6,
         periodic cap: 1%, max rate: 11.5%, floor: 2.75%}}
      - {balance: 75000000, gross rate: 5.5%, fee rate: 0.384%, remaining term: 334, age: 26,
         arm: {index: LIBOR_1Y, margin: 2.25%, next reset: 60, reset every: 12, next cap: 5%,
         periodic cap: 2%, max rate: 10.5%}}"""


def _inspect_25(path, capsys, names):
    assert main([J4, "--state", str(path), "--speeds", "100", "--inspect", names, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["period"] == "25"
    return rows[0]


def test_a_state_of_current_lines_written_by_hand_runs(tmp_path, capsys):
    path = tmp_path / "hand.yaml"
    path.write_text(HAND.replace("GROUP2", GROUP2_LINES))
    row = _inspect_25(path, capsys, "group_1.interest,group_2.interest,group_2.net_wac")
    # period 25's interest collected (net of the fees): each line's balance x its current net rate / 12
    # (no defaults)
    assert float(row["group_1.interest"]) == pytest.approx(170_000_000 * (0.0625 - 0.00259) / 12, rel=1e-12)
    g2 = 100_000_000 * (0.03895 - 0.00384) / 12 + 75_000_000 * (0.055 - 0.00384) / 12
    assert float(row["group_2.interest"]) == pytest.approx(g2, rel=1e-12)
    assert float(row["group_2.net_wac"]) == pytest.approx(g2 * 12 / 175_000_000, rel=1e-12)


def test_a_group_given_as_a_current_loan_tape(tmp_path, capsys):
    tape = tmp_path / "current-loans.csv"
    tape.write_text("group,balance,gross_rate,fee_rate,remaining_term,age\n"
                    "2,60000000,3.895%,0.384%,334,26\n"
                    "2,40000000,5.5%,0.384%,334,26\n"
                    "2,75000000,5.5%,0.384%,334,26\n")
    path = tmp_path / "tape.yaml"
    path.write_text(HAND.replace("GROUP2", "    tape: current-loans.csv"))
    row = _inspect_25(path, capsys, "group_2.interest")
    # the tape's balances are current ones; interest net of the fees
    g2 = 60_000_000 * (0.03895 - 0.00384) / 12 + 115_000_000 * (0.055 - 0.00384) / 12
    assert float(row["group_2.interest"]) == pytest.approx(g2, rel=1e-12)


def test_a_tape_of_another_group_is_refused(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("group,balance,gross_rate,fee_rate,remaining_term,age\n1,100,6%,0.25%,300,30\n")
    path = tmp_path / "s.yaml"
    path.write_text(HAND.replace("GROUP2", "    tape: t.csv"))
    assert main([J4, "--state", str(path)]) == 2
    assert "holds lines of group 1, not only of group 2" in capsys.readouterr().err


@pytest.mark.parametrize("old,new,where,message", [
    ("{balance: 170000000, gross", "{balance: -170000000, gross", ":18:", "is not negative"),
    ("remaining term: 329", "remaining term: 0", ":18:", "remaining term 0 with a balance of 170,000,000.00"),
    ("gross rate: 6.25%", "gros rate: 6.25%", ":18:", "did you mean 'gross rate'?"),
    ("gross rate: 6.25%", "gross rate: 6.25", ":18:", "has no unit"),
    ('  "1":\n', '  "3":\n', ":16:", "unknown group '3'"),
    ("    lines:\n      - {balance: 170000000", "    balance: 1\n    lines:\n      - {balance: 170000000", ":17:",
     "group 1's balance 1.00 is not its lines' 170,000,000.00"),
    ("next reset: 30", "next resett: 30", ":22:", "did you mean 'next reset'?"),
    ("2-A: {balance: 150000000", "2-A: {balance: 950000000", ":4:", "do not add up"),
])
def test_a_bad_state_is_a_positioned_error(tmp_path, capsys, old, new, where, message):
    text = HAND.replace("GROUP2", GROUP2_LINES)
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1))
    assert main([J4, "--state", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}{where}" in err and message in err and "Traceback" not in err, err


def test_a_state_without_collateral_is_refused(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(HAND.split("collateral:")[0])
    assert main([J4, "--state", str(path)]) == 2
    assert "has no 'collateral'" in capsys.readouterr().err


def test_a_group_the_state_leaves_out_is_refused(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(HAND.replace('  "2":\nGROUP2\n', ""))
    assert main([J4, "--state", str(path)]) == 2
    assert "the state gives no collateral of group 2" in capsys.readouterr().err


def test_the_delinquency_history_a_state_carries_is_what_the_trigger_averages(tmp_path):
    # HEL's Delinquency Trigger averages three months of 60+ delinquency: 30% in distributions
    # n - 1 and n, none after. From the state after n, distribution n + 1 reads (30% + 30% + 0) / 3.
    deal, a = _load("subprime-hel")
    n = 40
    vec = (0.0,) * (n - 2) + (0.30, 0.30) + (0.0,)
    a = attrs.evolve(a, delinquency={"all": vec})
    dates = distribution_schedule(deal, horizon(deal, a))
    whole = run(deal, a, [1.0], to=("maturity",), inspect=True, keep_lines_after=(n,))
    path = tmp_path / "hel.yaml"
    write_state(str(path), dump(state_after(whole, n), whole))
    assert "60+ delinquent: 30%" in path.read_text()
    state = load_state(str(path), deal, dates)
    col = [i.name for i in whole.inspections].index("delinquency_trigger")
    for e in ENGINES:
        r = run(deal, a, [1.0], to=("maturity",), engine=e, inspect=True, start=state.start(deal))
        assert r.inspected[n, col, 0] == whole.inspected[n, col, 0] == 1.0
        for f in FIELDS:
            np.testing.assert_allclose(getattr(r, f)[n:], getattr(whole, f)[n:], rtol=0, atol=1e-6)
    # without its history the continued run would average distribution n + 1 alone
    bare = attrs.evolve(state, collateral=attrs.evolve(state.collateral, delinquency={}))
    r = run(deal, a, [1.0], to=("maturity",), inspect=True, start=bare.start(deal))
    assert r.inspected[n, col, 0] == 0.0


@pytest.mark.parametrize("saver,cont", [("numpy", "auto"), ("auto", "numpy")])
def test_either_collateral_backend_continues_the_others_state(tmp_path, monkeypatch, saver, cont):
    if not cbuild.available():
        pytest.skip("no C compiler: one collateral backend")
    deal, a = _load("cwalt-2004-j4")
    n, kw = 37, dict(to=("auction",), cdr=[0.03], severity=[0.45])
    dates = distribution_schedule(deal, horizon(deal, a))
    monkeypatch.setenv("WATERFALL_ENGINE", saver)  # numpy: the collateral too
    whole = run(deal, a, [1.5], inspect=True, keep_lines_after=(n,), **kw)
    path = tmp_path / "j4.yaml"
    write_state(str(path), dump(state_after(whole, n), whole))
    monkeypatch.setenv("WATERFALL_ENGINE", cont)
    r = run(deal, a, [1.5], start=load_state(str(path), deal, dates).start(deal), **kw)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(r, f)[n:], getattr(whole, f)[n:], rtol=0, atol=1e-6, err_msg=f)


def test_a_group_without_lines_is_refused(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(HAND.replace("GROUP2", "    lines: []"))
    assert main([J4, "--state", str(path)]) == 2
    assert ":19:" in capsys.readouterr().err


def test_the_readme_state_runs(tmp_path, capsys):
    import re
    text = (DEALS.parent / "README.md").read_text()
    block = re.search(r"A state file, commented.*?```yaml\n(.*?)  ```", text, re.S).group(1)
    path = tmp_path / "readme-state.yaml"
    path.write_text("\n".join(line[2:] for line in block.splitlines()) + "\n")
    row = _inspect_25(path, capsys, "group_1.interest")
    assert float(row["group_1.interest"]) == pytest.approx(172_855_126.36 * (0.0625 - 0.00259) / 12, rel=1e-12)
