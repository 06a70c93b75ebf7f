"""Compiled (C) collateral projection: the fast path of ``collateral.project``.

The kernel is a fixed C source, ``interpreter/kernels/collateral.c`` (the same
for every deal), built once by ``interpreter.native.fixed`` and called through
ctypes.  It loops scenario-major in
blocks of W scenarios held in the W lanes of a machine vector (W = 2 with
SSE2, W = 4 on AVX2 CPUs, chosen at run time): for one block it builds the
block's prepayment / default rate tables, runs periods 1..T over the lines
(every per-line decision -- ARM reset, IO, payoff, penalty window -- is the
same for all scenarios, so the lanes run in lock step), keeps each group's
per-period sums in a small scratch and then writes each scenario's
contiguous (S, T) output rows (non-temporal stores on x86-64).  Scenarios are
split over 2 threads when the work is large (ctypes releases the GIL while the
C code runs; ``native.policy`` counts the threads and splits the scenarios).

Every formula is the one of the numpy path in ``interpreter.collateral.projection`` (see
that module's docstring), evaluated in the same order with the same IEEE
operations, including numpy's summation order over a group's lines
(``np.add.reduceat``: first + pairwise sum of the rest); the build flags forbid
fast-math and fused multiply-add.  The two paths agree bit for bit where
libm's ``log1p``/``expm1`` agree with numpy's, and to a few ulps otherwise:
numpy's SIMD loops (e.g. on AVX-512 CPUs) differ from glibc by an ulp on a few
percent of arguments, so each such result must be used in a well-conditioned
form: the annuity factor's (1 + r)^n - 1 comes from expm1 (and a recurrence
on it), never from exp(...) - 1, which an ulp of exp can move by percents
when n r is tiny.

``run`` returns None when no C compiler is available (or
``WATERFALL_ENGINE=numpy``), or when a balance goes NaN / infinite (degenerate
terms, where numpy's skipped steps treat NaN differently); the caller then
runs the numpy path.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from ..native.build import CompileError, compiler
from ..native.fixed import library as fixed_library
from ..native.policy import fall_back, n_threads as policy_threads, run_split
from .curves import _by_period, _curve_base

# Output quantities, in the order of the kernel's pointer table (per group; the
# enum Q_* of kernels/collateral.h).
QUANTITIES = (
    "begin_balance",
    "scheduled_principal",
    "prepayment",
    "default",
    "recovery",
    "loss",
    "interest",
    "fee",
    "net_interest",
    "end_balance",
    "gross_wac",
    "net_wac",
    "penalty",
)
_Q = {n: i for i, n in enumerate(QUANTITIES)}

_I64 = ctypes.c_int64
_P = ctypes.c_void_p
_ARGTYPES = [_I64, _I64, _I64, _I64, _I64, _P]  # s0, s1, T, L, G, gstart
_ARGTYPES += [_P] * 10  # balance .. pen_months
_ARGTYPES += [_P] * 10  # arm_idx .. arm_round
_ARGTYPES += [_P, _P]  # idx, idx_stride
_ARGTYPES += [_P] * 6 + [_P] * 6  # prepay curves, default curves
_ARGTYPES += [_P, _I64, _P]  # severity, lag, out
_ARGTYPES += [_I64, _P, _P]  # nkeep, keep_t, kept

# Below this many (scenario x line x period) steps one thread is used: starting
# a second one costs more than it saves.
THREAD_MIN_WORK = 400_000
MAX_THREADS = 2  # the scenario split; the grid's --workers already uses the other cores
WIDTH: int | None = None  # lane width override (tests run both kernels); None: the CPU's widest
_lock = threading.Lock()
_broken: set = set()  # compilers that failed on SOURCE (then numpy runs, with one warning)


def library():
    """The compiled kernel library (ctypes), or None when C is unavailable
    (no compiler, ``WATERFALL_ENGINE=numpy``, the compiler failed, or it is
    being built for the next run)."""
    cc = compiler()
    if cc is None or cc in _broken:
        return None
    try:
        lib = fixed_library("collateral", note="the collateral kernel")
    except (CompileError, OSError) as exc:
        with _lock:
            _broken.add(cc)
        fall_back("collateral C kernel unavailable", exc, engine="auto")
        return None
    if lib is None:
        return None
    if not hasattr(lib, "_waterfall_widths"):
        widths = {}
        for w in (2, 4):
            fn = getattr(lib, f"project_w_{w}", None)
            if fn is not None:
                fn.argtypes = _ARGTYPES
                fn.restype = ctypes.c_int
                widths[w] = fn
        lib.have_avx2.restype = ctypes.c_int
        if not lib.have_avx2():
            widths.pop(4, None)
        lib._waterfall_widths = widths
    return lib


def kernel(width: int | None = None):
    """The kernel function for ``width`` lanes (2, or 4 on AVX2 CPUs; None:
    the widest this CPU runs), or None when C is unavailable or the width is not."""
    lib = library()
    if lib is None:
        return None
    widths = lib._waterfall_widths
    if width is None:
        return widths[max(widths)]
    return widths.get(width)


def widths() -> tuple[int, ...]:
    """The lane widths this machine can run (empty without C)."""
    lib = library()
    return tuple(sorted(lib._waterfall_widths)) if lib is not None else ()


def n_threads(S: int, work: int) -> int:
    """Threads for a call: 1 for small work, else min(MAX_THREADS, CPUs available, S)."""
    return policy_threads(S, work=work, min_work=THREAD_MIN_WORK, cap=MAX_THREADS)


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def run(pool, T: int, scenarios, prepay_c, default_c, index_sources, threads: int | None = None,
        width: int | None = None, period0: int = 0, keep_after=(), kept: dict | None = None):
    """Project ``pool`` (a ``projection._Pool``) with the C kernel.

    ``prepay_c`` / ``default_c``: per group a ``Curve`` or None;
    ``index_sources``: per ARM index name of ``pool.arm_index_names`` a
    validated float array (1 or S rows, >= T columns).  Returns a list (one per
    group, in ``pool.groups`` order) of dicts quantity -> (S, T) array (the
    names of ``QUANTITIES``), or None when the C kernel is unavailable or
    declines (a balance became NaN / infinite: numpy's NaN handling differs in
    the steps it skips, so such degenerate pools are left to numpy).
    ``threads``: None picks (``n_threads``); ``width``: the kernel's lane width
    (None: the widest the CPU runs; the results do not depend on it).
    ``period0``, ``keep_after``: as ``projection.project``; ``kept`` receives
    {t: (balance, annual rate, gm1), each (S, L)} for each t of ``keep_after``.
    """
    width = WIDTH if width is None else width
    fn = kernel(width)
    if fn is None:
        if width is not None and library() is not None:
            raise ValueError(f"no {width}-lane collateral kernel on this machine (have {widths()})")
        return None
    p_scale, d_scale, severity = (_f64(a) for a in scenarios.arrays())
    S, L, G = p_scale.shape[0], len(pool), len(pool.groups)
    lag = int(scenarios.recovery_lag)
    keep = []  # every array whose address the kernel gets stays referenced here

    def P(a):
        keep.append(a)
        return a.ctypes.data

    gstart = _i64(np.append(pool.starts, L))
    balance, rate, fee = _f64(pool.balance), _f64(pool.rate), _f64(pool.fee)
    gm1_0 = _f64(pool.gm1)  # (1 + r)^n - 1, as the numpy path
    rem, age, amort, io = _i64(pool.rem), _i64(pool.age), _i64(pool.amort), _i64(pool.io)
    pen_rate, pen_months = _f64(pool.pen_rate), _i64(pool.pen_months)

    # ARM terms spread over all lines (fixed lines: arm_idx -1)
    cols = pool.arm_cols
    arm_idx = np.full(L, -1, dtype=np.int64)
    arm_idx[cols] = pool.arm_index

    def spread(v, dtype):
        a = np.zeros(L, dtype=dtype)
        a[cols] = v
        return a

    arm_first = spread(pool.arm_first, np.int64)
    arm_every = spread(pool.arm_every, np.int64)
    arm_every[arm_every < 1] = 1
    # next reset age at or after the cut-off age: first, or first + m every (m >= 1)
    d = age - arm_first
    arm_next0 = np.where(d <= 0, arm_first, arm_first + ((d + arm_every - 1) // arm_every) * arm_every)
    arm_next0 = _i64(np.where(arm_idx >= 0, arm_next0, -1))
    arm_f = [
        spread(v, np.float64)
        for v in (pool.arm_margin, pool.arm_icap, pool.arm_pcap, pool.arm_floor, pool.arm_max, pool.arm_round)
    ]
    arm_margin, arm_icap, arm_pcap, arm_floor, arm_max, arm_round = arm_f

    srcs = [_f64(a) for a in index_sources]
    idx_ptrs = np.array([P(a) for a in srcs] + [0], dtype=np.uintp)
    idx_stride = _i64([0 if a.shape[0] == 1 else a.shape[1] for a in srcs] + [0])

    def curves(cs):
        mode = np.full(G, -1, dtype=np.int64)
        param = np.zeros(G)
        width = np.ones(G, dtype=np.int64)
        col = np.zeros(L, dtype=np.int64)
        bases = []
        for gi, c in enumerate(cs):
            a, b = pool.starts[gi], pool.stops[gi]
            if c is None or _by_period(c):
                w = period0 + T + 1
                col[a:b] = period0
            else:  # curve month = age + t
                w = int(pool.age[a:b].max()) + T + 1
                col[a:b] = pool.age[a:b]
            if c is None:
                bases.append(0)
                continue
            m, prm, base = _curve_base(c, w)
            mode[gi], param[gi], width[gi] = m, prm, w
            bases.append(P(_f64(base)))
        return mode, param, np.array(bases, dtype=np.uintp), width, col

    pmode, pparam, pbase, pwidth, pcol = curves(prepay_c)
    dmode, dparam, dbase, dwidth, dcol = curves(default_c)

    # One allocation for every written output (views (S, T) into it): one large
    # block is faulted in as huge pages where the kernel allows, far fewer
    # page faults than one small array per output.
    skips = []
    for gi in range(G):
        a, b = pool.starts[gi], pool.stops[gi]
        skip = set()
        if dmode[gi] < 0:
            skip |= {"default", "loss", "recovery"}
        if lag >= T:
            skip.add("recovery")
        if pmode[gi] < 0 or not np.any((pen_rate[a:b] > 0) & (pen_months[a:b] > 0)):
            skip.add("penalty")
        skips.append(skip)
    n_written = sum(len(QUANTITIES) - len(skip) for skip in skips)
    block = np.empty((n_written, S, T))
    out = []
    ptrs = np.zeros(G * len(QUANTITIES), dtype=np.uintp)
    k = 0
    for gi in range(G):
        arrays = {}
        for q in QUANTITIES:
            if q in skips[gi]:
                arrays[q] = np.zeros((S, T))  # lazily zeroed pages: free until read
            else:
                arrays[q] = block[k]
                ptrs[gi * len(QUANTITIES) + _Q[q]] = arrays[q].ctypes.data
                k += 1
        out.append(arrays)

    args_tail = [
        T, L, G, P(gstart),
        P(balance), P(rate), P(fee), P(gm1_0), P(rem), P(age), P(amort), P(io), P(pen_rate), P(pen_months),
        P(arm_idx), P(arm_margin), P(arm_first), P(arm_every), P(arm_next0), P(arm_icap), P(arm_pcap),
        P(arm_floor), P(arm_max), P(arm_round),
        P(idx_ptrs), P(idx_stride),
        P(pmode), P(pparam), P(pbase), P(pwidth), P(pcol), P(p_scale),
        P(dmode), P(dparam), P(dbase), P(dwidth), P(dcol), P(d_scale),
        P(severity), lag, P(ptrs),
    ]  # fmt: skip
    keep_t = _i64(list(keep_after) + [0])
    state = np.zeros((S, len(keep_after), 3, L)) if keep_after else np.zeros(1)
    args_tail += [len(keep_after), P(keep_t), P(state)]

    finite = _call(fn, S, args_tail, n_threads(S, S * L * T) if threads is None else max(1, int(threads)))
    del keep
    if finite and kept is not None:
        for j, t in enumerate(keep_after):
            kept[t] = tuple(np.ascontiguousarray(state[:, j, q]) for q in range(3))
    return out if finite else None


def _call(fn, S: int, args_tail: list, nt: int) -> bool:
    """Run the kernel over scenarios 0..S-1, split evenly over ``nt`` threads;
    False if a balance went non-finite (then the caller runs numpy)."""
    status = [0] * max(1, min(nt, S))

    def call(i, s0, s1):
        status[i] = fn(s0, s1, *args_tail)

    run_split(call, S, len(status))
    if 1 in status:
        raise MemoryError("collateral C kernel: out of scratch memory")
    return 2 not in status
