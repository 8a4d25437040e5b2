/* Bayesian networks as models (hadron bnn's model.safetensors, metadata
 * model "bayes_mlp"): the mean network for hd_model_predict, hd_model_run
 * and the exports, and the predictive mean and uncertainty of sampled
 * networks for hd_model_predict_bayes, split as the workflow splits them
 * (docs/bnn.md, "Uncertainties that hold"). */
#include "core/fpmode.h"
#include "nn/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BNN_OUTPUTS 2 /* mean and log-variance of the standardised log amplitude */

/* Layer i's tensor `what` ([out, in], or [out] for the bias), checked. */
static int layer_tensor(const char *path, const hd_safetensors *st, const char *prefix, int i, const char *what,
                        int64_t out, int64_t in, const hd_tensor **t)
{
    char key[160];
    snprintf(key, sizeof key, "%s.bayes%d.%s", prefix, i, what);
    *t = hd_safetensors_get(st, key);
    int ndim = in ? 2 : 1;
    if (!*t || (*t)->ndim != ndim || (*t)->shape[0] != out || (in && (*t)->shape[1] != in))
        return hd_error(HD_EFORMAT, "%s: tensor '%s' %s (the description wants [%lld%s%lld])", path, key,
                        *t ? "has another shape" : "is missing", (long long)out, in ? ", " : "", (long long)in);
    for (int64_t k = 0; k < hd_tensor_numel(*t); k++)
        if (!isfinite((*t)->data[k]))
            return hd_error(HD_EFORMAT, "%s: tensor '%s' element %lld is not finite", path, key, (long long)k);
    return HD_OK;
}

static int read_layers(const char *path, const hd_safetensors *st, const char *prefix, hd_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        int64_t in = m->width[i], out = m->width[i + 1];
        const hd_tensor *mu, *lv, *b;
        int rc;
        if ((rc = layer_tensor(path, st, prefix, i, "weight_mean", out, in, &mu)) ||
            (rc = layer_tensor(path, st, prefix, i, "weight_logvar", out, in, &lv)) ||
            (rc = layer_tensor(path, st, prefix, i, "bias", out, 0, &b)))
            return rc;
        if (!(m->wt[i] = hd_row_transposed(mu->data, out, in)) || !(m->wt_logvar[i] = hd_row_transposed(lv->data, out, in)) ||
            !(m->bias_owned[i] = hd_malloc((size_t)out * sizeof(float))))
            return HD_ENOMEM;
        memcpy(m->bias_owned[i], b->data, (size_t)out * sizeof(float));
        m->bias[i] = m->bias_owned[i];
    }
    return HD_OK;
}

int hd_model_build_bayes(const char *path, const hd_safetensors *st, hd_model *m)
{
    const char *arch = hd_safetensors_meta(st, "mlp"), *prefix = hd_safetensors_meta(st, "prefix");
    if (!arch || !prefix) return hd_error(HD_EFORMAT, "%s: a bayes_mlp model needs metadata mlp and prefix", path);
    double pt_scale, y_mean, y_std;
    int rc;
    if ((rc = hd_mlp_spec_from_json(arch, &m->spec)) != HD_OK) return hd_model_with_path(rc, path);
    if ((rc = hd_checkpoint_meta_double(st, path, "pt_scale", &pt_scale)) ||
        (rc = hd_checkpoint_meta_double(st, path, "target_mean", &y_mean)) ||
        (rc = hd_checkpoint_meta_double(st, path, "target_std", &y_std)))
        return rc;
    if (m->spec.n_in > HD_MODEL_MAX_INPUTS || m->spec.n_out != BNN_OUTPUTS || m->spec.out_act != HD_ACT_NONE)
        return hd_error(HD_EFORMAT, "%s: a bayes_mlp model has at most %d inputs and 2 plain outputs", path,
                        HD_MODEL_MAX_INPUTS);
    if (!(pt_scale > 0) || !(y_std > 0) || !isfinite(pt_scale) || !isfinite(y_std) || !isfinite(y_mean))
        return hd_error(HD_EFORMAT, "%s: pt_scale %g, target_std %g, target_mean %g", path, pt_scale, y_std, y_mean);
    m->n_raw = m->n_in = m->spec.n_in;
    m->n_out = BNN_OUTPUTS;
    m->n_layers = m->spec.n_hidden + 1;
    m->width[0] = m->n_in;
    for (int i = 0; i < m->spec.n_hidden; i++) m->width[i + 1] = m->spec.hidden[i];
    m->width[m->n_layers] = m->n_out;
    for (int64_t k = 0; k < m->n_in; k++) {
        m->tf[k] = TF_NONE;
        m->mean[k] = 0.0f;
        m->inv_std[k] = (float)(1.0 / pt_scale);
    }
    m->out_act = HD_ACT_NONE;
    if ((rc = read_layers(path, st, prefix, m)) != HD_OK) return rc;
    m->out_scale = hd_malloc(BNN_OUTPUTS * sizeof(float));
    m->out_shift = hd_malloc(BNN_OUTPUTS * sizeof(float));
    if (!m->out_scale || !m->out_shift) return HD_ENOMEM;
    /* back to log amplitude, and its log-variance */
    m->out_scale[0] = (float)y_std;
    m->out_shift[0] = (float)y_mean;
    m->out_scale[1] = 1.0f;
    m->out_shift[1] = (float)(2 * log(y_std));
    return (m->own = hd_model_ctx_new(m)) ? HD_OK : HD_ENOMEM;
}

