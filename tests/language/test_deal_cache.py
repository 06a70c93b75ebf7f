"""The deal cache (dsl.dealcache): a second load_deal of an unchanged file
skips the parser, and nothing else changes."""
from __future__ import annotations

import pickle
from pathlib import Path

import attrs
import pytest

import dsl.parse
from dsl import ast as A
from dsl import dealcache
from dsl.check import load_deal
from dsl.diagnostics import DealError

ROOT = Path(__file__).resolve().parents[2]
J4 = ROOT / "deals" / "cwalt-2004-j4.waterfall"
SEQ = (ROOT / "deals" / "sequential-cmo.waterfall").read_text(encoding="utf-8")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("WATERFALL_CACHE", str(folder))
    return folder / "deals"


@pytest.fixture
def parses(monkeypatch):
    """Counts the calls of the parser that load_deal makes."""
    calls = []
    real = dsl.parse.parse

    def counting(text, path="<string>"):
        calls.append(path)
        return real(text, path)
    monkeypatch.setattr(dsl.parse, "parse", counting)
    return calls


def entries(folder: Path):
    return sorted(folder.glob("*.pickle")) if folder.exists() else []


def test_a_hit_returns_an_equal_deal_without_parsing(cache, parses):
    first = load_deal(J4)
    assert parses == [str(J4)] and len(entries(cache)) == 1
    second = load_deal(J4)
    assert parses == [str(J4)], "the second load parsed again"
    assert second == first
    assert second is not first
    # What equality leaves out is kept too: the text, the path, every span.
    assert second.source == first.source and second.path == first.path
    assert repr(second) == repr(first)
    assert [c.span for c in second.classes] == [c.span for c in first.classes]
    assert second.waterfall.clauses[3].steps[0].span == first.waterfall.clauses[3].steps[0].span
    assert second == load_deal(J4, cache=False)


def test_an_edited_file_misses(cache, parses, tmp_path):
    path = tmp_path / "seq.waterfall"
    path.write_text(SEQ, encoding="utf-8")
    before = load_deal(path)
    path.write_text(SEQ.replace("80,000,000", "81,000,000"), encoding="utf-8")
    after = load_deal(path)
    assert len(parses) == 2
    assert before.class_named("A").balance.value == 80_000_000
    assert after.class_named("A").balance.value == 81_000_000
    assert len(entries(cache)) == 2
    path.write_text(SEQ, encoding="utf-8")
    assert load_deal(path) == before and len(parses) == 2, "the first text is still cached"


def test_the_same_text_at_another_path_is_its_own_entry(cache, parses, tmp_path):
    (tmp_path / "a.waterfall").write_text(SEQ, encoding="utf-8")
    (tmp_path / "b.waterfall").write_text(SEQ, encoding="utf-8")
    a = load_deal(tmp_path / "a.waterfall")
    b = load_deal(tmp_path / "b.waterfall")
    assert len(parses) == 2
    assert b.path == str(tmp_path / "b.waterfall")
    assert b.classes[0].span.file == str(tmp_path / "b.waterfall")
    assert a == b  # equal as deals; spans and paths are not compared


def errors_of(path) -> str:
    with pytest.raises(DealError) as e:
        load_deal(path)
    return e.value.render()


@pytest.mark.parametrize("broken", [
    SEQ.replace("pay principal sequentially to A", "pay principal sequentially to A9"),
    SEQ.replace("5.50%\n", "5.50% %\n"),
], ids=["check error", "syntax error"])
def test_a_deal_with_errors_is_not_cached_and_reports_as_before(cache, parses, tmp_path, monkeypatch, broken):
    assert broken != SEQ
    path = tmp_path / "broken.waterfall"
    path.write_text(broken, encoding="utf-8")
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    uncached = errors_of(path)
    monkeypatch.setenv("WATERFALL_CACHE", str(cache.parent))
    assert errors_of(path) == uncached
    assert errors_of(path) == uncached
    assert entries(cache) == []
    assert len(parses) == 3
    assert f"{path}:" in uncached and "^" in uncached


def test_waterfall_cache_off_disables_it(tmp_path, monkeypatch, parses):
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    assert dealcache.entry_path(str(J4), "text") is None
    a = load_deal(J4)
    b = load_deal(J4)
    assert a == b and len(parses) == 2
    assert not list(tmp_path.rglob("*.pickle"))


