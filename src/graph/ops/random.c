/* Random ops.  Their numbers come from a stream addressed by (node, graph
 * step): reproducible, different between steps, and repeated exactly when the
 * step is set back (hd_graph_set_step), which is how a sampled network is
 * held fixed. */
#include "ops_common.h"

#include <math.h>

/* A batched node's rows of the global batch (hd_graph_set_rows); 0 when the batch is whole. */
static int global_rows(const hd_graph *g, const hd_node *n, hd_rows *rows)
{
    if (g->row_total <= 0 || n->shape[0] != HD_BATCH) return 0;
    *rows = (hd_rows){.n = g->batch, .first = g->row_first, .stride = g->row_stride, .total = g->row_total};
    return 1;
}

static int shape_dropout(hd_node *n)
{
    float p = n->fp[0];
    if (!(p >= 0.0f && p < 1.0f)) return hd_error(HD_EINVAL, "dropout: rate %g outside [0, 1)", (double)p);
    return shape_same(n);
}

static int64_t dropout_aux(const hd_node *n) { return hd_tensor_numel(&n->val); }

static void dropout_fwd(hd_graph *g, hd_node *n)
{
    const float *x = n->in[0]->val.data;
    float *y = n->val.data, *mask = n->aux;
    int64_t len = numel_of(n);
    if (!g->training || n->fp[0] == 0.0f) {
        memcpy(y, x, (size_t)len * sizeof *y);
        return;
    }
    float keep = 1.0f - n->fp[0], scale = 1.0f / keep;
    hd_rng r;
    hd_rng_init(&r, g->seed, HD_STREAM_DROPOUT | ((uint64_t)n->id << 8));
    r.counter = g->step << 32;
    hd_rows rows;
    if (global_rows(g, n, &rows))
        hd_rng_fill_bernoulli_rows(&r, mask, &rows, len / g->batch, keep);
    else
        hd_rng_fill_bernoulli(&r, mask, len, keep);
    for (int64_t i = 0; i < len; i++) {
        mask[i] *= scale;
        y[i] = x[i] * mask[i];
    }
}

static void dropout_bwd(hd_graph *g, hd_node *n)
{
    if (!n->in[0]->needs_grad) return;
    float *dx = n->in[0]->grad.data;
    const float *dy = n->grad.data, *mask = n->aux;
    int64_t len = numel_of(n);
    int identity = !g->training || n->fp[0] == 0.0f;
    for (int64_t i = 0; i < len; i++) dx[i] += identity ? dy[i] : dy[i] * mask[i];
}

const hd_op hd_op_dropout = {"dropout", shape_dropout, dropout_fwd, dropout_bwd, dropout_aux, NULL};

hd_node *hd_dropout(hd_graph *g, hd_node *a, float p)
{
    hd_op_args args = {.f = {p}};
    return hd_node_add(g, HD_OP_DROPOUT, 1, &a, &args);
}

/* gauss_sample: w = mu + exp(logvar / 2) * eps, eps ~ N(0, 1) from the NOISE
 * stream.  It samples in evaluation mode too: a Bayesian network predicts by
 * sampling. */
static int shape_gauss_sample(hd_node *n)
{
    if (!same_shape(n->in[0], n->in[1])) return hd_shape_error2(n, n->in[0], n->in[1], "mean and log-variance differ");
    return shape_same(n);
}

static void gauss_sample_fwd(hd_graph *g, hd_node *n)
{
    const float *mu = n->in[0]->val.data, *lv = n->in[1]->val.data;
    float *w = n->val.data, *eps = n->aux;
    int64_t len = numel_of(n);
    hd_rng r;
    hd_rng_init(&r, g->seed, HD_STREAM_NOISE | ((uint64_t)n->id << 8));
    r.counter = g->step << 32;
    hd_rows rows;
    if (global_rows(g, n, &rows))
        hd_rng_fill_normal_rows(&r, eps, &rows, len / g->batch, 0.0f, 1.0f);
    else
        hd_rng_fill_normal(&r, eps, len, 0.0f, 1.0f);
    for (int64_t i = 0; i < len; i++) w[i] = mu[i] + expf(0.5f * lv[i]) * eps[i];
}

static void gauss_sample_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const float *dw = n->grad.data, *w = n->val.data, *mu = n->in[0]->val.data;
    int64_t len = numel_of(n);
    if (n->in[0]->needs_grad) {
        float *dmu = n->in[0]->grad.data;
        for (int64_t i = 0; i < len; i++) dmu[i] += dw[i];
    }
    if (n->in[1]->needs_grad) { /* dw/dlogvar = exp(logvar / 2) eps / 2 = (w - mu) / 2 */
        float *dlv = n->in[1]->grad.data;
        for (int64_t i = 0; i < len; i++) dlv[i] += 0.5f * dw[i] * (w[i] - mu[i]);
    }
}

/* dw/dmu = 1, dw/dlogvar = (w - mu) / 2, with w this node: the same draw. */
static int gauss_sample_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0 ? gy : hd_mul(g, gy, hd_scale(g, hd_sub(g, n, n->in[0]), 0.5f));
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_gauss_sample = {"gauss_sample", shape_gauss_sample, gauss_sample_fwd, gauss_sample_bwd,
                                  dropout_aux, gauss_sample_vjp};

hd_node *hd_gauss_sample(hd_graph *g, hd_node *mean, hd_node *logvar)
{
    hd_node *in[2] = {mean, logvar};
    return hd_node_add(g, HD_OP_GAUSS_SAMPLE, 2, in, NULL);
}
