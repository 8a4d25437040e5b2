/* The gradient-check cases, one or more per op in the op table, shared by
 * test_grad (first order) and test_grad2 (second order).  Each builds one op
 * on random-shaped inputs (the batch dimension included, with
 * batch-broadcast variants) in the op's domain. */
#ifndef HD_TEST_GRAD_CASES_H
#define HD_TEST_GRAD_CASES_H

#include <math.h>

#include "graph/graph_internal.h"
#include "hadron/hadron.h"

enum { ANY, POS, AWAY0 }; /* input domains: [-2,2], [0.5,2], |x| in [0.1,2] */

typedef struct {
    hd_graph *g;
    hd_rng *r;
    int n;
    hd_node *x[HD_MAX_INPUTS];
    int dom[HD_MAX_INPUTS];
    int64_t d[4]; /* random dims for this trial */
} ctx;

static hd_node *in(ctx *c, int dom, int ndim, const int64_t *shape)
{
    hd_node *x = hd_input(c->g, NULL, ndim, shape);
    assert_non_null(x);
    assert_int_equal(hd_input_requires_grad(x), HD_OK);
    c->dom[c->n] = dom;
    c->x[c->n++] = x;
    return x;
}

#define IN(dom, ...) in(c, dom, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define B HD_BATCH
#define D0 c->d[0]
#define D1 c->d[1]
#define D2 c->d[2]

typedef struct {
    const char *name;
    int op;
    hd_node *(*build)(ctx *c);
    double eps, rtol, atol;
} grad_case;

/* ---- cases ------------------------------------------------------------- */

