"""run-deal with the cache folder: a second run finds the deal's compiled
library through its index (no C generated again) and prints exactly what the
first printed, as does a run with the cache off; a broken deal reports the
same with the cache on, off, or run twice."""
from pathlib import Path

import pytest

from interpreter.waterfall import c_emit, c_run, c_unit  # noqa: F401
from interpreter.native import build as cbuild
from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")


@pytest.fixture
def deal_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(c_run, "_kernels", {})
    # deal libraries as not yet loaded by this process (an index names only a library in its own folder)
    monkeypatch.setattr(cbuild, "_loaded", {k: v for k, v in cbuild._loaded.items() if "deal-" not in v._name})
    (tmp_path / "d.assumptions.yaml").write_text(YAML, encoding="utf-8")
    return tmp_path


def run(capsys, *args):
    rc = main([*map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.skipif(not cbuild.available(), reason="no C compiler on this machine")
def test_the_second_run_finds_its_library_and_prints_the_same(deal_dir, capsys, monkeypatch):
    path = deal_dir / "d.waterfall"
    path.write_text(DEAL, encoding="utf-8")
    first = run(capsys, path)
    assert first[0] == 0 and "Sequential CMO 2024-1" in first[1] and first[2] == ""
    assert len(list((deal_dir / "cache" / "c").glob("deal-index-*"))) == 1

    def no_generation(self):
        raise AssertionError("the C was generated again")
    generate = c_run.assemble
    monkeypatch.setattr(c_run, "assemble", no_generation)
    monkeypatch.setattr(c_run, "_kernels", {})  # as in a new process
    assert run(capsys, path) == first
    monkeypatch.setattr(c_run, "assemble", generate)
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    monkeypatch.setattr(c_run, "_kernels", {})
    assert run(capsys, path) == first


@pytest.mark.parametrize("old, new", [
    ("balance   80,000,000", "balance   eighty"),
    ("sequentially to A, B, C, D\n    clause \"3", "sequentially to A, B, CC, D\n    clause \"3"),
], ids=["syntax", "check"])
def test_a_broken_deal_reports_the_same_with_or_without_the_cache(deal_dir, capsys, monkeypatch, old, new):
    assert DEAL.count(old) == 1
    path = deal_dir / "d.waterfall"
    path.write_text(DEAL.replace(old, new), encoding="utf-8")
    on = run(capsys, path)
    assert on[0] == 2 and f"{path}:" in on[2] and "^" in on[2]
    assert run(capsys, path) == on
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    assert run(capsys, path) == on
