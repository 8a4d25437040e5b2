/* The studies' picture of a distribution: the truth, and the median and
 * 16-84% band of an estimator's histograms over the resamplings. */
#include "study_internal.h"

#include <stdio.h>

/* Column b of an [R][w] table, sorted, into v[R]. */
static void sorted_column(const double *t, int R, int w, int b, double *v)
{
    for (int r = 0; r < R; r++) v[r] = t[r * w + b];
    hd_sort_doubles(v, R);
}

int study_band_plot(const char *dir, const char *name, const study_band *b)
{
    char csv[160], stem[4096];
    snprintf(csv, sizeof csv, "%s.csv", name);
    hd_atomic_file af;
    int rc = study_open(dir, csv, &af);
    if (rc != HD_OK) return rc;
    double *v = hd_malloc((size_t)(b->n_res > 0 ? b->n_res : 1) * sizeof(double));
    if (!v) {
        hd_atomic_abort(&af);
        return HD_ENOMEM;
    }
    fprintf(af.f, "x,truth,median,q16,q84\n");
    for (int i = 0; i < b->bins; i++) {
        sorted_column(b->hist, b->n_res, b->bins, i, v);
        double q[3] = {0, 0, 0}, level[3] = {0.5, 0.16, 0.84};
        for (int k = 0; b->n_res && k < 3; k++) q[k] = hd_quantile_sorted(v, b->n_res, level[k]);
        fprintf(af.f, "%.6g,%.6g,%.6g,%.6g,%.6g\n", b->x[i], b->truth[i], q[0], q[1], q[2]);
    }
    hd_free(v);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    snprintf(stem, sizeof stem, "%s/%s", dir, name);
    hd_line_plot p = {.csv = csv, .title = b->title, .xlabel = b->xlabel, .ylabel = "density", .x_col = 1,
                      .n_series = 2, .y_cols = {2, 3}, .y_titles = {b->truth_title, "median of the estimates"},
                      .log_y = b->log_y, .band_lo = 4, .band_hi = 5, .band_title = "16-84% of the estimates"};
    return hd_plot_lines(stem, &p, NULL);
}
