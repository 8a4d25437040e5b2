/* Principal component analysis (nn.h): the sample covariance accumulated in
 * double over fixed chunks of rows (cblas_dsyrk), its eigendecomposition by
 * LAPACK's dsyev (core/linalg.h), and projections through cblas_dgemm on
 * chunks of rows, in parallel over chunks. */
#include "hadron/nn.h"
#include "core/linalg.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#define CHUNK 256       /* rows per block of a projection */
#define MAX_DIM 32768   /* d x d doubles, and LAPACK's int */

static int check_x(const char *fn, int64_t n, int64_t d, const float *x)
{
    if (!x) return hd_error(HD_EINVAL, "%s: x is NULL", fn);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return hd_error(HD_EINVAL, "%s: x row %lld, column %lld is %g", fn, (long long)i, (long long)j,
                                (double)x[i * d + j]);
    return HD_OK;
}

void hd_pca_release(hd_pca *p)
{
    if (!p) return;
    hd_free(p->mean);
    hd_free(p->components);
    hd_free(p->variance);
    memset(p, 0, sizeof *p);
}

int hd_pca_fit(int64_t n, int64_t d, const float *x, int64_t k, hd_pca *out)
{
    if (!out) return hd_error(HD_EINVAL, "hd_pca_fit: NULL result");
    memset(out, 0, sizeof *out);
    if (d < 1 || d > MAX_DIM)
        return hd_error(HD_EINVAL, "hd_pca_fit: d = %lld dimensions, need 1 to %d", (long long)d, MAX_DIM);
    if (k < 1 || k > d)
        return hd_error(HD_EINVAL, "hd_pca_fit: k = %lld components, need 1 to d = %lld", (long long)k, (long long)d);
    if (n < 2) return hd_error(HD_EINVAL, "hd_pca_fit: %lld rows, need at least 2", (long long)n);
    if ((uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)d)
        return hd_error(HD_EINVAL, "hd_pca_fit: %lld rows of %lld is too many", (long long)n, (long long)d);
    int rc = check_x("hd_pca_fit", n, d, x);
    if (rc != HD_OK) return rc;

    size_t dd = (size_t)d * (size_t)d;
    double *mean = hd_calloc((size_t)d, sizeof(double)), *cov = hd_calloc(dd, sizeof(double));
    double *w = hd_malloc((size_t)d * sizeof(double)), *buf = hd_malloc((size_t)CHUNK * (size_t)d * sizeof(double));
    double *comp = hd_malloc((size_t)k * (size_t)d * sizeof(double)), *var = hd_malloc((size_t)k * sizeof(double));
    if (!mean || !cov || !w || !buf || !comp || !var) rc = HD_ENOMEM;
    if (rc == HD_OK) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
        for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
        for (int64_t r0 = 0; r0 < n; r0 += CHUNK) {
            int64_t b = n - r0 < CHUNK ? n - r0 : CHUNK;
            for (int64_t i = 0; i < b; i++)
                for (int64_t j = 0; j < d; j++) buf[i * d + j] = (double)x[(r0 + i) * d + j] - mean[j];
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)b, 1.0 / (double)(n - 1), buf, (int)d,
                        1.0, cov, (int)d);
        }
        double trace = 0;
        for (int64_t i = 0; i < d; i++) {
            trace += cov[i * d + i];
            for (int64_t j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i]; /* mirror the upper triangle */
        }
        rc = hd_sym_eig("hd_pca_fit", (int)d, cov, w, 1);
        for (int64_t a = 0; rc == HD_OK && a < k; a++) {
            const double *v = cov + (size_t)(d - 1 - a) * (size_t)d; /* ascending: the largest last */
            int64_t big = 0;
            for (int64_t j = 1; j < d; j++)
                if (fabs(v[j]) > fabs(v[big])) big = j;
            double s = v[big] < 0 ? -1.0 : 1.0;
            for (int64_t j = 0; j < d; j++) comp[a * d + j] = s * v[j];
            var[a] = fmax(w[d - 1 - a], 0.0); /* rounding may leave -1e-16 |C| for a null direction */
        }
        if (rc == HD_OK) {
            *out = (hd_pca){.d = d, .k = k, .mean = mean, .components = comp, .variance = var,
                            .total_variance = trace};
            mean = comp = var = NULL;
        }
    }
    hd_free(mean);
    hd_free(cov);
    hd_free(w);
    hd_free(buf);
    hd_free(comp);
    hd_free(var);
    return rc;
}

