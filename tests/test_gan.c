/* The gan workflow on a small slice of Fashion-MNIST: a run killed in the
 * middle of an epoch and resumed from its checkpoint ends with the same
 * bits as a run never stopped; sampling from the checkpoint; the
 * checkpoint as a generator model (hd_model_generate and thread contexts
 * against the workflow's own sampler); refusals. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"
#include "workflows/gan/gan_internal.h"

#define N_TRAIN 512
#define BATCH 64
#define KILL_EPOCH 2
#define KILL_STEP 3

static char *dir_a, *dir_b; /* test_tmpdir() */

static hd_gan_opts small_opts(const char *out)
{
    hd_gan_opts o = hd_gan_opts_default();
    o.out_dir = out;
    o.n_train = N_TRAIN;
    o.batch = BATCH;
    o.epochs = 3;
    o.fd_samples = 512;
    o.grid = 4;
    o.seed = 5;
    return o;
}

/* In the child: dies (no cleanup, no final outputs) in the middle of an epoch. */
static void die_mid_epoch(void *user, int epoch, int64_t step, int64_t steps_per_epoch, const hd_gan_losses *l)
{
    (void)user;
    (void)steps_per_epoch;
    (void)l;
    if (epoch == KILL_EPOCH && step == KILL_STEP) _exit(0);
}

static void assert_same_tensors(const char *pa, const char *pb)
{
    hd_safetensors *a, *b;
    assert_int_equal(hd_safetensors_read(pa, &a), HD_OK);
    assert_int_equal(hd_safetensors_read(pb, &b), HD_OK);
    assert_int_equal(hd_safetensors_count(a), hd_safetensors_count(b));
    for (int i = 0; i < hd_safetensors_count(a); i++) {
        const char *name = hd_safetensors_name(a, i);
        const hd_tensor *ta = hd_safetensors_get(a, name), *tb = hd_safetensors_get(b, name);
        assert_non_null(tb);
        assert_int_equal(hd_tensor_numel(ta), hd_tensor_numel(tb));
        if (memcmp(ta->data, tb->data, (size_t)hd_tensor_numel(ta) * sizeof(float)) != 0)
            fail_msg("tensor %s differs between %s and %s", name, pa, pb);
    }
    assert_string_equal(hd_safetensors_meta(a, "step"), hd_safetensors_meta(b, "step"));
    assert_string_equal(hd_safetensors_meta(a, "graph_step"), hd_safetensors_meta(b, "graph_step"));
    hd_safetensors_free(a);
    hd_safetensors_free(b);
}

static void assert_same_file(const char *pa, const char *pb)
{
    size_t na, nb;
    unsigned char *a = slurp(pa, &na), *b = slurp(pb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
}

static int setup(void **state)
{
    (void)state;
    return (dir_a = test_tmpdir("gan_a")) && (dir_b = test_tmpdir("gan_b")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir_a) | test_tmpdir_free(dir_b);
}

/* libgomp is not fork-safe once its threads exist, so the run to be killed
 * is forked before this process enters any parallel region: this test must
 * stay the first to call into hadron. */
static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    char pa[128], pb[128], clf[128];
    hd_gan_result ra, rb;

    /* B: killed in epoch 2 (it also trains the classifier that A reuses). */
    hd_gan_opts ob = small_opts(dir_b);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ob.on_step = die_mid_epoch;
        hd_gan_train(&ob, &rb);
        _exit(3); /* not reached: the run dies first */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(pb, sizeof pb, "%s/metrics.json", dir_b);
    assert_int_not_equal(access(pb, F_OK), 0); /* it did die before the end */

    /* A: never stopped. */
    snprintf(clf, sizeof clf, "%s/classifier.safetensors", dir_b);
    hd_gan_opts o = small_opts(dir_a);
    o.classifier = clf;
    assert_int_equal(hd_gan_train(&o, &ra), HD_OK);
    assert_int_equal(ra.epochs, 3);
    assert_int_equal(ra.steps, 3 * (N_TRAIN / BATCH));
    assert_true(ra.fd_initial > 0 && ra.fd_final > 0);
    assert_true(ra.classifier_accuracy > 0.5);

    /* B again: resumed from the checkpoint of epoch 1. */
    ob.classifier = clf;
    ob.resume = 1;
    assert_int_equal(hd_gan_train(&ob, &rb), HD_OK);

    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", dir_a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", dir_b);
    assert_same_tensors(pa, pb);
    snprintf(pa, sizeof pa, "%s/history.csv", dir_a);
    snprintf(pb, sizeof pb, "%s/history.csv", dir_b);
    assert_same_file(pa, pb);
    snprintf(pa, sizeof pa, "%s/samples/epoch_003.png", dir_a);
    snprintf(pb, sizeof pb, "%s/samples/epoch_003.png", dir_b);
    assert_same_file(pa, pb);
    assert_true(rb.fd_final == ra.fd_final);
    assert_true(rb.fd_initial == ra.fd_initial);
}

