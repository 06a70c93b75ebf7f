"""--size: balances solved to WAL targets and coupons to price targets, in one
vectorised pass per iteration; --out writes the resized deal."""
import json
from pathlib import Path

import pytest

from interpreter.cli import main

DEAL = """# A sequential deal built for the test.
deal "Sizing test"
    cutoff              2024-01-01
    closing             2024-01-30
    settlement          2024-01-30
    first distribution  2024-02-25
    distribution day    25, next business day
    pricing speed       100% PSA

group 1 "pool"

class A "Sequential"
    balance   {a}    # first
    coupon    5.00%
class B "Sequential"
    balance   {b}
    coupon    5.25%
class C "Sequential"
    balance   {c}
    coupon    5.50%
class R "Residual"
    residual

waterfall
    clause "1) Interest"
        from interest of group 1: pay current and unpaid interest sequentially to A, B, C
    clause "2) Principal"
        from principal of group 1: pay principal sequentially to A, B, C
    clause "3) Residual"
        pay remaining to R
"""
YAML = """collateral:
  - {group: 1, balance: "100,000,000", gross rate: 6.00%, fee rate: 0.50%, remaining term: 358, age: 2}
speeds: [100%]
"""


def _deal(tmp_path, a, b, c, name="sizing"):
    d = tmp_path / f"{name}.waterfall"
    d.write_text(DEAL.format(a=a, b=b, c=c))
    (tmp_path / f"{name}.assumptions.yaml").write_text(YAML)
    return str(d)


def _wals(capsys, deal):
    assert main([deal, "--format", "json", "--speeds", "100"]) == 0
    return {r["class"]: r["wal_years"] for r in json.loads(capsys.readouterr().out)["tables"]}


def test_solving_for_the_wals_of_known_balances_gives_those_balances_back(tmp_path, capsys):
    known = _deal(tmp_path, "31,250,000", "27,500,000", "41,250,000", "known")
    wal = _wals(capsys, known)
    start = _deal(tmp_path, "50,000,000", "10,000,000", "40,000,000", "start")
    out = tmp_path / "resized.waterfall"
    spec = f"A wal={wal['A']!r}, B wal={wal['B']!r}"
    assert main([start, "--size", spec, "--remainder", "C", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "31,250,000" in printed and "27,500,000" in printed and "41,250,000" in printed
    # the resized file: only the three numbers changed, comments and layout kept
    before = Path(start).read_text().splitlines()
    after = out.read_text().splitlines()
    changed = [(x, y) for x, y in zip(before, after) if x != y]
    assert len(before) == len(after)
    assert changed == [("    balance   50,000,000    # first", "    balance   31,250,000    # first"),
                       ("    balance   10,000,000", "    balance   27,500,000"),
                       ("    balance   40,000,000", "    balance   41,250,000")]


def test_rounding_gives_multiples_of_round(tmp_path, capsys):
    deal = _deal(tmp_path, "30,000,000", "30,000,000", "40,000,000")
    assert main([deal, "--size", "A wal=2.5", "--remainder", "C", "--round", "100000", "--speeds", "100"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("A "))
    bal = int(line.split()[2].replace(",", ""))
    assert bal % 100_000 == 0


def test_a_coupon_solved_to_a_price_prices_there(tmp_path, capsys):
    """The coupon at which B prices at par at a 5.25% yield; priced back at that
    yield the resized class is within a 0.001% coupon step of par."""
    deal = _deal(tmp_path, "30,000,000", "30,000,000", "40,000,000")
    out = tmp_path / "priced.waterfall"
    assert main([deal, "--size", "B price=100 yield=5.25%", "--out", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text()
    coupon = next(l for l in text.splitlines() if l.startswith("    coupon") and "5.25%" not in l
                  and "5.00%" not in l and "5.50%" not in l)
    (tmp_path / "priced.assumptions.yaml").write_text(YAML)
    assert main([str(out), "--format", "json", "--yield", "B=5.25%", "--class", "B"]) == 0
    price = json.loads(capsys.readouterr().out)["tables"][0]["price"]
    # d price / d coupon is about the class's duration (~4 years here): 0.0005% -> 0.002 of a point
    assert price == pytest.approx(100.0, abs=0.005), coupon


def test_inputs_are_checked(tmp_path, capsys):
    deal = _deal(tmp_path, "30,000,000", "30,000,000", "40,000,000")
    for argv, msg in [
        (["--size", "A wal=2"], "--remainder"),
        (["--size", "X wal=2", "--remainder", "C"], "unknown class 'X'"),
        (["--size", "A wl=2", "--remainder", "C"], "did you mean 'wal'"),
        (["--size", "A wal=2", "--remainder", "C", "--grid", "speed=100"], "--grid with --size"),
        (["--size", "A wal=40", "--remainder", "C"], "no size in reach"),
        (["--size", "B price=100"], "give the yield"),
        (["--size", "C wal=2", "--remainder", "C"], "remainder"),
        (["--size", "A wal=2", "--remainder", "C", "--speeds", "100,200"], "one speed"),
    ]:
        assert main([deal] + argv) == 2, argv
        err = capsys.readouterr().err
        assert msg in err, (argv, err)
