/* hadron static computation graph.
 *
 * Build once, run many times:
 *
 *   hd_graph *g = hd_graph_new(seed);
 *   hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
 *   hd_node *y = hd_input(g, "y", 2, (int64_t[]){HD_BATCH, 1});
 *   hd_node *h = ... op constructors ...;
 *   hd_node *loss = hd_mse_loss(g, h, y);
 *   if (!loss) fail(hd_last_error());        // NULL propagates: check once
 *   hd_graph_compile(g);                     // params allocated + initialised
 *   hd_graph_set_batch(g, 64);               // activations allocated
 *   ... fill hd_node_value(x)->data ...
 *   hd_graph_zero_grad(g, HD_ALL); hd_graph_forward(g, loss); hd_graph_backward(g, loss, HD_ALL);
 *
 * Shapes are in PyTorch order.  A dimension HD_BATCH stands for the batch
 * size, fixed later by hd_graph_set_batch and changeable between runs.
 * Shape rules run when a node is built; an error names the op and both shapes.
 * Op constructors return NULL on error and when any input is NULL.
 * Forward, backward and optimiser steps allocate nothing. */
#ifndef HADRON_GRAPH_H
#define HADRON_GRAPH_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HD_ALL (-1)        /* all parameter groups */
#define HD_AXIS_ALL (-100) /* reduce over every axis */
#define HD_MAX_GROUPS 8
#define HD_MAX_INPUTS 8

typedef struct hd_graph hd_graph;
typedef struct hd_node hd_node;

/* Parameter initialisation, applied by hd_graph_compile from the INIT stream. */
typedef enum {
    HD_INIT_ZEROS,
    HD_INIT_CONST,   /* every value = a */
    HD_INIT_UNIFORM, /* U(-a, a) */
    HD_INIT_NORMAL,  /* N(0, a^2) */
    HD_INIT_FAN_IN,  /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch Linear's default; fan_in = a */
    HD_INIT_GLOROT   /* U(-sqrt(6/a), sqrt(6/a)), a = fan_in + fan_out: Keras's glorot_uniform default */
} hd_init_kind;

typedef struct { hd_init_kind kind; float a; } hd_init;

/* ---- graph lifetime ------------------------------------------------------ */

hd_graph *hd_graph_new(uint64_t seed); /* seed drives init and dropout streams */
void hd_graph_free(hd_graph *g);
int hd_graph_compile(hd_graph *g);     /* freeze structure, allocate and initialise params */
/* Before compile: allocate no gradient buffers (parameters' nor activations'),
 * for a graph that only predicts; backward then refuses. */
int hd_graph_set_no_grad(hd_graph *g);
int hd_graph_set_batch(hd_graph *g, int64_t batch); /* (re)plan activation buffers */
int64_t hd_graph_batch(const hd_graph *g);
void hd_graph_set_training(hd_graph *g, int training); /* default 1; 0 = evaluation (no dropout) */
int hd_graph_training(const hd_graph *g);
/* The counter of random ops; a forward pass in training mode advances it.
 * Their streams are addressed by its low 32 bits: steps 2^32 apart repeat. */
void hd_graph_set_step(hd_graph *g, uint64_t step);
uint64_t hd_graph_step(const hd_graph *g);
/* Data-parallel ranks: the batch's rows are rows first, first + stride, ...
 * of a global batch of `total` rows, and the random ops over the batch
 * (dropout, gauss_sample of batched values) draw those rows' numbers, as a
 * single process at the global batch would.  total 0: the batch is the
 * whole batch (the default). */
void hd_graph_set_rows(hd_graph *g, int64_t first, int64_t stride, int64_t total);

/* ---- leaves ---------------------------------------------------------------- */

hd_node *hd_input(hd_graph *g, const char *name, int ndim, const int64_t *shape);
/* Marks an input as wanting a gradient from hd_graph_backward (before compile). */
int hd_input_requires_grad(hd_node *x);
/* Parameters join the current group (hd_graph_set_group, default 0).  Names
 * are unique and become checkpoint keys, e.g. "dense0.weight". */
