"""A run: the deal lowered to its period program over the assumptions, the
collateral projected, and the program run by the C backend or the numpy
engine (the backend policy in ``interpreter/native/policy.py`` chooses).
Each period runs the phases of ``program.PERIOD`` (collateral in, contracts,
events, notionals, accruals, the waterfall, retirement, losses, the money
check); both backends follow that order."""
from __future__ import annotations

from typing import Optional, Sequence

import attrs
import numpy as np

from dsl import ast as A

from ..collateral import Curve, GroupFlows, Scenarios, project
from ..collateral.current import CurrentPool
from ..dates import distribution_dates
from ..assumptions import Assumptions, speed_curve
from ..errors import ConservationError, RunError
from . import program as P
from .inspection import with_inspections
from .money import conservation_error
from .lowering import accrual_fractions, lower_program, run_constants, start_state
from .numpy_engine import PeriodState, _NumpyPeriod, _NumpyProgram
from .records import RunResult


def _index_paths(program: P.Program, assumptions: Assumptions, S: int, T: int) -> np.ndarray:
    out = np.zeros((len(program.indices), S, T))
    for i, name in enumerate(program.indices):
        if name not in assumptions.indices:
            raise RunError(f"index {name} has no level: set it under 'indices:' in {assumptions.path}")
        v = assumptions.indices[name]
        if isinstance(v, tuple):
            arr = np.array(v + (v[-1],) * max(0, T - len(v)))[:T]
        else:
            arr = np.full(T, float(v))
        out[i] = arr[None, :]
    return out


def horizon(deal: A.Deal, assumptions: Assumptions, defaults: Optional[bool] = None) -> int:
    """Periods of a run: the assumptions' horizon, else the longest remaining term,
    plus the recovery lag when loans default (``defaults``: None reads the
    assumptions; a run given a CDR says True), so the last recoveries arrive. A
    recovery lag stated for stress runs leaves a run without defaults as it was."""
    if assumptions.horizon:
        return assumptions.horizon
    if defaults is None:
        defaults = bool(assumptions.defaults)
    return max(l.remaining_term for l in assumptions.lines) + (assumptions.recovery_lag if defaults else 0)


def project_collateral(deal: A.Deal, assumptions: Assumptions, speeds: np.ndarray, T: int,
                       index_paths: Optional[dict] = None, cdr: Optional[np.ndarray] = None,
                       severity: Optional[np.ndarray] = None, current: Optional[CurrentPool] = None,
                       keep_lines_after: Sequence[int] = (), kept: Optional[dict] = None) -> dict:
    """Project every group at each scenario's speed; ``cdr`` (per scenario, a
    constant CDR for every group) and ``severity`` override the assumptions.
    ``current``: the collateral after a distribution (a deal state): its lines
    are projected from the next period, and the flows (S, T) hold before it only
    the delinquency history the state gives (see ``_continued``).
    ``keep_lines_after``/``kept``: the lines' state after those periods
    (``collateral.project``)."""
    prepay = {}
    for g in deal.groups:
        if g.name in assumptions.prepayment:
            prepay[g.name] = assumptions.prepayment[g.name]
        elif "all" in assumptions.prepayment:
            prepay[g.name] = assumptions.prepayment["all"]
        else:
            speed = g.pricing_speed or deal.header.pricing_speed
            try:
                prepay[g.name] = speed_curve(speed)
            except ValueError as e:
                raise RunError(str(e), span=speed.span) from None
    default = {}
    default_scale = np.ones_like(speeds)
    if cdr is not None:
        default = {g.name: Curve("CDR", rate=1.0) for g in deal.groups}
        default_scale = np.asarray(cdr, dtype=float)
    else:
        for g in deal.groups:
            cur = assumptions.defaults.get(g.name, assumptions.defaults.get("all"))
            if cur is not None:
                default[g.name] = cur
        if default and len(default) < len(deal.groups):
            for g in deal.groups:
                default.setdefault(g.name, Curve("CDR", rate=0.0))
    delinquency = {}
    for g in deal.groups:
        v = assumptions.delinquency.get(g.name, assumptions.delinquency.get("all"))
        if v is not None:
            arr = np.array(v + (v[-1],) * max(0, T - len(v)))[:T] if isinstance(v, tuple) else np.full(T, float(v))
            delinquency[g.name] = arr
    sev = np.full_like(speeds, assumptions.severity) if severity is None else np.asarray(severity, dtype=float)
    scen = Scenarios(prepay_scale=speeds, default_scale=default_scale, severity=sev,
                       recovery_lag=assumptions.recovery_lag)
    if current is None:
        return project(list(assumptions.lines), T, scen, prepay, default or None, index_paths, delinquency or None,
                       keep_after=keep_lines_after, kept=kept)
    n = current.period
    tail = project(list(current.lines), T - n, scen, prepay, default or None,
                   {k: np.asarray(v)[..., n:] for k, v in (index_paths or {}).items()},
                   {g: v[n:] for g, v in delinquency.items()} or None, merge=current.merge, period0=n)
    return _continued(tail, current, T, delinquency, assumptions)


