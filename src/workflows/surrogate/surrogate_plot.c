/* Plots of the surrogate workflow: the loss per epoch, and the efficiency
 * versus pT in each eta slice at one phi, as the seed notebook's draw():
 * train and test bins with binomial error bars, the model curve, the truth. */
#include "surrogate_internal.h"

#include <math.h>
#include <stdio.h>

#define CURVE_POINTS 120

/* Posterior standard deviation of an efficiency with a flat prior: never
 * zero, so empty or full bins still carry an error bar. */
static double eff_error(double k, double n) { return sqrt((k + 1) * (n - k + 1) / ((n + 2) * (n + 2) * (n + 3))); }

static int write_points(const char *dir, const hd_hist3 *h, int kphi)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/eff_points.csv", dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "eta_bin,pt,eff,err,train,truth\n");
    for (int i = 0; i < h->n_eta; i++)
        for (int j = 0; j < h->n_pt; j++) {
            int64_t b = hd_hist3_index(h, i, j, kphi);
            if (h->gen[b] <= 0) continue;
            double eta, pt, phi, truth = h->truth ? h->truth[b] : NAN;
            hd_hist3_bin_centre(h, b, &eta, &pt, &phi);
            fprintf(af.f, "%d,%.6g,%.6g,%.6g,%d,%s", i, pt, h->rec[b] / h->gen[b], eff_error(h->rec[b], h->gen[b]),
                    (i + j + kphi) % 2 == 0, isnan(truth) ? "NaN" : "");
            if (!isnan(truth)) fprintf(af.f, "%.6g", truth);
            fputc('\n', af.f);
        }
    return hd_atomic_commit(&af);
}

static int write_curve(const char *dir, const hd_hist3 *h, hd_model *m, int kphi)
{
    int64_t n = (int64_t)h->n_eta * CURVE_POINTS;
    float *x = hd_malloc((size_t)n * 3 * sizeof(float)), *y = hd_malloc((size_t)n * sizeof(float));
    int rc = x && y ? HD_OK : HD_ENOMEM;
    double lo = h->edges_pt[0] > 0 ? log(h->edges_pt[0]) : 0, hi = log(h->edges_pt[h->n_pt]);
    double phi = 0.5 * (h->edges_phi[kphi] + h->edges_phi[kphi + 1]);
    for (int64_t r = 0; rc == HD_OK && r < n; r++) {
        int i = (int)(r / CURVE_POINTS), t = (int)(r % CURVE_POINTS);
        x[3 * r] = (float)(0.5 * (h->edges_eta[i] + h->edges_eta[i + 1]));
        x[3 * r + 1] = (float)exp(lo + (hi - lo) * t / (CURVE_POINTS - 1));
        x[3 * r + 2] = (float)phi;
    }
    if (rc == HD_OK) rc = hd_model_predict(m, n, x, y);
    char path[4096];
    snprintf(path, sizeof path, "%s/eff_model.csv", dir);
    hd_atomic_file af;
    if (rc == HD_OK && (rc = hd_atomic_open(&af, path)) == HD_OK) {
        fprintf(af.f, "eta_bin,pt,model\n");
        for (int64_t r = 0; r < n; r++) fprintf(af.f, "%d,%.6g,%.6g\n", (int)(r / CURVE_POINTS), (double)x[3 * r + 1], (double)y[r]);
        rc = hd_atomic_commit(&af);
    }
    hd_free(x);
    hd_free(y);
    return rc;
}

static int write_eff_script(const char *dir, const hd_hist3 *h, int kphi, int has_truth)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/efficiency.gp", dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    FILE *f = af.f;
    int cols = (int)ceil(sqrt((double)h->n_eta)), rows = (h->n_eta + cols - 1) / cols;
    double phi_deg = 0.5 * (h->edges_phi[kphi] + h->edges_phi[kphi + 1]) * 180.0 / HD_PI;
    fprintf(f, "# hadron surrogate: efficiency vs pT per eta slice; edit and re-run with `gnuplot efficiency.gp`\n");
    fprintf(f, "set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,10'\nset output 'efficiency.png'\n",
            360 * cols + 40, 300 * rows + 60);
    fprintf(f, "set datafile separator ','\nset logscale x\nset yrange [0:1.08]\nset grid\n");
    fprintf(f, "set xlabel 'p_T [MeV]'\nset ylabel 'efficiency'\nset key bottom right font ',8'\n");
    fprintf(f, "array etas[%d] = [", h->n_eta);
    for (int i = 0; i < h->n_eta; i++)
        fprintf(f, "%s%.3g", i ? ", " : "", 0.5 * (h->edges_eta[i] + h->edges_eta[i + 1]));
    fprintf(f, "]\nset multiplot layout %d,%d title 'efficiency at {/Symbol f} = %.0f deg'\n", rows, cols, phi_deg);
    fprintf(f, "do for [i=0:%d] {\n  set title sprintf('{/Symbol h} = %%.2f', etas[i+1])\n", h->n_eta - 1);
    fprintf(f, "  plot 'eff_model.csv' skip 1 using 2:($1==i ? $3 : 1/0) with lines lw 2 lc 'black' title 'model', \\\n");
    fprintf(f, "       'eff_points.csv' skip 1 using 2:($1==i && $5==1 ? $3 : 1/0):4 with yerrorbars pt 7 ps 0.5 lc 'blue' title 'train', \\\n");
    fprintf(f, "       'eff_points.csv' skip 1 using 2:($1==i && $5==0 ? $3 : 1/0):4 with yerrorbars pt 5 ps 0.5 lc 'red' title 'test'");
    if (has_truth)
        fprintf(f, ", \\\n       'eff_points.csv' skip 1 using 2:($1==i ? $6 : 1/0) with lines dt 2 lw 1.5 lc 'dark-green' title 'truth'");
    fprintf(f, "\n}\nunset multiplot\n");
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(path, NULL);
}

int hd_surrogate_plots(const char *dir, const hd_hist3 *h, hd_model *m, int phi_bin)
{
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/loss", dir);
    hd_line_plot loss = {.csv = "history.csv", .title = "surrogate: loss per epoch", .xlabel = "epoch",
                         .ylabel = "loss", .x_col = 1, .n_series = 2, .y_cols = {2, 3},
                         .y_titles = {"train", "test"}, .log_y = 1};
    int kphi = phi_bin >= 0 && phi_bin < h->n_phi ? phi_bin : h->n_phi / 2;
    int rc;
    if ((rc = hd_plot_lines(stem, &loss, NULL)) || (rc = write_points(dir, h, kphi)) ||
        (rc = write_curve(dir, h, m, kphi)))
        return rc;
    return write_eff_script(dir, h, kphi, h->truth != NULL);
}
