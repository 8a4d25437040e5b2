/* Generating from many threads at once: 8 threads share one loaded
 * generator and one MLP model, each thread through contexts of its own,
 * and predict and generate concurrently; every thread gets what a serial
 * run gets, from the caller's noise and from the context's seeded stream.
 * The library (k = 1 and a k = 5 mixture on the ecal30 grid, whose
 * showers move to the entry point), the Gaussian mixture, the VAE's
 * decoder, a dense WGAN-GP, the convolutional WGAN-GP of ecal30 and the
 * mixture density network are covered; a row-path generation allocates nothing.  Built with
 * -fsanitize=thread (scripts/tsan.sh) it is the ThreadSanitizer check of
 * the generator contexts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_model_util.h"
#include "test_util.h"

enum { THREADS = 8, ROWS = 24, MLP_ROWS = 200 };

static char *dir;
static char reduced[4200], ecal30[4200], mlp_path[4200];

static const char *in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static int write_showers(const char *layout, int64_t n, char *path, size_t size, const char *name)
{
    hd_calo_opts o = hd_calo_opts_default();
    if (hd_calo_layout_get(layout, &o.layout) != HD_OK) return -1;
    o.n_showers = n;
    o.seed = 3;
    in_dir(path, size, name);
    return hd_calo_write(&o, path);
}

static int setup(void **state)
{
    (void)state;
    if (!(dir = test_tmpdir("gen_ctx"))) return -1;
    hd_set_threads(1);
    test_write_mlp(in_dir(mlp_path, sizeof mlp_path, "mlp.safetensors"), HD_ACT_TANH, HD_ACT_NONE, "sigmoid");
    return write_showers("reduced", 600, reduced, sizeof reduced, "reduced.h5") ||
           write_showers("ecal30", 300, ecal30, sizeof ecal30, "ecal30.h5");
}

static int teardown(void **state)
{
    (void)state;
    test_tmpdir_free(dir);
    return 0;
}

/* Trains (or fits) model on data into dir/sub; the checkpoint's path. */
static void train(hd_gen_model model, const char *data, const char *sub, int k, char *path, size_t size)
{
    char out[4200];
    in_dir(out, sizeof out, sub);
    mkdir(out, 0777);
    hd_gen_opts o = hd_gen_opts_default(model);
    o.data = data;
    o.out_dir = out;
    o.evaluate = 0;
    o.epochs = 1;
    o.batch = 64;
    o.n_critic = 2;
    o.latent = 16;
    o.gen_layers = (hd_mlp_spec){.n_hidden = 2, .hidden = {32, 48}};
    o.critic_layers = (hd_mlp_spec){.n_hidden = 2, .hidden = {48, 32}};
    o.library_k = k;
    o.gmm_k = 3;
    o.pca_k = 6;
    hd_gen_result r;
    assert_int_equal(hd_gen_train(&o, &r), HD_OK);
    snprintf(path, size, "%s/checkpoint.safetensors", out);
}

typedef struct {
    const hd_model *gen, *mlp;
    const float *cond, *noise, *x;
    float *given, *seeded, *y;
    int rc;
} worker;

/* Predicts, generates from the caller's noise, predicts again, then
 * generates from the context's own stream of seed 4. */
static void *work(void *arg)
{
    worker *w = arg;
    hd_model_ctx *g = hd_model_ctx_new(w->gen), *p = hd_model_ctx_new(w->mlp);
    w->rc = g && p ? HD_OK : HD_ENOMEM;
    if (w->rc == HD_OK) {
        hd_model_ctx_set_seed(g, 4);
        w->rc = hd_model_run(p, MLP_ROWS / 2, w->x, w->y);
        if (w->rc == HD_OK) w->rc = hd_model_ctx_generate(g, ROWS, w->cond, w->noise, w->given);
        if (w->rc == HD_OK)
            w->rc = hd_model_run(p, MLP_ROWS / 2, w->x + MLP_ROWS / 2 * TEST_MLP_RAW, w->y + MLP_ROWS / 2 * TEST_MLP_OUT);
        if (w->rc == HD_OK) w->rc = hd_model_ctx_generate(g, ROWS, w->cond, NULL, w->seeded);
    }
    hd_model_ctx_free(g);
    hd_model_ctx_free(p);
    return NULL;
}

