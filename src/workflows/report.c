/* Writing workflow results. */
#include "workflows/report.h"

#include <math.h>
#include <stdlib.h>

void hd_report_number(FILE *f, const char *key, double v, int last)
{
    if (isfinite(v)) fprintf(f, "  \"%s\": %.8g%s\n", key, v, last ? "" : ",");
    else fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double hd_quantile(double *v, int64_t n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    int64_t i = (int64_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}
