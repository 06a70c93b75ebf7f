"""The assumptions file: speeds and credit curves as structurers write them."""
from pathlib import Path

import pytest

from dsl.check import load_deal
from dsl.diagnostics import DealError
from interpreter import collateral as C
from interpreter.assumptions import load_assumptions

DEAL = Path(__file__).resolve().parents[2] / "deals" / "sequential-cmo.waterfall"
BASE = (Path(__file__).resolve().parents[2] / "deals" / "sequential-cmo.assumptions.yaml").read_text()


@pytest.fixture(scope="module")
def deal():
    return load_deal(DEAL)


def load(tmp_path, deal, extra):
    p = tmp_path / "a.yaml"
    p.write_text(BASE + extra)
    return load_assumptions(p, deal)


@pytest.mark.parametrize("text, curve", [
    ("prepayment: {1: 25 CPR}", C.Curve("CPR", rate=0.25)),
    ("prepayment: {1: 25% CPR}", C.Curve("CPR", rate=0.25)),
    ("prepayment: {all: 150% PSA}", C.Curve("PSA", rate=1.5)),
    ("prepayment: {1: 1% SMM}", C.Curve("SMM", rate=0.01)),
    ("prepayment: {1: 1.5% ABS}", C.Curve("ABS", rate=0.015)),
    ("prepayment: {1: {vector: [6%, 8%, 10%]}}", C.Curve("CPR", vector=(0.06, 0.08, 0.10), basis="deal")),
])
def test_prepayment_curves(tmp_path, deal, text, curve):
    a = load(tmp_path, deal, text + "\n")
    key = "all" if "all" in text else "1"
    assert a.prepayment[key] == curve


def test_default_curves_severity_and_lag(tmp_path, deal):
    a = load(tmp_path, deal, "defaults: {all: 100% SDA}\nseverity: 35%\nrecovery lag: 12\n")
    assert a.defaults["all"] == C.Curve("SDA", rate=1.0)
    assert a.severity == pytest.approx(0.35)
    assert a.recovery_lag == 12


@pytest.mark.parametrize("text, message", [
    ("prepayment: {1: 25 XPR}", "cannot read '25 XPR'"),
    ("prepayment: {3: 25 CPR}", "unknown group '3'"),
    ("defaults: {all: 2% CPR}", "cannot read '2% CPR'"),
    ("severity: 35", "has no unit"),
    ("severity: 135%", "between 0% and 100%"),
    ("recovery lag: 2.5", "whole number of months"),
    ("indices: {LIBOR: 1%}", "unknown index 'LIBOR'"),
    ("parameters: {x: 1}", "unknown parameter 'x'"),
])
def test_bad_curves_and_levels_are_positioned_errors(tmp_path, deal, text, message):
    with pytest.raises(DealError) as e:
        load(tmp_path, deal, text + "\n")
    rendered = e.value.render()
    assert message in rendered
    line = BASE.count("\n") + 1
    assert f"a.yaml:{line}:" in rendered