/* Conditions inside the training range, and the caller's normals. */
static void inputs(const hd_model *m, float *cond, float *noise)
{
    const int64_t nc = hd_model_n_cond(m), nz = hd_model_noise_dim(m);
    hd_rng r;
    hd_rng_init(&r, 6, HD_STREAM_USER);
    for (int64_t j = 0; j < nc; j++) {
        float lo, hi;
        assert_int_equal(hd_model_cond_range(m, j, &lo, &hi), HD_OK);
        for (int i = 0; i < ROWS; i++) cond[i * nc + j] = lo + (hi - lo) * (0.05f + 0.9f * hd_rng_uniform(&r));
    }
    for (int64_t i = 0; i < ROWS * nz; i++) noise[i] = hd_rng_normal(&r);
}

static double worst_of(const float *got, const float *want, int64_t n, double scale)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]) / scale);
    return worst;
}

/* The row path allocates nothing: one context's calls, counted. */
static void check_no_allocation(const hd_model *m, const float *cond, const float *noise, float *out)
{
    hd_model_ctx *c = hd_model_ctx_new(m);
    assert_non_null(c);
    uint64_t before = hd_alloc_count();
    assert_int_equal(hd_model_ctx_generate(c, ROWS, cond, noise, out), HD_OK);
    assert_int_equal(hd_model_ctx_generate(c, ROWS, cond, NULL, out), HD_OK);
    assert_int_equal(hd_alloc_count(), before);
    hd_model_ctx_free(c);
}

/* 8 threads against the serial hd_model_generate and hd_model_predict:
 * showers within tolerance of the largest voxel, the MLP's outputs within
 * float rounding of hd_model_predict.  The row path (no BLAS) gives the
 * same bits on every thread; the convolutional generator's products go
 * through OpenBLAS, which may split them differently from thread to
 * thread, so there every thread is held to the tolerance only. */
static void check(const char *path, const char *kind, double tolerance, int row_path)
{
    hd_model *m, *mlp;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_load(mlp_path, &mlp), HD_OK);
    assert_string_equal(hd_model_kind(m), kind);
    const int64_t nv = hd_model_n_out(m), nz = hd_model_noise_dim(m), nc = hd_model_n_cond(m);
    float *cond = malloc((size_t)(ROWS * nc) * sizeof(float)), *noise = malloc((size_t)(ROWS * (nz ? nz : 1)) * sizeof(float));
    float *want = malloc((size_t)(ROWS * nv) * sizeof(float)), *want_seeded = malloc((size_t)(ROWS * nv) * sizeof(float));
    float *got = malloc((size_t)(THREADS * 2 * ROWS * nv) * sizeof(float));
    static float x[MLP_ROWS * TEST_MLP_RAW], y_want[MLP_ROWS * TEST_MLP_OUT], y_got[THREADS][MLP_ROWS * TEST_MLP_OUT];
    inputs(m, cond, noise);
    test_mlp_inputs(5, MLP_ROWS, x);
    assert_int_equal(hd_model_predict(mlp, MLP_ROWS, x, y_want), HD_OK);
    assert_int_equal(hd_model_generate(m, ROWS, cond, noise, want), HD_OK);
    hd_model_set_seed(m, 4);
    assert_int_equal(hd_model_generate(m, ROWS, cond, NULL, want_seeded), HD_OK);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){m, mlp, cond, noise, x, got + (size_t)(2 * t) * ROWS * nv, got + (size_t)(2 * t + 1) * ROWS * nv,
                        y_got[t], 0};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    double scale = 0, worst = 0, worst_mlp = 0;
    for (int64_t i = 0; i < ROWS * nv; i++) scale = fmax(scale, fabs(want[i]));
    assert_true(scale > 0);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(w[t].rc, HD_OK);
        worst = fmax(worst, worst_of(w[t].given, want, ROWS * nv, scale));
        worst = fmax(worst, worst_of(w[t].seeded, want_seeded, ROWS * nv, scale));
        worst_mlp = fmax(worst_mlp, worst_of(y_got[t], y_want, MLP_ROWS * TEST_MLP_OUT, 1.0));
        if (row_path) { /* every thread the same bits */
            assert_memory_equal(w[t].given, w[0].given, (size_t)(ROWS * nv) * sizeof(float));
            assert_memory_equal(w[t].seeded, w[0].seeded, (size_t)(ROWS * nv) * sizeof(float));
        }
        assert_memory_equal(y_got[t], y_got[0], sizeof y_got[0]);
    }
    print_message("%-8s %4lld voxels, %d threads: showers within %.2e of the largest voxel, MLP within %.2e\n", kind,
                  (long long)nv, THREADS, worst, worst_mlp);
    assert_true(worst <= tolerance);
    assert_true(worst_mlp < 1e-5);
    if (row_path) check_no_allocation(m, cond, noise, want);
    free(cond);
    free(noise);
    free(want);
    free(want_seeded);
    free(got);
    hd_model_free(mlp);
    hd_model_free(m);
}

