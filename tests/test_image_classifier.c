/* The image classifier behind the GAN's quality figure
 * (workflows/classifier/image_classifier.c), on Fashion-MNIST from Debian's
 * dataset-fashion-mnist (skipped when it is not installed): a short training
 * run well above chance, features and labels that survive a save/load round
 * trip bit for bit, files that are not classifiers refused, and the property
 * the GAN relies on: the Frechet distance in feature space between real
 * train and real test images is far smaller than between real images and
 * noise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"
#include "workflows/classifier/image_classifier.h"

enum { N_TRAIN = 6000, N_EVAL = 2000, PIX = 28 * 28 };

typedef struct {
    hd_tensor *train, *test;
    int32_t *train_labels, *test_labels;
    hd_image_classifier *clf;
    char *dir; /* test_tmpdir(); NULL when the tests skip */
    double train_seconds;
} fixture;

static int read_split(const char *name, hd_tensor **images, int32_t **labels)
{
    char img[512], lab[512];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", hd_idx_default_dir(), name);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", hd_idx_default_dir(), name);
    if (access(img, R_OK) != 0 || access(lab, R_OK) != 0) return 1;
    hd_idx_image_opts o = {.lo = -1.0f, .hi = 1.0f, .height = 28, .width = 28};
    return hd_idx_read_mnist(img, lab, &o, images, labels) == HD_OK ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    int rc = read_split("train", &f->train, &f->train_labels);
    if (rc == 0) rc = read_split("t10k", &f->test, &f->test_labels);
    if (rc > 0) return 0; /* no data: the tests skip */
    if (rc < 0) {
        fprintf(stderr, "%s\n", hd_last_error());
        return -1;
    }
    if (!(f->dir = test_tmpdir("clf"))) return -1;
    hd_image_classifier_opts o = hd_image_classifier_opts_default();
    o.epochs = 2;
    hd_tensor subset = hd_tensor_view(f->train->data, 4, (int64_t[]){N_TRAIN, 1, 28, 28});
    double t0 = hd_now();
    if (hd_image_classifier_train(&o, &subset, f->train_labels, 10, &f->clf) != HD_OK) {
        fprintf(stderr, "%s\n", hd_last_error());
        return -1;
    }
    f->train_seconds = hd_now() - t0;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hd_image_classifier_free(f->clf);
    hd_tensor_free(f->train);
    hd_tensor_free(f->test);
    hd_free(f->train_labels);
    hd_free(f->test_labels);
    if (test_tmpdir_free(f->dir) != 0) return -1;
    free(f);
    return 0;
}

#define NEED_DATA(f)                                                                                                   \
    do {                                                                                                               \
        if (!(f)->clf) skip();                                                                                         \
    } while (0)

static void test_accuracy_well_above_chance(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    assert_int_equal(hd_image_classifier_feature_dim(f->clf), 64);
    assert_int_equal(hd_image_classifier_n_classes(f->clf), 10);
    assert_int_equal(hd_image_classifier_image_size(f->clf), PIX);
    double acc = hd_image_classifier_accuracy(f->clf, N_EVAL, f->test->data, f->test_labels);
    printf("trained on %d images, 2 epochs, in %.1f s: accuracy %.3f on %d test images\n", N_TRAIN,
           f->train_seconds, acc, N_EVAL);
    assert_true(acc > 0.7);
    /* labels from apply agree with accuracy's */
    int32_t *pred = malloc(N_EVAL * sizeof *pred);
    assert_non_null(pred);
    assert_int_equal(hd_image_classifier_apply(f->clf, N_EVAL, f->test->data, NULL, pred), HD_OK);
    int right = 0;
    for (int i = 0; i < N_EVAL; i++) {
        assert_true(pred[i] >= 0 && pred[i] < 10);
        right += pred[i] == f->test_labels[i];
    }
    assert_true(fabs((double)right / N_EVAL - acc) < 1e-12);
    free(pred);
}

/* Chunked evaluation gives each image the same features whatever the
 * number of images around it (a last, smaller chunk included). */
