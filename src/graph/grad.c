/* hd_grad: the gradient of a node as nodes of the same graph.
 *
 * A reverse sweep over the nodes between x and y, in creation order
 * (the topological order): each op's vjp adds the nodes of its input
 * gradients, and the contributions to one node are summed with add nodes.
 * The new nodes are ordinary ones, so a loss may contain them, forward
 * computes them and hd_graph_backward differentiates through them
 * (docs/engine.md, "Gradients of gradients"). */
#include "graph_internal.h"

#include <stdlib.h>

/* on[i]: node i lies on a path from x to y that no stop_grad cuts. */
static int paths(hd_graph *g, hd_node *y, hd_node *x, unsigned char *on)
{
    for (int i = x->id; i <= y->id; i++) {
        hd_node *n = g->nodes[i];
        on[i] = n == x;
        for (int j = 0; j < n->n_in && !on[i] && n->op != HD_OP_STOP_GRAD; j++)
            on[i] = n->in[j]->id >= x->id && on[n->in[j]->id];
    }
    /* keep only the ancestors of y */
    unsigned char *anc = on + g->n_nodes;
    for (int i = x->id; i <= y->id; i++) anc[i] = g->nodes[i] == y;
    for (int i = y->id; i >= x->id; i--) {
        if (!anc[i]) continue;
        hd_node *n = g->nodes[i];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j]->id >= x->id) anc[n->in[j]->id] = 1;
    }
    int any = 0;
    for (int i = x->id; i <= y->id; i++) {
        on[i] &= anc[i];
        any |= on[i];
    }
    return any && on[y->id];
}

static int accumulate(hd_graph *g, hd_node **acc, hd_node *to, hd_node *d)
{
    if (!d) return HD_OK;
    acc[to->id] = acc[to->id] ? hd_add(g, acc[to->id], d) : d;
    return acc[to->id] ? HD_OK : HD_EINVAL;
}

hd_node *hd_grad(hd_graph *g, hd_node *y, hd_node *x)
{
    if (!g || !y || !x) return NULL;
    if (g->compiled) {
        hd_error(HD_ESTATE, "grad: the graph is compiled; take gradients while building it");
        return NULL;
    }
    if (y->id >= g->n_nodes || g->nodes[y->id] != y || x->id >= g->n_nodes || g->nodes[x->id] != x) {
        hd_error(HD_EINVAL, "grad: node is not in this graph");
        return NULL;
    }
    int n0 = g->n_nodes;
    unsigned char *on = calloc((size_t)2 * (size_t)n0, 1);
    hd_node **acc = calloc((size_t)n0, sizeof *acc);
    hd_node *result = NULL;
    if (!on || !acc) {
        hd_error(HD_ENOMEM, "grad: out of memory");
        goto done;
    }
    if (x->id > y->id || !paths(g, y, x, on)) {
        hd_error(HD_EINVAL, "grad: %s does not depend on %s (or only through stop_grad)", hd_node_name(y),
                 hd_node_name(x));
        goto done;
    }
    acc[y->id] = hd_ones_like(g, y);
    for (int i = y->id; i > x->id; i--) {
        hd_node *n = g->nodes[i];
        if (!on[i] || !acc[i]) continue;
        const hd_op *op = hd_ops[n->op];
        if (!op->vjp) {
            hd_error(HD_EINVAL, "grad: op %s (%s) has no differentiable backward: it cannot be part of a gradient",
                     op->name, hd_node_name(n));
            goto done;
        }
        for (int j = 0; j < n->n_in; j++) {
            hd_node *in = n->in[j], *d = NULL;
            if (in->id < x->id || !on[in->id]) continue;
            if (op->vjp(g, n, j, acc[i], &d) != HD_OK || accumulate(g, acc, in, d) != HD_OK) goto done;
        }
    }
    result = acc[x->id];
    if (!result) hd_error(HD_EINVAL, "grad: the gradient of %s with respect to %s is zero by construction",
                          hd_node_name(y), hd_node_name(x));
done:
    free(on);
    free(acc);
    return result;
}
