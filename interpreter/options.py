"""Command-line requests that cannot be met together: input errors (exit 2),
found before anything runs.

Pricing a class two ways, a yield for a floater or a margin for a fixed-rate
class, a grid of default rates without a loss severity, a default rate above
100%, and a prepayment speed whose monthly rate would exceed 1 (which the
projection would otherwise quietly hold at 100%)."""
from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

from dsl import ast as A

from .errors import UsageError

_HAS = {"fixed": "a fixed-rate class", "floater": "a floater", "io": "a notional (IO) class", "po": "a principal-only (PO) class",
        "residual": "a residual class", "none": "a class without cashflows"}


def check_pricing(deal: A.Deal, prices: Dict[str, float], yields: Dict[str, float], dms: Dict[str, float]) -> None:
    """One way to price each class, and the way its kind has: --yield a fixed-rate
    class or a PO (bond-equivalent), --dm a floater, --price any of them and an IO."""
    from .report.analyze import class_kind
    given = [("--price", prices), ("--yield", yields), ("--dm", dms)]
    for i, (a, x) in enumerate(given):
        for b, y in given[i + 1:]:
            both = sorted(set(x) & set(y))
            if both:
                raise UsageError(f"{a} and {b} both price class {both[0]}: give one of them")
    # an IO or a PO is priced by --price (per 100 of its initial notional or balance) and
    # yields on 30/360 time as a fixed-rate class does; a PO may also be quoted by yield
    for option, per, wants in (("--yield", yields, ("fixed", "po")), ("--dm", dms, ("floater",)),
                               ("--price", prices, None)):
        for name in per:
            kind = class_kind(deal, deal.class_named(name))
            if (wants and kind not in wants) or (not wants and kind not in ("fixed", "floater", "io", "po")):
                other = {"fixed": " (use --yield or --price)", "floater": " (use --dm or --price)"}.get(kind, "")
                raise UsageError(f"{option}: class {name} is {_HAS[kind]}: it has no "
                                 f"{'price' if not wants else option[2:]} to solve for{other}")


def check_speeds(deal: A.Deal, assumptions, speeds: List[float], option: str) -> None:
    """Every speed (a multiple of each group's prepayment curve) gives a monthly
    prepayment rate of at most 1: 1500% of a 100% CPR deal is refused, not held at 100%."""
    if not speeds:
        return
    from .collateral.curves import _curve_base, MODE_ABS
    from .assumptions import speed_curve
    from .engine import horizon
    top = max(speeds)
    if not top > 0:
        return
    months = horizon(deal, assumptions) + max((line.age for line in assumptions.lines), default=0) + 1
    for g in deal.groups:
        curve = assumptions.prepayment.get(g.name, assumptions.prepayment.get("all"))
        if curve is None:
            try:
                curve = speed_curve(g.pricing_speed or deal.header.pricing_speed)
            except ValueError:
                continue  # the run says why
        mode, param, base = _curve_base(curve, months)
        peak = param if mode == MODE_ABS else float(np.max(base, initial=0.0))
        if top * peak > 1.0 + 1e-12:
            unit = "a month" if mode != 1 else "a year"
            raise UsageError(f"{option}: {top * 100:g}% of group {g.name}'s prepayment curve is a prepayment rate "
                             f"of {top * peak * 100:,.4g}% {unit}, above 100% (a monthly rate above 1)",)


def check_grid(deal: A.Deal, assumptions, spec: str) -> None:
    """A grid's cdr axis needs a loss severity (a severity axis, or 'severity:' in the
    assumptions); a default rate is at most 100%; its speeds as --speeds'."""
    from .grid import GridError, parse_grid
    try:
        axes = parse_grid(spec)
    except GridError as e:
        raise UsageError(f"--grid: {e}") from None
    cdr = axes.get("cdr")
    if cdr is not None:
        if any(x > 1.0 for x in cdr):
            raise UsageError(f"--grid: cdr: a default rate is at most 100% a year (got {max(cdr) * 100:g}%)")
        if "severity" not in axes and not getattr(assumptions, "severity_stated", True):
            raise UsageError(f"--grid: a cdr axis with no loss severity: defaults would lose nothing. Add a "
                             f"severity axis (severity=35%) or 'severity:' to {assumptions.path}")
    check_speeds(deal, assumptions, axes.get("speed", [1.0]), "--grid: speed")


def check_options(deal: A.Deal, assumptions, speeds: Optional[List[float]], grid: Optional[str],
                  prices: Dict[str, float], yields: Dict[str, float], dms: Dict[str, float]) -> None:
    """Everything above, for one command line."""
    check_pricing(deal, prices, yields, dms)
    if grid:
        check_grid(deal, assumptions, grid)
    else:
        check_speeds(deal, assumptions, list(speeds or assumptions.speeds), "--speeds" if speeds else "speeds")
