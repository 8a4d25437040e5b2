/* Frechet distance between Gaussians fitted to two samples (the FID of
 * Heusel et al. when the features come from an image classifier).
 *
 * Tr((C1 C2)^(1/2)) is computed without a non-symmetric matrix square root:
 * with S = C1^(1/2) (symmetric, from the eigendecomposition of C1), C1 C2 is
 * similar to S C2 S, which is symmetric positive semi-definite, so the trace
 * is the sum of the square roots of its eigenvalues.  Both decompositions use
 * LAPACK's dsyev from OpenBLAS; eigenvalues within rounding of zero (or
 * below it) count as zero, so singular covariances (dead ReLU features) are
 * fine. */
#include "hadron/metrics.h"
#include "metrics/metrics_internal.h"
#include "core/linalg.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* Mean mu[d] and full covariance cov[d*d] (n - 1 normalisation); work holds n*d doubles. */
static void moments(int64_t n, const float *x, int64_t d, double *mu, double *cov, double *work)
{
    memset(mu, 0, (size_t)d * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mu[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) mu[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) work[i * d + j] = (double)x[i * d + j] - mu[j];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0 / (double)(n - 1), work, (int)d, 0.0, cov,
                (int)d);
    for (int64_t i = 0; i < d; i++) /* mirror the upper triangle */
        for (int64_t j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i];
}

/* Eigenvalues at or below d eps |lambda|_max are rounding noise around zero
 * (a singular covariance gives +-1e-16 |C|, whose square root, 1e-8, would
 * otherwise enter the trace); they count as zero. */
static double noise_floor(int64_t d, const double *w)
{
    double m = fmax(fabs(w[0]), fabs(w[d - 1])); /* ascending */
    return (double)d * DBL_EPSILON * m;
}

/* Tr((c1 c2)^(1/2)); destroys c1. */
static int trace_sqrt_product(int64_t d, double *c1, const double *c2, double *tmp, double *s, double *w, double *out)
{
    int rc = hd_sym_eig("frechet distance", (int)d, c1, w, 1);
    if (rc != HD_OK) return rc;
    double floor1 = noise_floor(d, w);
    for (int64_t k = 0; k < d; k++) { /* row k: eigenvector k scaled by lambda_k^(1/4) */
        double f = w[k] > floor1 ? sqrt(sqrt(w[k])) : 0.0;
        for (int64_t i = 0; i < d; i++) c1[k * d + i] *= f;
    }
    /* S = V^T V with V's rows the scaled eigenvectors: U diag(sqrt(lambda)) U^T */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, c1, (int)d, c1, (int)d, 0.0, s,
                (int)d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, s, (int)d, c2, (int)d, 0.0, tmp,
                (int)d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, tmp, (int)d, s, (int)d, 0.0, c1,
                (int)d);
    for (int64_t i = 0; i < d; i++) /* symmetrise away rounding before the symmetric solver */
        for (int64_t j = 0; j < i; j++) c1[i * d + j] = c1[j * d + i] = 0.5 * (c1[i * d + j] + c1[j * d + i]);
    if ((rc = hd_sym_eig("frechet distance", (int)d, c1, w, 0)) != HD_OK) return rc;
    double t = 0, floor2 = noise_floor(d, w);
    for (int64_t k = 0; k < d; k++) t += w[k] > floor2 ? sqrt(w[k]) : 0.0;
    *out = t;
    return HD_OK;
}

int hd_frechet_distance(int64_t n1, const float *x1, int64_t n2, const float *x2, int64_t d, double *out)
{
    if (!out) return hd_error(HD_EINVAL, "frechet distance: NULL result pointer");
    *out = NAN;
    if (d < 1) return hd_error(HD_EINVAL, "frechet distance: %lld features, need at least 1", (long long)d);
    if (d > 32768) return hd_error(HD_EINVAL, "frechet distance: %lld features, at most 32768", (long long)d);
    int64_t n_max = n1 > n2 ? n1 : n2;
    if (n_max > INT_MAX || (n_max > 0 && (uint64_t)n_max > SIZE_MAX / sizeof(double) / (uint64_t)d))
        return hd_error(HD_EINVAL, "frechet distance: %lld rows of %lld features is too many", (long long)n_max,
                        (long long)d);
    int rc;
    if ((rc = hd_metric_check_sample("frechet distance", "1", n1, x1, d, 2)) ||
        (rc = hd_metric_check_sample("frechet distance", "2", n2, x2, d, 2)))
        return rc;

    size_t dd = (size_t)d * (size_t)d;
    double *mu1 = hd_malloc((size_t)d * sizeof(double)), *mu2 = hd_malloc((size_t)d * sizeof(double));
    double *w = hd_malloc((size_t)d * sizeof(double)), *c1 = hd_malloc(dd * sizeof(double));
    double *c2 = hd_malloc(dd * sizeof(double)), *tmp = hd_malloc(dd * sizeof(double));
    double *s = hd_malloc(dd * sizeof(double)), *work = hd_malloc((size_t)n_max * (size_t)d * sizeof(double));
    rc = mu1 && mu2 && w && c1 && c2 && tmp && s && work ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) {
        moments(n1, x1, d, mu1, c1, work);
        moments(n2, x2, d, mu2, c2, work);
        double dist = 0, trace = 0, tr_sqrt = 0;
        for (int64_t j = 0; j < d; j++) {
            dist += (mu1[j] - mu2[j]) * (mu1[j] - mu2[j]);
            trace += c1[j * d + j] + c2[j * d + j];
        }
        rc = trace_sqrt_product(d, c1, c2, tmp, s, w, &tr_sqrt);
        /* >= 0 in exact arithmetic; rounding may leave -1e-15 for equal samples */
        if (rc == HD_OK) *out = fmax(dist + trace - 2.0 * tr_sqrt, 0.0);
    }
    hd_free(mu1);
    hd_free(mu2);
    hd_free(w);
    hd_free(c1);
    hd_free(c2);
    hd_free(tmp);
    hd_free(s);
    hd_free(work);
    return rc;
}