static hd_node *c_matmul(ctx *c) { return hd_matmul(c->g, IN(ANY, B, D0), IN(ANY, D0, D1), 0); }
static hd_node *c_matmul_t(ctx *c) { return hd_matmul(c->g, IN(ANY, B, D0), IN(ANY, D1, D0), 1); }
static hd_node *c_linear(ctx *c) { return hd_linear(c->g, IN(ANY, B, D0), IN(ANY, D1, D0), IN(ANY, D1)); }
static hd_node *c_add(ctx *c) { return hd_add(c->g, IN(ANY, B, D0, D1), IN(ANY, B, D0, D1)); }
static hd_node *c_bias(ctx *c) { return hd_add(c->g, IN(ANY, B, D0), IN(ANY, D0)); }
static hd_node *c_add_row(ctx *c) { return hd_add(c->g, IN(ANY, 1, D0), IN(ANY, B, D0)); }
static hd_node *c_add_4d(ctx *c) { return hd_add(c->g, IN(ANY, B, D0, D1, D2), IN(ANY, D0, 1, 1)); }
static hd_node *c_sub(ctx *c) { return hd_sub(c->g, IN(ANY, B, D0), IN(ANY, B, D0)); }
static hd_node *c_sub_bc(ctx *c) { return hd_sub(c->g, IN(ANY, D0), IN(ANY, B, D0)); }
static hd_node *c_mul(ctx *c) { return hd_mul(c->g, IN(ANY, B, D0), IN(ANY, B, D0)); }
static hd_node *c_mul_col(ctx *c) { return hd_mul(c->g, IN(ANY, B, D0), IN(ANY, B, 1)); }
static hd_node *c_div(ctx *c) { return hd_div(c->g, IN(ANY, B, D0), IN(POS, B, D0)); }
static hd_node *c_div_bc(ctx *c) { return hd_div(c->g, IN(ANY, B, D0, D1), IN(POS, D1)); }
static hd_node *c_scale(ctx *c) { return hd_scale(c->g, IN(ANY, B, D0), -1.7f); }
static hd_node *c_exp(ctx *c) { return hd_exp(c->g, IN(ANY, B, D0)); }
static hd_node *c_log(ctx *c) { return hd_log(c->g, IN(POS, B, D0)); }
static hd_node *c_square(ctx *c) { return hd_square(c->g, IN(ANY, B, D0)); }
static hd_node *c_sqrt(ctx *c) { return hd_sqrt(c->g, IN(POS, B, D0)); }
static hd_node *c_relu(ctx *c) { return hd_relu(c->g, IN(AWAY0, B, D0)); }
static hd_node *c_leaky(ctx *c) { return hd_leaky_relu(c->g, IN(AWAY0, B, D0), 0.2f); }
static hd_node *c_sigmoid(ctx *c) { return hd_sigmoid(c->g, IN(ANY, B, D0)); }
static hd_node *c_tanh(ctx *c) { return hd_tanh(c->g, IN(ANY, B, D0)); }
static hd_node *c_softplus(ctx *c) { return hd_softplus(c->g, IN(ANY, B, D0)); }
static hd_node *c_logsig(ctx *c) { return hd_log_sigmoid(c->g, IN(ANY, B, D0)); }
static hd_node *c_sum_all(ctx *c) { return hd_sum(c->g, IN(ANY, B, D0, D1), HD_AXIS_ALL); }
static hd_node *c_sum_batch(ctx *c) { return hd_sum(c->g, IN(ANY, B, D0, D1), 0); }
static hd_node *c_sum_last(ctx *c) { return hd_sum(c->g, IN(ANY, B, D0, D1), -1); }
static hd_node *c_mean_all(ctx *c) { return hd_mean(c->g, IN(ANY, B, D0), HD_AXIS_ALL); }
static hd_node *c_mean_mid(ctx *c) { return hd_mean(c->g, IN(ANY, B, D0, D1), 1); }
static hd_node *c_concat(ctx *c)
{
    hd_node *xs[3] = {IN(ANY, B, D0), IN(ANY, B, D1), IN(ANY, B, 2)};
    return hd_concat(c->g, 3, xs, 1);
}
static hd_node *c_concat_mid(ctx *c)
{
    hd_node *xs[2] = {IN(ANY, B, D0, D2), IN(ANY, B, D1, D2)};
    return hd_concat(c->g, 2, xs, 1);
}
static hd_node *c_slice(ctx *c) { return hd_slice(c->g, IN(ANY, B, D0 + 3), 1, 1, D0 + 1); }
static hd_node *c_slice_mid(ctx *c) { return hd_slice(c->g, IN(ANY, B, D0 + 2, D1), 1, 2, D0); }
static hd_node *c_reshape(ctx *c) { return hd_reshape(c->g, IN(ANY, B, D0 * D1), 3, (int64_t[]){B, D1, D0}); }
static hd_node *c_dropout(ctx *c) { return hd_dropout(c->g, IN(ANY, B, D0, 8), 0.3f); }
static hd_node *c_gauss_sample(ctx *c) { return hd_gauss_sample(c->g, IN(ANY, D0, D1), IN(ANY, D0, D1)); }
static hd_node *c_gauss_kl(ctx *c) { return hd_gauss_kl(c->g, IN(ANY, D0, D1), IN(ANY, D0, D1), 0.7f); }
static hd_node *c_mse(ctx *c) { return hd_mse_loss(c->g, IN(ANY, B, D0), IN(ANY, B, D0)); }
static hd_node *c_bce(ctx *c) { return hd_bce_logits_loss(c->g, IN(ANY, B, D0), IN(POS, B, D0)); }
static hd_node *c_softmax_ce(ctx *c) { return hd_softmax_cross_entropy_loss(c->g, IN(ANY, B, D0 + 1), IN(POS, B, D0 + 1)); }
static hd_node *c_binomial(ctx *c)
{
    return hd_binomial_nll_loss(c->g, IN(ANY, B, D0), IN(POS, B, D0), IN(POS, B, D0));
}
static hd_node *c_gauss(ctx *c)
{
    return hd_gaussian_nll_loss(c->g, IN(ANY, B, D0), IN(ANY, B, D0), IN(ANY, B, D0));
}
static hd_node *c_mixture(ctx *c)
{
    return hd_mixture_nll_loss(c->g, IN(ANY, B, D0, 3 * D1), IN(ANY, B, D0), IN(POS, B, D0));
}
static hd_node *c_conv2d_same(ctx *c)
{
    return hd_conv2d(c->g, IN(ANY, B, D0, D1 + 3, D2 + 4), IN(ANY, D1, D0, 3, 3), IN(ANY, D1), 1, 1, HD_PAD_SAME);
}
static hd_node *c_conv2d_same_s2(ctx *c) /* even kernel: padding split unevenly */
{
    return hd_conv2d(c->g, IN(ANY, B, D0, D1 + 4, D2 + 5), IN(ANY, D2, D0, 4, 3), NULL, 2, 1, HD_PAD_SAME);
}
static hd_node *c_conv2d_valid(ctx *c)
{
    return hd_conv2d(c->g, IN(ANY, B, D0, D1 + 4, D2 + 4), IN(ANY, D1, D0, 3, 2), IN(ANY, D1), 2, 2, HD_PAD_VALID);
}
static hd_node *c_convt_same_s2(ctx *c)
{
    return hd_conv_transpose2d(c->g, IN(ANY, B, D0, D1 + 1, D2 + 1), IN(ANY, D0, D1, 5, 5), NULL, 2, 2, HD_PAD_SAME);
}
static hd_node *c_convt_same_s1(ctx *c)
{
    return hd_conv_transpose2d(c->g, IN(ANY, B, D0, D1 + 2, D2 + 2), IN(ANY, D0, D2, 5, 5), IN(ANY, D2), 1, 1,
                               HD_PAD_SAME);
}
static hd_node *c_convt_valid(ctx *c)
{
    return hd_conv_transpose2d(c->g, IN(ANY, B, D0, D1 + 1, D2), IN(ANY, D0, D2, 3, 2), IN(ANY, D2), 2, 1,
                               HD_PAD_VALID);
}
/* 8 image channels: the channels-last im2col (conv.c) */
static hd_node *c_conv2d_cl(ctx *c)
{
    return hd_conv2d(c->g, IN(ANY, B, 8, D1 + 2, D2 + 3), IN(ANY, D0, 8, 3, 3), IN(ANY, D0), 2, 1, HD_PAD_SAME);
}
static hd_node *c_convt_cl(ctx *c)
{
    return hd_conv_transpose2d(c->g, IN(ANY, B, D0, D1, D2 + 1), IN(ANY, D0, 8, 5, 3), NULL, 2, 2, HD_PAD_SAME);
}
static hd_node *c_max_pool(ctx *c) { return hd_max_pool2d(c->g, IN(ANY, B, D0, 2 * D1 + 1, 2 * D2 + 2), 2, 2, 2, 2); }
static hd_node *c_max_pool_overlap(ctx *c) { return hd_max_pool2d(c->g, IN(ANY, B, D0, D1 + 3, D2 + 3), 3, 3, 2, 1); }
/* Running stats are buffers the training forward updates; the output does
 * not depend on them, so the repeated forwards of the check see one function. */
