"""Term-sheet measures of one class over many scenarios at once (WAL,
principal window, yield or discount margin at a price, durations): the
compiled kernel ``interpreter/kernels/analytics.c`` where there is a C
compiler, the formulas of ``measures.py`` otherwise.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .measures import discount_margin, principal_window, wal, yield_and_duration

# --------------------------------------------------------------------------------------------
# Term-sheet measures of one class over many scenarios: a compiled kernel
# --------------------------------------------------------------------------------------------
#
# `class_measures` computes, per scenario, what `report.analyze` needs of a class: the
# principal window, the WAL, and for a fixed-rate class the yield at a full price (and the
# durations at it), for a floater the discount margin and the yield/durations on actual/360
# time. It reads the class's cash components where the run left them (any strides: no
# (S, T) flows array is formed) and solves every scenario on its own flows only.
#
# The formulas are the ones above (SIFMA SF, as cited in the module docstring):
#   WAL = sum(P_t t_t) / sum(P_t);
#   cash-flow yield: sum_t CF_t (1 + y/2)^(-2 t_t) = full price, solved for x = ln(1 + y/2),
#     y = 2 expm1(x) (semi-annual on 30/360 years: the BEY; floaters: on actual/360 years);
#   Macaulay D = sum t PV_t / sum PV_t at the yield, modified D / (1 + y/2);
#   discount margin: sum_t CF_t prod_{k<=t} 1 / (1 + (i_k + dm) a_k) = price.
# The root-finder is `_solve`, row by row: the same bracket (x0 -/+ h, h doubling), the same
# safeguarded Newton steps and stopping rule. Only the evaluation differs: the discount
# factors exp(-t x) are built by multiplying the previous one by exp(-(t_k - t_{k-1}) x), one
# exp per distinct step (payment dates are monthly, so there are a handful), instead of one
# exp per period; the relative difference is a few ulps per period (1e-14 over 360 periods),
# far inside the 1e-13 convergence tolerance's effect on a yield.
#
# The kernel is interpreter/kernels/analytics.c, built once by interpreter.native.fixed.
# `class_measures_numpy` computes the same with the vectorised functions above (the path
# taken when there is no C compiler); tests compare the two.

class ClassInputs(NamedTuple):
    """What `class_measures` needs of one class (n periods, S scenarios).

    components  four (n, S) arrays, any strides: interest, principal, carryover paid, loss
                reimbursed; the class's cash is their sum (in that order), its flows per 100 of
                face cash / face * 100. Or two: (total cash, principal), from a lean run;
    face        the face the flows are quoted per 100 of;
    years       (n,) 30/360 years from settlement (the WAL's times);
    kind        'window' (principal window and WAL only), 'fixed' or 'floater';
    price       (S,) full price per 100 (fixed: clean + accrued; floaters settle flat);
    times       (n,) years on which the yield and durations are solved (fixed: 30/360,
                floaters: actual/360);
    index       (S, n) index rate of each accrual period (floaters);
    accrual_days (n,) actual days of each accrual period, the first from settlement (floaters).
    """
    components: tuple
    face: float
    years: np.ndarray
    kind: str
    price: np.ndarray | None = None
    times: np.ndarray | None = None
    index: np.ndarray | None = None
    accrual_days: np.ndarray | None = None


class ClassMeasures(NamedTuple):
    """Per scenario, shape (S,): WAL; first and last principal period (0-based, -1 if none);
    yield (semi-annual, decimal); modified duration (years); discount margin (decimal)."""
    wal: np.ndarray
    first: np.ndarray
    last: np.ndarray
    yld: np.ndarray
    mdur: np.ndarray
    dm: np.ndarray


def _flows_of(ci: ClassInputs) -> np.ndarray:
    """(S, n) flows per 100 of face (the sum of the components in their order; NaN
    for a class of no face, whose figures are NA)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (_cash_of(ci.components) / ci.face * 100.0).T


def _cash_of(components) -> np.ndarray:
    """(n, S) total cash: ((interest + principal) + carryover) + reimbursed losses, or
    the total itself when the components are (total cash, principal) (a lean run)."""
    if len(components) == 2:
        return components[0]
    i, p, c, r = components
    return ((i + p) + c) + r


def class_measures_numpy(ci: ClassInputs) -> ClassMeasures:
    """`class_measures` with the vectorised numpy functions of this module."""
    s = ci.components[1].shape[1]
    # Only the periods up to the class's last payment (in any scenario) matter:
    # trimming them makes the root-finding cheaper without changing a result.
    paying = np.nonzero((_cash_of(ci.components) != 0).any(axis=1))[0]
    n = int(paying[-1]) + 1 if len(paying) else 1
    ci = ci._replace(components=tuple(x[:n] for x in ci.components), years=ci.years[:n],
                     times=None if ci.times is None else ci.times[:n],
                     index=None if ci.index is None else ci.index[:, :n],
                     accrual_days=None if ci.accrual_days is None else ci.accrual_days[:n])
    prin = np.asarray(ci.components[1]).T
    first, last = principal_window(prin)
    wal_ = wal(prin, ci.years)
    yld = np.full(s, np.nan)
    mdur = np.full(s, np.nan)
    dm = np.full(s, np.nan)
    if ci.kind in ("fixed", "floater"):
        flows = _flows_of(ci)
        if ci.kind == "floater":
            dm = discount_margin(flows, ci.index, ci.accrual_days, ci.price)
        yd = yield_and_duration(flows, ci.times, ci.price, frequency=2)
        yld, mdur = yd.yld, yd.modified
    return ClassMeasures(wal_, first, last, yld, mdur, dm)


_KERNEL_BLOCK = 512     # scenarios whose flows the kernel holds at once (B x n doubles)
_MAX_STEPS = 64        # distinct time steps the kernel's discounting supports (MAXDT)
_THREAD_MIN = 256      # scenarios from which the kernel runs in two threads


_kernel_failed: list = []  # the reason, once the analytics kernel could not be built (not tried again)


def _kernel():
    """The analytics kernel (ctypes), or None: no compiler, being built for the
    next run, or it could not be built (said once, as a warning; the numpy
    analytics run instead)."""
    from ..native.build import CompileError
    from ..native.fixed import library
    from ..native.policy import fall_back
    if _kernel_failed:
        return None
    try:
        lib = library("analytics", note="the analytics kernel")
    except (CompileError, OSError) as exc:
        _kernel_failed.append(str(exc))
        fall_back("analytics C kernel unavailable", exc, engine="auto")
        return None
    if lib is not None and not getattr(lib, "_wf_typed", False):
        import ctypes
        P = ctypes.c_void_p
        L = ctypes.c_long
        lib.wf_class_measures.restype = ctypes.c_int
        lib.wf_class_measures.argtypes = [L, L, L, P, P, P, ctypes.c_double, P, ctypes.c_int,
                                          P, P, P, ctypes.c_int, P, P, L, L, P,
                                          P, P, P, P, P, P, P, L]
        lib._wf_typed = True
    return lib


def _elements(a: np.ndarray) -> np.ndarray:
    """`a` as float64 with strides in whole elements (a copy only when it is not)."""
    a = np.asarray(a)
    if a.dtype != np.float64 or any(st % 8 for st in a.strides):
        a = np.ascontiguousarray(a, dtype=np.float64)
    return a


def _steps(times: np.ndarray):
    """(codes uint8 (n,), distinct steps) of times[k] - times[k-1], or None if too many.

    Steps equal to 1e-11 (a whole number of days in years differs by 1e-14 from one date to
    the next in floating point) share one value, their mean; the kernel re-anchors on the
    exact time every 64 periods, so what is left is a few ulps."""
    d = np.diff(times)
    if d.size == 0:
        return np.zeros(len(times), np.uint8), np.zeros(1)
    _, inv = np.unique(np.round(d, 11), return_inverse=True)
    inv = inv.reshape(-1)
    if inv.max() + 1 > _MAX_STEPS:
        return None
    dts = np.bincount(inv, weights=d) / np.bincount(inv)
    return np.concatenate([[0], inv]).astype(np.uint8), np.ascontiguousarray(dts)


def class_measures(inputs: "list[ClassInputs]", compiled: bool | None = None) -> "list[ClassMeasures]":
    """The measures of each class (see `ClassInputs`), by the compiled kernel when a C
    compiler is available (`compiled=None`; True requires it, False uses numpy)."""
    lib = _kernel() if compiled is not False else None
    if compiled and lib is None:
        raise RuntimeError("no C compiler: the compiled analytics kernel is unavailable")
    if lib is None:
        return [class_measures_numpy(ci) for ci in inputs]
    import ctypes
    from ..native.build import ptr
    from ..native.policy import n_threads, run_split
    out: list = [None] * len(inputs)
    calls = []
    keep = []
    for k, ci in enumerate(inputs):
        comps = [_elements(c) for c in ci.components]
        n, s = comps[1].shape
        mode = {"fixed": 1, "floater": 2}.get(ci.kind, 0)
        years = np.ascontiguousarray(ci.years, dtype=float)
        # yield times in half-years (the compounding period of the semi-annual yield)
        times = np.ascontiguousarray(ci.times if mode else years, dtype=float) * 2.0
        steps = _steps(times) if mode else (np.zeros(max(n, 1), np.uint8), np.zeros(1))
        if steps is None:
            out[k] = class_measures_numpy(ci)
            continue
        tk, dts = steps
        m = ClassMeasures(np.empty(s), np.empty(s, np.int64), np.empty(s, np.int64),
                          np.full(s, np.nan), np.full(s, np.nan), np.full(s, np.nan))
        out[k] = m
        price = np.ascontiguousarray(ci.price if mode else np.zeros(s), dtype=float)
        if mode == 2:
            idx = _elements(ci.index)
            acc = np.ascontiguousarray(ci.accrual_days, dtype=float) / 360.0
            ist, iss = idx.strides[1] // 8, idx.strides[0] // 8
        else:
            idx, acc, ist, iss = None, None, 0, 0
        # two components (total cash, principal): the last two pointers are NULL
        ptrs = (ctypes.c_void_p * 4)(*[c.ctypes.data for c in comps] + [None] * (4 - len(comps)))
        st = (ctypes.c_long * 4)(*[c.strides[0] // 8 for c in comps] + [0] * (4 - len(comps)))
        ss = (ctypes.c_long * 4)(*[c.strides[1] // 8 for c in comps] + [comps[0].strides[1] // 8] * (4 - len(comps)))
        keep.append((comps, years, times, price, idx, acc, tk, dts, ptrs, st, ss))
        calls.append((n, ptrs, st, ss, float(ci.face), years, mode, times, tk, dts, price, idx, ist, iss,
                      acc, m))

    def work(s0, s1):
        if s1 <= s0:
            return
        nmax = max((c[0] for c in calls), default=1)
        scratch = np.empty(_KERNEL_BLOCK * max(nmax, 1))
        for (n, ptrs, st, ss, face, years, mode, times, tk, dts, price, idx, ist, iss, acc, m) in calls:
            rc = lib.wf_class_measures(
                n, s0, s1, ctypes.cast(ptrs, ctypes.c_void_p), ctypes.cast(st, ctypes.c_void_p),
                ctypes.cast(ss, ctypes.c_void_p), face, ptr(years), mode,
                ptr(times), ptr(tk), ptr(dts), len(dts), ptr(price),
                ptr(idx) if idx is not None else None, ist, iss,
                ptr(acc) if acc is not None else None,
                ptr(m.wal), ptr(m.first), ptr(m.last), ptr(m.yld),
                ptr(m.mdur), ptr(m.dm), ptr(scratch), _KERNEL_BLOCK)
            if rc != 0:
                raise RuntimeError(f"analytics kernel failed ({rc})")

    s_all = max((c[-1].wal.shape[0] for c in calls), default=0)
    workers = n_threads(s_all, min_scenarios=_THREAD_MIN, cap=2, override=THREADS)
    run_split(lambda i, s0, s1: work(s0, s1), s_all, workers)
    del keep
    return out


THREADS: int | None = None   # threads for the kernel (None: up to 2, as the CPUs allow)
