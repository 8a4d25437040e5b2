/* Self-describing models for inference: an MLP with input transforms, a
 * standard scaler and an output activation, all read from one checkpoint. */
#include "nn/generator_internal.h"
#include "nn/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096 /* rows per forward pass */
#define ROW_PATH_BELOW 3 /* fewer rows than this: hd_model_predict runs them row by row */

/* Reads "none,log,cyclic"; sets the raw input count from the features it makes. */
static int parse_transforms(const char *path, const char *list, hd_model *m)
{
    m->n_raw = m->n_in;
    for (int64_t i = 0; i < m->n_in; i++) m->tf[i] = TF_NONE;
    if (!list) return HD_OK;
    int64_t i = 0, features = 0;
    for (const char *p = list; *p; i++) {
        size_t len = strcspn(p, ",");
        if (i >= HD_MODEL_MAX_INPUTS) return hd_error(HD_EFORMAT, "%s: input_transform '%s': too many inputs", path, list);
        if (len == 4 && strncmp(p, "none", 4) == 0) m->tf[i] = TF_NONE;
        else if (len == 3 && strncmp(p, "log", 3) == 0) m->tf[i] = TF_LOG;
        else if (len == 6 && strncmp(p, "cyclic", 6) == 0) m->tf[i] = TF_CYCLIC;
        else return hd_error(HD_EFORMAT, "%s: input_transform '%s': unknown transform (none, log, cyclic)", path, list);
        features += m->tf[i] == TF_CYCLIC ? 2 : 1;
        p += len + (p[len] == ',');
    }
    if (features != m->n_in)
        return hd_error(HD_EFORMAT, "%s: input_transform '%s' makes %lld features, the network takes %lld", path, list,
                        (long long)features, (long long)m->n_in);
    m->n_raw = i;
    return HD_OK;
}

void hd_model_features(const hd_model *m, const float *raw, float *out)
{
    int64_t f = 0;
    for (int64_t c = 0; c < m->n_raw; c++) {
        float v = raw[c];
        if (m->tf[c] == TF_CYCLIC) {
            out[f] = (cosf(v) - m->mean[f]) * m->inv_std[f];
            f++;
            v = sinf(v);
        } else if (m->tf[c] == TF_LOG) {
            v = logf(v);
        }
        out[f] = (v - m->mean[f]) * m->inv_std[f];
        f++;
    }
}

static int read_scaler(const char *path, const hd_safetensors *st, hd_model *m)
{
    const hd_tensor *mean = hd_safetensors_get(st, "scaler.mean"), *std = hd_safetensors_get(st, "scaler.std");
    for (int64_t i = 0; i < m->n_in; i++) {
        m->mean[i] = 0.0f;
        m->inv_std[i] = 1.0f;
    }
    if (!mean && !std) return HD_OK;
    if (!mean || !std || hd_tensor_numel(mean) != m->n_in || hd_tensor_numel(std) != m->n_in)
        return hd_error(HD_EFORMAT, "%s: scaler.mean and scaler.std must both hold %lld values", path, (long long)m->n_in);
    for (int64_t i = 0; i < m->n_in; i++) {
        if (!isfinite(mean->data[i]) || !(std->data[i] > 0) || !isfinite(std->data[i]))
            return hd_error(HD_EFORMAT, "%s: scaler input %lld: mean %g, std %g", path, (long long)i,
                            (double)mean->data[i], (double)std->data[i]);
        m->mean[i] = mean->data[i];
        m->inv_std[i] = 1.0f / std->data[i];
    }
    return HD_OK;
}

int hd_model_with_path(int rc, const char *path)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hd_last_error());
    return hd_error(rc, "%s: %s", path, msg);
}

/* A model whose weights are not all finite predicts NaN for everything:
 * refused when loaded, naming the tensor (checkpoint loading itself keeps
 * any value, bit for bit, for resuming). */
static int check_finite_params(const char *path, const hd_graph *g)
{
    for (int i = 0; i < hd_graph_n_params(g); i++) {
        hd_node *p = hd_graph_param(g, i);
        const hd_tensor *t = hd_node_value(p);
        for (int64_t k = 0; k < hd_tensor_numel(t); k++)
            if (!isfinite(t->data[k]))
                return hd_error(HD_EFORMAT, "%s: tensor '%s' element %lld is %s: a model's weights must be finite",
                                path, hd_node_name(p), (long long)k, isnan(t->data[k]) ? "NaN" : "infinite");
    }
    return HD_OK;
}

