/* Graph behaviour: shape errors, batch changes, shared parameters, groups,
 * stop-gradient, training vs evaluation mode, no allocation in a step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "hadron/hadron.h"

static const hd_init ONES = {HD_INIT_CONST, 1.0f};

static void test_shape_error_names_both_shapes(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
    hd_node *w = hd_param(g, "w", 2, (int64_t[]){4, 5}, ONES);
    assert_null(hd_matmul(g, x, w, 0));
    const char *msg = hd_last_error();
    assert_non_null(strstr(msg, "matmul"));
    assert_non_null(strstr(msg, "[B, 3]"));
    assert_non_null(strstr(msg, "[4, 5]"));
    /* NULL propagates without overwriting the first message */
    assert_null(hd_relu(g, hd_matmul(g, x, w, 0)));
    assert_non_null(strstr(hd_last_error(), "[4, 5]"));
    hd_node *b = hd_param(g, "b", 1, (int64_t[]){4}, ONES);
    assert_null(hd_add(g, x, b));
    assert_non_null(strstr(hd_last_error(), "[B, 3] and [4]"));
    assert_null(hd_mse_loss(g, x, b));
    assert_non_null(strstr(hd_last_error(), "mse_loss"));
    assert_null(hd_reshape(g, x, 2, (int64_t[]){HD_BATCH, 4}));
    assert_null(hd_slice(g, x, 1, 2, 2));
    assert_null(hd_concat(g, 2, (hd_node *[]){x, b}, 0));
    assert_null(hd_param(g, "w", 1, (int64_t[]){2}, ONES)); /* duplicate name */
    assert_null(hd_input(g, "bad", 2, (int64_t[]){3, HD_BATCH}));
    hd_graph_free(g);
}

static void test_call_order_errors(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *y = hd_sum(g, x, HD_AXIS_ALL);
    assert_int_equal(hd_graph_forward(g, y), HD_ESTATE);
    assert_int_equal(hd_graph_set_batch(g, 4), HD_ESTATE);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_forward(g, y), HD_ESTATE);
    assert_int_equal(hd_graph_set_batch(g, 0), HD_EINVAL);
    assert_int_equal(hd_graph_set_batch(g, 4), HD_OK);
    assert_int_equal(hd_graph_backward(g, y, HD_ALL), HD_EINVAL); /* no parameter */
    assert_null(hd_relu(g, x));                                   /* compiled: frozen */
    hd_graph_free(g);
}

/* Batch size changes between runs; results per sample do not, beyond rounding. */
static void test_batch_change(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(3);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
    hd_dense_layer d;
    assert_int_equal(hd_dense_init(g, &d, "d", 3, 2, 1), HD_OK);
    hd_node *y = hd_tanh(g, hd_dense_apply(g, &d, x));
    assert_int_equal(hd_graph_compile(g), HD_OK);
    float row[3] = {0.3f, -1.0f, 2.0f}, first[2];
    for (int64_t batch = 1; batch <= 7; batch += 3) {
        assert_int_equal(hd_graph_set_batch(g, batch), HD_OK);
        assert_int_equal(hd_node_value(y)->shape[0], batch);
        for (int64_t i = 0; i < batch; i++) memcpy(hd_node_value(x)->data + 3 * i, row, sizeof row);
        assert_int_equal(hd_graph_forward(g, y), HD_OK);
        if (batch == 1) memcpy(first, hd_node_value(y)->data, sizeof first);
        /* the same sample at another row or batch size: equal to rounding (BLAS may pick
         * other kernels for other shapes), not necessarily bit for bit */
        for (int64_t i = 0; i < batch * 2; i++)
            assert_float_equal(hd_node_value(y)->data[i], first[i % 2], 1e-6f);
    }
    hd_graph_free(g);
}

/* A graph for inference holds no gradients: the same outputs, half the
 * parameter memory, and backward refuses. */
