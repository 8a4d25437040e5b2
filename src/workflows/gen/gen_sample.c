/* hadron gen sample: showers from a generator checkpoint, for conditions
 * from a file or drawn log-uniformly in energy, written for calo-eval. */
#include "gen_internal.h"

#include <math.h>
#include <string.h>

hd_gen_sample_opts hd_gen_sample_opts_default(void) { return (hd_gen_sample_opts){.n = 10000, .seed = 1}; }

/* The layout of a generator by its voxel count (the checkpoint's "layout", when written, names it). */
static int model_layout(const char *path, int64_t n_vox, hd_calo_layout *l)
{
    static const char *const names[] = {"reduced", "ds2", "ds3", "ecal30"};
    for (int i = 0; i < 4; i++)
        if (hd_calo_layout_get(names[i], l) == HD_OK && hd_calo_layout_voxels(l) == n_vox) return HD_OK;
    return hd_error(HD_EFORMAT, "%s: %lld voxels match no known layout", path, (long long)n_vox);
}

static int conditions_from_file(const hd_gen_sample_opts *o, int64_t n_cond, const hd_calo_layout *l, float *cond)
{
    hd_calo_layout fl;
    gen_sample s;
    int rc = gen_read(o->conditions, 0, &fl, &s);
    if (rc != HD_OK) return rc;
    if (s.n_cond != n_cond || strcmp(fl.name, l->name) != 0)
        rc = hd_error(HD_EINVAL, "%s: %s showers with %lld conditions; the model makes %s showers from %lld",
                      o->conditions, fl.name, (long long)s.n_cond, l->name, (long long)n_cond);
    for (int64_t i = 0; rc == HD_OK && i < o->n; i++)
        memcpy(cond + i * n_cond, s.cond + (i % s.n) * n_cond, (size_t)n_cond * sizeof(float));
    gen_sample_release(&s);
    return rc;
}

/* The caller's normals: an .npy of (n, noise_dim), finite, as float. */
static int noise_from_file(const char *path, int64_t n, int64_t dim, float **out)
{
    hd_array a;
    int rc = hd_npy_read(path, &a);
    if (rc != HD_OK) return rc;
    if (a.ndim != 2 || a.shape[0] != n || a.shape[1] != dim)
        rc = hd_error(HD_EINVAL, "%s: the noise must have shape (%lld, %lld): --n showers of the model's noise "
                      "dimension", path, (long long)n, (long long)dim);
    if (rc == HD_OK && !(*out = hd_malloc((size_t)(n * dim) * sizeof(float)))) rc = HD_ENOMEM;
    for (int64_t i = 0; rc == HD_OK && i < n * dim; i++) {
        double v = hd_array_get(&a, i);
        if (!isfinite(v)) rc = hd_error(HD_EINVAL, "%s: element %lld is %g", path, (long long)i, v);
        else (*out)[i] = (float)v;
    }
    hd_array_free(&a);
    return rc;
}

int hd_gen_sample(hd_gen_sample_opts *o)
{
    if (!o->model || !o->out) return hd_error(HD_EINVAL, "gen sample: a model and an output file are needed");
    if (o->n < 1) return hd_error(HD_EINVAL, "gen sample: n %lld < 1", (long long)o->n);
    if (o->e_min < 0 || o->e_max < 0 || (o->e_max > 0 && o->e_min > o->e_max))
        return hd_error(HD_EINVAL, "gen sample: energy range [%g, %g] MeV", o->e_min, o->e_max);
    hd_model *m;
    int rc = hd_model_load(o->model, &m);
    if (rc != HD_OK) return rc;
    int64_t nc = hd_model_n_cond(m), nv = hd_model_n_out(m);
    hd_calo_layout l;
    float *cond = NULL, *showers = NULL, *noise = NULL;
    if (nc == 0)
        rc = hd_error(HD_EINVAL, "%s: a %s model, not a shower generator (hadron gen train writes those%s)", o->model,
                      hd_model_kind(m), strcmp(hd_model_kind(m), "dcgan") == 0 ? "; hadron gan sample draws images" : "");
    if (rc == HD_OK) rc = model_layout(o->model, nv, &l);
    if (rc == HD_OK && !o->conditions && nc > 1)
        rc = hd_error(HD_EINVAL, "%s: the model takes %lld conditions (energy, momentum, entry point): give them "
                      "with --conditions FILE", o->model, (long long)nc);
    if (rc == HD_OK) {
        cond = hd_malloc((size_t)(o->n * nc) * sizeof(float));
        showers = hd_malloc((size_t)(o->n * nv) * sizeof(float));
        if (!cond || !showers) rc = HD_ENOMEM;
    }
    if (rc == HD_OK && o->conditions) {
        rc = conditions_from_file(o, nc, &l, cond);
    } else if (rc == HD_OK) {
        float lo, hi;
        hd_model_cond_range(m, 0, &lo, &hi);
        double a = o->e_min > 0 ? o->e_min : lo, b = o->e_max > 0 ? o->e_max : hi;
        hd_rng r;
        hd_rng_init(&r, o->seed, HD_STREAM_USER);
        for (int64_t i = 0; i < o->n; i++) cond[i] = (float)(a * pow(b / a, hd_rng_uniform(&r)));
    }
    if (rc == HD_OK && o->noise) rc = noise_from_file(o->noise, o->n, hd_model_noise_dim(m), &noise);
    if (rc == HD_OK) {
        hd_model_set_seed(m, o->seed);
        hd_model_allow_extrapolation(m, o->extrapolate);
        double t0 = hd_now();
        rc = hd_model_generate(m, o->n, cond, noise, showers);
        o->seconds = hd_now() - t0;
    }
    if (rc == HD_OK) rc = gen_write(o->out, &l, o->n, nc, cond, showers);
    hd_free(cond);
    hd_free(showers);
    hd_free(noise);
    hd_model_free(m);
    return rc;
}
