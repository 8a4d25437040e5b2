/* Batch normalisation over dim 1 of x [B, C, ...] ([B, F] per feature,
 * [B, C, H, W] per channel), as PyTorch's BatchNorm1d/2d:
 *
 *   training:   y = gamma (x - mean_B) / sqrt(var_B + eps) + beta, with the
 *               batch mean and biased variance; then, when running stats
 *               are given, running = (1 - momentum) running + momentum stat
 *               with the unbiased variance for running_var;
 *   evaluation: the same with running_mean and running_var (or the batch
 *               statistics when no running stats are given).
 *
 * The running stats are buffers (hd_buffer): they are written here, in the
 * forward pass, and never receive a gradient.  A training-mode output does
 * not depend on them, so repeated forwards (a gradient check) see the same
 * function.  Backward in training mode differentiates through the batch
 * statistics.  Sums are accumulated in double, one channel per thread.
 *
 * Data-parallel ranks that each hold an equal part of the global batch
 * (hd_graph_set_rows) take the statistics of the whole batch: the channel
 * sums are summed over the ranks in forward and backward (a synchronised
 * batch norm), so the outputs, the running stats and the gradients are the
 * one-process ones up to the order of summation (docs/distributed.md). */
#include "ops_common.h"

#include <math.h>

enum { IP_AFFINE, IP_RUNNING };

static int check_vec(hd_node *n, const hd_node *x, const hd_node *v, const char *what)
{
    if (v->ndim == 1 && v->shape[0] == x->shape[1]) return HD_OK;
    char s[160];
    snprintf(s, sizeof s, "do not match (%s must be [C], C = dim 1 of x)", what);
    return hd_shape_error2(n, x, v, s);
}

static int shape_batch_norm(hd_node *n)
{
    const hd_node *x = n->in[0];
    if (x->ndim < 2) return hd_shape_error1(n, x, "must have at least 2 dims [B, C, ...]");
    for (int i = 1; i < x->ndim; i++)
        if (x->shape[i] == HD_BATCH) return hd_shape_error1(n, x, "has HD_BATCH outside dim 0");
    if (!(n->fp[0] >= 0.0f && n->fp[0] <= 1.0f) || !(n->fp[1] > 0.0f))
        return hd_error(HD_EINVAL, "batch_norm: momentum %g must be in [0, 1] and eps %g > 0", (double)n->fp[0],
                        (double)n->fp[1]);
    int k = 1, rc = HD_OK;
    if (n->ip[IP_AFFINE]) {
        if ((rc = check_vec(n, x, n->in[k++], "gamma")) != HD_OK) return rc;
        if ((rc = check_vec(n, x, n->in[k++], "beta")) != HD_OK) return rc;
    }
    if (n->ip[IP_RUNNING]) {
        for (int j = 0; j < 2; j++, k++) {
            const char *what = j ? "running_var" : "running_mean";
            if ((rc = check_vec(n, x, n->in[k], what)) != HD_OK) return rc;
            if (!n->in[k]->is_buffer) /* written in forward: no gradient or optimiser may own it */
                return hd_error(HD_EINVAL, "batch_norm: %s '%s' must be a buffer (hd_buffer)", what,
                                hd_node_name(n->in[k]));
        }
    }
    return shape_same(n);
}

/* ---- layout of the work: [B, C, S] and the aux buffer -------------------------- */

typedef struct {
    int64_t B, C, S;
    const float *gamma, *beta;
    float *rmean, *rvar;
    /* aux: */
    float *mean, *invstd, *flag; /* flag[0] = 1 when the forward used batch statistics */
    double *s1, *s2;             /* per-channel sums */
    float *ka, *kb, *kc;         /* per-channel coefficients of the elementwise pass */
} bn_work;


/* The number of ranks whose rows make up the batch statistics: 1 unless the
 * graph holds an equal part of a larger batch (an unequal last batch keeps
 * its own statistics). */
static int64_t batch_parts(const hd_graph *g, const hd_node *n)
{
    if (g->row_total <= 0 || n->shape[0] != HD_BATCH || g->row_stride < 2) return 1;
    return g->row_total == g->batch * g->row_stride ? g->row_stride : 1;
}

/* A collective every rank reaches in the same op: a failure ends the job. */
static void sum_over_ranks(double *s, int64_t n)
{
    if (hd_dist_sum_double(s, n) == HD_OK) return;
    hd_message(HD_LOG_ERROR, "batch_norm: summing the batch statistics over the ranks failed: %s", hd_last_error());
    hd_dist_abort(1);
}

static int64_t bn_aux(const hd_node *n)
{
    int64_t C = n->val.shape[1];
    return 5 * pad16(C) + 16 + 2 * pad16(2 * C);
}

