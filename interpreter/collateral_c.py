"""Compiled (C) collateral projection: the fast path of ``collateral.project``.

The kernel below is a fixed C source (the same for every deal), built once by
``interpreter.cbuild`` and called through ctypes.  It loops scenario-major in
blocks of W scenarios held in the W lanes of a machine vector (W = 2 with
SSE2, W = 4 on AVX2 CPUs, chosen at run time): for one block it builds the
block's prepayment / default rate tables, runs periods 1..T over the lines
(every per-line decision -- ARM reset, IO, payoff, penalty window -- is the
same for all scenarios, so the lanes run in lock step), keeps each group's
per-period sums in a small scratch and then writes each scenario's
contiguous (S, T) output rows (non-temporal stores on x86-64).  Scenarios are
split over 2 threads when the work is large (ctypes releases the GIL while the
C code runs).

Every formula is the one of the numpy path in ``interpreter.collateral`` (see
that module's docstring), evaluated in the same order with the same IEEE
operations, including numpy's summation order over a group's lines
(``np.add.reduceat``: first + pairwise sum of the rest); cbuild's flags forbid
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
import os
import threading
import warnings

import numpy as np

from . import cbuild

# Output quantities, in the order of the kernel's pointer table (per group).
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

# Curve table modes (per group): how a table entry is made from the scenario
# multiplier ``sc`` and the scenario-independent base value ``x`` of a column.
MODE_NONE = -1  # no curve: rate 0
MODE_LINEAR = 0  # SMM / MDR: min(sc * x, 1)
MODE_ANNUAL = 1  # CPR / CDR / PSA / SDA / PPC: SMM = 1 - (1 - min(sc * x, 1))^(1/12)
MODE_ABS = 2  # ABS: a = sc * speed, month x: SMM = a / (1 - a (x - 1)), 1 once 1 - a (x - 1) <= a

_PRELUDE = r"""
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
/* store x at p bypassing the cache (outputs are written once, read later) */
static inline void put(double *p, double x) { long long u; memcpy(&u, &x, 8); _mm_stream_si64((long long *)p, u); }
static inline void put_done(void) { _mm_sfence(); }
#else
static inline void put(double *p, double x) { *p = x; }
static inline void put_done(void) {}
#endif

/* Scenarios are projected W at a time, as the W lanes of a machine vector
   (GCC/Clang vector extensions): every per-line, per-period decision (reset,
   IO, payoff, penalty window) is the same for all scenarios, so each lane
   computes exactly what a one-scenario loop would, with the same IEEE
   operations in the same order.  The kernel below is instantiated twice:
   W = 2 (SSE2 / any 16-byte vector unit) and, on x86-64, W = 4 compiled for
   AVX2 (no FMA: -ffp-contract=off and the target adds no fused operations),
   chosen at run time by the CPU. */
enum { Q_BEGIN, Q_SCHED, Q_PREPAY, Q_DEFAULT, Q_RECOVERY, Q_LOSS, Q_INTEREST, Q_FEE,
       Q_NET, Q_END, Q_WAC, Q_NWAC, Q_PENALTY, NQ };

/* Per-line values summed over a group each period. */
enum { V_FEEB, V_BR, V_D, V_FEE, V_INT, V_SCHED, V_PREP, V_PEN, V_END, NV };

"""

# The kernel, written for W lanes; instantiated below with the identifiers
# renamed per width (the C preprocessor does the renaming).
_KERNEL = r"""
typedef double vd __attribute__((vector_size(8 * W)));
typedef long long vl __attribute__((vector_size(8 * W)));

static inline ATTR vd splat(double x) { vd v; int i; for (i = 0; i < W; i++) v[i] = x; return v; }
/* m ? a : b lane by lane (m: all-ones / all-zeros lanes from a comparison) */
static inline ATTR vd vsel(vl m, vd a, vd b) { return (vd)(((vl)a & m) | ((vl)b & ~m)); }