int hd_model_predict_bayes(const hd_model *m, int64_t n, const float *x, int samples, uint64_t seed, float *mean,
                           float *sigma)
{
    if (!m->wt_logvar[0]) return hd_error(HD_EINVAL, "predict_bayes: not a Bayesian network (model %s)", hd_model_kind(m));
    if (n < 1 || samples < 2) return hd_error(HD_EINVAL, "predict_bayes: %lld rows, %d samples", (long long)n, samples);
    int64_t wide = hd_model_widest(m);
    float *w[HD_MLP_MAX_LAYERS + 1] = {0}, *a = hd_malloc((size_t)wide * sizeof(float)),
          *h = hd_malloc((size_t)wide * sizeof(float));
    double *acc = hd_calloc((size_t)(3 * n), sizeof(double)); /* per row: sum mu, sum mu^2, sum e^logvar */
    int rc = a && h && acc ? HD_OK : HD_ENOMEM;
    for (int i = 0; rc == HD_OK && i < m->n_layers; i++)
        if (!(w[i] = hd_malloc((size_t)(m->width[i] * m->width[i + 1]) * sizeof(float)))) rc = HD_ENOMEM;
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    unsigned int mode = hd_ftz_begin(); /* as the graph's forward: no denormals */
    for (int s = 0; rc == HD_OK && s < samples; s++) {
        for (int i = 0; i < m->n_layers; i++) /* one network, held over every row */
            for (int64_t k = 0; k < m->width[i] * m->width[i + 1]; k++)
                w[i][k] = m->wt[i][k] + expf(0.5f * m->wt_logvar[i][k]) * hd_rng_normal(&r);
        for (int64_t row = 0; row < n; row++) {
            float y[BNN_OUTPUTS];
            hd_model_row(m, w, m->bias, x + row * m->n_raw, y, a, h);
            acc[3 * row] += y[0];
            acc[3 * row + 1] += (double)y[0] * y[0];
            acc[3 * row + 2] += exp((double)y[1]);
        }
    }
    hd_ftz_end(mode);
    for (int64_t row = 0; rc == HD_OK && row < n; row++) {
        double mu = acc[3 * row] / samples, spread = fmax(acc[3 * row + 1] / samples - mu * mu, 0),
               head = acc[3 * row + 2] / samples;
        mean[row] = (float)mu;
        sigma[row] = (float)sqrt(fmax(head - spread, spread)); /* aleatoric + epistemic, the spread counted once */
    }
    for (int i = 0; i < m->n_layers; i++) hd_free(w[i]);
    hd_free(a);
    hd_free(h);
    hd_free(acc);
    return rc;
}
