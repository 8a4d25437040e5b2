/* Layer normalisation, per sample over all its features (PyTorch's
 * LayerNorm(x.shape[1:])): y = gamma (x - mean) / sqrt(var + eps) + beta,
 * with the biased variance of the sample's F values; gamma and beta have
 * x's shape less the batch, or are both absent.  Unlike batch norm it does
 * not mix samples, which a critic with a gradient penalty needs.  Sums are
 * in double; one sample per thread. */
#include "ops_common.h"

#include <math.h>

static int shape_layer_norm(hd_node *n)
{
    const hd_node *x = n->in[0];
    if (x->ndim < 2) return hd_shape_error1(n, x, "must have at least 2 dims [B, ...]");
    for (int i = 1; i < x->ndim; i++)
        if (x->shape[i] == HD_BATCH) return hd_shape_error1(n, x, "has HD_BATCH outside dim 0");
    if (!(n->fp[0] > 0.0f)) return hd_error(HD_EINVAL, "layer_norm: eps %g must be > 0", (double)n->fp[0]);
    for (int j = 1; j < n->n_in; j++) {
        const hd_node *v = n->in[j];
        int ok = v->ndim == x->ndim - 1;
        for (int i = 0; ok && i < v->ndim; i++) ok = v->shape[i] == x->shape[i + 1];
        if (!ok) return hd_shape_error2(n, x, v, j == 1 ? "do not match (gamma must be x's shape less the batch)"
                                                        : "do not match (beta must be x's shape less the batch)");
    }
    return shape_same(n);
}

typedef struct { int64_t B, F; const float *gamma, *beta; float *mean, *rstd; } ln_work;

static int64_t ln_aux(const hd_node *n) { return 2 * n->val.shape[0]; }

static ln_work ln_of(const hd_node *n)
{
    int64_t B = n->val.shape[0];
    return (ln_work){.B = B, .F = numel_of(n) / (B ? B : 1), .gamma = n->n_in > 1 ? n->in[1]->val.data : NULL,
                     .beta = n->n_in > 1 ? n->in[2]->val.data : NULL, .mean = n->aux, .rstd = n->aux + B};
}

static void layer_norm_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    ln_work w = ln_of(n);
    const float *x = n->in[0]->val.data;
    float *y = n->val.data;
    const float eps = n->fp[0];
#pragma omp parallel for schedule(static) if (w.B * w.F > HD_PAR_MIN)
    for (int64_t r = 0; r < w.B; r++) {
        const float *xr = x + r * w.F;
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < w.F; i++) s += xr[i];
        double mu = s / (double)w.F;
        for (int64_t i = 0; i < w.F; i++) s2 += (xr[i] - mu) * (xr[i] - mu);
        float m = (float)mu, rs = (float)(1.0 / sqrt(s2 / (double)w.F + eps));
        w.mean[r] = m;
        w.rstd[r] = rs;
        float *yr = y + r * w.F;
        for (int64_t i = 0; i < w.F; i++) {
            float h = (xr[i] - m) * rs;
            yr[i] = w.gamma ? h * w.gamma[i] + w.beta[i] : h;
        }
    }
}

/* dx = rstd (gg - mean(gg) - xhat mean(gg xhat)), gg = dy gamma;
 * dgamma += sum over samples of dy xhat, dbeta += sum of dy. */
