"""The pricing options of run-deal read from the command line (issue 17): the settlement
date (`--settle`), the face amount for proceeds (`--face`), and lists of prices, yields
and discount margins per class (`--price CLASS=P1,P2`, `--yield`, `--dm`). Each reader
returns values or raises UsageError with what was expected."""
from __future__ import annotations

import datetime as _dt
import math
from typing import Dict, List, Optional, Tuple

from dsl import ast as A

from ..dates import parse_date
from ..errors import UsageError


def settle_date(text: Optional[str], deal: A.Deal) -> Optional[_dt.date]:
    """`--settle DATE`: another settlement date than the deal's (on or after its closing:
    before closing there is nothing to buy)."""
    if not text:
        return None
    try:
        d = parse_date(text)
    except ValueError:
        raise UsageError(f"--settle: cannot read {text!r} as a date (e.g. 2004-05-28)") from None
    if d < deal.header.closing:
        raise UsageError(f"--settle: {d.isoformat()} is before the deal's closing date "
                         f"{deal.header.closing.isoformat()}")
    return d


def face_amount(text: Optional[str]) -> Optional[float]:
    """`--face AMOUNT`: an original face amount (thousands separators allowed)."""
    if text is None:
        return None
    try:
        v = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise UsageError(f"--face: cannot read {text!r} as an amount (e.g. 1,000,000)") from None
    if not (v > 0 and v < 1e15):
        raise UsageError(f"--face: {text!r} is not a usable face amount (more than 0)")
    return v


# ------------------------------------------------------------------ price / yield / DM lists
# A quote is ("price", clean price), ("yield", bond-equivalent yield as a decimal) or ("dm",
# discount margin as a decimal). `--price 1-A-3=99-16,100-00,100-16` gives a class three; a
# repeated option for the same class adds to its list (never silently keeps the last).

def quote_lists(price_items: List[str], yield_items: List[str], dm_items: List[str],
                class_names) -> Tuple[float, Dict[str, list]]:
    """(the price of every class not quoted otherwise, class -> its quotes in the order given)."""
    from ..analytics.measures import parse_price
    default = 100.0
    quotes: Dict[str, list] = {}
    for option, items, kind in (("--price", price_items, "price"), ("--yield", yield_items, "yield"),
                                ("--dm", dm_items, "dm")):
        for item in items:
            name, eq, values = item.partition("=")
            if not eq:
                if kind != "price":
                    raise UsageError(f"{option}: expected CLASS=VALUE[,VALUE...], got {item!r}")
                if "," in item:
                    raise UsageError(f"--price: a list of prices is for one class: CLASS=P1,P2 (got {item!r})")
                default = _one(parse_price, item, option)
                continue
            name = name.strip()
            if name not in class_names:
                from dsl.diagnostics import did_you_mean
                raise UsageError(f"{option}: unknown class '{name}'. {did_you_mean(name, class_names)}".strip())
            for text in values.split(","):
                if kind == "price":
                    v = _one(parse_price, text, option)
                else:
                    unit = 100.0 if kind == "yield" else 10000.0
                    v = _one(lambda t: float(t.strip().rstrip("%").removesuffix("bp")), text, option) / unit
                quotes.setdefault(name, []).append((kind, v))
    return default, quotes


def _one(read, text: str, option: str) -> float:
    try:
        v = read(text.strip())
    except (ValueError, TypeError):
        raise UsageError(f"{option}: cannot read {text.strip()!r} (e.g. 100, 99.5, 99-16+; a yield 3.05; a DM 30)") \
            from None
    if not math.isfinite(v):
        raise UsageError(f"{option}: {text.strip()!r} is not a usable number")
    return v


def single_quotes(quotes: Dict[str, list]) -> Tuple[dict, dict, dict]:
    """(prices, yields, dms) of the classes quoted once: what one pass of analyze takes."""
    out = ({}, {}, {})
    for name, qs in quotes.items():
        if len(qs) == 1:
            kind, v = qs[0]
            out[("price", "yield", "dm").index(kind)][name] = v
    return out


def quoted_rows(result, default_price: float, quotes: Dict[str, list], classes, settle, face, analyze) -> list:
    """Every row: one per class x quote x mode x speed (class by class, in the deal's order),
    each with 'quote' (its place in the class's list). Classes quoted once (or not at all)
    come from one pass of ``analyze``, exactly as without lists; each further quote of a
    class is one more pass over that class only (the run is shared)."""
    prices, yields, dms = single_quotes(quotes)
    base = analyze(result, prices, default_price, classes, yields, dms, settle=settle, face=face)
    listed = {n for n, qs in quotes.items() if len(qs) > 1}
    if not listed:
        return list(base)
    by_class: Dict[str, list] = {}
    for r in base:
        if r["class"] not in listed:
            by_class.setdefault(r["class"], []).append(dict(r, quote=0))
    for name in listed:
        if classes and name not in classes:
            continue
        for j, (kind, v) in enumerate(quotes[name]):
            one = {"price": ({name: v}, {}, {}), "yield": ({}, {name: v}, {}), "dm": ({}, {}, {name: v})}[kind]
            rows = analyze(result, one[0], default_price, [name], one[1], one[2], settle=settle, face=face)
            by_class.setdefault(name, []).extend(dict(r, quote=j) for r in rows)
    return [r for n in result.class_names for r in by_class.get(n, [])]
