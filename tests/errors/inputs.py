"""Helpers of the input-error tests: the bundled sequential CMO with one edit,
run through run-deal in this process, and its stderr read as diagnostics."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from interpreter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEAL = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
YAML = (ROOT / "deals" / "sequential-cmo.assumptions.yaml").read_text(encoding="utf-8")
HEADER_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$", re.M)


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def at(text: str, needle: str, offset: int = 0) -> tuple:
    """1-based (line, column) of needle (which must occur once) plus offset characters."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    i = text.index(needle) + offset
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def run_deal(tmp_path: Path, capsys, deal: str = DEAL, yaml: str = YAML, args=("--check",),
             deal_bytes: Optional[bytes] = None, yaml_bytes: Optional[bytes] = None) -> tuple:
    """(exit status, stderr, deal path, assumptions path) of run-deal on the texts."""
    d, y = tmp_path / "deal.waterfall", tmp_path / "deal.assumptions.yaml"
    d.write_bytes(deal_bytes if deal_bytes is not None else deal.encode("utf-8"))
    y.write_bytes(yaml_bytes if yaml_bytes is not None else yaml.encode("utf-8"))
    capsys.readouterr()
    try:
        rc = main([str(d), *args])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return rc, err, d, y


def first_error(err: str) -> tuple:
    """(file, line, column, message) of the first 'FILE:LINE:COL: error:' line."""
    m = HEADER_RE.search(err)
    assert m, f"no 'file:line:col: error:' in\n{err}"
    return m["file"], int(m["line"]), int(m["col"]), m["msg"]


def refused_at(tmp_path, capsys, where: tuple, message: str, which: str = "deal", **kw) -> str:
    """Run, and assert exit 2 with the first diagnostic at ``where`` (line, col) of
    the named file, its message holding ``message``; returns stderr."""
    rc, err, d, y = run_deal(tmp_path, capsys, **kw)
    assert rc == 2, f"exit status {rc}\n{err}"
    file, line, col, msg = first_error(err)
    assert file == str(d if which == "deal" else y), err
    assert (line, col) == where, f"at {line}:{col}, expected {where}\n{err}"
    assert message in msg, err
    return err
