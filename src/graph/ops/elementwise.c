/* Elementwise ops: unary maps and NumPy-broadcasting binary arithmetic. */
#include "ops_common.h"

#include <math.h>

/* ---- unary ---------------------------------------------------------------- */

/* F(x) computes y from x (p = n->fp[0]); D(x, y) is dy/dx and D2(x, y) is
 * d2y/dx2.  Each op also gets the kernels of its gradient node (unary_grad,
 * z = gy D(x, y)): forward, and backward, dgy += dz D, dx += dz gy D2. */
#define UNARY_OP(NAME, F, D, D2)                                                    \
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
    static void NAME##_gfwd(hd_node *n)                                             \
    {                                                                               \
        const float *restrict xs = n->in[0]->val.data, *restrict gy = n->in[1]->val.data; \
        float *restrict zs = n->val.data;                                           \
        const float p = n->fp[0];                                                   \
        (void)p;                                                                    \
        int64_t len = numel_of(n);                                                  \
        _Pragma("omp parallel for simd schedule(static) if (parallel: len > HD_PAR_MIN)")     \
        for (int64_t i = 0; i < len; i++) {                                         \
            float x = xs[i], y = (F);                                               \
            (void)y;                                                                \
            zs[i] = gy[i] * (D);                                                    \
        }                                                                           \
    }                                                                               \
    static void NAME##_gbwd(hd_node *n)                                             \
    {                                                                               \
        hd_node *xn = n->in[0], *gn = n->in[1];                                     \
        const float *restrict xs = xn->val.data, *restrict gy = gn->val.data;       \
        const float *restrict dz = n->grad.data;                                    \
        float *dx = xn->needs_grad ? xn->grad.data : NULL;                          \
        float *dg = gn->needs_grad ? gn->grad.data : NULL;                          \
        const float p = n->fp[0];                                                   \
        (void)p;                                                                    \
        int64_t len = numel_of(n);                                                  \
        _Pragma("omp parallel for schedule(static) if (len > HD_PAR_MIN)")          \
        for (int64_t i = 0; i < len; i++) {                                         \
            float x = xs[i], y = (F);                                               \
            (void)y;                                                                \
            if (dg) dg[i] += dz[i] * (D);                                           \
            if (dx) dx[i] += dz[i] * gy[i] * (D2);                                  \
        }                                                                           \
    }                                                                               \
    static const unary_kernels NAME##_k = {NAME##_gfwd, NAME##_gbwd};                \
    const hd_op hd_op_##NAME = {#NAME, shape_same, NAME##_fwd, NAME##_bwd, NULL, unary_vjp};

typedef struct { void (*fwd)(hd_node *n); void (*bwd)(hd_node *n); } unary_kernels;

/* The gradient of a unary op is one fused node; scale and add_scalar are
 * linear and have their own (exact to every order). */
static int unary_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    if (n->op == HD_OP_SCALE) *gx = hd_scale(g, gy, n->fp[0]);
    else if (n->op == HD_OP_ADD_SCALAR) *gx = gy;
    else *gx = hd_unary_grad(g, n, gy);
    return *gx ? HD_OK : HD_EINVAL;
}

