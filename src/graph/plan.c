/* Compiling a graph: parameter layout and initialisation, activation buffers. */
#include "graph_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 16 /* floats: every buffer starts 64-byte aligned */

static size_t padded(size_t n) { return (n + PAD - 1) / PAD * PAD; }

/* FNV-1a: a parameter's init stream follows its name, so the same name and
 * seed give the same values whatever else the graph holds or its order. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void init_param(hd_graph *g, hd_node *p)
{
    hd_rng r;
    hd_rng_init(&r, g->seed, HD_STREAM_INIT ^ (name_hash(p->name) << 8));
    float *x = p->val.data;
    int64_t n = hd_tensor_numel(&p->val);
    float a = p->init.a;
    switch (p->init.kind) {
    case HD_INIT_ZEROS: memset(x, 0, (size_t)n * sizeof *x); break;
    case HD_INIT_CONST: for (int64_t i = 0; i < n; i++) x[i] = a; break;
    case HD_INIT_UNIFORM: hd_rng_fill_uniform(&r, x, n, -a, a); break;
    case HD_INIT_NORMAL: hd_rng_fill_normal(&r, x, n, 0.0f, a); break;
    case HD_INIT_FAN_IN: {
        float bound = 1.0f / sqrtf(a > 0 ? a : 1.0f);
        hd_rng_fill_uniform(&r, x, n, -bound, bound);
        break;
    }
    case HD_INIT_GLOROT: {
        float bound = sqrtf(6.0f / (a > 0 ? a : 1.0f));
        hd_rng_fill_uniform(&r, x, n, -bound, bound);
        break;
    }
    }
}

static int layout_params(hd_graph *g)
{
    g->params = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *g->params);
    if (!g->params) return hd_error(HD_ENOMEM, "out of memory compiling the graph");
    int64_t off = 0;
    /* Trained params group by group, then the buffers (grp == HD_MAX_GROUPS),
     * so that no group's range holds a buffer. */
    for (int grp = 0; grp <= HD_MAX_GROUPS; grp++) {
        g->group_off[grp] = off;
        for (int i = 0; i < g->n_nodes; i++) {
            hd_node *n = g->nodes[i];
            if (!n->is_param || (grp == HD_MAX_GROUPS ? !n->is_buffer : n->is_buffer || n->group != grp)) continue;
            g->params[g->n_params++] = n;
            n->val = hd_tensor_view((float *)(intptr_t)off, n->ndim, n->shape); /* offset for now */
            off += hd_shape_numel(n->ndim, n->shape);
        }
    }
    g->param_val = hd_calloc((size_t)(off ? off : 1), sizeof(float));
    g->param_grad = g->no_grad ? NULL : hd_calloc((size_t)(off ? off : 1), sizeof(float));
    if (!g->param_val || (!g->no_grad && !g->param_grad)) return HD_ENOMEM;
    for (int i = 0; i < g->n_params; i++) {
        hd_node *n = g->params[i];
        int64_t o = (int64_t)(intptr_t)n->val.data;
        n->val.data = g->param_val + o;
        n->grad = hd_tensor_view(g->param_grad ? g->param_grad + o : NULL, n->ndim, n->shape);
        init_param(g, n);
    }
    return HD_OK;
}

int hd_graph_set_no_grad(hd_graph *g)
{
    if (g->compiled) return hd_error(HD_ESTATE, "set_no_grad: the graph is already compiled");
    g->no_grad = 1;
    return HD_OK;
}

int hd_graph_compile(hd_graph *g)
{
    if (g->compiled) return hd_error(HD_ESTATE, "graph already compiled");
    for (int i = 0; i < g->n_nodes; i++) {
        hd_node *n = g->nodes[i];
        n->grad_capable = n->requires_grad && !g->no_grad;
        for (int j = 0; j < n->n_in && n->op != HD_OP_STOP_GRAD; j++)
            n->grad_capable |= n->in[j]->grad_capable;
    }
    int rc = layout_params(g);
    if (rc != HD_OK) return rc;
    g->compiled = 1;
    return HD_OK;
}

static void concrete_shape(const hd_node *n, int64_t batch, int64_t *shape)
{
    for (int i = 0; i < n->ndim; i++) shape[i] = n->shape[i] == HD_BATCH ? batch : n->shape[i];
}

