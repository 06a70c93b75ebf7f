"""The collateral of a deal state (``collateral:`` of the state file): each
group's current lines after the distribution, in a remittance report's words,
or a current loan tape; and what the projection carries beside the lines.

    collateral:
      "1":
        balance: 201337005.83        # the pool balance: its lines' balances added up
        cumulative loss: 0.0         # realized losses since closing
        pending recoveries: 0.0      # defaulted balance whose recovery has not arrived
        recoveries to come: {25: 1234.5}   # recoveries of earlier defaults, by the distribution they arrive on
        delinquency history:         # what the triggers average, by distribution: the 60+ delinquent
          24: {60+ delinquent: 1.5%, begin balance: 201500000.0}   # fraction and the balance weighing it
        lines:
          - {balance: 201337005.83, gross rate: 6.25%, fee rate: 0.259%, remaining term: 329, age: 30,
             amortization factor: 3.5519...}
      "2": {tape: current-loans.csv, cumulative loss: 0.0}  # a current loan tape instead

A line's keys: ``balance``, ``gross rate`` (its current rate), ``fee rate``,
``remaining term``, ``age``, and when they apply ``amortization term`` (the
amortisation months left, when longer than the remaining term: a balloon),
``io months left``, ``penalty: {rate, months left}``, ``count``, ``arm: {index,
margin, next reset (the age at which the rate next changes), reset every, next
cap (the cap of that reset; default the periodic cap), periodic cap, max rate,
floor, rounding}``, and ``amortization factor``: (1 + r)^n - 1 of the level
payment, the projection's own figure, which ``--save-state`` writes so that a
continued run repeats the uninterrupted run's arithmetic; without it, it is
derived from the rate and the amortisation months left.

A group's ``tape:`` is a loan tape as the assumptions read it
(``collateral/tape.py``, a path relative to the state file), its balances,
rates, remaining terms and ages current ones; its lines' groups must be the
group's. An ARM line of a tape states its terms from origination (first reset,
initial cap) and its lifetime cap over the tape's rate, as a tape at closing.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from dsl.diagnostics import Diagnostic, did_you_mean

from .collateral import ArmTerms, Line, TapeError, load_tape
from .collateral.current import CurrentPool, current_lines

GROUP_KEYS = ("balance", "cumulative loss", "pending recoveries", "recoveries to come", "delinquency history",
              "lines", "tape")
LINE_KEYS = ("balance", "gross rate", "fee rate", "remaining term", "age", "amortization term", "io months left",
             "penalty", "count", "arm", "amortization factor")
ARM_KEYS = ("index", "margin", "next reset", "reset every", "next cap", "periodic cap", "max rate", "floor",
            "rounding")
HISTORY_KEYS = ("60+ delinquent", "begin balance")


# ------------------------------------------------------------------ from a run
def _lookback(program, n: int) -> int:
    """How many periods back the program's delinquency averages read (at most n)."""
    from .waterfall import program as P
    consts = program.constants()
    need, seen, todo = 0, set(), [program]
    while todo:
        x = todo.pop()
        if isinstance(x, P.AverageDelinquency):
            if isinstance(x.n, P.Const):
                need = max(need, int(consts[x.n.slot]))
            else:
                return n  # a count that varies: the whole history
        if isinstance(x, tuple) and id(x) not in seen:
            seen.add(id(x))
            todo.extend(v for v in x if isinstance(v, tuple))
    return min(max(need - 1, 0), n)


def collateral_after(result, n: int) -> tuple[CurrentPool, dict]:
    """The collateral after distribution ``n`` of a one-scenario run made with
    ``keep_lines_after`` holding ``n``: the projection's own lines, the running sum
    of defaulted balance not yet recovered, the recoveries still to come, the
    delinquency history; and each group's cumulative loss."""
    kept = (result.line_states or {}).get(n)
    if kept is None:
        raise ValueError(f"the run kept no collateral lines after distribution {n} (run(keep_lines_after=...))")
    h = _lookback(result.program, n) if result.program is not None else n
    pending, arriving, history, cum = {}, {}, {}, {}
    for g, f in result.collateral.items():
        pending[g] = float(np.cumsum(f.default[0] - f.loss[0] - f.recovery[0])[n - 1])
        arriving[g] = tuple(float(x) for x in f.recovery[0, n:n + kept.recovery_lag])
        history[g] = tuple((float(f.delinquent[0, t]), float(f.begin_balance[0, t])) for t in range(n - h, n))
        cum[g] = float(np.sum(f.loss[0, :n]))
    pool = CurrentPool(n, tuple(current_lines(kept, n, 0)), False, pending, arriving, history)
    return pool, cum


