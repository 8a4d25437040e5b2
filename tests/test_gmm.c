/* PCA (nn/pca.c) and Gaussian mixtures (nn/gmm.c).  PCA: against an exactly
 * known sample covariance, project/reconstruct round trips and the discarded
 * variance, a rank-deficient sample, the errors.  Mixtures: EM on samples of
 * known 3-D full and 2-D diagonal mixtures within statistical tolerances,
 * the log density against a direct computation, bit-identical fits
 * (repeated, and on 1 or 2 threads), the re-seeding of a component that
 * loses its rows, a mixture filled by hand (hd_gmm_prepare), conditional
 * sampling against the analytic Gaussian conditional and the posterior
 * weights, and the errors. */
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

/* A = L L^T for a lower d x d L. */
static void llt(int d, const double *L, double *S)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int l = 0; l < d; l++) s += L[i * d + l] * L[j * d + l];
            S[i * d + j] = s;
        }
}

/* n rows of a mixture of k components (weights w, means mu [k*d], lower
 * Cholesky factors L [k*d*d]); label[i] the component of row i. */
static float *sample_mixture(uint64_t seed, int64_t n, int k, int d, const double *w, const double *mu,
                             const double *L, int *label)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER + 1);
    float *x = malloc((size_t)(n * d) * sizeof(float));
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++) {
        double u = hd_rng_uniform(&r), cum = 0;
        int j = k - 1;
        for (int q = 0; q < k; q++)
            if (u < (cum += w[q])) {
                j = q;
                break;
            }
        double z[8];
        for (int l = 0; l < d; l++) z[l] = hd_rng_normal(&r);
        for (int a = 0; a < d; a++) {
            double s = mu[j * d + a];
            for (int l = 0; l <= a; l++) s += L[(j * d + a) * d + l] * z[l];
            x[i * d + a] = (float)s;
        }
        if (label) label[i] = j;
    }
    return x;
}

