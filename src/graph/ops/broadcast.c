/* Broadcasting as ops of their own, the pair that gradients of broadcasting
 * ops need: expand (a small tensor stretched to a larger shape, NumPy's
 * right-aligned rule) and sum_to (a large tensor summed down to a smaller
 * one), each the adjoint of the other.  With the mean flag both divide by
 * the broadcast factor, which may contain the batch size.  ones_like seeds
 * hd_grad.  Sums run on one thread in a fixed order. */
#include "ops_common.h"

enum { IP_NDIM = HD_MAX_DIM, IP_MEAN };

/* The target shape (ip) must broadcast from the small side to the big side. */
static int shape_target(hd_node *n, const hd_node *small_, const hd_node *big)
{
    n->ndim = (int)n->ip[IP_NDIM];
    for (int i = 0; i < n->ndim; i++) n->shape[i] = n->ip[i];
    if (small_->ndim > big->ndim) return hd_shape_error2(n, small_, big, "do not broadcast");
    for (int i = 0; i < small_->ndim; i++) {
        int64_t ds = small_->shape[small_->ndim - 1 - i], db = big->shape[big->ndim - 1 - i];
        if (ds != db && ds != 1) return hd_shape_error2(n, small_, big, "do not broadcast");
    }
    return HD_OK;
}

static int shape_sum_to(hd_node *n)
{
    hd_node out = *n; /* the target's shape, to compare with the input */
    out.ndim = (int)n->ip[IP_NDIM];
    for (int i = 0; i < out.ndim; i++) out.shape[i] = n->ip[i];
    return shape_target(n, &out, n->in[0]);
}

static int shape_expand(hd_node *n)
{
    hd_node out = *n;
    out.ndim = (int)n->ip[IP_NDIM];
    for (int i = 0; i < out.ndim; i++) out.shape[i] = n->ip[i];
    return shape_target(n, n->in[0], &out);
}

/* Big's dims in 4-D and small's element strides along them (0 where broadcast). */
typedef struct { int64_t n[4], s[4]; float scale; } bplan;

static bplan plan_of(const hd_tensor *small_, const hd_tensor *big, int mean)
{
    bplan p;
    int64_t stride = 1;
    for (int i = 3; i >= 0; i--) {
        int ib = i - (4 - big->ndim), is = i - (4 - small_->ndim);
        p.n[i] = ib >= 0 ? big->shape[ib] : 1;
        int64_t ds = is >= 0 ? small_->shape[is] : 1;
        p.s[i] = ds == 1 && p.n[i] != 1 ? 0 : stride;
        stride *= ds;
    }
    p.scale = mean ? (float)((double)hd_tensor_numel(small_) / (double)hd_tensor_numel(big)) : 1.0f;
    return p;
}

/* to_small: small[off(i)] += scale big[i]; else big[i] += scale small[off(i)]. */
static void walk(const bplan *p, float *small_, float *big, int to_small)
{
    int64_t i = 0;
    for (int64_t a = 0; a < p->n[0]; a++)
        for (int64_t b = 0; b < p->n[1]; b++)
            for (int64_t c = 0; c < p->n[2]; c++) {
                float *s = small_ + a * p->s[0] + b * p->s[1] + c * p->s[2];
                float *r = big + i;
                if (to_small)
                    for (int64_t d = 0; d < p->n[3]; d++) s[d * p->s[3]] += p->scale * r[d];
                else
                    for (int64_t d = 0; d < p->n[3]; d++) r[d] += p->scale * s[d * p->s[3]];
                i += p->n[3];
            }
}

static void zero(hd_tensor *t) { memset(t->data, 0, (size_t)hd_tensor_numel(t) * sizeof(float)); }

static void sum_to_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    bplan p = plan_of(&n->val, &n->in[0]->val, (int)n->ip[IP_MEAN]);
    zero(&n->val);
    walk(&p, n->val.data, n->in[0]->val.data, 1);
}

static void sum_to_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (!n->in[0]->needs_grad) return;
    bplan p = plan_of(&n->val, &n->in[0]->val, (int)n->ip[IP_MEAN]);
    walk(&p, n->grad.data, n->in[0]->grad.data, 0);
}

static void expand_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    bplan p = plan_of(&n->in[0]->val, &n->val, (int)n->ip[IP_MEAN]);
    zero(&n->val);
    walk(&p, n->in[0]->val.data, n->val.data, 0);
}

static void expand_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    if (!n->in[0]->needs_grad) return;
    bplan p = plan_of(&n->in[0]->val, &n->val, (int)n->ip[IP_MEAN]);
    walk(&p, n->in[0]->grad.data, n->grad.data, 1);
}

static int sum_to_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    *gx = hd_expand(g, gy, n->in[0], (int)n->ip[IP_MEAN]);
    return *gx ? HD_OK : HD_EINVAL;
}

static int expand_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    (void)i;
    *gx = hd_sum_to(g, gy, n->in[0], (int)n->ip[IP_MEAN]);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_sum_to = {"sum_to", shape_sum_to, sum_to_fwd, sum_to_bwd, NULL, sum_to_vjp};
const hd_op hd_op_expand = {"expand", shape_expand, expand_fwd, expand_bwd, NULL, expand_vjp};

static hd_node *to_shape(hd_graph *g, int op, hd_node *a, const hd_node *like, int mean)
{
    if (!a || !like) return NULL;
    hd_op_args args = {.i = {0}};
    for (int i = 0; i < like->ndim; i++) args.i[i] = like->shape[i];
    args.i[IP_NDIM] = like->ndim;
    args.i[IP_MEAN] = mean != 0;
    return hd_node_add(g, op, 1, &a, &args);
}

hd_node *hd_sum_to(hd_graph *g, hd_node *a, const hd_node *like, int mean)
{
    return to_shape(g, HD_OP_SUM_TO, a, like, mean);
}

hd_node *hd_expand(hd_graph *g, hd_node *a, const hd_node *like, int mean)
{
    return to_shape(g, HD_OP_EXPAND, a, like, mean);
}

/* ---- ones_like: a constant of its input's shape ------------------------------ */

static void ones_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    for (int64_t i = 0; i < numel_of(n); i++) n->val.data[i] = 1.0f;
}

const hd_op hd_op_ones_like = {"ones_like", shape_same, ones_fwd, hd_no_backward, NULL, hd_zero_vjp};

hd_node *hd_ones_like(hd_graph *g, hd_node *a) { return hd_node_add(g, HD_OP_ONES_LIKE, 1, &a, NULL); }
