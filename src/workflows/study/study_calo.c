/* What the calorimeter studies share: simulated shower files, showers
 * from a trained generator, and the per-shower statistics they judge. */
#include "study_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *hd_shower_stat_name(int i)
{
    static const char *const names[HD_SHOWER_STATS] = {"E_ratio", "width", "occupancy", "layer_fractions"};
    return i >= 0 && i < HD_SHOWER_STATS ? names[i] : "?";
}

int study_simulate(const char *path, uint64_t seed, int64_t n, gen_sample *out)
{
    hd_calo_opts c = hd_calo_opts_default();
    c.seed = seed;
    c.n_showers = n;
    int rc = hd_calo_write(&c, path);
    hd_calo_layout l;
    return rc == HD_OK ? gen_read(path, 0, &l, out) : rc;
}

int study_train(const study_run *r, double *seconds)
{
    if (mkdir(r->dir, 0777) != 0 && errno != EEXIST) return hd_error(HD_EIO, "cannot make %s: %s", r->dir, strerror(errno));
    hd_gen_opts g = hd_gen_opts_default(r->model);
    g.data = r->data;
    g.max_showers = r->max_showers;
    g.heldout = r->heldout;
    g.eval_showers = 2000; /* the vae's held-out ELBO */
    g.out_dir = r->dir;
    g.seed = r->seed;
    g.epochs = r->epochs;
    g.checkpoint_every = r->epochs;
    g.evaluate = 0;
    g.enforce = r->enforce;
    g.on_epoch = r->on_epoch;
    g.user = r->user;
    hd_gen_result res;
    int rc = hd_gen_train(&g, &res);
    *seconds = res.train_seconds;
    return rc;
}

int study_generate(const char *checkpoint, uint64_t seed, int64_t n, const float *e_inc, float *out)
{
    hd_model *m = NULL;
    int rc = hd_model_load(checkpoint, &m);
    if (rc != HD_OK) return rc;
    hd_model_set_seed(m, seed);
    hd_model_allow_extrapolation(m, 1); /* conditions of another sample may lie just outside the training range */
    rc = hd_model_generate(m, n, e_inc, NULL, out);
    hd_model_free(m);
    return rc;
}

int study_shower_stats(const hd_calo_layout *l, int64_t n, const float *showers, const float *e_inc, double *out)
{
    int64_t nv = hd_calo_layout_voxels(l), per = nv / l->n_layers, w = study_stat_count(l);
    double *x = hd_malloc((size_t)(2 * nv) * sizeof(double));
    int rc = x ? hd_calo_voxel_xy(l, x, x + nv) : HD_ENOMEM;
    const double *y = x + nv;
    double thr = hd_calo_opts_default().threshold;
    for (int64_t i = 0; rc == HD_OK && i < n; i++) {
        const float *s = showers + i * nv;
        double e = 0, mx = 0, my = 0, m2 = 0, hits = 0;
        for (int64_t v = 0; v < nv; v++) {
            e += s[v];
            mx += s[v] * x[v];
            my += s[v] * y[v];
            m2 += s[v] * (x[v] * x[v] + y[v] * y[v]);
            hits += s[v] > thr;
        }
        double *o = out + i * w, inv = e > 0 ? 1 / e : 0;
        o[STUDY_E_RATIO] = e / e_inc[i];
        o[STUDY_WIDTH] = sqrt(fmax(m2 * inv - (mx * inv) * (mx * inv) - (my * inv) * (my * inv), 0));
        o[STUDY_OCCUPANCY] = hits / (double)nv;
        for (int k = 0; k < l->n_layers; k++) {
            double el = 0;
            for (int64_t v = 0; v < per; v++) el += s[k * per + v];
            o[STUDY_SCALARS + k] = el * inv;
        }
    }
    hd_free(x);
    return rc;
}

int64_t study_stat_count(const hd_calo_layout *l) { return STUDY_SCALARS + l->n_layers; }

void study_column_moments(int64_t n, int64_t w, const double *t, int64_t j, double *mean, double *sd)
{
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; i++) m += t[i * w + j];
    m /= (double)n;
    for (int64_t i = 0; i < n; i++) v += (t[i * w + j] - m) * (t[i * w + j] - m);
    *mean = m;
    *sd = sqrt(v / (double)(n > 1 ? n - 1 : 1));
}
