/* Thread contexts.  For an MLP model hd_model_run evaluates the network row
 * by row from the model's transposed weights, reading the model and
 * writing only the context's two buffers, so that any number of threads
 * may share one loaded model, each with its own context.  No allocation,
 * no BLAS, no threads: a framework that owns its threads keeps them.  For
 * a generator the context holds its own noise stream and row buffers
 * (nn/generator.c: the same holds there, but for the convolutional
 * generator, whose context keeps a graph of its own). */
#include "core/fpmode.h"
#include "nn/model_internal.h"

#include <math.h>
#include <string.h>

struct hd_model_ctx {
    const hd_model *m;
    float *a, *b;     /* one row at the widest layer, alternately in and out */
    hd_generator_thread *gen; /* a generator model's: this context's stream and buffers */
};

static hd_model_ctx *generator_ctx(const hd_model *m)
{
    hd_model_ctx *c = hd_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->m = m;
    if (hd_generator_thread_new(m->gen, m->gen_path, m->gen_st, &c->gen) != HD_OK) {
        hd_free(c);
        return NULL;
    }
    return c;
}

hd_model_ctx *hd_model_ctx_new(const hd_model *m)
{
    if (!m) {
        hd_error(HD_EINVAL, "hd_model_ctx_new: NULL model");
        return NULL;
    }
    if (m->gen) return generator_ctx(m);
    hd_model_ctx *c = hd_calloc(1, sizeof *c);
    int64_t w = hd_model_widest(m);
    if (!c || !(c->a = hd_malloc((size_t)w * sizeof(float))) || !(c->b = hd_malloc((size_t)w * sizeof(float)))) {
        hd_model_ctx_free(c);
        return NULL;
    }
    c->m = m;
    return c;
}

void hd_model_ctx_free(hd_model_ctx *c)
{
    if (!c) return;
    hd_generator_thread_free(c->gen);
    hd_free(c->a);
    hd_free(c->b);
    hd_free(c);
}

void hd_model_row(const hd_model *m, float *const *w, const float *const *b, const float *raw, float *y, float *a,
                  float *h)
{
    const int last = m->n_layers - 1;
    float *in = a, *out = h;
    hd_model_features(m, raw, in);
    for (int i = 0; i < m->n_layers; i++) {
        hd_row_dense(w[i], b[i], m->width[i], m->width[i + 1], in, out, i < last ? m->spec.act : m->spec.out_act);
        float *t = in;
        in = out;
        out = t;
    }
    for (int64_t j = 0; j < m->n_out; j++) {
        float v = hd_row_activate(m->out_act, in[j]);
        y[j] = m->out_scale ? m->out_shift[j] + m->out_scale[j] * v : v;
    }
}

int hd_model_run(hd_model_ctx *c, int64_t n, const float *x, float *y)
{
    if (c->gen) return hd_error(HD_EINVAL, "hd_model_run: a %s generator; use hd_model_ctx_generate", hd_generator_kind(c->m->gen));
    if (n < 0) return hd_error(HD_EINVAL, "hd_model_run: %lld rows", (long long)n);
    const hd_model *m = c->m;
    unsigned int mode = hd_ftz_begin(); /* as the graph's forward: no denormals */
    for (int64_t r = 0; r < n; r++)
        hd_model_row(m, m->wt, m->bias, x + r * m->n_raw, y + r * m->n_out, c->a, c->b);
    hd_ftz_end(mode);
    return HD_OK;
}

int hd_model_ctx_generate(hd_model_ctx *c, int64_t n, const float *cond, const float *noise, float *out)
{
    if (!c->gen) return hd_error(HD_EINVAL, "hd_model_ctx_generate: an MLP model, not a generator; use hd_model_run");
    return hd_generator_thread_run(c->m->gen, c->gen, n, cond, noise, out);
}

void hd_model_ctx_set_seed(hd_model_ctx *c, uint64_t seed)
{
    if (c->gen) hd_generator_thread_set_seed(c->gen, seed);
}

void hd_model_ctx_allow_extrapolation(hd_model_ctx *c, int allow)
{
    if (c->gen) hd_generator_thread_allow_extrapolation(c->gen, allow);
}
