"""Shared helpers for the collateral tests (hand formulas in plain Python floats)."""

from __future__ import annotations

import numpy as np

from interpreter.collateral import Curve, Scenarios, project


def level_payment(balance: float, annual_rate: float, n: int) -> float:
    """P = B r / (1 - (1 + r)^-n), r = rate / 12."""
    r = annual_rate / 12.0
    return balance * r / (1.0 - (1.0 + r) ** -n)


def balance_after(balance: float, annual_rate: float, n: int, k: int) -> float:
    """Balance of a level-pay loan (term n) after k payments, no prepayment."""
    r = annual_rate / 12.0
    return balance * ((1 + r) ** n - (1 + r) ** k) / ((1 + r) ** n - 1)


def smm(cpr: float) -> float:
    return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)


NO_PREPAY = Curve("CPR", 0.0)


def run(lines, T, prepay=None, default=None, scen=None, **kw):
    """Project and return the flows of the single group of the lines (or the dict if several)."""
    groups = {ln.group for ln in lines}
    prepay = prepay if prepay is not None else NO_PREPAY
    prepay_map = prepay if isinstance(prepay, dict) else {g: prepay for g in groups}
    default_map = default if (default is None or isinstance(default, dict)) else {g: default for g in groups}
    scen = scen if scen is not None else Scenarios.single()
    out = project(lines, T, scen, prepay_map, default_map, **kw)
    return out[next(iter(groups))] if len(groups) == 1 else out


def assert_conserves(flows, rtol=1e-12):
    """begin = scheduled + prepayment + default + end, every period, and end(t) = begin(t+1)."""
    f = flows
    resid = f.begin_balance - (f.scheduled_principal + f.prepayment + f.default + f.end_balance)
    scale = max(1.0, float(np.max(f.begin_balance)))
    assert np.max(np.abs(resid)) <= rtol * scale
    np.testing.assert_allclose(f.end_balance[:, :-1], f.begin_balance[:, 1:], rtol=0, atol=rtol * scale)
