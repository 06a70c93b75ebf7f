"""Sizing classes to targets: ``run-deal DEAL --size "1-A-1 wal=0.90, 1-A-2
wal=2.00" --remainder 1-A-5`` solves the balances of the named classes, in
order, so that each has its target WAL at one speed and mode; the remainder
class takes what is left of their combined original balance. ``"1-A-3
price=100 yield=3.80%"`` (or with ``--yield 1-A-3=3.80%``) solves the fixed
coupon at which the class prices at 100 at that yield.

Each solve is a bracketed search on a grid (balances in steps of ``--round``
dollars, coupons in steps of 0.001%) in which an iteration runs every
candidate as one scenario of one vectorised pass: balances enter as the run's
starting state and coupons as its constants, so nothing is recompiled. The
search ends with two neighbouring grid points on either side of the target;
the one whose figure is nearer the target is the answer. While a class is
solved, the classes after it keep their balances and the remainder absorbs
the difference (it cannot go below zero).
"""
from __future__ import annotations

import io
import os
import re
import tempfile
from typing import Dict, List, Optional, Tuple

import attrs
import numpy as np

from dsl import ast as A
from dsl.diagnostics import did_you_mean

from ..analytics.measures import wal
from ..dates import years_30_360
from ..engine import lower_program, run
from ..errors import UsageError
from ..waterfall import program as P
from .analyze import analyze, class_kind, payment_dates
from .whatif import check_class_field, read_value, with_class_number

COUPON_STEP = 1e-5  # 0.001%: coupons are stated to three decimals of a percent
COUPON_TOP = 0.25
POINTS = 32  # candidates per iteration


@attrs.frozen
class Target:
    cls: str
    measure: str  # 'wal' or 'price'
    value: float
    yield_: Optional[float] = None  # price targets: the bond-equivalent yield to price at


@attrs.frozen
class Solved:
    cls: str
    measure: str
    target: float
    balance: float
    coupon: Optional[float]
    achieved: float  # the WAL or price at the solved terms


def parse_targets(spec: str, deal: A.Deal, yields: Dict[str, float]) -> List[Target]:
    """'1-A-1 wal=0.90, 1-A-3 price=100 yield=3.8%' -> Targets, checked against the deal."""
    out = []
    names = [c.name for c in deal.classes]
    for part in [p.strip() for p in spec.split(",")]:
        if not part:
            continue
        words = part.split()
        name, pairs = words[0], words[1:]
        if deal.class_named(name) is None:
            raise UsageError(f"--size: unknown class '{name}'. {did_you_mean(name, names)}".strip())
        c = deal.class_named(name)
        if class_kind(deal, c) not in ("fixed", "floater"):
            raise UsageError(f"--size: class {name} has no principal balance to size")
        kv = {}
        for w in pairs:
            k, eq, v = w.partition("=")
            if not eq or k not in ("wal", "price", "yield"):
                raise UsageError(f"--size: {name}: expected wal=YEARS, or price=PRICE [yield=Y%], got {w!r}. "
                                 f"{did_you_mean(k, ['wal', 'price', 'yield'])}".strip())
            kv[k] = v
        if ("wal" in kv) == ("price" in kv):
            raise UsageError(f"--size: {name}: give one target, wal=YEARS or price=PRICE")
        if "wal" in kv:
            years, _ = read_value(kv["wal"], "", f"--size {name} wal")
            if not years > 0:
                raise UsageError(f"--size: {name}: a WAL target must be above 0 years")
            out.append(Target(name, "wal", years))
            continue
        check_class_field(deal, name, "coupon", "--size")
        if class_kind(deal, c) != "fixed":
            raise UsageError(f"--size: {name}: a price target solves a fixed-rate class's coupon")
        from ..analytics.measures import parse_price
        try:
            price = parse_price(kv["price"])
        except (ValueError, TypeError):
            raise UsageError(f"--size: {name}: cannot read price {kv['price']!r} (e.g. 100, 99-16+)") from None
        if "yield" in kv:
            y, _ = read_value(kv["yield"], "%", f"--size {name} yield")
        elif name in yields:
            y = yields[name]
        else:
            raise UsageError(f"--size: {name} price={kv['price']}: give the yield to price at "
                             f"({name} price={kv['price']} yield=3.80%, or --yield {name}=3.80%)")
        out.append(Target(name, "price", price, y))
    if not out:
        raise UsageError("--size: no targets (e.g. \"1-A-1 wal=0.90, 1-A-2 wal=2.00\")")
    seen = set()
    for t in out:
        if (t.cls, t.measure) in seen:
            raise UsageError(f"--size: {t.cls} has two {t.measure} targets")
        seen.add((t.cls, t.measure))
    return out


