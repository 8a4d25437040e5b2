/* The bnn workflow's uncertainties: the split of the sampled networks'
 * moments into aleatoric and epistemic parts, and the calibration that the
 * validation set fits (docs/bnn.md, "Uncertainties"). */
#include "bnn_internal.h"

#include <math.h>
#include <stdlib.h>

int hd_bnn_decompose(hd_bnn_prediction *p, int64_t n, int k)
{
    p->total = hd_malloc((size_t)n * sizeof(double));
    if (!p->total) return HD_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        double mean = p->mean[i] / k, head = p->aleatoric[i] / k;
        double spread = fmax(p->epistemic[i] / k - mean * mean, 0.0);
        /* head = E_w[(y - mu_w)^2] = (y - mean)^2 + spread: the error of the mean is head - spread,
         * of which the spread is the epistemic part */
        p->mean[i] = mean;
        p->epistemic[i] = spread;
        p->aleatoric[i] = fmax(head - 2 * spread, 0.0);
        p->total[i] = p->aleatoric[i] + spread;
    }
    return HD_OK;
}

int hd_bnn_fit_calibration(const hd_bnn_split *val, const hd_bnn_transform *t, const hd_bnn_prediction *p,
                           hd_bnn_calibration *c)
{
    double n = (double)val->n, sz = 0, sz2 = 0, sw = 0;
    for (int64_t i = 0; i < val->n; i++) {
        double w = 1 / sqrt(p->total[i]), z = (val->y[i] - p->mean[i]) * w;
        sz += z;
        sz2 += z * z;
        sw += w;
    }
    double zmean = sz / n, zvar = fmax(sz2 / n - zmean * zmean, 0), b = sz / sw; /* sum (y - m - b) w = 0 */
    double s2 = 0, s4 = 0;
    for (int64_t i = 0; i < val->n; i++) {
        double z = (val->y[i] - p->mean[i] - b) / sqrt(p->total[i]);
        s2 += z * z;
        s4 += z * z * z * z;
    }
    s2 /= n;
    s4 /= n;
    if (!(s2 > 0) || !isfinite(s4))
        return hd_error(HD_EINVAL, "bnn: the validation set's pulls give no scale (RMS %g)", sqrt(s2));
    *c = (hd_bnn_calibration){.offset = b * t->y_std,
                              .offset_err = sqrt(zvar / n) / (sw / n) * t->y_std,
                              .scale = sqrt(s2),
                              .scale_err = sqrt(fmax(s4 - s2 * s2, 0) / n) / (2 * sqrt(s2)),
                              .val_pull_mean = zmean,
                              .val_pull_std = sqrt(zvar)};
    return HD_OK;
}

void hd_bnn_apply_calibration(hd_bnn_calibration *c, const hd_bnn_transform *t, hd_bnn_prediction *p, int64_t n)
{
    double b = c->offset / t->y_std, s2 = c->scale * c->scale;
    for (int64_t i = 0; i < n; i++) {
        p->mean[i] += b;
        p->aleatoric[i] *= s2;
        p->epistemic[i] *= s2;
        p->total[i] *= s2;
    }
    c->applied = 1;
}

void hd_bnn_prediction_free(hd_bnn_prediction *p)
{
    hd_free(p->mean);
    hd_free(p->aleatoric);
    hd_free(p->epistemic);
    hd_free(p->total);
}
