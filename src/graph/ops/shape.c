/* Shape ops: concat, slice and its adjoint pad, reshape, stop_grad.  The
 * batch dimension stays at dim 0; concat, slice and pad never cut along it. */
#include "ops_common.h"

static int axis_of(const hd_node *n, const hd_node *a, int64_t raw, int *axis)
{
    int ax = (int)raw;
    if (ax < 0) ax += a->ndim;
    if (ax < 0 || ax >= a->ndim) return hd_shape_error1(n, a, "has no such axis");
    if (a->shape[ax] == HD_BATCH) return hd_shape_error1(n, a, "cannot be cut along the batch dimension");
    *axis = ax;
    return HD_OK;
}

/* ---- concat ---------------------------------------------------------------- */

static int shape_concat(hd_node *n)
{
    const hd_node *a = n->in[0];
    int ax = 0;
    int rc = axis_of(n, a, n->ip[0], &ax);
    if (rc != HD_OK) return rc;
    n->ip[0] = ax;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    for (int j = 1; j < n->n_in; j++) {
        const hd_node *b = n->in[j];
        int ok = b->ndim == a->ndim;
        for (int i = 0; ok && i < a->ndim; i++) ok = i == ax || a->shape[i] == b->shape[i];
        if (!ok) return hd_shape_error2(n, a, b, "differ outside the concatenation axis");
        n->shape[ax] += b->shape[ax];
    }
    return HD_OK;
}

/* Copies chunks between y and its parts; to_parts adds y's gradient back. */
static void concat_walk(hd_node *n, int to_parts)
{
    int ax = (int)n->ip[0];
    int64_t outer = dims_prod(&n->val, 0, ax), inner = dims_prod(&n->val, ax + 1, n->val.ndim);
    int64_t row = n->val.shape[ax] * inner, off = 0;
    for (int j = 0; j < n->n_in; j++) {
        hd_node *x = n->in[j];
        int64_t len = x->val.shape[ax] * inner;
        if (to_parts && !x->needs_grad) {
            off += len;
            continue;
        }
        for (int64_t o = 0; o < outer; o++) {
            if (to_parts) {
                const float *dy = n->grad.data + o * row + off;
                float *dx = x->grad.data + o * len;
                for (int64_t i = 0; i < len; i++) dx[i] += dy[i];
            } else {
                memcpy(n->val.data + o * row + off, x->val.data + o * len, (size_t)len * sizeof(float));
            }
        }
        off += len;
    }
}

static void concat_fwd(hd_graph *g, hd_node *n) { (void)g; concat_walk(n, 0); }
static void concat_bwd(hd_graph *g, hd_node *n) { (void)g; concat_walk(n, 1); }

/* The gradient of part j is its slice of gy. */
static int concat_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    int ax = (int)n->ip[0];
    int64_t off = 0;
    for (int j = 0; j < i; j++) off += n->in[j]->shape[ax];
    *gx = hd_slice(g, gy, ax, off, n->in[i]->shape[ax]);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_concat = {"concat", shape_concat, concat_fwd, concat_bwd, NULL, concat_vjp};

hd_node *hd_concat(hd_graph *g, int n, hd_node *const *xs, int axis)
{
    if (n < 1 || n > HD_MAX_INPUTS) {
        hd_error(HD_EINVAL, "concat: %d inputs, need 1..%d", n, HD_MAX_INPUTS);
        return NULL;
    }
    hd_op_args args = {.i = {axis}};
    return hd_node_add(g, HD_OP_CONCAT, n, xs, &args);
}

/* ---- slice ----------------------------------------------------------------- */