def solve(deal: A.Deal, assumptions, targets: List[Target], remainder: Optional[str], speed: float,
          mode: str, rounding: float = 1.0) -> Tuple[A.Deal, List[Solved]]:
    """The resized deal and what was solved, target by target in order."""
    if any(t.measure == "wal" for t in targets):
        if remainder is None:
            raise UsageError("--size: WAL targets need --remainder CLASS (the class that takes what is left)")
        check_class_field(deal, remainder, "balance", "--remainder")
        if class_kind(deal, deal.class_named(remainder)) not in ("fixed", "floater"):
            raise UsageError(f"--remainder: class {remainder} has no principal balance")
        if any(t.cls == remainder for t in targets if t.measure == "wal"):
            raise UsageError(f"--size: {remainder} is the remainder; it cannot have a WAL target too")
    if not rounding > 0:
        raise UsageError("--round: a positive number of dollars")
    out = []
    for t in targets:
        if t.measure == "wal":
            deal, s = _solve_wal(deal, assumptions, t, remainder, speed, mode, rounding)
        else:
            deal, s = _solve_coupon(deal, assumptions, t, speed, mode)
        out.append(s)
    return deal, out


def _balance(deal: A.Deal, name: str) -> float:
    return float(deal.class_named(name).balance.value)


def _years(deal: A.Deal, c: A.ClassDecl, dates) -> np.ndarray:
    settle = deal.header.settlement or deal.header.closing
    return np.array(years_30_360(settle, payment_dates(deal, c, dates)))


def _solve_wal(deal, assumptions, t: Target, remainder: str, speed: float, mode: str, step: float):
    b0, r0 = _balance(deal, t.cls), _balance(deal, remainder)
    n_top = int(np.floor((b0 + r0) / step + 1e-9))  # the remainder cannot go below zero
    c = deal.class_named(t.cls)

    def wals(ns: np.ndarray) -> np.ndarray:
        b = ns * step
        res = run(deal, assumptions, np.full(len(ns), speed), to=[mode], keep="lean",
                  start={"balance": {t.cls: b, remainder: b0 + r0 - b}})
        ci = res.cls(t.cls)
        return wal(res.principal[:, ci, :].T, _years(deal, c, res.dates))

    n, achieved = _search(wals, 1, n_top, t.value, f"{t.cls} wal={t.value:g}", "WAL", ".2f")
    balance = n * step
    deal = with_class_number(deal, t.cls, "balance", balance, _amount_text(balance))
    deal = with_class_number(deal, remainder, "balance", b0 + r0 - balance, _amount_text(b0 + r0 - balance))
    return deal, Solved(t.cls, "wal", t.value, balance, _fixed_coupon(deal, t.cls), float(achieved))


def _solve_coupon(deal, assumptions, t: Target, speed: float, mode: str):
    program = lower_program(deal, assumptions, _horizon(deal, assumptions))
    ci = [c.name for c in program.classes].index(t.cls)
    acc = next(a for a in program.accruals if a.c == ci)
    if not isinstance(acc.coupon, P.Const):
        raise UsageError(f"--size: the coupon of {t.cls} is not a fixed number")
    slot = acc.coupon.slot

    def prices(ns: np.ndarray) -> np.ndarray:
        coupons = ns * COUPON_STEP
        res = run(deal, assumptions, np.full(len(ns), speed), to=[mode], constants={slot: coupons})
        rows = analyze(res, classes=[t.cls], yields={t.cls: t.yield_})
        return np.array([np.nan if r["price"] is None else r["price"] for r in rows])

    n, achieved = _search(prices, 0, int(round(COUPON_TOP / COUPON_STEP)), t.value,
                          f"{t.cls} price={t.value:g}", "price", ".4f")
    coupon = n * COUPON_STEP
    deal = with_class_number(deal, t.cls, "coupon", coupon, _rate_text(coupon))
    return deal, Solved(t.cls, "price", t.value, _balance(deal, t.cls), coupon, float(achieved))


def _horizon(deal, assumptions) -> int:
    from ..engine import horizon
    return horizon(deal, assumptions)


