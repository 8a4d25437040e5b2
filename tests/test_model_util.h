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