static hd_node *bn_stats(ctx *c, int64_t ch, hd_node **var)
{
    char name[32];
    snprintf(name, sizeof name, "rv%d", c->g->n_nodes);
    *var = hd_buffer(c->g, name, 1, (int64_t[]){ch}, (hd_init){HD_INIT_CONST, 1.7f});
    snprintf(name, sizeof name, "rm%d", c->g->n_nodes);
    return hd_buffer(c->g, name, 1, (int64_t[]){ch}, (hd_init){HD_INIT_UNIFORM, 1.0f});
}
static hd_node *c_bn_train_4d(ctx *c)
{
    hd_node *rv, *rm = bn_stats(c, D0, &rv);
    return hd_batch_norm(c->g, IN(ANY, B, D0, D1 + 1, D2 + 1), IN(ANY, D0), IN(ANY, D0), rm, rv, 0.1f, 1e-5f);
}
static hd_node *c_bn_train_2d(ctx *c)
{
    return hd_batch_norm(c->g, IN(ANY, B, D0 + 1), NULL, NULL, NULL, NULL, 0.1f, 1e-5f);
}
static hd_node *c_bn_eval(ctx *c)
{
    hd_graph_set_training(c->g, 0);
    hd_node *rv, *rm = bn_stats(c, D0, &rv);
    return hd_batch_norm(c->g, IN(ANY, B, D0, D1, D2), IN(ANY, D0), IN(ANY, D0), rm, rv, 0.1f, 1e-3f);
}
/* stop_grad's gradient is zero by definition: y = a * stop(b) must give
 * dL/db = 0 while finite differences see b.  Checked against x * const below. */
