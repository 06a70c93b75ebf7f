/* The entry point of a deal's compiled waterfall (pasted last by
   interpreter/waterfall/c_unit.py, after the deal's run_one): scenarios s0..s1-1
   one after the other; the backend policy gives each thread its range. */
int run_range(const double *const *P, const double *K, int T, int S, int s0, int s1, double **R, const int *TN,
              double *R_CLAUSE_ALL, double *R_ACC, double *R_CON, double *WDT, int32_t *sold_period,
              int *err, double *errv, double *INS) {
    St st;
    for (int sc = s0; sc < s1; sc++) {
        int rc = run_one(&st, P, K, T, S, sc, R, TN, R_CLAUSE_ALL, R_ACC, R_CON, WDT, sold_period, err, errv, INS);
        if (rc) return rc;
    }
    return 0;
}
