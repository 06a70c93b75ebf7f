"""dsl/ laid out by stage (issue 15): read -> cache -> parse -> check in dsl.load;
no file over 800 lines, no class over 300, no import cycle; the public entry
points (dsl.parse.parse, dsl.check.load_deal, dsl.check.check) still work."""
from __future__ import annotations

import ast
from pathlib import Path

from dsl import check as dsl_check
from dsl import load as dsl_load

ROOT = Path(__file__).resolve().parents[2]
DSL = ROOT / "dsl"
MODULES = sorted(DSL.glob("*.py"))


def test_no_file_over_800_lines_and_no_class_over_300():
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= 800, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno - node.lineno + 1 <= 300, f"{path.name}: class {node.name}"


def _imports(path: Path) -> set:
    """The dsl modules a module imports (at its top or inside a function)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dsl."):
            out.add(node.module.split(".")[1])
    return out


def test_no_import_cycle_in_dsl():
    graph = {p.stem: _imports(p) - {p.stem} for p in MODULES}
    state: dict = {}

    def visit(name, trail):
        assert state.get(name) != "active", "import cycle: " + " -> ".join(trail[trail.index(name):] + [name])
        if state.get(name) == "done":
            return
        state[name] = "active"
        for dep in sorted(graph.get(name, ())):
            visit(dep, trail + [name])
        state[name] = "done"

    for name in graph:
        visit(name, [])


def test_check_and_checker_are_no_longer_a_cycle():
    assert "check" not in _imports(DSL / "checker.py")


def test_the_public_entry_points():
    assert dsl_check.load_deal is dsl_load.load_deal
    deal = dsl_check.load_deal(ROOT / "deals" / "sequential-cmo.waterfall")
    assert dsl_check.check(deal) == [] and [c.name for c in deal.classes] == ["A", "B", "C", "D", "R"]


def test_a_byte_order_mark_is_skipped_by_load_and_parse(tmp_path):
    from dsl.parse import parse
    text = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")
    path = tmp_path / "bom.waterfall"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert dsl_load.load_deal(path) == parse(text, str(path)) == parse("\ufeff" + text, str(path))


def test_invalid_utf8_is_positioned_at_its_byte(tmp_path):
    import pytest

    from dsl.diagnostics import DealError
    path = tmp_path / "bad.waterfall"
    path.write_bytes(b'deal "A"\n    cutoff 2024-01-01 # caf\xc3\xa9 \xe9t\xc3\xa9\n')
    with pytest.raises(DealError) as e:
        dsl_load.load_deal(path)
    d = e.value.diagnostics[0]
    # line 2: four spaces, 'cutoff 2024-01-01 # caf' (23 characters), the two-byte 'é', a space: the bad byte is character 30
    assert (d.span.line, d.span.column, d.message) == (2, 30, "invalid UTF-8 byte 0xe9")
