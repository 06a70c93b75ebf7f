"""Session fixtures for the term-sheet tests of CWALT 2004-J4.

Every run is session-scoped and batches its speeds and modes. Variants of the
deal are the deal text with a line replaced, parsed and checked; variants of
the assumptions are the bundled YAML with lines replaced or keys appended,
written to a temporary folder.
"""
import re

import pytest

from .helpers import (ASSUMPTIONS_PATH, BASE_SPEEDS, DEAL_PATH, LOSS_CASES, LOSS_SPEEDS, MODES,
                      STRESS_SPEEDS, TERMSHEET, io_schedule, page3_table)


def variant_deal(text, replacements):
    """The deal text with each (regex, replacement) applied exactly once, parsed and checked."""
    from dsl.check import check
    from dsl.parse import parse
    for pattern, new in replacements:
        text, n = re.subn(pattern, new, text)
        assert n == 1, f"{pattern!r} matched {n} times in the deal file"
    d = parse(text, "j4-variant.waterfall")
    diags = check(d)
    assert not diags, diags
    return d


@pytest.fixture(scope="session")
def deal_text():
    return DEAL_PATH.read_text()


@pytest.fixture(scope="session")
def termsheet_text():
    return TERMSHEET.read_text()


@pytest.fixture(scope="session")
def p3(termsheet_text):
    return page3_table(termsheet_text)


@pytest.fixture(scope="session")
def io_table(termsheet_text):
    return io_schedule(termsheet_text)


@pytest.fixture(scope="session")
def deal():
    from dsl.check import load_deal
    return load_deal(DEAL_PATH)


@pytest.fixture(scope="session")
def assumptions(deal):
    from interpreter.assumptions import load_assumptions
    return load_assumptions(ASSUMPTIONS_PATH, deal)


@pytest.fixture(scope="session")
def make_assumptions(tmp_path_factory):
    """make_assumptions(deal, name, replace=[(old, new)], append="yaml") -> Assumptions."""
    from interpreter.assumptions import load_assumptions
    base_text = ASSUMPTIONS_PATH.read_text()

    def make(d, name, replace=(), append=""):
        text = base_text
        for old, new in replace:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        # a top-level scalar the appended YAML states replaces the base file's (the
        # base states a stress severity and recovery lag for breakeven runs)
        for key in re.findall(r"^([a-z][a-z ]*):\s*\S", append, re.M):
            text = re.sub(rf"^{key}:.*\n", "", text, flags=re.M)
        path = tmp_path_factory.mktemp("assumptions") / f"{name}.assumptions.yaml"
        path.write_text(text + "\n" + append + "\n")
        return load_assumptions(path, d)
    return make


def _run(d, a, speeds, to):
    from interpreter.engine import run
    return run(d, a, speeds=speeds, to=to)


@pytest.fixture(scope="session")
def base(deal, assumptions):
    """The bundled assumptions at the table speeds and beyond, to auction, maturity and call."""
    return _run(deal, assumptions, BASE_SPEEDS, MODES)


@pytest.fixture(scope="session")
def stress(deal, assumptions):
    """300% and 400% of the pricing speed, to maturity."""
    return _run(deal, assumptions, STRESS_SPEEDS, ("maturity",))


@pytest.fixture(scope="session")
def page3_rows(base):
    from interpreter.report.analyze import analyze
    return analyze(base)


@pytest.fixture(scope="session")
def loss_runs(deal, make_assumptions):
    """{(cdr, severity): run}, speeds LOSS_SPEEDS, to auction and to maturity."""
    out = {}
    for cdr, sev in LOSS_CASES:
        a = make_assumptions(deal, f"loss-{cdr}-{sev}",
                             append=f"defaults: {{all: {cdr * 100:g}% CDR}}\nseverity: {sev * 100:g}%\n"
                                    f"recovery lag: 6\n")
        out[(cdr, sev)] = _run(deal, a, LOSS_SPEEDS, ("auction", "maturity"))
    return out


