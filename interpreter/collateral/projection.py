"""Vectorised collateral projection for MBS/ABS loan pools.

Every projected quantity is a numpy array with a leading scenario axis ``S``
(``S == 1`` for a single run).  Loan lines sit on a second axis ``L``.  The
projection loops over the ``T`` deal periods only; scenarios and lines are
handled by array arithmetic on ``(S, L)`` arrays.  When a C compiler is
available, ``project`` runs the same formulas in the compiled kernel of
``interpreter.collateral.c_backend`` instead (same results; ``engine="numpy"`` or
``WATERFALL_ENGINE=numpy`` forces this numpy path).

Conventions (all stated once here, referenced in the code below)
----------------------------------------------------------------
* Deal period ``t`` runs 1..T.  A line with age ``a`` at cut-off makes its
  payment number ``k = a + t`` in period ``t`` (its age at the end of the
  period).  Its age at the *start* of period ``t`` is ``k - 1``.
* Curve month (prepayment / default curves): ``basis="age"`` -> ``k = a + t``
  (a loan of age ``a`` at cut-off is at ramp month ``a + 1`` in period 1);
  ``basis="deal"`` -> ``t``.  A ``vector`` is always indexed by deal period
  ``t`` ("annual rates by period", last value held), whatever the basis.
* SMM = 1 - (1 - CPR)^(1/12);  MDR = 1 - (1 - CDR)^(1/12).
* PSA 100% = 0.2% CPR x month up to 6% CPR at month 30, then flat 6%;
  a PSA curve with ``rate`` r gives r x that CPR.
* PPC: CPR = start + (month - 1) x (end - start) / (ramp_months - 1) up to
  ``ramp_months``, then ``end`` (CWALT 2004-J4: 8% in month 1, +16%/11 per
  month, 24% from month 12).
* ABS: SMM = ABS / (1 - ABS x (month - 1)).
* SDA 100% (standard BMA): CDR = 0.02% x month up to 0.60% at month 30, flat
  0.60% through month 60, then falls 0.0095% a month to 0.03% at month 120,
  0.03% thereafter; ``rate`` r scales it.
* Scenario scaling: ``prepay_scale`` / ``default_scale`` multiply the annual
  rate for CPR/PSA/PPC/CDR/SDA curves (80% of a 25% CPR curve is 20% CPR), the
  monthly rate for SMM/MDR curves and the ABS speed for ABS curves.  A scaled
  rate is capped at 100%.
* Order of a period (the standard one):
    1. ARM resets taking effect in the period (see below);
    2. default = MDR x beginning balance; the surviving (performing) balance is
       beginning - default;  defaulted balance pays no interest;
    3. interest (gross) = surviving x rate / 12, fee = surviving x fee / 12;
    4. scheduled principal on the surviving balance: level payment on the
       remaining amortisation term n, P = B r / (1 - (1 + r)^-n), r = rate/12,
       scheduled = P - B r (== B r / ((1 + r)^n - 1)); the whole balance at
       the last amortisation month and at maturity (balloon);  zero while the
       loan is interest-only (k <= io_months), after which the payment is
       re-amortised over the months remaining;
    5. prepayment = SMM x (surviving - scheduled);
    6. end = surviving - scheduled - prepayment, so that
       begin = scheduled + prepayment + default + end.
* Loss = default x severity, booked in the period of default.  Recovery =
  default x (1 - severity), received ``recovery_lag`` periods after the
  default (dropped when that falls beyond the horizon).
* Prepayment charge = penalty_rate x prepayment while k <= penalty_months.
* ARM: the rate changes at age ``first_reset`` (and every ``reset_every``
  months after), i.e. it first applies to payment ``k = first_reset + 1``
  (a 2/28 makes 24 payments at its initial rate).  The reset in period ``t``
  reads ``index_paths[name][..., t - 1]``.  New rate = index + margin (rounded
  to the nearest ``rounding`` multiple first, as ARM notes do), limited to
  +/- ``initial_cap`` (first reset) or ``periodic_cap`` (later resets) around
  the current rate, then to [floor, initial rate + lifetime_cap] (floor None ->
  margin).  The line's ``gross_rate`` at cut-off is taken as the initial rate.
  Because the level payment is recomputed each period on the remaining term,
  the payment is re-amortised at each reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from .curves import _by_period, _curve_table
from .model import DEFAULT_KINDS, PREPAY_KINDS, Curve, GroupFlows, Line, Scenarios


@attrs.frozen(eq=False)
class LineState:
    """The pool's lines as projected (merged, each group's together) and their state
    after a period, each (S, L): the performing balance, the annual note rate (an ARM's
    after its resets) and gm1 = (1 + r)^n - 1 for the amortisation months still to come."""

    lines: tuple
    balance: np.ndarray
    rate: np.ndarray
    gm1: np.ndarray
    recovery_lag: int = 0  # the periods a default's recovery arrives after it


# --------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------
def _terms_key(line: Line):
    """Every term of a line except balance and count."""
    return (
        line.group,
        line.gross_rate,
        line.fee_rate,
        line.remaining_term,
        line.age,
        line.amort_term,
        line.io_months,
        line.arm,
        line.penalty_rate,
        line.penalty_months,
        line.amort_factor,
    )


def aggregate(lines: Sequence[Line]) -> list[Line]:
    """Merge lines whose terms are identical apart from balance (balances and counts summed).

    Order of first appearance is kept.  Every projected flow is linear in the
    balance for fixed terms, so the merged tape projects to the same group sums.
    """
    merged: dict = {}
    for ln in lines:
        key = _terms_key(ln)
        prev = merged.get(key)
        if prev is None:
            merged[key] = [ln, ln.balance, ln.count]
        else:
            prev[1] += ln.balance
            prev[2] += ln.count
    out = []
    for ln, bal, cnt in merged.values():
        out.append(ln if (bal == ln.balance and cnt == ln.count) else attrs.evolve(ln, balance=bal, count=cnt))
    return out


# --------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------
class _Pool:
    """Per-line term arrays (L,), lines sorted so that each group is contiguous."""

    def __init__(self, lines: list[Line]):
        groups: list[str] = []
        for ln in lines:
            if ln.group not in groups:
                groups.append(ln.group)
        order = {g: i for i, g in enumerate(groups)}
        lines = sorted(lines, key=lambda ln: order[ln.group])  # stable
        self.groups = groups
        gid = np.array([order[ln.group] for ln in lines], dtype=np.int64)
        self.gid = gid
        self.starts = np.searchsorted(gid, np.arange(len(groups)))
        self.stops = np.append(self.starts[1:], len(lines))
        f = np.array
        self.balance = f([ln.balance for ln in lines], dtype=float)
        self.rate = f([ln.gross_rate for ln in lines], dtype=float)
        self.fee = f([ln.fee_rate for ln in lines], dtype=float)
        self.rem = f([ln.remaining_term for ln in lines], dtype=np.int64)
        self.age = f([ln.age for ln in lines], dtype=np.int64)
        self.amort = f(
            [ln.amort_term if ln.amort_term is not None else ln.remaining_term for ln in lines],
            dtype=np.int64,
        )
        self.io = f([ln.io_months for ln in lines], dtype=np.int64)
        self.pen_rate = f([ln.penalty_rate for ln in lines], dtype=float)
        self.pen_months = f([ln.penalty_months for ln in lines], dtype=np.int64)
        # (1 + r)^n - 1 in period 1: a deal state's own figure where a line carries it
        self.gm1 = np.expm1(self.amort * np.log1p(self.rate / 12.0))
        for i, ln in enumerate(lines):
            if ln.amort_factor is not None:
                self.gm1[i] = ln.amort_factor
        self.lines = lines
        arm_cols = [i for i, ln in enumerate(lines) if ln.arm is not None]
        self.arm_cols = np.array(arm_cols, dtype=np.int64)
        arms = [lines[i].arm for i in arm_cols]
        self.arm_index_names = sorted({a.index for a in arms})
        name_id = {n: i for i, n in enumerate(self.arm_index_names)}
        self.arm_index = f([name_id[a.index] for a in arms], dtype=np.int64)
        self.arm_margin = f([a.margin for a in arms], dtype=float)
        self.arm_first = f([a.first_reset for a in arms], dtype=np.int64)
        self.arm_every = f([a.reset_every for a in arms], dtype=np.int64)
        self.arm_icap = f([a.initial_cap for a in arms], dtype=float)
        self.arm_pcap = f([a.periodic_cap for a in arms], dtype=float)
        self.arm_max = f([lines[i].gross_rate + lines[i].arm.lifetime_cap if lines[i].arm.max_rate is None
                          else lines[i].arm.max_rate for i in arm_cols], dtype=float)
        self.arm_floor = f([a.margin if a.floor is None else a.floor for a in arms], dtype=float)
        self.arm_round = f([0.0 if a.rounding is None else a.rounding for a in arms], dtype=float)
        self.arm_age = self.age[self.arm_cols] if arm_cols else np.zeros(0, dtype=np.int64)

    def __len__(self):
        return self.balance.shape[0]


def _index_sources(pool: _Pool, index_paths, S: int, T: int) -> list[np.ndarray]:
    """The validated index path of each ARM index of the pool (``pool.arm_index_names``
    order), each 2-d with 1 or S rows and >= T columns (not copied)."""
    index_paths = index_paths or {}
    out = []
    for name in pool.arm_index_names:
        if name not in index_paths:
            raise ValueError(f"ARM index {name!r} has no path in index_paths (given: {sorted(index_paths)})")
        a = np.asarray(index_paths[name], dtype=float)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[0] not in (1, S) or a.shape[1] < T:
            raise ValueError(
                f"index path {name!r} must have shape ({T},) or ({S}, {T}) (or longer in time), got {a.shape}"
            )
        if not np.all(np.isfinite(a[:, :T])):
            raise ValueError(f"index path {name!r} has non-finite values")
        out.append(a)
    return out


def _index_array(pool: _Pool, index_paths, S: int, T: int) -> np.ndarray:
    """(n_index, S, T) index levels for the ARM lines' indices."""
    if not pool.arm_index_names:
        return np.zeros((0, S, T))
    out = np.empty((len(pool.arm_index_names), S, T))
    for i, a in enumerate(_index_sources(pool, index_paths, S, T)):
        out[i] = a[:, :T]
    return out


