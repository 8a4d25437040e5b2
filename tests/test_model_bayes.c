/* A Bayesian network as a model: hd_model_predict is the mean network
 * (checked against the training graph with every weight's width ~0), with
 * the outputs back in log amplitude; hd_model_predict_bayes repeats its
 * bits for a seed, and its uncertainty is the spread of sampled networks
 * when the variance output is negligible (checked against the graph's own
 * sampled networks) and the variance output when the spread is; a table of
 * bad files is refused, naming the file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_model_util.h"
#include "test_util.h"

#define ROWS 64
#define PT_SCALE 2.5f
#define Y_MEAN (-11.5)
#define Y_STD 1.25

static char *dir;

static void inputs(float *x)
{
    hd_rng r;
    hd_rng_init(&r, 9, 0);
    for (int i = 0; i < ROWS * TEST_BNN_IN; i++) x[i] = 10 * hd_rng_uniform(&r) - 5;
}

/* The graph's outputs for raw rows x at step `step` (one sampled network). */
static void graph_outputs(hd_graph *g, hd_node *xn, hd_node *out, const float *x, uint64_t step, float *y)
{
    assert_int_equal(hd_graph_set_batch(g, ROWS), HD_OK);
    hd_graph_set_training(g, 0);
    hd_graph_set_step(g, step);
    float *in = hd_node_value(xn)->data;
    for (int i = 0; i < ROWS * TEST_BNN_IN; i++) in[i] = x[i] / PT_SCALE;
    assert_int_equal(hd_graph_forward(g, out), HD_OK);
    memcpy(y, hd_node_value(out)->data, ROWS * 2 * sizeof(float));
}

static void test_mean_network(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/narrow.safetensors", dir);
    hd_node *xn, *out;
    hd_graph *g = test_write_bnn(path, -60.0f, 0.0f, &xn, &out); /* widths e^-30: the draws are the means */
    float x[ROWS * TEST_BNN_IN], ref[ROWS * 2], y[ROWS * 2], mean[ROWS], sigma[ROWS], mean2[ROWS], sigma2[ROWS];
    inputs(x);
    graph_outputs(g, xn, out, x, 3, ref);
    hd_model *m;
    if (hd_model_load(path, &m) != HD_OK) fail_msg("%s", hd_last_error());
    assert_string_equal(hd_model_kind(m), "bayes_mlp");
    assert_int_equal(hd_model_n_in(m), TEST_BNN_IN);
    assert_int_equal(hd_model_n_out(m), 2);
    assert_int_equal(hd_model_predict(m, ROWS, x, y), HD_OK);
    for (int i = 0; i < ROWS; i++) {
        assert_float_equal(y[2 * i], ref[2 * i] * Y_STD + Y_MEAN, 1e-5);              /* log amplitude */
        assert_float_equal(y[2 * i + 1], ref[2 * i + 1] + 2 * log(Y_STD), 1e-5);      /* its log-variance */
    }
    /* sampled networks that are all the mean network: no spread, the variance output is all */
    assert_int_equal(hd_model_predict_bayes(m, ROWS, x, 8, 5, mean, sigma), HD_OK);
    for (int i = 0; i < ROWS; i++) {
        assert_float_equal(mean[i], y[2 * i], 1e-5);
        assert_float_equal(sigma[i], exp(0.5 * y[2 * i + 1]), 1e-5 * sigma[i]);
    }
    /* the same seed, the same bits */
    assert_int_equal(hd_model_predict_bayes(m, ROWS, x, 8, 5, mean2, sigma2), HD_OK);
    assert_memory_equal(mean, mean2, sizeof mean);
    assert_memory_equal(sigma, sigma2, sizeof sigma);
    hd_model_free(m);
    hd_graph_free(g);
}

/* Wide weights and a negligible variance output: the uncertainty is the
 * spread of the sampled networks, which the graph's own draws estimate too. */
