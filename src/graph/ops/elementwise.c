/* Elementwise ops: unary maps and NumPy-broadcasting binary arithmetic. */
#include "ops_common.h"

#include <math.h>

/* ---- unary ---------------------------------------------------------------- */

/* F(x) computes y from x (p = n->fp[0]); D(x, y) is dy/dx. */
#define UNARY_OP(NAME, F, D)                                                        \
    static void NAME##_fwd(hd_graph *g, hd_node *n)                                 \
    {                                                                               \
        (void)g;                                                                    \
        const float *restrict xs = n->in[0]->val.data;                              \
        float *restrict ys = n->val.data;                                           \
        const float p = n->fp[0];                                                   \
        (void)p;                                                                    \
        int64_t len = numel_of(n);                                                  \
        _Pragma("omp parallel for simd schedule(static) if (parallel: len > HD_PAR_MIN)")     \
        for (int64_t i = 0; i < len; i++) {                                         \
            float x = xs[i];                                                        \
            ys[i] = (F);                                                            \
        }                                                                           \
    }                                                                               \
    static void NAME##_bwd(hd_graph *g, hd_node *n)                                 \
    {                                                                               \
        (void)g;                                                                    \
        if (!n->in[0]->needs_grad) return;                                          \
        const float *restrict xs = n->in[0]->val.data, *restrict ys = n->val.data;  \
        const float *restrict dy = n->grad.data;                                    \
        float *restrict dx = n->in[0]->grad.data;                                   \
        const float p = n->fp[0];                                                   \
        (void)p;                                                                    \
        int64_t len = numel_of(n);                                                  \
        _Pragma("omp parallel for simd schedule(static) if (parallel: len > HD_PAR_MIN)")     \
        for (int64_t i = 0; i < len; i++) {                                         \
            float x = xs[i], y = ys[i];                                             \
            (void)x;                                                                \
            (void)y;                                                                \
            dx[i] += dy[i] * (D);                                                   \
        }                                                                           \
    }                                                                               \
    const hd_op hd_op_##NAME = {#NAME, shape_same, NAME##_fwd, NAME##_bwd, NULL};

static inline float softplus_f(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

static inline float sigmoid_f(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

UNARY_OP(scale, p * x, p)
UNARY_OP(exp, expf(x), y)
UNARY_OP(log, logf(x), 1.0f / x)
UNARY_OP(square, x * x, 2.0f * x)
UNARY_OP(sqrt, sqrtf(x), 0.5f / y)
UNARY_OP(relu, x > 0 ? x : 0.0f, x > 0 ? 1.0f : 0.0f)
UNARY_OP(leaky_relu, x > 0 ? x : p * x, x > 0 ? 1.0f : p)
UNARY_OP(sigmoid, sigmoid_f(x), y * (1.0f - y))
UNARY_OP(tanh, tanhf(x), 1.0f - y * y)
UNARY_OP(softplus, softplus_f(x), sigmoid_f(x))
UNARY_OP(log_sigmoid, -softplus_f(-x), sigmoid_f(-x))

static hd_node *unary(hd_graph *g, int op, hd_node *a, float p)
{
    hd_op_args args = {.f = {p}};
    return hd_node_add(g, op, 1, &a, &args);
}

hd_node *hd_scale(hd_graph *g, hd_node *a, float c) { return unary(g, HD_OP_SCALE, a, c); }
hd_node *hd_exp(hd_graph *g, hd_node *a) { return unary(g, HD_OP_EXP, a, 0); }
hd_node *hd_log(hd_graph *g, hd_node *a) { return unary(g, HD_OP_LOG, a, 0); }
hd_node *hd_square(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SQUARE, a, 0); }
hd_node *hd_sqrt(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SQRT, a, 0); }
hd_node *hd_relu(hd_graph *g, hd_node *a) { return unary(g, HD_OP_RELU, a, 0); }
hd_node *hd_leaky_relu(hd_graph *g, hd_node *a, float slope) { return unary(g, HD_OP_LEAKY_RELU, a, slope); }
hd_node *hd_sigmoid(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SIGMOID, a, 0); }
hd_node *hd_tanh(hd_graph *g, hd_node *a) { return unary(g, HD_OP_TANH, a, 0); }
hd_node *hd_softplus(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SOFTPLUS, a, 0); }
hd_node *hd_log_sigmoid(hd_graph *g, hd_node *a) { return unary(g, HD_OP_LOG_SIGMOID, a, 0); }

