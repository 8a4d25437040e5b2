/* Matrix products through CBLAS: matmul y = a op(b), op(b) = b or b^T, and
 * linear y = x w^T + b, which writes the bias first and lets sgemm add the
 * product (beta = 1): one pass over y instead of three. */
#include "ops_common.h"

#include <cblas.h>

/* ip[0]: b transposed; ip[1]: a transposed (internal, for gradients: it may
 * contract over the batch dimension, when both operands carry it there). */
static int shape_matmul(hd_node *n)
{
    const hd_node *a = n->in[0], *b = n->in[1];
    int tb = (int)n->ip[0], ta = (int)n->ip[1];
    if (a->ndim != 2 || b->ndim != 2) return hd_shape_error2(n, a, b, "must both be 2-D");
    int64_t ka = ta ? a->shape[0] : a->shape[1], kb = tb ? b->shape[1] : b->shape[0];
    int64_t rows = ta ? a->shape[1] : a->shape[0], cols = tb ? b->shape[0] : b->shape[1];
    int over_batch = ka == HD_BATCH || kb == HD_BATCH;
    if (over_batch && !(ta && ka == kb))
        return hd_shape_error2(n, a, b, "cannot contract over the batch dimension");
    if (ka != kb)
        return hd_shape_error2(n, a, b, tb ? "do not match (a columns vs b columns, b transposed)"
                                           : "do not match (a columns vs b rows)");
    if (cols == HD_BATCH) return hd_shape_error2(n, a, b, "would move the batch dimension");
    n->ndim = 2;
    n->shape[0] = rows;
    n->shape[1] = cols;
    return HD_OK;
}

static CBLAS_TRANSPOSE tr(int64_t t) { return t ? CblasTrans : CblasNoTrans; }

static void matmul_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const hd_tensor *a = &n->in[0]->val, *b = &n->in[1]->val;
    int tb = (int)n->ip[0], ta = (int)n->ip[1];
    int m = (int)n->val.shape[0], cols = (int)n->val.shape[1], k = (int)(ta ? a->shape[0] : a->shape[1]);
    cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), m, cols, k, 1.0f, a->data, (int)a->shape[1], b->data,
                (int)b->shape[1], 0.0f, n->val.data, cols);
}

static void matmul_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    hd_node *a = n->in[0], *b = n->in[1];
    int tb = (int)n->ip[0], ta = (int)n->ip[1];
    int m = (int)n->val.shape[0], cols = (int)n->val.shape[1], k = (int)(ta ? a->val.shape[0] : a->val.shape[1]);
    int lda = (int)a->val.shape[1], ldb = (int)b->val.shape[1];
    const float *dy = n->grad.data;
    if (a->needs_grad && !ta) /* da [m,k] += dy [m,cols] op(b)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tr(!tb), m, k, cols, 1.0f, dy, cols, b->val.data, ldb, 1.0f,
                    a->grad.data, lda);
    else if (a->needs_grad) /* da [k,m] += op(b) dy^T */
        cblas_sgemm(CblasRowMajor, tr(tb), CblasTrans, k, m, cols, 1.0f, b->val.data, ldb, dy, cols, 1.0f,
                    a->grad.data, lda);
    if (b->needs_grad && tb) /* db [cols,k] += dy^T op(a) */
        cblas_sgemm(CblasRowMajor, CblasTrans, tr(ta), cols, k, m, 1.0f, dy, cols, a->val.data, lda, 1.0f,
                    b->grad.data, ldb);
    else if (b->needs_grad) /* db [k,cols] += op(a)^T dy */
        cblas_sgemm(CblasRowMajor, tr(!ta), CblasNoTrans, k, cols, m, 1.0f, a->val.data, lda, dy, cols, 1.0f,
                    b->grad.data, ldb);
}