static void test_spread_of_sampled_networks(void **state)
{
    (void)state;
    enum { K = 400 };
    char path[512];
    snprintf(path, sizeof path, "%s/wide.safetensors", dir);
    hd_node *xn, *out;
    hd_graph *g = test_write_bnn(path, -3.0f, -30.0f, &xn, &out);
    float x[ROWS * TEST_BNN_IN], y[ROWS * 2], mean[ROWS], sigma[ROWS], other[ROWS], osig[ROWS];
    inputs(x);
    double s[ROWS] = {0}, s2[ROWS] = {0};
    for (int k = 0; k < K; k++) {
        graph_outputs(g, xn, out, x, 100 + (uint64_t)k, y);
        for (int i = 0; i < ROWS; i++) {
            double v = y[2 * i] * Y_STD + Y_MEAN;
            s[i] += v;
            s2[i] += v * v;
        }
    }
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_predict_bayes(m, ROWS, x, K, 1, mean, sigma), HD_OK);
    double ratio = 0, worst_mean = 0;
    for (int i = 0; i < ROWS; i++) {
        double gm = s[i] / K, gsd = sqrt(fmax(s2[i] / K - gm * gm, 0));
        ratio += sigma[i] / gsd / ROWS;
        worst_mean = fmax(worst_mean, fabs(mean[i] - gm) / gsd);
    }
    print_message("sigma / graph's spread, mean over rows %.3f; means within %.2f spreads\n", ratio, worst_mean);
    assert_true(fabs(ratio - 1) < 0.1);           /* 400 networks each: 3.5% per row, less over 64 rows */
    assert_true(worst_mean < 0.3);                /* two means of 400 draws: 0.07 spreads each */
    assert_int_equal(hd_model_predict_bayes(m, ROWS, x, K, 2, other, osig), HD_OK);
    assert_true(memcmp(mean, other, sizeof mean) != 0); /* another seed, other networks */
    hd_model_free(m);
    hd_graph_free(g);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/mlp.safetensors", dir);
    test_write_mlp(path, HD_ACT_RELU, HD_ACT_NONE, "identity");
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    float x[3] = {0, 1, 0}, a, b;
    assert_int_equal(hd_model_predict_bayes(m, 1, x, 10, 1, &a, &b), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "not a Bayesian network"));
    hd_model_free(m);
    snprintf(path, sizeof path, "%s/narrow.safetensors", dir);
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_predict_bayes(m, 1, x, 1, 1, &a, &b), HD_EINVAL);
    hd_model_free(m);
}

/* A table of bad Bayesian-network files: each is refused when loaded, with a
 * message that names the file and the field. */
static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *problem;
    } cases[] = {
        {"mlp", "{\"hidden\":[8,9],\"n_in\":6,\"n_out\":2,\"activation\":\"tanh\",\"output_activation\":\"none\"}", "has another shape"},
        {"mlp", "{\"hidden\":[8,8],\"n_in\":6,\"n_out\":3,\"activation\":\"tanh\",\"output_activation\":\"none\"}", "2 plain outputs"},
        {"prefix", "other", "tensor 'other.bayes0.weight_mean' is missing"},
        {"pt_scale", "0", "pt_scale 0"},
        {"target_std", "-1", "target_std -1"},
        {"target_mean", "nan", "target_mean"},
        {"pt_scale", "many", "pt_scale"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bad%zu.safetensors", dir, k);
        hd_node *xn, *out;
        hd_meta change = {cases[k].key, cases[k].value};
        hd_graph_free(test_write_bnn_meta(path, -4.0f, 0.0f, &xn, &out, &change, 1));
        hd_model *m = NULL;
        int rc = hd_model_load(path, &m);
        if (rc == HD_OK) fail_msg("%s = %s: loaded", cases[k].key, cases[k].value);
        assert_null(m);
        const char *msg = hd_last_error();
        if (!strstr(msg, path) || !strstr(msg, cases[k].problem))
            fail_msg("%s = %s: the message lacks the file or \"%s\": %s", cases[k].key, cases[k].value,
                     cases[k].problem, msg);
    }
    /* a weight that is not finite */
    char path[512];
    snprintf(path, sizeof path, "%s/nan.safetensors", dir);
    hd_node *xn, *out;
    hd_graph *g = test_write_bnn(path, -4.0f, 0.0f, &xn, &out);
    hd_node_value(hd_graph_find(g, "bnn.bayes1.weight_logvar"))->data[3] = NAN;
    hd_meta meta[] = {{"model", "bayes_mlp"}, {"mlp", "{\"hidden\":[8,8],\"n_in\":6,\"n_out\":2,\"activation\":\"tanh\",\"output_activation\":\"none\"}"},
                      {"prefix", "bnn"}, {"pt_scale", "2.5"}, {"target_mean", "-11.5"}, {"target_std", "1.25"}};
    assert_int_equal(hd_checkpoint_save(g, path, HD_ALL, 6, meta), HD_OK);
    hd_graph_free(g);
    hd_model *m = NULL;
    assert_int_equal(hd_model_load(path, &m), HD_EFORMAT);
    assert_non_null(strstr(hd_last_error(), "tensor 'bnn.bayes1.weight_logvar' element 3 is not finite"));
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("model_bayes")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_network),
        cmocka_unit_test(test_spread_of_sampled_networks),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
