/* Second-order gradient checks: every op with a differentiable backward
 * (a vjp), on the cases of grad_cases.h.
 *
 * For a case y = op(x_1, ..., x_n), a weight input W of y's shape makes the
 * first derivatives depend on something besides the op's own inputs, so no
 * second derivative is trivially zero: G_j = hd_grad(sum(W * y), x_j).  The
 * backward pass through G_j, seeded with random v, is compared with central
 * differences of sum(v * G_j), evaluated in float64, with respect to every
 * x_k and W.  The test fails if an op with a vjp has no case, if hd_grad
 * refuses one, and if an op without one is not refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "grad_cases.h"

static int has_vjp(int op) { return hd_ops[op]->vjp != NULL; }

/* Checks d/d(every input) of sum(v * G_j) for each j; returns the largest
 * numerical second derivative and adds the entries compared to *compared. */
static double check_case2(const grad_case *gc, uint64_t seed, int *compared)
{
    hd_rng r;
    ctx c;
    hd_node *y = case_build(gc, seed, &r, &c);
    int n_op = c.n;
    hd_node *w = in(&c, ANY, y->ndim, y->shape);
    hd_node *s = hd_mul(c.g, y, w);
    hd_node *G[HD_MAX_INPUTS] = {0};
    int n_g = 0;
    for (int j = 0; j < n_op; j++) {
        G[j] = hd_grad(c.g, s, c.x[j]);
        if (!G[j] && !strstr(hd_last_error(), "zero by construction"))
            fail_msg("%s: hd_grad with respect to input %d: %s", gc->name, j, hd_last_error());
        n_g += G[j] != NULL;
    }
    if (!n_g) fail_msg("%s: no input has a gradient", gc->name);
    case_fill(&c);

    double max_abs = 0;
    static float v[4096];
    for (int j = 0; j < n_op; j++) {
        if (!G[j]) continue;
        int64_t ng = hd_tensor_numel(&G[j]->val);
        assert_true(ng <= 4096);
        for (int64_t i = 0; i < ng; i++) v[i] = 2.0f * hd_rng_uniform(&r) - 1.0f;
        weighted_eval(c.g, G[j], v);
        hd_graph_zero_grad(c.g, HD_ALL);
        assert_int_equal(hd_graph_backward_seeded(c.g, G[j], HD_ALL, v), HD_OK);
        char what[64];
        snprintf(what, sizeof what, "second order through the gradient for input %d", j);
        max_abs = fmax(max_abs, compare_with_differences(gc, &c, G[j], v, 2.0, what, seed, compared));
    }
    hd_graph_free(c.g);
    return max_abs;
}

static void test_second_order(void **state)
{
    (void)state;
    int total = 0, n = 0;
    for (int k = 0; k < N_CASES; k++) {
        if (!has_vjp(cases[k].op)) continue;
        double max_abs = 0;
        for (uint64_t trial = 0; trial < 3; trial++)
            max_abs = fmax(max_abs, check_case2(&cases[k], 5000 * k + trial, &total));
        if (max_abs < 1e-3) fail_msg("%s: numerical second derivative is all zero", cases[k].name);
        n++;
    }
    printf("compared %d second-order entries in %d cases x 3 random shapes\n", total, n);
}

/* Every op that claims a differentiable backward has a case above. */
static void test_every_vjp_has_a_case(void **state)
{
    (void)state;
    for (int op = 0; op < HD_OP_COUNT; op++) {
        if (!has_vjp(op)) continue;
        int found = 0;
        for (int k = 0; k < N_CASES; k++) found |= cases[k].op == op;
        if (!found) fail_msg("op '%s' has a vjp but no second-order check", hd_ops[op]->name);
    }
}

/* Ops without one are refused by name when a gradient must pass through them. */
static void test_refusals(void **state)
{
    (void)state;
    for (int k = 0; k < N_CASES; k++) {
        if (has_vjp(cases[k].op)) continue;
        hd_rng r;
        hd_rng_init(&r, 1, HD_STREAM_USER);
        ctx c = {.g = hd_graph_new(1), .r = &r, .d = {2, 2, 2, 2}};
        hd_node *y = cases[k].build(&c);
        assert_non_null(y);
        assert_null(hd_grad(c.g, y, c.x[0]));
        char want[96];
        snprintf(want, sizeof want, "op %s ", hd_ops[cases[k].op]->name);
        if (!strstr(hd_last_error(), want) || !strstr(hd_last_error(), "no differentiable backward"))
            fail_msg("%s: refused with '%s'", cases[k].name, hd_last_error());
        hd_graph_free(c.g);
    }
}

/* hd_grad's value against the closed form, f = tanh(x w^T):
 * grad_x sum(f) = (1 - f^2) w per row, grad_w sum(f) = sum over rows of
 * (1 - f^2) x (a parameter, contracted over the batch); and its refusals: a node off the
 * path, a path cut by stop_grad, a compiled graph. */
static void test_gradient_value_and_refusals(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(3);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
    hd_node *w = hd_param(g, "w", 2, (int64_t[]){1, 3}, (hd_init){HD_INIT_UNIFORM, 1.0f});
    hd_node *f = hd_tanh(g, hd_matmul(g, x, w, 1));
    hd_node *gx = hd_grad(g, f, x), *gw = hd_grad(g, f, w);
    assert_non_null(gx);
    assert_non_null(gw);
    assert_int_equal(gw->ndim, 2);
    assert_int_equal(gw->shape[1], 3);
    assert_int_equal(gx->ndim, 2);
    assert_int_equal(gx->shape[0], HD_BATCH);
    assert_int_equal(gx->shape[1], 3);
    /* not on a path, and after compile */
    hd_node *z = hd_input(g, "z", 2, (int64_t[]){HD_BATCH, 3});
    assert_null(hd_grad(g, f, z));
    assert_non_null(strstr(hd_last_error(), "does not depend on z"));
    assert_null(hd_grad(g, hd_stop_grad(g, f), x));
    assert_non_null(strstr(hd_last_error(), "stop_grad"));
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_null(hd_grad(g, f, x));
    assert_non_null(strstr(hd_last_error(), "compiled"));
    assert_int_equal(hd_graph_set_batch(g, 4), HD_OK);
    for (int i = 0; i < 12; i++) hd_node_value(x)->data[i] = 0.3f * (float)(i % 5) - 0.6f;
    assert_int_equal(hd_graph_forward(g, gx), HD_OK);
    assert_int_equal(hd_graph_forward(g, gw), HD_OK);
    const float *wv = hd_node_value(w)->data;
    double dw[3] = {0};
    for (int b = 0; b < 4; b++) {
        const float *xr = hd_node_value(x)->data + 3 * b;
        double t = tanh((double)xr[0] * wv[0] + (double)xr[1] * wv[1] + (double)xr[2] * wv[2]);
        for (int i = 0; i < 3; i++) {
            assert_float_equal(hd_node_value(gx)->data[3 * b + i], (1 - t * t) * wv[i], 1e-6);
            dw[i] += (1 - t * t) * xr[i];
        }
    }
    for (int i = 0; i < 3; i++) assert_float_equal(hd_node_value(gw)->data[i], dw[i], 1e-5);
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vjp_has_a_case),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_gradient_value_and_refusals),
        cmocka_unit_test(test_second_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