static inline float softplus_f(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

static inline float sigmoid_f(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

UNARY_OP(scale, p * x, p, 0.0f)
UNARY_OP(add_scalar, x + p, 1.0f, 0.0f)
UNARY_OP(exp, expf(x), y, y)
UNARY_OP(log, logf(x), 1.0f / x, -1.0f / (x * x))
UNARY_OP(square, x * x, 2.0f * x, 2.0f)
UNARY_OP(sqrt, sqrtf(x), 0.5f / y, -0.25f / (x * y))
UNARY_OP(rsqrt, 1.0f / sqrtf(x), -0.5f * y * y * y, 0.75f * y * y * y * y * y)
UNARY_OP(safe_recip, x != 0 ? 1.0f / x : 0.0f, -y * y, 2.0f * y * y * y)
UNARY_OP(relu, x > 0 ? x : 0.0f, x > 0 ? 1.0f : 0.0f, 0.0f)
UNARY_OP(leaky_relu, x > 0 ? x : p * x, x > 0 ? 1.0f : p, 0.0f)
UNARY_OP(sigmoid, sigmoid_f(x), y * (1.0f - y), y * (1.0f - y) * (1.0f - 2.0f * y))
UNARY_OP(tanh, tanhf(x), 1.0f - y * y, -2.0f * y * (1.0f - y * y))
UNARY_OP(softplus, softplus_f(x), sigmoid_f(x), sigmoid_f(x) * sigmoid_f(-x))
UNARY_OP(log_sigmoid, -softplus_f(-x), sigmoid_f(-x), -sigmoid_f(x) * sigmoid_f(-x))

static const unary_kernels *const unary_table[HD_OP_COUNT] = {
    [HD_OP_SCALE] = &scale_k,       [HD_OP_ADD_SCALAR] = &add_scalar_k, [HD_OP_EXP] = &exp_k,
    [HD_OP_LOG] = &log_k,           [HD_OP_SQUARE] = &square_k,         [HD_OP_SQRT] = &sqrt_k,
    [HD_OP_RSQRT] = &rsqrt_k,       [HD_OP_SAFE_RECIP] = &safe_recip_k, [HD_OP_RELU] = &relu_k,
    [HD_OP_LEAKY_RELU] = &leaky_relu_k, [HD_OP_SIGMOID] = &sigmoid_k,   [HD_OP_TANH] = &tanh_k,
    [HD_OP_SOFTPLUS] = &softplus_k, [HD_OP_LOG_SIGMOID] = &log_sigmoid_k,
};

/* unary_grad: z = gy f'(x); ip[0] is the unary op, fp[0] its parameter.
 * Differentiable once (through f''), not again: no vjp. */
static int shape_unary_grad(hd_node *n)
{
    if (!same_shape(n->in[0], n->in[1])) return hd_shape_error2(n, n->in[0], n->in[1], "differ");
    return shape_same(n);
}

static void unary_grad_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    unary_table[n->ip[0]]->fwd(n);
}

static void unary_grad_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    unary_table[n->ip[0]]->bwd(n);
}

const hd_op hd_op_unary_grad = {"unary_grad", shape_unary_grad, unary_grad_fwd, unary_grad_bwd, NULL, NULL};

hd_node *hd_unary_grad(hd_graph *g, const hd_node *n, hd_node *gy)
{
    if (n->op < 0 || n->op >= HD_OP_COUNT || !unary_table[n->op]) {
        hd_error(HD_EINVAL, "unary_grad: %s is not a unary elementwise op", hd_ops[n->op]->name);
        return NULL;
    }
    hd_node *in[2] = {n->in[0], gy};
    hd_op_args args = {.i = {n->op}, .f = {n->fp[0]}};
    return hd_node_add(g, HD_OP_UNARY_GRAD, 2, in, &args);
}

static hd_node *unary(hd_graph *g, int op, hd_node *a, float p)
{
    hd_op_args args = {.f = {p}};
    return hd_node_add(g, op, 1, &a, &args);
}

hd_node *hd_scale(hd_graph *g, hd_node *a, float c) { return unary(g, HD_OP_SCALE, a, c); }
hd_node *hd_add_scalar(hd_graph *g, hd_node *a, float c) { return unary(g, HD_OP_ADD_SCALAR, a, c); }
hd_node *hd_exp(hd_graph *g, hd_node *a) { return unary(g, HD_OP_EXP, a, 0); }
hd_node *hd_log(hd_graph *g, hd_node *a) { return unary(g, HD_OP_LOG, a, 0); }
hd_node *hd_square(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SQUARE, a, 0); }
hd_node *hd_sqrt(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SQRT, a, 0); }
hd_node *hd_rsqrt(hd_graph *g, hd_node *a) { return unary(g, HD_OP_RSQRT, a, 0); }
hd_node *hd_safe_recip(hd_graph *g, hd_node *a) { return unary(g, HD_OP_SAFE_RECIP, a, 0); }
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
    const hd_op hd_op_##NAME = {#NAME, shape_broadcast, NAME##_fwd, NAME##_bwd, NULL, binary_vjp};

/* Gradients of binary ops, before the reduction over broadcast dims:
 * add (gy, gy), sub (gy, -gy), mul (gy b, gy a), div (gy / b, -gy y / b). */
static hd_node *binary_partial(hd_graph *g, hd_node *n, int i, hd_node *gy)
{
    hd_node *a = n->in[0], *b = n->in[1];
    switch (n->op) {
    case HD_OP_ADD: return gy;
    case HD_OP_SUB: return i ? hd_scale(g, gy, -1.0f) : gy;
    case HD_OP_MUL: return hd_mul(g, gy, i ? a : b);
    default: return i ? hd_scale(g, hd_div(g, hd_mul(g, gy, n), b), -1.0f) : hd_div(g, gy, b);
    }
}

static int binary_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *d = binary_partial(g, n, i, gy);
    *gx = d && !same_shape(d, n->in[i]) ? hd_sum_to(g, d, n->in[i], 0) : d;
    return *gx ? HD_OK : HD_EINVAL;
}

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
