/* The analytics kernel: WAL, principal window, yield, modified duration and
   discount margin of one class over a range of scenarios; the compiled path of
   interpreter/analytics.py (class_measures), whose comments give the formulas
   (SIFMA SF) and how the two paths agree.  The same source for every deal,
   built once (interpreter/native/build.py), warnings on (-Wall -Wextra, clean). */
#include <math.h>
#include <stdlib.h>

#include "analytics.h"

#define TOL 1e-13
#define MAXIT 200
#define MAXEXP 40
#define MAXDT 64
#define B_MAX 1024

typedef struct {
    const double *cf;          /* flows of one scenario, length n */
    long f, l;                 /* first and last nonzero flow */
    const double *t;           /* yield times (periods of the compounding), length n */
    const unsigned char *tk;   /* index of t[k] - t[k-1] in dts */
    const double *dts;
    int ndt;
    double price;
    const double *idx;         /* index rate of each accrual period (this scenario) */
    long istride;
    const double *a;           /* accrual fraction of each period (days / 360) */
    int positive;              /* flows >= 0, times increasing, accruals >= 0 */
} prob;

/* f(x), f'(x) and f''(x) */
typedef void (*fdf_fn)(const prob *, double, double *);

static double sgn(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : (v == 0 ? 0.0 : NAN)); }

/* m[0..2] = sum cf exp(-t x) {1, t, t^2} over the nonzero flows */
static void pv_exp(const prob *P, double x, double *m) {
    double e[MAXDT];
    int j;
    long k;
    for (j = 0; j < P->ndt; j++) e[j] = exp(-P->dts[j] * x);
    double d = exp(-P->t[P->f] * x), s = 0.0, s1 = 0.0, s2 = 0.0;
    for (k = P->f; k <= P->l; k++) {
        if (k > P->f) {
            d = d * e[P->tk[k]];
            if (((k - P->f) & 63) == 0 || !(d > 0.0 && d < INFINITY)) d = exp(-P->t[k] * x);
        }
        double c = P->cf[k];
        if (c != 0.0) {
            double term = c * d, tt = P->t[k] * term;
            s += term;
            s1 += tt;
            s2 += P->t[k] * tt;
        }
    }
    m[0] = s;
    m[1] = s1;
    m[2] = s2;
}

static void fdf_yield(const prob *P, double x, double *f) {
    double m[3];
    pv_exp(P, x, m);
    f[0] = m[0] - P->price;
    f[1] = -m[1];
    f[2] = m[2];
}

/* DF_t = prod_{k<=t} 1 / g_k, g_k = 1 + (i_k + dm) a_k; with L_t = sum_{k<=t} a_k / g_k and
   M_t = sum_{k<=t} (a_k / g_k)^2: dDF_t/ddm = -DF_t L_t, d2DF_t/ddm2 = DF_t (L_t^2 + M_t) */
static void fdf_dm(const prob *P, double dm, double *f) {
    double D = 1.0, L = 0.0, M = 0.0, s = 0.0, sd = 0.0, sdd = 0.0;
    long k;
    for (k = 0; k <= P->l; k++) {
        double a = P->a[k];
        double inv = 1.0 / (1.0 + (P->idx[k * P->istride] + dm) * a);
        double ai = a * inv;
        D = D * inv;
        L = L + ai;
        M = M + ai * ai;
        double c = P->cf[k];
        if (c != 0.0) {
            double term = c * D;
            s += term;
            sd += term * L;
            sdd += term * (L * L + M);
        }
    }
    f[0] = s - P->price;
    f[1] = -sd;
    f[2] = sdd;
}

static int bracketed(double flo, double fhi) {
    return isfinite(flo) && isfinite(fhi) && sgn(flo) * sgn(fhi) <= 0;
}

/* `_solve` of analytics.py for one row */
static double solve(fdf_fn fn, const prob *P, double x0, double step, double lower) {
    double h = step, lo, hi, flo, fhi, v[3];
    lo = (x0 - h > lower) ? x0 - h : 0.5 * (lower + x0);
    hi = x0 + h;
    fn(P, lo, v); flo = v[0];
    fn(P, hi, v); fhi = v[0];
    int br = bracketed(flo, fhi);
    for (int k = 0; k < MAXEXP && !br; k++) {
        h = 2.0 * h;
        double nlo = (x0 - h > lower) ? x0 - h : 0.5 * (lower + lo);
        double nhi = x0 + h, fnlo, fnhi;
        fn(P, nlo, v); fnlo = v[0];
        fn(P, nhi, v); fnhi = v[0];
        if (isfinite(fnlo)) { lo = nlo; flo = fnlo; }
        if (isfinite(fnhi)) { hi = nhi; fhi = fnhi; }
        br = bracketed(flo, fhi);
    }
    if (!br) return NAN;
    double x = x0 > lo ? x0 : lo;
    x = x < hi ? x : hi;
    if (flo == 0.0) return lo;
    if (fhi == 0.0) return hi;
    double slo = sgn(flo);
    for (int it = 0; it < MAXIT; it++) {
        fn(P, x, v);
        double f = v[0], df = v[1];
        if (f == 0.0) return x;
        if (sgn(f) == slo) lo = x; else hi = x;
        double xn = x - f / df;
        double mn = lo < hi ? lo : hi, mx = lo < hi ? hi : lo;
        if (!isfinite(xn) || xn <= mn || xn >= mx) xn = 0.5 * (lo + hi);
        double tol = TOL * (1.0 + fabs(x));
        if (fabs(xn - x) <= tol || fabs(hi - lo) <= tol) return xn;
        x = xn;
    }
    return NAN;
}