static bn_work work_of(hd_node *n)
{
    const hd_tensor *x = &n->in[0]->val;
    int64_t C = x->shape[1];
    bn_work w = {.B = x->shape[0], .C = C, .S = dims_prod(x, 2, x->ndim)};
    int k = 1;
    if (n->ip[IP_AFFINE]) {
        w.gamma = n->in[k++]->val.data;
        w.beta = n->in[k++]->val.data;
    }
    if (n->ip[IP_RUNNING]) {
        w.rmean = n->in[k++]->val.data;
        w.rvar = n->in[k++]->val.data;
    }
    float *a = n->aux;
    w.mean = a, a += pad16(C);
    w.invstd = a, a += pad16(C);
    w.flag = a, a += 16;
    w.s1 = (double *)(void *)a, a += pad16(2 * C);
    w.s2 = (double *)(void *)a, a += pad16(2 * C);
    w.ka = a, a += pad16(C);
    w.kb = a, a += pad16(C);
    w.kc = a;
    return w;
}

/* s1[c] = sum of u, s2[c] = sum of u (v - shift[c]) over channel c (v may be NULL). */
static void channel_sums(const bn_work *w, const float *u, const float *v, const float *shift)
{
    const int64_t B = w->B, C = w->C, S = w->S;
    if (S == 1) { /* [B, F]: rows are contiguous, so sweep blocks of features row by row */
#pragma omp parallel for schedule(static) if (B * C > HD_PAR_MIN)
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
            int64_t nc = C - c0 < 64 ? C - c0 : 64;
            double t1[64] = {0}, t2[64] = {0};
            for (int64_t r = 0; r < B; r++) {
                const float *ur = u + r * C + c0;
#pragma omp simd
                for (int64_t c = 0; c < nc; c++) t1[c] += ur[c];
                if (v) {
                    const float *vr = v + r * C + c0;
#pragma omp simd
                    for (int64_t c = 0; c < nc; c++) t2[c] += (double)ur[c] * (vr[c] - shift[c0 + c]);
                }
            }
            for (int64_t c = 0; c < nc; c++) {
                w->s1[c0 + c] = t1[c];
                w->s2[c0 + c] = t2[c];
            }
        }
        return;
    }
#pragma omp parallel for schedule(static) if (B * C * S > HD_PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double t1 = 0, t2 = 0;
        float m = v ? shift[c] : 0.0f;
        for (int64_t r = 0; r < B; r++) {
            const float *ur = u + (r * C + c) * S;
#pragma omp simd reduction(+ : t1)
            for (int64_t s = 0; s < S; s++) t1 += ur[s];
            if (v) {
                const float *vr = v + (r * C + c) * S;
#pragma omp simd reduction(+ : t2)
                for (int64_t s = 0; s < S; s++) t2 += (double)ur[s] * (vr[s] - m);
            }
        }
        w->s1[c] = t1;
        w->s2[c] = t2;
    }
}

/* out = ka[c] u + kb[c] (v - mean[c]) + kc[c] (kb, v may be NULL); added to
 * out when accumulate. */
static void channel_apply(const bn_work *w, const float *u, const float *v, float *out, int accumulate)
{
    const int64_t C = w->C, S = w->S, rows = w->B * C;
    if (S == 1) { /* [B, F]: vectorise along the features of a row */
        const float *ka = w->ka, *kb = w->kb, *kc = w->kc, *mean = w->mean;
#pragma omp parallel for schedule(static) if (rows > HD_PAR_MIN)
        for (int64_t r = 0; r < w->B; r++) {
            const float *ur = u + r * C, *vr = v ? v + r * C : NULL;
            float *o = out + r * C;
            if (vr && accumulate) { /* the backward pass */
#pragma omp simd
                for (int64_t c = 0; c < C; c++) o[c] += ka[c] * ur[c] + kb[c] * (vr[c] - mean[c]) + kc[c];
            } else if (vr) {
#pragma omp simd
                for (int64_t c = 0; c < C; c++) o[c] = ka[c] * ur[c] + kb[c] * (vr[c] - mean[c]) + kc[c];
            } else if (accumulate) {
#pragma omp simd
                for (int64_t c = 0; c < C; c++) o[c] += ka[c] * ur[c] + kc[c];
            } else {
#pragma omp simd
                for (int64_t c = 0; c < C; c++) o[c] = ka[c] * ur[c] + kc[c];
            }
        }
        return;
    }
#pragma omp parallel for schedule(static) if (rows * S > HD_PAR_MIN)
    for (int64_t rc = 0; rc < rows; rc++) {
        int64_t c = rc % C;
        const float a = w->ka[c], b = v ? w->kb[c] : 0.0f, k = w->kc[c], m = w->mean[c];
        const float *ur = u + rc * S, *vr = v ? v + rc * S : u + rc * S;
        float *o = out + rc * S;
        if (accumulate) {
#pragma omp simd
            for (int64_t s = 0; s < S; s++) o[s] += a * ur[s] + b * (vr[s] - m) + k;
        } else {
#pragma omp simd
            for (int64_t s = 0; s < S; s++) o[s] = a * ur[s] + b * (vr[s] - m) + k;
        }
    }
}

