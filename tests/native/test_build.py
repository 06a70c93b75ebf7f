"""cbuild: C source compiled once, cached by its hash, loaded with ctypes."""
import ctypes

import pytest

from interpreter.native import build as cbuild

pytestmark = pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")

SRC = "double twice(double x) { return 2.0 * x; }\n"


def twice(lib):
    lib.twice.restype = ctypes.c_double
    lib.twice.argtypes = [ctypes.c_double]
    return lib.twice(21.0)


def test_compiled_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path))
    monkeypatch.setattr(cbuild, "_loaded", {})
    assert twice(cbuild.load("t", SRC)) == 42.0
    built = list((tmp_path / "c").glob("t-*.so"))
    assert len(built) == 1
    inode = built[0].stat().st_ino
    monkeypatch.setattr(cbuild, "_loaded", {})  # a new process, as it were
    calls = []
    monkeypatch.setattr(cbuild, "_compile", lambda *a: calls.append(a))
    assert twice(cbuild.load("t", SRC)) == 42.0
    assert calls == [] and built[0].stat().st_ino == inode  # the same file, not rebuilt
    # other source, other library
    monkeypatch.undo()
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path))
    cbuild.load("t", SRC + "/* changed */\n")
    assert len(list((tmp_path / "c").glob("t-*.so"))) == 2


def test_without_a_cache_folder_it_still_builds(monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    monkeypatch.setattr(cbuild, "_loaded", {})
    assert twice(cbuild.load("t", SRC + "/* no cache */\n")) == 42.0


def test_source_the_compiler_rejects_is_a_compile_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path))
    with pytest.raises(cbuild.CompileError, match="failed on generated source"):
        cbuild.load("bad", "this is not C\n")
    assert not list((tmp_path / "c").glob("*.so")) and not list((tmp_path / "c").glob("*.c"))


def test_numpy_engine_asked_for_means_no_compiler(monkeypatch):
    monkeypatch.setenv("WATERFALL_ENGINE", "numpy")
    assert cbuild.compiler() is None and cbuild.load("t", SRC) is None


def test_a_thread_budget_limits_the_kernels_called_from_that_thread():
    import threading

    from interpreter.collateral import c_backend as collateral_c
    from interpreter.waterfall import c_run
    from interpreter.native import policy
    assert policy.n_threads(10_000, cap=2) == min(2, policy.cpus())
    with policy.threads(1):
        assert c_run.threads_for(10_000) == 1
        assert policy.n_threads(10_000, cap=2) == 1  # the analytics' count
        assert collateral_c.n_threads(10_000, 10**9) == 1
        seen = []
        th = threading.Thread(target=lambda: seen.append(policy.thread_budget()))
        th.start()
        th.join()
        assert seen == [None]  # another thread has its own budget
    assert policy.thread_budget() is None


def test_the_cache_folder_keeps_the_most_recently_used_libraries(tmp_path):
    import os
    import time
    folder = tmp_path / "c"
    folder.mkdir()
    now = time.time()
    for i in range(12):
        p = folder / f"deal-{i:02d}.so"
        p.write_bytes(b"")
        os.utime(p, (now - 100 + i, now - 100 + i))  # deal-11 the most recent
    cbuild.prune(folder, keep=10)
    left = sorted(p.name for p in folder.glob("*.so"))
    assert left == [f"deal-{i:02d}.so" for i in range(7, 12)]  # pruned to half, newest kept
    cbuild.prune(folder, keep=10)  # within the limit: nothing more goes
    assert len(list(folder.glob("*.so"))) == 5
