"""docs/api.md's example runs, and the API's tables agree with the run they come from."""
import builtins
import re
from pathlib import Path

import numpy as np
import pytest

import interpreter
from interpreter import WaterfallError, load
from interpreter.engine import run as engine_run

ROOT = Path(__file__).resolve().parents[2]
J4 = ROOT / "deals" / "cwalt-2004-j4.waterfall"
SEQ = ROOT / "deals" / "sequential-cmo.waterfall"


def test_the_example_in_docs_api_runs(monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S).group(1)
    monkeypatch.chdir(ROOT)
    exec(compile(code, "docs/api.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    # 12 classes x 2 speeds; 1-A-1's WAL at 100% PPC to maturity: 0.90 years (the term sheet's p.3)
    assert out[0] == "24 rows; first 1-A-1 WAL 0.9"
    assert out[1].startswith(f"{2 * 358} periods x scenarios; first date 2004-05-25")


@pytest.fixture(params=["numpy records", "pandas"])
def frames(request, monkeypatch):
    if request.param == "pandas":
        pytest.importorskip("pandas")
    else:
        real = builtins.__import__

        def no_pandas(name, *a, **kw):
            if name == "pandas":
                raise ImportError("no pandas here")
            return real(name, *a, **kw)
        monkeypatch.setattr(builtins, "__import__", no_pandas)
    return request.param


def test_table_and_cashflows_are_the_runs_figures(frames):
    deal = load(SEQ)
    r = deal.run(speeds=[100, 200])
    t = r.table()
    assert list(t["class"]) == [c for c in ["A", "B", "C", "D"] for _ in (0, 1)]
    assert list(t["speed_pct"])[:2] == [100.0, 200.0]
    if frames == "numpy records":
        assert isinstance(t, np.recarray)
    direct = engine_run(deal.ast, deal.assumptions, [1.0, 2.0])
    cf = r.cashflows("B")
    T = len(direct.dates)
    assert len(cf) == 2 * T
    b = deal.classes.index("B")
    # scenario-major: scenario 1 (200%) is the second block of T rows
    np.testing.assert_array_equal(np.asarray(cf["principal"])[T:], direct.principal[:, b, 1])
    np.testing.assert_array_equal(np.asarray(cf["period"])[:3], [1, 2, 3])
    # every dollar of principal: the class's original balance, at each speed
    assert np.asarray(cf["principal"])[:T].sum() == pytest.approx(deal.ast.classes[b].balance.value)


def test_errors_carry_positions(tmp_path):
    bad = tmp_path / "bad.waterfall"
    bad.write_text(SEQ.read_text().replace("pay principal sequentially to A", "pay principal sequentially to Z", 1))
    (tmp_path / "bad.assumptions.yaml").write_text((ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text())
    with pytest.raises(WaterfallError) as e:
        load(bad)
    d = next(x for x in e.value.diagnostics if "'Z'" in x.message)
    assert d.span.file == str(bad) and d.span.line > 1
    assert f"{bad}:{d.span.line}:{d.span.column}: error:" in e.value.render()
    deal = load(SEQ)
    with pytest.raises(WaterfallError, match="no class 'Q'"):
        deal.run(speeds=[100]).cashflows("Q")
    with pytest.raises(WaterfallError, match="unknown 'to'"):
        deal.run(to="auction")
    with pytest.raises(WaterfallError, match="grid"):
        deal.grid("speedd=1")


def test_the_package_imports_the_api_only_when_asked():
    import subprocess
    import sys
    code = "import sys, interpreter.cli; print('interpreter.api' in sys.modules)"
    # run-deal's own path imports the loader it uses; a bare package import does not
    out = subprocess.run([sys.executable, "-c", "import sys, interpreter; print('interpreter.api' in sys.modules)"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    assert out == "False"
    assert "load" in dir(interpreter)
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          check=True).stdout.strip() == "True"