/* numpy's pairwise summation (pairwise_sum_DOUBLE), lane by lane, of the n
   terms a[i * st]: fewer than 8 in order from 0; up to 128 with 8 running
   partial sums; beyond that split in two (at a multiple of 8) and recurse. */
static ATTR vd pairwise(const vd *a, int64_t n, int64_t st)
{
    int64_t i, j;
    if (n < 8) {
        vd res = splat(0.0);
        for (i = 0; i < n; i++) res += a[i * st];
        return res;
    } else if (n <= 128) {
        vd r[8], res;
        for (j = 0; j < 8; j++) r[j] = a[j * st];
        for (i = 8; i < n - (n % 8); i += 8)
            for (j = 0; j < 8; j++) r[j] += a[(i + j) * st];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i * st];
        return res;
    } else {
        int64_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, n2, st) + pairwise(a + n2 * st, n - n2, st);
    }
}

/* The group sums of the NV per-line values v[l * NV + q] over the n >= 1
   lines from v, as np.add.reduceat adds a segment: first + pairwise(rest).
   Up to 8 lines the NV sums run side by side; the rest's running sum starts
   at its first term (0 + x == x). */
static inline ATTR void group_sums(const vd *v, int64_t n, vd *sum)
{
    int64_t i;
    int q;
    if (n == 1) {
        for (q = 0; q < NV; q++) sum[q] = v[q];
    } else if (n <= 8) {
        for (q = 0; q < NV; q++) sum[q] = v[NV + q];
        for (i = 2; i < n; i++)
            for (q = 0; q < NV; q++) sum[q] += v[i * NV + q];
        for (q = 0; q < NV; q++) sum[q] = v[q] + sum[q];
    } else {
        for (q = 0; q < NV; q++) sum[q] = v[q] + pairwise(v + NV + q, n - 1, NV);
    }
}

/* The monthly-rate table of one curve for the lanes' multipliers sc:
   tab[j] for columns j < width.  mode 0: min(sc x, 1);  mode 1:
   -expm1(log1p(-min(sc x, 1)) / 12), i.e. SMM = 1 - (1 - CPR)^(1/12);
   mode 2 (ABS, x = month): a = sc param, den = 1 - a (x - 1), SMM = a / den
   if den > a else 1, clipped to [0, 1].  A column whose base equals the
   previous one reuses its values (same inputs, same results). */
static ATTR void fill_table(int64_t mode, double param, const double *base, int64_t width,
                       const double *sc, vd *tab)
{
    int64_t j;
    int w;
    for (j = 0; j < width; j++) {
        const double x = base[j];
        if (mode != 2 && j > 0 && x == base[j - 1]) { tab[j] = tab[j - 1]; continue; }
        for (w = 0; w < W; w++) {
            double v;
            if (mode == 0) {
                v = sc[w] * x;
                v = v < 1.0 ? v : 1.0;
            } else if (mode == 1) {
                v = sc[w] * x;
                if (!(v < 1.0)) v = 1.0;
                v = -expm1(log1p(-v) / 12.0);
            } else {
                const double a = sc[w] * param;
                const double den = 1.0 - a * (x - 1.0);
                v = den > a ? a / (den > 0.0 ? den : 1.0) : 1.0;
                if (v < 0.0) v = 0.0;
                if (v > 1.0) v = 1.0;
            }
            tab[j][w] = v;
        }
    }
}

/* Project scenarios s0 <= s < s1.  Per line l (L lines, group g owning lines
   gstart[g] .. gstart[g+1]-1): balance, annual gross rate, annual fee rate,
   gm1_0 = (1 + rate/12)^amort - 1, remaining term, age, amortisation term, IO
   months, penalty rate and months; ARM terms (arm_idx[l] = index path number,
   -1 for a fixed line; arm_next0 = age of the first reset at or after the
   line's age at cut-off).  idx[i][s * idx_stride[i] + t - 1]: index i in
   period t of scenario s.  Curves per group g (p: prepay, d: default; mode -1
   = none): mode, param, base table of width w; the rate of line l in period t
   is table[col[l] + t].  out[g * NQ + q]: the (S, T) output q of group g, or
   NULL if not wanted (the caller holds zeros).  Returns 0; 1 if scratch
   memory ran out; 2 if a balance became NaN or infinite. */
