/* Graph internals shared by graph.c, the op files and white-box tests. */
#ifndef HD_GRAPH_INTERNAL_H
#define HD_GRAPH_INTERNAL_H

#include "hadron/graph.h"

enum hd_op_id {
    HD_OP_INPUT, HD_OP_PARAM,
    HD_OP_MATMUL, HD_OP_LINEAR,
    HD_OP_ADD, HD_OP_SUB, HD_OP_MUL, HD_OP_DIV, HD_OP_SCALE,
    HD_OP_EXP, HD_OP_LOG, HD_OP_SQUARE, HD_OP_SQRT,
    HD_OP_RELU, HD_OP_LEAKY_RELU, HD_OP_SIGMOID, HD_OP_TANH, HD_OP_SOFTPLUS, HD_OP_LOG_SIGMOID,
    HD_OP_SUM, HD_OP_MEAN,
    HD_OP_CONCAT, HD_OP_SLICE, HD_OP_RESHAPE, HD_OP_STOP_GRAD,
    HD_OP_DROPOUT, HD_OP_GAUSS_SAMPLE,
    HD_OP_MSE, HD_OP_BCE_LOGITS, HD_OP_BINOMIAL_NLL, HD_OP_GAUSSIAN_NLL, HD_OP_GAUSS_KL,
    HD_OP_SOFTMAX_CE,
    HD_OP_CONV2D, HD_OP_CONV_TRANSPOSE2D, HD_OP_MAX_POOL2D, HD_OP_BATCH_NORM,
    HD_OP_COUNT
};

struct hd_node {
    int id, op, n_in;
    hd_node *in[HD_MAX_INPUTS];
    int ndim;
    int64_t shape[HD_MAX_DIM]; /* symbolic: HD_BATCH allowed at dim 0 */
    hd_tensor val, grad;       /* concrete views into the graph's buffers */
    float *aux;                /* per-op scratch (op->aux_floats) */
    int64_t ip[HD_MAX_DIM + 1]; /* integer op parameters */
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
    int64_t batch;
    uint64_t seed, step;
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
} hd_op;

extern const hd_op *const hd_ops[HD_OP_COUNT];

/* Op parameters, copied into the node before its shape rule runs. */
typedef struct { int64_t i[HD_MAX_DIM + 1]; float f[2]; } hd_op_args;

/* Adds a node with the given inputs and parameters (args may be NULL) and
 * runs its shape rule.  NULL on error or when an input is NULL. */
hd_node *hd_node_add(hd_graph *g, int op, int n_in, hd_node *const *in, const hd_op_args *args);
/* Backward with an explicit seed for out's gradient (NULL: ones). */
int hd_graph_backward_seeded(hd_graph *g, hd_node *out, int group, const float *seed);
/* Marks a leaf input as wanting a gradient (before compile). */
int hd_input_requires_grad(hd_node *x);

/* "op: shapes [a] and [b] ..." helpers for shape rules. */
int hd_shape_error2(const hd_node *n, const hd_node *a, const hd_node *b, const char *why);
int hd_shape_error1(const hd_node *n, const hd_node *a, const char *why);

#endif