/* The backward products above, as nodes. */
static int matmul_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *a = n->in[0], *b = n->in[1];
    int tb = (int)n->ip[0], ta = (int)n->ip[1];
    if (i == 0) *gx = ta ? hd_matmul_t(g, b, gy, tb, 1) : hd_matmul_t(g, gy, b, 0, !tb);
    else *gx = tb ? hd_matmul_t(g, gy, a, 1, ta) : hd_matmul_t(g, a, gy, !ta, 0);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_matmul = {"matmul", shape_matmul, matmul_fwd, matmul_bwd, NULL, matmul_vjp};

hd_node *hd_matmul_t(hd_graph *g, hd_node *a, hd_node *b, int ta, int tb)
{
    hd_node *in[2] = {a, b};
    hd_op_args args = {.i = {tb != 0, ta != 0}};
    return hd_node_add(g, HD_OP_MATMUL, 2, in, &args);
}

hd_node *hd_matmul(hd_graph *g, hd_node *a, hd_node *b, int trans_b) { return hd_matmul_t(g, a, b, 0, trans_b); }

/* ---- linear ------------------------------------------------------------------ */

static int shape_linear(hd_node *n)
{
    const hd_node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    if (x->ndim != 2 || w->ndim != 2) return hd_shape_error2(n, x, w, "must both be 2-D (x [m,k], w [n,k])");
    if (w->shape[0] == HD_BATCH || x->shape[1] == HD_BATCH || x->shape[1] != w->shape[1])
        return hd_shape_error2(n, x, w, "do not match (x columns vs w columns)");
    if (b->ndim != 1 || b->shape[0] != w->shape[0]) return hd_shape_error2(n, w, b, "do not match (w rows vs bias)");
    n->ndim = 2;
    n->shape[0] = x->shape[0];
    n->shape[1] = w->shape[0];
    return HD_OK;
}

static void linear_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const hd_tensor *x = &n->in[0]->val, *w = &n->in[1]->val;
    const float *b = n->in[2]->val.data;
    int m = (int)x->shape[0], k = (int)x->shape[1], cols = (int)w->shape[0];
    float *y = n->val.data;
#pragma omp parallel for schedule(static) if ((int64_t)m * cols > HD_PAR_MIN)
    for (int r = 0; r < m; r++) memcpy(y + (int64_t)r * cols, b, (size_t)cols * sizeof *b);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, cols, k, 1.0f, x->data, k, w->data, k, 1.0f, y, cols);
}

static void linear_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    hd_node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int m = (int)x->val.shape[0], k = (int)x->val.shape[1], cols = (int)w->val.shape[0];
    const float *dy = n->grad.data;
    if (x->needs_grad) /* dx [m,k] += dy [m,cols] w [cols,k] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, cols, 1.0f, dy, cols, w->val.data, k, 1.0f,
                    x->grad.data, k);
    if (w->needs_grad) /* dw [cols,k] += dy^T x */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, k, m, 1.0f, dy, cols, x->val.data, k, 1.0f,
                    w->grad.data, k);
    if (b->needs_grad) { /* db += column sums of dy, row by row so the inner loop vectorises */
        float *db = b->grad.data;
        for (int r = 0; r < m; r++) {
            const float *row = dy + (int64_t)r * cols;
#pragma omp simd
            for (int j = 0; j < cols; j++) db[j] += row[j];
        }
    }
}

/* dx = gy w, dw = gy^T x, db = column sums of gy. */
static int linear_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *x = n->in[0], *w = n->in[1];
    *gx = i == 0 ? hd_matmul_t(g, gy, w, 0, 0) : i == 1 ? hd_matmul_t(g, gy, x, 1, 0) : hd_sum(g, gy, 0);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_linear = {"linear", shape_linear, linear_fwd, linear_bwd, NULL, linear_vjp};

hd_node *hd_linear(hd_graph *g, hd_node *x, hd_node *w, hd_node *b)
{
    hd_node *in[3] = {x, w, b};
    return hd_node_add(g, HD_OP_LINEAR, 3, in, NULL);
}