int64_t hd_model_widest(const hd_model *m)
{
    int64_t w = m->n_in;
    for (int i = 1; i <= m->n_layers; i++)
        if (m->width[i] > w) w = m->width[i];
    return w;
}

/* The layers as hd_model_run reads them: transposed weights, the biases. */
static int keep_layers(const char *path, hd_model *m)
{
    m->n_layers = m->spec.n_hidden + 1;
    m->width[0] = m->n_in;
    for (int i = 0; i < m->spec.n_hidden; i++) m->width[i + 1] = m->spec.hidden[i];
    m->width[m->n_layers] = m->n_out;
    for (int i = 0; i < m->n_layers; i++) {
        char key[160];
        snprintf(key, sizeof key, "%s.dense%d.weight", m->prefix, i);
        hd_node *w = hd_graph_find(m->g, key);
        snprintf(key, sizeof key, "%s.dense%d.bias", m->prefix, i);
        hd_node *b = hd_graph_find(m->g, key);
        if (!w || !b) return hd_error(HD_EFORMAT, "%s: no layer %s.dense%d", path, m->prefix, i);
        if (!(m->wt[i] = hd_row_transposed(hd_node_value(w)->data, m->width[i + 1], m->width[i]))) return HD_ENOMEM;
        m->bias[i] = hd_node_value(b)->data;
    }
    return HD_OK;
}

static int build(const char *path, const hd_safetensors *st, hd_model *m)
{
    const char *kind = hd_safetensors_meta(st, "model"), *arch = hd_safetensors_meta(st, "mlp");
    const char *prefix = hd_safetensors_meta(st, "prefix"), *out = hd_safetensors_meta(st, "output");
    if (!kind || strcmp(kind, "mlp") != 0 || !arch || !prefix)
        return hd_error(HD_EFORMAT, "%s: not a hadron MLP model (metadata needs model=mlp, mlp and prefix)", path);
    hd_mlp_spec spec;
    int rc = hd_mlp_spec_from_json(arch, &spec);
    if (rc != HD_OK) return hd_model_with_path(rc, path);
    if (spec.n_in > HD_MODEL_MAX_INPUTS) return hd_error(HD_EFORMAT, "%s: %lld inputs, at most %d", path, (long long)spec.n_in, HD_MODEL_MAX_INPUTS);
    if (strlen(prefix) >= sizeof m->prefix) return hd_error(HD_EFORMAT, "%s: prefix '%.40s...' is too long", path, prefix);
    m->n_in = spec.n_in;
    m->n_out = spec.n_out;
    m->spec = spec;
    snprintf(m->prefix, sizeof m->prefix, "%s", prefix);
    hd_activation out_act = HD_ACT_NONE;
    if (out && strcmp(out, "sigmoid") == 0) out_act = HD_ACT_SIGMOID;
    else if (out && strcmp(out, "identity") != 0) return hd_error(HD_EFORMAT, "%s: output '%s' (identity, sigmoid)", path, out);
    if ((rc = read_scaler(path, st, m)) ||
        (rc = parse_transforms(path, hd_safetensors_meta(st, "input_transform"), m)))
        return rc;
    m->g = hd_graph_new(0);
    if (!m->g || hd_graph_set_no_grad(m->g)) return HD_ENOMEM; /* inference: no gradient buffers */
    m->x = hd_input(m->g, "x", 2, (int64_t[]){HD_BATCH, spec.n_in});
    m->out_act = out_act;
    m->y = hd_activate(m->g, hd_mlp(m->g, &spec, prefix, m->x), out_act);
    if (!m->y) return hd_model_with_path(HD_EFORMAT, path);
    if ((rc = hd_checkpoint_check(m->g, st, path, HD_ALL)) || (rc = hd_graph_compile(m->g)) ||
        (rc = hd_checkpoint_load_parsed(m->g, st, path, HD_ALL)) ||
        (rc = check_finite_params(path, m->g)) || (rc = keep_layers(path, m)))
        return rc;
    if (!(m->own = hd_model_ctx_new(m))) return HD_ENOMEM;
    hd_graph_set_training(m->g, 0);
    return HD_OK;
}

