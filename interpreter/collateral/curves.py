"""Prepayment and default curves: CPR/SMM, PSA, PPC, ABS, SDA and vectors, as
monthly rates by curve month (conventions: see ``projection``), and the
per-group rate tables the numpy path and the C kernel read."""

from __future__ import annotations

import numpy as np

from .model import Curve

# Curve table modes (per group): how a table entry is made from the scenario
# multiplier ``sc`` and the scenario-independent base value ``x`` of a column
# (fill_table in kernels/collateral_lanes.h).
MODE_NONE = -1  # no curve: rate 0
MODE_LINEAR = 0  # SMM / MDR: min(sc * x, 1)
MODE_ANNUAL = 1  # CPR / CDR / PSA / SDA / PPC: SMM = 1 - (1 - min(sc * x, 1))^(1/12)
MODE_ABS = 2  # ABS: a = sc * speed, month x: SMM = a / (1 - a (x - 1)), 1 once 1 - a (x - 1) <= a


# --------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------
def cpr_to_smm(cpr):
    """SMM = 1 - (1 - CPR)^(1/12) (also CDR -> MDR)."""
    cpr = np.minimum(np.asarray(cpr, dtype=float), 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(np.log1p(-cpr) / 12.0)  # == 1 - (1 - CPR)^(1/12), accurate for small CPR


def smm_to_cpr(smm):
    """CPR = 1 - (1 - SMM)^12."""
    return 1.0 - (1.0 - np.asarray(smm, dtype=float)) ** 12


def psa_cpr(month, multiple: float = 1.0):
    """PSA: 100% = 0.2% CPR x month up to 6% at month 30, then flat; times ``multiple``."""
    m = np.asarray(month, dtype=float)
    return multiple * 0.06 * np.clip(m, 0.0, 30.0) / 30.0


def ppc_cpr(month, start: float, end: float, ramp_months: int):
    """PPC: start + (month-1)(end-start)/(ramp_months-1) up to ramp_months, then end."""
    m = np.asarray(month, dtype=float)
    if ramp_months <= 1:
        return np.full(m.shape, float(end)) if m.ndim else float(end)
    step = (end - start) / (ramp_months - 1)
    return np.where(m >= ramp_months, end, start + (np.maximum(m, 1.0) - 1.0) * step)


def sda_cdr(month, multiple: float = 1.0):
    """SDA 100%: 0.02% x month to 0.60% at 30; flat to 60; -0.0095%/month to 0.03% at 120; then 0.03%."""
    m = np.asarray(month, dtype=float)
    up = 0.0002 * np.clip(m, 0.0, 30.0)
    down = 0.006 - 0.000095 * (np.clip(m, 60.0, 120.0) - 60.0)
    return multiple * np.where(m <= 60, up, down)


def _annual(curve: Curve, month: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The annual rate (CPR or CDR) of an annual-rate curve at curve months ``month``."""
    kind = curve.kind
    if kind in ("CPR", "CDR"):
        return curve.rate * ones
    if kind == "PSA":
        return psa_cpr(month, curve.rate)
    if kind == "SDA":
        return sda_cdr(month, curve.rate)
    if kind == "PPC":
        return ppc_cpr(month, curve.ramp_start, curve.ramp_end, curve.ramp_months)
    raise ValueError(kind)  # pragma: no cover - guarded by Curve validation


def _monthly(curve: Curve, month: np.ndarray, period: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """Monthly rate for curve months ``month`` / deal periods ``period`` (same shape (N,)),
    scenario multipliers ``sc`` (S, 1); returns (S, N)."""
    kind = curve.kind
    ones = np.ones(month.shape)
    if curve.vector:
        vec = np.asarray(curve.vector)
        v = vec[np.clip(period.astype(np.int64), 1, vec.size) - 1]  # by deal period, last value held
        if kind in ("SMM", "MDR"):
            return np.minimum(sc * v, 1.0)
        return cpr_to_smm(np.minimum(sc * v, 1.0))
    if kind in ("SMM", "MDR"):
        return np.minimum(sc * curve.rate, 1.0) * ones
    if kind == "ABS":
        # SMM = ABS / (1 - ABS x (month - 1)); 100% once the denominator reaches ABS
        a = sc * curve.rate
        den = 1.0 - a * (month - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            smm = np.where(den > a, a / np.where(den > 0, den, 1.0), 1.0)
        return np.clip(smm, 0.0, 1.0)
    return cpr_to_smm(np.minimum(sc * _annual(curve, month, ones), 1.0))


def _by_period(curve: Curve) -> bool:
    """True if the curve is read by deal period (basis 'deal' or a vector), not by loan age."""
    return bool(curve.vector) or curve.basis == "deal"


def monthly_rate(curve: Curve, age, period: int, scale=1.0) -> np.ndarray:
    """Monthly rate (SMM or MDR) of ``curve`` in deal period ``period``.

    ``age``: loan ages at cut-off, shape (L,); ``scale``: scenario multipliers,
    shape (S,).  Returns an (S, L) array.  Curve month = age + period for
    ``basis="age"``, period for ``basis="deal"``; vectors are read by period.
    """
    age = np.atleast_1d(np.asarray(age, dtype=float))
    sc = np.asarray(scale, dtype=float).reshape(-1, 1)
    month = age + period if curve.basis == "age" else np.full(age.shape, float(period))
    return _monthly(curve, month, np.full(age.shape, float(period)), sc)


def _curve_base(curve: Curve, n_cols: int) -> tuple[int, float, np.ndarray]:
    """The scenario-independent part of ``_curve_table(curve, sc, n_cols)`` for the C kernel.

    Returns (mode, param, base (n_cols,)) such that column j of the table for a
    scenario multiplier sc is, with x = base[j] (see ``c_backend``):
    mode 0 (SMM/MDR): min(sc x, 1);  mode 1 (CPR/CDR/PSA/SDA/PPC):
    cpr_to_smm(min(sc x, 1));  mode 2 (ABS, x = month, param = ABS speed):
    a = sc param, SMM = a / (1 - a (x - 1)), 1 once that denominator <= a.
    ``base`` holds exactly the values ``_monthly`` multiplies by sc.
    """
    j = np.arange(n_cols, dtype=float)
    month = period = np.maximum(j, 1.0)
    ones = np.ones(month.shape)
    kind = curve.kind
    if curve.vector:
        vec = np.asarray(curve.vector)
        v = vec[np.clip(period.astype(np.int64), 1, vec.size) - 1]
        return (MODE_LINEAR if kind in ("SMM", "MDR") else MODE_ANNUAL), 0.0, v
    if kind in ("SMM", "MDR"):
        return MODE_LINEAR, 0.0, curve.rate * ones
    if kind == "ABS":
        return MODE_ABS, float(curve.rate), month
    return MODE_ANNUAL, 0.0, np.broadcast_to(_annual(curve, month, ones), month.shape)


def _curve_table(curve: Curve | None, sc: np.ndarray, n_cols: int) -> np.ndarray:
    """(S, n_cols) monthly rates; column j = curve month j (age basis) or deal period j."""
    j = np.arange(n_cols, dtype=float)
    if curve is None:
        return np.zeros((sc.shape[0], n_cols))
    out = _monthly(curve, np.maximum(j, 1.0), np.maximum(j, 1.0), sc.reshape(-1, 1))
    return np.ascontiguousarray(np.broadcast_to(out, (sc.shape[0], n_cols)))