/* fitted component matching true component j: the nearest mean */
static int match(const hd_gmm *m, const double *mu_true, int d)
{
    int best = 0;
    double bd = INFINITY;
    for (int q = 0; q < m->k; q++) {
        double e = 0;
        for (int l = 0; l < d; l++) e += pow(m->mean[q * d + l] - mu_true[l], 2);
        if (e < bd) bd = e, best = q;
    }
    return best;
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

/* ---- mixtures: fits ------------------------------------------------------ */

/* Three well-separated 3-D components (means >= 10 standard deviations apart),
 * full covariances. */
enum { K3 = 3, D3 = 3, N3 = 6000 };
static const double w3[K3] = {0.5, 0.3, 0.2};
static const double mu3[K3 * D3] = {0, 0, 0, 10, 10, -5, -10, 8, 12};
static const double L3[K3 * D3 * D3] = {1.0, 0, 0, 0.5, 0.8, 0, -0.3, 0.2, 0.6,
                                        0.7, 0, 0, -0.4, 1.2, 0, 0.1, 0.3, 0.9,
                                        1.5, 0, 0, 0.6, 0.5, 0, 0.2, -0.2, 1.1};

static hd_gmm fit3(const float *x, int threads)
{
    if (threads) assert_int_equal(hd_set_threads(threads), HD_OK);
    hd_gmm_opts o = hd_gmm_opts_default();
    o.k = K3;
    o.seed = 7;
    hd_gmm m;
    int rc = hd_gmm_fit(&o, N3, D3, x, &m);
    if (threads) hd_set_threads(0);
    if (rc != HD_OK) fail_msg("%s", hd_last_error());
    return m;
}

/* With the components this far apart, EM's estimates are the sample weight,
 * mean and covariance of each component's rows, so the 4-sigma bounds are
 * those of the sample statistics: weight sqrt(w (1 - w) / n), mean
 * sqrt(S_aa / n_j), covariance sqrt((S_aa S_bb + S_ab^2) / n_j). */
static void test_gmm_full(void **state)
{
    (void)state;
    float *x = sample_mixture(3, N3, K3, D3, w3, mu3, L3, NULL);
    hd_gmm m = fit3(x, 0);
    assert_int_equal(m.k, K3);
    assert_true(m.converged);
    assert_true(m.iterations >= 1 && m.iterations < 200);
    double wsum = 0;
    for (int j = 0; j < K3; j++) {
        int q = match(&m, mu3 + j * D3, D3);
        double S[D3 * D3], nj = w3[j] * N3;
        llt(D3, L3 + j * D3 * D3, S);
        assert_within(m.weight[q], w3[j], 4 * sqrt(w3[j] * (1 - w3[j]) / N3), "weight");
        wsum += m.weight[q];
        for (int a = 0; a < D3; a++) {
            assert_within(m.mean[q * D3 + a], mu3[j * D3 + a], 4 * sqrt(S[a * D3 + a] / nj), "mean");
            for (int b = 0; b < D3; b++) {
                double sd = sqrt((S[a * D3 + a] * S[b * D3 + b] + S[a * D3 + b] * S[a * D3 + b]) / nj);
                assert_within(m.cov_data[(q * D3 + a) * D3 + b], S[a * D3 + b], 4 * sd, "covariance");
                assert_true(m.cov_data[(q * D3 + a) * D3 + b] == m.cov_data[(q * D3 + b) * D3 + a]);
            }
        }
    }
    assert_within(wsum, 1, 1e-12, "weights' sum");

    /* the log density of one row, directly: 3 x 3 inverses by cofactors */
    const float row[D3] = {9.2f, 10.5f, -4.1f};
    double want = 0;
    for (int q = 0; q < K3; q++) {
        const double *S = m.cov_data + q * D3 * D3, *mu = m.mean + q * D3;
        double c00 = S[4] * S[8] - S[5] * S[7], c01 = S[5] * S[6] - S[3] * S[8], c02 = S[3] * S[7] - S[4] * S[6];
        double det = S[0] * c00 + S[1] * c01 + S[2] * c02;
        double inv[9] = {c00, S[2] * S[7] - S[1] * S[8], S[1] * S[5] - S[2] * S[4],
                         c01, S[0] * S[8] - S[2] * S[6], S[2] * S[3] - S[0] * S[5],
                         c02, S[1] * S[6] - S[0] * S[7], S[0] * S[4] - S[1] * S[3]};
        double e[D3], quad = 0;
        for (int a = 0; a < D3; a++) e[a] = row[a] - mu[a];
        for (int a = 0; a < D3; a++)
            for (int b = 0; b < D3; b++) quad += e[a] * inv[a * D3 + b] / det * e[b];
        want += m.weight[q] * exp(-0.5 * quad) / sqrt(pow(2 * HD_PI, D3) * det);
    }
    double got;
    assert_int_equal(hd_gmm_loglik(&m, 1, row, &got), HD_OK);
    assert_within(got, log(want), 1e-10, "log density");
    hd_gmm_release(&m);
    assert_null(m.weight);
    hd_gmm_release(&m);
    free(x);
}

static int n_iter_calls;
static double iter_ll[256];
static void on_iter(void *user, int iter, double ll)
{
    (void)user;
    assert_int_equal(iter, n_iter_calls + 1);
    iter_ll[n_iter_calls++] = ll;
}

/* Repeated fits give the same bits, on 2 threads or 1; on_iter sees every
 * iteration, and EM's mean log-likelihood never falls. */
static void test_gmm_deterministic(void **state)
{
    (void)state;
    float *x = sample_mixture(5, N3, K3, D3, w3, mu3, L3, NULL);
    hd_gmm a = fit3(x, 2), b = fit3(x, 2), c = fit3(x, 1);
    const hd_gmm *other[2] = {&b, &c};
    for (int t = 0; t < 2; t++) {
        const hd_gmm *o = other[t];
        assert_int_equal(a.iterations, o->iterations);
        assert_memory_equal(&a.mean_loglik, &o->mean_loglik, sizeof(double));
        assert_memory_equal(a.weight, o->weight, K3 * sizeof(double));
        assert_memory_equal(a.mean, o->mean, K3 * D3 * sizeof(double));
        assert_memory_equal(a.cov_data, o->cov_data, K3 * D3 * D3 * sizeof(double));
        assert_memory_equal(a.chol, o->chol, K3 * D3 * D3 * sizeof(double));
        assert_memory_equal(a.log_norm, o->log_norm, K3 * sizeof(double));
    }
    /* the mean log-likelihood the fit reports is that of its parameters */
    double *ll = malloc(N3 * sizeof(double)), mean = 0;
    assert_non_null(ll);
    assert_int_equal(hd_gmm_loglik(&a, N3, x, ll), HD_OK);
    for (int i = 0; i < N3; i++) mean += ll[i];
    assert_within(mean / N3, a.mean_loglik, 1e-10, "mean log-likelihood");

    hd_gmm_opts o = hd_gmm_opts_default();
    o.k = K3;
    o.seed = 7;
    o.on_iter = on_iter;
    o.tol = 0; /* every iteration up to max_iter */
    o.max_iter = 40;
    n_iter_calls = 0;
    hd_gmm m;
    assert_int_equal(hd_gmm_fit(&o, N3, D3, x, &m), HD_OK);
    assert_int_equal(n_iter_calls, 40);
    assert_int_equal(m.iterations, 40);
    assert_false(m.converged);
    for (int i = 1; i < n_iter_calls; i++) assert_true(iter_ll[i] >= iter_ll[i - 1] - 1e-12);
    assert_memory_equal(&m.mean_loglik, &iter_ll[39], sizeof(double));
    hd_gmm_release(&m);
    hd_gmm_release(&a);
    hd_gmm_release(&b);
    hd_gmm_release(&c);
    free(ll);
    free(x);
}

/* Two-dimensional components with diagonal covariances, fitted DIAG:
 * variances within 4 sqrt(2 / n_j) var; the log density of one row. */
static void test_gmm_diag(void **state)
{
    (void)state;
    enum { K = 3, D = 2, N = 6000 };
    const double w[K] = {0.25, 0.35, 0.4}, mu[K * D] = {-8, 0, 0, 8, 9, -3};
    const double sd[K * D] = {1.0, 0.5, 0.3, 1.4, 0.8, 0.8};
    double L[K * D * D] = {0};
    for (int j = 0; j < K; j++)
        for (int a = 0; a < D; a++) L[(j * D + a) * D + a] = sd[j * D + a];
    float *x = sample_mixture(9, N, K, D, w, mu, L, NULL);
    hd_gmm_opts o = hd_gmm_opts_default();
    o.k = K;
    o.cov = HD_GMM_DIAG;
    hd_gmm m;
    assert_int_equal(hd_gmm_fit(&o, N, D, x, &m), HD_OK);
    assert_int_equal(m.cov, HD_GMM_DIAG);
    assert_true(m.converged);
    for (int j = 0; j < K; j++) {
        int q = match(&m, mu + j * D, D);
        double nj = w[j] * N;
        assert_within(m.weight[q], w[j], 4 * sqrt(w[j] * (1 - w[j]) / N), "weight");
        for (int a = 0; a < D; a++) {
            double v = sd[j * D + a] * sd[j * D + a];
            assert_within(m.mean[q * D + a], mu[j * D + a], 4 * sqrt(v / nj), "mean");
            assert_within(m.cov_data[q * D + a], v, 4 * v * sqrt(2 / nj), "variance");
            assert_within(m.chol[q * D + a], sqrt(m.cov_data[q * D + a]), 1e-15, "standard deviation");
        }
    }
    const float row[D] = {0.5f, 6.0f};
    double want = 0, got;
    for (int q = 0; q < K; q++) {
        double p = m.weight[q];
        for (int a = 0; a < D; a++) {
            double v = m.cov_data[q * D + a], e = row[a] - m.mean[q * D + a];
            p *= exp(-0.5 * e * e / v) / sqrt(2 * HD_PI * v);
        }
        want += p;
    }
    assert_int_equal(hd_gmm_loglik(&m, 1, row, &got), HD_OK);
    assert_within(got, log(want), 1e-10, "log density");
    hd_gmm_release(&m);
    free(x);
}

/* Rows at two points only and k = 3 or 4: the seeds after the second
 * duplicate a centre, their clusters are empty and the components are
 * re-seeded; the fit still ends with k live components, all at the two
 * points.  Without reg the point covariances are singular. */
static void test_gmm_degenerate(void **state)
{
    (void)state;
    enum { N = 12 };
    float x[N * 2];
    for (int i = 0; i < N; i++) x[2 * i] = x[2 * i + 1] = i % 2 ? 5.0f : 0.0f;
    hd_gmm_opts o = hd_gmm_opts_default();
    o.reg = 1e-3;
    hd_gmm m;
    for (int k = 3; k <= 4; k++) {
        o.k = k;
        assert_int_equal(hd_gmm_fit(&o, N, 2, x, &m), HD_OK);
        double wsum = 0;
        for (int j = 0; j < k; j++) {
            assert_true(m.weight[j] > 1e-3);
            wsum += m.weight[j];
            double at = m.mean[2 * j];
            assert_true(fabs(at) < 1e-9 || fabs(at - 5) < 1e-9);
            assert_within(m.cov_data[j * 4], 1e-3, 1e-9, "variance at a point");
            assert_within(m.cov_data[j * 4 + 1], 0, 1e-9, "covariance at a point");
        }
        assert_within(wsum, 1, 1e-12, "weights' sum");
        assert_true(isfinite(m.mean_loglik));
        hd_gmm_release(&m);
    }
    o.reg = 0;
    assert_error(hd_gmm_fit(&o, N, 2, x, &m), HD_EINVAL, "not positive definite", "raise reg");
    assert_null(m.weight);
}

/* A mixture filled by hand, as from a file: prepare derives the factors, and
 * gives the fitted mixture's bits back. */
static void test_gmm_prepare(void **state)
{
    (void)state;
    float *x = sample_mixture(3, N3, K3, D3, w3, mu3, L3, NULL);
    hd_gmm fit = fit3(x, 0), m = {0};
    m.k = K3;
    m.d = D3;
    m.cov = HD_GMM_FULL;
    m.weight = hd_malloc(K3 * sizeof(double));
    m.mean = hd_malloc(K3 * D3 * sizeof(double));
    m.cov_data = hd_malloc(K3 * D3 * D3 * sizeof(double));
    memcpy(m.weight, fit.weight, K3 * sizeof(double));
    memcpy(m.mean, fit.mean, K3 * D3 * sizeof(double));
    memcpy(m.cov_data, fit.cov_data, K3 * D3 * D3 * sizeof(double));
    double a[4], b[4];
    assert_error(hd_gmm_loglik(&m, 4, x, a), HD_EINVAL, "not fitted or prepared", NULL);
    assert_int_equal(hd_gmm_prepare(&m), HD_OK);
    assert_memory_equal(m.chol, fit.chol, K3 * D3 * D3 * sizeof(double));
    assert_memory_equal(m.log_norm, fit.log_norm, K3 * sizeof(double));
    assert_int_equal(hd_gmm_loglik(&m, 4, x, a), HD_OK);
    assert_int_equal(hd_gmm_loglik(&fit, 4, x, b), HD_OK);
    assert_memory_equal(a, b, sizeof a);
    /* weights from floats need not sum to 1: densities use w / sum w */
    for (int j = 0; j < K3; j++) m.weight[j] *= 2;
    assert_int_equal(hd_gmm_prepare(&m), HD_OK);
    assert_int_equal(hd_gmm_loglik(&m, 4, x, a), HD_OK);
    for (int i = 0; i < 4; i++) assert_within(a[i], b[i], 1e-12, "log density, weights scaled");

    /* refusals name the component */
    m.weight[1] = -0.1;
    assert_error(hd_gmm_prepare(&m), HD_EINVAL, "component 1", "weight");
    m.weight[1] = 0.3;
    m.cov_data[2 * 9 + 4] = 0.01; /* [1][1] of component 2: no longer positive definite */
    assert_error(hd_gmm_prepare(&m), HD_EINVAL, "component 2", "not positive definite");
    m.cov_data[2 * 9 + 4] = fit.cov_data[2 * 9 + 4];
    m.cov_data[0 * 9 + 1] += 0.5;
    assert_error(hd_gmm_prepare(&m), HD_EINVAL, "component 0", "not symmetric");
    m.cov_data[0 * 9 + 1] = fit.cov_data[0 * 9 + 1];
    m.mean[4] = NAN;
    assert_error(hd_gmm_prepare(&m), HD_EINVAL, "component 1", "mean[1]");
    hd_gmm_release(&m);
    hd_gmm_release(&fit);

    hd_gmm dg;
    assert_int_equal(hd_gmm_alloc(&dg, 2, 3, HD_GMM_DIAG), HD_OK);
    dg.weight[0] = dg.weight[1] = 0.5;
    for (int i = 0; i < 6; i++) dg.cov_data[i] = 1;
    dg.cov_data[4] = 0;
    assert_error(hd_gmm_prepare(&dg), HD_EINVAL, "component 1", "variance 1 is 0");
    hd_gmm_release(&dg);
    free(x);
}

/* ---- mixtures: conditional sampling -------------------------------------- */

static hd_gmm one_component(const double *mu, const double *L)
{
    hd_gmm m;
    assert_int_equal(hd_gmm_alloc(&m, 1, 3, HD_GMM_FULL), HD_OK);
    m.weight[0] = 1;
    memcpy(m.mean, mu, 3 * sizeof(double));
    llt(3, L, m.cov_data);
    assert_int_equal(hd_gmm_prepare(&m), HD_OK);
    return m;
}

/* One 3-D component, conditioned on its first c = 1 and c = 2 dims: sample
 * means within 4 sqrt(C_bb / N) and (co)variances within 4 sqrt((C_aa C_bb +
 * C_ab^2) / N) of the analytic conditional mu_b + S_ba S_aa^-1 (x_a - mu_a),
 * C = S_bb - S_ba S_aa^-1 S_ab (computed here with explicit inverses). */
static void test_sample_conditional_gaussian(void **state)
{
    (void)state;
    enum { N = 20000 };
    const double mu[3] = {1, -2, 0.5}, L[9] = {1.5, 0, 0, 0.6, 1.2, 0, -0.4, 0.5, 0.8};
    hd_gmm m = one_component(mu, L);
    const double *S = m.cov_data;
    float *noise = normals(21, N * 3), *out = malloc(N * 2 * sizeof(float)), *cond = malloc(N * 2 * sizeof(float));
    assert_true(out && cond);
    for (int c = 1; c <= 2; c++) {
        int r = 3 - c;
        const double xa[2] = {2.0, -3.0};
        double mean[2], C[4];
        if (c == 1) {
            for (int b = 0; b < 2; b++) mean[b] = mu[1 + b] + S[(1 + b) * 3] / S[0] * (xa[0] - mu[0]);
            for (int b = 0; b < 2; b++)
                for (int e = 0; e < 2; e++) C[b * 2 + e] = S[(1 + b) * 3 + 1 + e] - S[(1 + b) * 3] * S[1 + e] / S[0];
        } else {
            double det = S[0] * S[4] - S[1] * S[3];
            double inv[4] = {S[4] / det, -S[1] / det, -S[3] / det, S[0] / det}, g[2];
            for (int a = 0; a < 2; a++) g[a] = inv[a * 2] * (xa[0] - mu[0]) + inv[a * 2 + 1] * (xa[1] - mu[1]);
            mean[0] = mu[2] + S[6] * g[0] + S[7] * g[1];
            C[0] = S[8] - (S[6] * (inv[0] * S[2] + inv[1] * S[5]) + S[7] * (inv[2] * S[2] + inv[3] * S[5]));
        }
        for (int i = 0; i < N; i++)
            for (int a = 0; a < c; a++) cond[i * c + a] = (float)xa[a];
        assert_int_equal(hd_gmm_sample_cond(&m, c, N, cond, noise, out), HD_OK);
        double sm[2] = {0}, sc[4] = {0};
        for (int i = 0; i < N; i++)
            for (int b = 0; b < r; b++) sm[b] += out[i * r + b] / (double)N;
        for (int i = 0; i < N; i++)
            for (int b = 0; b < r; b++)
                for (int e = 0; e < r; e++) sc[b * r + e] += (out[i * r + b] - sm[b]) * (out[i * r + e] - sm[e]) / (N - 1.0);
        for (int b = 0; b < r; b++) {
            assert_within(sm[b], mean[b], 4 * sqrt(C[b * r + b] / N), "conditional mean");
            for (int e = 0; e < r; e++)
                assert_within(sc[b * r + e], C[b * r + e],
                              4 * sqrt((C[b * r + b] * C[e * r + e] + C[b * r + e] * C[b * r + e]) / N),
                              "conditional covariance");
        }
    }
    /* c = 0: the joint */
    float *joint = malloc(N * 3 * sizeof(float));
    float *noise4 = normals(22, N * 4);
    assert_int_equal(hd_gmm_sample_cond(&m, 0, N, NULL, noise4, joint), HD_OK);
    for (int a = 0; a < 3; a++) {
        double s = 0;
        for (int i = 0; i < N; i++) s += joint[i * 3 + a] / (double)N;
        assert_within(s, mu[a], 4 * sqrt(S[a * 3 + a] / N), "mean");
    }
    hd_gmm_release(&m);
    free(noise);
    free(noise4);
    free(out);
    free(cond);
    free(joint);
}

/* Two 2-D components far apart in x1: conditioned on x0 near one of them,
 * the other's posterior weight is e^-10 / (1 + e^-10) = 4.5e-5, so among 4000
 * draws at most 3 come from it (expected 0.18; P(>= 4) = 4e-5); midway the
 * two are equally likely (2000 +- 4 x 31.6).  The first noise value picks the
 * component through Phi: -5 the first, +5 the last, with z = 0 the
 * conditional mean exactly. */
static void test_sample_mixture_posterior(void **state)
{
    (void)state;
    enum { N = 4000 };
    hd_gmm m;
    assert_int_equal(hd_gmm_alloc(&m, 2, 2, HD_GMM_FULL), HD_OK);
    const double mu[4] = {0, -10, 5, 10}, S[8] = {1, 0.5, 0.5, 1, 1, -0.3, -0.3, 1};
    m.weight[0] = m.weight[1] = 0.5;
    memcpy(m.mean, mu, sizeof mu);
    memcpy(m.cov_data, S, sizeof S);
    assert_int_equal(hd_gmm_prepare(&m), HD_OK);
    float *noise = normals(31, N * 2), *cond = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float));
    assert_true(cond && out);
    const float at[3] = {4.5f, 0.5f, 2.5f};
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < N; i++) cond[i] = at[t];
        assert_int_equal(hd_gmm_sample_cond(&m, 1, N, cond, noise, out), HD_OK);
        int first = 0;
        double mean_b = 0;
        for (int i = 0; i < N; i++) first += out[i] < 0;
        for (int i = 0; i < N; i++)
            if (out[i] >= 0) mean_b += out[i];
        if (t == 0) {
            assert_true(first <= 3);
            mean_b /= N - first; /* component 1's conditional: 10 - 0.3 (4.5 - 5), sd sqrt(0.91) */
            assert_within(mean_b, 10.15, 4 * sqrt(0.91 / N), "conditional mean");
        } else if (t == 1) {
            assert_true(first >= N - 3);
        } else {
            assert_within(first, N / 2, 4 * sqrt(N / 4.0), "draws from the first component midway");
        }
    }
    float z[3] = {-5, 0, 0}, o[2];
    assert_int_equal(hd_gmm_sample_cond(&m, 0, 1, NULL, z, o), HD_OK);
    assert_true(o[0] == 0.0f && o[1] == -10.0f);
    z[0] = 5;
    assert_int_equal(hd_gmm_sample_cond(&m, 0, 1, NULL, z, o), HD_OK);
    assert_true(o[0] == 5.0f && o[1] == 10.0f);
    z[0] = 40; /* Phi = 1 exactly */
    assert_int_equal(hd_gmm_sample_cond(&m, 0, 1, NULL, z, o), HD_OK);
    assert_true(o[0] == 5.0f);
    hd_gmm_release(&m);
    free(noise);
    free(cond);
    free(out);
}