def _continued(tail: dict, current: CurrentPool, T: int, delinquency: dict, assumptions: Assumptions) -> dict:
    """The flows of a run from a deal state, (S, T): the projection of the current
    lines from period n + 1 (``tail``), with the recoveries of earlier defaults added
    in the periods they arrive; before n + 1 only the state's delinquency history (the
    60+ delinquent fraction and the begin balance that weights it), zeros elsewhere."""
    n = current.period
    out = {}
    for g, f in tail.items():
        S = f.begin_balance.shape[0]
        kw = {}
        for fld in attrs.fields(GroupFlows):
            if fld.name == "cutoff_balance":
                continue
            a = np.zeros((S, T))
            a[:, n:] = getattr(f, fld.name)
            kw[fld.name] = a
        if g in delinquency:  # the assumptions' by deal period, before the state too
            kw["delinquent"][:, :] = delinquency[g][None, :T]
        arrivals = np.asarray(current.recoveries.get(g, ()), dtype=float)[:T - n]
        kw["recovery"][:, n:n + len(arrivals)] += arrivals
        hist = current.delinquency.get(g, ())
        for k, (fraction, begin) in enumerate(hist):
            t = n - len(hist) + k
            if t >= 0:
                kw["delinquent"][:, t] = fraction
                kw["begin_balance"][:, t] = begin
        cutoff = float(sum(ln.balance for ln in assumptions.lines if ln.group == g))
        out[g] = GroupFlows(**kw, cutoff_balance=cutoff)
    return out


def _pending_by_group(flows: dict, current: Optional[CurrentPool]) -> dict:
    """Per group, the recoveries still to come on defaulted loans at each period end
    (S, T), before the floor at 0: the running sum of default - loss - recovery,
    from a deal state's own figure after its distribution."""
    out = {}
    for g, f in flows.items():
        x = f.default - f.loss - f.recovery
        if current is not None and current.period > 0:
            x[:, current.period - 1] = current.pending.get(g, 0.0)
        out[g] = np.cumsum(x, axis=1)
    return out


# The date roller's name for each business-day rule of the deal language.
_ROLL_RULE = {A.BusinessRule.FOLLOWING: "following", A.BusinessRule.MODIFIED_FOLLOWING: "modified following",
              A.BusinessRule.PRECEDING: "preceding", A.BusinessRule.NO_ADJUSTMENT: "none"}


def distribution_schedule(deal: A.Deal, T: int) -> list:
    h = deal.header
    return distribution_dates(h.first_distribution, T, h.distribution_day, _ROLL_RULE[h.business_rule])


