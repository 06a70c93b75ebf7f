/* The collateral projection: the compiled path of interpreter/collateral.py.

   The same source for every deal and run, built once (interpreter/native/build.py)
   and called through ctypes by interpreter/collateral_c.py, which documents the
   arguments and the agreement with the numpy path.  Compiled with -std=c99
   -ffp-contract=off (no fused multiply-add: the numpy path's IEEE operations,
   in its order) and warnings on (-Wall -Wextra, clean). */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collateral.h"
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

/* The kernel for W lanes, its identifiers suffixed with the width. */
#define W 2
#define ATTR
#define vd vd_2
#define vl vl_2
#define splat splat_2
#define vsel vsel_2
#define pairwise pairwise_2
#define group_sums group_sums_2
#define fill_table fill_table_2
#define project_w project_w_2
#include "collateral_lanes.h"
#undef W
#undef ATTR
#undef vd
#undef vl
#undef splat
#undef vsel
#undef pairwise
#undef group_sums
#undef fill_table
#undef project_w

#if defined(__x86_64__) && defined(__GNUC__)
#define W 4
#define ATTR __attribute__((target("avx2")))
#define vd vd_4
#define vl vl_4
#define splat splat_4
#define vsel vsel_4
#define pairwise pairwise_4
#define group_sums group_sums_4
#define fill_table fill_table_4
#define project_w project_w_4
#include "collateral_lanes.h"
#undef W
#undef ATTR
#undef vd
#undef vl
#undef splat
#undef vsel
#undef pairwise
#undef group_sums
#undef fill_table
#undef project_w
#endif

#if defined(__x86_64__) && defined(__GNUC__)
int have_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") ? 1 : 0; }
#else
int have_avx2(void) { return 0; }
#endif