static void batch_norm_fwd(hd_graph *g, hd_node *n)
{
    bn_work w = work_of(n);
    const float *x = n->in[0]->val.data, momentum = n->fp[0], eps = n->fp[1];
    const int64_t parts = batch_parts(g, n), N = w.B * w.S * parts;
    int batch_stats = g->training || !w.rmean;
    w.flag[0] = (float)batch_stats;
    if (batch_stats) {
        channel_sums(&w, x, NULL, NULL);
        if (parts > 1) sum_over_ranks(w.s1, w.C);
        for (int64_t c = 0; c < w.C; c++) w.mean[c] = (float)(w.s1[c] / (double)N);
        channel_sums(&w, x, x, w.mean);
        if (parts > 1) sum_over_ranks(w.s2, w.C);
        for (int64_t c = 0; c < w.C; c++) {
            double var = w.s2[c] / (double)N;
            if (var < 0) var = 0;
            w.invstd[c] = (float)(1.0 / sqrt(var + (double)eps));
            if (g->training && w.rmean) {
                double unbiased = N > 1 ? var * (double)N / (double)(N - 1) : var;
                w.rmean[c] = (1.0f - momentum) * w.rmean[c] + momentum * w.mean[c];
                w.rvar[c] = (1.0f - momentum) * w.rvar[c] + momentum * (float)unbiased;
            }
        }
    } else {
        for (int64_t c = 0; c < w.C; c++) {
            w.mean[c] = w.rmean[c];
            w.invstd[c] = (float)(1.0 / sqrt((double)w.rvar[c] + (double)eps));
        }
    }
    for (int64_t c = 0; c < w.C; c++) { /* y = scale x + (beta - scale mean) */
        float scale = w.gamma ? w.gamma[c] * w.invstd[c] : w.invstd[c];
        w.ka[c] = scale;
        w.kc[c] = (w.beta ? w.beta[c] : 0.0f) - scale * w.mean[c];
    }
    channel_apply(&w, x, NULL, n->val.data, 0);
}

/* With xhat = (x - mean) invstd, sums s1 = sum dy, s2 = sum dy (x - mean):
 *   dbeta = s1, dgamma = invstd s2,
 *   batch statistics: dx = gamma invstd (dy - s1 / N - xhat invstd s2 / N),
 *   running statistics: dx = gamma invstd dy.
 * Over ranks, dgamma and dbeta take this rank's sums (the gradients are
 * summed over the ranks later, hd_dist_mean_grads), dx the whole batch's. */
static void batch_norm_bwd(hd_graph *g, hd_node *n)
{
    bn_work w = work_of(n);
    hd_node *xn = n->in[0];
    const float *x = xn->val.data, *dy = n->grad.data;
    int batch_stats = w.flag[0] != 0.0f;
    const int64_t parts = batch_stats ? batch_parts(g, n) : 1;
    const double N = (double)(w.B * w.S * parts);
    channel_sums(&w, dy, x, w.mean);
    if (n->ip[IP_AFFINE]) {
        hd_node *gn = n->in[1], *bn = n->in[2];
        for (int64_t c = 0; c < w.C; c++) {
            if (gn->needs_grad) gn->grad.data[c] += (float)(w.invstd[c] * w.s2[c]);
            if (bn->needs_grad) bn->grad.data[c] += (float)w.s1[c];
        }
    }
    if (!xn->needs_grad) return;
    if (parts > 1) {
        sum_over_ranks(w.s1, w.C);
        sum_over_ranks(w.s2, w.C);
    }
    for (int64_t c = 0; c < w.C; c++) {
        double gi = (w.gamma ? w.gamma[c] : 1.0) * w.invstd[c];
        double is = w.invstd[c];
        w.ka[c] = (float)gi;
        w.kb[c] = batch_stats ? (float)(-gi * is * is * w.s2[c] / N) : 0.0f;
        w.kc[c] = batch_stats ? (float)(-gi * w.s1[c] / N) : 0.0f;
    }
    channel_apply(&w, dy, x, xn->grad.data, 1);
}

const hd_op hd_op_batch_norm = {"batch_norm", shape_batch_norm, batch_norm_fwd, batch_norm_bwd, bn_aux, NULL};

hd_node *hd_batch_norm(hd_graph *g, hd_node *x, hd_node *gamma, hd_node *beta, hd_node *running_mean,
                       hd_node *running_var, float momentum, float eps)
{
    if (!g) return NULL;
    if (!gamma != !beta || !running_mean != !running_var) {
        hd_error(HD_EINVAL, "batch_norm: give gamma and beta both or neither, and running_mean and running_var "
                            "both or neither");
        return NULL;
    }
    hd_node *in[5] = {x};
    int k = 1;
    if (gamma) in[k++] = gamma, in[k++] = beta;
    if (running_mean) in[k++] = running_mean, in[k++] = running_var;
    hd_op_args args = {.i = {[IP_AFFINE] = gamma != NULL, [IP_RUNNING] = running_mean != NULL},
                       .f = {momentum, eps}};
    return hd_node_add(g, HD_OP_BATCH_NORM, k, in, &args);
}
