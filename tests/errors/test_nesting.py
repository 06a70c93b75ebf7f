"""A deal that nests past what the passes recurse through is a positioned input
error, never a RecursionError traceback; one just inside the limit runs."""
import subprocess
import sys

import pytest

from dsl.diagnostics import DealError
from dsl.parse import MAX_NESTING, parse

from ..conftest import DEALS, ROOT

SEQ = (DEALS / "sequential-cmo.waterfall").read_text()


def with_formula(expr: str) -> str:
    return SEQ.replace("\nwaterfall", f'\ndefine deep "deep" = {expr}\n\nwaterfall').replace(
        "pay remaining to R", "pay remaining to R up to deep * 1,000,000")


@pytest.mark.parametrize("expr", [" + ".join(["period"] * 3000), "-" * 3000 + "period",
                                  "min(" * 3000 + "period" + ", 1)" * 3000], ids=["terms", "negations", "calls"])
def test_too_deep_is_a_positioned_error(expr):
    text = with_formula(expr)
    with pytest.raises(DealError) as e:
        parse(text, "deep.waterfall")
    d = e.value.diagnostics[0]
    assert f"more than {MAX_NESTING} levels" in d.message
    line = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("define deep"))) + 1
    assert (d.span.file, d.span.line) == ("deep.waterfall", line) and d.span.column > 1


def test_run_deal_says_so_without_a_traceback(tmp_path):
    deal = tmp_path / "deep.waterfall"
    deal.write_text(with_formula(" + ".join(["period"] * 3000)))
    (tmp_path / "deep.assumptions.yaml").write_text((DEALS / "sequential-cmo.assumptions.yaml").read_text())
    p = subprocess.run([sys.executable, "-m", "interpreter", str(deal), "--speeds", "100"], capture_output=True,
                       text=True, cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "deep.waterfall:" in p.stderr and "levels deep" in p.stderr


@pytest.mark.parametrize("engine", ["numpy", "c"])
def test_just_inside_the_limit_runs(tmp_path, engine):
    from interpreter.native import build as cbuild
    if engine == "c" and not cbuild.available():
        pytest.skip("no C compiler")
    from interpreter.assumptions import load_assumptions
    from interpreter.engine import run
    n = MAX_NESTING - 15  # the formula's terms, below the clause's own levels
    deal = parse(with_formula(" + ".join(["period"] * n)), "deep.waterfall")
    a = load_assumptions(DEALS / "sequential-cmo.assumptions.yaml", deal)
    r = run(deal, a, [1.0], engine=engine)
    # deep = n * period: the residual's release is capped at n * period * 1,000,000 each period
    assert r.interest[:, r.cls("R"), 0].max() <= n * r.n_periods * 1e6
