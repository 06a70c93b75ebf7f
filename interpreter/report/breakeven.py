"""Breakeven losses: for each class, the highest constant default rate (CDR)
at which it takes no principal write-down, and the highest at which it has no
interest shortfall and no write-down, at each speed and mode.

The search is bracketed on a grid of 0.01 CDR (hundredths of a percent, as
integers): every (class, measure, speed, mode) keeps a bracket ``lo`` (whole
at ``lo``) and ``hi`` (hit at ``hi``), starting from 0 and 100% CDR. Each
iteration places up to ``points`` CDRs inside every open bracket and runs all
of them, for every class, measure, speed and mode, as one vectorised pass
(the run's scenario axis carries a speed and a CDR per scenario; a (speed,
CDR) pair two brackets share runs once); each bracket narrows to the first
hit. It ends when ``hi = lo + 0.01``: the breakeven is ``lo``.

- A write-down is an amount of at least half a cent in the class's
  ``writedown`` record (the grid's ``writedown`` column); an interest
  shortfall is interest owed and not paid at the end of any period
  (``unpaid_interest``) of at least half a cent. The interest breakeven is
  the highest CDR with neither: a class written down stops accruing on what
  was written off, interest it never receives, so its interest breakeven is
  never above its principal breakeven (a class written down in full has no
  balance and so no shortfall: counting only shortfalls, it would read
  '>100'). Money is paid in cents;
  less is floating-point dust (a pool and its classes' principal equal up to
  the last bit of a double leave ~1e-9 dollars "written down").
- A class hit at 0 CDR has no breakeven (null); one whole at 100% CDR has
  none either (null, shown as '>100').
- Where the result is not monotone in CDR, the search finds the first hit
  above the lowest whole rate it saw: the breakeven is then the start of the
  first band of rates that hits the class.
- ``cum_loss_pct``: the collateral's realized losses at the breakeven (to the
  sale of the collateral in a run to an event), percent of the cut-off balance.
"""
from __future__ import annotations

import io
from typing import Dict, List, Optional, Sequence

import attrs
import numpy as np

from ..engine import run
from ..errors import UsageError

GRID = 100  # steps of the search per 1% CDR: 0.01 CDR
TOP = 100 * GRID  # 100% CDR
DUST = 0.005  # dollars: less written down or unpaid is rounding, not a loss
MEASURES = ("writedown", "interest")


@attrs.frozen
class Breakeven:
    cls: str
    to: str
    speed_pct: float
    breakeven_cdr_pct: Optional[float]
    interest_breakeven_cdr_pct: Optional[float]
    cum_loss_pct: Optional[float]
    whole_at_top: tuple = ()  # the measures whole at 100% CDR (their breakeven is null)


def stress_terms(assumptions, severity: Optional[float], lag: Optional[int]):
    """The assumptions with the breakeven's severity and recovery lag (the
    options', else the file's); no severity anywhere is an input error."""
    if severity is None:
        if "severity" not in assumptions.stated:
            raise UsageError(f"--breakeven needs a loss severity: give --severity (e.g. 40%) or set "
                             f"'severity:' in {assumptions.path}")
        severity = assumptions.severity
    if not 0 <= severity <= 1:
        raise UsageError("--severity must be between 0% and 100%")
    if lag is not None:
        if not 0 <= lag <= 120:
            raise UsageError("--lag: a recovery lag of 0 to 120 months")
        assumptions = attrs.evolve(assumptions, recovery_lag=int(lag))
    return assumptions, float(severity)


