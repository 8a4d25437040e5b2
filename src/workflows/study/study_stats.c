/* What every study reports of an estimator over its resamplings. */
#include "study_internal.h"

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
