/* Finite-difference gradient checks for every op in the op table.
 *
 * Each case builds one op on random-shaped inputs (the batch dimension
 * included, with batch-broadcast variants), draws random values in the op's
 * domain and compares the backward pass, seeded with random weights w, with
 * central differences of L = sum(w * y) evaluated in float64.  Outputs that a
 * perturbation does not touch are bit-identical in both evaluations, so their
 * rounding cancels exactly and the check is sharp.  A final test walks the op
 * table and fails if any op has no case here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

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

static const grad_case cases[] = {
    {"matmul", HD_OP_MATMUL, c_matmul, 1e-3, 1e-2, 2e-3},
    {"matmul_trans_b", HD_OP_MATMUL, c_matmul_t, 1e-3, 1e-2, 2e-3},
    {"linear x w^T + b", HD_OP_LINEAR, c_linear, 1e-3, 1e-2, 2e-3},
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
    {"conv2d same 3x3 + bias", HD_OP_CONV2D, c_conv2d_same, 1e-3, 1e-2, 2e-3},
    {"conv2d same 4x3 stride (2,1)", HD_OP_CONV2D, c_conv2d_same_s2, 1e-3, 1e-2, 2e-3},
    {"conv2d valid 3x2 stride 2 + bias", HD_OP_CONV2D, c_conv2d_valid, 1e-3, 1e-2, 2e-3},
    {"conv_transpose2d same 5x5 stride 2", HD_OP_CONV_TRANSPOSE2D, c_convt_same_s2, 1e-3, 1e-2, 2e-3},
    {"conv_transpose2d same 5x5 stride 1 + bias", HD_OP_CONV_TRANSPOSE2D, c_convt_same_s1, 1e-3, 1e-2, 2e-3},
    {"conv_transpose2d valid 3x2 stride (2,1) + bias", HD_OP_CONV_TRANSPOSE2D, c_convt_valid, 1e-3, 1e-2, 2e-3},
    {"conv2d same, 8 channels (channels last)", HD_OP_CONV2D, c_conv2d_cl, 1e-3, 1e-2, 2e-3},
    {"conv_transpose2d same, 8 channels (channels last)", HD_OP_CONV_TRANSPOSE2D, c_convt_cl, 1e-3, 1e-2, 2e-3},
    {"max_pool2d 2x2 stride 2", HD_OP_MAX_POOL2D, c_max_pool, 1e-4, 1e-2, 1e-3},
    {"max_pool2d 3x3 stride (2,1)", HD_OP_MAX_POOL2D, c_max_pool_overlap, 1e-4, 1e-2, 1e-3},
    {"batch_norm training [B,C,H,W] affine", HD_OP_BATCH_NORM, c_bn_train_4d, 1e-3, 1e-2, 2e-3},
    {"batch_norm training [B,F] plain", HD_OP_BATCH_NORM, c_bn_train_2d, 1e-3, 1e-2, 2e-3},
    {"batch_norm evaluation (running stats)", HD_OP_BATCH_NORM, c_bn_eval, 1e-3, 1e-2, 2e-3},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

/* ---- harness --------------------------------------------------------------- */

static void fill(hd_rng *r, float *x, int64_t n, int dom)
{
    for (int64_t i = 0; i < n; i++) {
        float u = hd_rng_uniform(r);
        x[i] = dom == POS ? 0.5f + 1.5f * u : 4.0f * u - 2.0f;
        if (dom == AWAY0 && fabsf(x[i]) < 0.1f) x[i] += x[i] < 0 ? -0.1f : 0.1f;
    }
}

static double weighted(const hd_node *y, const float *w)
{
    double s = 0;
    for (int64_t i = 0; i < hd_tensor_numel(&y->val); i++) s += (double)w[i] * y->val.data[i];
    return s;
}

static double eval(hd_graph *g, hd_node *y, const float *w)
{
    hd_graph_set_step(g, 7); /* same dropout mask in every evaluation */
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    return weighted(y, w);
}

/* Fails the test on a mismatch; returns the largest numerical gradient seen
 * and adds the number of entries compared to *compared. */