# ------------------------------------------------------------------ writing
def num(x: float) -> str:
    """Unrounded: the shortest text that reads back as the same double (never an exponent)."""
    r = repr(float(x))
    return r if "e" not in r and "n" not in r else format(Decimal(float(x)), "f")


def pct(x: float) -> str:
    """A rate as a percentage that reads back (a decimal shift of the double's
    shortest text, Decimal-divided by 100 on reading) as the same double."""
    d = Decimal(repr(float(x))).scaleb(2)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def _line_text(ln: Line) -> str:
    f = [f"balance: {num(ln.balance)}", f"gross rate: {pct(ln.gross_rate)}", f"fee rate: {pct(ln.fee_rate)}",
         f"remaining term: {ln.remaining_term}", f"age: {ln.age}"]
    if ln.amort_term is not None and ln.amort_term != ln.remaining_term:
        f.append(f"amortization term: {ln.amort_term}")
    if ln.io_months > ln.age:
        f.append(f"io months left: {ln.io_months - ln.age}")
    if ln.penalty_rate > 0 and ln.penalty_months > ln.age:
        f.append(f"penalty: {{rate: {pct(ln.penalty_rate)}, months left: {ln.penalty_months - ln.age}}}")
    if ln.count != 1:
        f.append(f"count: {ln.count}")
    if ln.arm is not None:
        a = ln.arm
        top = a.max_rate if a.max_rate is not None else ln.gross_rate + a.lifetime_cap
        arm = [f"index: {a.index}", f"margin: {pct(a.margin)}", f"next reset: {a.first_reset}",
               f"reset every: {a.reset_every}", f"next cap: {pct(a.initial_cap)}",
               f"periodic cap: {pct(a.periodic_cap)}", f"max rate: {pct(top)}",
               f"floor: {pct(a.margin if a.floor is None else a.floor)}"]
        if a.rounding is not None:
            arm.append(f"rounding: {pct(a.rounding)}")
        f.append("arm: {" + ", ".join(arm) + "}")
    if ln.amort_factor is not None:
        f.append(f"amortization factor: {num(ln.amort_factor)}")
    return "{" + ", ".join(f) + "}"


def dump_collateral(pool: CurrentPool, cum_loss: dict) -> list:
    """The ``collateral:`` section's lines of YAML."""
    out = ["collateral:                  # each group after the distribution, every figure unrounded"]
    for g in pool.groups():
        out.append(f'  "{g}":')
        out.append(f"    balance: {num(pool.balance(g))}  # its lines' balances added up")
        out.append(f"    cumulative loss: {num(cum_loss.get(g, 0.0))}")
        out.append(f"    pending recoveries: {num(pool.pending.get(g, 0.0))}  # defaulted, not yet recovered")
        arriving = pool.recoveries.get(g, ())
        if any(arriving):
            body = ", ".join(f"{pool.period + 1 + k}: {num(x)}" for k, x in enumerate(arriving))
            out.append(f"    recoveries to come: {{{body}}}  # by the distribution they arrive on")
        hist = pool.delinquency.get(g, ())
        if hist:
            out.append("    delinquency history:  # by distribution: what the triggers average")
            for k, (fraction, begin) in enumerate(hist):
                out.append(f"      {pool.period - len(hist) + k + 1}: {{60+ delinquent: {pct(fraction)}, "
                           f"begin balance: {num(begin)}}}")
        out.append("    lines:")
        out += [f"      - {_line_text(ln)}" for ln in pool.lines if ln.group == g]
    return out