static hd_node *c_stop(ctx *c)
{
    hd_node *a = IN(ANY, B, D0);
    hd_node *b = in(c, ANY, 2, (int64_t[]){B, D0});
    b->requires_grad = 0; /* a constant to finite differences too */
    c->n--;               /* not perturbed */
    return hd_mul(c->g, a, hd_stop_grad(c->g, b));
}

static hd_node *c_add_scalar(ctx *c) { return hd_add_scalar(c->g, IN(ANY, B, D0), 0.8f); }
static hd_node *c_rsqrt(ctx *c) { return hd_rsqrt(c->g, IN(POS, B, D0)); }
static hd_node *c_safe_recip(ctx *c) { return hd_safe_recip(c->g, IN(AWAY0, B, D0)); }
static hd_node *c_layer_norm(ctx *c)
{
    return hd_layer_norm(c->g, IN(ANY, B, D0 + 1), IN(ANY, D0 + 1), IN(ANY, D0 + 1), 1e-5f);
}
static hd_node *c_layer_norm_4d(ctx *c)
{
    return hd_layer_norm(c->g, IN(ANY, B, D0, D1 + 1, D2), IN(ANY, D0, D1 + 1, D2), IN(ANY, D0, D1 + 1, D2), 1e-3f);
}
static hd_node *c_layer_norm_plain(ctx *c) { return hd_layer_norm(c->g, IN(ANY, B, D0 + 2, D1), NULL, NULL, 1e-5f); }
static hd_node *c_row_dist(ctx *c) { return hd_row_norm(c->g, IN(ANY, B, D0, D1), IN(ANY, B, D0, D1)); }
static hd_node *c_row_norm(ctx *c) { return hd_row_norm(c->g, IN(ANY, B, D0 + 1), NULL); }
/* The nodes hd_grad builds, on their own. */
static hd_node *template(ctx *c, int ndim, const int64_t *shape)
{
    hd_node *t = hd_input(c->g, NULL, ndim, shape); /* a shape only: not perturbed */
    assert_non_null(t);
    return t;
}
static hd_node *c_unary_grad(ctx *c)
{
    hd_node *x = IN(ANY, B, D0);
    return hd_unary_grad(c->g, hd_tanh(c->g, x), IN(ANY, B, D0));
}
static hd_node *c_unary_grad_softplus(ctx *c)
{
    hd_node *x = IN(ANY, B, D0);
    return hd_unary_grad(c->g, hd_softplus(c->g, x), IN(ANY, B, D0));
}
static hd_node *c_sum_to(ctx *c) { return hd_sum_to(c->g, IN(ANY, B, D0, D1), template(c, 2, (int64_t[]){D0, 1}), 0); }
static hd_node *c_sum_to_mean(ctx *c) { return hd_sum_to(c->g, IN(ANY, B, D0), template(c, 1, (int64_t[]){D0}), 1); }
static hd_node *c_expand(ctx *c) { return hd_expand(c->g, IN(ANY, B, 1), template(c, 2, (int64_t[]){B, D0}), 0); }
static hd_node *c_expand_mean(ctx *c)
{
    return hd_expand(c->g, IN(ANY, D1), template(c, 3, (int64_t[]){B, D0, D1}), 1);
}
static hd_node *c_pad(ctx *c) { return hd_pad(c->g, IN(ANY, B, D0, D1), 2, 1, D1 + 3); }
/* a * ones_like(b): the gradient reaching b is zero by definition */
static hd_node *c_ones_like(ctx *c) { return hd_mul(c->g, IN(ANY, B, D0), hd_ones_like(c->g, IN(ANY, B, D0))); }
static hd_node *c_matmul_ta(ctx *c) { return hd_matmul_t(c->g, IN(ANY, B, D0), IN(ANY, B, D1), 1, 0); }
static hd_node *c_matmul_ta_tb(ctx *c) { return hd_matmul_t(c->g, IN(ANY, D0, D1), IN(ANY, D2, D0), 1, 1); }
static hd_node *conv_template(ctx *c, int64_t ci, int64_t co, int transpose)
{
    hd_node *x = template(c, 4, (int64_t[]){B, ci, D1 + 3, D2 + 4});
    hd_node *w = template(c, 4, (int64_t[]){transpose ? ci : co, transpose ? co : ci, 3, 2});
    return transpose ? hd_conv_transpose2d(c->g, x, w, NULL, 2, 1, HD_PAD_SAME)
                     : hd_conv2d(c->g, x, w, NULL, 2, 1, HD_PAD_SAME);
}
static hd_node *c_conv_to_image(ctx *c)
{
    hd_node *t = conv_template(c, D0, 2, 0);
    return hd_conv_to_image(c->g, t, IN(ANY, B, 2, t->shape[2], t->shape[3]), IN(ANY, 2, D0, 3, 2));
}
static hd_node *c_conv_to_grid(ctx *c)
{
    hd_node *t = conv_template(c, D0, 8, 1); /* 8 image channels: channels last */
    return hd_conv_to_grid(c->g, t, IN(ANY, B, 8, t->shape[2], t->shape[3]), IN(ANY, D0, 8, 3, 2));
}
static hd_node *c_conv_dw(ctx *c)
{
    hd_node *t = conv_template(c, D0, 3, 0);
    return hd_conv_dw(c->g, t, IN(ANY, B, D0, D1 + 3, D2 + 4), IN(ANY, B, 3, t->shape[2], t->shape[3]));
}
static hd_node *c_conv_dw_cl(ctx *c)
{
    hd_node *t = conv_template(c, 8, D0, 0);
    return hd_conv_dw(c->g, t, IN(ANY, B, 8, D1 + 3, D2 + 4), IN(ANY, B, D0, t->shape[2], t->shape[3]));
}
static hd_node *c_max_pool_grad(ctx *c)
{
    hd_node *p = hd_max_pool2d(c->g, IN(ANY, B, D0, 2 * D1 + 1, 2 * D2), 2, 2, 2, 2);
    return hd_max_pool_grad(c->g, p, IN(ANY, B, D0, D1, D2));
}

