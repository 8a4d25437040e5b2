/* Frechet distance (metrics/frechet.c): identical samples, the closed form
 * for diagonal Gaussians, a pure shift, non-commuting full covariances and a
 * singular covariance against numpy (fixtures/frechet/<case>.npz, made by
 * fixtures/make_frechet_fixtures.py), symmetry, and the errors. */
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
#include "test_util.h"

static double fd(int64_t n1, const float *x1, int64_t n2, const float *x2, int64_t d)
{
    double v;
    if (hd_frechet_distance(n1, x1, n2, x2, d, &v) != HD_OK) fail_msg("%s", hd_last_error());
    return v;
}

/* n rows of independent N(mean[j], std[j]^2) features. */
static float *gaussian(uint64_t seed, int64_t n, int64_t d, const double *mean, const double *std)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    float *x = malloc((size_t)(n * d) * sizeof(float));
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) x[i * d + j] = (float)(mean[j] + std[j] * hd_rng_normal(&r));
    return x;
}

static void test_identical_samples(void **state)
{
    (void)state;
    const double mean[3] = {1, -2, 0.5}, std[3] = {1, 3, 0.1};
    float *x = gaussian(1, 500, 3, mean, std);
    double v = fd(500, x, 500, x, 3);
    assert_true(v >= 0 && v < 1e-9); /* traces are ~10 */
    free(x);
}

/* Independent features: FD = |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the
 * standard deviations.  Sampling error of a term (s1 - s2)^2: 2 |s1 - s2|
 * s / sqrt(2 n), 0.03 for the s = 3 feature at n = 1e5. */
static void test_diagonal_gaussians(void **state)
{
    (void)state;
    enum { N = 100000, D = 4 };
    const double m1[D] = {0, 1, -1, 2}, s1[D] = {1, 2, 0.5, 1};
    const double m2[D] = {0.5, 1, 0, 2}, s2[D] = {1, 1, 1.5, 3};
    float *x1 = gaussian(2, N, D, m1, s1), *x2 = gaussian(3, N, D, m2, s2);
    double want = 0;
    for (int j = 0; j < D; j++) want += (m1[j] - m2[j]) * (m1[j] - m2[j]) + (s1[j] - s2[j]) * (s1[j] - s2[j]);
    double got = fd(N, x1, N, x2, D);
    printf("diagonal Gaussians: FD %.5f, closed form %.5f\n", got, want);
    assert_true(fabs(got - want) < 0.1); /* want = 7.5 */
    free(x1);
    free(x2);
}

/* Same sample shifted by c: the covariances are equal, so FD = |c|^2 exactly
 * up to rounding (the float32 shift itself rounds too). */
static void test_shift(void **state)
{
    (void)state;
    enum { N = 800, D = 5 };
    const double mean[D] = {0}, std[D] = {1, 2, 3, 0.5, 1};
    const float c[D] = {0.5f, -1.0f, 0.0f, 2.0f, 0.25f};
    float *x = gaussian(4, N, D, mean, std), *y = malloc(sizeof(float) * N * D);
    assert_non_null(y);
    double want = 0;
    for (int j = 0; j < D; j++) want += (double)c[j] * c[j];
    for (int64_t i = 0; i < N * D; i++) y[i] = x[i] + c[i % D];
    double got = fd(N, x, N, y, D);
    assert_true(fabs(got - want) < 1e-4 * want);
    free(x);
    free(y);
}

static void check_fixture(const char *name, double rtol)
{
    char path[512];
    snprintf(path, sizeof path, "%s/frechet/%s.npz", HD_FIXTURES, name);
    hd_npz *z;
    if (hd_npz_read(path, &z) != HD_OK) fail_msg("%s", hd_last_error());
    const hd_array *x1 = hd_npz_get(z, "x1"), *x2 = hd_npz_get(z, "x2"), *want = hd_npz_get(z, "fd");
    assert_non_null(x1);
    assert_non_null(x2);
    assert_non_null(want);
    assert_int_equal(x1->dtype, HD_F32);
    assert_int_equal(x2->dtype, HD_F32);
    assert_int_equal(x1->shape[1], x2->shape[1]);
    int64_t d = x1->shape[1];
    double w = hd_array_get(want, 0);
    double ab = fd(x1->shape[0], x1->data, x2->shape[0], x2->data, d);
    double ba = fd(x2->shape[0], x2->data, x1->shape[0], x1->data, d);
    printf("%s: FD %.12g, numpy %.12g; reversed %.12g\n", name, ab, w, ba);
    if (fabs(ab - w) > rtol * w) fail_msg("%s: FD %.12g, numpy %.12g", name, ab, w);
    if (fabs(ba - ab) > rtol * ab) fail_msg("%s: FD(a,b) %.15g != FD(b,a) %.15g", name, ab, ba);
    hd_npz_free(z);
}

static void test_full_covariances_numpy(void **state)
{
    (void)state;
    check_fixture("full", 1e-9);
}

/* rank-deficient C1: a zero eigenvalue's square root is ~1e-8 from rounding */
static void test_singular_covariance_numpy(void **state)
{
    (void)state;
    check_fixture("singular", 1e-6);
}

static void test_symmetric(void **state)
{
    (void)state;
    const double m1[3] = {0, 1, 2}, s1[3] = {1, 2, 3}, m2[3] = {1, 1, 0}, s2[3] = {2, 0.5, 1};
    float *a = gaussian(5, 300, 3, m1, s1), *b = gaussian(6, 200, 3, m2, s2);
    double ab = fd(300, a, 200, b, 3), ba = fd(200, b, 300, a, 3);
    assert_true(fabs(ab - ba) < 1e-10 * ab);
    free(a);
    free(b);
}

static void test_errors(void **state)
{
    (void)state;
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    double v;
    assert_error(hd_frechet_distance(1, x, 4, x, 3, &v), HD_EINVAL, "sample 1", "at least 2");
    assert_error(hd_frechet_distance(4, x, 0, x, 3, &v), HD_EINVAL, "sample 2", "at least 2");
    assert_error(hd_frechet_distance(4, x, 4, x, 0, &v), HD_EINVAL, "features", "at least 1");
    assert_error(hd_frechet_distance(4, x, 4, NULL, 3, &v), HD_EINVAL, "sample 2", "NULL");
    float y[12];
    memcpy(y, x, sizeof y);
    y[7] = NAN;
    assert_error(hd_frechet_distance(4, x, 4, y, 3, &v), HD_EINVAL, "sample 2, row 2, column 1", "nan");
    y[7] = -INFINITY;
    assert_error(hd_frechet_distance(4, y, 4, x, 3, &v), HD_EINVAL, "sample 1, row 2, column 1", "inf");
    assert_true(isnan(v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_samples),
        cmocka_unit_test(test_diagonal_gaussians),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_full_covariances_numpy),
        cmocka_unit_test(test_singular_covariance_numpy),
        cmocka_unit_test(test_symmetric),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
