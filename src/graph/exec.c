/* Running a graph: forward to a node, backward from it. */
#include "core/fpmode.h"
#include "graph_internal.h"

#include <string.h>

static int check_ready(hd_graph *g, hd_node *out, const char *what)
{
    if (!out) return hd_error(HD_EINVAL, "%s: no output node", what);
    if (!g->compiled) return hd_error(HD_ESTATE, "%s: compile the graph first", what);
    if (!g->batch) return hd_error(HD_ESTATE, "%s: set the batch size first", what);
    if (out->id >= g->n_nodes || g->nodes[out->id] != out)
        return hd_error(HD_EINVAL, "%s: node is not in this graph", what);
    return HD_OK;
}

/* Marks out and every node it depends on. */
static void mark_ancestors(hd_graph *g, hd_node *out)
{
    for (int i = 0; i <= out->id; i++) g->nodes[i]->marked = 0;
    out->marked = 1;
    for (int i = out->id; i >= 0; i--) {
        hd_node *n = g->nodes[i];
        if (!n->marked) continue;
        for (int j = 0; j < n->n_in; j++) n->in[j]->marked = 1;
    }
}

int hd_graph_forward(hd_graph *g, hd_node *out)
{
    int rc = check_ready(g, out, "forward");
    if (rc != HD_OK) return rc;
    mark_ancestors(g, out);
    unsigned int mode = hd_ftz_begin();
    for (int i = 0; i <= out->id; i++) {
        hd_node *n = g->nodes[i];
        if (n->marked && hd_ops[n->op]->forward) hd_ops[n->op]->forward(g, n);
    }
    hd_ftz_end(mode);
    if (g->training) g->step++;
    return HD_OK;
}

static int wants_grad(const hd_node *n, int group)
{
    if (n->is_param) return !n->is_buffer && (group == HD_ALL || n->group == group);
    return n->requires_grad; /* inputs that asked for one */
}

int hd_graph_backward_seeded(hd_graph *g, hd_node *out, int group, const float *seed)
{
    int rc = check_ready(g, out, "backward");
    if (rc != HD_OK) return rc;
    if (g->no_grad) return hd_error(HD_ESTATE, "backward: the graph was compiled without gradients (for inference)");
    if (!out->grad_capable)
        return hd_error(HD_EINVAL, "backward: %s does not depend on any parameter", hd_node_name(out));
    mark_ancestors(g, out);
    for (int i = 0; i <= out->id; i++) {
        hd_node *n = g->nodes[i];
        n->needs_grad = n->marked && wants_grad(n, group);
        for (int j = 0; j < n->n_in && n->op != HD_OP_STOP_GRAD && n->marked; j++)
            n->needs_grad |= n->in[j]->needs_grad;
        if (n->needs_grad && n->n_in > 0)
            memset(n->grad.data, 0, (size_t)hd_tensor_numel(&n->grad) * sizeof(float));
    }
    int64_t numel = hd_tensor_numel(&out->grad);
    for (int64_t i = 0; i < numel; i++) out->grad.data[i] = seed ? seed[i] : 1.0f;
    unsigned int mode = hd_ftz_begin();
    for (int i = out->id; i >= 0; i--) {
        hd_node *n = g->nodes[i];
        if (n->needs_grad && hd_ops[n->op]->backward) hd_ops[n->op]->backward(g, n);
    }
    hd_ftz_end(mode);
    return HD_OK;
}

int hd_graph_backward(hd_graph *g, hd_node *out, int group)
{
    return hd_graph_backward_seeded(g, out, group, NULL);
}