static void layer_norm_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    ln_work w = ln_of(n);
    hd_node *xn = n->in[0];
    const float *x = xn->val.data, *dy = n->grad.data;
    if (xn->needs_grad) {
        float *dx = xn->grad.data;
#pragma omp parallel for schedule(static) if (w.B * w.F > HD_PAR_MIN)
        for (int64_t r = 0; r < w.B; r++) {
            const float *xr = x + r * w.F, *dyr = dy + r * w.F;
            const float m = w.mean[r], rs = w.rstd[r];
            double s1 = 0, s2 = 0;
            for (int64_t i = 0; i < w.F; i++) {
                float gg = w.gamma ? dyr[i] * w.gamma[i] : dyr[i];
                s1 += gg;
                s2 += gg * (xr[i] - m) * rs;
            }
            float m1 = (float)(s1 / (double)w.F), m2 = (float)(s2 / (double)w.F);
            float *dxr = dx + r * w.F;
            for (int64_t i = 0; i < w.F; i++) {
                float gg = w.gamma ? dyr[i] * w.gamma[i] : dyr[i];
                dxr[i] += rs * (gg - m1 - (xr[i] - m) * rs * m2);
            }
        }
    }
    if (n->n_in == 1) return;
    float *dgamma = n->in[1]->needs_grad ? n->in[1]->grad.data : NULL;
    float *dbeta = n->in[2]->needs_grad ? n->in[2]->grad.data : NULL;
    for (int64_t r = 0; r < w.B; r++) {
        const float *xr = x + r * w.F, *dyr = dy + r * w.F;
        const float m = w.mean[r], rs = w.rstd[r];
        for (int64_t i = 0; i < w.F; i++) {
            if (dgamma) dgamma[i] += dyr[i] * (xr[i] - m) * rs;
            if (dbeta) dbeta[i] += dyr[i];
        }
    }
}

/* t as [rows, cols] (rows keeps t's dim 0, batch or not). */
static hd_node *as2d(hd_graph *g, hd_node *t, int64_t rows, int64_t cols)
{
    return t->ndim == 2 ? t : hd_reshape(g, t, 2, (int64_t[]){rows, cols});
}

/* Per-row mean of a [rows, F] node, as [rows, 1]. */
static hd_node *row_mean(hd_graph *g, hd_node *a, int64_t rows)
{
    return hd_reshape(g, hd_mean(g, a, 1), 2, (int64_t[]){rows, 1});
}

/* The backward pass above, in ops that have gradients of their own. */
static int layer_norm_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *x = n->in[0];
    int64_t rows = x->shape[0], F = 1;
    for (int d = 1; d < x->ndim; d++) F *= x->shape[d];
    hd_node *x2 = as2d(g, x, rows, F), *gy2 = as2d(g, gy, rows, F);
    hd_op_args args = {.f = {n->fp[0]}};
    hd_node *xh = hd_node_add(g, HD_OP_LAYER_NORM, 1, &x2, &args);
    if (i > 0) {
        hd_node *s = hd_sum(g, i == 1 ? hd_mul(g, gy2, xh) : gy2, 0);
        *gx = s && n->in[i]->ndim != 1 ? hd_reshape(g, s, n->in[i]->ndim, n->in[i]->shape) : s;
        return *gx ? HD_OK : HD_EINVAL;
    }
    hd_node *gg = n->n_in > 1 ? hd_mul(g, gy2, hd_reshape(g, n->in[1], 1, (int64_t[]){F})) : gy2;
    hd_node *c = hd_sub(g, x2, row_mean(g, x2, rows));
    hd_node *rs = hd_rsqrt(g, hd_add_scalar(g, row_mean(g, hd_square(g, c), rows), n->fp[0]));
    hd_node *inner = hd_sub(g, hd_sub(g, gg, row_mean(g, gg, rows)), hd_mul(g, xh, row_mean(g, hd_mul(g, gg, xh), rows)));
    hd_node *dx = hd_mul(g, rs, inner);
    *gx = dx && x->ndim != 2 ? hd_reshape(g, dx, x->ndim, x->shape) : dx;
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_layer_norm = {"layer_norm", shape_layer_norm, layer_norm_fwd, layer_norm_bwd, ln_aux,
                                layer_norm_vjp};

hd_node *hd_layer_norm(hd_graph *g, hd_node *x, hd_node *gamma, hd_node *beta, float eps)
{
    if ((gamma == NULL) != (beta == NULL)) {
        hd_error(HD_EINVAL, "layer_norm: give both gamma and beta, or neither");
        return NULL;
    }
    hd_node *in[3] = {x, gamma, beta};
    hd_op_args args = {.f = {eps}};
    return hd_node_add(g, HD_OP_LAYER_NORM, gamma ? 3 : 1, in, &args);
}