static int check_pca(const char *fn, const hd_pca *p, int64_t n, const void *in, const void *out)
{
    if (!p || !p->mean || !p->components)
        return hd_error(HD_EINVAL, "%s: PCA is NULL or not fitted (hd_pca_fit)", fn);
    if (p->d < 1 || p->d > MAX_DIM || p->k < 1 || p->k > p->d)
        return hd_error(HD_EINVAL, "%s: PCA of %lld components in %lld dimensions (need 1 <= k <= d <= %d)", fn,
                        (long long)p->k, (long long)p->d, MAX_DIM);
    if (n < 0) return hd_error(HD_EINVAL, "%s: %lld rows", fn, (long long)n);
    if (n > 0 && (!in || !out)) return hd_error(HD_EINVAL, "%s: NULL input or output", fn);
    return HD_OK;
}

/* in [n, n_in] -> out [n, n_out] through chunks of CHUNK rows in parallel:
 * project: out = (in - mean) C^T; else out = mean + in C. */
static int transform(const hd_pca *p, int64_t n, const float *in, float *out, int project)
{
    int64_t d = p->d, k = p->k, n_in = project ? d : k, n_out = project ? k : d;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    int nt = omp_get_max_threads();
    if (nt > chunks) nt = (int)(chunks > 0 ? chunks : 1);
    size_t per = (size_t)CHUNK * (size_t)(n_in + n_out);
    double *scratch = hd_malloc((size_t)nt * per * sizeof(double));
    if (!scratch) return HD_ENOMEM;
#pragma omp parallel num_threads(nt)
    {
        double *a = scratch + (size_t)omp_get_thread_num() * per, *b = a + (size_t)CHUNK * (size_t)n_in;
#pragma omp for schedule(static)
        for (int64_t c = 0; c < chunks; c++) {
            int64_t r0 = c * CHUNK, rows = n - r0 < CHUNK ? n - r0 : CHUNK;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < n_in; j++)
                    a[i * n_in + j] = (double)in[(r0 + i) * n_in + j] - (project ? p->mean[j] : 0.0);
            if (project)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)d, 1.0, a, (int)d,
                            p->components, (int)d, 0.0, b, (int)k);
            else
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)k, 1.0, a, (int)k,
                            p->components, (int)d, 0.0, b, (int)d);
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < n_out; j++)
                    out[(r0 + i) * n_out + j] = (float)(b[i * n_out + j] + (project ? 0.0 : p->mean[j]));
        }
    }
    hd_free(scratch);
    return HD_OK;
}

int hd_pca_project(const hd_pca *p, int64_t n, const float *x, float *z)
{
    int rc = check_pca("hd_pca_project", p, n, x, z);
    return rc != HD_OK || n == 0 ? rc : transform(p, n, x, z, 1);
}

int hd_pca_reconstruct(const hd_pca *p, int64_t n, const float *z, float *x)
{
    int rc = check_pca("hd_pca_reconstruct", p, n, z, x);
    return rc != HD_OK || n == 0 ? rc : transform(p, n, z, x, 0);
}

void hd_pca_reconstruct_row(const hd_pca *p, const float *z, float *x)
{
    for (int64_t j = 0; j < p->d; j++) {
        double s = 0;
        for (int64_t a = 0; a < p->k; a++) s += (double)z[a] * p->components[a * p->d + j];
        x[j] = (float)(s + p->mean[j]);
    }
}