/* Needs the checkpoint of the test above. */
static void test_resume_refuses_other_options(void **state)
{
    (void)state;
    hd_gan_opts o = small_opts(dir_a);
    o.resume = 1;
    o.epochs = 4;
    o.batch = 32;
    hd_gan_result r;
    assert_error(hd_gan_train(&o, &r), HD_EINVAL, "--batch 64", "checkpoint.safetensors");
    o = small_opts(dir_a);
    o.resume = 1;
    o.epochs = 4;
    o.optim.beta1 = 0.9f;
    assert_error(hd_gan_train(&o, &r), HD_EINVAL, "--beta1 0.5;", "(not 0.9)");
    o = small_opts(dir_a);
    o.resume = 1;
    o.epochs = 2;
    assert_error(hd_gan_train(&o, &r), HD_EINVAL, "already 3 epochs", NULL);
    o = small_opts(dir_a);
    o.optim.beta1 = 1.0f;
    assert_error(hd_gan_train(&o, &r), HD_EINVAL, "betas (1, 0.999) must be in [0, 1)", NULL);
}

static void test_sample_from_checkpoint(void **state)
{
    (void)state;
    char ckpt[128], path[160];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir_a);
    hd_gan_sample_opts o = hd_gan_sample_opts_default();
    o.checkpoint = ckpt;
    o.out_dir = dir_a;
    o.n = 3;
    o.interp_steps = 5;
    o.interp_rows = 2;
    assert_int_equal(hd_gan_sample(&o), HD_OK);
    const char *files[] = {"grid.png", "interp_linear.png", "interp_slerp.png"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir_a, files[i]);
        size_t n;
        unsigned char *b = slurp(path, &n);
        assert_true(n > 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
        free(b);
    }
    snprintf(path, sizeof path, "%s/samples.npy", dir_a);
    hd_array a;
    assert_int_equal(hd_npy_read(path, &a), HD_OK);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], 9);
    assert_int_equal(a.shape[1], 28);
    const float *x = a.data;
    int differ = 0;
    for (int64_t i = 0; i < hd_array_numel(&a); i++) {
        assert_true(x[i] >= -1.0f && x[i] <= 1.0f); /* tanh */
        differ |= x[i] != x[i % 784];
    }
    assert_true(differ);
    hd_array_free(&a);

    /* Zero latent means and widths: every latent point is 0, so every image is the same. */
    o.scale_means = 0;
    o.scale_stds = 0;
    assert_int_equal(hd_gan_sample(&o), HD_OK);
    assert_int_equal(hd_npy_read(path, &a), HD_OK);
    x = a.data;
    /* Identical rows of one batch agree to rounding, not bit for bit: BLAS kernels may round
     * rows differently (OpenBLAS does on CPUs without AVX-512). */
    float worst = 0;
    for (int64_t i = 0; i < hd_array_numel(&a); i++) worst = fmaxf(worst, fabsf(x[i] - x[i % 784]));
    printf("identical latent points: largest difference %g\n", (double)worst);
    assert_true(worst <= 1e-5f);
    hd_array_free(&a);

    /* Not a gan checkpoint. */
    snprintf(path, sizeof path, "%s/classifier.safetensors", dir_b);
    o.checkpoint = path;
    assert_error(hd_gan_sample(&o), HD_EFORMAT, "not a hadron gan checkpoint", "classifier.safetensors");
}

/* The checkpoint loads as a model of no conditions: hd_model_generate gives
 * what the workflow's sampler gives from the same latent points (the same
 * graph in the same chunks: the same bits), a seeded stream repeats, and 4
 * threads' contexts agree with the serial images within rounding. */