static double check_case(const grad_case *gc, uint64_t seed, int *compared)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    ctx c = {.g = hd_graph_new(seed), .r = &r};
    for (int i = 0; i < 4; i++) c.d[i] = 1 + hd_rng_below(&r, 4);
    hd_node *y = gc->build(&c);
    if (!y) fail_msg("%s: build failed: %s", gc->name, hd_last_error());
    assert_int_equal(hd_graph_compile(c.g), HD_OK);
    assert_int_equal(hd_graph_set_batch(c.g, 1 + hd_rng_below(&r, 4)), HD_OK);
    for (int j = 0; j < c.n; j++) fill(&r, c.x[j]->val.data, hd_tensor_numel(&c.x[j]->val), c.dom[j]);
    for (int i = 0; i < c.g->n_nodes; i++) /* inputs that are constants (stop_grad case) */
        if (c.g->nodes[i]->op == HD_OP_INPUT && !c.g->nodes[i]->requires_grad)
            fill(&r, c.g->nodes[i]->val.data, hd_tensor_numel(&c.g->nodes[i]->val), ANY);

    int64_t ny = hd_tensor_numel(&y->val);
    float w[4096];
    assert_true(ny <= 4096);
    for (int64_t i = 0; i < ny; i++) w[i] = 2.0f * hd_rng_uniform(&r) - 1.0f;

    eval(c.g, y, w);
    hd_graph_zero_grad(c.g, HD_ALL);
    assert_int_equal(hd_graph_backward_seeded(c.g, y, HD_ALL, w), HD_OK);

    double max_abs = 0;
    for (int j = 0; j < c.n; j++) {
        hd_node *x = c.x[j];
        for (int64_t i = 0; i < hd_tensor_numel(&x->val); i++) {
            float x0 = x->val.data[i];
            x->val.data[i] = x0 + (float)gc->eps;
            double lp = eval(c.g, y, w);
            x->val.data[i] = x0 - (float)gc->eps;
            double lm = eval(c.g, y, w);
            x->val.data[i] = x0;
            double h = ((double)(x0 + (float)gc->eps) - (double)(x0 - (float)gc->eps));
            double num = (lp - lm) / h;
            double ana = x->grad.data[i];
            if (fabs(num - ana) > gc->atol + gc->rtol * fabs(num))
                fail_msg("%s (seed %llu): input %d element %lld: analytic %.6g, numerical %.6g",
                         gc->name, (unsigned long long)seed, j, (long long)i, ana, num);
            if (fabs(num) > max_abs) max_abs = fabs(num);
            (*compared)++;
        }
    }
    hd_graph_free(c.g);
    return max_abs;
}

static void test_all_ops(void **state)
{
    (void)state;
    int total = 0;
    for (int k = 0; k < N_CASES; k++) {
        double max_abs = 0;
        for (uint64_t trial = 0; trial < 4; trial++)
            max_abs = fmax(max_abs, check_case(&cases[k], 1000 * k + trial, &total));
        /* guard against passing trivially with an all-zero gradient */
        if (max_abs < 1e-3) fail_msg("%s: numerical gradient is all zero", cases[k].name);
    }
    printf("compared %d gradient entries in %d cases x 4 random shapes\n", total, N_CASES);
}

/* Every op in the table (leaves aside) has at least one gradient case. */
static void test_every_op_has_a_case(void **state)
{
    (void)state;
    for (int op = 0; op < HD_OP_COUNT; op++) {
        assert_non_null(hd_ops[op]);
        if (op == HD_OP_INPUT || op == HD_OP_PARAM) continue;
        int found = 0;
        for (int k = 0; k < N_CASES; k++) found |= cases[k].op == op;
        if (!found) fail_msg("op '%s' has no gradient check", hd_ops[op]->name);
        if (!hd_ops[op]->backward) fail_msg("op '%s' has no backward", hd_ops[op]->name);
    }
}

/* stop_grad blocks the gradient: d/da [a * stop(a)] = stop(a) = a, not 2a. */
static void test_stop_grad_blocks(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *a = hd_param(g, "a", 1, (int64_t[]){3}, (hd_init){HD_INIT_CONST, 1.5f});
    hd_node *y = hd_sum(g, hd_mul(g, a, hd_stop_grad(g, a)), HD_AXIS_ALL);
    assert_non_null(y);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 1), HD_OK);
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    assert_int_equal(hd_graph_backward(g, y, HD_ALL), HD_OK);
    for (int i = 0; i < 3; i++) assert_float_equal(a->grad.data[i], 1.5f, 1e-6);
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_case),
        cmocka_unit_test(test_all_ops),
        cmocka_unit_test(test_stop_grad_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