static int shape_slice(hd_node *n)
{
    const hd_node *a = n->in[0];
    int ax = 0;
    int rc = axis_of(n, a, n->ip[0], &ax);
    if (rc != HD_OK) return rc;
    int64_t start = n->ip[1], len = n->ip[2];
    if (start < 0 || len < 1 || start + len > a->shape[ax]) {
        char s[96];
        return hd_error(HD_ESHAPE, "slice: [%lld, %lld) is outside axis %d of %s", (long long)start,
                        (long long)(start + len), ax, hd_shape_str(a->ndim, a->shape, s, sizeof s));
    }
    n->ip[0] = ax;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    n->shape[ax] = len;
    return HD_OK;
}

/* The window [off, off + len) of axis ax of a big tensor against a small
 * one of that length there: the window copied into small, small added into
 * the window, or the window added into small (gradients accumulate). */
typedef struct { int64_t outer, row, len, off; } window;

static window window_of(const hd_tensor *big, const hd_tensor *small_, int ax, int64_t start)
{
    int64_t inner = dims_prod(big, ax + 1, big->ndim);
    return (window){dims_prod(big, 0, ax), big->shape[ax] * inner, small_->shape[ax] * inner, start * inner};
}

enum { WIN_COPY, WIN_ADD_TO_BIG, WIN_ADD_TO_SMALL };

static void window_walk(const window *w, float *big, float *small_, int mode)
{
    for (int64_t o = 0; o < w->outer; o++) {
        float *b = big + o * w->row + w->off, *s = small_ + o * w->len;
        if (mode == WIN_COPY) memcpy(s, b, (size_t)w->len * sizeof(float));
        else if (mode == WIN_ADD_TO_BIG)
            for (int64_t i = 0; i < w->len; i++) b[i] += s[i];
        else
            for (int64_t i = 0; i < w->len; i++) s[i] += b[i];
    }
}

static void slice_walk(hd_node *n, int backward)
{
    window w = window_of(&n->in[0]->val, &n->val, (int)n->ip[0], n->ip[1]);
    if (backward) window_walk(&w, n->in[0]->grad.data, n->grad.data, WIN_ADD_TO_BIG);
    else window_walk(&w, n->in[0]->val.data, n->val.data, WIN_COPY);
}

static void slice_fwd(hd_graph *g, hd_node *n) { (void)g; slice_walk(n, 0); }
static void slice_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (n->in[0]->needs_grad) slice_walk(n, 1);
}

static int slice_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    int ax = (int)n->ip[0];
    *gx = hd_pad(g, gy, ax, n->ip[1], n->in[0]->shape[ax]);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_slice = {"slice", shape_slice, slice_fwd, slice_bwd, NULL, slice_vjp};

hd_node *hd_slice(hd_graph *g, hd_node *a, int axis, int64_t start, int64_t len)
{
    hd_op_args args = {.i = {axis, start, len}};
    return hd_node_add(g, HD_OP_SLICE, 1, &a, &args);
}

/* ---- pad: a slice's adjoint, a placed inside zeros ------------------------------- */

static int shape_pad(hd_node *n)
{
    const hd_node *a = n->in[0];
    int ax = 0;
    int rc = axis_of(n, a, n->ip[0], &ax);
    if (rc != HD_OK) return rc;
    if (n->ip[1] < 0 || n->ip[1] + a->shape[ax] > n->ip[2]) return hd_shape_error1(n, a, "does not fit the padding");
    n->ip[0] = ax;
    n->ndim = a->ndim;
    memcpy(n->shape, a->shape, sizeof n->shape);
    n->shape[ax] = n->ip[2];
    return HD_OK;
}

/* y's [start, start + len) along the axis is a, the rest zero; backward the slice. */
static void pad_walk(hd_node *n, int backward)
{
    window w = window_of(&n->val, &n->in[0]->val, (int)n->ip[0], n->ip[1]);
    if (backward) {
        window_walk(&w, n->grad.data, n->in[0]->grad.data, WIN_ADD_TO_SMALL);
        return;
    }
    memset(n->val.data, 0, (size_t)numel_of(n) * sizeof(float));
    window_walk(&w, n->val.data, n->in[0]->val.data, WIN_ADD_TO_BIG);
}

