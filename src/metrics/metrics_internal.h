/* Pieces shared inside src/metrics/ (and read by its tests). */
#ifndef HD_METRICS_INTERNAL_H
#define HD_METRICS_INTERNAL_H

#include <stdint.h>

/* x [n, d] is non-NULL, has at least min_rows rows and only finite values;
 * the error reads "METRIC: sample WHICH ..." and names the row and column. */
int hd_metric_check_sample(const char *metric, const char *which, int64_t n, const float *x, int64_t d,
                           int64_t min_rows);

/* The least-squares line y = a + b x with a, b >= 0 through n >= 3 points
 * (x not all equal), solved exactly; *err_a = sqrt(cov00), cov = (J^T J)^-1
 * SSR / (n - 2) as scipy's curve_fit (absolute_sigma False).  FPD's fit. */
int hd_fpd_line_fit(int n, const double *x, const double *y, double *a, double *b, double *err_a);

#endif