def _search(f, lo: int, hi: int, target: float, what: str, measure: str, spec: str) -> Tuple[int, float]:
    """The grid point in [lo, hi] whose figure ``f`` (vectorised, increasing or
    decreasing) is nearest ``target``, by bracketing the first crossing."""
    grid = np.unique(np.linspace(lo, hi, POINTS + 2).round().astype(np.int64))
    vals = f(grid)
    known = dict(zip(grid.tolist(), vals.tolist()))
    above = _crossing(grid, vals, target)
    if above is None:
        ok = vals[np.isfinite(vals)]
        span = f"{ok.min():{spec}} to {ok.max():{spec}}" if len(ok) else "none"
        raise UsageError(f"--size: {what}: no size in reach gives it (the {measure} ranges {span} here)")
    a, b = above
    while b - a > 1:
        inner = np.unique(np.linspace(a, b, POINTS + 2).round().astype(np.int64)[1:-1])
        inner = inner[(inner > a) & (inner < b)]
        vals = f(inner)
        known.update(zip(inner.tolist(), vals.tolist()))
        pts = np.array([a] + inner.tolist() + [b])
        a, b = _crossing(pts, np.array([known[p] for p in pts.tolist()]), target)
    best = min((a, b), key=lambda n: abs(known[n] - target) if np.isfinite(known[n]) else np.inf)
    return best, known[best]


def _crossing(points: np.ndarray, vals: np.ndarray, target: float) -> Optional[Tuple[int, int]]:
    """The first neighbouring pair whose figures straddle the target (or hit it)."""
    d = vals - target
    for i in range(len(points) - 1):
        x, y = d[i], d[i + 1]
        if np.isfinite(x) and np.isfinite(y) and (x == 0 or x * y <= 0):
            return int(points[i]), int(points[i + 1])
    return None


def _fixed_coupon(deal: A.Deal, name: str) -> Optional[float]:
    c = deal.class_named(name).coupon
    return float(c.value) if isinstance(c, A.Quantity) else None


def _amount_text(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _rate_text(x: float) -> str:
    return f"{x * 100:.3f}%"


def format_solved(deal: A.Deal, original: A.Deal, solved: List[Solved], remainder: Optional[str],
                  speed: float, mode: str) -> str:
    out = io.StringIO()
    to = "maturity" if mode == "maturity" else mode
    out.write(f"{deal.name}: sized at {speed * 100:g}% of the pricing speed, to {to}\n\n")
    head = f"{'Class':<8} {'Target':>14} {'Balance':>16} {'Was':>16} {'Coupon':>9} {'Achieved':>10}"
    out.write(head + "\n" + "-" * len(head) + "\n")
    for s in solved:
        target = f"{s.measure}={s.target:.2f}"
        coupon = "" if s.coupon is None else f"{s.coupon * 100:.3f}%"
        ach = f"{s.achieved:.2f}" if s.measure == "wal" else f"{s.achieved:.4f}"
        out.write(f"{s.cls:<8} {target:>14} {s.balance:>16,.0f} {_balance(original, s.cls):>16,.0f} "
                  f"{coupon:>9} {ach:>10}\n")
    if remainder is not None:
        out.write(f"{remainder:<8} {'remainder':>14} {_balance(deal, remainder):>16,.0f} "
                  f"{_balance(original, remainder):>16,.0f}\n")
    return out.getvalue()


# ------------------------------------------------------------------ the resized deal file
def resized_text(original: A.Deal, deal: A.Deal) -> str:
    """The original file's text with only the changed balances and coupons
    rewritten in place (comments and layout kept); put back in the canonical
    layout only if the original was in it (so trailing comments stay aligned)."""
    text = original.source
    edits = []
    for old, new in zip(original.classes, deal.classes):
        for field in ("balance", "coupon"):
            a, b = getattr(old, field), getattr(new, field)
            if isinstance(a, A.Quantity) and isinstance(b, A.Quantity) and a.value != b.value:
                edits.append((a.span, b.text if field == "coupon" else _like(a.text, b.value)))
    starts = _line_starts(text)
    for span, new in sorted(edits, key=lambda e: (e[0].line, e[0].column), reverse=True):
        i = starts[span.line - 1] + span.column - 1
        j = starts[span.end_line - 1] + span.end_column - 1
        text = text[:i] + new + text[j:]
    from dsl.format import FormatError, format_text
    try:
        if format_text(original.source, original.path) == original.source:
            text = format_text(text, original.path)
    except FormatError:
        pass
    return text


def _like(old_text: str, value: float) -> str:
    """An amount written as the original was: with thousands separators or without."""
    s = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return s if "," in old_text else s.replace(",", "")


def _line_starts(text: str) -> List[int]:
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    return starts


def write_text_atomically(path: str, text: str) -> None:
    """``text`` to ``path`` whole or not at all: written beside it, then swapped in."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".run-deal-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file (mkstemp makes it 0600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