static void test_no_grad(void **state)
{
    (void)state;
    float out[2][4];
    for (int k = 0; k < 2; k++) {
        hd_graph *g = hd_graph_new(3);
        hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
        hd_dense_layer d;
        assert_int_equal(hd_dense_init(g, &d, "d", 3, 2, 1), HD_OK);
        hd_node *y = hd_tanh(g, hd_dense_apply(g, &d, x));
        if (k) assert_int_equal(hd_graph_set_no_grad(g), HD_OK);
        assert_int_equal(hd_graph_compile(g), HD_OK);
        assert_int_equal(hd_graph_set_no_grad(g), HD_ESTATE); /* only before compile */
        assert_int_equal(hd_graph_set_batch(g, 2), HD_OK);
        for (int i = 0; i < 6; i++) hd_node_value(x)->data[i] = 0.25f * (float)i - 0.5f;
        assert_int_equal(hd_graph_forward(g, y), HD_OK);
        memcpy(out[k], hd_node_value(y)->data, sizeof out[k]);
        float *grads;
        int64_t n;
        assert_int_equal(hd_graph_param_range(g, HD_ALL, NULL, &grads, &n), HD_OK);
        assert_int_equal(n, 8);
        if (k) {
            assert_null(grads);
            assert_null(hd_node_grad(y)->data);
            hd_graph_zero_grad(g, HD_ALL);
            assert_int_equal(hd_graph_backward(g, y, HD_ALL), HD_ESTATE);
            assert_non_null(strstr(hd_last_error(), "without gradients"));
        }
        hd_graph_free(g);
    }
    assert_memory_equal(out[0], out[1], sizeof out[0]); /* the same computation */
}

/* A shared parameter collects the gradient of every use; backward accumulates. */
static void test_shared_params_and_accumulation(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *a = hd_input(g, "a", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *b = hd_input(g, "b", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *w = hd_param(g, "w", 1, (int64_t[]){2}, ONES);
    /* L = sum(a * w) + sum(b * w): dL/dw = sum_rows(a) + sum_rows(b) */
    hd_node *l = hd_add(g, hd_sum(g, hd_mul(g, a, w), HD_AXIS_ALL), hd_sum(g, hd_mul(g, b, w), HD_AXIS_ALL));
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 2), HD_OK);
    float av[4] = {1, 2, 3, 4}, bv[4] = {10, 20, 30, 40};
    memcpy(hd_node_value(a)->data, av, sizeof av);
    memcpy(hd_node_value(b)->data, bv, sizeof bv);
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, l), HD_OK);
    assert_float_equal(hd_node_scalar(l), 110.0f, 1e-4);
    assert_int_equal(hd_graph_backward(g, l, HD_ALL), HD_OK);
    assert_float_equal(hd_node_grad(w)->data[0], 44.0f, 1e-5);
    assert_float_equal(hd_node_grad(w)->data[1], 66.0f, 1e-5);
    assert_int_equal(hd_graph_backward(g, l, HD_ALL), HD_OK);
    assert_float_equal(hd_node_grad(w)->data[0], 88.0f, 1e-5);
    assert_float_equal(hd_node_grad(w)->data[1], 132.0f, 1e-5);
    hd_graph_free(g);
}

/* Gradients go only to the chosen group; groups lie contiguously. */
static void test_param_groups(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 3});
    hd_graph_set_group(g, 1);
    hd_node *d = hd_param(g, "disc", 1, (int64_t[]){3}, ONES);
    hd_graph_set_group(g, 0);
    hd_node *gen = hd_param(g, "gen", 1, (int64_t[]){3}, ONES);
    hd_node *l = hd_sum(g, hd_mul(g, hd_mul(g, x, gen), d), HD_AXIS_ALL);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 1), HD_OK);
    for (int i = 0; i < 3; i++) hd_node_value(x)->data[i] = (float)(i + 1);
    float *v0, *g0, *v1, *g1;
    int64_t n0, n1, nall;
    assert_int_equal(hd_graph_param_range(g, 0, &v0, &g0, &n0), HD_OK);
    assert_int_equal(hd_graph_param_range(g, 1, &v1, &g1, &n1), HD_OK);
    assert_int_equal(hd_graph_param_range(g, HD_ALL, NULL, NULL, &nall), HD_OK);
    assert_int_equal(n0, 3);
    assert_int_equal(n1, 3);
    assert_int_equal(nall, 6);
    assert_ptr_equal(v1, v0 + 3);
    assert_ptr_equal(hd_node_value(gen)->data, v0);
    hd_graph_zero_grad(g, HD_ALL);
    hd_graph_forward(g, l);
    assert_int_equal(hd_graph_backward(g, l, 0), HD_OK);
    for (int i = 0; i < 3; i++) {
        assert_float_equal(g0[i], (float)(i + 1), 1e-6);
        assert_float_equal(g1[i], 0.0f, 0);
    }
    hd_graph_free(g);
}

