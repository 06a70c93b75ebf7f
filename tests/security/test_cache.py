"""The cache folder runs nothing it did not build (issue 13, items 1 and 5)."""
from __future__ import annotations

import shutil

from dsl import cachedir

from .helpers import ROOT


def test_the_fingerprint_covers_the_grammar_and_the_parser(tmp_path, monkeypatch):
    here = ROOT / "dsl"
    shutil.copytree(here, tmp_path / "dsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "grammar", tmp_path / "grammar", ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    monkeypatch.setattr(cachedir, "_HERE", tmp_path / "dsl")

    def fingerprint():
        monkeypatch.setattr(cachedir, "_fingerprint", None)
        return cachedir.code_fingerprint()
    first = fingerprint()
    assert fingerprint() == first
    for edited in (tmp_path / "grammar" / "waterfall.lark", tmp_path / "dsl" / "parse.py",
                   tmp_path / "dsl" / "checker.py", tmp_path / "dsl" / "ast.py"):
        before = edited.read_bytes()
        edited.write_bytes(before + b"\n")
        assert fingerprint() != first, f"an edit of {edited.name} keeps the fingerprint"
        edited.write_bytes(before)
        assert fingerprint() == first
