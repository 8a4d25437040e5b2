/* Building a graph: nodes, leaves, names, inspection. */
#include "graph_internal.h"

#include <stdlib.h>
#include <string.h>

hd_graph *hd_graph_new(uint64_t seed)
{
    hd_graph *g = hd_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->seed = seed;
    g->training = 1;
    return g;
}

void hd_graph_free(hd_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i]->name);
        hd_free(g->nodes[i]);
    }
    free(g->nodes);
    free(g->params);
    hd_free(g->param_val);
    hd_free(g->param_grad);
    hd_arena_free(g->act);
    hd_free(g);
}

static int append(hd_graph *g, hd_node *n)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        hd_node **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return hd_error(HD_ENOMEM, "out of memory growing the graph");
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    n->id = g->n_nodes;
    g->nodes[g->n_nodes++] = n;
    return HD_OK;
}

hd_node *hd_node_add(hd_graph *g, int op, int n_in, hd_node *const *in, const hd_op_args *args)
{
    if (!g) return NULL;
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return NULL; /* an earlier constructor failed; keep its message */
    if (g->compiled) {
        hd_error(HD_ESTATE, "%s: cannot add nodes to a compiled graph", hd_ops[op]->name);
        return NULL;
    }
    if (n_in > HD_MAX_INPUTS) {
        hd_error(HD_EINVAL, "%s: %d inputs, at most %d", hd_ops[op]->name, n_in, HD_MAX_INPUTS);
        return NULL;
    }
    hd_node *n = hd_calloc(1, sizeof *n);
    if (!n) return NULL;
    n->op = op;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    if (args) {
        memcpy(n->ip, args->i, sizeof n->ip);
        memcpy(n->fp, args->f, sizeof n->fp);
    }
    if (hd_ops[op]->shape && hd_ops[op]->shape(n) != HD_OK) {
        hd_free(n);
        return NULL;
    }
    if (append(g, n) != HD_OK) {
        hd_free(n);
        return NULL;
    }
    return n;
}

static int set_name(hd_graph *g, hd_node *n, const char *name)
{
    char buf[32];
    if (!name) {
        snprintf(buf, sizeof buf, "node%d", g->unnamed++);
        name = buf;
    }
    size_t len = strlen(name) + 1;
    n->name = malloc(len);
    if (!n->name) return hd_error(HD_ENOMEM, "out of memory naming a node");
    memcpy(n->name, name, len);
    return HD_OK;
}

static hd_node *leaf(hd_graph *g, int op, const char *name, int ndim, const int64_t *shape)
{
    if (!g) return NULL;
    const char *what = op == HD_OP_PARAM ? "param" : "input";
    if (ndim < 0 || ndim > HD_MAX_DIM) {
        hd_error(HD_ESHAPE, "%s %s: %d dimensions, at most %d", what, name ? name : "", ndim, HD_MAX_DIM);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        int batch_ok = op == HD_OP_INPUT && i == 0;
        if (shape[i] >= 1 || (shape[i] == HD_BATCH && batch_ok)) continue;
        char s[96];
        hd_error(HD_ESHAPE, "%s %s: invalid shape %s (HD_BATCH only at dim 0 of an input)", what,
                 name ? name : "", hd_shape_str(ndim, shape, s, sizeof s));
        return NULL;
    }
    if (name && hd_graph_find(g, name)) {
        hd_error(HD_EINVAL, "%s %s: name already used in this graph", what, name);
        return NULL;
    }
    hd_node *n = hd_node_add(g, op, 0, NULL, NULL);
    if (!n) return NULL;
    n->ndim = ndim;
    for (int i = 0; i < ndim; i++) n->shape[i] = shape[i];
    if (set_name(g, n, name) != HD_OK) return NULL; /* node stays owned by the graph */
    return n;
}

hd_node *hd_input(hd_graph *g, const char *name, int ndim, const int64_t *shape)
{
    return leaf(g, HD_OP_INPUT, name, ndim, shape);
}

hd_node *hd_param(hd_graph *g, const char *name, int ndim, const int64_t *shape, hd_init init)
{
    if (!name) {
        hd_error(HD_EINVAL, "param: a parameter needs a name (it is its checkpoint key)");
        return NULL;
    }
    hd_node *n = leaf(g, HD_OP_PARAM, name, ndim, shape);
    if (!n) return NULL;
    n->is_param = 1;
    n->requires_grad = 1;
    n->group = g->cur_group;
    n->init = init;
    return n;
}

