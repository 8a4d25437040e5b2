/* Plots of the bnn workflow: losses per epoch, true vs predicted amplitudes,
 * relative deviations, pulls against a unit Gaussian, and the predicted
 * uncertainty against the actual error. */
#include "bnn_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CALIB_BINS 20

static int loss_plot(const char *dir)
{
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/loss", dir);
    hd_line_plot p = {.csv = "history.csv", .title = "Bayesian network: loss per epoch (NLL + KL/N)",
                      .xlabel = "epoch", .ylabel = "loss", .x_col = 1, .n_series = 4, .y_cols = {2, 6, 3, 7},
                      .y_titles = {"train loss", "validation loss", "train NLL", "validation NLL"}};
    return hd_plot_lines(stem, &p, NULL);
}

static int hist(const char *dir, const char *name, const hd_hist_plot *p)
{
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/%s", dir, name);
    return hd_plot_hist(stem, p, NULL);
}

/* Events sorted by predicted sigma in CALIB_BINS equal-count bins: the RMS
 * of the actual error of each bin against its RMS predicted sigma.  A
 * calibrated network lies on the diagonal. */
static int calibration_plot(const char *dir, int64_t n, const double *sigma, const double *err, double *scratch)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/calibration.csv", dir);
    memcpy(scratch, sigma, (size_t)n * sizeof *scratch);
    double edges[CALIB_BINS + 1];
    for (int b = 0; b <= CALIB_BINS; b++) edges[b] = hd_quantile(scratch, n, (double)b / CALIB_BINS);
    double s2[CALIB_BINS] = {0}, e2[CALIB_BINS] = {0}, cnt[CALIB_BINS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int b = 0;
        while (b + 1 < CALIB_BINS && sigma[i] >= edges[b + 1]) b++;
        s2[b] += sigma[i] * sigma[i];
        e2[b] += err[i] * err[i];
        cnt[b] += 1;
    }
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "sigma_predicted,rms_error,ideal\n");
    for (int b = 0; b < CALIB_BINS; b++)
        if (cnt[b] > 0) {
            double s = sqrt(s2[b] / cnt[b]);
            fprintf(af.f, "%.6g,%.6g,%.6g\n", s, sqrt(e2[b] / cnt[b]), s);
        }
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/calibration", dir);
    hd_line_plot p = {.csv = "calibration.csv", .title = "Predicted uncertainty vs actual error (equal-count bins)",
                      .xlabel = "predicted {/Symbol s}_{total} of log A", .ylabel = "RMS of log A_{true} - log A_{pred}",
                      .x_col = 1, .n_series = 2, .y_cols = {2, 3}, .y_titles = {"network", "ideal: error = {/Symbol s}"},
                      .log_x = 1, .log_y = 1};
    return hd_plot_lines(stem, &p, NULL);
}

int hd_bnn_plots(const char *dir, const hd_bnn_split *s, const hd_bnn_transform *t, const hd_bnn_prediction *pr)
{
    int64_t n = s->n;
    size_t bytes = (size_t)n * sizeof(double);
    double *a_true = hd_malloc(bytes), *a_pred = hd_malloc(bytes), *dev = hd_malloc(bytes), *pull = hd_malloc(bytes),
           *sigma = hd_malloc(bytes), *err = hd_malloc(bytes);
    int rc = a_true && a_pred && dev && pull && sigma && err ? HD_OK : HD_ENOMEM;
    for (int64_t i = 0; rc == HD_OK && i < n; i++) {
        double log_pred = pr->mean[i] * t->y_std + t->y_mean;
        a_true[i] = exp(s->log_amp[i]);
        a_pred[i] = exp(log_pred);
        dev[i] = a_pred[i] / a_true[i] - 1;
        sigma[i] = sqrt(pr->total[i]) * t->y_std;
        err[i] = s->log_amp[i] - log_pred;
        pull[i] = err[i] / sigma[i];
    }
    if (rc == HD_OK) rc = loss_plot(dir);
    if (rc == HD_OK) {
        hd_hist_plot p = {.title = "Squared amplitudes of the test events", .xlabel = "|A|^2", .n_series = 2,
                          .values = {a_true, a_pred}, .n_values = {n, n},
                          .titles = {"true", "predicted (mean of the sampled networks)"}, .bins = 60, .log_x = 1};
        rc = hist(dir, "amplitudes", &p);
    }
    if (rc == HD_OK) { /* range: the central 98% of |deviation| */
        memcpy(a_true, dev, bytes); /* a_true is no longer needed */
        for (int64_t i = 0; i < n; i++) a_true[i] = fabs(a_true[i]);
        double r = fmax(hd_quantile(a_true, n, 0.98), 1e-6);
        hd_hist_plot p = {.title = "Relative deviation of the predicted amplitude", .xlabel = "A_{pred} / A_{true} - 1",
                          .n_series = 1, .values = {dev}, .n_values = {n}, .titles = {"test events"}, .bins = 80,
                          .lo = -r, .hi = r};
        rc = hist(dir, "deviation", &p);
    }
    if (rc == HD_OK) {
        hd_hist_plot p = {.title = "Pulls (log A_{true} - log A_{pred}) / {/Symbol s}_{total}", .xlabel = "pull",
                          .n_series = 1, .values = {pull}, .n_values = {n}, .titles = {"test events"}, .bins = 60,
                          .lo = -5, .hi = 5, .density = 1, .gaussian = 1};
        rc = hist(dir, "pulls", &p);
    }
    if (rc == HD_OK) rc = calibration_plot(dir, n, sigma, err, a_true);
    hd_free(a_true);
    hd_free(a_pred);
    hd_free(dev);
    hd_free(pull);
    hd_free(sigma);
    hd_free(err);
    return rc;
}
