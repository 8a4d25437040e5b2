/* A small MLP model file and raw inputs for it, for the tests of the model
 * API and its exports.  Include after cmocka.h. */
#ifndef HD_TEST_MODEL_UTIL_H
#define HD_TEST_MODEL_UTIL_H

#include "hadron/hadron.h"

#define TEST_MLP_RAW 3 /* raw inputs: x, pT (log), phi (cyclic) */
#define TEST_MLP_OUT 2

/* 3 raw inputs (none, log, cyclic: 4 features), hidden 9 and 5 with act,
 * spec_out after the last layer, then output ("identity" or "sigmoid");
 * random weights of seed 7 and a scaler; written to path. */
static inline void test_write_mlp(const char *path, hd_activation act, hd_activation spec_out, const char *output)
{
    hd_mlp_spec spec = {.n_in = 4, .n_out = TEST_MLP_OUT, .n_hidden = 2, .hidden = {9, 5}, .act = act,
                        .out_act = spec_out};
    hd_graph *g = hd_graph_new(7);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 4});
    assert_non_null(hd_mlp(g, &spec, "net", x));
    assert_int_equal(hd_graph_compile(g), HD_OK);
    char *arch = hd_mlp_spec_to_json(&spec);
    float mean[4] = {0.5f, 2.0f, 0.1f, -0.2f}, std[4] = {1.5f, 0.7f, 0.8f, 1.0f};
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    hd_checkpoint_meta(&e, "model", "mlp");
    hd_checkpoint_meta(&e, "mlp", "%s", arch);
    hd_checkpoint_meta(&e, "prefix", "net");
    hd_checkpoint_meta(&e, "input_transform", "none,log,cyclic");
    hd_checkpoint_meta(&e, "output", "%s", output);
    hd_checkpoint_tensor(&e, "scaler.mean", mean, 4);
    hd_checkpoint_tensor(&e, "scaler.std", std, 4);
    assert_int_equal(hd_checkpoint_write(g, path, HD_ALL, &e), HD_OK);
    hd_checkpoint_entries_release(&e);
    hd_free(arch);
    hd_graph_free(g);
}

#define TEST_BNN_IN 6 /* a small Bayesian network: 6 inputs, hidden 8 and 8 */

/* A "bayes_mlp" checkpoint as hadron bnn writes one, with every weight's
 * log-variance `logvar` and the variance output's bias moved by
 * `head_shift` (very negative: a variance output far below the weights'
 * spread); returns the graph (free it) whose x input and out node sample
 * the same networks. */
static inline hd_graph *test_write_bnn_meta(const char *path, float logvar, float head_shift, hd_node **x,
                                            hd_node **out, const hd_meta *change, int n_change);

static inline hd_graph *test_write_bnn(const char *path, float logvar, float head_shift, hd_node **x, hd_node **out)
{
    return test_write_bnn_meta(path, logvar, head_shift, x, out, NULL, 0);
}

/* The same, with metadata entries replaced by (or added from) change. */
static inline hd_graph *test_write_bnn_meta(const char *path, float logvar, float head_shift, hd_node **x,
                                            hd_node **out, const hd_meta *change, int n_change)
{
    hd_mlp_spec spec = {.n_in = TEST_BNN_IN, .n_out = 2, .n_hidden = 2, .hidden = {8, 8}, .act = HD_ACT_TANH};
    hd_graph *g = hd_graph_new(11);
    *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, TEST_BNN_IN});
    hd_node *kl;
    *out = hd_bayes_mlp(g, &spec, "bnn", 1.0f, *x, &kl);
    assert_non_null(*out);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "bnn.bayes%d.weight_logvar", i);
        hd_tensor *t = hd_node_value(hd_graph_find(g, key));
        for (int64_t k = 0; k < hd_tensor_numel(t); k++) t->data[k] = logvar;
    }
    hd_node_value(hd_graph_find(g, "bnn.bayes2.bias"))->data[1] += head_shift;
    char *arch = hd_mlp_spec_to_json(&spec);
    hd_meta meta[16] = {{"model", "bayes_mlp"}, {"mlp", arch}, {"prefix", "bnn"}, {"pt_scale", "2.5"},
                        {"target_mean", "-11.5"}, {"target_std", "1.25"}};
    int n_meta = 6;
    for (int c = 0; c < n_change; c++) {
        int k = 0;
        while (k < n_meta && strcmp(meta[k].key, change[c].key) != 0) k++;
        if (k == n_meta) n_meta++;
        meta[k] = change[c];
    }
    assert_int_equal(hd_checkpoint_save(g, path, HD_ALL, n_meta, meta), HD_OK);
    hd_free(arch);
    return g;
}

/* rows raw rows of stream `seed`: x in [-2, 2], pT in [0.5, 50], phi in [-pi, pi]. */
static inline void test_mlp_inputs(uint64_t seed, int64_t rows, float *x)
{
    hd_rng r;
    hd_rng_init(&r, seed, 0);
    for (int64_t i = 0; i < rows; i++) {
        x[3 * i] = 4 * hd_rng_uniform(&r) - 2;
        x[3 * i + 1] = 0.5f + 49.5f * hd_rng_uniform(&r);
        x[3 * i + 2] = (float)HD_PI * (2 * hd_rng_uniform(&r) - 1);
    }
}

#endif