int hd_model_load(const char *path, hd_model **out)
{
    *out = NULL;
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    hd_model *m = hd_calloc(1, sizeof *m);
    const char *kind = hd_safetensors_meta(st, "model");
    if (!m) rc = HD_ENOMEM;
    else if (kind && (strcmp(kind, "generator") == 0 || strcmp(kind, "dcgan") == 0)) {
        if ((rc = hd_generator_load(path, st, &m->gen)) == HD_OK) {
            m->n_raw = m->n_in = hd_generator_n_cond(m->gen);
            m->n_out = hd_generator_n_vox(m->gen);
            m->gen_st = st; /* kept for the contexts */
            st = NULL;
            snprintf(m->gen_path, sizeof m->gen_path, "%s", path);
        }
    } else if (kind && strcmp(kind, "bayes_mlp") == 0) {
        rc = hd_model_build_bayes(path, st, m);
    } else rc = build(path, st, m);
    hd_safetensors_free(st);
    if (rc != HD_OK) {
        hd_model_free(m);
        return rc;
    }
    *out = m;
    return HD_OK;
}

void hd_model_free(hd_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_layers; i++) {
        hd_free(m->wt[i]);
        hd_free(m->wt_logvar[i]);
        hd_free(m->bias_owned[i]);
    }
    hd_free(m->out_scale);
    hd_free(m->out_shift);
    hd_model_ctx_free(m->own);
    hd_safetensors_free(m->gen_st);
    hd_graph_free(m->g);
    hd_generator_free(m->gen);
    hd_free(m);
}

int64_t hd_model_n_in(const hd_model *m) { return m->n_raw; }
int64_t hd_model_n_out(const hd_model *m) { return m->n_out; }

int hd_model_predict(hd_model *m, int64_t n, const float *x, float *y)
{
    if (m->gen) return hd_error(HD_EINVAL, "predict: a %s generator; draw showers with hd_model_generate", hd_generator_kind(m->gen));
    if (n < 1) return hd_error(HD_EINVAL, "predict: %lld rows", (long long)n);
    /* A Bayesian network's mean network has no graph; and one or two rows
     * go row by row too: one graph pass costs about 17 us on the 3x128
     * surrogate, a row 5.6 us, and from 3 rows on the pass is cheaper
     * (bench/embed.sh measures both paths). */
    if (!m->g || n < ROW_PATH_BELOW) return hd_model_run(m->own, n, x, y);
    for (int64_t start = 0; start < n; start += CHUNK) {
        int64_t rows = n - start < CHUNK ? n - start : CHUNK;
        int rc;
        if (rows != hd_graph_batch(m->g) && (rc = hd_graph_set_batch(m->g, rows))) return rc;
        float *in = hd_node_value(m->x)->data;
        for (int64_t r = 0; r < rows; r++) hd_model_features(m, x + (start + r) * m->n_raw, in + r * m->n_in);
        if ((rc = hd_graph_forward(m->g, m->y))) return rc;
        memcpy(y + start * m->n_out, hd_node_value(m->y)->data, (size_t)(rows * m->n_out) * sizeof(float));
    }
    return HD_OK;
}

/* ---- generators ------------------------------------------------------------------ */

const char *hd_model_kind(const hd_model *m) { return m->gen ? hd_generator_kind(m->gen) : m->wt_logvar[0] ? "bayes_mlp" : "mlp"; }
int64_t hd_model_n_cond(const hd_model *m) { return m->gen ? hd_generator_n_cond(m->gen) : 0; }
int64_t hd_model_noise_dim(const hd_model *m) { return m->gen ? hd_generator_noise_dim(m->gen) : 0; }

int hd_model_cond_range(const hd_model *m, int64_t j, float *lo, float *hi)
{
    if (!m->gen || j < 0 || j >= hd_generator_n_cond(m->gen))
        return hd_error(HD_EINVAL, "condition %lld: the model has %lld", (long long)j, (long long)hd_model_n_cond(m));
    *lo = hd_generator_scaler(m->gen)->lo[j];
    *hi = hd_generator_scaler(m->gen)->hi[j];
    return HD_OK;
}

void hd_model_set_seed(hd_model *m, uint64_t seed)
{
    if (m->gen) hd_generator_set_seed(m->gen, seed);
}

void hd_model_allow_extrapolation(hd_model *m, int allow)
{
    if (m->gen) hd_generator_allow_extrapolation(m->gen, allow);
}

int hd_model_generate(hd_model *m, int64_t n, const float *cond, const float *noise, float *out)
{
    if (!m->gen) return hd_error(HD_EINVAL, "generate: an MLP model, not a generator; use hd_model_predict");
    return hd_generator_run(m->gen, n, cond, noise, out);
}