ATTR int project_w(
    int64_t s0, int64_t s1, int64_t T, int64_t L, int64_t G, const int64_t *gstart,
    const double *balance, const double *rate, const double *fee, const double *gm1_0,
    const int64_t *rem, const int64_t *age, const int64_t *amort, const int64_t *io,
    const double *pen_rate, const int64_t *pen_months,
    const int64_t *arm_idx, const double *arm_margin, const int64_t *arm_first,
    const int64_t *arm_every, const int64_t *arm_next0, const double *arm_icap,
    const double *arm_pcap, const double *arm_floor, const double *arm_max,
    const double *arm_round,
    const double *const *idx, const int64_t *idx_stride,
    const int64_t *pmode, const double *pparam, const double *const *pbase,
    const int64_t *pwidth, const int64_t *pcol, const double *pscale,
    const int64_t *dmode, const double *dparam, const double *const *dbase,
    const int64_t *dwidth, const int64_t *dcol, const double *dscale,
    const double *severity, int64_t lag, double *const *out)
{
    int64_t s, t, g, l, j, q, ptot = 0, dtot = 0;
    int w;
    for (g = 0; g < G; g++) {
        ptot += pmode[g] >= 0 ? pwidth[g] : 1;
        dtot += dmode[g] >= 0 ? dwidth[g] : 1;
    }
    /* scratch (vectors): 7 line states, NV line values, group begin sums,
       rate tables, and Y[(g * NQ + q) * T + t]: the outputs of the W
       scenarios, copied into their rows once the block is done */
    void *mem = NULL;
    const size_t nvec = (size_t)((7 + NV) * L + G + ptot + dtot + G * NQ * T + 1);
    int64_t *next = (int64_t *)malloc(sizeof(int64_t) * (size_t)(L + 1));  /* next reset age per line */
    vd **ptab = (vd **)malloc(sizeof(vd *) * (size_t)(2 * G + 1));
    if (posix_memalign(&mem, 64, sizeof(vd) * nvec) != 0) mem = NULL;
    if (!mem || !next || !ptab) { free(mem); free(next); free(ptab); return 1; }
    vd *B = (vd *)mem, *r = B + L, *disc = r + L, *gm1 = disc + L, *armrate = gm1 + L;
    vd *lastrm = armrate + L, *lastlog = lastrm + L;  /* log1p of the last reset rate */
    vd *V = lastlog + L;  /* V[l * NV + q]: per-line value q of the period */
    vd *begin_sum = V + NV * L, *tabs = begin_sum + G, *Y = tabs + ptot + dtot;
    vd **dtab = ptab + G;
    {
        /* a group without a curve reads a one-column table of zeros: rate 0,
           which leaves every balance as it is (b - b 0 == b) */
        vd *p = tabs;
        for (g = 0; g < G; g++) {
            ptab[g] = p; p += pmode[g] >= 0 ? pwidth[g] : 1;
            dtab[g] = p; p += dmode[g] >= 0 ? dwidth[g] : 1;
            if (pmode[g] < 0) ptab[g][0] = splat(0.0);
            if (dmode[g] < 0) dtab[g][0] = splat(0.0);
        }
    }

    for (s = s0; s < s1; s += W) {
        const int64_t nw = s1 - s < W ? s1 - s : W;  /* live lanes; the rest repeat the last */
        int64_t sid[W];
        double psc[W], dsc[W];
        vd sv;
        for (w = 0; w < W; w++) {
            sid[w] = s + (w < nw ? w : nw - 1);
            psc[w] = pscale[sid[w]];
            dsc[w] = dscale[sid[w]];
            sv[w] = severity[sid[w]];
        }
        for (g = 0; g < G; g++) {
            if (pmode[g] >= 0) fill_table(pmode[g], pparam[g], pbase[g], pwidth[g], psc, ptab[g]);
            if (dmode[g] >= 0) fill_table(dmode[g], dparam[g], dbase[g], dwidth[g], dsc, dtab[g]);
        }
        for (l = 0; l < L; l++) {
            const double r0 = rate[l] / 12.0;
            B[l] = splat(balance[l]);
            r[l] = splat(r0);
            disc[l] = splat(1.0 / (1.0 + r0));
            gm1[l] = splat(gm1_0[l]);
            armrate[l] = splat(rate[l]);
            lastrm[l] = splat(-1.0);  /* no reset yet (rates are >= 0) */
            next[l] = arm_next0[l];
        }
        for (g = 0; g < G; g++)  /* begin balance of period 1: the group sums of the cut-off balances */
            begin_sum[g] = B[gstart[g]] + pairwise(B + gstart[g] + 1, gstart[g + 1] - gstart[g] - 1, 1);

        for (t = 1; t <= T; t++) {
            const int64_t tt = t - 1;
            for (g = 0; g < G; g++) {
                const int64_t a = gstart[g], n_g = gstart[g + 1] - gstart[g];
                const int have_d = dmode[g] >= 0, have_p = pmode[g] >= 0;
                for (l = a; l < a + n_g; l++) {
                    const int64_t k = age[l] + t;          /* payment number */
                    const int64_t n = amort[l] - (t - 1);  /* amortisation months left */
                    /* 1. ARM reset taking effect: age at period start == reset age */
                    if (arm_idx[l] >= 0 && k - 1 == next[l]) {
                        const int64_t i = arm_idx[l];
                        const double inc = arm_round[l];
                        const double cap = (k - 1 == arm_first[l]) ? arm_icap[l] : arm_pcap[l];
                        const double nn = (double)(n > 0 ? n : 0);
                        for (w = 0; w < W; w++) {
                            double target = idx[i][sid[w] * idx_stride[i] + tt] + arm_margin[l];
                            if (inc > 0.0) target = floor(target / inc + 0.5) * inc;
                            const double cur = armrate[l][w];
                            const double lo = cur - cap, hi = cur + cap;
                            double x = target;
                            x = x > lo ? x : lo;  /* np.clip(target, lo, hi) */
                            x = x < hi ? x : hi;
                            x = x > arm_floor[l] ? x : arm_floor[l];  /* floor, then lifetime cap */
                            x = x < arm_max[l] ? x : arm_max[l];
                            armrate[l][w] = x;
                            const double rm = x / 12.0;
                            if (!(rm == lastrm[l][w])) { lastrm[l][w] = rm; lastlog[l][w] = log1p(rm); }
                            r[l][w] = rm;
                            disc[l][w] = 1.0 / (1.0 + rm);
                            gm1[l][w] = expm1(nn * lastlog[l][w]);  /* re-amortise: (1 + rm)^n - 1 */
                        }
                        next[l] += arm_every[l];
                    }
                    const vd fl = splat(fee[l]);
                    const vd b = B[l], rr = r[l];
                    vd *v = V + l * NV;
                    const vd br = b * rr;
                    v[V_FEEB] = b * fl;
                    v[V_BR] = br;
                    /* 2. default on the beginning balance */
                    const vd D = b * dtab[g][have_d ? dcol[l] + t : 0];
                    v[V_D] = D;
                    const vd bs = b - D;
                    /* 3. interest and fee on the surviving balance */
                    v[V_FEE] = bs * fl;
                    v[V_INT] = bs * rr;
                    /* 4. scheduled principal bs r / ((1 + r)^n - 1); all at payoff; 0 while IO */
                    vd sched;
                    if (t >= rem[l] || n <= 1) {
                        sched = bs;  /* bs x 1 */
                    } else if (k > io[l]) {
                        const vd f = vsel(rr == splat(0.0), splat(1.0 / (double)n), rr / gm1[l]);
                        sched = bs * f;
                    } else {
                        sched = bs * 0.0;
                    }
                    v[V_SCHED] = sched;
                    gm1[l] = (gm1[l] - rr) * disc[l];  /* (1 + r)^(n-1) - 1 */
                    /* 5. prepayment SMM x (surviving - scheduled); charge while k <= months */
                    const vd bp = bs - sched;
                    const vd prep = bp * ptab[g][have_p ? pcol[l] + t : 0];
                    v[V_PREP] = prep;
                    v[V_PEN] = prep * ((pen_rate[l] > 0.0 && k <= pen_months[l]) ? pen_rate[l] : 0.0);
                    const vd e = bp - prep;
                    B[l] = e;
                    v[V_END] = e;
                }
                /* group sums: the outputs of period t */
                vd sum[NV];
                vd *y = Y + g * NQ * T + tt;
                const vd bg = begin_sum[g];
                group_sums(V + a * NV, n_g, sum);
                const vd wac_num = sum[V_BR] * 12.0;
                const vd fee_out = sum[V_FEE] / 12.0;  /* == sum(B fee) / 12 without defaults */
                const vl pos = bg > splat(0.0);
                const vd safe = vsel(pos, bg, splat(1.0));
                y[Q_BEGIN * T] = bg;
                y[Q_SCHED * T] = sum[V_SCHED];
                y[Q_PREPAY * T] = sum[V_PREP];
                y[Q_DEFAULT * T] = sum[V_D];
                y[Q_RECOVERY * T] = sum[V_D] * (1.0 - sv);  /* received lag periods later */
                y[Q_LOSS * T] = sum[V_D] * sv;
                y[Q_INTEREST * T] = sum[V_INT];
                y[Q_FEE * T] = fee_out;
                y[Q_NET * T] = sum[V_INT] - fee_out;
                y[Q_END * T] = sum[V_END];
                y[Q_WAC * T] = vsel(pos, wac_num / safe, splat(0.0));
                y[Q_NWAC * T] = vsel(pos, (wac_num - sum[V_FEEB]) / safe, splat(0.0));
                y[Q_PENALTY * T] = sum[V_PEN];
                begin_sum[g] = sum[V_END];
            }
        }
        /* A non-finite balance (degenerate terms, e.g. a rate so small that
           (1 + r)^n - 1 == 0) is absorbing: hand the call to numpy, whose
           skipped steps treat NaN differently (return 2). */
        for (l = 0; l < L; l++)
            for (w = 0; w < W; w++)
                if (!(B[l][w] - B[l][w] == 0.0)) { free(mem); free(next); free(ptab); return 2; }
        /* the block's rows */
        for (g = 0; g < G; g++)
            for (q = 0; q < NQ; q++) {
                double *o = out[g * NQ + q];
                const vd *y = Y + (g * NQ + q) * T;
                if (!o) continue;
                const int64_t sh = q == Q_RECOVERY ? (lag < T ? lag : T) : 0;  /* recovery: lag later */
                for (w = 0; w < nw; w++) {
                    double *row = o + (s + w) * T;
                    for (j = 0; j < sh; j++) put(row + j, 0.0);
                    for (j = sh; j < T; j++) put(row + j, y[j - sh][w]);
                }
            }
    }
    put_done();
    free(mem); free(next); free(ptab);
    return 0;
}
"""

_NAMES = ("vd", "vl", "splat", "vsel", "pairwise", "group_sums", "fill_table", "project_w")


def _instance(width: int, attr: str) -> str:
    """The kernel for ``width`` lanes, its identifiers suffixed with the width."""
    head = [f"#define W {width}", f"#define ATTR {attr}"] + [f"#define {n} {n}_{width}" for n in _NAMES]
    tail = ["#undef W", "#undef ATTR"] + [f"#undef {n}" for n in _NAMES]
    return "\n".join(head) + "\n" + _KERNEL + "\n".join(tail) + "\n"


_DISPATCH = r"""
#if defined(__x86_64__) && defined(__GNUC__)
int have_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") ? 1 : 0; }
#else
int have_avx2(void) { return 0; }
#endif
"""

# The whole C source: fixed (the same for every deal and run).
SOURCE = (
    _PRELUDE
    + _instance(2, "")
    + "#if defined(__x86_64__) && defined(__GNUC__)\n"
    + _instance(4, '__attribute__((target("avx2")))')
    + "#endif\n"
    + _DISPATCH
)

_I64 = ctypes.c_int64
_P = ctypes.c_void_p
_ARGTYPES = [_I64, _I64, _I64, _I64, _I64, _P]  # s0, s1, T, L, G, gstart
_ARGTYPES += [_P] * 10  # balance .. pen_months
_ARGTYPES += [_P] * 10  # arm_idx .. arm_round
_ARGTYPES += [_P, _P]  # idx, idx_stride
_ARGTYPES += [_P] * 6 + [_P] * 6  # prepay curves, default curves
_ARGTYPES += [_P, _I64, _P]  # severity, lag, out

# Below this many (scenario x line x period) steps one thread is used: starting
# a second one costs more than it saves.
THREAD_MIN_WORK = 400_000
MAX_THREADS = 2  # the scenario split; the grid's --workers already uses the other cores
WIDTH: int | None = None  # lane width override (tests run both kernels); None: the CPU's widest
_lock = threading.Lock()
_broken: set = set()  # compilers that failed on SOURCE (then numpy runs, with one warning)


def library():
    """The compiled kernel library (ctypes), or None when C is unavailable
    (no compiler, ``WATERFALL_ENGINE=numpy``, or the compiler failed)."""
    cc = cbuild.compiler()
    if cc is None or cc in _broken:
        return None
    try:
        lib = cbuild.load("collateral", SOURCE, note="the collateral kernel")
    except (cbuild.CompileError, OSError) as exc:
        with _lock:
            _broken.add(cc)
        warnings.warn(f"collateral C kernel unavailable, using numpy: {exc}", RuntimeWarning, stacklevel=3)
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
    if work < THREAD_MIN_WORK or S < 2:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cpus = os.cpu_count() or 1
    budget = cbuild.thread_budget()  # the caller may already be running work in parallel
    return max(1, min(MAX_THREADS, cpus, S, budget if budget is not None else cpus))


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def run(pool, T: int, scenarios, prepay_c, default_c, index_sources, threads: int | None = None, width: int | None = None):
    """Project ``pool`` (a ``collateral._Pool``) with the C kernel.

    ``prepay_c`` / ``default_c``: per group a ``Curve`` or None;
    ``index_sources``: per ARM index name of ``pool.arm_index_names`` a
    validated float array (1 or S rows, >= T columns).  Returns a list (one per
    group, in ``pool.groups`` order) of dicts quantity -> (S, T) array (the
    names of ``QUANTITIES``), or None when the C kernel is unavailable or
    declines (a balance became NaN / infinite: numpy's NaN handling differs in
    the steps it skips, so such degenerate pools are left to numpy).
    ``threads``: None picks (``n_threads``); ``width``: the kernel's lane width
    (None: the widest the CPU runs; the results do not depend on it).
    """
    from .collateral import _by_period, _curve_base  # noqa: PLC0415 (collateral imports this module)

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
    gm1_0 = _f64(np.expm1(pool.amort * np.log1p(pool.rate / 12.0)))  # (1 + r)^n - 1, as the numpy path
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
                w = T + 1
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

    finite = _call(fn, S, args_tail, n_threads(S, S * L * T) if threads is None else max(1, int(threads)))
    del keep
    return out if finite else None


def _call(fn, S: int, args_tail: list, nt: int) -> bool:
    """Run the kernel over scenarios 0..S-1, split evenly over ``nt`` threads;
    False if a balance went non-finite (then the caller runs numpy)."""
    nt = max(1, min(nt, S))
    bounds = [S * i // nt for i in range(nt + 1)]
    status = [0] * nt

    def call(i):
        status[i] = fn(bounds[i], bounds[i + 1], *args_tail)

    if nt == 1:
        call(0)
    else:
        workers = [threading.Thread(target=call, args=(i,)) for i in range(1, nt)]
        for w in workers:
            w.start()
        call(0)
        for w in workers:
            w.join()
    if 1 in status:
        raise MemoryError("collateral C kernel: out of scratch memory")
    return 2 not in status
