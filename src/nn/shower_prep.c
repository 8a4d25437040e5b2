/* Calorimeter showers and their conditions as network features, and back:
 * the preprocessing every generative model of hadron gen shares
 * (docs/generative.md has the measured choice between the transforms). */
#include "hadron/nn.h"

#include <math.h>
#include <string.h>

hd_shower_prep hd_shower_prep_default(void)
{
    return (hd_shower_prep){.kind = HD_PREP_LOG, .delta = 1e-6f, .threshold = 0.01515f};
}

const char *hd_prep_name(hd_prep_kind k) { return k == HD_PREP_FRAC ? "frac" : "log"; }

int hd_prep_parse(const char *s, hd_prep_kind *out)
{
    if (strcmp(s, "log") == 0) *out = HD_PREP_LOG;
    else if (strcmp(s, "frac") == 0) *out = HD_PREP_FRAC;
    else return hd_error(HD_EINVAL, "unknown shower transform '%s' (log, frac)", s);
    return HD_OK;
}

static float to_feature(const hd_shower_prep *p, float e, float inv_energy)
{
    float u = e * inv_energy;
    return p->kind == HD_PREP_LOG ? logf(u + p->delta) : u;
}

int hd_shower_prep_fit(hd_shower_prep *p, int64_t n, int64_t n_voxels, const float *energy, const float *showers)
{
    if (n < 2 || n_voxels < 1) return hd_error(HD_EINVAL, "shower transform: %lld showers of %lld voxels", (long long)n, (long long)n_voxels);
    if (!(p->delta > 0) || !(p->threshold >= 0))
        return hd_error(HD_EINVAL, "shower transform: delta %g must be > 0, threshold %g >= 0", (double)p->delta,
                        (double)p->threshold);
    double *sum = hd_calloc((size_t)n_voxels * 2, sizeof(double));
    p->mean = hd_malloc((size_t)n_voxels * sizeof(float));
    p->std = hd_malloc((size_t)n_voxels * sizeof(float));
    if (!sum || !p->mean || !p->std) {
        hd_free(sum);
        hd_shower_prep_release(p);
        return HD_ENOMEM;
    }
    p->n_voxels = n_voxels;
    for (int64_t i = 0; i < n; i++) {
        float inv = 1.0f / energy[i];
        for (int64_t v = 0; v < n_voxels; v++) {
            double f = to_feature(p, showers[i * n_voxels + v], inv);
            sum[v] += f;
            sum[n_voxels + v] += f * f;
        }
    }
    for (int64_t v = 0; v < n_voxels; v++) {
        double mu = sum[v] / (double)n, var = sum[n_voxels + v] / (double)n - mu * mu;
        p->mean[v] = (float)mu;
        p->std[v] = var > 1e-12 * (1 + mu * mu) ? (float)sqrt(var) : 1.0f;
    }
    hd_free(sum);
    return HD_OK;
}

void hd_shower_prep_release(hd_shower_prep *p)
{
    hd_free(p->mean);
    hd_free(p->std);
    p->mean = p->std = NULL;
    p->n_voxels = 0;
}

void hd_shower_prep_forward(const hd_shower_prep *p, int64_t n, const float *energy, const float *showers, float *x)
{
    int64_t nv = p->n_voxels;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float inv = 1.0f / energy[i];
        for (int64_t v = 0; v < nv; v++)
            x[i * nv + v] = (to_feature(p, showers[i * nv + v], inv) - p->mean[v]) / p->std[v];
    }
}

void hd_shower_prep_zero(const hd_shower_prep *p, float *x)
{
    for (int64_t v = 0; v < p->n_voxels; v++) x[v] = (to_feature(p, 0.0f, 1.0f) - p->mean[v]) / p->std[v];
}

void hd_shower_prep_inverse_row(const hd_shower_prep *p, float energy, const float *x, float *shower)
{
    for (int64_t v = 0; v < p->n_voxels; v++) {
        float f = x[v] * p->std[v] + p->mean[v];
        float u = p->kind == HD_PREP_LOG ? expf(fminf(f, 0.0f)) - p->delta : f; /* a fraction is <= 1 */
        float e = isfinite(u) ? u * energy : 0.0f;
        shower[v] = e >= p->threshold && e > 0 ? e : 0.0f;
    }
}

void hd_shower_prep_inverse(const hd_shower_prep *p, int64_t n, const float *energy, const float *x, float *showers)
{
    int64_t nv = p->n_voxels;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) hd_shower_prep_inverse_row(p, energy[i], x + i * nv, showers + i * nv);
}

/* ---- conditions ---------------------------------------------------------------- */

static float cond_feature(int64_t j, float v) { return j == 0 ? logf(v) : v; }

int hd_cond_scaler_fit(hd_cond_scaler *s, int64_t n_rows, int64_t n_cond, const float *cond)
{
    if (n_cond < 1 || n_cond > HD_GEN_MAX_COND || n_rows < 2)
        return hd_error(HD_EINVAL, "conditions: %lld columns of %lld rows (1..%d columns, >= 2 rows)",
                        (long long)n_cond, (long long)n_rows, HD_GEN_MAX_COND);
    memset(s, 0, sizeof *s);
    s->n = n_cond;
    for (int64_t j = 0; j < n_cond; j++) {
        double sum = 0, sum2 = 0;
        float lo = cond[j], hi = cond[j];
        for (int64_t i = 0; i < n_rows; i++) {
            float v = cond[i * n_cond + j];
            if (!isfinite(v) || (j == 0 && !(v > 0)))
                return hd_error(HD_EINVAL, "conditions: row %lld column %lld is %g (the energy must be > 0, all finite)",
                                (long long)i, (long long)j, (double)v);
            double f = cond_feature(j, v);
            sum += f;
            sum2 += f * f;
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        double mu = sum / (double)n_rows, var = sum2 / (double)n_rows - mu * mu;
        s->mean[j] = (float)mu;
        s->std[j] = var > 1e-12 * (1 + mu * mu) ? (float)sqrt(var) : 1.0f;
        s->lo[j] = lo;
        s->hi[j] = hi;
    }
    return HD_OK;
}

void hd_cond_scaler_apply(const hd_cond_scaler *s, int64_t n_rows, const float *cond, float *features)
{
    for (int64_t i = 0; i < n_rows; i++)
        for (int64_t j = 0; j < s->n; j++)
            features[i * s->n + j] = (cond_feature(j, cond[i * s->n + j]) - s->mean[j]) / s->std[j];
}

int hd_cond_scaler_check(const hd_cond_scaler *s, int64_t n_rows, const float *cond)
{
    for (int64_t i = 0; i < n_rows; i++)
        for (int64_t j = 0; j < s->n; j++) {
            float v = cond[i * s->n + j], slack = 1e-6f * fmaxf(fabsf(s->lo[j]), fabsf(s->hi[j]));
            if (!isfinite(v) || (j == 0 && !(v > 0)))
                return hd_error(HD_EINVAL, "condition row %lld column %lld is %g (the energy must be > 0, all finite)",
                                (long long)i, (long long)j, (double)v);
            if (v < s->lo[j] - slack || v > s->hi[j] + slack)
                return hd_error(HD_EINVAL,
                                "condition row %lld column %lld is %g, outside the training range [%g, %g]",
                                (long long)i, (long long)j, (double)v, (double)s->lo[j], (double)s->hi[j]);
        }
    return HD_OK;
}
