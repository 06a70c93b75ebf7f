/* The fixed part of every deal's compiled waterfall (interpreter/waterfall/c_unit.py
   pastes it into the generated source after the deal's sizes are #defined: NC
   classes, NF funds, NE events, NG groups, NK contracts, ND formulas, NI indices,
   MAXD nested distributions, NCONST constants, NFRAC accrual fractions, NGSLOT
   group input rows; math.h, string.h and stdint.h included before them):
   the arithmetic helpers both engines share in meaning (numpy's minimum and
   maximum, a division by zero that gives 0, a condition as a mask) and the
   pro rata split of waterfall/numpy_engine.py's _pro_rata; and the state of one
   scenario's run (St), whose fields are program.ClassState's names. */

static inline double mn(double a, double b) { return (a < b || a != a) ? a : b; }  /* np.minimum */
static inline double mx(double a, double b) { return (a > b || a != a) ? a : b; }  /* np.maximum */
static inline double dv(double a, double b) { return b != 0.0 ? a / b : 0.0; }     /* x / 0 = 0 */
static inline int nz(double x) { return x != 0.0; }                                /* as a mask */

/* Share avail by weights, no one more than it is owed (engine._pro_rata). */
static void prorata(double avail, const double *w, const double *due, double *out, int n) {
    double total = w[0], owed = due[0];
    for (int j = 1; j < n; j++) { total += w[j]; owed += due[j]; }
    double x = mn(avail, owed);
    for (int j = 0; j < n; j++) {
        double share = total > 0 ? w[j] / total : 0.0;
        out[j] = mn(share * x, due[j]);
    }
}

/* One scenario's period state. */
typedef struct {
    double balance[NC], prior_balance[NC], original_balance[NC], shortfall[NC], current_due[NC], carryover[NC],
           unpaid_loss[NC], notional_now[NC];
    double paid_interest[NC], paid_principal[NC], paid_carry[NC], paid_loss[NC], accreted[NC];
    double funds[NF];
    double paid_total, alive;
    int ev_before[NE], ev_now[NE];
    double cum_loss[NG];
    double contract_paid[NK];
    double amounts[MAXD];
    int depth, cf, t, period;
    int64_t version;           /* moves with every change of cash or balances */
    int64_t pver;              /* moves with every change of the period's other state */
    int64_t dver[ND];
    double dval[ND];
    const double *g[NGSLOT];   /* this scenario's group rows */
    double gv[NGSLOT];          /* their values this period */
    const double *ix[NI];      /* this scenario's index paths */
    const double *pending;
    const double *const *P;
    double K[NCONST];          /* the program's constants: inputs, held in the state so that a
                                  store to the state's other fields is known not to change them */
    double frac[NFRAC];        /* this period's year fraction of each kind of accrual */
} St;
