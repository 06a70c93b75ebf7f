from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEALS = ROOT / "deals"


@pytest.fixture(scope="session")
def seq_deal():
    from dsl.check import load_deal
    return load_deal(DEALS / "sequential-cmo.waterfall")


@pytest.fixture(scope="session")
def seq_assumptions(seq_deal):
    from interpreter.assumptions import load_assumptions
    return load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", seq_deal)


@pytest.fixture(scope="session")
def seq_run(seq_deal, seq_assumptions):
    from interpreter.engine import run
    return run(seq_deal, seq_assumptions)