/* The row sampler draws what the batch draws, bit for bit (the same plain
 * loops, no BLAS), for full and diagonal mixtures and every c; its
 * refusals name the call. */
static void test_sampler_rows(void **state)
{
    (void)state;
    enum { N = 300, D = 4 };
    float *x = normals(41, N * D);
    for (int i = 0; i < N; i++) x[i * D + 1] += i % 3 ? 4.0f : -2.0f; /* clusters */
    for (int cov = 0; cov < 2; cov++) {
        hd_gmm_opts o = hd_gmm_opts_default();
        o.k = 3;
        o.cov = cov ? HD_GMM_DIAG : HD_GMM_FULL;
        hd_gmm m;
        assert_int_equal(hd_gmm_fit(&o, N, D, x, &m), HD_OK);
        for (int64_t c = 0; c < D; c++) {
            int64_t r = D - c;
            float *noise = normals(42 + (uint64_t)c, N * (1 + r)), *want = malloc(N * r * sizeof(float));
            float got[D];
            assert_int_equal(hd_gmm_sample_cond(&m, c, N, x, noise, want), HD_OK);
            hd_gmm_sampler *s;
            assert_int_equal(hd_gmm_sampler_new(&m, c, &s), HD_OK);
            double *scratch = malloc(hd_gmm_sampler_scratch(s) * sizeof(double));
            for (int i = 0; i < N; i++) {
                /* the batch read x as rows of c conditions */
                float row[D];
                for (int64_t a = 0; a < c; a++) row[a] = x[i * c + a];
                hd_gmm_sampler_row(s, row, noise + i * (1 + r), scratch, got);
                assert_memory_equal(got, want + i * r, (size_t)r * sizeof(float));
            }
            free(scratch);
            hd_gmm_sampler_free(s);
            free(noise);
            free(want);
        }
        hd_gmm_sampler *s;
        assert_error(hd_gmm_sampler_new(&m, D, &s), HD_EINVAL, "hd_gmm_sampler_new", "c = 4");
        hd_gmm_release(&m);
    }
    free(x);
}