/*
 * Halley's iteration from x0 alone, for flows that are all >= 0 at positive, increasing times
 * (and accruals >= 0): f is then convex and strictly decreasing with one root, the root `solve`
 * brackets; the same stopping rule (a step below TOL (1 + |x|)). Returns 0 when the iteration
 * leaves that regime (a non-finite value, a step out of the domain, no convergence): `solve`
 * then decides, so an unusual row gets exactly the bracketed search. *xe and v[3] are the
 * last point evaluated and f, f', f'' there.
 */
static int halley(fdf_fn fn, const prob *P, double x0, double lower, double *out, double *xe, double *v) {
    double x = x0;
    for (int it = 0; it < 60; it++) {
        fn(P, x, v);
        *xe = x;
        double f = v[0], df = v[1], d2 = v[2];
        if (!isfinite(f) || !isfinite(df) || !isfinite(d2) || !(df < 0.0)) return 0;
        if (f == 0.0) { *out = x; return 1; }
        double den = 2.0 * df * df - f * d2;
        double xn = (den > 0.0) ? x - 2.0 * f * df / den : x - f / df;
        if (!isfinite(xn) || !(xn > lower)) return 0;
        if (fabs(xn - x) <= TOL * (1.0 + fabs(x))) { *out = xn; return 1; }
        x = xn;
    }
    return 0;
}

/* yield (compounded at the unit of t) and Macaulay duration in units of t, on the flows of P */
static void yield_duration(prob *P, double *yld, double *mac) {
    double total = 0.0, tw = 0.0;
    int valid = isfinite(P->price);
    for (long k = P->f; k <= P->l; k++) {
        double c = P->cf[k];
        total += c;
        if (c != 0.0) {
            tw += c * P->t[k];
            if (!isfinite(P->t[k])) valid = 0;
        }
    }
    if (!valid || !isfinite(total)) { *yld = NAN; *mac = NAN; return; }
    double x0 = log(total / P->price) / (tw / total);
    if (!isfinite(x0)) x0 = 0.0;
    double x, xe, v[3];
    int fast = P->positive && halley(fdf_yield, P, x0, -INFINITY, &x, &xe, v);
    if (!fast) x = solve(fdf_yield, P, x0, 1e-3, -INFINITY);
    double y = 2.0 * expm1(x);
    double r = log1p(y / 2.0);   /* the rate the duration is taken at (= x to an ulp) */
    *yld = y;
    if (fast) {
        /* D(r) = m1/m0 from the sums at the last point evaluated, xe (within TOL of r), to first
           order: dD/dx = -(m2/m0 - D^2); the second-order term is below 1e-20 */
        double m0 = v[0] + P->price, D = -v[1] / m0;
        *mac = (m0 != 0.0) ? D - (v[2] / m0 - D * D) * (r - xe) : NAN;
    } else {
        double m[3];
        pv_exp(P, r, m);
        *mac = (m[0] != 0.0) ? (m[1] / m[0]) : NAN;
    }
}

static double discount_margin(prob *P) {
    double total = 0.0, tc = 0.0, mt = 0.0, mi = 0.0, lower = -INFINITY;
    int valid = isfinite(P->price);
    for (long k = 0; k <= P->l; k++) {
        double c = P->cf[k], a = P->a[k], i = P->idx[k * P->istride];
        if (!isfinite(a) || !isfinite(i)) valid = 0;
        total += c;
        tc += a;
        if (c != 0.0) {
            mt += c * tc;
            mi += c * i;
        }
        if (a > 0.0) {
            double b = -1.0 / a - i;
            if (b > lower || lower != lower) lower = b;
        }
    }
    if (!valid || !isfinite(total)) return NAN;
    if (!isfinite(lower)) lower = -INFINITY;
    double x0 = log(total / P->price) / (mt / total) - mi / total;
    if (!isfinite(x0)) x0 = 0.0;
    if (!(x0 > lower)) x0 = isfinite(lower) ? lower + 1e-4 : 0.0;
    double x, xe, v[3];
    if (P->positive && halley(fdf_dm, P, x0, lower, &x, &xe, v)) return x;
    return solve(fdf_dm, P, x0, 1e-3, lower);
}

/*
 * One class, scenarios s0 <= s < s1. Cash components c[0..3] (interest, principal,
 * carryover, reimbursement) are read at c[j][t * st[j] + s * ss[j]] (element strides);
 * with c[2] == NULL, c[0] is the total cash (a lean run) and c[1] its principal.
 * mode 0: window and WAL only; 1: fixed (yield at price[s], a full price); 2: floater
 * (discount margin and yield at price[s]). scratch holds B * n doubles.
 */