/* ---- binary with broadcasting ------------------------------------------- */

/* Right-aligned dims of a and b, stretched where one side has size 1. */
static int shape_broadcast(hd_node *n)
{
    const hd_node *a = n->in[0], *b = n->in[1];
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da == db || db == 1) n->shape[i] = da;
        else if (da == 1) n->shape[i] = db;
        else return hd_shape_error2(n, a, b, "do not broadcast");
        if (n->shape[i] == HD_BATCH && i != 0)
            return hd_shape_error2(n, a, b, "would move the batch dimension");
    }
    n->ndim = nd;
    return HD_OK;
}

/* Loop plan over the output in 4-D, with element strides of a and b
 * (0 along broadcast dims). */
typedef struct { int64_t n[4], sa[4], sb[4]; } bcast;

static void strides_into(const hd_tensor *t, const hd_tensor *y, int64_t *s)
{
    int64_t stride = 1;
    for (int i = 3; i >= 0; i--) {
        int it = i - (4 - t->ndim), iy = i - (4 - y->ndim);
        int64_t dt = it >= 0 ? t->shape[it] : 1, dy = iy >= 0 ? y->shape[iy] : 1;
        s[i] = (dt == 1 && dy != 1) ? 0 : stride;
        stride *= dt;
    }
}

static bcast plan(const hd_node *n)
{
    bcast p;
    for (int i = 0; i < 4; i++) {
        int iy = i - (4 - n->val.ndim);
        p.n[i] = iy >= 0 ? n->val.shape[iy] : 1;
    }
    strides_into(&n->in[0]->val, &n->val, p.sa);
    strides_into(&n->in[1]->val, &n->val, p.sb);
    return p;
}

/* Element offsets of a and b at the start of output row r (rows run over
 * the first three of the four loop dims). */
static inline void row_offsets(const bcast *p, int64_t r, int64_t *oa, int64_t *ob)
{
    int64_t i2 = r % p->n[2], i1 = (r / p->n[2]) % p->n[1], i0 = r / (p->n[2] * p->n[1]);
    *oa = i0 * p->sa[0] + i1 * p->sa[1] + i2 * p->sa[2];
    *ob = i0 * p->sb[0] + i1 * p->sb[1] + i2 * p->sb[2];
}

/* One output row: a and b at element strides sa, sb (1 or 0 in practice);
 * the contiguous case gets its own loop so that it vectorises. */
#define ROW_LOOP(sa, sb, ...)                                                         \
    do {                                                                               \
        if ((sa) == 1 && (sb) == 1)                                                    \
            for (int64_t j = 0; j < w; j++) {                                          \
                const int64_t ja = j, jb = j;                                          \
                __VA_ARGS__                                                            \
            }                                                                          \
        else                                                                           \
            for (int64_t j = 0; j < w; j++) {                                          \
                const int64_t ja = j * (sa), jb = j * (sb);                            \
                __VA_ARGS__                                                            \
            }                                                                          \
    } while (0)

/* F(a, b) is the result; DA, DB the partials (may use a, b, y).  Rows of the
 * output are independent, and so are the gradients of an input with the
 * output's shape; the gradient of a broadcast input sums over rows and is
 * accumulated on one thread, in a fixed order. */
