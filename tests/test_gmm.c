/* PCA (nn/pca.c): against an exactly known sample covariance,
 * project/reconstruct round trips and the discarded variance, a
 * rank-deficient sample, and the errors. */
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

/* ---- helpers ------------------------------------------------------------- */

static float *normals(uint64_t seed, int64_t n)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    float *z = malloc((size_t)n * sizeof(float));
    assert_non_null(z);
    hd_rng_fill_normal(&r, z, n, 0.0f, 1.0f);
    return z;
}

static void assert_within(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol)) fail_msg("%s: %.8g, want %.8g +- %.3g", what, got, want, tol);
}

/* ---- PCA ----------------------------------------------------------------- */

/* 16 rows: every sign pattern z in {-1, 1}^4 (columns of mean 0, orthogonal,
 * sum z^2 = 16), x = mu + R diag(s) z.  The sample covariance is then exactly
 * 16/15 R diag(s^2) R^T: eigenvalues 16/15 s^2, eigenvectors R's columns. */
static void test_pca_exact_covariance(void **state)
{
    (void)state;
    enum { D = 4, N = 16 };
    const double s[D] = {3, 2, 1, 0.5}, mu[D] = {1, -2, 0.5, 4};
    /* R: Gram-Schmidt of a fixed matrix (columns) */
    double R[D][D] = {{1, 0.3, -0.2, 0.1}, {0.4, 1, 0.5, -0.3}, {-0.6, 0.2, 1, 0.4}, {0.2, -0.7, 0.3, 1}};
    for (int a = 0; a < D; a++) {
        for (int b = 0; b < a; b++) {
            double dot = 0;
            for (int i = 0; i < D; i++) dot += R[i][a] * R[i][b];
            for (int i = 0; i < D; i++) R[i][a] -= dot * R[i][b];
        }
        double norm = 0;
        for (int i = 0; i < D; i++) norm += R[i][a] * R[i][a];
        for (int i = 0; i < D; i++) R[i][a] /= sqrt(norm);
    }
    float x[N * D];
    for (int p = 0; p < N; p++)
        for (int i = 0; i < D; i++) {
            double v = mu[i];
            for (int a = 0; a < D; a++) v += R[i][a] * s[a] * ((p >> a) & 1 ? 1.0 : -1.0);
            x[p * D + i] = (float)v;
        }
    hd_pca p;
    assert_int_equal(hd_pca_fit(N, D, x, D, &p), HD_OK);
    assert_int_equal(p.k, D);
    double total = 0;
    for (int a = 0; a < D; a++) total += 16.0 / 15.0 * s[a] * s[a];
    assert_within(p.total_variance, total, 1e-5 * total, "total variance");
    for (int i = 0; i < D; i++) assert_within(p.mean[i], mu[i], 1e-6, "mean");
    for (int a = 0; a < D; a++) {
        double want = 16.0 / 15.0 * s[a] * s[a];
        assert_within(p.variance[a], want, 1e-5 * want, "variance");
        /* R's column a with the sign that makes its largest-|.| entry positive */
        int big = 0;
        for (int i = 1; i < D; i++)
            if (fabs(R[i][a]) > fabs(R[big][a])) big = i;
        double sign = R[big][a] < 0 ? -1 : 1;
        for (int i = 0; i < D; i++) assert_within(p.components[a * D + i], sign * R[i][a], 1e-5, "component");
    }
    hd_pca_release(&p);
    assert_null(p.mean);

    /* k < d: the leading components only */
    assert_int_equal(hd_pca_fit(N, D, x, 2, &p), HD_OK);
    assert_int_equal(p.k, 2);
    assert_within(p.variance[1], 16.0 / 15.0 * 4, 1e-5 * 4, "variance");
    assert_within(p.total_variance, total, 1e-5 * total, "total variance");
    hd_pca_release(&p);
    hd_pca_release(&p); /* twice is fine */
}

/* Correlated Gaussian rows: k = d reconstructs x; k < d leaves exactly the
 * discarded eigenvalues as the residual's variance; the projections have
 * the component variances and are uncorrelated. */