hd_node *hd_param(hd_graph *g, const char *name, int ndim, const int64_t *shape, hd_init init);
/* Replaces a parameter's initialisation; only before hd_graph_compile. */
int hd_param_set_init(hd_graph *g, hd_node *param, hd_init init);
int hd_graph_set_group(hd_graph *g, int group); /* 0..HD_MAX_GROUPS-1 */
/* A buffer: state kept with the params (e.g. batch-norm running stats) that
 * ops write in forward and no gradient or optimiser touches.  It joins the
 * current group for checkpoints (saved and loaded with that group's params)
 * but lies outside every hd_graph_param_range, after all the params. */
hd_node *hd_buffer(hd_graph *g, const char *name, int ndim, const int64_t *shape, hd_init init);

/* ---- running ------------------------------------------------------------- */

int hd_graph_forward(hd_graph *g, hd_node *out);   /* computes out and what it needs */
/* Accumulates d(sum of out)/d(param) into the grads of the params in group
 * (HD_ALL: every group).  Zero them first with hd_graph_zero_grad. */
int hd_graph_backward(hd_graph *g, hd_node *out, int group);
void hd_graph_zero_grad(hd_graph *g, int group);

/* ---- gradients as nodes (second order) ----------------------------------------
 * hd_grad adds to the graph the nodes of d(sum of y)/dx, for any node y and
 * any input or parameter x it depends on, and returns the node of x's shape.
 * The new nodes are ordinary ones: a loss may contain them, forward computes
 * them and hd_graph_backward differentiates through them, which gives
 * gradient penalties (WGAN-GP, R1) their exact gradients.  Call it before
 * hd_graph_compile.  An op on the way with no differentiable backward (batch
 * norm, dropout, the binomial, Gaussian and softmax losses, and the nodes of
 * a gradient taken once already, for a third order) is refused by name.
 * x needs no hd_input_requires_grad for this: that is for hd_graph_backward. */
hd_node *hd_grad(hd_graph *g, hd_node *y, hd_node *x);

/* ---- inspection ------------------------------------------------------------- */

hd_tensor *hd_node_value(hd_node *n);      /* valid after set_batch (params: after compile) */
hd_tensor *hd_node_grad(hd_node *n);       /* params: after compile; others: after backward */
float hd_node_scalar(const hd_node *n);    /* first element of the value */
const char *hd_node_name(const hd_node *n);
const char *hd_node_op_name(const hd_node *n);
int hd_node_is_param(const hd_node *n);
int hd_node_is_buffer(const hd_node *n);   /* buffers are params too (hd_node_is_param) */
/* The node's shape as built, valid before compile (HD_BATCH at dim 0 where
 * it is batched; hd_node_value has the concrete one after set_batch):
 * hd_node_shape points at hd_node_ndim(n) sizes, owned by the node. */
int hd_node_ndim(const hd_node *n);
const int64_t *hd_node_shape(const hd_node *n);
int hd_node_group(const hd_node *n);       /* a param's (or buffer's) group; -1 for other nodes */
int hd_graph_compiled(const hd_graph *g);  /* 1 after a successful hd_graph_compile */
/* Every node in creation order (inputs before the nodes that use them),
 * compiled or not: how to find the params of a graph not compiled yet. */
int hd_graph_n_nodes(const hd_graph *g);
hd_node *hd_graph_node(const hd_graph *g, int i); /* NULL outside 0..n_nodes-1 */
/* The params (buffers included) after compile. */
int hd_graph_n_params(const hd_graph *g);
hd_node *hd_graph_param(const hd_graph *g, int i); /* in layout order: grouped, then creation; buffers last */
hd_node *hd_graph_find(const hd_graph *g, const char *name);
/* All values (and grads) of a group lie contiguously: flat loops for optimisers. */
int hd_graph_param_range(hd_graph *g, int group, float **values, float **grads, int64_t *n);
int hd_graph_print(const hd_graph *g, FILE *f); /* one line per node: id, op, shape, inputs */

