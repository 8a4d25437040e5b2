/* What every study reports of an estimator over its resamplings. */
#include "study_internal.h"

#include "workflows/report.h"

#include <math.h>

void study_summarise(int n_res, int n_stat, const double *est, const double *truth, const double *unit,
                     study_summary *out)
{
    for (int i = 0; i < n_stat; i++) {
        double m = 0, v = 0;
        for (int r = 0; r < n_res; r++) m += est[r * n_stat + i];
        m /= n_res > 0 ? n_res : 1;
        for (int r = 0; r < n_res; r++) v += (est[r * n_stat + i] - m) * (est[r * n_stat + i] - m);
        double sd = n_res > 1 ? sqrt(v / (n_res - 1)) : NAN, t = truth[i];
        out[i].mean = n_res ? m : NAN;
        out[i].bias_rel = n_res ? (m - t) / t : NAN;
        out[i].spread_rel = sd / t;
        out[i].n_equiv = unit[i] / ((m - t) * (m - t) + sd * sd);
    }
}

void study_json_summary(FILE *f, const char *name, double bias_rel, double spread_rel, double n_equiv, int last)
{
    fprintf(f, "      \"%s\": {", name);
    hd_report_number(f, "bias_rel", bias_rel, 0);
    hd_report_number(f, "spread_rel", spread_rel, 0);
    hd_report_number(f, "n_equiv", n_equiv, 1);
    fprintf(f, "}%s\n", last ? "" : ",");
}

int study_open(const char *dir, const char *name, hd_atomic_file *af)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return hd_atomic_open(af, path);
}