#define BINARY_OP(NAME, F, DA, DB)                                                     \
    static void NAME##_fwd(hd_graph *g, hd_node *n)                                    \
    {                                                                                  \
        (void)g;                                                                       \
        const float *A = n->in[0]->val.data, *B = n->in[1]->val.data;                  \
        float *Y = n->val.data;                                                        \
        int64_t len = numel_of(n);                                                     \
        bcast p = plan(n);                                                             \
        int64_t rows = p.n[0] * p.n[1] * p.n[2], w = p.n[3];                           \
        _Pragma("omp parallel for schedule(static) if (len > HD_PAR_MIN)")             \
        for (int64_t r = 0; r < rows; r++) {                                           \
            int64_t oa, ob;                                                            \
            row_offsets(&p, r, &oa, &ob);                                              \
            const float *ra = A + oa, *rb = B + ob;                                    \
            float *ry = Y + r * w;                                                     \
            ROW_LOOP(p.sa[3], p.sb[3], {                                               \
                float a = ra[ja], b = rb[jb];                                          \
                ry[j] = (F);                                                           \
            });                                                                        \
        }                                                                              \
    }                                                                                  \
    static void NAME##_grad_rows(const hd_node *n, const bcast *p, float *GA, float *GB) \
    {                                                                                  \
        const float *A = n->in[0]->val.data, *B = n->in[1]->val.data;                  \
        const float *Y = n->val.data, *DY = n->grad.data;                              \
        int64_t rows = p->n[0] * p->n[1] * p->n[2], w = p->n[3];                       \
        int parallel = (GA == NULL || hd_tensor_numel(&n->in[0]->val) == numel_of(n)) && \
                       (GB == NULL || hd_tensor_numel(&n->in[1]->val) == numel_of(n)) && \
                       numel_of(n) > HD_PAR_MIN;                                       \
        _Pragma("omp parallel for schedule(static) if (parallel)")                     \
        for (int64_t r = 0; r < rows; r++) {                                           \
            int64_t oa, ob;                                                            \
            row_offsets(p, r, &oa, &ob);                                               \
            const float *ra = A + oa, *rb = B + ob, *ry = Y + r * w, *rdy = DY + r * w; \
            float *ga = GA ? GA + oa : NULL, *gb = GB ? GB + ob : NULL;                \
            ROW_LOOP(p->sa[3], p->sb[3], {                                             \
                float a = ra[ja], b = rb[jb], y = ry[j];                               \
                (void)a;                                                               \
                (void)b;                                                               \
                (void)y;                                                               \
                if (ga) ga[ja] += rdy[j] * (DA);                                       \
                if (gb) gb[jb] += rdy[j] * (DB);                                       \
            });                                                                        \
        }                                                                              \
    }                                                                                  \
    static void NAME##_bwd(hd_graph *g, hd_node *n)                                    \
    {                                                                                  \
        (void)g;                                                                       \
        bcast p = plan(n);                                                             \
        float *GA = n->in[0]->needs_grad ? n->in[0]->grad.data : NULL;                 \
        float *GB = n->in[1]->needs_grad ? n->in[1]->grad.data : NULL;                 \
        int full_a = hd_tensor_numel(&n->in[0]->val) == numel_of(n);                   \
        int full_b = hd_tensor_numel(&n->in[1]->val) == numel_of(n);                   \
        /* inputs with the output's shape in parallel, broadcast ones serially */      \
        NAME##_grad_rows(n, &p, full_a ? GA : NULL, full_b ? GB : NULL);               \
        if ((GA && !full_a) || (GB && !full_b))                                        \
            NAME##_grad_rows(n, &p, full_a ? NULL : GA, full_b ? NULL : GB);           \
    }                                                                                  \
    const hd_op hd_op_##NAME = {#NAME, shape_broadcast, NAME##_fwd, NAME##_bwd, NULL};

BINARY_OP(add, a + b, 1.0f, 1.0f)
BINARY_OP(sub, a - b, 1.0f, -1.0f)
BINARY_OP(mul, a * b, b, a)
BINARY_OP(div, a / b, 1.0f / b, -y / b)

static hd_node *binary(hd_graph *g, int op, hd_node *a, hd_node *b)
{
    hd_node *in[2] = {a, b};
    return hd_node_add(g, op, 2, in, NULL);
}

hd_node *hd_add(hd_graph *g, hd_node *a, hd_node *b) { return binary(g, HD_OP_ADD, a, b); }
hd_node *hd_sub(hd_graph *g, hd_node *a, hd_node *b) { return binary(g, HD_OP_SUB, a, b); }
hd_node *hd_mul(hd_graph *g, hd_node *a, hd_node *b) { return binary(g, HD_OP_MUL, a, b); }
hd_node *hd_div(hd_graph *g, hd_node *a, hd_node *b) { return binary(g, HD_OP_DIV, a, b); }