def test_another_version_of_the_package_does_not_read_the_entry(cache, parses, monkeypatch):
    load_deal(J4)
    monkeypatch.setattr(dealcache, "_fingerprint", b"some other version of dsl/ and grammar/")
    load_deal(J4)
    assert len(parses) == 2 and len(entries(cache)) == 2


def test_the_fingerprint_covers_the_grammar_and_the_parser(tmp_path, monkeypatch):
    import shutil
    here = Path(dealcache.__file__).resolve().parent
    shutil.copytree(here, tmp_path / "dsl")
    shutil.copytree(here.parent / "grammar", tmp_path / "grammar")
    monkeypatch.setattr(dealcache, "_HERE", tmp_path / "dsl")

    def fingerprint():
        monkeypatch.setattr(dealcache, "_fingerprint", None)
        return dealcache.code_fingerprint()
    first = fingerprint()
    assert fingerprint() == first
    for edited in (tmp_path / "grammar" / "waterfall.lark", tmp_path / "dsl" / "parse.py",
                   tmp_path / "dsl" / "checker.py", tmp_path / "dsl" / "ast.py"):
        before = edited.read_bytes()
        edited.write_bytes(before + b"\n")
        assert fingerprint() != first, f"an edit of {edited.name} keeps the fingerprint"
        edited.write_bytes(before)
        assert fingerprint() == first


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # truncated
    lambda data: b"not ours" + data,  # not written by us
    lambda data: dealcache.MAGIC + pickle.dumps("a string, not a deal"),
])
def test_a_damaged_entry_is_parsed_again_and_rewritten(cache, parses, damage):
    good = load_deal(J4)
    (entry,) = entries(cache)
    entry.write_bytes(damage(entry.read_bytes()))
    again = load_deal(J4)
    assert again == good and len(parses) == 2
    assert load_deal(J4) == good and len(parses) == 2, "the entry was not rewritten"


def test_an_unwritable_cache_only_costs_a_parse(tmp_path, monkeypatch, parses):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WATERFALL_CACHE", str(blocker))
    assert load_deal(J4) == load_deal(J4)
    assert len(parses) == 2


def test_the_folder_is_pruned_to_the_recently_used(cache, parses, tmp_path, monkeypatch):
    monkeypatch.setattr(dealcache, "MAX_ENTRIES", 4)
    for i in range(6):
        p = tmp_path / f"d{i}.waterfall"
        p.write_text(SEQ, encoding="utf-8")
        load_deal(p)
    assert 1 <= len(entries(cache)) <= 4
    load_deal(tmp_path / "d5.waterfall")
    assert len(parses) == 6, "the newest entry was pruned"


# ------------------------------------------------------------------ the AST's attrs classes (as the cache keeps them)
def test_records_are_frozen_values():
    s = A.Span("f", 1, 2, 1, 5)
    q = A.Quantity(0.05, "%", "5%", s)
    assert q == A.Quantity(0.05, "%", "5%", A.Span("g", 9, 9))  # spans are not compared
    assert hash(q) == hash(A.Quantity(0.05, "%", "5%"))
    assert q != A.Quantity(0.06, "%", "6%", s)
    assert repr(q) == "Quantity(value=0.05, unit='%', text='5%', span=Span(file='f', line=1, column=2, " \
                      "end_line=1, end_column=5))"
    with pytest.raises(AttributeError):
        q.value = 1.0
    with pytest.raises(AttributeError):
        del q.unit
    assert attrs.evolve(q, value=0.06, text="6%") == A.Quantity(0.06, "%", "6%")
    assert pickle.loads(pickle.dumps(q)) == q and pickle.loads(pickle.dumps(q)).span == s
    assert [f.name for f in attrs.fields(A.Quantity)] == ["value", "unit", "text", "span"]
    assert A.Quantity.__match_args__ == ("value", "unit", "text", "span")


def test_record_constructor_arguments():
    assert A.Span("f", 1, 2) == A.Span(file="f", column=2, line=1) == A.Span("f", 1, column=2, end_line=0)
    assert A.Span("f", 1, 2).end_column == 0
    with pytest.raises(TypeError, match="missing"):
        A.Span("f", 1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        A.Span("f", 1, 2, colum=3)
    with pytest.raises(TypeError, match="multiple values"):
        A.Span("f", 1, 2, line=3)
    with pytest.raises(TypeError, match="positional"):
        A.Span("f", 1, 2, 3, 4, 5)
    d = A.Deal(header=A.Header(name="x"))
    assert d.classes == () and d.path == "<string>" and "source" not in repr(d)