#define MODEL_IMAGES 300
#define CTX_THREADS 4
typedef struct {
    const hd_model *m;
    const float *z;
    float *out;
    int rc;
} image_worker;

static void *images_in_thread(void *arg)
{
    image_worker *w = arg;
    hd_model_ctx *c = hd_model_ctx_new(w->m);
    w->rc = c ? hd_model_ctx_generate(c, MODEL_IMAGES, NULL, w->z, w->out) : HD_ENOMEM;
    hd_model_ctx_free(c);
    return NULL;
}

static void test_checkpoint_is_a_model(void **state)
{
    (void)state;
    char ckpt[128];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir_a);
    hd_model *m;
    assert_int_equal(hd_model_load(ckpt, &m), HD_OK);
    assert_string_equal(hd_model_kind(m), "dcgan");
    assert_int_equal(hd_model_n_cond(m), 0);
    assert_int_equal(hd_model_n_out(m), HD_GAN_PIXELS);
    const int64_t latent = hd_model_noise_dim(m), n = MODEL_IMAGES * HD_GAN_PIXELS;
    assert_int_equal(latent, hd_gan_opts_default().latent);
    float *z = malloc((size_t)(MODEL_IMAGES * latent) * sizeof(float)), *want = malloc((size_t)n * sizeof(float));
    float *got = malloc((size_t)n * sizeof(float)), *again = malloc((size_t)n * sizeof(float));
    float *threads = malloc((size_t)(CTX_THREADS * n) * sizeof(float));
    hd_rng r;
    hd_rng_init(&r, 8, HD_STREAM_USER);
    for (int64_t i = 0; i < MODEL_IMAGES * latent; i++) z[i] = hd_rng_normal(&r);
    hd_gan_sampler s;
    assert_int_equal(hd_gan_sampler_build(&s, latent), HD_OK);
    assert_int_equal(hd_checkpoint_load(s.g, ckpt, HD_ALL), HD_OK);
    assert_int_equal(hd_gan_sampler_run(&s, MODEL_IMAGES, z, want), HD_OK);
    hd_gan_sampler_free(&s);
    assert_int_equal(hd_model_generate(m, MODEL_IMAGES, NULL, z, got), HD_OK);
    assert_memory_equal(got, want, (size_t)n * sizeof(float));
    hd_model_set_seed(m, 3);
    assert_int_equal(hd_model_generate(m, MODEL_IMAGES, NULL, NULL, got), HD_OK);
    hd_model_set_seed(m, 3);
    assert_int_equal(hd_model_generate(m, MODEL_IMAGES, NULL, NULL, again), HD_OK);
    assert_memory_equal(got, again, (size_t)n * sizeof(float));
    int differ = 0;
    for (int64_t i = 0; i < n; i++) differ |= got[i] != want[i];
    assert_true(differ); /* the stream is not the caller's points */
    pthread_t th[CTX_THREADS];
    image_worker w[CTX_THREADS];
    for (int t = 0; t < CTX_THREADS; t++) {
        w[t] = (image_worker){m, z, threads + (size_t)t * (size_t)n, 0};
        assert_int_equal(pthread_create(&th[t], NULL, images_in_thread, &w[t]), 0);
    }
    double worst = 0;
    for (int t = 0; t < CTX_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(w[t].rc, HD_OK);
        for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)w[t].out[i] - want[i]));
    }
    print_message("dcgan: %d threads' images within %.2e of the serial ones\n", CTX_THREADS, worst);
    assert_true(worst <= 1e-5);
    float pixel;
    assert_int_equal(hd_model_predict(m, 1, z, &pixel), HD_EINVAL); /* a generator predicts nothing */
    free(z);
    free(want);
    free(got);
    free(again);
    free(threads);
    hd_model_free(m);
}

static void test_missing_data(void **state)
{
    (void)state;
    hd_gan_opts o = small_opts(dir_b);
    o.data_dir = "/nonexistent/mnist";
    hd_gan_result r;
    int rc = hd_gan_train(&o, &r);
    assert_true(rc != HD_OK);
    assert_non_null(strstr(hd_last_error(), "/nonexistent/mnist/train-images-idx3-ubyte"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_resume_refuses_other_options),
        cmocka_unit_test(test_sample_from_checkpoint),
        cmocka_unit_test(test_checkpoint_is_a_model),
        cmocka_unit_test(test_missing_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