def breakeven(deal, assumptions, speeds: Sequence[float], modes: Sequence[str], classes: Sequence[str],
              severity: float, points: int = 8, budget: int = 1200, scan: int = 1) -> List[Breakeven]:
    """Rows class by class, then mode, then speed. ``points``: CDRs tried inside
    a bracket per iteration (fewer when more brackets are open than ``budget``
    scenarios allow); ``scan``: the step of the first pass, in CDR."""
    speeds = [float(s) for s in speeds]
    modes = list(modes)
    nS = len(speeds)
    # one bracket per (class, measure, mode, speed)
    keys = [(c, m, mo, j) for c in classes for m in MEASURES for mo in range(len(modes)) for j in range(nS)]
    lo = {k: 0 for k in keys}
    hi = {k: TOP for k in keys}
    seen: Dict[tuple, tuple] = {}  # (mode, speed index, cdr grid) -> (write-downs (C,), shortfall (C,), loss %)
    tried: Dict[tuple, set] = {}  # (mode, speed index) -> the CDRs run
    cutoff = sum(float(line.balance) for line in assumptions.lines)
    class_index = {n: i for i, n in enumerate(c.name for c in deal.classes)}

    def evaluate(pairs):
        pairs = sorted(set(pairs))
        if not pairs:
            return
        sp = np.array([speeds[j] for j, _ in pairs])
        cdr = np.array([g / (100.0 * GRID) for _, g in pairs])
        r = run(deal, assumptions, sp, to=modes, cdr=cdr, severity=np.full(len(pairs), severity), keep="credit")
        wd = r.writedown_total()  # (C, S)
        short = (r.unpaid_interest >= DUST).any(axis=0)  # (C, S)
        loss = sum(f.loss for f in r.collateral.values())  # (S, T)
        sold = r.sold_period if r.sold_period is not None else np.full(len(r.modes), -1)
        T = loss.shape[1]
        through = np.where(sold >= 0, sold + 1, T)
        cum = np.where(np.arange(T)[None, :] < through[:, None], loss, 0.0).sum(axis=1) / cutoff * 100.0
        n = len(pairs)
        for mo in range(len(modes)):
            for p, (j, g) in enumerate(pairs):
                s = mo * n + p
                seen[(mo, j, g)] = (wd[:, s], short[:, s], float(cum[s]))
                tried.setdefault((mo, j), set()).add(g)

    def hit(k, g) -> bool:
        c, m, mo, j = k
        wd, short, _ = seen[(mo, j, g)]
        ci = class_index[c]
        # interest: none short and none written down (interest on principal written down is never paid)
        return bool(wd[ci] >= DUST) or (m == "interest" and bool(short[ci]))

    # A first scan at every whole CDR, shared by all brackets: the first hit is
    # found to 1 CDR however narrow the band of rates that hits a class.
    evaluate([(j, g) for j in range(nS) for g in range(0, TOP + 1, scan * GRID)])
    open_ = []
    hit_at_zero, whole = set(), set()
    for k in keys:
        if hit(k, 0):
            hit_at_zero.add(k)
        elif not any(hit(k, g) for g in tried[(k[2], k[3])]):
            whole.add(k)
        else:
            open_.append(k)
    open_ = _narrow(open_, lo, hi, tried, hit)
    while open_:
        per = max(1, min(points, budget // max(1, len(open_) * len(modes))))
        pairs = []
        for k in open_:
            a, b = lo[k], hi[k]
            inner = {a + (b - a) * i // (per + 1) for i in range(1, per + 1)} - {a, b}
            pairs += [(k[3], g) for g in inner]
        evaluate(pairs)
        open_ = _narrow(open_, lo, hi, tried, hit)
    rows = []
    for c in classes:
        for mo, mode in enumerate(modes):
            for j, s in enumerate(speeds):
                out = {m: None if (c, m, mo, j) in hit_at_zero | whole else lo[(c, m, mo, j)] for m in MEASURES}
                g = out["writedown"]
                loss = seen[(mo, j, g)][2] if g is not None else None
                rows.append(Breakeven(c, mode.lower(), s * 100.0, None if g is None else g / GRID,
                                      None if out["interest"] is None else out["interest"] / GRID, loss,
                                      tuple(m for m in MEASURES if (c, m, mo, j) in whole)))
    return rows


def _narrow(open_, lo, hi, tried, hit) -> list:
    """Each bracket to the first hit among the CDRs run inside it; those still wider than 0.01 CDR."""
    still = []
    for k in open_:
        a, b = lo[k], hi[k]
        for g in sorted(g for g in tried[(k[2], k[3])] if a < g < b):
            if hit(k, g):
                b = g
                break
            a = g
        lo[k], hi[k] = a, b
        if b - a > 1:
            still.append(k)
    return still


def format_breakeven(deal, rows: List[Breakeven], severity: float, lag: int) -> str:
    out = io.StringIO()
    out.write(f"{deal.name}: breakeven constant default rates (CDR %), severity {severity * 100:g}%, "
              f"recovery lag {lag} months\n")
    out.write("principal: the highest CDR with no write-down; interest: with no interest shortfall nor write-down; "
              "cum loss: collateral losses at the principal breakeven, % of the cut-off balance\n"
              "(>100: whole at 100% CDR; NA: hit at 0% CDR)\n\n")
    head = f"{'Class':<8} {'To':<10} {'Speed':>7} {'Principal':>10} {'Interest':>10} {'Cum loss':>9}"
    out.write(head + "\n" + "-" * len(head) + "\n")
    for r in rows:
        out.write(f"{r.cls:<8} {r.to:<10} {r.speed_pct:>6g}% {_cdr(r.breakeven_cdr_pct, 'writedown' in r.whole_at_top):>10} "
                  f"{_cdr(r.interest_breakeven_cdr_pct, 'interest' in r.whole_at_top):>10} "
                  f"{'' if r.cum_loss_pct is None else format(r.cum_loss_pct, '.2f'):>9}\n")
    return out.getvalue()


def _cdr(x, whole: bool) -> str:
    if whole:
        return ">100"
    return "NA" if x is None else format(x, ".2f")


def breakeven_rows(rows: List[Breakeven]) -> List[dict]:
    return [{"class": r.cls, "to": r.to, "speed_pct": r.speed_pct, "breakeven_cdr_pct": r.breakeven_cdr_pct,
             "interest_breakeven_cdr_pct": r.interest_breakeven_cdr_pct, "cum_loss_pct": r.cum_loss_pct}
            for r in rows]