int hd_param_set_init(hd_graph *g, hd_node *param, hd_init init)
{
    if (!param || !param->is_param) return hd_error(HD_EINVAL, "param_set_init: not a parameter");
    if (g->compiled)
        return hd_error(HD_ESTATE, "param_set_init: '%s' is already initialised (the graph is compiled)",
                        param->name);
    param->init = init;
    return HD_OK;
}

hd_node *hd_buffer(hd_graph *g, const char *name, int ndim, const int64_t *shape, hd_init init)
{
    hd_node *n = hd_param(g, name, ndim, shape, init);
    if (!n) return NULL;
    n->is_buffer = 1;
    n->requires_grad = 0;
    return n;
}

int hd_input_requires_grad(hd_node *x)
{
    if (!x || x->op != HD_OP_INPUT) return hd_error(HD_EINVAL, "requires_grad: not an input node");
    x->requires_grad = 1;
    return HD_OK;
}

int hd_graph_set_group(hd_graph *g, int group)
{
    if (group < 0 || group >= HD_MAX_GROUPS)
        return hd_error(HD_EINVAL, "parameter group %d outside 0..%d", group, HD_MAX_GROUPS - 1);
    g->cur_group = group;
    return HD_OK;
}

hd_node *hd_graph_find(const hd_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
    return NULL;
}

int hd_shape_error2(const hd_node *n, const hd_node *a, const hd_node *b, const char *why)
{
    char sa[96], sb[96];
    return hd_error(HD_ESHAPE, "%s: shapes %s and %s %s", hd_ops[n->op]->name,
                    hd_shape_str(a->ndim, a->shape, sa, sizeof sa),
                    hd_shape_str(b->ndim, b->shape, sb, sizeof sb), why);
}

int hd_shape_error1(const hd_node *n, const hd_node *a, const char *why)
{
    char sa[96];
    return hd_error(HD_ESHAPE, "%s: input shape %s %s", hd_ops[n->op]->name,
                    hd_shape_str(a->ndim, a->shape, sa, sizeof sa), why);
}

hd_tensor *hd_node_value(hd_node *n) { return &n->val; }
hd_tensor *hd_node_grad(hd_node *n) { return &n->grad; }
float hd_node_scalar(const hd_node *n) { return n->val.data ? n->val.data[0] : 0.0f; }
const char *hd_node_name(const hd_node *n) { return n->name ? n->name : hd_ops[n->op]->name; }
const char *hd_node_op_name(const hd_node *n) { return hd_ops[n->op]->name; }
int hd_node_is_param(const hd_node *n) { return n->is_param; }
int hd_node_is_buffer(const hd_node *n) { return n->is_buffer; }
int hd_node_ndim(const hd_node *n) { return n->ndim; }
const int64_t *hd_node_shape(const hd_node *n) { return n->shape; }
int hd_node_group(const hd_node *n) { return n->is_param ? n->group : -1; }
int hd_graph_compiled(const hd_graph *g) { return g->compiled; }
int hd_graph_n_nodes(const hd_graph *g) { return g->n_nodes; }
hd_node *hd_graph_node(const hd_graph *g, int i) { return i >= 0 && i < g->n_nodes ? g->nodes[i] : NULL; }
int hd_graph_n_params(const hd_graph *g) { return g->n_params; }
hd_node *hd_graph_param(const hd_graph *g, int i) { return i >= 0 && i < g->n_params ? g->params[i] : NULL; }
int64_t hd_graph_batch(const hd_graph *g) { return g->batch; }
void hd_graph_set_training(hd_graph *g, int training) { g->training = training != 0; }
int hd_graph_training(const hd_graph *g) { return g->training; }
void hd_graph_set_step(hd_graph *g, uint64_t step) { g->step = step; }
uint64_t hd_graph_step(const hd_graph *g) { return g->step; }
void hd_graph_set_rows(hd_graph *g, int64_t first, int64_t stride, int64_t total)
{
    g->row_first = first;
    g->row_stride = stride;
    g->row_total = total;
}

int hd_graph_print(const hd_graph *g, FILE *f)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const hd_node *n = g->nodes[i];
        char s[96];
        fprintf(f, "%4d %-14s %-18s", n->id, hd_ops[n->op]->name,
                hd_shape_str(n->ndim, n->shape, s, sizeof s));
        for (int j = 0; j < n->n_in; j++) fprintf(f, " %%%d", n->in[j]->id);
        if (n->name) fprintf(f, "  %s", n->name);
        fputc('\n', f);
    }
    return HD_OK;
}