static void test_pca_project_reconstruct(void **state)
{
    (void)state;
    enum { D = 6, N = 2000 };
    const double A[D][D] = {{2, 0, 0, 0, 0, 0},      {0.5, 1.5, 0, 0, 0, 0},  {-1, 0.3, 1, 0, 0, 0},
                            {0.2, 0.2, 0.2, 0.7, 0, 0}, {0, 1, -0.5, 0.1, 0.4, 0}, {0.3, 0, 0, 0, 0.2, 0.1}};
    float *g = normals(11, N * D), *x = malloc(N * D * sizeof(float)), *z = malloc(N * D * sizeof(float));
    float *xr = malloc(N * D * sizeof(float));
    assert_true(x && z && xr);
    for (int i = 0; i < N; i++)
        for (int a = 0; a < D; a++) {
            double v = 3.0 - a;
            for (int l = 0; l < D; l++) v += A[a][l] * g[i * D + l];
            x[i * D + a] = (float)v;
        }
    hd_pca p;
    assert_int_equal(hd_pca_fit(N, D, x, D, &p), HD_OK);
    for (int a = 1; a < D; a++) assert_true(p.variance[a] <= p.variance[a - 1]);
    assert_int_equal(hd_pca_project(&p, N, x, z), HD_OK);
    assert_int_equal(hd_pca_reconstruct(&p, N, z, xr), HD_OK);
    double worst = 0;
    for (int i = 0; i < N * D; i++) worst = fmax(worst, fabs(xr[i] - x[i]));
    if (worst > 1e-5) fail_msg("k = d round trip: max error %g", worst);
    /* projections: variance[a] on the diagonal, 0 off it */
    for (int a = 0; a < D; a++)
        for (int b = 0; b <= a; b++) {
            double s = 0;
            for (int i = 0; i < N; i++) s += (double)z[i * D + a] * z[i * D + b];
            s /= N - 1;
            assert_within(s, a == b ? p.variance[a] : 0.0, 1e-5 * p.variance[0], "projection covariance");
        }
    hd_pca_release(&p);

    enum { K = 3 };
    assert_int_equal(hd_pca_fit(N, D, x, K, &p), HD_OK);
    assert_int_equal(hd_pca_project(&p, N, x, z), HD_OK);
    assert_int_equal(hd_pca_reconstruct(&p, N, z, xr), HD_OK);
    double rss = 0, discarded = p.total_variance;
    for (int i = 0; i < N * D; i++) rss += pow((double)xr[i] - x[i], 2);
    for (int a = 0; a < K; a++) discarded -= p.variance[a];
    /* float32 outputs: relative rounding ~1e-7 of values ~5 against a residual ~0.5 per row */
    assert_within(rss / (N - 1), discarded, 1e-4 * discarded, "residual variance");
    assert_int_equal(hd_pca_project(&p, 0, NULL, NULL), HD_OK);
    hd_pca_release(&p);
    free(g);
    free(x);
    free(z);
    free(xr);
}

/* A constant column and fewer rows than dims: the null directions' variances
 * are 0 (never below), and their components are still unit vectors. */
static void test_pca_rank_deficient(void **state)
{
    (void)state;
    enum { N = 3, D = 5 };
    const float x[N * D] = {1, 2, 7, 0, 1, 3, -1, 7, 2, 2, 0, 5, 7, 1, 4};
    hd_pca p;
    assert_int_equal(hd_pca_fit(N, D, x, D, &p), HD_OK);
    for (int a = 0; a < D; a++) {
        assert_true(p.variance[a] >= 0);
        if (a >= N - 1) assert_true(p.variance[a] <= 1e-12 * p.variance[0]);
        double norm = 0;
        for (int i = 0; i < D; i++) norm += p.components[a * D + i] * p.components[a * D + i];
        assert_within(norm, 1, 1e-12, "unit component");
    }
    assert_within(p.components[0 * D + 2], 0, 1e-12, "constant column in the first component");
    hd_pca_release(&p);
}

static void test_pca_errors(void **state)
{
    (void)state;
    float x[12] = {1, 2, 3, 4, 5, 7, 7, 8, 10, 10, 11, 13};
    hd_pca p;
    assert_error(hd_pca_fit(4, 3, x, 0, &p), HD_EINVAL, "k = 0", "1 to d = 3");
    assert_error(hd_pca_fit(4, 3, x, 4, &p), HD_EINVAL, "k = 4", NULL);
    assert_error(hd_pca_fit(1, 3, x, 2, &p), HD_EINVAL, "1 rows", "at least 2");
    assert_error(hd_pca_fit(4, 0, x, 1, &p), HD_EINVAL, "d = 0", NULL);
    assert_error(hd_pca_fit(4, 3, NULL, 1, &p), HD_EINVAL, "x is NULL", NULL);
    x[7] = NAN;
    assert_error(hd_pca_fit(4, 3, x, 1, &p), HD_EINVAL, "row 2, column 1", "nan");
    assert_null(p.mean);
    x[7] = 8;
    hd_pca empty = {0};
    float z[4];
    assert_error(hd_pca_project(&empty, 1, x, z), HD_EINVAL, "not fitted", NULL);
    assert_error(hd_pca_reconstruct(NULL, 1, z, x), HD_EINVAL, "not fitted", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pca_exact_covariance),
        cmocka_unit_test(test_pca_project_reconstruct),
        cmocka_unit_test(test_pca_rank_deficient),
        cmocka_unit_test(test_pca_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