# ------------------------------------------------------------------ reading
def read_collateral(r, gm, n: int, deal, base: Path, amount) -> tuple:
    """The state's ``collateral:`` mapping ``gm`` (groups) as a CurrentPool and each
    group's cumulative loss; errors go to the reader ``r`` at their place."""
    from .assumptions import _Map
    lines, pending, arriving, history, cum = [], {}, {}, {}, {}
    merge = False
    for name in gm:
        g = r.group_name(name, gm.marks[name][0])
        if g is None:
            continue
        m = gm[name]
        if not isinstance(m, _Map):
            r.error(gm.marks[name][1], f"collateral of group {g}: a mapping of lines:, cumulative loss:, ...",
                    expected="lines: [...] or tape: FILE")
            continue
        r.keys(m, GROUP_KEYS, f"collateral of group {g}")
        cum[g] = amount(m, "cumulative loss", f"cumulative loss of group {g}") if "cumulative loss" in m else 0.0
        pending[g] = _pending(r, m, g) if "pending recoveries" in m else None
        arriving[g] = _by_distribution(r, m, "recoveries to come", n, g, amount, after=True)
        history[g] = _history(r, m, n, g)
        if ("lines" in m) == ("tape" in m):
            r.error(gm.marks[name][0], f"collateral of group {g}: give its current lines or a loan tape (one of them)",
                    expected="lines: [{balance: ..., gross rate: ..., ...}] or tape: current-loans.csv")
            continue
        n0 = len(r.diags)
        if "tape" in m:
            merge = True
            got = _tape(r, m, g, base)
        else:
            got = _lines(r, m, g, amount)
        if not got and len(r.diags) == n0:
            r.error(gm.marks[name][0], f"group {g} has no current lines",
                    hint="a loan paid off stays as a line of balance 0 and remaining term 0")
        lines += got
        if "balance" in m and got:
            b = amount(m, "balance", f"balance of group {g}")
            total = float(sum(ln.balance for ln in got))
            if b is not None and abs(b - total) > 1e-6 * max(1.0, abs(total)):
                r.error(m.marks["balance"][1], f"group {g}'s balance {b:,.2f} is not its lines' {total:,.2f}",
                        hint="the balance is the lines' balances added up")
        if pending[g] is None:  # a trustee's figure: the recoveries still to come
            pending[g] = float(sum(arriving[g]))
    for grp in deal.groups:
        if grp.name not in cum and gm is not None:
            r.error(gm.mark, f"the state gives no collateral of group {grp.name}",
                    expected=f'"{grp.name}": {{lines: [...]}} or {{tape: FILE}}')
    pool = CurrentPool(n, tuple(lines), merge, pending, arriving, history)
    return pool, cum


def _pending(r, m, g):
    """The running sum the run keeps, unrounded: a rounding's worth below 0 is allowed."""
    x = r.number(m["pending recoveries"], m.marks["pending recoveries"][1], f"pending recoveries of group {g}",
                 unit="$", end=m.marks["pending recoveries"][2])
    if x is not None and x < -1e-6:
        r.error(m.marks["pending recoveries"][1], f"pending recoveries of group {g}: a defaulted balance not yet "
                f"recovered is not negative ({x})")
    return x


def _by_distribution(r, m, key, n, g, amount, after) -> tuple:
    """{distribution: amount} from distribution n + 1 on, as a tuple from n + 1."""
    from .assumptions import _Map
    if key not in m:
        return ()
    v = m[key]
    if not isinstance(v, _Map):
        r.error(m.marks[key][1], f"{key} of group {g}: a mapping of distribution: amount", expected=f"{{{n + 1}: 1000.0}}")
        return ()
    got = {}
    for k in v:
        p = r.integer(k, v.marks[k][0], f"{key} of group {g}: distribution")
        if p is not None and p <= n:
            r.error(v.marks[k][0], f"{key} of group {g}: distribution {p} is not after the state's {n}")
            continue
        x = amount(v, k, f"{key} of group {g} on distribution {k}")
        if p is not None and x is not None:
            got[p] = x
    return tuple(got.get(p, 0.0) for p in range(n + 1, max(got, default=n) + 1))