/* Dropout acts in training mode only; the same step repeats the same mask. */
static void test_training_and_eval_mode(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(5);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 1000});
    hd_node *y = hd_dropout(g, x, 0.5f);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 1), HD_OK);
    for (int i = 0; i < 1000; i++) hd_node_value(x)->data[i] = 1.0f;
    hd_graph_set_step(g, 0);
    hd_graph_forward(g, y);
    float first[1000];
    memcpy(first, hd_node_value(y)->data, sizeof first);
    int zeros = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(first[i] == 0.0f || first[i] == 2.0f);
        zeros += first[i] == 0.0f;
    }
    assert_in_range(zeros, 400, 600);
    hd_graph_forward(g, y); /* next step: another mask */
    assert_memory_not_equal(first, hd_node_value(y)->data, sizeof first);
    hd_graph_set_step(g, 0);
    hd_graph_forward(g, y);
    assert_memory_equal(first, hd_node_value(y)->data, sizeof first);
    hd_graph_set_training(g, 0);
    hd_graph_forward(g, y);
    for (int i = 0; i < 1000; i++) assert_float_equal(hd_node_value(y)->data[i], 1.0f, 0);
    hd_graph_free(g);
}

/* Forward, backward and the optimiser step allocate nothing. */
static void test_no_allocation_in_step(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(2);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 4});
    hd_node *t = hd_input(g, "t", 2, (int64_t[]){HD_BATCH, 1});
    hd_mlp_spec spec = {.n_in = 4, .n_out = 1, .n_hidden = 2, .hidden = {8, 8}, .act = HD_ACT_RELU};
    hd_node *loss = hd_mse_loss(g, hd_dropout(g, hd_mlp(g, &spec, "m", x), 0.1f), t);
    assert_non_null(loss);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 16), HD_OK);
    float *p, *gr;
    int64_t n;
    hd_graph_param_range(g, HD_ALL, &p, &gr, &n);
    hd_optim_opts o = hd_optim_opts_default(HD_ADAMW);
    hd_optim *opt = hd_optim_new(&o, n);
    assert_non_null(opt);
    hd_rng r;
    hd_rng_init(&r, 1, HD_STREAM_USER);
    hd_rng_fill_normal(&r, hd_node_value(x)->data, 16 * 4, 0, 1);
    hd_rng_fill_normal(&r, hd_node_value(t)->data, 16, 0, 1);
    uint64_t before = hd_alloc_count();
    for (int step = 0; step < 5; step++) {
        hd_graph_zero_grad(g, HD_ALL);
        assert_int_equal(hd_graph_forward(g, loss), HD_OK);
        assert_int_equal(hd_graph_backward(g, loss, HD_ALL), HD_OK);
        assert_int_equal(hd_optim_step(opt, p, gr), HD_OK);
    }
    assert_int_equal(hd_alloc_count(), before);
    assert_int_equal(hd_graph_set_batch(g, 8), HD_OK); /* smaller: reuses the buffer */
    assert_int_equal(hd_alloc_count(), before);
    hd_optim_free(opt);
    hd_graph_free(g);
}

