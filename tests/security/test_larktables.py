"""Lark's tables are kept with the package, as JSON, and read only from a file as
trusted as the package's code: no grammar pickle is read from anywhere (issue 13, item 1)."""
from __future__ import annotations

import os

import pytest

import dsl.parse
from dsl import larktables

from .helpers import ROOT, SEQ, mode

GRAMMAR = (ROOT / "grammar" / "waterfall.lark").read_text(encoding="utf-8")


def options():
    return dict(parser="lalr", lexer="contextual", postlex=dsl.parse.DealIndenter(), propagate_positions=True,
                maybe_placeholders=False)


def test_larks_tables_are_written_beside_the_grammar_and_read_back(tmp_path, monkeypatch):
    pkg = tmp_path / "grammar"
    pkg.mkdir()
    os.chmod(pkg, 0o755)
    built = larktables.parser(GRAMMAR, pkg, **options())
    (written,) = pkg.iterdir()
    assert written.name == larktables.file_name(GRAMMAR, options()) and mode(written) == 0o644
    assert larktables.file_name(GRAMMAR + "// edited\n", options()) != written.name, "named by the grammar"

    def no_building(*a, **k):
        raise AssertionError("the tables were built again")
    monkeypatch.setattr(larktables, "Lark", type("NoLark", (larktables.Lark,), {"__init__": no_building}))
    loaded = larktables.parser(GRAMMAR, pkg, **options())
    for deal in sorted((ROOT / "deals").glob("*.waterfall")):
        text = deal.read_text(encoding="utf-8")
        assert loaded.parse(text) == built.parse(text), deal.name


@pytest.mark.parametrize("hostile", ["group-writable file", "other-writable folder", "foreign owner", "symlink"])
def test_larks_tables_are_read_only_from_a_trusted_file(tmp_path, monkeypatch, hostile):
    pkg = tmp_path / "grammar"
    pkg.mkdir()
    os.chmod(pkg, 0o755)
    larktables.parser(GRAMMAR, pkg, **options())
    (written,) = pkg.iterdir()
    if hostile == "group-writable file":
        os.chmod(written, 0o664)
    elif hostile == "other-writable folder":
        os.chmod(pkg, 0o757)
    elif hostile == "foreign owner":
        if os.geteuid() == 0:
            os.chown(written, 54321, -1)
        else:  # not root: the file is ours, so this process plays another user
            real = os.geteuid()
            monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    else:
        real = tmp_path / "elsewhere.json"
        written.rename(real)
        written.symlink_to(real)
    decoded = []
    monkeypatch.setattr(larktables, "decode", lambda data: decoded.append(data))
    p = larktables.parser(GRAMMAR, pkg, **options())
    assert decoded == [], "an untrusted file was read"
    assert p.parse(SEQ.read_text(encoding="utf-8")) is not None  # built in memory instead


def test_no_tables_are_written_into_a_folder_that_is_not_ours(tmp_path):
    pkg = tmp_path / "grammar"
    pkg.mkdir()
    os.chmod(pkg, 0o775)
    larktables.parser(GRAMMAR, pkg, **options())
    assert list(pkg.iterdir()) == []


def test_the_shipped_tables_are_those_of_this_grammar_and_parse_as_lark_builds(monkeypatch):
    """grammar/waterfall.tables.json.gz is committed so that a fresh checkout's
    first parse does not build Lark's tables; after an edit of the grammar,
    write it again with `python -m dsl.shiptables`."""
    import gzip
    import json

    import lark
    folder = ROOT / "grammar"
    doc = json.loads(gzip.decompress((folder / larktables.SHIPPED).read_bytes()))
    if doc.get("lark") != lark.__version__:
        pytest.skip(f"the shipped tables are for Lark {doc.get('lark')}, this is {lark.__version__}: built instead")
    if doc["key"] != larktables.shipped_key(GRAMMAR, options()):
        built_for_this_lark = larktables.shipped_key(GRAMMAR, options())
        pytest.fail(f"grammar/{larktables.SHIPPED} is not for this grammar and Lark {lark.__version__} "
                    f"(key {built_for_this_lark[:12]}): run `python -m dsl.shiptables` and commit it")

    def no_building(*a, **k):
        raise AssertionError("the tables were built")
    built = lark.Lark(GRAMMAR, **options())
    monkeypatch.setattr(larktables, "Lark", type("NoLark", (larktables.Lark,), {"__init__": no_building}))
    shipped = larktables.parser(GRAMMAR, folder, **options())
    for deal in sorted((ROOT / "deals").glob("*.waterfall")):
        text = deal.read_text(encoding="utf-8")
        assert shipped.parse(text) == built.parse(text), deal.name
