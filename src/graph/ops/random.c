/* Random ops.  Dropout masks come from the DROPOUT stream addressed by
 * (node, graph step), so they are reproducible and differ between steps. */
#include "ops_common.h"

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

const hd_op hd_op_dropout = {"dropout", shape_dropout, dropout_fwd, dropout_bwd, dropout_aux};

hd_node *hd_dropout(hd_graph *g, hd_node *a, float p)
{
    hd_op_args args = {.f = {p}};
    return hd_node_add(g, HD_OP_DROPOUT, 1, &a, &args);
}