static void test_chunks_do_not_matter(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    enum { N = 1003 };
    int64_t d = hd_image_classifier_feature_dim(f->clf);
    float *all = malloc(sizeof(float) * N * d), *one = malloc(sizeof(float) * d);
    assert_non_null(all);
    assert_non_null(one);
    assert_int_equal(hd_image_classifier_apply(f->clf, N, f->test->data, all, NULL), HD_OK);
    for (int i = 0; i < N; i += 167) {
        assert_int_equal(hd_image_classifier_apply(f->clf, 1, f->test->data + (int64_t)i * PIX, one, NULL), HD_OK);
        for (int64_t j = 0; j < d; j++) assert_float_equal(one[j], all[i * d + j], 1e-4 * (1 + fabsf(one[j])));
    }
    free(all);
    free(one);
}

static void test_save_load_round_trip(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    char path[4200];
    snprintf(path, sizeof path, "%s/classifier.safetensors", f->dir);
    assert_int_equal(hd_image_classifier_save(f->clf, path), HD_OK);
    hd_image_classifier *c2;
    if (hd_image_classifier_load(path, &c2) != HD_OK) fail_msg("%s", hd_last_error());
    int64_t d = hd_image_classifier_feature_dim(c2);
    assert_int_equal(d, 64);
    assert_int_equal(hd_image_classifier_n_classes(c2), 10);
    float *a = malloc(sizeof(float) * N_EVAL * d), *b = malloc(sizeof(float) * N_EVAL * d);
    int32_t *la = malloc(sizeof(int32_t) * N_EVAL), *lb = malloc(sizeof(int32_t) * N_EVAL);
    assert_true(a && b && la && lb);
    assert_int_equal(hd_image_classifier_apply(f->clf, N_EVAL, f->test->data, a, la), HD_OK);
    assert_int_equal(hd_image_classifier_apply(c2, N_EVAL, f->test->data, b, lb), HD_OK);
    assert_memory_equal(a, b, sizeof(float) * N_EVAL * d);
    assert_memory_equal(la, lb, sizeof(int32_t) * N_EVAL);
    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(path, &st), HD_OK);
    assert_string_equal(hd_safetensors_meta(st, "model"), "image_classifier");
    assert_string_equal(hd_safetensors_meta(st, "image"), "1,28,28");
    assert_string_equal(hd_safetensors_meta(st, "classes"), "10");
    hd_safetensors_free(st);
    free(a);
    free(b);
    free(la);
    free(lb);
    hd_image_classifier_free(c2);
}

static void test_refuses_other_files(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    char path[4200];
    hd_image_classifier *c = (hd_image_classifier *)f; /* must be reset to NULL on failure */
    hd_tensor *t = hd_tensor_new(1, (int64_t[]){3});
    const char *names[1] = {"fc1.weight"};
    const hd_tensor *ts[1] = {t};

    /* a valid safetensors file that is some other model */
    snprintf(path, sizeof path, "%s/mlp.safetensors", f->dir);
    hd_meta mlp[] = {{"model", "mlp"}};
    assert_int_equal(hd_safetensors_write(path, 1, names, ts, 1, mlp), HD_OK);
    assert_error(hd_image_classifier_load(path, &c), HD_EFORMAT, "mlp.safetensors", "not a hadron image classifier");
    assert_null(c);

    /* no metadata at all */
    snprintf(path, sizeof path, "%s/bare.safetensors", f->dir);
    assert_int_equal(hd_safetensors_write(path, 1, names, ts, 0, NULL), HD_OK);
    assert_error(hd_image_classifier_load(path, &c), HD_EFORMAT, "bare.safetensors", "(absent)");

    /* says it is a classifier, but the shape metadata is nonsense */
    snprintf(path, sizeof path, "%s/badmeta.safetensors", f->dir);
    hd_meta bad[] = {{"model", "image_classifier"}, {"image", "1,28"}, {"conv_channels", "16,32"},
                     {"hidden", "64"}, {"classes", "10"}};
    assert_int_equal(hd_safetensors_write(path, 1, names, ts, 5, bad), HD_OK);
    assert_error(hd_image_classifier_load(path, &c), HD_EFORMAT, "badmeta.safetensors", "image");

    /* says it is a classifier, metadata fine, weights missing */
    snprintf(path, sizeof path, "%s/noweights.safetensors", f->dir);
    bad[1].value = "1,28,28";
    assert_int_equal(hd_safetensors_write(path, 1, names, ts, 5, bad), HD_OK);
    assert_error(hd_image_classifier_load(path, &c), HD_EFORMAT, "noweights.safetensors", "missing tensor");
    assert_null(c);

    /* a few bytes of metadata that claim a 256 GiB network: refused by its missing tensors, before the
     * graph is compiled (it would have failed for memory, or taken it) */
    snprintf(path, sizeof path, "%s/huge.safetensors", f->dir);
    hd_meta huge[] = {{"model", "image_classifier"}, {"image", "1,4096,4096"}, {"conv_channels", "1024,1024"},
                      {"hidden", "4096"}, {"classes", "10"}};
    assert_int_equal(hd_safetensors_write(path, 1, names, ts, 5, huge), HD_OK);
    assert_error(hd_image_classifier_load(path, &c), HD_EFORMAT, "huge.safetensors", "missing tensor 'conv1.weight'");
    assert_null(c);

    /* a truncated classifier */
    char good[4200];
    snprintf(good, sizeof good, "%s/good.safetensors", f->dir);
    assert_int_equal(hd_image_classifier_save(f->clf, good), HD_OK);
    size_t size;
    unsigned char *bytes = slurp(good, &size);
    snprintf(path, sizeof path, "%s/truncated.safetensors", f->dir);
    spill(path, bytes, size - 100);
    free(bytes);
    assert_int_not_equal(hd_image_classifier_load(path, &c), HD_OK);
    assert_non_null(strstr(hd_last_error(), "truncated.safetensors"));
    assert_null(c);

    /* a missing file */
    snprintf(path, sizeof path, "%s/absent.safetensors", f->dir);
    assert_int_not_equal(hd_image_classifier_load(path, &c), HD_OK);
    hd_tensor_free(t);
}

