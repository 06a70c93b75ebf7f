"""The lowering: a checked deal and its assumptions turned into what the
engines read, every name resolved to an index, tables laid out by period.

(Issue 14, step 1: moved here unchanged from engine.py; the period program
that both engines read grows from it.)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from dsl import ast as A
from dsl.check import expand_classes

from .. import collateral as C
from ..assumptions import Assumptions, speed_curve
from ..errors import RunError


class Model:
    """A deal compiled for the engine: names resolved to array indices,
    expressions to closures, tables to arrays by period."""

    def __init__(self, deal: A.Deal, assumptions: Assumptions, n_periods: int):
        self.deal = deal
        self.assumptions = assumptions
        self.n_periods = n_periods
        self.classes = list(deal.classes)
        self.class_index = {c.name: i for i, c in enumerate(self.classes)}
        self.groups = [g.name for g in deal.groups]
        self.group_index = {g: i for i, g in enumerate(self.groups)}
        self.index_names = {ix.name: i for i, ix in enumerate(deal.indices)}
        self.event_index = {e.name: i for i, e in enumerate(deal.events)}
        self.contract_index = {c.name: i for i, c in enumerate(deal.contracts)}
        self.parameters = {}
        for p in deal.parameters:
            if p.name in assumptions.parameters:
                self.parameters[p.name] = assumptions.parameters[p.name]
            elif p.default is not None:
                self.parameters[p.name] = p.default.value
            else:
                raise RunError(f"{p.span}: parameter '{p.name}' has no value: set it under 'parameters:' "
                               f"in {assumptions.path}")
        self.tables = {}
        for t in deal.tables:
            arr = np.full(n_periods + 1, np.nan)
            for row in t.rows:
                last = n_periods if row.last is None else min(row.last, n_periods)
                arr[row.first:last + 1] = row.values[0].value
            self.tables[t.name] = arr
        self.original = np.array([c.balance.value if (c.balance is not None and c.notional is None) else 0.0
                                  for c in self.classes])
        self.is_residual = np.array([c.residual for c in self.classes])
        self.is_notional = np.array([c.notional is not None for c in self.classes])
        self._cutoff = {g: float(sum(l.balance for l in assumptions.lines if l.group == g)) for g in self.groups}
        self.account_index = {a.name: i for i, a in enumerate(deal.accounts)}
        self.schedules = {sc.name: planned_balance(sc, assumptions, n_periods) for sc in deal.schedules}
        self.has_carry = [c.carryover or c.carryover_max is not None for c in self.classes]
        self.event_retires = [np.array([self.class_index[n] for n in expand_classes(deal, e.retires)], dtype=int)
                              for e in deal.events]
        residuals = [i for i, c in enumerate(self.classes) if c.residual]
        self.first_residual = residuals[0] if residuals else None
        # Funds. Flow buckets (emptied every period): interest, principal and
        # prepayment charges per group, each contract's receipts, each
        # distribution's scratch bucket. Then accounts, which carry over.
        self.fund_keys = []
        for g in self.groups:
            self.fund_keys += [("interest", g), ("principal", g), ("penalties", g)]
        for c in deal.contracts:
            self.fund_keys.append(("contract", c.name))
        for d in deal.distributions:
            self.fund_keys.append(("distribution", d.name))
        self.n_flow_buckets = len(self.fund_keys)
        for a in deal.accounts:
            self.fund_keys.append(("account", a.name))
        self.fund_index = {k: i for i, k in enumerate(self.fund_keys)}
        self.available_funds = np.array([self.fund_index[(k, g)] for g in self.groups
                                         for k in ("interest", "principal")], dtype=int)
        self.all_flow_buckets = np.arange(self.n_flow_buckets)
        self.distributions = {}
        for d in deal.distributions:
            scratch = np.array([self.fund_index[("distribution", d.name)]], dtype=int)
            self.distributions[d.name] = (scratch, None)
        self.clause_labels = tuple(c.label for c in deal.waterfall.clauses)
        self.loss_order = []
        if deal.losses is not None:
            for step in deal.losses.steps:
                self.loss_order.append((step.mode, np.array([self.class_index[n] for n in
                                                             expand_classes(deal, step.targets)], dtype=int)))

    def cutoff_balance(self, g: Optional[int]) -> float:
        if g is None:
            return float(sum(self._cutoff.values()))
        return float(self._cutoff[self.groups[g]])

    # ---- steps
    def _buckets(self, funds: Sequence[A.Fund]) -> np.ndarray:
        out = []
        for f in funds:
            if f.kind == "account":
                out.append(self.fund_index[("account", f.group)])
                continue
            if f.kind == "contract":
                out.append(self.fund_index[("contract", f.group)])
                continue
            groups = self.groups if f.group is None else [f.group]
            kinds = {"interest": ("interest",), "principal": ("principal",), "funds": ("interest", "principal"),
                     "excess": ("interest", "principal"), "penalties": ("penalties",)}[f.kind]
            if f.kind == "excess":
                groups = self.groups
            for g in groups:
                for k in kinds:
                    out.append(self.fund_index[(k, g)])
        return np.array(sorted(set(out)), dtype=int)

def planned_balance(sc: A.ScheduleDecl, assumptions: Assumptions, T: int) -> np.ndarray:
    """A PAC planned balance by period (index 0 = closing): the size less the
    cumulative least principal of the group at the band's two speeds."""
    lines = [l for l in assumptions.lines if l.group == sc.group]
    if not lines:
        raise RunError(f"{sc.span}: schedule {sc.name}: group {sc.group} has no collateral lines")
    principal = []
    for speed in (sc.low, sc.high):
        try:
            curve = speed_curve(speed)
        except ValueError as e:
            raise RunError(f"{speed.span}: {e}") from None
        flows = C.project(lines, T, C.Scenarios.single(), {sc.group: curve})
        principal.append(flows[sc.group].principal[0])
    band = np.minimum(principal[0], principal[1])
    out = np.empty(T + 1)
    out[0] = sc.size.value
    out[1:] = np.maximum(sc.size.value - np.cumsum(band), 0.0)
    return out