static void test_same_seed_same_init(void **state)
{
    (void)state;
    float *v[3];
    int64_t n;
    hd_graph *g[3];
    for (int k = 0; k < 3; k++) {
        g[k] = hd_graph_new(k < 2 ? 42 : 43);
        hd_dense_layer d;
        hd_dense_init(g[k], &d, "d", 16, 8, 1);
        hd_graph_compile(g[k]);
        hd_graph_param_range(g[k], HD_ALL, &v[k], NULL, &n);
    }
    assert_memory_equal(v[0], v[1], (size_t)n * sizeof(float));
    assert_memory_not_equal(v[0], v[2], (size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) assert_true(v[0][i] >= -0.25f && v[0][i] <= 0.25f); /* 1/sqrt(16) */
    for (int k = 0; k < 3; k++) hd_graph_free(g[k]);
}

/* Initial values follow the parameter's name, not its place in the graph. */
static void test_init_follows_name(void **state)
{
    (void)state;
    hd_graph *a = hd_graph_new(9), *b = hd_graph_new(9);
    hd_init u = {HD_INIT_UNIFORM, 1.0f};
    hd_node *pa = hd_param(a, "w", 1, (int64_t[]){5}, u);
    hd_param(b, "other", 1, (int64_t[]){7}, u);
    hd_input(b, "x", 1, (int64_t[]){3});
    hd_node *pb = hd_param(b, "w", 1, (int64_t[]){5}, u);
    assert_int_equal(hd_graph_compile(a), HD_OK);
    assert_int_equal(hd_graph_compile(b), HD_OK);
    assert_memory_equal(hd_node_value(pa)->data, hd_node_value(pb)->data, 5 * sizeof(float));
    hd_graph_free(a);
    hd_graph_free(b);
}

/* Keras's initialisation: Glorot-uniform weights over (in + out) k k, zero
 * bias; refused once the graph is compiled. */
static void test_keras_init(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(4);
    hd_dense_layer d;
    hd_conv2d_layer c;
    assert_int_equal(hd_dense_init(g, &d, "d", 300, 200, 1), HD_OK);
    assert_int_equal(hd_conv2d_init(g, &c, "c",
            &(hd_conv2d_opts){.in = 64, .out = 1, .kernel = 5, .stride = 2,
                              .pad = HD_PAD_SAME, .bias = 1, .transposed = 1}), HD_OK);
    assert_int_equal(hd_dense_keras_init(g, &d), HD_OK);
    assert_int_equal(hd_conv2d_keras_init(g, &c), HD_OK);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    const struct { hd_node *w, *b; double bound; } cases[] = {
        {d.weight, d.bias, sqrt(6.0 / 500)}, {c.weight, c.bias, sqrt(6.0 / (65 * 25))}};
    for (int k = 0; k < 2; k++) {
        const hd_tensor *w = hd_node_value(cases[k].w), *b = hd_node_value(cases[k].b);
        int64_t n = hd_tensor_numel(w);
        double max = 0, sq = 0;
        for (int64_t i = 0; i < n; i++) {
            max = fmax(max, fabs(w->data[i]));
            sq += (double)w->data[i] * w->data[i];
        }
        assert_true(max <= cases[k].bound && max > 0.98 * cases[k].bound);
        double var = cases[k].bound * cases[k].bound / 3; /* of U(-a, a) */
        assert_true(fabs(sq / (double)n / var - 1) < 6 * sqrt(0.8 / (double)n)); /* 6 sigma */
        for (int64_t i = 0; i < hd_tensor_numel(b); i++) assert_float_equal(b->data[i], 0.0f, 0);
    }
    float before = hd_node_value(d.weight)->data[0];
    assert_int_equal(hd_dense_keras_init(g, &d), HD_ESTATE);
    assert_non_null(strstr(hd_last_error(), "d.weight"));
    assert_float_equal(hd_node_value(d.weight)->data[0], before, 0);
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_error_names_both_shapes),
        cmocka_unit_test(test_call_order_errors),
        cmocka_unit_test(test_batch_change),
        cmocka_unit_test(test_no_grad),
        cmocka_unit_test(test_shared_params_and_accumulation),
        cmocka_unit_test(test_param_groups),
        cmocka_unit_test(test_training_and_eval_mode),
        cmocka_unit_test(test_no_allocation_in_step),
        cmocka_unit_test(test_same_seed_same_init),
        cmocka_unit_test(test_init_follows_name),
        cmocka_unit_test(test_keras_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