int wf_class_measures(long n, long s0, long s1, const double **c, const long *st, const long *ss,
                      double face, const double *years, int mode,
                      const double *ty, const unsigned char *tk, const double *dts, int ndt,
                      const double *price, const double *idx, long ist, long iss, const double *acc,
                      double *wal, long long *first, long long *last, double *yld, double *mdur,
                      double *dm, double *scratch, long B) {
    if (ndt > MAXDT) return -1;
    const int total = (c[2] == 0);  /* two components: c[0] is already the class's total cash */
    for (long b0 = s0; b0 < s1; b0 += B) {
        long nb = (s1 - b0 < B) ? s1 - b0 : B;
        double num[B_MAX], den[B_MAX];
        long long fi[B_MAX], li[B_MAX];
        if (nb > B_MAX) return -2;
        for (long j = 0; j < nb; j++) { num[j] = 0.0; den[j] = 0.0; fi[j] = -1; li[j] = -1; }
        /* read in the order of the smaller stride (t outer when scenarios are adjacent) */
        int t_outer = labs(ss[1]) <= labs(st[1]);
        if (t_outer && ss[0] == 1 && ss[1] == 1 && ss[2] == 1 && ss[3] == 1) {
            /* scenarios adjacent in memory: whole runs of each row */
            for (long t = 0; t < n; t++) {
                const double *r0 = c[0] + t * st[0] + b0, *r1 = c[1] + t * st[1] + b0;
                const double *r2 = total ? 0 : c[2] + t * st[2] + b0, *r3 = total ? 0 : c[3] + t * st[3] + b0;
                double yt = years[t];
                for (long j = 0; j < nb; j++) {
                    double p = r1[j];
                    double v = total ? r0[j] : ((r0[j] + p) + r2[j]) + r3[j];
                    scratch[j * n + t] = v / face * 100.0;
                    if (p != 0.0) num[j] += p * yt;
                    den[j] += p;
                    if (p >= 0.006 || (p > 0.004 && rint(p * 100.0) / 100.0 >= 0.01 - 1e-9)) {
                        if (fi[j] < 0) fi[j] = t;
                        li[j] = t;
                    }
                }
            }
        } else
        for (long outer = 0; outer < (t_outer ? n : nb); outer++) {
            for (long inner = 0; inner < (t_outer ? nb : n); inner++) {
                long t = t_outer ? outer : inner, j = t_outer ? inner : outer, s = b0 + j;
                double i0 = c[0][t * st[0] + s * ss[0]];
                double p = c[1][t * st[1] + s * ss[1]];
                double v = total ? i0 : ((i0 + p) + c[2][t * st[2] + s * ss[2]]) + c[3][t * st[3] + s * ss[3]];
                scratch[j * n + t] = v / face * 100.0;
                if (p != 0.0) num[j] += p * years[t];
                den[j] += p;
                /* paid in whole cents: round(p, 2) >= $0.01 (rint is needed only near half a cent) */
                if (p >= 0.006 || (p > 0.004 && rint(p * 100.0) / 100.0 >= 0.01 - 1e-9)) {
                    if (fi[j] < 0 || t < fi[j]) fi[j] = t;
                    if (t > li[j]) li[j] = t;
                }
            }
        }
        for (long j = 0; j < nb; j++) {
            long s = b0 + j;
            first[s] = fi[j];
            last[s] = li[j];
            wal[s] = (den[j] != 0.0) ? num[j] / den[j] : NAN;
        }
        if (mode == 0) continue;
        for (long j = 0; j < nb; j++) {
            long s = b0 + j;
            prob P;
            P.cf = scratch + j * n;
            P.f = -1; P.l = -1;
            for (long t = 0; t < n; t++) {
                if (P.cf[t] != 0.0) { if (P.f < 0) P.f = t; P.l = t; }
            }
            yld[s] = NAN; mdur[s] = NAN; dm[s] = NAN;
            if (P.f < 0) continue;
            P.positive = ty[P.f] > 0.0;
            for (long t = P.f; t <= P.l; t++) {
                if (P.cf[t] < 0.0 || (t > P.f && !(ty[t] > ty[t - 1]))) { P.positive = 0; break; }
            }
            if (mode == 2 && P.positive) {
                for (long t = 0; t <= P.l; t++) if (!(acc[t] >= 0.0)) { P.positive = 0; break; }
            }
            P.t = ty; P.tk = tk; P.dts = dts; P.ndt = ndt;
            P.price = price[s];
            P.idx = idx ? idx + s * iss : 0;
            P.istride = ist;
            P.a = acc;
            if (mode == 2) dm[s] = discount_margin(&P);
            double y, mac;
            yield_duration(&P, &y, &mac);
            yld[s] = y;
            /* t is in half-years: Macaulay in years is half of it */
            mdur[s] = (mac / 2.0) / (1.0 + y / 2.0);
        }
    }
    return 0;
}
