"""One vocabulary: the language's closed sets of words are the enums of
``dsl.vocabulary``. A parsed deal holds their members (not strings), and so
does a deal read back from the deal cache or parsed from its unparsed text;
the grammar's words are the enums' values; the period program reuses them."""
import json
import re
from pathlib import Path

import attrs
import pytest

from dsl import ast as A
from dsl import dealcache
from dsl import vocabulary as V
from dsl.check import load_deal
from dsl.parse import parse
from dsl.unparse import unparse
from interpreter.waterfall import program as P

ROOT = Path(__file__).resolve().parents[2]
DEALS = sorted((ROOT / "deals").glob("*.waterfall"))
ENUM_CLASSES = set(V.ENUMS.values())


def enum_fields(cls):
    return [f for f in attrs.fields(cls) if f.converter in ENUM_CLASSES]


def words(x, out):
    """(record class name, field, value) of every vocabulary field in an AST."""
    if attrs.has(type(x)):
        for f in attrs.fields(type(x)):
            v = getattr(x, f.name)
            if f.converter in ENUM_CLASSES:
                out.append((type(x).__name__, f.name, v, f.converter))
            else:
                words(v, out)
    elif isinstance(x, tuple):
        for v in x:
            words(v, out)
    return out


def test_the_ast_fields_of_closed_sets_are_enums():
    found = {(cls.__name__, f.name): f.converter for cls in dealcache._RECORDS.values() for f in enum_fields(cls)}
    assert found == {
        ("Pay", "what"): V.PayWhat, ("Pay", "mode"): V.Mode, ("LossStep", "mode"): V.Mode,
        ("Fund", "kind"): V.FundKind, ("ClassDecl", "day_count"): V.DayCount,
        ("Header", "business_rule"): V.BusinessRule, ("Speed", "kind"): V.SpeedKind,
        ("Speed", "basis"): V.RampBasis, ("TableDecl", "key"): V.TableKey,
    }


