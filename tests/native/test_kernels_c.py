"""The fixed C kernels (interpreter/kernels), their build and the backend policy
every kernel follows (interpreter/native): warning-free C, libraries kept with
the package only when trusted and intact, threads and scenario splits, and a
quick start that runs numpy while the deal's kernel builds for the next run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from interpreter.native import build, fixed, policy

ROOT = Path(__file__).resolve().parents[2]
SEQ = ROOT / "deals" / "sequential-cmo.waterfall"
needs_cc = pytest.mark.skipif(not build.available(), reason="no C compiler on this machine")


@needs_cc
@pytest.mark.parametrize("name", fixed.NAMES)
def test_the_fixed_kernels_compile_without_a_warning(name, tmp_path):
    cmd = [build.compiler(), "-O2", *build.BASE_FLAGS, *build.WARN, "-Werror", "-I", str(fixed.KERNELS),
           "-o", str(tmp_path / f"{name}.so"), str(fixed.KERNELS / f"{name}.c"), "-lm"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_a_kernels_source_is_its_c_file_with_its_headers_in_place():
    src = fixed.source("collateral")
    assert '#include "' not in src
    lanes = (fixed.KERNELS / "collateral_lanes.h").read_text(encoding="ascii")
    assert src.count(lanes) == 2  # once per lane width
    assert (fixed.KERNELS / "collateral.h").read_text(encoding="ascii") in src


@needs_cc
def test_a_library_kept_with_the_package_is_loaded_only_when_trusted_and_intact(tmp_path):
    lib = fixed.library("analytics")
    so = Path(lib._name)
    folder = tmp_path / "kernels"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    copy = folder / so.name
    shutil.copy(so, copy)
    shutil.copy(so.with_suffix(".sha256"), copy.with_suffix(".sha256"))
    for p in (copy, copy.with_suffix(".sha256")):
        os.chmod(p, 0o644)
    key = uuid.uuid4().hex[:20]  # not loaded by this process under that key
    assert build.load_kept(copy, key) is not None
    os.chmod(copy, 0o664)
    assert build.load_kept(copy, uuid.uuid4().hex[:20]) is None  # writable by group
    os.chmod(copy, 0o644)
    with open(copy, "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x90")
    assert build.load_kept(copy, uuid.uuid4().hex[:20]) is None  # not the bytes recorded
    os.unlink(copy.with_suffix(".sha256"))
    assert build.load_kept(copy, uuid.uuid4().hex[:20]) is None  # no record


def test_the_engine_asked_for_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("WATERFALL_ENGINE", raising=False)
    assert policy.requested() == "auto"
    monkeypatch.setenv("WATERFALL_ENGINE", " NumPy ")
    assert policy.requested() == "numpy" and policy.requested("c") == "c"
    with pytest.raises(policy.UnknownEngine, match="unknown engine 'fast': use auto, c or numpy"):
        policy.requested("fast")


def test_a_kernel_that_cannot_run_is_a_notice_on_auto_and_an_error_on_c():
    with pytest.warns(RuntimeWarning, match="^x unavailable, using numpy: no compiler$"):
        policy.fall_back("x unavailable", "no compiler", "auto")
    with pytest.raises(policy.Unavailable, match="x unavailable: no compiler"):
        policy.fall_back("x unavailable", "no compiler", "c")


def test_scenarios_are_split_into_contiguous_ranges_that_cover_them_once():
    for S in (0, 1, 2, 7, 64, 1001):
        for n in (1, 2, 3, 8):
            parts = policy.split(S, n)
            assert parts[0][0] == 0 and parts[-1][1] == S
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            sizes = [b - a for a, b in parts]
            assert max(sizes) - min(sizes) <= 1 and len(parts) == (max(1, min(n, S)) if S else 1)


def test_threads_follow_the_thresholds_the_cap_and_the_budget():
    assert policy.n_threads(63, min_scenarios=64) == 1
    assert policy.n_threads(10_000, work=10, min_work=100) == 1
    assert policy.n_threads(10_000, cap=1) == 1
    assert policy.n_threads(100, per_thread=60, cap=8) == 1  # one thread per 60 scenarios
    assert policy.n_threads(10_000, override=3) == 3
    with policy.threads(1):
        assert policy.n_threads(10_000, override=3) == 1


def test_a_split_run_uses_the_threads_and_raises_the_first_error():
    seen = {}

    def record(i, s0, s1):
        seen[i] = (s0, s1, threading.get_ident())
    policy.run_split(record, 10, 2)
    assert seen[0][:2] == (0, 5) and seen[1][:2] == (5, 10) and seen[0][2] != seen[1][2]

    def fail(i, s0, s1):
        if i == 1:
            raise MemoryError("out of scratch")
    with pytest.raises(MemoryError, match="out of scratch"):
        policy.run_split(fail, 10, 2)


@needs_cc
def test_a_quick_start_runs_unoptimised_now_and_builds_the_kernel_for_the_next_run(tmp_path):
    """run-deal with an empty cache: the same output as the numpy engine, nothing
    said, and the deal's kernel built (-O3) by a process of its own, whole (with
    its record), leaving no temporaries; the next run loads it."""
    text = SEQ.read_text(encoding="utf-8")
    terms = " + ".join(["period"] * (uuid.uuid4().int % 100 + 2))  # a shape no cache has compiled
    deal = tmp_path / "quick.waterfall"
    deal.write_text(text.replace("\nwaterfall", f'\ndefine quick_shape "a formula of its own" = {terms}\n\nwaterfall'),
                    encoding="utf-8")
    shutil.copy(SEQ.with_suffix(".assumptions.yaml"), tmp_path / "quick.assumptions.yaml")
    cache = tmp_path / "cache"
    env = dict(os.environ, WATERFALL_CACHE=str(cache), PYTHONPATH=str(ROOT), WATERFALL_QUICK_START="on")
    env.pop("WATERFALL_ENGINE", None)
    first = subprocess.run([sys.executable, "-m", "interpreter", str(deal)], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    numpy = subprocess.run([sys.executable, "-m", "interpreter", str(deal), "--engine", "numpy"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert first.stdout == numpy.stdout
    folder = cache / "c"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and [p for p in folder.iterdir() if p.name.endswith(".tmp")]:
        time.sleep(0.2)
    left = sorted(p.name for p in folder.iterdir())
    assert not [n for n in left if n.endswith(".tmp")], left
    (so,) = [p for p in folder.glob("deal-*.so")]  # the -O3 library only: the -O0 one was not kept
    assert build.file_digest(so) + "\n" == so.with_suffix(".sha256").read_text()
    env_c = dict(env, WATERFALL_COMPILE_TIMEOUT="0.001")  # would fail if it compiled again
    second = subprocess.run([sys.executable, "-m", "interpreter", str(deal), "--engine", "c"],
                            capture_output=True, text=True, env=env_c, cwd=tmp_path)
    assert second.returncode == 0 and second.stderr == "" and second.stdout == first.stdout, second.stderr


@needs_cc
def test_an_unoptimised_kernel_gives_the_numbers_of_the_optimised_one_to_the_bit(monkeypatch, tmp_path):
    """What a quick start relies on: -O0 and -O3 of a deal's C (no fast-math, no
    fused multiply-add) compute the same IEEE operations."""
    import numpy as np

    from dsl.check import load_deal
    from interpreter import engine
    from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
    from interpreter.assumptions import load_assumptions
    deal = ROOT / "deals" / "cwalt-2004-j4.waterfall"
    d = load_deal(deal)
    a = load_assumptions(deal.with_suffix(".assumptions.yaml"), d)
    kw = dict(cdr=[0, 0.02, 0.05, 0.1, 0.2], severity=[0.3, 0.4, 0.5, 0.35, 0.6], engine="c")
    speeds = [0.0, 0.5, 1.0, 2.0, 3.0]
    optimised = engine.run(d, a, speeds, **kw)
    monkeypatch.setattr(c_run, "_kernels", {})
    monkeypatch.setattr(build, "_loaded", {})
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    compiled = []
    real = build._compile
    monkeypatch.setattr(build, "_compile", lambda *a: compiled.append(a[5] if len(a) > 5 else None) or real(*a))
    from interpreter.native import background
    monkeypatch.setattr(background, "start", lambda *a: True)  # no build for the next run here
    with build.later():
        quick = engine.run(d, a, speeds, **kw)
    assert compiled and set(compiled) == {"-O0"}
    for k in ("principal", "interest", "balance"):
        np.testing.assert_array_equal(getattr(quick, k), getattr(optimised, k))
