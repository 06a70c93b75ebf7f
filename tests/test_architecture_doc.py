"""docs/architecture.md names real files: every path and file name it gives exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_path_in_the_architecture_page_exists():
    paths = set(re.findall(r"\b((?:grammar|dsl|interpreter|tests|deals|docs|benchmarks)/[\w/.-]*\w)", DOC))
    assert len(paths) > 20
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing


def test_every_file_name_in_the_architecture_page_exists_somewhere():
    names = set(re.findall(r"`([\w*]+\.(?:py|c|h|lark))`", DOC))
    found = {p.name for p in ROOT.rglob("*") if ".git" not in p.parts}
    missing = sorted(n for n in names if "*" not in n and n not in found)
    assert not missing, missing