/* Floats of node n's aux: its own (kept between calls) or its share of the
 * graph's one scratch buffer; concrete shapes already set. */
static size_t aux_of(const hd_node *n, int scratch)
{
    const hd_op *op = hd_ops[n->op];
    int shared = hd_op_aux_scratch[n->op] != 0;
    return op->aux_floats && shared == (scratch != 0) ? (size_t)op->aux_floats(n) : 0;
}

/* Bytes of activation memory node n needs besides the shared scratch. */
static size_t node_bytes(const hd_node *n)
{
    size_t numel = (size_t)hd_tensor_numel(&n->val);
    size_t total = padded(numel) * (n->grad_capable ? 2 : 1) + padded(aux_of(n, 0));
    return total * sizeof(float);
}

/* The largest scratch any node needs, in floats. */
static size_t scratch_floats(const hd_graph *g)
{
    size_t most = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->is_param && aux_of(g->nodes[i], 1) > most) most = aux_of(g->nodes[i], 1);
    return most;
}

/* Points val, grad and aux of every non-param node into the arena. */
static void assign_buffers(hd_graph *g)
{
    hd_arena_reset(g->act);
    size_t most = scratch_floats(g);
    float *scratch = most ? hd_arena_alloc(g->act, most * sizeof(float)) : NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        hd_node *n = g->nodes[i];
        if (n->is_param) continue;
        size_t bytes = (size_t)hd_tensor_numel(&n->val) * sizeof(float);
        n->val.data = hd_arena_alloc(g->act, bytes);
        n->grad = hd_tensor_view(n->grad_capable ? hd_arena_alloc(g->act, bytes) : NULL, n->val.ndim,
                                 n->val.shape);
        size_t own = aux_of(n, 0);
        n->aux = own ? hd_arena_alloc(g->act, own * sizeof(float)) : aux_of(n, 1) ? scratch : NULL;
    }
}

int hd_graph_set_batch(hd_graph *g, int64_t batch)
{
    if (!g->compiled) return hd_error(HD_ESTATE, "set_batch: compile the graph first");
    if (batch < 1) return hd_error(HD_EINVAL, "set_batch: batch size %lld must be >= 1", (long long)batch);
    size_t need = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        hd_node *n = g->nodes[i];
        if (n->is_param) continue;
        int64_t shape[HD_MAX_DIM];
        concrete_shape(n, batch, shape);
        n->val = hd_tensor_view(NULL, n->ndim, shape);
        need += node_bytes(n);
    }
    need += padded(scratch_floats(g)) * sizeof(float);
    if (!g->act || need > hd_arena_capacity(g->act)) {
        hd_arena *act = hd_arena_new(need ? need : 64);
        if (!act) {
            g->batch = 0; /* the shapes above no longer match the old buffers */
            return HD_ENOMEM;
        }
        hd_arena_free(g->act);
        g->act = act;
    }
    assign_buffers(g);
    g->batch = batch;
    return HD_OK;
}

int hd_graph_param_range(hd_graph *g, int group, float **values, float **grads, int64_t *n)
{
    if (!g->compiled) return hd_error(HD_ESTATE, "param_range: compile the graph first");
    if (group != HD_ALL && (group < 0 || group >= HD_MAX_GROUPS))
        return hd_error(HD_EINVAL, "parameter group %d outside 0..%d", group, HD_MAX_GROUPS - 1);
    int64_t lo = group == HD_ALL ? 0 : g->group_off[group];
    int64_t hi = group == HD_ALL ? g->group_off[HD_MAX_GROUPS] : g->group_off[group + 1];
    if (values) *values = g->param_val + lo;
    if (grads) *grads = g->param_grad ? g->param_grad + lo : NULL;
    *n = hi - lo;
    return HD_OK;
}

void hd_graph_zero_grad(hd_graph *g, int group)
{
    float *grads;
    int64_t n;
    if (hd_graph_param_range(g, group, NULL, &grads, &n) == HD_OK && grads)
        memset(grads, 0, (size_t)n * sizeof *grads);
    for (int i = 0; i < g->n_nodes; i++) { /* input leaves that want gradients */
        hd_node *x = g->nodes[i];
        if (x->op == HD_OP_INPUT && x->requires_grad && x->grad.data)
            memset(x->grad.data, 0, (size_t)hd_tensor_numel(&x->grad) * sizeof(float));
    }
}
