/* Finite-difference gradient checks for every op in the op table.
 *
 * Each case (grad_cases.h) builds one op on random-shaped inputs, draws
 * random values in the op's domain and compares the backward pass, seeded
 * with random weights w, with central differences of L = sum(w * y)
 * evaluated in float64.  Outputs that a perturbation does not touch are
 * bit-identical in both evaluations, so their rounding cancels exactly and
 * the check is sharp.  A second backward must double the inputs' gradients
 * (backward accumulates).  A final test walks the op table and fails if any
 * op has no case here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad_cases.h"

/* ---- harness --------------------------------------------------------------- */

/* Fails the test on a mismatch; returns the largest numerical gradient seen
 * and adds the number of entries compared to *compared. */
static double check_case(const grad_case *gc, uint64_t seed, int *compared)
{
    hd_rng r;
    ctx c;
    hd_node *y = case_build(gc, seed, &r, &c);
    case_fill(&c);
    int64_t ny = hd_tensor_numel(&y->val);
    float w[4096];
    assert_true(ny <= 4096);
    for (int64_t i = 0; i < ny; i++) w[i] = 2.0f * hd_rng_uniform(&r) - 1.0f;
    weighted_eval(c.g, y, w);
    hd_graph_zero_grad(c.g, HD_ALL);
    assert_int_equal(hd_graph_backward_seeded(c.g, y, HD_ALL, w), HD_OK);
    double max_abs = compare_with_differences(gc, &c, y, w, 1.0, "first order", seed, compared);
    /* a second backward adds to the inputs' gradients: an op that overwrote them would leave 1x */
    float *once[HD_MAX_INPUTS];
    for (int k = 0; k < c.n; k++) {
        size_t bytes = (size_t)hd_tensor_numel(&c.x[k]->val) * sizeof(float);
        once[k] = malloc(bytes);
        assert_non_null(once[k]);
        memcpy(once[k], c.x[k]->grad.data, bytes);
    }
    weighted_eval(c.g, y, w); /* the differences left the values of a perturbed input */
    assert_int_equal(hd_graph_backward_seeded(c.g, y, HD_ALL, w), HD_OK);
    for (int k = 0; k < c.n; k++) {
        for (int64_t i = 0; i < hd_tensor_numel(&c.x[k]->val); i++) {
            float g1 = once[k][i], g2 = c.x[k]->grad.data[i];
            if (fabsf(g2 - 2 * g1) > 1e-5f * (1 + fabsf(g1)))
                fail_msg("%s: input %d element %lld: a second backward gives %g after %g, not twice",
                         gc->name, k, (long long)i, (double)g2, (double)g1);
        }
        free(once[k]);
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

/* mixture_nll's value: one component is the Gaussian NLL with logvar 2 s;
 * two equal components (any equal logits) are one; a weight scales it. */
static float mixture_value(int k, const float *params, float t, float w)
{
    hd_graph *g = hd_graph_new(1);
    hd_node *p = hd_input(g, "p", 2, (int64_t[]){1, 3 * k}), *tt = hd_input(g, "t", 1, (int64_t[]){1}),
            *ww = hd_input(g, "w", 1, (int64_t[]){1});
    hd_node *y = hd_mixture_nll_loss(g, p, tt, ww);
    assert_non_null(y);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 1), HD_OK);
    memcpy(p->val.data, params, (size_t)(3 * k) * sizeof(float));
    tt->val.data[0] = t;
    ww->val.data[0] = w;
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    float v = y->val.data[0];
    hd_graph_free(g);
    return v;
}

static void test_mixture_values(void **state)
{
    (void)state;
    const float m = 0.3f, s = -0.4f, t = 1.1f;
    double r = (t - m) / exp(s), gauss = 0.5 * (2 * s + r * r);
    assert_float_equal(mixture_value(1, (float[]){0.7f, m, s}, t, 1.0f), gauss, 1e-6);
    assert_float_equal(mixture_value(2, (float[]){-1.0f, -1.0f, m, m, s, s}, t, 1.0f), gauss, 1e-6);
    assert_float_equal(mixture_value(1, (float[]){0.0f, m, s}, t, 2.5f), 2.5 * gauss, 1e-5);
    /* a far component of weight 1/2 adds log 2 */
    assert_float_equal(mixture_value(2, (float[]){0.0f, 0.0f, m, 40.0f, s, s}, t, 1.0f), gauss + log(2.0), 1e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_a_case),
        cmocka_unit_test(test_all_ops),
        cmocka_unit_test(test_stop_grad_blocks),
        cmocka_unit_test(test_mixture_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