static void test_bad_training_arguments(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    hd_image_classifier *c;
    hd_image_classifier_opts o = hd_image_classifier_opts_default();
    hd_tensor small = hd_tensor_view(f->train->data, 4, (int64_t[]){10, 1, 28, 28});
    int32_t labels[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10};
    assert_error(hd_image_classifier_train(&o, &small, labels, 10, &c), HD_EINVAL, "label 10 of image 9", "0..9");
    labels[9] = 9;
    o.epochs = 0;
    assert_error(hd_image_classifier_train(&o, &small, labels, 10, &c), HD_EINVAL, "0 epochs", NULL);
    o = hd_image_classifier_opts_default();
    hd_tensor flat = hd_tensor_view(f->train->data, 2, (int64_t[]){10, PIX});
    assert_error(hd_image_classifier_train(&o, &flat, labels, 10, &c), HD_EINVAL, "[N, C, H, W]", NULL);
    assert_null(c);
}

/* What the GAN's figure relies on: real vs real is close, real vs noise far. */
static void test_frechet_real_vs_noise(void **state)
{
    fixture *f = *state;
    NEED_DATA(f);
    int64_t d = hd_image_classifier_feature_dim(f->clf);
    float *noise = malloc(sizeof(float) * N_EVAL * PIX);
    float *fa = malloc(sizeof(float) * N_EVAL * d), *fb = malloc(sizeof(float) * N_EVAL * d);
    float *fn = malloc(sizeof(float) * N_EVAL * d);
    assert_true(noise && fa && fb && fn);
    hd_rng r;
    hd_rng_init(&r, 11, HD_STREAM_USER);
    hd_rng_fill_uniform(&r, noise, (int64_t)N_EVAL * PIX, -1.0f, 1.0f);
    /* train images the classifier did not see, and test images */
    assert_int_equal(hd_image_classifier_apply(f->clf, N_EVAL, f->train->data + (int64_t)N_TRAIN * PIX, fa, NULL),
                     HD_OK);
    assert_int_equal(hd_image_classifier_apply(f->clf, N_EVAL, f->test->data, fb, NULL), HD_OK);
    assert_int_equal(hd_image_classifier_apply(f->clf, N_EVAL, noise, fn, NULL), HD_OK);
    double real, fake;
    assert_int_equal(hd_frechet_distance(N_EVAL, fa, N_EVAL, fb, d, &real), HD_OK);
    assert_int_equal(hd_frechet_distance(N_EVAL, fa, N_EVAL, fn, d, &fake), HD_OK);
    printf("FD real train vs real test %.3f, real vs uniform noise %.3f (ratio %.1f)\n", real, fake, fake / real);
    assert_true(real >= 0 && fake > 20 * real);
    free(noise);
    free(fa);
    free(fb);
    free(fn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy_well_above_chance),
        cmocka_unit_test(test_chunks_do_not_matter),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_refuses_other_files),
        cmocka_unit_test(test_bad_training_arguments),
        cmocka_unit_test(test_frechet_real_vs_noise),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
