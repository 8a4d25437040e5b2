/* row_norm: the Euclidean distance ||a - b|| of each sample (over all dims
 * but 0), or the norm ||a|| when b is absent; [B, ...] -> [B].  CramerGAN's
 * critic distance and the gradient penalty's norm.  The gradient
 * (a - b) / ||a - b|| is taken as 0 where the distance is 0 (the subgradient
 * of smallest norm), so identical rows give no NaN. */
#include "ops_common.h"

#include <math.h>

static int shape_row_norm(hd_node *n)
{
    const hd_node *a = n->in[0];
    if (a->ndim < 1) return hd_shape_error1(n, a, "must have a sample dimension");
    if (n->n_in == 2 && !same_shape(a, n->in[1])) return hd_shape_error2(n, a, n->in[1], "differ");
    n->ndim = 1;
    n->shape[0] = a->shape[0];
    return HD_OK;
}

static int64_t per_row(const hd_node *n) { return numel_of(n->in[0]) / (n->val.shape[0] ? n->val.shape[0] : 1); }

static void row_norm_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const int64_t B = n->val.shape[0], F = per_row(n);
    const float *a = n->in[0]->val.data, *b = n->n_in == 2 ? n->in[1]->val.data : NULL;
#pragma omp parallel for schedule(static) if (B * F > HD_PAR_MIN)
    for (int64_t r = 0; r < B; r++) {
        double s = 0;
        for (int64_t i = r * F; i < (r + 1) * F; i++) {
            double d = b ? (double)a[i] - b[i] : a[i];
            s += d * d;
        }
        n->val.data[r] = (float)sqrt(s);
    }
}

static void row_norm_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const int64_t B = n->val.shape[0], F = per_row(n);
    const float *a = n->in[0]->val.data, *b = n->n_in == 2 ? n->in[1]->val.data : NULL;
    float *da = n->in[0]->needs_grad ? n->in[0]->grad.data : NULL;
    float *db = b && n->in[1]->needs_grad ? n->in[1]->grad.data : NULL;
#pragma omp parallel for schedule(static) if (B * F > HD_PAR_MIN)
    for (int64_t r = 0; r < B; r++) {
        float y = n->val.data[r], k = y > 0 ? n->grad.data[r] / y : 0.0f;
        for (int64_t i = r * F; i < (r + 1) * F; i++) {
            float d = b ? a[i] - b[i] : a[i];
            if (da) da[i] += k * d;
            if (db) db[i] -= k * d;
        }
    }
}

/* gy (a - b) / ||a - b||, per row, with 1 / 0 taken as 0. */
static int row_norm_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *a = n->in[0];
    int64_t col[HD_MAX_DIM];
    col[0] = a->shape[0];
    for (int d = 1; d < a->ndim; d++) col[d] = 1;
    hd_node *diff = n->n_in == 2 ? hd_sub(g, a, n->in[1]) : a;
    hd_node *k = hd_reshape(g, hd_mul(g, gy, hd_safe_recip(g, n)), a->ndim, col);
    hd_node *da = hd_mul(g, diff, k);
    *gx = i == 0 ? da : hd_scale(g, da, -1.0f);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_row_norm = {"row_norm", shape_row_norm, row_norm_fwd, row_norm_bwd, NULL, row_norm_vjp};

hd_node *hd_row_norm(hd_graph *g, hd_node *a, hd_node *b)
{
    hd_node *in[2] = {a, b};
    return hd_node_add(g, HD_OP_ROW_NORM, b ? 2 : 1, in, NULL);
}
