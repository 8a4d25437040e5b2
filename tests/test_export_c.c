/* hadron export --format c: the C source of an MLP model compiles with
 * cc -std=c11 -Wall -Wextra -Werror -pedantic -O2 and computes what
 * hd_model_predict computes, within 1e-5, for every activation, the input
 * transforms (log, cyclic), the scaler and both output activations; what
 * it cannot export is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "test_model_util.h"
#include "test_util.h"

#define ROWS 200

static char *dir;

static void write_floats(const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(v, sizeof *v, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A driver that runs the exported function on every row of in.bin. */
static void write_driver(const char *path, const char *name, int64_t n_in, int64_t n_out)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#include <stdio.h>\n#include \"%s.h\"\n", name);
    fprintf(f, "int main(int argc, char **argv)\n{\n    (void)argc;\n    FILE *in = fopen(argv[1], \"rb\"), *out = fopen(argv[2], \"wb\");\n");
    fprintf(f, "    float x[%lld], y[%lld];\n    if (!in || !out) return 1;\n", (long long)n_in, (long long)n_out);
    fprintf(f, "    while (fread(x, sizeof x, 1, in) == 1) fwrite(%s(y, x), sizeof y, 1, out);\n", name);
    fprintf(f, "    return fclose(out) != 0;\n}\n");
    assert_int_equal(fclose(f), 0);
}

/* Exports the model at `model`, builds it with the driver and compares on
 * rows of raw inputs x [ROWS, n_in]. */
static void check_export(const char *model, const char *name, const float *x)
{
    hd_model *m;
    if (hd_model_load(model, &m) != HD_OK) fail_msg("%s", hd_last_error());
    char stem[512], cmd[4096], in[512], out[512], driver[512];
    snprintf(stem, sizeof stem, "%s/%s", dir, name);
    if (hd_model_export_c(m, name, stem) != HD_OK) fail_msg("%s", hd_last_error());
    const int64_t n_in = hd_model_n_in(m), n_out = hd_model_n_out(m);
    float want[ROWS * 2], got[ROWS * 2];
    assert_true(n_out <= 2);
    assert_int_equal(hd_model_predict(m, ROWS, x, want), HD_OK);
    hd_model_free(m);
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    snprintf(driver, sizeof driver, "%s/driver_%s.c", dir, name);
    write_floats(in, x, (size_t)(ROWS * n_in));
    write_driver(driver, name, n_in, n_out);
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    snprintf(cmd, sizeof cmd, "cd '%s' && %s -std=c11 -Wall -Wextra -Werror -pedantic -O2 -o run_%s %s.c '%s' -lm",
             dir, cc, name, name, driver);
    if (system(cmd) != 0) fail_msg("the exported source does not compile: %s", cmd);
    snprintf(cmd, sizeof cmd, "'%s/run_%s' '%s' '%s'", dir, name, in, out);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    assert_int_equal(fread(got, sizeof *got, (size_t)(ROWS * n_out), f), (size_t)(ROWS * n_out));
    fclose(f);
    double worst = 0;
    for (int i = 0; i < ROWS * n_out; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs((double)want[i]));
        if (d > worst) worst = d;
    }
    print_message("%-12s largest difference %.2e\n", name, worst);
    assert_true(worst < 1e-5);
}

static void test_every_activation(void **state)
{
    (void)state;
    static const struct { hd_activation act, spec_out; const char *output, *name; } cases[] = {
        {HD_ACT_RELU, HD_ACT_NONE, "sigmoid", "relu_sig"},
        {HD_ACT_LEAKY_RELU, HD_ACT_NONE, "identity", "leaky"},
        {HD_ACT_TANH, HD_ACT_SOFTPLUS, "identity", "tanh_sp"},
        {HD_ACT_SIGMOID, HD_ACT_NONE, "identity", "sigm"},
        {HD_ACT_SOFTPLUS, HD_ACT_TANH, "sigmoid", "softplus"},
    };
    float x[ROWS * TEST_MLP_RAW];
    test_mlp_inputs(3, ROWS, x);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, cases[k].name);
        test_write_mlp(path, cases[k].act, cases[k].spec_out, cases[k].output);
        check_export(path, cases[k].name, x);
    }
}

/* A Bayesian network's mean network, with its input scale and output affine. */
static void test_bayesian_mean_network(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/bnn.safetensors", dir);
    hd_node *xn, *out;
    hd_graph_free(test_write_bnn(path, -4.0f, 0.0f, &xn, &out));
    float x[ROWS * TEST_BNN_IN];
    hd_rng r;
    hd_rng_init(&r, 4, 0);
    for (int i = 0; i < ROWS * TEST_BNN_IN; i++) x[i] = 10 * hd_rng_uniform(&r) - 5;
    check_export(path, "bnn_mean", x);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[512], stem[512];
    snprintf(path, sizeof path, "%s/relu_sig.safetensors", dir);
    snprintf(stem, sizeof stem, "%s/bad", dir);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_export_c(m, "9lives", stem), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "not a C identifier"));
    assert_int_equal(hd_model_export_c(m, "a-b", stem), HD_EINVAL);
    assert_int_equal(hd_model_export_c(m, "hd_w0", stem), HD_EINVAL); /* the source's own names */
    hd_model_free(m);
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("export_c")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_activation),
        cmocka_unit_test(test_bayesian_mean_network),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
