/* Writing workflow results. */
#include "workflows/report.h"

#include <math.h>

void hd_report_number(FILE *f, const char *key, double v, int last)
{
    if (isfinite(v)) fprintf(f, "  \"%s\": %.8g%s\n", key, v, last ? "" : ",");
    else fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
}
