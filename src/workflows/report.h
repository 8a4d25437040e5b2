/* Writing workflow results: metrics.json entries.  hd_quantile, which the
 * workflows use for their summaries, is in metrics.h. */
#ifndef HD_REPORT_H
#define HD_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "hadron/metrics.h"

/* "  \"key\": value," (no comma when last); NaN and Inf become null. */
void hd_report_number(FILE *f, const char *key, double v, int last);

#endif
