"""The deal cache keeps parsed, checked deals as JSON read by a closed decoder:
a hit is the same deal (spans too); an entry that is not exactly an AST of that
text is a miss, parsed again; nothing in an entry can run."""
import json
import os
import pickle

import attrs
import pytest

from dsl import ast as A
from dsl import dealcache
from dsl.check import load_deal
from dsl.parse import parse

from ..conftest import DEALS

J4 = DEALS / "cwalt-2004-j4.waterfall"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("WATERFALL_CACHE", str(root))
    return root


def spans(x, out):
    if attrs.has(type(x)):
        for f in attrs.fields(type(x)):
            v = getattr(x, f.name)
            out.append(v) if f.name == "span" else spans(v, out)
    elif isinstance(x, tuple):
        for v in x:
            spans(v, out)
    return out


def test_a_hit_is_the_same_deal_with_the_same_spans(cache):
    first = load_deal(J4)
    entry = dealcache.entry_path(str(J4), J4.read_text())
    assert entry.exists() and oct(entry.stat().st_mode & 0o777) == "0o600"
    assert json.loads(entry.read_text())["format"] == dealcache.FORMAT
    again = load_deal(J4)
    assert again is not first and again == first and again.source == first.source
    assert spans(again, []) == spans(parse(J4.read_text(), str(J4)), []) and len(spans(again, [])) > 500


@pytest.mark.parametrize("planted", [
    b"not json",
    pickle.dumps({"format": dealcache.FORMAT}),
    json.dumps({"format": dealcache.FORMAT, "deal": {"@": "Popen", "args": "touch MARKER"}}).encode(),
    json.dumps({"format": dealcache.FORMAT, "deal": {"@": "Deal", "no_such_field": 1}}).encode(),
    json.dumps({"format": "something else", "deal": None}).encode(),
], ids=["garbage", "pickle", "foreign class", "unknown field", "other format"])
def test_an_entry_that_is_not_an_ast_is_a_miss(cache, tmp_path, planted):
    entry = dealcache.entry_path(str(J4), J4.read_text())
    entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry.write_bytes(planted)
    os.chmod(entry, 0o600)
    assert dealcache.lookup(str(J4), J4.read_text()) is None
    deal = load_deal(J4)  # parsed again, and the entry rewritten
    assert deal == parse(J4.read_text(), str(J4))
    assert dealcache.lookup(str(J4), J4.read_text()) == deal
    assert not (tmp_path / "MARKER").exists()


def test_an_entry_of_another_deal_is_a_miss(cache):
    seq = DEALS / "sequential-cmo.waterfall"
    other = load_deal(seq)
    entry = dealcache.entry_path(str(J4), J4.read_text())
    entry.write_text(json.dumps({"format": dealcache.FORMAT, "deal": dealcache.encode(other, str(seq))}))
    assert dealcache.lookup(str(J4), J4.read_text()) is None
    assert load_deal(J4).header.name != other.header.name


def test_the_decoder_builds_only_ast_records():
    assert set(dealcache._RECORDS.values()) <= {v for v in vars(A).values() if isinstance(v, type)}
    assert all(cls.__module__ == "dsl.ast" for cls in dealcache._RECORDS.values())
    with pytest.raises(dealcache._Miss):
        dealcache.decode({"@": "Path", "x": 1}, "f")
    with pytest.raises(dealcache._Miss):
        dealcache.decode([1, 2], "f")  # JSON lists are not AST values (tuples are tagged)


def test_off_means_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("WATERFALL_CACHE", "off")
    assert dealcache.entry_path(str(J4), J4.read_text()) is None
    assert load_deal(J4).header.name


def test_an_entry_whose_deal_does_not_check_is_a_miss(cache):
    """An entry that decodes to an AST of this text's path and source but does not
    check clean (here: a distribution routing to itself) is parsed again."""
    deal = load_deal(J4)
    dist = deal.distributions[0]
    looped = attrs.evolve(dist, steps=(A.Pay("principal", "sequentially", (A.ClassRef(dist.name),)),))
    bad = attrs.evolve(deal, distributions=(looped,) + deal.distributions[1:])
    entry = dealcache.entry_path(str(J4), J4.read_text())
    entry.write_text(json.dumps({"format": dealcache.FORMAT, "deal": dealcache.encode(bad, str(J4))}))
    assert dealcache.lookup(str(J4), J4.read_text()) == bad  # it decodes ...
    assert load_deal(J4) == deal  # ... but is not used