def run(deal: A.Deal, assumptions: Assumptions, speeds: Optional[Sequence[float]] = None,
        to: Sequence[str] = ("maturity",), check: bool = True,
        index_levels: Optional[dict] = None, cdr: Optional[Sequence[float]] = None,
        severity: Optional[Sequence[float]] = None, index_shift: Optional[dict] = None,
        trace: bool = False, engine: Optional[str] = None, keep: str = "all",
        start: Optional[dict] = None, parameters: Optional[dict] = None,
        constants: Optional[dict] = None, inspect: bool = False,
        keep_lines_after: Sequence[int] = ()) -> RunResult:
    """Run the deal at each speed (multiples of the pricing speed) and each
    mode ('maturity' or the name of an event that retires classes) in one
    vectorised pass: the scenario axis is modes x speeds. ``cdr``,
    ``severity`` and ``index_shift`` (index name -> shift) are optional
    per-speed arrays, so a flattened grid of scenarios runs as one pass.

    ``engine``: 'c' (the deal compiled to C, see waterfall/c_emit.py), 'numpy' (this
    module's loop), or 'auto' (C when a C compiler is there and the run needs
    nothing only the numpy loop has, such as ``trace``); default: the
    WATERFALL_ENGINE environment variable, else 'auto'. Both give the same
    results (tests/waterfall/test_ckernel.py).

    ``keep``: 'all' records, or 'lean' (see RunResult.lean: what grid
    analytics need, a fraction of the memory), or 'credit' (write-down totals and
    unpaid interest: what a breakeven needs). The numpy engine always keeps all.

    ``constants``: {constant slot: one value per speed} (a slot of
    ``program.const_decls``, e.g. a class's fixed coupon), inputs like ``parameters``.

    ``start``: where the run starts instead of the deal at closing, per class,
    account and event, one value or one per scenario (see
    ``waterfall.lowering.start_state``); an input like the deal's numbers, so
    it compiles nothing; its 'collateral' (a ``collateral.current.CurrentPool``,
    e.g. a deal state's) is projected from the state's next period instead of the
    assumptions' lines from closing. ``keep_lines_after``: periods after which the
    collateral lines' own state is kept (RunResult.line_states: what
    ``--save-state`` writes). ``parameters``: the deal's parameters one value per
    speed (``{name: values}``), e.g. a trigger threshold a solver varies; they
    too are inputs. ``inspect``: also keep every defined term, event, account,
    contract and class and group field by period (RunResult.inspected; see
    waterfall/inspection.py)."""
    if keep not in ("all", "lean", "credit"):
        raise RunError(f"unknown keep '{keep}': use all, lean or credit")
    speeds1 = np.asarray(assumptions.speeds if speeds is None else speeds, dtype=float)
    model_events = {e.name: i for i, e in enumerate(deal.events)}
    for m in to:
        if m != "maturity" and m not in model_events:
            raise RunError(f"unknown event '{m}' to run to; the deal's events: {', '.join(model_events) or 'none'}")
    modes = tuple(m for m in to for _ in speeds1)
    speeds = np.tile(speeds1, len(to))
    n_to = len(to)

    def per_scenario(x):
        return None if x is None else np.tile(np.broadcast_to(np.asarray(x, dtype=float), speeds1.shape), n_to)
    cdr, severity = per_scenario(cdr), per_scenario(severity)
    shifts = {k: per_scenario(v) for k, v in (index_shift or {}).items()}
    S = len(speeds)
    start = dict(start or {})
    current = start.pop("collateral", None)
    T = horizon(deal, assumptions, defaults=True if cdr is not None else None)
    if current is not None:
        if current.period != start.get("period", 0):
            raise RunError(f"starting collateral after period {current.period}, not the starting period "
                           f"{start.get('period', 0)}")
        if not assumptions.horizon:  # the current lines' own terms, if they run longer
            T = max(T, current.period + max(ln.remaining_term for ln in current.lines)
                    + (assumptions.recovery_lag if cdr is not None or assumptions.defaults else 0))
    program = lower_program(deal, assumptions, T)
    if inspect:
        program = with_inspections(program)
    per_scenario_constants = {}
    if parameters:
        try:
            given = {k: per_scenario(v) for k, v in parameters.items()}
        except ValueError:
            raise RunError(f"parameters: one value, or one for each of the {len(speeds1)} speeds") from None
        per_scenario_constants = run_constants(program, S, given)
    for slot, v in (constants or {}).items():
        a = per_scenario(v)
        if not 0 <= slot < len(program.const_decls) or not np.isfinite(a).all():
            raise RunError(f"constants: slot {slot} is not one of the program's, or a value is not finite")
        per_scenario_constants[slot] = a
    # per-speed starting values repeat for each mode, as the other per-scenario inputs do
    def per_speed(x):
        return np.tile(np.asarray(x, dtype=float), n_to) if np.ndim(x) == 1 and len(x) == len(speeds1) else x
    starting = start_state(program, S, {k: ({n: per_speed(x) for n, x in v.items()} if isinstance(v, dict) else v)
                                      for k, v in (start or {}).items()})
    retire_event = np.array([model_events.get(m, -1) for m in modes])
    for name, outcome in assumptions.events.items():
        if outcome == "fails":
            # A failed auction retires nothing; the event still happens (step-ups apply).
            retire_event[retire_event == model_events[name]] = -1
    if index_levels:
        # A stress: these indices held flat at the given levels instead of their curves.
        assumptions = attrs.evolve(assumptions, indices={**assumptions.indices, **index_levels})
    ipaths = _index_paths(program, assumptions, S, T)
    for name, shift in shifts.items():
        if name not in program.indices:
            raise RunError(f"unknown index '{name}' to shift")
        ipaths[program.indices.index(name)] += shift[:, None]
    named_paths = {n: ipaths[i] for i, n in enumerate(program.indices)}
    line_states: dict = {}
    flows = project_collateral(deal, assumptions, speeds, T, named_paths, cdr, severity, current,
                               keep_lines_after, line_states)
    dates = distribution_schedule(deal, T)
    closing = deal.header.closing
    # Recoveries still to come on loans already defaulted, by period (S, T).
    pending_by_group = _pending_by_group(flows, current)
    pending = np.maximum(sum(pending_by_group.values()), 0.0)
    fractions = accrual_fractions(program.fraction_kinds, dates, closing)  # (kinds, T) year fractions
    which = _choose_engine(engine, trace, program, T)
    kern = None
    if which == "c":
        from . import c_run
        kern = _compiled(program, engine)
    if kern is not None:
        lib, gen = kern
        ins = np.zeros((S, T, len(program.inspections))) if inspect else None
        recs, clause_c, acc_c, con_c, wdt, sold_c, error = c_run.run_kernel(
            lib, gen, program, S, T, flows, ipaths, pending, dates, closing, retire_event, fractions, keep,
            pending_by_group, starting, per_scenario_constants, ins)
        if error is not None:
            _raise_kernel_error(program, dates, error)

        def tcs(a):  # (S, T, X) -> (T, X, S) views
            return None if a is None else a.transpose(1, 2, 0)

        def cst(a):  # (C, S, T) -> (T, C, S) views
            return None if a is None else a.transpose(2, 0, 1)
        rec = {k: cst(recs.get(k)) for k in c_run.RECORDS}
        return RunResult(deal=deal, speeds=speeds, modes=modes, dates=tuple(dates),
                         class_names=program.layout.classes, **rec,
                         accounts=tcs(acc_c), account_names=tuple(a.name for a in deal.accounts),
                         contracts=tcs(con_c), contract_names=tuple(c.name for c in deal.contracts), trace=None,
                         sold_period=sold_c, index_path=named_paths, collateral=flows, clause_paid=tcs(clause_c),
                         clause_labels=program.layout.clauses, lean=keep != "all",
                         writedowns=wdt.T, inspected=None if ins is None else ins.transpose(1, 2, 0),
                         inspections=program.inspections, program=program, line_states=line_states or None,
                     pending=pending)
    st = PeriodState(program, S, flows, ipaths, dates, closing, starting)
    st.pending = pending
    st.pending_by_group = [pending_by_group[g] for g in program.groups]
    if trace:
        st.trace = []
    period = _NumpyPeriod(_NumpyProgram(program, per_scenario_constants), st, flows, pending, fractions,
                          retire_event, T, check)
    handlers = {phase: getattr(period, phase.name.lower()) for phase in P.PERIOD}
    for t in range(starting.period, T):  # a run from a deal state starts after its last distribution
        period.t = t
        for phase in P.PERIOD:
            handlers[phase]()
    return RunResult(deal=deal, speeds=speeds, modes=modes, dates=tuple(dates),
                     class_names=program.layout.classes,
                     **period.rec, accounts=period.acc_rec,
                     account_names=tuple(a.name for a in deal.accounts),
                     contracts=period.con_rec, contract_names=tuple(c.name for c in deal.contracts), trace=st.trace,
                     sold_period=period.sold_period,
                     index_path=named_paths, collateral=flows, clause_paid=period.clause_paid,
                     clause_labels=program.layout.clauses, inspected=period.inspected,
                     inspections=program.inspections, program=program, line_states=line_states or None,
                     pending=pending)


