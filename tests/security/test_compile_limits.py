"""A deal too large to compile quickly does not hang the run: less optimisation
for large sources, a time limit, then the numpy engine (issue 13, item 9)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from dsl import cachedir
from dsl.check import load_deal
from interpreter.native import build as cbuild
from interpreter.native import fixed
from interpreter.assumptions import load_assumptions
from interpreter.engine import RunError, run

from .helpers import SEQ, SEQ_YAML, env_for, needs_cc, unique_source

def test_large_sources_are_compiled_with_less_optimisation():
    assert cbuild.opt_level("x" * 65_000) == "-O3"  # J4's kernel
    assert cbuild.opt_level("x" * (cbuild.O3_MAX_CHARS + 1)) == "-O1"
    assert cbuild.opt_level("x" * (cbuild.O1_MAX_CHARS + 1)) == "-O0"


def test_the_time_limit_is_read_from_the_environment(monkeypatch):
    for raw, limit in (("", 20.0), ("2.5", 2.5), ("off", None), ("0", None), ("-3", 20.0), ("soon", 20.0),
                       ("nan", 20.0)):
        monkeypatch.setenv("WATERFALL_COMPILE_TIMEOUT", raw)
        assert cbuild.timeout() == limit, raw


def a_new_deal(tmp_path: Path) -> Path:
    """The sequential CMO with a formula of its own shape: a source no cache has
    compiled (a changed number alone is an input of the same kernel)."""
    text = SEQ.read_text(encoding="utf-8")
    assert text.count("\nwaterfall") == 1
    terms = " + ".join(["period"] * (uuid.uuid4().int % 150 + 2))  # within dsl.parse.MAX_NESTING
    path = tmp_path / "big.waterfall"
    path.write_text(text.replace("\nwaterfall", f'\ndefine unique_shape "a formula no other deal has" = {terms}\n\nwaterfall'),
                    encoding="utf-8")
    shutil.copy(SEQ_YAML, tmp_path / "big.assumptions.yaml")
    return path


@needs_cc
def test_a_compile_past_the_time_limit_falls_back_to_numpy(tmp_path, monkeypatch, fresh, capsys):
    from interpreter.analytics import batch as analytics_batch
    from interpreter.collateral import c_backend as collateral_c
    assert collateral_c.library() is not None and analytics_batch._kernel() is not None  # the fixed kernels, built
    monkeypatch.setenv("WATERFALL_COMPILE_TIMEOUT", "0.01")
    t0 = time.perf_counter()
    with pytest.raises(cbuild.CompileTimeout, match="took longer than 0.01 s"):
        cbuild.load("t", unique_source() + "int pad[] = {%s};\n" % ",".join(["1"] * 200_000))
    assert time.perf_counter() - t0 < 10
    folder = cachedir.cache_dir("c")
    assert not [p for p in folder.iterdir() if p.name.startswith("tmp")], "temporaries left behind"

    path = a_new_deal(tmp_path)
    deal = load_deal(path)
    assumptions = load_assumptions(tmp_path / "big.assumptions.yaml", deal)
    with pytest.warns(RuntimeWarning, match="running the numpy engine: compiling the waterfall of .* took longer"):
        r = run(deal, assumptions, [1.0, 2.0], engine="auto")
    np.testing.assert_array_equal(r.principal, run(deal, assumptions, [1.0, 2.0], engine="numpy").principal)
    with pytest.raises(RunError, match="took longer than"):
        run(deal, assumptions, [1.0], engine="c")

    # run-deal: no traceback, the numpy engine's results, the reason said once. The
    # fixed kernels (collateral, analytics) are built (kept with the package, or
    # else in the cache): only the deal's is compiled.
    seeded = tmp_path / "seeded" / "c"
    seeded.mkdir(parents=True, mode=0o700)
    cc = cbuild.compiler()
    for name in ("collateral", "analytics"):
        key = cbuild.library_key(cc, fixed.source(name), warn=True)
        built = Path(cbuild._loaded[key]._name)
        if built.parent != fixed.KERNELS:
            target = seeded / built.name
            shutil.copy(built, target)
            os.chmod(target, 0o600)
            target.with_suffix(".sha256").write_text(cbuild.file_digest(target) + "\n")
    env = env_for(seeded.parent, WATERFALL_COMPILE_TIMEOUT="0.01")
    other = a_new_deal(tmp_path)
    p = subprocess.run([sys.executable, "-m", "interpreter", str(other), "--speeds", "100"], capture_output=True,
                       text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.count("took longer than 0.01 s") == 1, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith("run-deal: warning: "), p.stderr
    numpy = subprocess.run([sys.executable, "-m", "interpreter", str(other), "--speeds", "100", "--engine", "numpy"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.stdout == numpy.stdout


def test_an_analytics_kernel_that_cannot_be_built_falls_back_to_numpy(monkeypatch):
    """Like the waterfall's: a compile that fails or times out is one warning, and
    the numpy analytics give the same figures."""
    from interpreter.analytics import batch as analytics_batch
    from interpreter.report.analyze import analyze
    deal = load_deal(SEQ)
    a = load_assumptions(SEQ_YAML, deal)
    r = run(deal, a, [0.5, 1.0, 2.0], engine="numpy")
    want = list(analyze(r, compiled=False))
    real = fixed.library

    def failing(name, *args, **kw):
        if name == "analytics":
            raise cbuild.CompileTimeout("compiling the analytics kernel took longer than 0.01 s")
        return real(name, *args, **kw)
    monkeypatch.setattr(fixed, "library", failing)
    monkeypatch.setattr(analytics_batch, "_kernel_failed", [])
    with pytest.warns(RuntimeWarning, match="analytics C kernel unavailable, using numpy"):
        got = list(analyze(r))
    assert analytics_batch._kernel() is None  # not tried again
    import json
    assert len(got) == len(want) > 0
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(want, sort_keys=True, default=str)