static void test_library(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_LIBRARY, reduced, "lib1", 1, path, sizeof path);
    check(path, "library", 0.0, 1);
    train(HD_GEN_LIBRARY, ecal30, "lib5", 5, path, sizeof path);
    check(path, "library", 0.0, 1);
}

static void test_gmm(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_GMM, reduced, "gmm", 1, path, sizeof path);
    check(path, "gmm", 1e-5, 1);
}

static void test_networks(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_VAE, reduced, "vae", 1, path, sizeof path);
    check(path, "vae", 1e-5, 1);
    train(HD_GEN_WGAN_GP, reduced, "wgan", 1, path, sizeof path);
    check(path, "wgan-gp", 1e-5, 1);
}

static void test_convolutional(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_WGAN_GP, ecal30, "conv", 1, path, sizeof path);
    check(path, "wgan-gp", 1e-5, 0);
}

/* The mdn's context, like the convolutional generator's, has a graph of its own. */
static void test_mdn(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_MDN, reduced, "mdn", 1, path, sizeof path);
    check(path, "mdn", 1e-5, 0);
}

/* A generator's context runs no MLP, and an MLP's context generates nothing. */
static void test_refusals(void **state)
{
    (void)state;
    char path[4300];
    train(HD_GEN_LIBRARY, reduced, "lib1", 1, path, sizeof path);
    hd_model *m, *mlp;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_load(mlp_path, &mlp), HD_OK);
    hd_model_ctx *g = hd_model_ctx_new(m), *p = hd_model_ctx_new(mlp);
    float x[TEST_MLP_RAW] = {1, 2, 3}, y[900], e = 5000;
    assert_int_equal(hd_model_run(g, 1, x, y), HD_EINVAL);
    assert_int_equal(hd_model_ctx_generate(p, 1, &e, NULL, y), HD_EINVAL);
    assert_int_equal(hd_model_ctx_generate(g, 0, &e, NULL, y), HD_EINVAL);
    e = 1e9f; /* outside the training range, refused until allowed */
    assert_int_equal(hd_model_ctx_generate(g, 1, &e, NULL, y), HD_EINVAL);
    hd_model_ctx_allow_extrapolation(g, 1);
    assert_int_equal(hd_model_ctx_generate(g, 1, &e, NULL, y), HD_OK);
    hd_model_ctx_free(g);
    hd_model_ctx_free(p);
    hd_model_free(mlp);
    hd_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library),      cmocka_unit_test(test_gmm),      cmocka_unit_test(test_networks),
        cmocka_unit_test(test_convolutional), cmocka_unit_test(test_mdn),    cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