/* eps: the finite-difference step.  Products (matmul, linear, the
 * convolutions) are linear in each single input element, so central
 * differences are exact for any step, and a large one keeps float32
 * rounding of the many summed terms (which differs between BLAS kernels)
 * out of the comparison. */
static const grad_case cases[] = {
    {"matmul", HD_OP_MATMUL, c_matmul, 1e-1, 1e-2, 2e-3},
    {"matmul_trans_b", HD_OP_MATMUL, c_matmul_t, 1e-1, 1e-2, 2e-3},
    {"linear x w^T + b", HD_OP_LINEAR, c_linear, 1e-1, 1e-2, 2e-3},
    {"add", HD_OP_ADD, c_add, 1e-3, 1e-2, 1e-3},
    {"add_bias [B,n]+[n]", HD_OP_ADD, c_bias, 1e-3, 1e-2, 1e-3},
    {"add [1,n]+[B,n]", HD_OP_ADD, c_add_row, 1e-3, 1e-2, 1e-3},
    {"add [B,c,h,w]+[c,1,1]", HD_OP_ADD, c_add_4d, 1e-3, 1e-2, 2e-3},
    {"sub", HD_OP_SUB, c_sub, 1e-3, 1e-2, 1e-3},
    {"sub [n]-[B,n]", HD_OP_SUB, c_sub_bc, 1e-3, 1e-2, 1e-3},
    {"mul", HD_OP_MUL, c_mul, 1e-3, 1e-2, 1e-3},
    {"mul [B,n]*[B,1]", HD_OP_MUL, c_mul_col, 1e-3, 1e-2, 1e-3},
    {"div", HD_OP_DIV, c_div, 1e-3, 1e-2, 1e-3},
    {"div [B,m,n]/[n]", HD_OP_DIV, c_div_bc, 1e-3, 1e-2, 1e-3},
    {"scale", HD_OP_SCALE, c_scale, 1e-3, 1e-2, 1e-3},
    {"exp", HD_OP_EXP, c_exp, 1e-3, 1e-2, 1e-3},
    {"log", HD_OP_LOG, c_log, 1e-3, 1e-2, 1e-3},
    {"square", HD_OP_SQUARE, c_square, 1e-3, 1e-2, 1e-3},
    {"sqrt", HD_OP_SQRT, c_sqrt, 1e-3, 1e-2, 1e-3},
    {"relu", HD_OP_RELU, c_relu, 1e-3, 1e-2, 1e-3},
    {"leaky_relu", HD_OP_LEAKY_RELU, c_leaky, 1e-3, 1e-2, 1e-3},
    {"sigmoid", HD_OP_SIGMOID, c_sigmoid, 1e-3, 1e-2, 1e-3},
    {"tanh", HD_OP_TANH, c_tanh, 1e-3, 1e-2, 1e-3},
    {"softplus", HD_OP_SOFTPLUS, c_softplus, 1e-3, 1e-2, 1e-3},
    {"log_sigmoid", HD_OP_LOG_SIGMOID, c_logsig, 1e-3, 1e-2, 1e-3},
    {"sum all", HD_OP_SUM, c_sum_all, 1e-3, 1e-2, 2e-3},
    {"sum over batch", HD_OP_SUM, c_sum_batch, 1e-3, 1e-2, 1e-3},
    {"sum over last axis", HD_OP_SUM, c_sum_last, 1e-3, 1e-2, 1e-3},
    {"mean all", HD_OP_MEAN, c_mean_all, 1e-3, 1e-2, 1e-3},
    {"mean over axis 1", HD_OP_MEAN, c_mean_mid, 1e-3, 1e-2, 1e-3},
    {"concat axis 1 (3 inputs)", HD_OP_CONCAT, c_concat, 1e-3, 1e-2, 1e-3},
    {"concat middle axis", HD_OP_CONCAT, c_concat_mid, 1e-3, 1e-2, 1e-3},
    {"slice", HD_OP_SLICE, c_slice, 1e-3, 1e-2, 1e-3},
    {"slice middle axis", HD_OP_SLICE, c_slice_mid, 1e-3, 1e-2, 1e-3},
    {"reshape", HD_OP_RESHAPE, c_reshape, 1e-3, 1e-2, 1e-3},
    {"stop_grad", HD_OP_STOP_GRAD, c_stop, 1e-3, 1e-2, 1e-3},
    {"dropout (fixed step)", HD_OP_DROPOUT, c_dropout, 1e-3, 1e-2, 1e-3},
    {"gauss_sample (fixed step)", HD_OP_GAUSS_SAMPLE, c_gauss_sample, 1e-3, 1e-2, 1e-3},
    {"gauss_kl (prior 0.7)", HD_OP_GAUSS_KL, c_gauss_kl, 1e-3, 1e-2, 2e-4},
    {"mse_loss", HD_OP_MSE, c_mse, 1e-3, 1e-2, 2e-4},
    {"bce_logits_loss", HD_OP_BCE_LOGITS, c_bce, 1e-3, 1e-2, 2e-4},
    {"binomial_nll_loss", HD_OP_BINOMIAL_NLL, c_binomial, 1e-3, 1e-2, 2e-4},
    {"softmax_cross_entropy_loss", HD_OP_SOFTMAX_CE, c_softmax_ce, 1e-3, 1e-2, 2e-4},
    {"gaussian_nll_loss", HD_OP_GAUSSIAN_NLL, c_gauss, 1e-3, 1e-2, 2e-4},
    {"mixture_nll_loss (K 1-4)", HD_OP_MIXTURE_NLL, c_mixture, 1e-3, 1e-2, 2e-4},
    {"conv2d same 3x3 + bias", HD_OP_CONV2D, c_conv2d_same, 1e-1, 1e-2, 2e-3},
    {"conv2d same 4x3 stride (2,1)", HD_OP_CONV2D, c_conv2d_same_s2, 1e-1, 1e-2, 2e-3},
    {"conv2d valid 3x2 stride 2 + bias", HD_OP_CONV2D, c_conv2d_valid, 1e-1, 1e-2, 2e-3},
    {"conv_transpose2d same 5x5 stride 2", HD_OP_CONV_TRANSPOSE2D, c_convt_same_s2, 1e-1, 1e-2, 2e-3},
    {"conv_transpose2d same 5x5 stride 1 + bias", HD_OP_CONV_TRANSPOSE2D, c_convt_same_s1, 1e-1, 1e-2, 2e-3},
    {"conv_transpose2d valid 3x2 stride (2,1) + bias", HD_OP_CONV_TRANSPOSE2D, c_convt_valid, 1e-1, 1e-2, 2e-3},
    {"conv2d same, 8 channels (channels last)", HD_OP_CONV2D, c_conv2d_cl, 1e-1, 1e-2, 2e-3},
    {"conv_transpose2d same, 8 channels (channels last)", HD_OP_CONV_TRANSPOSE2D, c_convt_cl, 1e-1, 1e-2, 2e-3},
    {"max_pool2d 2x2 stride 2", HD_OP_MAX_POOL2D, c_max_pool, 1e-4, 1e-2, 1e-3},
    {"max_pool2d 3x3 stride (2,1)", HD_OP_MAX_POOL2D, c_max_pool_overlap, 1e-4, 1e-2, 1e-3},
    {"batch_norm training [B,C,H,W] affine", HD_OP_BATCH_NORM, c_bn_train_4d, 1e-3, 1e-2, 2e-3},
    {"batch_norm training [B,F] plain", HD_OP_BATCH_NORM, c_bn_train_2d, 1e-3, 1e-2, 2e-3},
    {"batch_norm evaluation (running stats)", HD_OP_BATCH_NORM, c_bn_eval, 1e-3, 1e-2, 2e-3},
    {"add_scalar", HD_OP_ADD_SCALAR, c_add_scalar, 1e-3, 1e-2, 1e-3},
    {"rsqrt", HD_OP_RSQRT, c_rsqrt, 1e-3, 1e-2, 1e-3},
    {"safe_recip", HD_OP_SAFE_RECIP, c_safe_recip, 1e-4, 1e-2, 1e-3},
    {"layer_norm [B,F] affine", HD_OP_LAYER_NORM, c_layer_norm, 1e-3, 1e-2, 2e-3},
    {"layer_norm [B,C,H,W] affine", HD_OP_LAYER_NORM, c_layer_norm_4d, 1e-3, 1e-2, 2e-3},
    {"layer_norm plain", HD_OP_LAYER_NORM, c_layer_norm_plain, 1e-3, 1e-2, 2e-3},
    {"row_norm |a - b|", HD_OP_ROW_NORM, c_row_dist, 1e-3, 1e-2, 1e-3},
    {"row_norm |a|", HD_OP_ROW_NORM, c_row_norm, 1e-3, 1e-2, 1e-3},
    {"unary_grad of tanh", HD_OP_UNARY_GRAD, c_unary_grad, 1e-3, 1e-2, 1e-3},
    {"unary_grad of softplus", HD_OP_UNARY_GRAD, c_unary_grad_softplus, 1e-3, 1e-2, 1e-3},
    {"sum_to [B,m,n] -> [m,1]", HD_OP_SUM_TO, c_sum_to, 1e-3, 1e-2, 1e-3},
    {"sum_to mean [B,n] -> [n]", HD_OP_SUM_TO, c_sum_to_mean, 1e-3, 1e-2, 1e-3},
    {"expand [B,1] -> [B,n]", HD_OP_EXPAND, c_expand, 1e-3, 1e-2, 1e-3},
    {"expand mean [n] -> [B,m,n]", HD_OP_EXPAND, c_expand_mean, 1e-3, 1e-2, 1e-3},
    {"pad", HD_OP_PAD, c_pad, 1e-3, 1e-2, 1e-3},
    {"ones_like", HD_OP_ONES_LIKE, c_ones_like, 1e-3, 1e-2, 1e-3},
    {"matmul a^T b over the batch", HD_OP_MATMUL, c_matmul_ta, 1e-1, 1e-2, 2e-3},
    {"matmul a^T b^T", HD_OP_MATMUL, c_matmul_ta_tb, 1e-1, 1e-2, 2e-3},
    {"conv_to_image (explicit geometry)", HD_OP_CONV_TRANSPOSE2D, c_conv_to_image, 1e-1, 1e-2, 2e-3},
    {"conv_to_grid (explicit geometry, channels last)", HD_OP_CONV2D, c_conv_to_grid, 1e-1, 1e-2, 2e-3},
    {"conv_dw", HD_OP_CONV_DW, c_conv_dw, 1e-1, 1e-2, 2e-3},
    {"conv_dw (channels last)", HD_OP_CONV_DW, c_conv_dw_cl, 1e-1, 1e-2, 2e-3},
    {"max_pool_grad", HD_OP_MAX_POOL_GRAD, c_max_pool_grad, 1e-4, 1e-2, 1e-3},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static void fill(hd_rng *r, float *x, int64_t n, int dom)
{
    for (int64_t i = 0; i < n; i++) {
        float u = hd_rng_uniform(r);
        x[i] = dom == POS ? 0.5f + 1.5f * u : 4.0f * u - 2.0f;
        if (dom == AWAY0 && fabsf(x[i]) < 0.1f) x[i] += x[i] < 0 ? -0.1f : 0.1f;
    }
}


/* ---- the harness both checks share --------------------------------------------- */

/* A case's graph: random dims in 1..4, the op built on its inputs. */
static hd_node *case_build(const grad_case *gc, uint64_t seed, hd_rng *r, ctx *c)
{
    hd_rng_init(r, seed, HD_STREAM_USER);
    *c = (ctx){.g = hd_graph_new(seed), .r = r};
    for (int i = 0; i < 4; i++) c->d[i] = 1 + hd_rng_below(r, 4);
    hd_node *y = gc->build(c);
    if (!y) fail_msg("%s: build failed: %s", gc->name, hd_last_error());
    return y;
}

/* Compiles, sets a random batch and fills the inputs in their domains (and
 * the constant inputs, such as stop_grad's, in [-2, 2]). */
static void case_fill(ctx *c)
{
    assert_int_equal(hd_graph_compile(c->g), HD_OK);
    assert_int_equal(hd_graph_set_batch(c->g, 1 + hd_rng_below(c->r, 4)), HD_OK);
    for (int j = 0; j < c->n; j++) fill(c->r, c->x[j]->val.data, hd_tensor_numel(&c->x[j]->val), c->dom[j]);
    for (int i = 0; i < c->g->n_nodes; i++)
        if (c->g->nodes[i]->op == HD_OP_INPUT && !c->g->nodes[i]->requires_grad)
            fill(c->r, c->g->nodes[i]->val.data, hd_tensor_numel(&c->g->nodes[i]->val), ANY);
}

/* L = sum(w * y) in float64, y at a fixed graph step (the same dropout mask each time). */
static double weighted_eval(hd_graph *g, hd_node *y, const float *w)
{
    hd_graph_set_step(g, 7);
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    double s = 0;
    for (int64_t i = 0; i < hd_tensor_numel(&y->val); i++) s += (double)w[i] * y->val.data[i];
    return s;
}

/* Central differences of L = weighted_eval(y, w) with respect to every
 * element of every input, against the gradients the caller's backward left
 * in their grad buffers, within tol_scale times the case's tolerance.
 * Fails the test naming `what`; returns the largest numerical derivative
 * and adds the entries compared to *compared. */
static double compare_with_differences(const grad_case *gc, ctx *c, hd_node *y, const float *w, double tol_scale,
                                       const char *what, uint64_t seed, int *compared)
{
    double max_abs = 0;
    for (int k = 0; k < c->n; k++) {
        hd_node *x = c->x[k];
        for (int64_t i = 0; i < hd_tensor_numel(&x->val); i++) {
            float x0 = x->val.data[i];
            x->val.data[i] = x0 + (float)gc->eps;
            double lp = weighted_eval(c->g, y, w);
            x->val.data[i] = x0 - (float)gc->eps;
            double lm = weighted_eval(c->g, y, w);
            x->val.data[i] = x0;
            double num = (lp - lm) / ((double)(x0 + (float)gc->eps) - (double)(x0 - (float)gc->eps));
            double ana = x->grad.data[i];
            if (fabs(num - ana) > tol_scale * (gc->atol + gc->rtol * fabs(num)))
                fail_msg("%s (seed %llu): %s, input %d element %lld: analytic %.6g, numerical %.6g", gc->name,
                         (unsigned long long)seed, what, k, (long long)i, ana, num);
            max_abs = fmax(max_abs, fabs(num));
            (*compared)++;
        }
    }
    return max_abs;
}

#endif
