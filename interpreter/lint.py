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
    # a scenario whose collateral was sold: what the sale leaves is sale_leaves_classes's to say
    unsold = np.ones(len(r.modes), bool) if r.sold_period is None else np.asarray(r.sold_period) < 0
    for c in lx.principal_classes:
        s = int(np.argmax(end[c] * unsold))
        if end[c, s] * unsold[s] > CENT:
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


def _fund(program: P.Program, fund: int) -> str:
    from .waterfall.money import fund_name
    if fund in program.layout.account_funds:
        return f"account {program.layout.accounts[program.layout.account_funds.index(fund)]}"
    return fund_name(program, fund)


def _after_release(steps, drained: dict) -> Iterator[tuple]:
    """(step, the drained funds it draws on) for each step (branches too) that draws only on funds a
    'pay remaining' without 'up to' emptied earlier in the period; ``drained`` (fund -> the line of
    the release that emptied it) is updated in place:
    a release outside a branch empties its funds, a deposit or an accretion fills its fund again."""
    for st in steps:
        funds = set(getattr(st, "funds", ()))
        if funds and funds <= drained.keys() and not isinstance(st, P.BranchStep):  # its steps say it
            yield st, funds
        if isinstance(st, P.BranchStep):
            # a branch pays in some scenarios only: it empties nothing, and what it fills is filled
            yield from _after_release(st.then, dict(drained))
            yield from _after_release(st.other, dict(drained))
            for inner in P.walk_steps(st.then + st.other):
                for f in ((inner.account,) if isinstance(inner, P.DepositStep) else
                          (inner.into,) if isinstance(inner, P.AccreteStep) else ()):
                    drained.pop(f, None)
        elif isinstance(st, P.ReleaseStep) and st.limit is None:
            for f in st.funds:
                drained.setdefault(f, st.span.line)
        elif isinstance(st, P.DepositStep):
            drained.pop(st.account, None)
        elif isinstance(st, P.AccreteStep):
            drained.pop(st.into, None)


def steps_after_remaining(lx: Lint) -> Iterator[Diagnostic]:
    """A step after a 'pay remaining' (without 'up to') that empties every fund it
    draws on: it never receives cash, whatever the scenario."""
    drained: dict = {}
    for clause in lx.program.clause_decls:
        for st, funds in _after_release(clause.steps, drained):
            f = min(funds)
            yield warning(st.span, f"this step never receives cash: 'pay remaining' (line {drained[f]}) "
                                   f"releases everything left in {_fund(lx.program, f)} before it",
                          hint="put the step before the 'pay remaining' that releases its funds")


def _class_line(lx: Lint, c: int) -> A.Span:
    return lx.deal.class_named(lx.program.classes[c].name).span


def sale_leaves_classes(lx: Lint) -> Iterator[Diagnostic]:
    """A run to an early-retirement event: a class outstanding at the sale that the event
    does not retire is written down (or left unpaid) while the proceeds go to the residual."""
    r, prog = lx.result, lx.program
    if r.sold_period is None or r.balance is None:
        return
    sold = np.asarray(r.sold_period)
    for decl in prog.event_decls:
        name = prog.layout.events[decl.k]
        runs = [s for s in range(len(r.modes)) if r.modes[s] == name and sold[s] >= 0]
        event = next(e for e in lx.deal.events if e.name == name)
        for c in lx.principal_classes:
            if c in decl.retires or not runs:
                continue
            left = np.array([r.balance[sold[s], c, s] + r.writedown[sold[s], c, s] for s in runs])
            k = int(np.argmax(left))
            if left[k] <= CENT:
                continue
            s, t = runs[k], int(sold[runs[k]])
            end = r.balance[-1, c, s]
            how = (f"{left[k] - end:,.2f} written down" + (f", {end:,.2f} left unpaid" if end > CENT else "")
                   if left[k] - end > CENT else f"{end:,.2f} left unpaid")
            yield warning(event.span,
                          f"the sale at event {name} leaves class {prog.classes[c].name} outstanding: "
                          f"{left[k]:,.2f} in period {t + 1} ({r.dates[t]}) at {lx.scenario(s)} ({how}), "
                          f"while the rest of the proceeds go to the residual",
                          hint="name it in the event's 'retires' (the classes outstanding at the sale)")


def interest_owed_at_end(lx: Lint) -> Iterator[Diagnostic]:
    """A class still owed interest (current interest not paid, carried as unpaid
    interest) when the run ends: its coupon is above what the collateral pays."""
    r = lx.result
    if r.unpaid_interest is None:
        return
    end = r.unpaid_interest[-1]  # (C, S)
    for c in sorted(_interest_paid(lx.program)):  # a class no clause pays: interest_never_paid says so
        s = int(np.argmax(end[c]))
        if end[c, s] > CENT:
            periods = int((r.unpaid_interest[:, c, s] > CENT).sum())
            yield warning(_class_line(lx, c),
                          f"class {lx.program.classes[c].name} is owed {end[c, s]:,.2f} of unpaid interest at the end "
                          f"of the run (period {r.n_periods}, {r.dates[-1]}) at {lx.scenario(s)}, short in "
                          f"{periods} period(s)",
                          hint="the funds that pay it fall short: a coupon above the collateral's net rate, "
                               "or interest lost with defaulted loans")


def _account_line(lx: Lint, a: int) -> A.Span:
    name = lx.program.layout.accounts[a]
    return next(acc for acc in lx.deal.accounts if acc.name == name).span


def account_cash_stranded(lx: Lint) -> Iterator[Diagnostic]:
    """An account still holding cash when every class is retired (no step releases it),
    or holding cash in a period a class is written down (no step draws on it to cover the loss)."""
    r = lx.result
    if r.accounts is None or r.balance is None or not len(r.account_names):
        return
    prin = lx.principal_classes
    retired = (r.balance[-1][prin] <= CENT).all(axis=0) if prin else np.ones(len(r.modes), bool)  # (S,)
    written = r.writedown[:, prin, :].sum(axis=1) if prin else np.zeros((r.n_periods, len(r.modes)))  # (T, S)
    for a, acc in enumerate(r.account_names):
        held = r.accounts[-1, a, :] * retired
        s = int(np.argmax(held))
        if held[s] > CENT:
            yield warning(_account_line(lx, a),
                          f"account {acc} holds {held[s]:,.2f} at the end of the run (period {r.n_periods}, "
                          f"{r.dates[-1]}) at {lx.scenario(s)}, when every class is retired",
                          hint=f"a step such as 'from account {acc}: pay remaining to <residual class>' releases it")
        both = np.where(written > CENT, np.minimum(r.accounts[:, a, :], written), 0.0)  # (T, S)
        if (both > CENT).any():
            t, s = np.unravel_index(int(np.argmax(both)), both.shape)
            yield warning(_account_line(lx, a),
                          f"account {acc} holds {r.accounts[t, a, s]:,.2f} at the end of period {t + 1} "
                          f"({r.dates[t]}) at {lx.scenario(s)}, while {written[t, s]:,.2f} of principal "
                          f"is written down",
                          hint=f"a step drawing on account {acc} for principal would cover the loss")


LINTS: List[Callable[[Lint], Iterator[Diagnostic]]] = [
    account_cash_stranded, certificates_exceed_collateral, interest_never_paid, interest_owed_at_end,
    outstanding_at_horizon, residual_paid_principal, sale_leaves_classes, steps_after_remaining]


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