def _choose_engine(engine: Optional[str], trace: bool, program: P.Program, T: int) -> str:
    from ..native.build import available
    from ..native.policy import UnknownEngine, requested
    try:
        want = requested(engine)
    except UnknownEngine as e:
        raise RunError(str(e)) from None
    if want == "numpy":
        return "numpy"
    reason = None
    if trace:
        reason = "the payment trace is kept by the numpy engine only"
    elif not available():
        reason = "no C compiler found (set CC, or install gcc)"
    else:
        for t in program.table_data:
            if t.covered < T:
                reason = f"table {t.name} stops at {t.key} {t.covered}, before the horizon"
                break
    if reason is None:
        return "c"
    if want == "c":
        raise RunError(f"the compiled engine cannot run this: {reason}")
    return "numpy"


def _compiled(program: P.Program, engine: Optional[str]):
    """The deal's compiled kernel; on 'auto', None (the numpy engine runs) if it
    cannot be built, with a warning: that is a bug of the generator, not of the deal."""
    from . import c_emit, c_run
    from ..native.build import CompileError
    from ..native.policy import Unavailable, fall_back
    try:
        return c_run.kernel(program)
    except (CompileError, c_emit.Unsupported) as e:
        try:
            fall_back("compiled engine unavailable for this deal", e, engine, instead="running the numpy engine")
        except Unavailable:
            raise RunError(f"the compiled engine cannot run this deal: {e}") from None
        return None


def _raise_kernel_error(program: P.Program, dates, error) -> None:
    err, v = error
    code, t, s = int(err[0]), int(err[1]), int(err[2])
    if code == 1:
        raise conservation_error(program, dates, t, s, v[0], v[1], v[2], v[3], v[4], int(err[3]), v[5])
    c = program.classes[int(err[3])].name
    if code == 2:
        what = ("interest", "carryover", "unpaid realized losses")[int(err[4])]
        raise ConservationError(f"class {c} was paid {v[0]:,.6f} more {what} than it "
                                f"was owed in period {t + 1}, scenario {s}")
    raise ConservationError(f"class {c} has a negative balance {v[0]:,.6f} in period {t + 1}, scenario {s}")