/* ---- ops (graph/ops/) -------------------------------------------------------
 * Binary elementwise ops broadcast NumPy-style (right-aligned, size-1 dims
 * stretch), so a bias [n] adds to a batch [B, n]. */

hd_node *hd_matmul(hd_graph *g, hd_node *a, hd_node *b, int trans_b); /* [m,k]x[k,n] (or b [n,k] if trans_b) */
/* x w^T + b in one op (PyTorch's linear): x [m,k], w [n,k], b [n] -> [m,n]. */
hd_node *hd_linear(hd_graph *g, hd_node *x, hd_node *w, hd_node *b);
hd_node *hd_add(hd_graph *g, hd_node *a, hd_node *b);
hd_node *hd_sub(hd_graph *g, hd_node *a, hd_node *b);
hd_node *hd_mul(hd_graph *g, hd_node *a, hd_node *b);
hd_node *hd_div(hd_graph *g, hd_node *a, hd_node *b);
hd_node *hd_scale(hd_graph *g, hd_node *a, float c);        /* c * a */
hd_node *hd_add_scalar(hd_graph *g, hd_node *a, float c);   /* a + c */
hd_node *hd_exp(hd_graph *g, hd_node *a);
hd_node *hd_log(hd_graph *g, hd_node *a);
hd_node *hd_square(hd_graph *g, hd_node *a);
hd_node *hd_sqrt(hd_graph *g, hd_node *a);
hd_node *hd_rsqrt(hd_graph *g, hd_node *a);                 /* 1 / sqrt(a) */
hd_node *hd_relu(hd_graph *g, hd_node *a);
hd_node *hd_leaky_relu(hd_graph *g, hd_node *a, float slope); /* x > 0 ? x : slope * x */
hd_node *hd_sigmoid(hd_graph *g, hd_node *a);               /* 1 / (1 + exp(-x)) */
hd_node *hd_tanh(hd_graph *g, hd_node *a);
hd_node *hd_softplus(hd_graph *g, hd_node *a);              /* log(1 + exp(x)), stable */
hd_node *hd_log_sigmoid(hd_graph *g, hd_node *a);           /* -softplus(-x), stable */
hd_node *hd_sum(hd_graph *g, hd_node *a, int axis);         /* axis removed; HD_AXIS_ALL -> scalar */
hd_node *hd_mean(hd_graph *g, hd_node *a, int axis);
hd_node *hd_concat(hd_graph *g, int n, hd_node *const *xs, int axis);
hd_node *hd_slice(hd_graph *g, hd_node *a, int axis, int64_t start, int64_t len);
hd_node *hd_reshape(hd_graph *g, hd_node *a, int ndim, const int64_t *shape); /* keeps HD_BATCH at dim 0 */
hd_node *hd_stop_grad(hd_graph *g, hd_node *a);             /* identity, no gradient flows back */
hd_node *hd_dropout(hd_graph *g, hd_node *a, float p);      /* training: zero with prob p, scale 1/(1-p) */
/* mean + exp(logvar / 2) * eps, eps ~ N(0, 1) drawn afresh each graph step
 * (training and evaluation alike); set the step back to repeat a draw. */
hd_node *hd_gauss_sample(hd_graph *g, hd_node *mean, hd_node *logvar);

/* Losses: scalar mean over all elements. */
hd_node *hd_mse_loss(hd_graph *g, hd_node *pred, hd_node *target);          /* (p - t)^2 */
hd_node *hd_bce_logits_loss(hd_graph *g, hd_node *logits, hd_node *target); /* softplus(z) - t z */
/* Binomial NLL of k successes in n trials with p = sigmoid(z), constant dropped:
 * -(k log_sigmoid(z) + (n - k) log_sigmoid(-z)). */
