/* The collateral kernel for W lanes (W, ATTR and the names it defines are
   set by collateral.c, which includes this file once per lane width). */
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
   NULL if not wanted (the caller holds zeros).  kept: after each period
   keep_t[j] (j < nkeep), each line's performing balance, annual rate and gm1,
   kept[((s * nkeep + j) * 3 + q) * L + l] (a deal state's lines).  Returns 0; 1 if scratch
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
    const double *severity, int64_t lag, double *const *out,
    int64_t nkeep, const int64_t *keep_t, double *kept)
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
            for (j = 0; j < nkeep; j++) {
                if (keep_t[j] != t) continue;
                for (w = 0; w < nw; w++) {
                    double *k3 = kept + ((s + w) * nkeep + j) * 3 * L;
                    for (l = 0; l < L; l++) {
                        k3[l] = B[l][w];
                        k3[L + l] = armrate[l][w];
                        k3[2 * L + l] = gm1[l][w];
                    }
                }
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
