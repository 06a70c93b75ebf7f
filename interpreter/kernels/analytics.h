/* The analytics kernel's entry point (see analytics.c; its ctypes signature is
   set in interpreter/analytics.py). */
#ifndef WATERFALL_ANALYTICS_H
#define WATERFALL_ANALYTICS_H

int wf_class_measures(long n, long s0, long s1, const double **c, const long *st, const long *ss,
                      double face, const double *years, int mode,
                      const double *ty, const unsigned char *tk, const double *dts, int ndt,
                      const double *price, const double *idx, long ist, long iss, const double *acc,
                      double *wal, long long *first, long long *last, double *yld, double *mdur,
                      double *dm, double *scratch, long B);

#endif
