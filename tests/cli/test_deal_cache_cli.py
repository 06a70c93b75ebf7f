"""run-deal with the deal cache: the second run reads the deal from the cache
and prints exactly what the first printed; a broken deal reports the same
with the cache on, off, or run twice."""
from pathlib import Path

import pytest

import dsl.parse
from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")


@pytest.fixture
def deal_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "d.assumptions.yaml").write_text(YAML, encoding="utf-8")
    return tmp_path


def run(capsys, *args):
    rc = main([*map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_second_run_reads_the_cache_and_prints_the_same(deal_dir, capsys, monkeypatch):
    path = deal_dir / "d.waterfall"
    path.write_text(DEAL, encoding="utf-8")
    first = run(capsys, path)
    assert first[0] == 0 and "Sequential CMO 2024-1" in first[1]
    assert len(list((deal_dir / "cache" / "deals").glob("*.pickle"))) == 1

    def no_parsing(*a, **k):
        raise AssertionError("the deal was parsed again")
    monkeypatch.setattr(dsl.parse, "parse", no_parsing)
    assert run(capsys, path) == first
    assert run(capsys, path, "--format", "json")[0] == 0


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
    assert not (deal_dir / "cache" / "deals").exists() or not list((deal_dir / "cache" / "deals").iterdir())
