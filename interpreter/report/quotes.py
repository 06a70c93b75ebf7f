"""The pricing options of run-deal read from the command line (issue 17): the settlement
date (`--settle`), the face amount for proceeds (`--face`), and lists of prices, yields
and discount margins per class (`--price CLASS=P1,P2`, `--yield`, `--dm`). Each reader
returns values or raises UsageError with what was expected."""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

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


# ------------------------------------------------------------------ speeds in any unit
_UNITS = ("PSA", "CPR", "SMM", "ABS", "PPC")


class SpeedColumn(NamedTuple):
    """One column of the tables: as written; the multiple of the pricing speed it is (None
    when it is not one: '25 CPR' for a deal priced on a PPC ramp); and for such a speed the
    curve every group runs at instead."""
    written: str
    multiple: Optional[float]
    curve: Optional[object] = None


def speed_columns(text: Optional[str], deal: A.Deal, assumptions, max_speeds: int) -> Optional[List[SpeedColumn]]:
    """`--speeds "100 PSA,300 PSA,25 CPR"` beside plain percents of the pricing speed ("0,50,100%")."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > max_speeds:
        raise UsageError(f"--speeds: {len(parts):,} speeds, more than the {max_speeds} of one run (use --grid)")
    out = []
    for part in parts:
        m = re.fullmatch(r"([0-9.eE+-]+)\s*(%?)\s*([A-Za-z]*)", part)
        unit = (m.group(3) if m else "").upper()
        try:
            v = float(m.group(1)) if m else float("nan")
        except ValueError:
            v = float("nan")
        if not m or (unit and unit not in _UNITS) or not math.isfinite(v):
            raise UsageError(f"--speeds: cannot read {part!r} (a percent of the pricing speed, e.g. 150, or a "
                             f"speed in a unit: 100 PSA, 25 CPR, 1.5 ABS, 0.5 SMM)")
        if v < 0 or v > 100_000:
            raise UsageError(f"--speeds: {part!r}: a speed cannot be negative" if v < 0 else f"--speeds: {part!r} is not a usable speed")
        if not unit or unit == "PPC":  # a percent of the pricing speed (PPC: the deal's own ramp)
            out.append(SpeedColumn(part if unit else f"{v:g}%", v / 100.0))
            continue
        from ..collateral import Curve
        rate = v / 100.0
        curve = Curve(unit, rate=rate)
        out.append(SpeedColumn(f"{v:g} {unit}" if unit in ("PSA",) else f"{v:g}% {unit}",
                               _multiple_of_pricing(deal, assumptions, unit, rate), curve))
    return out


def _multiple_of_pricing(deal: A.Deal, assumptions, unit: str, rate: float) -> Optional[float]:
    """The multiple of every group's pricing speed a speed in `unit` is, or None if it is not one."""
    if assumptions.prepayment:
        return None  # the assumptions replace the pricing speed: compare with it no further
    speeds = {(g.pricing_speed or deal.header.pricing_speed) for g in deal.groups}
    ratios = set()
    for sp in speeds:
        if sp is None or sp.kind.value != unit or sp.value <= 0:
            return None
        ratios.add(rate / sp.value)
    return ratios.pop() if len(ratios) == 1 else None


def _curve_text(c) -> str:
    """An assumptions file's prepayment curve (collateral.Curve), as 100% of it reads."""
    basis = "loan age" if c.basis == "age" else "deal month"
    if c.vector:
        return f"100% = a {c.kind} vector by deal period"
    if c.kind == "PPC":
        return (f"100% PPC = {c.ramp_start * 100:g}% to {c.ramp_end * 100:g}% CPR over {c.ramp_months} months "
                f"by {basis}")
    if c.kind == "PSA":
        return f"100% = {c.rate * 100:g}% PSA"
    return f"100% = {c.rate * 100:g}% {c.kind}"


def pricing_speed_text(deal: A.Deal, prepayment: Optional[Dict[str, object]] = None) -> str:
    """The pricing speed a table's percents are of: "100% PPC = ramp 8% CPR to 24% CPR over 12
    months (group 1); 100% = 25% CPR (group 2)". ``prepayment``: the assumptions' curves by
    group (or 'all'), which replace the deal's pricing speed: the text says so."""
    def one(sp) -> str:
        if sp is None:
            return "none stated"
        if sp.kind is A.SpeedKind.RAMP:
            return (f"100% PPC = {sp.ramp_start * 100:g}% to {sp.ramp_end * 100:g}% CPR over "
                    f"{sp.ramp_months} months by {'loan age' if sp.basis.value == 'age' else 'deal month'}")
        if sp.kind is A.SpeedKind.PSA:
            return f"100% = {sp.value * 100:g}% PSA"
        return f"100% = {sp.value * 100:g}% {sp.kind.value}"
    texts = {}
    prepayment = prepayment or {}
    for g in deal.groups:
        curve = prepayment.get(g.name, prepayment.get("all"))
        text = (f"{_curve_text(curve)} (the assumptions' prepayment, not the deal's pricing speed)"
                if curve is not None else one(g.pricing_speed or deal.header.pricing_speed))
        texts.setdefault(text, []).append(g.name)
    if len(texts) == 1:
        return next(iter(texts))
    return "; ".join(f"{t} (group {', '.join(gs)})" for t, gs in texts.items())


def label_and_order(rows: list, columns: Optional[List[SpeedColumn]], extra: Dict[str, list], class_names,
                    modes) -> list:
    """Each row with its 'speed' as written (plain percents as '165%'); with speeds that are
    not multiples of the pricing speed (``extra``: written -> their rows, speed_pct None),
    every row put in the order class, quote, mode, speed as written."""
    label = {}
    for col in columns or ():
        if col.multiple is not None and col.written not in extra:
            label.setdefault(round(col.multiple * 100, 9), col.written)
    for r in rows:
        r["speed"] = label.get(round(r["speed_pct"], 9), f"{r['speed_pct']:g}%")
    if not extra:
        return rows
    out = list(rows)
    for written, more in extra.items():
        for r in more:
            r["speed"], r["speed_pct"] = written, None
        out += more
    order = {c.written: k for k, c in enumerate(columns)}
    cls = {n: k for k, n in enumerate(class_names)}
    mode = {m.lower(): k for k, m in enumerate(modes)}
    return sorted(out, key=lambda r: (cls.get(r.get("class"), -1), r.get("quote", 0), mode.get(r["to"], 0),
                                      order.get(r["speed"], -1)))
