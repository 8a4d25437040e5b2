/* Matrix products through CBLAS: matmul y = a op(b), op(b) = b or b^T, and
 * linear y = x w^T + b, which writes the bias first and lets sgemm add the
 * product (beta = 1): one pass over y instead of three. */
#include "ops_common.h"

#include <cblas.h>

static int shape_matmul(hd_node *n)
{
    const hd_node *a = n->in[0], *b = n->in[1];
    int tb = (int)n->ip[0];
    if (a->ndim != 2 || b->ndim != 2) return hd_shape_error2(n, a, b, "must both be 2-D");
    if (b->shape[0] == HD_BATCH || a->shape[1] == HD_BATCH)
        return hd_shape_error2(n, a, b, "cannot contract over the batch dimension");
    int64_t k = tb ? b->shape[1] : b->shape[0];
    if (a->shape[1] != k)
        return hd_shape_error2(n, a, b, tb ? "do not match (a columns vs b columns, b transposed)"
                                           : "do not match (a columns vs b rows)");
    n->ndim = 2;
    n->shape[0] = a->shape[0];
    n->shape[1] = tb ? b->shape[0] : b->shape[1];
    return HD_OK;
}

static void matmul_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const hd_tensor *a = &n->in[0]->val, *b = &n->in[1]->val;
    int tb = (int)n->ip[0];
    int m = (int)a->shape[0], k = (int)a->shape[1], cols = (int)n->val.shape[1];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, cols, k, 1.0f,
                a->data, k, b->data, (int)b->shape[1], 0.0f, n->val.data, cols);
}

static void matmul_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    hd_node *a = n->in[0], *b = n->in[1];
    int tb = (int)n->ip[0];
    int m = (int)a->val.shape[0], k = (int)a->val.shape[1], cols = (int)n->val.shape[1];
    int ldb = (int)b->val.shape[1];
    const float *dy = n->grad.data;
    if (a->needs_grad) /* da [m,k] += dy [m,cols] op(b)^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans, m, k, cols, 1.0f,
                    dy, cols, b->val.data, ldb, 1.0f, a->grad.data, k);
    if (b->needs_grad && tb) /* db [cols,k] += dy^T a */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, k, m, 1.0f, dy, cols,
                    a->val.data, k, 1.0f, b->grad.data, k);
    else if (b->needs_grad) /* db [k,cols] += a^T dy */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, m, 1.0f, a->val.data, k, dy,
                    cols, 1.0f, b->grad.data, cols);
}

const hd_op hd_op_matmul = {"matmul", shape_matmul, matmul_fwd, matmul_bwd, NULL};

hd_node *hd_matmul(hd_graph *g, hd_node *a, hd_node *b, int trans_b)
{
    hd_node *in[2] = {a, b};
    hd_op_args args = {.i = {trans_b != 0}};
    return hd_node_add(g, HD_OP_MATMUL, 2, in, &args);
}

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

const hd_op hd_op_linear = {"linear", shape_linear, linear_fwd, linear_bwd, NULL};

hd_node *hd_linear(hd_graph *g, hd_node *x, hd_node *w, hd_node *b)
{
    hd_node *in[3] = {x, w, b};
    return hd_node_add(g, HD_OP_LINEAR, 3, in, NULL);
}
