"""The deal linter: what a run shows is probably not what the deal means.

A deal that checks can still run to figures that mean nothing: a horizon
that stops before the bonds are paid, principal leaking to the residual while
certificates are outstanding, more certificates than collateral, a class
whose interest accrues and is never paid. None of these is an error (a deal
may intend each), so they are warnings, positioned at the deal-file line of the
class or clause concerned even when the cause is in the assumptions (the
horizon, say). ``run-deal`` lints every run it makes at the table speeds and
prints them on stderr; ``--check`` makes that run too, and ``--strict`` turns a
warning into exit 2.

Each check is a small named function of one ``Lint`` (the deal, its
assumptions, the run and the run's period program) returning diagnostics, in
the list ``LINTS``, as the checker's are (Beancount's validations).
"""
from __future__ import annotations

from typing import Callable, Iterator, List, Optional

import attrs
import numpy as np

from dsl import ast as A
from dsl.diagnostics import Diagnostic

from .waterfall import program as P
from .waterfall.records import RunResult

CENT = 0.005  # an amount below half a cent is dust of the arithmetic, not money


@attrs.frozen
class Lint:
    deal: A.Deal
    assumptions: object  # interpreter.assumptions.Assumptions
    result: RunResult
    program: P.Program

    @property
    def principal_classes(self) -> List[int]:
        return [i for i, c in enumerate(self.program.classes) if not (c.residual or c.notional)
                and not self.deal.class_named(c.name).no_cashflow]

    def scenario(self, s: int) -> str:
        r = self.result
        to = "" if r.modes[s] == "maturity" else f", to {r.modes[s]}"
        return f"{r.speeds[s] * 100:g}% of the pricing speed{to}"