def _history(r, m, n, g) -> tuple:
    from .assumptions import _Map
    if "delinquency history" not in m:
        return ()
    v = m["delinquency history"]
    if not isinstance(v, _Map):
        r.error(m.marks["delinquency history"][1], f"delinquency history of group {g}: a mapping by distribution",
                expected=f"{n}: {{60+ delinquent: 1.5%, begin balance: 200000000.0}}")
        return ()
    got = {}
    for k in v:
        p = r.integer(k, v.marks[k][0], f"delinquency history of group {g}: distribution")
        if p is not None and not 1 <= p <= n:
            r.error(v.marks[k][0], f"delinquency history of group {g}: distribution {p} is not one of 1..{n}")
            continue
        e = v[k]
        if not isinstance(e, _Map):
            r.error(v.marks[k][1], "a delinquency record is {60+ delinquent: 1.5%, begin balance: ...}")
            continue
        r.keys(e, HISTORY_KEYS, f"delinquency history of group {g}", required=HISTORY_KEYS)
        frac = r.number(e["60+ delinquent"], e.marks["60+ delinquent"][1], "60+ delinquent", unit="%") \
            if "60+ delinquent" in e else None
        begin = r.number(e["begin balance"], e.marks["begin balance"][1], "begin balance", unit="$") \
            if "begin balance" in e else None
        if p is not None and frac is not None and begin is not None:
            got[p] = (frac, begin)
    if not got:
        return ()
    first = min(got)
    return tuple(got.get(p, (0.0, 0.0)) for p in range(first, n + 1))


def _tape(r, m, g, base: Path) -> list:
    path = base / str(m["tape"])
    mark = m.marks["tape"][1]
    try:
        got = load_tape(str(path))
    except TapeError as e:  # positioned in the tape: its line, shown with a caret
        from dsl import ast as A
        r.diags.append(Diagnostic(A.Span(e.path, e.line, e.column), f"loan tape: {e.message}"))
        r.sources[e.path] = "\n" * (e.line - 1) + e.text
        return []
    except (OSError, ValueError) as e:
        r.error(mark, f"loan tape of group {g}: {e}")
        return []
    other = sorted({ln.group for ln in got} - {g})
    if other:
        r.error(mark, f"loan tape {m['tape']} holds lines of group {', '.join(other)}, not only of group {g}",
                hint="a group's tape holds that group's loans")
        return []
    return got


def _lines(r, m, g, amount) -> list:
    v = m["lines"]
    if not isinstance(v, list):
        r.error(m.marks["lines"][1], f"lines of group {g}: a list of current lines",
                expected="- {balance: ..., gross rate: 6.25%, fee rate: 0.25%, remaining term: 329, age: 31}")
        return []
    out = []
    for i, item in enumerate(v):
        ln = _line(r, item, v.marks[i][0], g, amount)
        if ln is not None:
            out.append(ln)
    return out