def _group_curves(pool: _Pool, curves: Mapping[str, Curve] | None, what: str, kinds) -> list[Curve | None]:
    if curves is None:
        return [None] * len(pool.groups)
    out = []
    for g in pool.groups:
        if g not in curves:
            raise ValueError(f"no {what} curve for group {g!r} (curves given for {sorted(curves)})")
        c = curves[g]
        if c.kind not in kinds:
            raise ValueError(f"{what} curve for group {g!r} has kind {c.kind}; expected one of {sorted(kinds)}")
        out.append(c)
    return out


def _rate_tables(pool: _Pool, curves, scale: np.ndarray, T: int, period0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Monthly-rate lookup tables of all groups side by side, (S, C), and per line its base
    column (L,): the line's rate in period t is ``table[:, base + t]``.  A transcendental
    per (scenario, curve month) instead of per (scenario, line, period). ``period0``: the
    deal periods before the projection's first (a curve by deal period reads period0 + t)."""
    tables, base = [], np.empty(len(pool), dtype=np.int64)
    off = 0
    for gi, c in enumerate(curves):
        a, b = pool.starts[gi], pool.stops[gi]
        if c is None or _by_period(c):
            width = period0 + T + 1
            base[a:b] = off + period0
        else:  # curve month = age + t
            width = int(pool.age[a:b].max()) + T + 1
            base[a:b] = off + pool.age[a:b]
        tables.append(_curve_table(c, scale, width))
        off += width
    return np.concatenate(tables, axis=1), base


def _project_block(pool: _Pool, T: int, scen: Scenarios, prepay_c, default_c, idx: np.ndarray,
                   period0: int = 0, keep_after=()):
    """Project one block of scenarios; returns dict name -> (S, G, T) group sums, and
    {t: (B, annual rate, gm1), each (S, L)}: the lines' state after each period of ``keep_after``.

    State per (scenario, line): B performing balance, r monthly note rate,
    gm1 = (1 + r)^n - 1 with n the remaining amortisation term in the current
    period (expm1(n log1p r) in period 1 and at ARM resets, then
    (gm1 - r) / (1 + r) each period), so the scheduled-principal factor
    r / ((1 + r)^n - 1) needs no power per period.  gm1 is kept rather than
    (1 + r)^n itself: (1 + r)^n - 1 cancels catastrophically when n r is small
    (at a rate of 2e-16, a 1-ulp difference in exp moved the factor by 3%).
    Group sums are np.add.reduceat over the contiguous column range of each group.
    """
    p_scale, d_scale, _ = scen.arrays()
    S, L, G = p_scale.shape[0], len(pool), len(pool.groups)
    starts = pool.starts
    fee = pool.fee

    def gsum(x):  # (S, L) -> (S, G) group sums (groups are contiguous column ranges)
        return np.add.reduceat(x, starts, axis=1)

    have_defaults = any(c is not None for c in default_c) and bool(np.any(d_scale > 0))
    have_prepay = any(c is not None for c in prepay_c) and bool(np.any(p_scale > 0))
    have_pen = have_prepay and bool(np.any(pool.pen_rate > 0))
    have_arm = pool.arm_cols.size > 0
    if have_prepay:
        ptab, pbase = _rate_tables(pool, prepay_c, p_scale, T, period0)
    if have_defaults:
        dtab, dbase = _rate_tables(pool, default_c, d_scale, T, period0)

    kept = {}
    names = ("begin", "sched", "prepay", "default", "interest", "fee", "end", "wac", "nwac", "penalty")
    acc = {n: np.zeros((T, S, G)) for n in names}

    r0 = pool.rate / 12.0
    B = np.repeat(pool.balance[None, :], S, axis=0)  # performing balance (S, L)
    r = np.repeat(r0[None, :], S, axis=0)  # monthly note rate (S, L)
    disc = 1.0 / (1.0 + r)
    gm1 = np.repeat(pool.gm1[None, :], S, axis=0)  # (1 + r)^n - 1, period 1
    any_zero = bool(np.any(r0 == 0.0))
    arm_rate = np.repeat(pool.rate[pool.arm_cols][None, :], S, axis=0)  # ARM note rates, annual (S, La)
    end_sum = gsum(B)

    for t in range(1, T + 1):
        k = pool.age + t  # payment number in period t (age at period end)
        n = pool.amort - (t - 1)  # remaining amortisation months, this one included

        # 1. ARM resets taking effect this period: age at period start (k - 1) == reset age.
        if have_arm:
            a0 = pool.arm_age + t - 1
            first = a0 == pool.arm_first
            later = (a0 > pool.arm_first) & ((a0 - pool.arm_first) % pool.arm_every == 0)
            reset = first | later
            if reset.any():
                cols = pool.arm_cols[reset]
                target = idx[pool.arm_index[reset], :, t - 1].T + pool.arm_margin[reset]  # (S, n)
                inc = pool.arm_round[reset]
                if np.any(inc > 0):  # round the fully indexed rate to the nearest increment
                    safe = np.where(inc > 0, inc, 1.0)
                    target = np.where(inc > 0, np.floor(target / safe + 0.5) * safe, target)
                cap = np.where(first[reset], pool.arm_icap[reset], pool.arm_pcap[reset])
                cur = arm_rate[:, reset]
                new = np.clip(target, cur - cap, cur + cap)  # initial / periodic cap, both ways
                new = np.minimum(np.maximum(new, pool.arm_floor[reset]), pool.arm_max[reset])
                arm_rate[:, reset] = new
                rm = new / 12.0
                r[:, cols] = rm
                disc[:, cols] = 1.0 / (1.0 + rm)
                # re-amortise: level payment on the remaining term at the new rate
                gm1[:, cols] = np.expm1(np.maximum(n[cols], 0) * np.log1p(rm))
                any_zero = any_zero or bool(np.any(rm == 0.0))

        acc["begin"][t - 1] = end_sum
        fee_begin = gsum(B * fee)
        Br = B * r
        wac_num = gsum(Br) * 12.0
        acc["wac"][t - 1] = wac_num
        acc["nwac"][t - 1] = wac_num - fee_begin

        # 2. defaults on the beginning balance
        if have_defaults:
            D = B * np.take(dtab, dbase + t, axis=1)
            acc["default"][t - 1] = gsum(D)
            Bs = B - D
            Bsr = Bs * r
            acc["fee"][t - 1] = gsum(Bs * fee) / 12.0
        else:
            Bs, Bsr = B, Br
            acc["fee"][t - 1] = fee_begin / 12.0

        # 3. interest on the surviving (performing) balance
        acc["interest"][t - 1] = gsum(Bsr)

        # 4. scheduled principal = Bs x r / ((1 + r)^n - 1); all at the last month / balloon;
        #    nothing while interest-only (k <= io_months)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = r / gm1
        if any_zero:
            f = np.where(r == 0.0, 1.0 / np.maximum(n, 1), f)
        payoff = (t >= pool.rem) | (n <= 1)
        amortising = ~payoff & (k > pool.io)
        if not amortising.all():
            f = np.where(amortising, f, payoff.astype(float))
        sched = Bs * f
        acc["sched"][t - 1] = gsum(sched)
        gm1 -= r  # (1 + r)^(n-1) - 1 == ((1 + r)^n - 1 - r) / (1 + r)
        gm1 *= disc

        # 5. prepayment = SMM x (surviving - scheduled)
        Bp = Bs - sched
        if have_prepay:
            prep = Bp * np.take(ptab, pbase + t, axis=1)
            acc["prepay"][t - 1] = gsum(prep)
            if have_pen:
                pen = np.where(k <= pool.pen_months, pool.pen_rate, 0.0)
                if np.any(pen > 0):
                    acc["penalty"][t - 1] = gsum(prep * pen)
            np.subtract(Bp, prep, out=Bp)
        B = Bp
        end_sum = gsum(B)
        acc["end"][t - 1] = end_sum
        if t in keep_after:
            rate = np.repeat(pool.rate[None, :], S, axis=0)
            rate[:, pool.arm_cols] = arm_rate
            kept[t] = (B.copy(), rate, gm1.copy())

    return {n: np.moveaxis(a, 0, -1) for n, a in acc.items()}, kept  # (S, G, T)


def project(
    lines: Sequence[Line],
    n_periods: int,
    scenarios: Scenarios,
    prepay: Mapping[str, Curve],
    default: Mapping[str, Curve] | None = None,
    index_paths: Mapping[str, np.ndarray] | None = None,
    delinquency: Mapping[str, np.ndarray] | None = None,
    *,
    merge: bool = True,
    max_block_elements: int = 500_000,
    engine: str = "auto",
    period0: int = 0,
    keep_after: Sequence[int] = (),
    kept: dict | None = None,
) -> dict[str, GroupFlows]:
    """Project the collateral of ``lines`` over ``n_periods`` months for every scenario.

    Returns group name -> GroupFlows (arrays (S, n_periods)).  ``merge`` first
    aggregates lines with identical terms (exact: flows are linear in balance).

    ``engine``: "auto" runs the compiled kernel of ``interpreter.collateral.c_backend``
    when a C compiler is available (``interpreter.native``; not with
    ``WATERFALL_ENGINE=numpy``) and the numpy path otherwise; "numpy" forces
    the numpy path; "c" requires the kernel (RuntimeError without one).  Both
    compute the same formulas in the same order (equal to ~1e-15 relative);
    the kernel hands a pool whose balances go NaN / infinite back to numpy.
    The numpy path processes scenarios in blocks of at most
    ``max_block_elements`` (S x L) cells to bound memory; blocks are
    independent, so the result does not depend on the block size.

    ``period0``: the lines are current after deal period ``period0`` (a deal state):
    projection period t is deal period period0 + t, where curves by deal period, vectors
    and the ARM index paths (given from the projection's first period) are read; curves
    by loan age read the lines' own ages. ``keep_after``: periods after which ``kept``
    (a dict) receives the lines' state, ``kept[t] = LineState`` (what a deal state carries).
    """
    if engine not in ("auto", "numpy", "c"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'c', got {engine!r}")
    lines = list(lines)
    if not lines:
        raise ValueError("project() needs at least one line")
    if int(n_periods) != n_periods or n_periods < 1:
        raise ValueError(f"n_periods must be an integer >= 1, got {n_periods!r}")
    T = int(n_periods)
    if merge:
        lines = aggregate(lines)
    pool = _Pool(lines)
    S = scenarios.n
    prepay_c = _group_curves(pool, prepay, "prepay", PREPAY_KINDS)
    default_c = _group_curves(pool, default, "default", DEFAULT_KINDS)
    dq = _delinquency(pool, delinquency, S, T)
    keep = tuple(sorted({int(t) for t in keep_after if 1 <= t <= T}))
    got: dict = {}

    per_group = None
    if engine != "numpy":
        from .c_backend import library, run  # noqa: PLC0415 (ctypes and the C builder load only when C may run)

        per_group = run(pool, T, scenarios, prepay_c, default_c, _index_sources(pool, index_paths, S, T),
                        period0=period0, keep_after=keep, kept=got)
        if per_group is None and engine == "c" and library() is None:
            raise RuntimeError("engine='c': the collateral C kernel is unavailable (no C compiler?)")
    if per_group is None:
        idx = _index_array(pool, index_paths, S, T)
        got.clear()
        per_group = _project_numpy(pool, T, scenarios, prepay_c, default_c, idx, max_block_elements,
                                   period0, keep, got)
    if kept is not None:
        for t, (bal, rate, gm1) in got.items():
            kept[t] = LineState(tuple(pool.lines), bal, rate, gm1, int(scenarios.recovery_lag))

    out: dict[str, GroupFlows] = {}
    for gi, g in enumerate(pool.groups):
        a, b = pool.starts[gi], pool.stops[gi]
        out[g] = GroupFlows(
            **per_group[gi],
            delinquent=dq[g] if g in dq else np.zeros((S, T)),
            cutoff_balance=float(pool.balance[a:b].sum()),
        )
    return out


def _delinquency(pool: _Pool, delinquency, S: int, T: int) -> dict[str, np.ndarray]:
    """Validated 60+ delinquency fractions of the pool's groups, each (S, T) (a copy)."""
    out = {}
    for g in pool.groups:
        if g not in (delinquency or {}):
            continue
        dq = np.asarray(delinquency[g], dtype=float)
        if dq.ndim == 1:
            dq = dq[None, :]
        if dq.ndim != 2 or dq.shape[0] not in (1, S) or dq.shape[1] < T:
            raise ValueError(f"delinquency for group {g!r} must have shape ({T},) or ({S}, {T}), got {dq.shape}")
        out[g] = np.broadcast_to(dq[:, :T], (S, T)).copy()
    return out


def _project_numpy(pool: _Pool, T: int, scenarios: Scenarios, prepay_c, default_c, idx, max_block_elements,
                   period0: int = 0, keep_after=(), kept: dict | None = None):
    """The numpy path: per group a dict GroupFlows field -> (S, T) array (all but
    ``delinquent`` and ``cutoff_balance``).  Loss = default x severity, recovery =
    default x (1 - severity) ``recovery_lag`` periods later, WACs = rate sums /
    beginning balance (0 where it is 0)."""
    S = scenarios.n
    block = max(1, int(max_block_elements) // max(len(pool), 1))
    parts, states = [], []
    for s0 in range(0, S, block):
        sl = slice(s0, min(S, s0 + block))
        acc, st = _project_block(pool, T, scenarios.take(sl), prepay_c, default_c, idx[:, sl], period0, keep_after)
        parts.append(acc)
        states.append(st)
    res = {n: np.concatenate([p[n] for p in parts], axis=0) for n in parts[0]}
    if kept is not None:
        for t in keep_after:
            kept[t] = tuple(np.concatenate([st[t][i] for st in states], axis=0) for i in range(3))

    _, _, severity = scenarios.arrays()
    sev = severity[:, None]
    lag = int(scenarios.recovery_lag)
    out = []
    for gi in range(len(pool.groups)):
        begin = res["begin"][:, gi]
        dflt = res["default"][:, gi]
        recovery = np.zeros_like(dflt)
        if lag < T:
            recovery[:, lag:] = (dflt * (1.0 - sev))[:, : T - lag]
        safe = np.where(begin > 0, begin, 1.0)
        out.append(
            dict(
                begin_balance=begin,
                scheduled_principal=res["sched"][:, gi],
                prepayment=res["prepay"][:, gi],
                default=dflt,
                recovery=recovery,
                loss=dflt * sev,
                interest=res["interest"][:, gi],
                fee=res["fee"][:, gi],
                net_interest=res["interest"][:, gi] - res["fee"][:, gi],
                end_balance=res["end"][:, gi],
                gross_wac=np.where(begin > 0, res["wac"][:, gi] / safe, 0.0),
                net_wac=np.where(begin > 0, res["nwac"][:, gi] / safe, 0.0),
                penalty=res["penalty"][:, gi],
            )
        )
    return out