@pytest.fixture(scope="session")
def high_libor(deal, make_assumptions):
    """1M LIBOR at 12% for periods 1-6 (above the 11.25% Maximum Rate), then 1.10%."""
    a = make_assumptions(deal, "high-libor", replace=[
        ("LIBOR_1M: 1.10%", "LIBOR_1M: [12%, 12%, 12%, 12%, 12%, 12%, 1.10%]")])
    return _run(deal, a, [1.0], ("maturity",))


CORRIDOR_NOTIONAL = 600_000_000.0
CORRIDOR_STRIKE = 0.04
CORRIDOR_CEILING = 0.045
CORRIDOR_LIBOR = 0.05


@pytest.fixture(scope="session")
def corridor(deal_text, make_assumptions):
    """A hand-made Class 2-A Corridor: notional 600,000,000 every period, strike 4%,
    ceiling 4.5%, with 1M LIBOR at 5% so that the 2-A Net Rate Cap binds."""
    d = variant_deal(deal_text, [(r"(table corridor_2a_notional[^\n]*\n)[ \t]+1\+[ \t]+0[ \t]*\n",
                                  r"\g<1>    1+   600,000,000\n")])
    a = make_assumptions(d, "corridor", replace=[("LIBOR_1M: 1.10%", "LIBOR_1M: 5%")],
                         append="parameters: {corridor_2a_strike: 4%, corridor_2a_ceiling: 4.5%}")
    return _run(d, a, [1.0], ("maturity",))


TRIGGER_SPEEDS = [0.8, 1.0, 1.5]


@pytest.fixture(scope="session")
def delinquency_trigger(deal, make_assumptions):
    """60+ delinquency 15% every period with the Delinquency Trigger factor set to 2."""
    a = make_assumptions(deal, "dq-on", append="delinquency: {all: 15%}\nparameters: {delinquency_factor: 2}")
    return _run(deal, a, TRIGGER_SPEEDS, ("maturity",))


@pytest.fixture(scope="session")
def delinquency_defaults(deal, make_assumptions):
    """The same delinquency with the deal's default (off) trigger parameters."""
    a = make_assumptions(deal, "dq-off", append="delinquency: {all: 15%}")
    return _run(deal, a, TRIGGER_SPEEDS, ("maturity",))


CUM_LOSS = {"cum_loss_37": 0.005, "cum_loss_49": 0.01, "cum_loss_61": 0.015, "cum_loss_73": 0.02,
            "cum_loss_85": 0.025}


@pytest.fixture(scope="session")
def loss_trigger(deal, make_assumptions):
    """2% CDR, 40% severity, with the Cumulative Loss Trigger percentages set."""
    params = ", ".join(f"{k}: {v * 100:g}%" for k, v in CUM_LOSS.items())
    a = make_assumptions(deal, "cum-loss", append="defaults: {all: 2% CDR}\nseverity: 40%\nrecovery lag: 6\n"
                                                  f"parameters: {{{params}}}")
    return _run(deal, a, [1.0], ("maturity",))


@pytest.fixture(scope="session")
def group1_losses(deal, make_assumptions):
    """Losses in Group 1 only (20% CDR, 60% severity): its interest falls short of Class 1-A."""
    a = make_assumptions(deal, "g1-loss", append="defaults: {1: 20% CDR, 2: 0% CDR}\nseverity: 60%\n"
                                                 "recovery lag: 6")
    return _run(deal, a, [1.0], ("maturity",))


@pytest.fixture(scope="session")
def fast_group2(deal, make_assumptions):
    """Group 2 at 80% CPR: Class 2-A retires long before the Stepdown Date."""
    a = make_assumptions(deal, "g2-fast", append="prepayment: {1: 100% PPC, 2: 80% CPR}")
    return _run(deal, a, [1.0], ("maturity",))
