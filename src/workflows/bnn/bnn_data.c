/* Amplitude data for the bnn workflow: the seed's six .npy files, checked
 * entry by entry, and the notebook's preprocessing (momenta over the mean
 * gluon pT, log amplitudes, standardised target). */
#include "bnn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int read_checked(const char *path, hd_array *a, int ndim, const int64_t *shape, const char *what)
{
    int rc = hd_npy_read(path, a);
    if (rc != HD_OK) return rc;
    int ok = a->ndim == ndim;
    for (int i = 1; ok && i < ndim; i++) ok = a->shape[i] == shape[i];
    if (!ok) {
        char got[96] = "(";
        for (int i = 0; i < a->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)a->shape[i]);
        hd_array_free(a);
        return hd_error(HD_EFORMAT, "%s: shape %s) but %s", path, got, what);
    }
    if (a->dtype != HD_F32 && a->dtype != HD_F64) {
        hd_dtype t = a->dtype;
        hd_array_free(a);
        return hd_error(HD_EFORMAT, "%s: dtype %s, but %s must be float32 or float64", path, hd_dtype_name(t),
                        ndim == 3 ? "momenta" : "amplitudes");
    }
    if (a->shape[0] < 1) {
        hd_array_free(a);
        return hd_error(HD_EFORMAT, "%s: no events", path);
    }
    return HD_OK;
}

static int alloc_split(hd_bnn_split *s, int64_t n)
{
    s->n = n;
    s->x = hd_malloc((size_t)n * HD_BNN_FEATURES * sizeof(float));
    s->y = hd_malloc((size_t)n * sizeof(float));
    s->log_amp = hd_malloc((size_t)n * sizeof(double));
    return s->x && s->y && s->log_amp ? HD_OK : HD_ENOMEM;
}

static int fill_momenta(const char *path, const hd_array *dat, hd_bnn_split *s)
{
    s->gluon_pt_sum = 0;
    for (int64_t i = 0; i < s->n * HD_BNN_FEATURES; i++) {
        double v = hd_array_get(dat, i);
        if (!isfinite(v))
            return hd_error(HD_EFORMAT, "%s: entry [%lld, %d, %d] is %g: momenta must be finite", path,
                            (long long)(i / HD_BNN_FEATURES), (int)(i % HD_BNN_FEATURES / 4), (int)(i % 4), v);
        s->x[i] = (float)v;
    }
    for (int64_t e = 0; e < s->n; e++) {
        double px = hd_array_get(dat, e * HD_BNN_FEATURES + HD_BNN_GLUON * 4 + 1);
        double py = hd_array_get(dat, e * HD_BNN_FEATURES + HD_BNN_GLUON * 4 + 2);
        s->gluon_pt_sum += sqrt(px * px + py * py);
    }
    return HD_OK;
}

static int fill_amplitudes(const char *path, const hd_array *amp, hd_bnn_split *s)
{
    for (int64_t i = 0; i < s->n; i++) {
        double v = hd_array_get(amp, i);
        if (!isfinite(v) || v <= 0)
            return hd_error(HD_EFORMAT, "%s: entry %lld is %g: amplitudes must be %s", path, (long long)i, v,
                            isfinite(v) ? "positive (the target is their logarithm)" : "finite");
        s->log_amp[i] = log(v);
        s->y[i] = (float)s->log_amp[i];
    }
    return HD_OK;
}

int hd_bnn_read_split(const char *dir, const char *name, hd_bnn_split *out)
{
    memset(out, 0, sizeof *out);
    char dat_path[4096], amp_path[4096];
    snprintf(dat_path, sizeof dat_path, "%s/%s_dat.npy", dir, name);
    snprintf(amp_path, sizeof amp_path, "%s/%s_amp.npy", dir, name);
    hd_array dat, amp;
    int rc = read_checked(dat_path, &dat, 3, (int64_t[]){0, HD_BNN_PARTICLES, 4},
                          "momenta must be (N, 5, 4): events x particles x (E, px, py, pz)");
    if (rc != HD_OK) return rc;
    if ((rc = read_checked(amp_path, &amp, 1, (int64_t[]){0}, "amplitudes must be (N,), one per event"))) {
        hd_array_free(&dat);
        return rc;
    }
    if (dat.shape[0] != amp.shape[0])
        rc = hd_error(HD_EFORMAT, "%s has %lld events but %s has %lld amplitudes", dat_path, (long long)dat.shape[0],
                      amp_path, (long long)amp.shape[0]);
    if (rc == HD_OK) rc = alloc_split(out, dat.shape[0]);
    if (rc == HD_OK) rc = fill_momenta(dat_path, &dat, out);
    if (rc == HD_OK) rc = fill_amplitudes(amp_path, &amp, out);
    hd_array_free(&dat);
    hd_array_free(&amp);
    if (rc != HD_OK) hd_bnn_split_free(out);
    return rc;
}

void hd_bnn_split_free(hd_bnn_split *s)
{
    hd_free(s->x);
    hd_free(s->y);
    hd_free(s->log_amp);
    memset(s, 0, sizeof *s);
}

hd_bnn_transform hd_bnn_fit_transform(const hd_bnn_split *train)
{
    hd_bnn_transform t = {.pt_scale = train->gluon_pt_sum / (double)train->n};
    if (!(t.pt_scale > 0)) t.pt_scale = 1; /* gluons along the beam: leave the momenta unscaled */
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < train->n; i++) s += train->log_amp[i];
    t.y_mean = s / (double)train->n;
    for (int64_t i = 0; i < train->n; i++) s2 += (train->log_amp[i] - t.y_mean) * (train->log_amp[i] - t.y_mean);
    t.y_std = sqrt(s2 / (double)train->n);
    if (!(t.y_std > 0)) t.y_std = 1; /* one amplitude value: nothing to scale */
    return t;
}

void hd_bnn_apply_transform(const hd_bnn_transform *t, hd_bnn_split *s)
{
    float inv = (float)(1.0 / t->pt_scale);
    for (int64_t i = 0; i < s->n * HD_BNN_FEATURES; i++) s->x[i] *= inv;
    for (int64_t i = 0; i < s->n; i++) s->y[i] = (float)((s->log_amp[i] - t->y_mean) / t->y_std);
}
