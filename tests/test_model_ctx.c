/* Sharing one model between threads: 8 threads, each with its own context,
 * run the same loaded model at once, row by row and in batches, and get
 * the bits a serial run gets; a run allocates nothing; the outputs agree
 * with hd_model_predict to float rounding for every activation.  Built
 * with -fsanitize=thread it is the ThreadSanitizer check of the contexts
 * (docs/engine.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_model_util.h"
#include "test_util.h"

#define ROWS 3000
#define THREADS 8

static char *dir;

static double largest_difference(const float *a, const float *b, int64_t n)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (d > worst) worst = d;
    }
    return worst;
}

static void test_agrees_with_predict(void **state)
{
    (void)state;
    static const hd_activation acts[] = {HD_ACT_RELU, HD_ACT_LEAKY_RELU, HD_ACT_TANH, HD_ACT_SIGMOID, HD_ACT_SOFTPLUS};
    static float x[ROWS * TEST_MLP_RAW], want[ROWS * TEST_MLP_OUT], got[ROWS * TEST_MLP_OUT];
    test_mlp_inputs(5, ROWS, x);
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/m%zu.safetensors", dir, k);
        test_write_mlp(path, acts[k], k % 2 ? HD_ACT_TANH : HD_ACT_NONE, k % 2 ? "identity" : "sigmoid");
        hd_model *m;
        assert_int_equal(hd_model_load(path, &m), HD_OK);
        hd_model_ctx *c = hd_model_ctx_new(m);
        assert_non_null(c);
        assert_int_equal(hd_model_predict(m, ROWS, x, want), HD_OK);
        uint64_t allocs = hd_alloc_count();
        assert_int_equal(hd_model_run(c, ROWS, x, got), HD_OK);
        assert_int_equal(hd_alloc_count(), allocs); /* a run allocates nothing */
        double d = largest_difference(got, want, ROWS * TEST_MLP_OUT);
        print_message("%-10s largest difference to hd_model_predict %.2e\n", hd_activation_name(acts[k]), d);
        assert_true(d < 1e-5);
        hd_model_ctx_free(c);
        hd_model_free(m);
    }
}

typedef struct {
    const hd_model *m;
    const float *x;
    float *y_rows, *y_batch;
    int rc;
} worker;

/* Every row on its own, then the whole set as one batch. */
static void *work(void *arg)
{
    worker *w = arg;
    hd_model_ctx *c = hd_model_ctx_new(w->m);
    if (!c) {
        w->rc = HD_ENOMEM;
        return NULL;
    }
    for (int64_t r = 0; r < ROWS && w->rc == HD_OK; r++)
        w->rc = hd_model_run(c, 1, w->x + r * TEST_MLP_RAW, w->y_rows + r * TEST_MLP_OUT);
    if (w->rc == HD_OK) w->rc = hd_model_run(c, ROWS, w->x, w->y_batch);
    hd_model_ctx_free(c);
    return NULL;
}

static void test_threads_share_one_model(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/m0.safetensors", dir);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    static float x[THREADS][ROWS * TEST_MLP_RAW], serial[THREADS][ROWS * TEST_MLP_OUT];
    static float rows[THREADS][ROWS * TEST_MLP_OUT], batch[THREADS][ROWS * TEST_MLP_OUT];
    hd_model_ctx *c = hd_model_ctx_new(m);
    for (int t = 0; t < THREADS; t++) { /* each thread its own inputs; the serial answers first */
        test_mlp_inputs(100 + (uint64_t)t, ROWS, x[t]);
        assert_int_equal(hd_model_run(c, ROWS, x[t], serial[t]), HD_OK);
    }
    hd_model_ctx_free(c);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){.m = m, .x = x[t], .y_rows = rows[t], .y_batch = batch[t], .rc = HD_OK};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(w[t].rc, HD_OK);
        assert_memory_equal(rows[t], serial[t], sizeof serial[t]);
        assert_memory_equal(batch[t], serial[t], sizeof serial[t]);
    }
    hd_model_free(m);
}

static void test_no_model_is_refused(void **state)
{
    (void)state;
    assert_null(hd_model_ctx_new(NULL));
    assert_non_null(strstr(hd_last_error(), "NULL model"));
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("model_ctx")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_predict),
        cmocka_unit_test(test_threads_share_one_model),
        cmocka_unit_test(test_no_model_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