/* ---- mixtures: errors ---------------------------------------------------- */

static void test_gmm_errors(void **state)
{
    (void)state;
    float x[20];
    for (int i = 0; i < 20; i++) x[i] = (float)((i * 7) % 11);
    hd_gmm_opts o = hd_gmm_opts_default();
    hd_gmm m;
    o.k = 0;
    assert_error(hd_gmm_fit(&o, 10, 2, x, &m), HD_EINVAL, "k = 0", NULL);
    o.k = 3;
    assert_error(hd_gmm_fit(&o, 10, 0, x, &m), HD_EINVAL, "d = 0", NULL);
    assert_error(hd_gmm_fit(&o, 2, 2, x, &m), HD_EINVAL, "2 rows", "fewer than the k = 3");
    assert_error(hd_gmm_fit(&o, 10, 2, NULL, &m), HD_EINVAL, "x is NULL", NULL);
    assert_error(hd_gmm_fit(NULL, 10, 2, x, &m), HD_EINVAL, "NULL options", NULL);
    x[15] = INFINITY;
    assert_error(hd_gmm_fit(&o, 10, 2, x, &m), HD_EINVAL, "x row 7, column 1", "inf");
    x[15] = NAN;
    assert_error(hd_gmm_fit(&o, 10, 2, x, &m), HD_EINVAL, "x row 7, column 1", "nan");
    assert_null(m.weight);
    x[15] = 1;
    o.max_iter = 0;
    assert_error(hd_gmm_fit(&o, 10, 2, x, &m), HD_EINVAL, "max_iter = 0", NULL);
    o.max_iter = 200;
    o.reg = -1;
    assert_error(hd_gmm_check(&o), HD_EINVAL, "reg = -1", NULL);
    o.reg = 1e-6;
    o.tol = NAN;
    assert_error(hd_gmm_check(&o), HD_EINVAL, "tol", NULL);
    o.tol = 1e-4;
    o.cov = (hd_gmm_cov)7;
    assert_error(hd_gmm_check(&o), HD_EINVAL, "cov = 7", NULL);
    hd_gmm_cov cov;
    assert_int_equal(hd_gmm_cov_parse("diag", &cov), HD_OK);
    assert_int_equal(cov, HD_GMM_DIAG);
    assert_string_equal(hd_gmm_cov_name(HD_GMM_FULL), "full");
    assert_error(hd_gmm_cov_parse("spherical", &cov), HD_EINVAL, "spherical", "full, diag");

    o.cov = HD_GMM_FULL;
    o.k = 2;
    assert_int_equal(hd_gmm_fit(&o, 10, 2, x, &m), HD_OK);
    float noise[30] = {0}, out[20], cond[10] = {0};
    assert_error(hd_gmm_sample_cond(&m, 2, 5, cond, noise, out), HD_EINVAL, "c = 2", "0 to d - 1 = 1");
    assert_error(hd_gmm_sample_cond(&m, -1, 5, cond, noise, out), HD_EINVAL, "c = -1", NULL);
    cond[3] = NAN;
    assert_error(hd_gmm_sample_cond(&m, 1, 5, cond, noise, out), HD_EINVAL, "cond row 3, column 0", "nan");
    cond[3] = 0;
    noise[5] = INFINITY;
    assert_error(hd_gmm_sample_cond(&m, 1, 5, cond, noise, out), HD_EINVAL, "noise row 2, column 1", "inf");
    assert_int_equal(hd_gmm_sample_cond(&m, 1, 0, NULL, NULL, NULL), HD_OK);
    double ll[10];
    x[3] = NAN;
    assert_error(hd_gmm_loglik(&m, 10, x, ll), HD_EINVAL, "x row 1, column 1", "nan");
    hd_gmm_release(&m);
    assert_error(hd_gmm_sample_cond(&m, 0, 1, cond, noise, out), HD_EINVAL, "k = 0", NULL);
    assert_error(hd_gmm_alloc(&m, 2, 0, HD_GMM_FULL), HD_EINVAL, "d = 0", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pca_exact_covariance),
        cmocka_unit_test(test_pca_project_reconstruct),
        cmocka_unit_test(test_pca_rank_deficient),
        cmocka_unit_test(test_pca_errors),
        cmocka_unit_test(test_gmm_full),
        cmocka_unit_test(test_gmm_deterministic),
        cmocka_unit_test(test_gmm_diag),
        cmocka_unit_test(test_gmm_degenerate),
        cmocka_unit_test(test_gmm_prepare),
        cmocka_unit_test(test_sample_conditional_gaussian),
        cmocka_unit_test(test_sample_mixture_posterior),
        cmocka_unit_test(test_sampler_rows),
        cmocka_unit_test(test_gmm_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