def warning(span: A.Span, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(span, message, hint=hint, severity="warning")


def outstanding_at_horizon(lx: Lint) -> Iterator[Diagnostic]:
    """A principal class still outstanding when the run ends: its yield, WAL and
    duration are of a bond cut short (a horizon shorter than the collateral's life)."""
    r = lx.result
    end = r.balance[-1]  # (C, S)
    T = r.n_periods
    horizon = lx.assumptions.horizon
    cause = (f"the assumptions set 'horizon: {horizon}' ({lx.assumptions.path})" if horizon
             else "the run ends with the longest remaining term")
    pool_end = sum(f.end_balance[:, -1] for f in r.collateral.values())  # (S,)
    for c in lx.principal_classes:
        s = int(np.argmax(end[c]))
        if end[c, s] > CENT:
            name = lx.program.classes[c].name
            hint = (f"{cause}, while {pool_end[s]:,.2f} of collateral is outstanding: a longer horizon pays it out"
                    if pool_end[s] > CENT else
                    "the collateral is paid out by then: the class has more principal than the collateral pays")
            yield warning(lx.deal.class_named(name).span,
                          f"class {name} still has {end[c, s]:,.2f} outstanding at the end of the run "
                          f"(period {T}, {r.dates[-1]}) at {lx.scenario(s)}: its figures stop short", hint=hint)


def residual_paid_principal(lx: Lint) -> Iterator[Diagnostic]:
    """Principal collected and not paid to the principal classes, released to a
    residual class while principal classes are outstanding: overcollateralization
    released. Intended where the residual class says 'releases overcollateralization'."""
    r, prog = lx.result, lx.program
    prin = lx.principal_classes
    quiet = [i for i, c in enumerate(prog.classes) if c.residual and not lx.deal.class_named(c.name).releases_oc]
    if not prin or not quiet or r.principal is None:
        return
    pool = sum(f.principal for f in r.collateral.values()).T  # (T, S)
    kept = pool + r.accreted[:, prin, :].sum(axis=1) - r.principal[:, prin, :].sum(axis=1)
    outstanding = r.balance[:, prin, :].sum(axis=1) > CENT
    T = r.n_periods
    sold = np.full(len(r.modes), -1) if r.sold_period is None else np.asarray(r.sold_period)
    before_sale = np.arange(T)[:, None] < np.where(sold >= 0, sold, T)[None, :]
    to_residual = r.interest[:, quiet, :]  # (T, R, S): a residual class's 'interest' is the cash released to it
    leaked = np.minimum(np.maximum(kept, 0.0), to_residual.sum(axis=1)) * (outstanding & before_sale)
    if not (leaked > CENT).any():
        return
    t, s = np.unravel_index(int(np.argmax(leaked)), leaked.shape)
    k = quiet[int(np.argmax(to_residual[t, :, s]))]
    name = prog.classes[k].name
    periods = int((leaked[:, s] > CENT).sum())
    yield warning(lx.deal.class_named(name).span,
                  f"class {name} is paid principal while principal classes are outstanding: {leaked[t, s]:,.2f} "
                  f"in period {t + 1} ({r.dates[t]}) at {lx.scenario(s)}, {periods} period(s) in all",
                  hint="if the deal releases overcollateralization to it, say so on the class: "
                       "'releases overcollateralization'")


def certificates_exceed_collateral(lx: Lint) -> Iterator[Diagnostic]:
    """The principal classes' original balances add up to more than the collateral at closing."""
    certs = sum(float(lx.deal.class_named(lx.program.classes[c].name).balance.value)
                for c in lx.principal_classes)
    pool = sum(float(line.balance) for line in lx.assumptions.lines)
    if certs > pool + CENT:
        yield warning(lx.deal.header.span,
                      f"the certificates ({certs:,.2f}) exceed the collateral at closing ({pool:,.2f}, "
                      f"{lx.assumptions.path}) by {certs - pool:,.2f}",
                      hint="the classes' balances, or the collateral's, are not those of the term sheet")


def _interest_paid(program: P.Program) -> set:
    """Classes some step pays current interest to (or accretes)."""
    paid = set()
    blocks = [c.steps for c in program.clause_decls] + [d.steps for d in program.distribution_decls]
    for steps in blocks:
        for st in P.walk_steps(steps):
            if isinstance(st, P.PayStep) and st.kind in (P.PayKind.INTEREST, P.PayKind.CURRENT_INTEREST):
                paid.update(st.targets)
            elif isinstance(st, P.AccreteStep):
                paid.update(st.targets)
    return paid


def interest_never_paid(lx: Lint) -> Iterator[Diagnostic]:
    """A class accrues interest (its rate is above zero in the run) that no step pays."""
    paid = _interest_paid(lx.program)
    r = lx.result
    for acc in lx.program.accruals:
        if acc.c in paid or r.rate is None or not (r.rate[:, acc.c, :] > 0).any():
            continue
        name = lx.program.classes[acc.c].name
        yield warning(lx.deal.class_named(name).span,
                      f"class {name} accrues interest but no clause pays its current interest",
                      hint=f"a step such as 'pay current and unpaid interest to {name}'")


LINTS: List[Callable[[Lint], Iterator[Diagnostic]]] = [
    certificates_exceed_collateral, interest_never_paid, outstanding_at_horizon, residual_paid_principal]


def lint(deal: A.Deal, assumptions, result: RunResult, program: Optional[P.Program] = None) -> List[Diagnostic]:
    """The warnings of a run (made with all its records), in file order."""
    if program is None:
        program = result.program
    if program is None or result.lean:
        return []
    lx = Lint(deal, assumptions, result, program)
    out = [d for check in LINTS for d in check(lx)]
    return sorted(out, key=lambda d: (d.span.line, d.span.column))


def print_warnings(warnings: List[Diagnostic], deal: A.Deal, stream) -> int:
    """Each warning with its line and a caret; how many there were."""
    for w in warnings:
        print(w.render(deal.source), file=stream)
    return len(warnings)


def lint_files(deal: A.Deal, assumptions_path: str) -> List[Diagnostic]:
    """The language server's on-save pass: the deal run at its table speeds over
    the assumptions file beside it (none: nothing to lint), its warnings; a run
    that fails is one diagnostic at the line that caused it, or at the deal."""
    from pathlib import Path
    from dsl.diagnostics import DealError
    from .assumptions import load_assumptions
    from .errors import RunError
    if not Path(assumptions_path).is_file():
        return []
    try:
        assumptions = load_assumptions(assumptions_path, deal)
        modes = [deal.header.table_event, "maturity"] if deal.header.table_event else ["maturity"]
        from .engine import run
        # on the numpy engine: an editor's save never waits on a compiler (a deal's first C build,
        # the fixed kernels' on a fresh checkout); the warnings are the same on both engines
        result = run(deal, assumptions, list(assumptions.speeds), to=modes, engine="numpy")
    except DealError as e:
        return list(e.diagnostics)
    except RunError as e:
        span = e.span if getattr(e, "span", None) is not None else deal.header.span
        return [Diagnostic(span, str(e), hint=getattr(e, "hint", ""))]
    return lint(deal, assumptions, result)
