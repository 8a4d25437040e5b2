/* Writing workflow results: metrics.json entries. */
#ifndef HD_REPORT_H
#define HD_REPORT_H

#include <stdint.h>
#include <stdio.h>

/* "  \"key\": value," (no comma when last); NaN and Inf become null. */
void hd_report_number(FILE *f, const char *key, double v, int last);

/* Quantile q in [0, 1] of v[0..n), n >= 1, linear between order
 * statistics as numpy's default; sorts v in place. */
double hd_quantile(double *v, int64_t n, double q);

#endif
