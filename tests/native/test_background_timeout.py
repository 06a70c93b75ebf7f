"""A build for the next run that times out is not started again by every run
(it would time out again, the same source under the same limit), until the
marker it leaves is swept (an hour) or the limit is raised."""
from __future__ import annotations

import subprocess
import uuid

import pytest

from interpreter.native import background, build, builder

needs_cc = pytest.mark.skipif(not build.available(), reason="no C compiler on this machine")


@needs_cc
def test_a_timed_out_background_build_is_not_retried_under_the_same_limit(tmp_path, monkeypatch):
    source = f"/* {uuid.uuid4()} */\nint f(int x) {{ return x + 1; }}\n"
    key = build.library_key(build.compiler(), source)
    so = tmp_path / f"deal-{key}.so"
    marker = tmp_path / f".{so.stem}.building.tmp"
    src = tmp_path / f".{so.stem}.source.tmp"
    src.write_text(source, encoding="ascii")
    marker.write_text("", encoding="ascii")
    monkeypatch.setenv("WATERFALL_COMPILE_TIMEOUT", "0.000001")  # no compiler starts in a microsecond
    assert builder.main(["deal", str(src), str(marker), "quiet", str(tmp_path)]) == 1
    assert not so.exists() and not src.exists() and not marker.exists()  # its temporaries gone
    assert background.failed_marker(so).read_text(encoding="ascii").strip() == "1e-06"

    def no_builder(*a, **k):
        raise AssertionError("a builder was started again for a source that timed out")
    monkeypatch.setattr(subprocess, "Popen", no_builder)
    assert background.start("deal", source, False, so, 1e-6) is False
    assert background.start("deal", source, False, so, 1e-7) is False  # a shorter limit would time out too
    assert not marker.exists()
    # a longer limit, or none, may succeed: tried again
    assert background.timed_out(so, 60.0) is False
    assert background.timed_out(so, None) is False


def test_no_marker_means_no_timeout(tmp_path):
    so = tmp_path / "deal-0123456789abcdef0123.so"
    assert background.timed_out(so, 30.0) is False
    background.failed_marker(so).write_text("not a number\n", encoding="ascii")
    assert background.timed_out(so, 30.0) is False
