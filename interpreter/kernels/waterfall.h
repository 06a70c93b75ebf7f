/* The fixed part of every deal's compiled waterfall (interpreter/waterfall/c_unit.py
   pastes it into the generated source after the deal's sizes are #defined):
   the arithmetic helpers both engines share in meaning (numpy's minimum and
   maximum, a division by zero that gives 0, a condition as a mask) and the
   pro rata split of waterfall/numpy_engine.py's _pro_rata. */
#include <math.h>
#include <string.h>
#include <stdint.h>

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
