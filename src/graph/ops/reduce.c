/* Sum and mean, over one axis (removed) or over everything (-> scalar).
 * Accumulation is in double, never split across threads. */
#include "ops_common.h"

static int norm_axis(const hd_node *n, int *axis)
{
    const hd_node *a = n->in[0];
    int ax = (int)n->ip[0];
    if (ax == HD_AXIS_ALL) {
        *axis = HD_AXIS_ALL;
        return HD_OK;
    }
    if (ax < 0) ax += a->ndim;
    if (ax < 0 || ax >= a->ndim) return hd_shape_error1(n, a, "has no such axis");
    *axis = ax;
    return HD_OK;
}

static int shape_reduce(hd_node *n)
{
    int ax = 0;
    int rc = norm_axis(n, &ax);
    if (rc != HD_OK) return rc;
    n->ip[0] = ax;
    if (ax == HD_AXIS_ALL) {
        n->ndim = 0;
        return HD_OK;
    }
    const hd_node *a = n->in[0];
    n->ndim = 0;
    for (int i = 0; i < a->ndim; i++)
        if (i != ax) n->shape[n->ndim++] = a->shape[i];
    return HD_OK;
}

typedef struct { int64_t outer, k, inner; } split3;

static split3 split(const hd_node *n)
{
    const hd_tensor *x = &n->in[0]->val;
    int ax = (int)n->ip[0];
    if (ax == HD_AXIS_ALL) return (split3){1, hd_tensor_numel(x), 1};
    return (split3){dims_prod(x, 0, ax), x->shape[ax], dims_prod(x, ax + 1, x->ndim)};
}

/* A double accumulator per inner position. */
static int64_t reduce_aux(const hd_node *n) { return 2 * split(n).inner; }

/* Sum of k contiguous floats in double; the SIMD order is fixed by the
 * build, not by the thread count. */
static double sum_contiguous(const float *x, int64_t k)
{
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < k; i++) acc += x[i];
    return acc;
}

static void reduce_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    split3 s = split(n);
    const float *x = n->in[0]->val.data;
    double *acc = (double *)n->aux;
    double scale = n->op == HD_OP_MEAN ? 1.0 / (double)s.k : 1.0;
    if (s.inner == 1) { /* sum over the last axis or everything */
        for (int64_t o = 0; o < s.outer; o++) n->val.data[o] = (float)(sum_contiguous(x + o * s.k, s.k) * scale);
        return;
    }
    for (int64_t o = 0; o < s.outer; o++) {
        for (int64_t i = 0; i < s.inner; i++) acc[i] = 0;
        for (int64_t k = 0; k < s.k; k++) {
            const float *row = x + (o * s.k + k) * s.inner;
            for (int64_t i = 0; i < s.inner; i++) acc[i] += row[i];
        }
        for (int64_t i = 0; i < s.inner; i++) n->val.data[o * s.inner + i] = (float)(acc[i] * scale);
    }
}

static void reduce_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (!n->in[0]->needs_grad) return;
    split3 s = split(n);
    float *dx = n->in[0]->grad.data;
    float scale = n->op == HD_OP_MEAN ? 1.0f / (float)s.k : 1.0f;
    for (int64_t o = 0; o < s.outer; o++) {
        const float *dy = n->grad.data + o * s.inner;
        if (s.inner == 1) {
            const float d = dy[0] * scale;
            float *row = dx + o * s.k;
#pragma omp simd
            for (int64_t k = 0; k < s.k; k++) row[k] += d;
            continue;
        }
        for (int64_t k = 0; k < s.k; k++) {
            float *row = dx + (o * s.k + k) * s.inner;
            for (int64_t i = 0; i < s.inner; i++) row[i] += dy[i] * scale;
        }
    }
}

/* gy, with the reduced axis put back as size 1, expanded to the input
 * (divided by the count for mean). */
static int reduce_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    hd_node *a = n->in[0], *kept = gy;
    int ax = (int)n->ip[0];
    if (ax != HD_AXIS_ALL && !(ax == 0 && a->ndim >= 1)) {
        int64_t shape[HD_MAX_DIM];
        for (int d = 0; d < a->ndim; d++) shape[d] = d == ax ? 1 : a->shape[d];
        kept = hd_reshape(g, gy, a->ndim, shape);
    }
    *gx = hd_expand(g, kept, a, n->op == HD_OP_MEAN);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_sum = {"sum", shape_reduce, reduce_fwd, reduce_bwd, reduce_aux, reduce_vjp};
const hd_op hd_op_mean = {"mean", shape_reduce, reduce_fwd, reduce_bwd, reduce_aux, reduce_vjp};

static hd_node *reduce(hd_graph *g, int op, hd_node *a, int axis)
{
    hd_op_args args = {.i = {axis}};
    return hd_node_add(g, op, 1, &a, &args);
}

hd_node *hd_sum(hd_graph *g, hd_node *a, int axis) { return reduce(g, HD_OP_SUM, a, axis); }
hd_node *hd_mean(hd_graph *g, hd_node *a, int axis) { return reduce(g, HD_OP_MEAN, a, axis); }
