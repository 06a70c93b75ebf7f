"""Property tests: a small random edit of the bundled deal or its assumptions
never escapes as an unhandled exception.

Whatever the edit, ``parse`` + ``check`` either give a deal or raise
``DealError``; ``load_assumptions`` either gives assumptions or raises
``DealError``; and when both load (and pass ``reach.check_reach``, as in
run-deal), ``engine.run`` either runs or raises a ``RunError`` positioned at a
line of the deal. Every ``DealError`` renders without trouble and every
diagnostic points inside its file.

Known bugs (each with a strict-xfail test in test_catalogue.py) are recorded
as hypothesis events and otherwise let through, so that these properties keep
guarding against *new* crashes; when a bug is fixed, drop it from KNOWN_BUGS.
The same mutations, at scale: ``python benchmarks/fuzz.py``.
"""
from __future__ import annotations

import traceback
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dsl.check import check
from dsl.diagnostics import DealError
from dsl.parse import parse
from interpreter.assumptions import load_assumptions
from interpreter.engine import RunError, run
from interpreter.reach import check_reach

from . import mutations as M

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
DEAL_PATH = "fuzz.waterfall"

# A projection longer than this is not a mortgage deal; running it would take
# minutes or gigabytes (see test_catalogue.test_absurd_months_are_refused).
MAX_MONTHS = 1200

# name -> predicate on the formatted traceback of an unhandled exception.
KNOWN_BUGS: dict = {}


def known_bug(tb: str) -> str:
    for name, pred in KNOWN_BUGS.items():
        if pred(tb):
            return name
    return ""


# ------------------------------------------------------------------ strategies
indices = st.integers(min_value=0, max_value=10 ** 6)
numbers = st.one_of(
    st.sampled_from(["0", "0%", "1", "12", "360", "100%", "5.25%", "25bp", "$0", "1,000,000", "-1", "0.0001",
                     "99999999999999999999", "1e309", "2024-02-30", "2024-13-01", "2023-12-31", "9.99999%"]),
    st.integers(min_value=0, max_value=10 ** 9).map(str),
    st.integers(min_value=0, max_value=10 ** 9).map(lambda n: f"{n:,}"),
    st.decimals(min_value=0, max_value=1000, places=2).map(lambda d: f"{d}%"),
)
names = st.one_of(
    st.sampled_from(M.NAME_POOL),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}(-[A-Za-z0-9]{1,3})?", fullmatch=True),
)
mutation = st.one_of(
    st.tuples(st.just("delete token"), indices),
    st.tuples(st.just("duplicate token"), indices),
    st.tuples(st.just("swap tokens"), indices, indices),
    st.tuples(st.just("replace number"), indices, numbers),
    st.tuples(st.just("replace name"), indices, names),
    st.tuples(st.just("delete line"), indices),
    st.tuples(st.just("duplicate line"), indices),
)
mutations = st.lists(mutation, min_size=1, max_size=2)


def apply(text: str, muts) -> str:
    for kind, *args in muts:
        text = M.MUTATIONS[kind](text, *args)
    return text


# ------------------------------------------------------------------ the pipeline
def months_asked(a) -> int:
    vals = [a.horizon or 0, a.recovery_lag or 0]
    for line in a.lines:
        vals += [line.remaining_term, line.age, line.amort_term or 0, line.io_months, line.penalty_months]
    return max(vals)


def assert_well_placed(err: DealError, texts: dict):
    rendered = err.render()
    assert "Traceback" not in rendered
    assert err.diagnostics, "a DealError with no diagnostic"
    for d in err.diagnostics:
        assert d.message
        text = texts.get(d.span.file)
        if text is None:
            continue
        n = max(len(text.splitlines()), 1)
        assert 1 <= d.span.line <= n + 1 and d.span.column >= 1, \
            f"{d.span} is outside the file ({n} lines): {d.message}"


_run_cache: dict = {}


def pipeline(deal_text: str, yaml_text: str, workdir: Path) -> str:
    """Outcome of one input pair: 'ok', 'deal error', 'assumptions error',
    'run error' or 'known: ...'; an unexpected exception propagates."""
    try:
        deal = parse(deal_text, DEAL_PATH)
        diags = check(deal)
        if diags:
            raise DealError(diags, {DEAL_PATH: deal_text})
    except DealError as e:
        assert_well_placed(e, {DEAL_PATH: deal_text + ("" if deal_text.endswith("\n") else "\n")})
        return "deal error"
    except Exception:  # noqa: BLE001
        tb = traceback.format_exc()
        if known_bug(tb):
            return "known: " + known_bug(tb)
        raise
    ypath = workdir / "fuzz.assumptions.yaml"
    ypath.write_text(yaml_text, encoding="utf-8")
    try:
        assumptions = load_assumptions(str(ypath), deal)
    except DealError as e:
        assert_well_placed(e, {str(ypath): yaml_text})
        return "assumptions error"
    except Exception:  # noqa: BLE001
        tb = traceback.format_exc()
        if known_bug(tb):
            return "known: " + known_bug(tb)
        raise
    if months_asked(assumptions) > MAX_MONTHS:
        return "known: absurd months accepted by load_assumptions"
    try:
        check_reach(deal, assumptions)  # as run-deal does: tables and settlement against the horizon
    except DealError as e:
        assert_well_placed(e, {DEAL_PATH: deal_text + ("" if deal_text.endswith("\n") else "\n")})
        return "deal error"
    key = (repr(attrs.evolve(deal, source="", path="")), repr(attrs.evolve(assumptions, path="")))
    if key not in _run_cache:
        try:
            run(deal, assumptions, [1.0])
            _run_cache[key] = "ok"
        except RunError as e:  # an input mistake is an input error; a run-time condition names its line
            assert e.span is not None and e.span.line > 0, f"a run error without a position: {e}"
            _run_cache[key] = "run error"
    return _run_cache[key]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# ------------------------------------------------------------------ the properties
def test_the_bundled_inputs_run(workdir):
    assert pipeline(DEAL, YAML, workdir) == "ok"


def test_mutations_change_the_text():
    """The mutations do touch the code (not only the comments)."""
    assert apply(DEAL, [("replace number", 0, "7")]) != DEAL
    assert apply(YAML, [("replace name", 0, "zzz")]) != YAML
    for kind in M.MUTATIONS:
        args = {"swap tokens": (3, 40), "replace number": (5, "1"), "replace name": (5, "x")}.get(kind, (20,))
        assert M.MUTATIONS[kind](DEAL, *args) != DEAL, kind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(muts=mutations)
def test_a_mutated_deal_never_crashes(muts, workdir):
    text = apply(DEAL, muts)
    outcome = pipeline(text, YAML, workdir)
    event(outcome)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(muts=mutations)
def test_a_mutated_assumptions_file_never_crashes(muts, workdir):
    text = apply(YAML, muts)
    outcome = pipeline(DEAL, text, workdir)
    event(outcome)
