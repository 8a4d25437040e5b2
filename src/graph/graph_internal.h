/* Graph internals shared by graph.c, the op files and white-box tests. */
#ifndef HD_GRAPH_INTERNAL_H
#define HD_GRAPH_INTERNAL_H

#include "hadron/graph.h"

#define HD_OP_IPARAMS 8 /* integer parameters per node */

/* One id per op, in the order of op_list.h. */
enum hd_op_id {
#define HD_OP(ID, name) HD_OP_##ID,
#include "op_list.h"
#undef HD_OP
    HD_OP_COUNT
};

struct hd_node {
    int id, op, n_in;
    hd_node *in[HD_MAX_INPUTS];
    int ndim;
    int64_t shape[HD_MAX_DIM]; /* symbolic: HD_BATCH allowed at dim 0 */
    hd_tensor val, grad;       /* concrete views into the graph's buffers */
    float *aux;                /* per-op scratch (op->aux_floats) */
    int64_t ip[HD_OP_IPARAMS]; /* integer op parameters */
    float fp[2];               /* float op parameters */
    int is_param, group;
    int is_buffer;             /* a param that is state, not trained: no gradient, outside the group ranges */
    hd_init init;
    int requires_grad; /* leaf wants a gradient (params always) */
    int grad_capable;  /* some path from a grad leaf reaches here (not through stop_grad) */
    int needs_grad;    /* set per backward call */
    int marked;        /* scratch for graph walks */
    char *name;
};

struct hd_graph {
    hd_node **nodes;
    int n_nodes, cap_nodes;
    int compiled, training, cur_group;
    int no_grad; /* compiled without gradient buffers (inference) */
    int64_t batch;
    uint64_t seed, step;
    int64_t row_first, row_stride, row_total; /* hd_graph_set_rows; row_total 0: none */
    hd_node **params; /* layout order */
    int n_params;
    float *param_val, *param_grad;
    int64_t group_off[HD_MAX_GROUPS + 1]; /* group g occupies [group_off[g], group_off[g+1]) */
    hd_arena *act; /* activations, grads and aux of non-param nodes, planned per batch size */
    int unnamed; /* counter for default names */
};

typedef struct hd_op {
    const char *name;
    int (*shape)(hd_node *n);                   /* symbolic output shape from inputs; error names shapes */
    void (*forward)(hd_graph *g, hd_node *n);
    void (*backward)(hd_graph *g, hd_node *n);  /* accumulate into inputs with needs_grad */
    int64_t (*aux_floats)(const hd_node *n);    /* scratch size at the current batch; NULL = none */
    /* Adds the nodes of the gradient with respect to input i, given gy, the
     * gradient with respect to n (a node of n's shape), to the graph: *gx
     * gets a node of input i's shape, or NULL when that gradient is zero.
     * NULL vjp: the op has no differentiable backward (hd_grad refuses it). */
    int (*vjp)(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx);
} hd_op;

extern const hd_op *const hd_ops[HD_OP_COUNT];
/* 1 where an op's aux is scratch within one forward or backward call,
 * nothing kept from one call to the next: all such nodes of a graph share
 * one buffer (a graph runs its ops one at a time). */
extern const unsigned char hd_op_aux_scratch[HD_OP_COUNT];

/* Op parameters, copied into the node before its shape rule runs. */
typedef struct { int64_t i[HD_OP_IPARAMS]; float f[2]; } hd_op_args;

/* Adds a node with the given inputs and parameters (args may be NULL) and
 * runs its shape rule.  NULL on error or when an input is NULL. */
hd_node *hd_node_add(hd_graph *g, int op, int n_in, hd_node *const *in, const hd_op_args *args);
/* Backward with an explicit seed for out's gradient (NULL: ones). */
int hd_graph_backward_seeded(hd_graph *g, hd_node *out, int group, const float *seed);

/* ---- the nodes of gradients (hd_grad); each is differentiable once more ---- */

/* gy * f'(x) for the unary op of node n (its op and parameter), x = n's input. */
hd_node *hd_unary_grad(hd_graph *g, const hd_node *n, hd_node *gy);
/* a summed (mean != 0: averaged) over the dims along which it was broadcast
 * to shape_of's shape from `like`'s shape: the result has `like`'s shape. */
hd_node *hd_sum_to(hd_graph *g, hd_node *a, const hd_node *like, int mean);
/* a broadcast to `like`'s shape (mean != 0: divided by the broadcast factor). */
hd_node *hd_expand(hd_graph *g, hd_node *a, const hd_node *like, int mean);
/* a placed at [start, start + len) of axis `axis` of a zero tensor of size `full` there. */
hd_node *hd_pad(hd_graph *g, hd_node *a, int axis, int64_t start, int64_t full);
hd_node *hd_ones_like(hd_graph *g, hd_node *a);
hd_node *hd_safe_recip(hd_graph *g, hd_node *a); /* 1 / x, and 0 at x = 0 */
/* op(a) op(b), op = transpose when ta / tb; a product over the batch
 * dimension (ta with both operands batched) is allowed. */
hd_node *hd_matmul_t(hd_graph *g, hd_node *a, hd_node *b, int ta, int tb);
/* The same geometry as conv node c (a conv2d or conv_transpose2d), with the
 * image and grid sides named explicitly: conv2d from an image-side tensor to
 * a grid of c's grid size, its adjoint from a grid-side tensor to an image of
 * c's image size, and the weight gradient [G, C, kh, kw] of image and grid. */
hd_node *hd_conv_to_grid(hd_graph *g, const hd_node *c, hd_node *img, hd_node *w);
hd_node *hd_conv_to_image(hd_graph *g, const hd_node *c, hd_node *grid, hd_node *w);
hd_node *hd_conv_dw(hd_graph *g, const hd_node *c, hd_node *img, hd_node *grid);
/* gy routed to the argmax of each window of max-pool node p (shape of p's input). */
hd_node *hd_max_pool_grad(hd_graph *g, hd_node *p, hd_node *gy);

/* "op: shapes [a] and [b] ..." helpers for shape rules. */
int hd_shape_error2(const hd_node *n, const hd_node *a, const hd_node *b, const char *why);
int hd_shape_error1(const hd_node *n, const hd_node *a, const char *why);

#endif
