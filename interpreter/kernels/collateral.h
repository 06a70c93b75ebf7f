/* The collateral projection kernel: what its C source and its Python caller
   (interpreter/collateral_c.py) share.  See collateral.c. */
#ifndef WATERFALL_COLLATERAL_H
#define WATERFALL_COLLATERAL_H

/* Output quantities, in the order of the kernel's pointer table (per group);
   collateral_c.QUANTITIES lists the same names in the same order. */
enum { Q_BEGIN, Q_SCHED, Q_PREPAY, Q_DEFAULT, Q_RECOVERY, Q_LOSS, Q_INTEREST, Q_FEE,
       Q_NET, Q_END, Q_WAC, Q_NWAC, Q_PENALTY, NQ };

/* Per-line values summed over a group each period. */
enum { V_FEEB, V_BR, V_D, V_FEE, V_INT, V_SCHED, V_PREP, V_PEN, V_END, NV };

/* 1 when the CPU runs the 4-lane (AVX2) kernel, project_w_4. */
int have_avx2(void);

#endif