hd_node *hd_binomial_nll_loss(hd_graph *g, hd_node *logits, hd_node *k, hd_node *n);
/* Gaussian NLL, constant dropped: 0.5 (logvar + (t - mean)^2 exp(-logvar)). */
hd_node *hd_gaussian_nll_loss(hd_graph *g, hd_node *mean, hd_node *logvar, hd_node *target);
/* Gaussian-mixture NLL, constant dropped, weighted, mean over target's elements:
 * params [..., 3K] holds, per element of target [...], K weight logits, K means
 * and K log sigmas (K <= 64); weight has target's shape (a 0/1 mask, say):
 * mean of -w log sum_k softmax_k N(t; m_k, exp(2 s_k)).  No second order. */
hd_node *hd_mixture_nll_loss(hd_graph *g, hd_node *params, hd_node *target, hd_node *weight);
/* Softmax cross-entropy of logits [N, C] against target [N, C] (one-hot or
 * probabilities), mean over the N rows: -sum_c t_c log softmax(z)_c, as
 * PyTorch's CrossEntropyLoss with probability targets. */
hd_node *hd_softmax_cross_entropy_loss(hd_graph *g, hd_node *logits, hd_node *target);
/* KL(N(mean, e^logvar) || N(0, prior_std^2)) summed over elements (not a mean). */
hd_node *hd_gauss_kl(hd_graph *g, hd_node *mean, hd_node *logvar, float prior_std);

/* Layer norm per sample over all dims but 0 (PyTorch's LayerNorm(x.shape[1:])):
 * gamma (x - mean) / sqrt(var + eps) + beta, biased variance; gamma and beta
 * have x's shape less the batch dimension, or are both NULL. */
hd_node *hd_layer_norm(hd_graph *g, hd_node *x, hd_node *gamma, hd_node *beta, float eps);
/* ||a - b|| per sample, over all dims but 0 ([B, ...] -> [B]); b NULL: ||a||.
 * The gradient at a zero distance is 0. */
hd_node *hd_row_norm(hd_graph *g, hd_node *a, hd_node *b);

/* Convolutions on NCHW tensors (docs/conv.md).  HD_PAD_SAME follows Keras/TF:
 * conv2d out = ceil(H / s), padding max((out-1) s + k - H, 0) split with the
 * smaller half first; conv_transpose2d out = H s, its exact adjoint. */
typedef enum { HD_PAD_VALID, HD_PAD_SAME } hd_padding;
/* x [B,Ci,H,W], w [Co,Ci,kh,kw], b [Co] or NULL -> [B,Co,OH,OW]. */
hd_node *hd_conv2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w, hd_padding pad);
/* x [B,Ci,H,W], w [Ci,Co,kh,kw] (PyTorch's layout), b [Co] or NULL -> [B,Co,H s,W s] ('same') or
 * [B,Co,(H-1) s + kh,(W-1) s + kw] ('valid'). */
hd_node *hd_conv_transpose2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w,
                             hd_padding pad);
/* x [B,C,H,W] -> [B,C,(H-kh)/sh+1,(W-kw)/sw+1], max of each window; gradient to the first maximum. */
hd_node *hd_max_pool2d(hd_graph *g, hd_node *x, int kernel_h, int kernel_w, int stride_h, int stride_w);
/* Batch norm over dim 1 of x [B,C,...] ([B,F] per feature, [B,C,H,W] per channel) as PyTorch:
 * gamma, beta [C] or both NULL; running_mean, running_var [C] buffers (hd_buffer) or both NULL
 * (then batch statistics in evaluation too).  Training: batch mean and biased variance, and
 * running = (1 - momentum) running + momentum batch_stat (unbiased variance); evaluation:
 * running stats.  PyTorch's defaults: momentum 0.1, eps 1e-5. */
hd_node *hd_batch_norm(hd_graph *g, hd_node *x, hd_node *gamma, hd_node *beta, hd_node *running_mean,
                       hd_node *running_var, float momentum, float eps);

#ifdef __cplusplus
}
#endif
#endif