static void pad_fwd(hd_graph *g, hd_node *n) { (void)g; pad_walk(n, 0); }
static void pad_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (n->in[0]->needs_grad) pad_walk(n, 1);
}

static int pad_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    *gx = hd_slice(g, gy, (int)n->ip[0], n->ip[1], n->in[0]->shape[n->ip[0]]);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_pad = {"pad", shape_pad, pad_fwd, pad_bwd, NULL, pad_vjp};

hd_node *hd_pad(hd_graph *g, hd_node *a, int axis, int64_t start, int64_t full)
{
    hd_op_args args = {.i = {axis, start, full}};
    return hd_node_add(g, HD_OP_PAD, 1, &a, &args);
}

/* ---- reshape and stop_grad: copies of the data ------------------------------ */

static int shape_reshape(hd_node *n)
{
    const hd_node *a = n->in[0];
    int nd = (int)n->ip[HD_MAX_DIM];
    int batched = a->ndim > 0 && a->shape[0] == HD_BATCH;
    int64_t want = 1, have = 1;
    for (int i = batched; i < a->ndim; i++) have *= a->shape[i];
    for (int i = 0; i < nd; i++) {
        int64_t d = n->ip[i];
        n->shape[i] = d;
        if (i == 0 && batched && d == HD_BATCH) continue;
        if (d < 1) return hd_shape_error1(n, a, "cannot take this target shape (HD_BATCH only at dim 0, for batched inputs)");
        want *= d;
    }
    n->ndim = nd;
    if (batched && (nd == 0 || n->shape[0] != HD_BATCH))
        return hd_shape_error1(n, a, "is batched: the target shape must start with HD_BATCH");
    if (want != have) {
        char s[96];
        return hd_error(HD_ESHAPE, "reshape: %s has %lld elements per %s, target %s has %lld",
                        hd_shape_str(a->ndim, a->shape, s, sizeof s), (long long)have,
                        batched ? "sample" : "tensor", "shape", (long long)want);
    }
    return HD_OK;
}

static void copy_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    memcpy(n->val.data, n->in[0]->val.data, (size_t)numel_of(n) * sizeof(float));
}

static void copy_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (!n->in[0]->needs_grad) return;
    float *dx = n->in[0]->grad.data;
    const float *dy = n->grad.data;
    int64_t len = numel_of(n);
    for (int64_t i = 0; i < len; i++) dx[i] += dy[i];
}

static int reshape_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    *gx = hd_reshape(g, gy, n->in[0]->ndim, n->in[0]->shape);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_reshape = {"reshape", shape_reshape, copy_fwd, copy_bwd, NULL, reshape_vjp};
void hd_no_backward(hd_graph *g, hd_node *n)
{
    (void)g;
    (void)n;
}

int hd_zero_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)g, (void)n, (void)i, (void)gy;
    *gx = NULL;
    return HD_OK;
}

/* The gradient of stop_grad is zero by definition; exec.c also never marks
 * anything below it as needing a gradient. */
const hd_op hd_op_stop_grad = {"stop_grad", shape_same, copy_fwd, hd_no_backward, NULL, hd_zero_vjp};

hd_node *hd_reshape(hd_graph *g, hd_node *a, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > HD_MAX_DIM) {
        hd_error(HD_ESHAPE, "reshape: %d dimensions, at most %d", ndim, HD_MAX_DIM);
        return NULL;
    }
    hd_op_args args = {.i = {0}};
    for (int i = 0; i < ndim; i++) args.i[i] = shape[i];
    args.i[HD_MAX_DIM] = ndim;
    return hd_node_add(g, HD_OP_RESHAPE, 1, &a, &args);
}

hd_node *hd_stop_grad(hd_graph *g, hd_node *a) { return hd_node_add(g, HD_OP_STOP_GRAD, 1, &a, NULL); }