def _line(r, item, mark, g, amount):
    from .assumptions import _Map
    if not isinstance(item, _Map):
        r.error(mark, f"a current line of group {g} is a mapping", expected="{balance: ..., gross rate: ..., ...}")
        return None
    n0 = len(r.diags)
    r.keys(item, LINE_KEYS, f"a current line of group {g}",
           required=("balance", "gross rate", "remaining term", "age"))

    def get(m, key, kind, default=None, what=None):
        if key not in m:
            return default
        what = what or key
        val, vm, e = m[key], m.marks[key][1], m.marks[key][2]
        if kind == "%":
            return r.number(val, vm, what, unit="%", end=e)
        if kind == "$":
            return amount(m, key, what)
        if kind == "x":
            return r.number(val, vm, what, unit="", end=e)
        return r.integer(val, vm, what, end=e)
    bal = get(item, "balance", "$")
    rate = get(item, "gross rate", "%")
    fee = get(item, "fee rate", "%", 0.0)
    rem = get(item, "remaining term", "n")
    age = get(item, "age", "n", 0)
    amort = get(item, "amortization term", "n")
    io_left = get(item, "io months left", "n", 0)
    count = get(item, "count", "n", 1)
    factor = get(item, "amortization factor", "x")
    pen_rate, pen_left = 0.0, 0
    if "penalty" in item:
        p = item["penalty"]
        if isinstance(p, _Map):
            r.keys(p, ("rate", "months left"), "penalty", required=("rate", "months left"))
            pen_rate = get(p, "rate", "%", 0.0, "penalty rate") or 0.0
            pen_left = get(p, "months left", "n", 0, "penalty months left") or 0
        else:
            r.error(item.marks["penalty"][1], "penalty: expected {rate: 2%, months left: 12}")
    arm = _arm(r, item, get) if "arm" in item else None
    if rate is not None and not 0 <= rate < 1:
        r.error(item.marks["gross rate"][1], f"gross rate {item['gross rate']!r} is not a mortgage rate",
                expected="a rate from 0% to below 100%")
    if fee is not None and rate is not None and fee > max(rate, 0):
        r.error(item.marks["fee rate"][1], f"fee rate {item['fee rate']!r} is more than the gross rate",
                expected="servicing + trustee fees below the gross rate")
    if rem == 0 and bal:
        r.error(item.marks["remaining term"][1], f"remaining term 0 with a balance of {bal:,.2f}",
                expected="the months left to maturity, from 1 (a line paid off has balance 0)")
    if amort is not None and rem is not None and amort < rem:
        r.error(item.marks["amortization term"][1], f"amortization term {amort} is shorter than the remaining "
                f"term {rem}", expected="the amortisation months left, when longer than the remaining term")
    if len(r.diags) > n0 or None in (bal, rate, fee, rem, age):
        return None
    try:
        return Line(group=g, balance=bal, gross_rate=rate, fee_rate=fee, remaining_term=rem, age=age,
                    amort_term=amort, io_months=age + io_left if io_left else 0, arm=arm, penalty_rate=pen_rate,
                    penalty_months=age + pen_left if pen_left else 0, count=count, amort_factor=factor)
    except ValueError as e:
        r.error(mark, f"current line: {e}")
        return None


def _arm(r, item, get):
    from .assumptions import _Map
    a = item["arm"]
    if not isinstance(a, _Map):
        r.error(item.marks["arm"][1], "arm: expected a mapping of the ARM's current terms", expected=", ".join(ARM_KEYS))
        return None
    r.keys(a, ARM_KEYS, "arm terms", required=("index", "margin", "next reset", "reset every", "periodic cap",
                                                "max rate"))
    declared = [i.name for i in r.deal.indices]
    idx = str(a.get("index", ""))
    if "index" in a and idx not in declared:
        r.error(a.marks["index"][1], f"arm index '{idx}' is not an index the deal declares",
                hint=did_you_mean(idx, declared))
    every = get(a, "reset every", "n", None, "arm reset every")
    if every == 0:
        r.error(a.marks["reset every"][1], "arm reset every: 0 months",
                expected="a whole number of months from 1 (6: every six months)")
    vals = dict(margin=get(a, "margin", "%", None, "arm margin"), first_reset=get(a, "next reset", "n", None,
                                                                                 "arm next reset"),
                reset_every=every, periodic_cap=get(a, "periodic cap", "%", None, "arm periodic cap"),
                max_rate=get(a, "max rate", "%", None, "arm max rate"), floor=get(a, "floor", "%", None, "arm floor"),
                rounding=get(a, "rounding", "%", None, "arm rounding"))
    cap = get(a, "next cap", "%", vals["periodic_cap"], "arm next cap")
    if any(vals[k] is None for k in ("margin", "first_reset", "reset_every", "periodic_cap", "max_rate")) \
            or cap is None or every == 0:
        return None
    try:
        return ArmTerms(index=idx, initial_cap=cap, lifetime_cap=0.0, **vals)
    except ValueError as e:
        r.error(item.marks["arm"][1], f"arm: {e}")
        return None