@pytest.mark.parametrize("path", DEALS, ids=[p.stem for p in DEALS])
def test_bundled_deals_hold_enum_members(path, tmp_path, monkeypatch):
    deal = parse(path.read_text(), str(path))
    found = words(deal, [])
    assert {(r, f) for r, f, _, _ in found} >= {("Pay", "what"), ("Pay", "mode"), ("Fund", "kind"),
                                               ("ClassDecl", "day_count"), ("Header", "business_rule")}
    for record, field, value, cls in found:
        assert type(value) is cls, (record, field, value)
    # unparsed and parsed again: the same words, the same members
    again = parse(unparse(deal), "unparsed.waterfall")
    assert again == deal
    assert [(r, f, v, type(v)) for r, f, v, _ in words(again, [])] == [(r, f, v, type(v)) for r, f, v, _ in found]
    # read back from the deal cache: the same members
    monkeypatch.setenv("WATERFALL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir(mode=0o700)
    first = load_deal(path)
    cached = dealcache.lookup(str(path), path.read_text())
    assert cached is not None and cached is not first and cached == first == deal
    assert [(r, f, v, type(v)) for r, f, v, _ in words(cached, [])] == [(r, f, v, type(v)) for r, f, v, _ in found]


def test_a_word_is_its_string():
    assert V.Mode.PRO_RATA == "pro rata" and str(V.Mode.PRO_RATA) == "pro rata" and f"{V.Mode.PRO_RATA}" == "pro rata"
    assert json.dumps([V.DayCount.ACTUAL_360]) == '["actual/360"]'
    assert {"principal": 1}[V.PayWhat.PRINCIPAL] == 1
    assert A.Pay("interest", "pro rata", ()).what is V.PayWhat.INTEREST  # a word converts to its member
    with pytest.raises(ValueError):
        A.Fund("savings", None)


def test_interest_keeps_the_word_the_deal_chose_and_pays_the_same():
    text = "pay interest sequentially to A", "pay current and unpaid interest sequentially to A"
    assert V.PayWhat.INTEREST != V.PayWhat.CURRENT_AND_UNPAID_INTEREST
    assert V.PayWhat.INTEREST.kind is V.PayWhat.CURRENT_AND_UNPAID_INTEREST.kind is P.PayKind.INTEREST
    assert V.PayWhat.REMAINING.kind is None
    assert {w.kind for w in V.PayWhat} - {None} == set(P.PayKind)
    assert [w for w in V.PayWhat if w.is_interest] == [V.PayWhat.CURRENT_AND_UNPAID_INTEREST, V.PayWhat.INTEREST,
                                                       V.PayWhat.CURRENT_INTEREST, V.PayWhat.UNPAID_INTEREST]
    for line in text:
        pay = A.Pay(line.split(" sequentially")[0][4:], "sequentially", (A.ClassRef("A"),))
        assert unparse_pay(pay) == line


def unparse_pay(pay):
    from dsl.unparse import _steps
    return _steps((pay,), 0)[0]


def test_the_program_reuses_the_vocabulary():
    assert P.PayKind is V.PayKind and P.Mode is V.Mode and P.DayCount is V.DayCount


def _terminal(name):
    grammar = (ROOT / "grammar" / "waterfall.lark").read_text()
    m = re.search(rf"^{name}(?:\.\d+)?:((?:.*\n)(?:\s+\|.*\n)*)", grammar, re.M)
    return set(re.findall(r'"([^"]*)"', m.group(1)))


def test_the_grammar_words_are_the_vocabulary():
    assert _terminal("PAYABLE") | {"remaining"} == {w.value for w in V.PayWhat}
    assert _terminal("SEQUENTIALLY") | _terminal("PRO_RATA") | _terminal("PRO_RATA_TWO") == {m.value for m in V.Mode}
    assert _terminal("FUND_KIND") | {"excess", "account", "contract"} == {k.value for k in V.FundKind}
    assert _terminal("DAY_COUNT") == {d.value for d in V.DayCount}
    assert _terminal("BUSINESS_RULE") == {r.value for r in V.BusinessRule} | {"next business day"}
    assert _terminal("SPEED_UNIT") | {"RAMP"} == {k.value for k in V.SpeedKind}
    assert _terminal("TABLE_KEY") == {k.value for k in V.TableKey}
    assert _terminal("RAMP_BASIS") == {b.words for b in V.RampBasis}


@pytest.mark.parametrize("data", [
    {"@e": "Mode", "v": "principal"},  # a word of another enum
    {"@e": "ClassField", "v": "balance"},  # an enum not of the vocabulary
    {"@e": "Path", "v": "/"},
    {"@e": "PayWhat", "v": "principal", "x": 1},
    {"@e": "PayWhat", "v": 1},
    {"@e": ["PayWhat"], "v": "principal"},
    {"@": "Fund", "kind": "savings", "group": None},  # a record holding a word not of its enum
])
def test_the_decoder_builds_only_vocabulary_members(data):
    with pytest.raises(dealcache._Miss):
        dealcache.decode(data, "f")


def test_the_cache_keeps_members_by_class_and_value():
    fund = A.Fund(V.FundKind.ACCOUNT, "reserve")
    data = dealcache.encode(fund, "f")
    assert data["kind"] == {"@e": "FundKind", "v": "account"}
    back = dealcache.decode(json.loads(json.dumps(data)), "f")
    assert back == fund and type(back.kind) is V.FundKind
    assert dealcache.decode({"@e": "PayWhat", "v": "interest"}, "f") is V.PayWhat.INTEREST


def test_every_business_rule_rolls_the_distribution_dates():
    """'no adjustment' keeps the stated day (J4's July 25, 2004 is a Sunday)."""
    import datetime as dt

    from interpreter.engine import distribution_schedule

    deal = parse((ROOT / "deals" / "cwalt-2004-j4.waterfall").read_text(), "j4.waterfall")
    july = {rule: distribution_schedule(attrs.evolve(deal, header=attrs.evolve(deal.header, business_rule=rule)), 3)[2]
            for rule in V.BusinessRule}
    assert july == {V.BusinessRule.FOLLOWING: dt.date(2004, 7, 26), V.BusinessRule.MODIFIED_FOLLOWING: dt.date(2004, 7, 26),
                    V.BusinessRule.PRECEDING: dt.date(2004, 7, 23), V.BusinessRule.NO_ADJUSTMENT: dt.date(2004, 7, 25)}
