/* Two-sample distances between real and generated feature rows, after
 * jetnet's evaluation (arXiv:2211.10295, jetnet/evaluation/gen_metrics.py):
 * the Frechet physics distance extrapolated to infinite batches, the kernel
 * physics distance (unbiased MMD with a polynomial kernel) and per-feature
 * 1-D Wasserstein distances with bootstrap errors (metrics.h).
 *
 * Draw k of a metric (an FPD draw, a KPD batch, a W1 resample) takes its
 * rows from its own stream hd_rng(seed, HD_STREAM_USER + k).  Draws run in
 * parallel, one per thread, so the LAPACK and BLAS calls inside each run
 * single-threaded (OpenBLAS's OpenMP build does so inside a parallel
 * region; its eigensolver's last bits depend on its thread count), and
 * results are summed in draw order: a result depends on the seed and not
 * on the thread count. */
#include "hadron/metrics.h"
#include "metrics/metrics_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hd_metric_check_sample(const char *metric, const char *which, int64_t n, const float *x, int64_t d,
                           int64_t min_rows)
{
    if (!x) return hd_error(HD_EINVAL, "%s: sample %s is NULL", metric, which);
    if (n < min_rows)
        return hd_error(HD_EINVAL, "%s: sample %s has %lld rows, need at least %lld", metric, which, (long long)n,
                        (long long)min_rows);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return hd_error(HD_EINVAL, "%s: sample %s, row %lld, column %lld is %g", metric, which,
                            (long long)(i / d), (long long)(i % d), (double)x[i]);
    return HD_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double hd_quantile_sorted(const double *v, int64_t n, double q)
{
    double pos = q * (double)(n - 1);
    int64_t i = (int64_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

void hd_sort_doubles(double *v, int64_t n) { qsort(v, (size_t)n, sizeof *v, cmp_double); }

double hd_quantile(double *v, int64_t n, double q)
{
    hd_sort_doubles(v, n);
    return hd_quantile_sorted(v, n, q);
}

/* The checks FPD, KPD and W1 start with; *n_min (may be NULL) is the
 * smaller sample's row count. */
static int check_pair(const char *metric, int64_t n_real, const float *real, int64_t n_gen, const float *gen,
                      int64_t d, int64_t min_rows, int64_t *n_min)
{
    if (d < 1 || d > 1000000) return hd_error(HD_EINVAL, "%s: %lld features, need 1 to 10^6", metric, (long long)d);
    int rc = hd_metric_check_sample(metric, "real", n_real, real, d, min_rows);
    if (rc == HD_OK) rc = hd_metric_check_sample(metric, "generated", n_gen, gen, d, min_rows);
    if (rc == HD_OK && (n_real > UINT32_MAX || n_gen > UINT32_MAX))
        rc = hd_error(HD_EINVAL, "%s: %lld and %lld rows, at most 2^32 - 1 per sample", metric, (long long)n_real,
                      (long long)n_gen);
    if (n_min) *n_min = n_real < n_gen ? n_real : n_gen;
    return rc;
}

/* FPD's and KPD's start: the result cleared (all 0 if the call fails), the
 * samples checked, and the batch size: size_opt, or when that is 0 the
 * smaller sample's row count capped at cap. */
static int begin(const char *metric, void *out, size_t size, int64_t n_real, const float *real, int64_t n_gen,
                 const float *gen, int64_t d, int64_t min_rows, int64_t size_opt, int64_t cap, int64_t *batch)
{
    int64_t n_min = 0;
    *batch = 0;
    if (!out) return hd_error(HD_EINVAL, "%s: NULL result", metric);
    memset(out, 0, size);
    int rc = check_pair(metric, n_real, real, n_gen, gen, d, min_rows, &n_min);
    *batch = size_opt > 0 ? size_opt : n_min < cap ? n_min : cap;
    return rc;
}

/* Copies of both samples divided by the real sample's max |x| per feature
 * (1 where that is 0), or plain copies; one allocation, hd_free(*xs). */
static int normalised(int64_t n_real, const float *real, int64_t n_gen, const float *gen, int64_t d, int normalise,
                      float **xs, float **ys)
{
    double *scale = hd_malloc((size_t)d * sizeof(double));
    float *buf = hd_malloc((size_t)(n_real + n_gen) * (size_t)d * sizeof(float));
    if (!scale || !buf) {
        hd_free(scale);
        hd_free(buf);
        return HD_ENOMEM;
    }
    for (int64_t j = 0; j < d; j++) scale[j] = 0;
    if (normalise)
        for (int64_t i = 0; i < n_real; i++)
            for (int64_t j = 0; j < d; j++) scale[j] = fmax(scale[j], fabs((double)real[i * d + j]));
    for (int64_t j = 0; j < d; j++)
        if (scale[j] == 0) scale[j] = 1;
    for (int64_t i = 0; i < n_real; i++)
        for (int64_t j = 0; j < d; j++) buf[i * d + j] = (float)(real[i * d + j] / scale[j]);
    float *g = buf + n_real * d;
    for (int64_t i = 0; i < n_gen; i++)
        for (int64_t j = 0; j < d; j++) g[i * d + j] = (float)(gen[i * d + j] / scale[j]);
    hd_free(scale);
    *xs = buf;
    *ys = g;
    return HD_OK;
}

/* k rows of x [n, d] drawn with replacement into out [k, d]. */
static void draw_rows(hd_rng *r, int64_t n, const float *x, int64_t d, int64_t k, float *out)
{
    for (int64_t i = 0; i < k; i++) {
        int64_t row = (int64_t)hd_rng_below(r, (uint32_t)n);
        memcpy(out + i * d, x + row * d, (size_t)d * sizeof(float));
    }
}

/* The distance of two equal-sized batches (hd_frechet_distance, or
 * hd_mmd_poly of degree 4). */
typedef int (*batch_distance)(int64_t n, const float *x, const float *y, int64_t d, double *out);

static int frechet_batch(int64_t n, const float *x, const float *y, int64_t d, double *out)
{
    return hd_frechet_distance(n, x, n, y, d, out);
}

static int mmd4_batch(int64_t n, const float *x, const float *y, int64_t d, double *out)
{
    return hd_mmd_poly(n, x, n, y, d, 4, out);
}

/* What both FPD and KPD do: scale both samples (normalise: by the real
 * sample's max |x|), then for each draw q < n_draws, rows drawn with
 * replacement from stream HD_STREAM_USER + q, size[q / per_size] of each
 * sample, and vals[q] = their distance.  Draws run one per thread; the
 * lowest failing draw's message is the one kept. */
static int parallel_draws(const char *metric, int64_t n_real, const float *real, int64_t n_gen, const float *gen,
                          int64_t d, int normalise, uint64_t seed, int64_t n_draws, const int64_t *size,
                          int64_t per_size, batch_distance distance, double *vals)
{
    int64_t biggest = 0;
    for (int64_t k = 0; k * per_size < n_draws; k++) biggest = size[k] > biggest ? size[k] : biggest;
    float *xs, *ys;
    int rc = normalised(n_real, real, n_gen, gen, d, normalise, &xs, &ys);
    if (rc != HD_OK) return rc;
    int nt = omp_get_max_threads();
    size_t per_thread = 2 * (size_t)biggest * (size_t)d;
    float *buf = hd_malloc((size_t)nt * per_thread * sizeof(float));
    int64_t failed = n_draws;
    char msg[512] = "";
    rc = buf ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) {
#pragma omp parallel for schedule(dynamic) num_threads(nt)
        for (int64_t q = 0; q < n_draws; q++) {
            int64_t batch = size[q / per_size];
            float *b1 = buf + (size_t)omp_get_thread_num() * per_thread, *b2 = b1 + (size_t)batch * (size_t)d;
            hd_rng r;
            hd_rng_init(&r, seed, HD_STREAM_USER + (uint64_t)q);
            draw_rows(&r, n_real, xs, d, batch, b1);
            draw_rows(&r, n_gen, ys, d, batch, b2);
            int e = distance(batch, b1, b2, d, &vals[q]);
            if (e != HD_OK) {
#pragma omp critical(hd_two_sample_failure)
                if (q < failed) {
                    failed = q;
                    rc = e;
                    snprintf(msg, sizeof msg, "%s", hd_last_error());
                }
            }
        }
    }
    if (rc != HD_OK && msg[0]) hd_error(rc, "%s: draw %lld: %s", metric, (long long)failed, msg);
    hd_free(xs);
    hd_free(buf);
    return rc;
}

/* ---- FPD --------------------------------------------------------------------------- */

hd_fpd_opts hd_fpd_opts_default(void)
{
    return (hd_fpd_opts){.n_points = 10, .n_draws = 20, .normalise = 1, .seed = 42};
}

static double ssr_line(int n, const double *x, const double *y, double a, double b)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += (y[i] - a - b * x[i]) * (y[i] - a - b * x[i]);
    return s;
}

int hd_fpd_line_fit(int n, const double *x, const double *y, double *a, double *b, double *err_a)
{
    if (n < 3) return hd_error(HD_EINVAL, "fpd line fit: %d points, need at least 3", n);
    double sx = 0, sy = 0;
    for (int i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
    }
    double xm = sx / n, ym = sy / n, sxx_c = 0, sxy_c = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sxx_c += (x[i] - xm) * (x[i] - xm);
        sxy_c += (x[i] - xm) * (y[i] - ym);
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    if (!(sxx_c > 0)) return hd_error(HD_EINVAL, "fpd line fit: all %d points at the same 1/N", n);
    double fa = ym - sxy_c / sxx_c * xm, fb = sxy_c / sxx_c; /* the unconstrained line */
    if (!(fa >= 0 && fb >= 0)) {
        /* the optimum lies on a bound: the better of the best line through 0
         * (a = 0) and the best constant (b = 0), each clamped at 0 */
        double b0 = fmax(0.0, sxy / sxx), a0 = fmax(0.0, ym);
        if (ssr_line(n, x, y, 0.0, b0) <= ssr_line(n, x, y, a0, 0.0)) {
            fa = 0.0;
            fb = b0;
        } else {
            fa = a0;
            fb = 0.0;
        }
    }
    *a = fa;
    *b = fb;
    /* (J^T J)^-1 with J = [1, x]: its (0, 0) entry is sum x^2 / (n sum (x - xm)^2) */
    *err_a = sqrt(sxx / (n * sxx_c) * ssr_line(n, x, y, fa, fb) / (n - 2));
    return HD_OK;
}

int hd_fpd(int64_t n_real, const float *real, int64_t n_gen, const float *gen, int64_t d, const hd_fpd_opts *opts,
           hd_fpd_result *out)
{
    double inv_n[HD_FPD_MAX_POINTS]; /* 1 / N of each point */
    hd_fpd_opts o = opts ? *opts : hd_fpd_opts_default();
    int64_t hi;
    int rc = begin("fpd", out, sizeof *out, n_real, real, n_gen, gen, d, 3, o.max_samples, 50000, &hi);
    if (rc != HD_OK) return rc;
    int64_t lo = o.min_samples > 0 ? o.min_samples : (hi * 2 / 5 > 2 ? hi * 2 / 5 : 2);
    if (o.min_samples <= 0 && lo > 20000) lo = 20000;
    if (lo < 2 || lo >= hi || hi > UINT32_MAX)
        return hd_error(HD_EINVAL, "fpd: batch sizes %lld to %lld, need 2 <= min_samples < max_samples", (long long)lo,
                        (long long)hi);
    if (o.n_points < 3 || o.n_points > HD_FPD_MAX_POINTS || o.n_draws < 1)
        return hd_error(HD_EINVAL, "fpd: %d points of %d draws, need 3 to %d points and at least 1 draw", o.n_points,
                        o.n_draws, HD_FPD_MAX_POINTS);

    /* np.linspace(1 / min, 1 / max, n_points), truncated to integers as jetnet's astype("int32") */
    double start = 1.0 / (double)lo, stop = 1.0 / (double)hi, step = (stop - start) / (o.n_points - 1);
    for (int k = 0; k < o.n_points; k++) {
        out->batch[k] = (int64_t)(1.0 / (k == o.n_points - 1 ? stop : k * step + start));
        inv_n[k] = 1.0 / (double)out->batch[k];
    }
    out->n_points = o.n_points;
    double *fd = hd_malloc((size_t)o.n_points * (size_t)o.n_draws * sizeof(double));
    if (!fd) return HD_ENOMEM;
    rc = parallel_draws("fpd", n_real, real, n_gen, gen, d, o.normalise, o.seed, (int64_t)o.n_points * o.n_draws,
                        out->batch, o.n_draws, frechet_batch, fd);
    if (rc == HD_OK) {
        for (int k = 0; k < o.n_points; k++) {
            double sum = 0;
            for (int t = 0; t < o.n_draws; t++) sum += fd[(int64_t)k * o.n_draws + t];
            out->mean_fd[k] = sum / o.n_draws;
        }
        rc = hd_fpd_line_fit(o.n_points, inv_n, out->mean_fd, &out->value, &out->slope, &out->error);
    }
    hd_free(fd);
    return rc;
}

/* ---- KPD --------------------------------------------------------------------------- */

hd_kpd_opts hd_kpd_opts_default(void) { return (hd_kpd_opts){.n_batches = 10, .normalise = 1, .seed = 42}; }

static double ipow(double g, int degree)
{
    double p = g;
    for (int k = 1; k < degree; k++) p *= g;
    return p;
}

/* sum over v[0..n) of (v gamma + 1)^degree in 8 interleaved partial sums
 * (which the compiler vectorises), added in a fixed order. */
static double kernel_row(const double *v, int64_t n, double gamma, int degree)
{
    double acc[8] = {0}, s = 0;
    int64_t j = 0;
    if (degree == 4)
        for (; j + 8 <= n; j += 8)
            for (int k = 0; k < 8; k++) {
                double g = v[j + k] * gamma + 1.0, g2 = g * g;
                acc[k] += g2 * g2;
            }
    else
        for (; j + 8 <= n; j += 8)
            for (int k = 0; k < 8; k++) acc[k] += ipow(v[j + k] * gamma + 1.0, degree);
    for (; j < n; j++) s += ipow(v[j] * gamma + 1.0, degree);
    for (int k = 0; k < 8; k++) s += acc[k];
    return s;
}

#define KERNEL_BLOCK 256

/* Sums of k(a_i, b_j) = (a_i . b_j / d + 1)^degree: over all i < m, j < n
 * into *off (diag NULL), or, for a == b (sym), over i != j into *off and
 * over i == j into *diag, computing the upper triangle only.  block
 * [KERNEL_BLOCK, n] and rows [2 m] are scratch. */
static void kernel_sum(int64_t m, const double *a, int64_t n, const double *b, int64_t d, int degree, double *block,
                       double *rows, double *off, double *diag)
{
    double gamma = 1.0 / (double)d;
    int sym = diag != NULL;
    for (int64_t r0 = 0; r0 < m; r0 += KERNEL_BLOCK) {
        int64_t nr = m - r0 < KERNEL_BLOCK ? m - r0 : KERNEL_BLOCK, c0 = sym ? r0 : 0, nc = n - c0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)nc, (int)d, 1.0, a + r0 * d, (int)d,
                    b + c0 * d, (int)d, 0.0, block, (int)nc);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nr; i++) {
            const double *row = block + i * nc;
            int64_t j0 = sym ? i + 1 : 0; /* row i's own column is i in a symmetric block */
            rows[r0 + i] = kernel_row(row + j0, nc - j0, gamma, degree);
            if (sym) rows[m + r0 + i] = ipow(row[i] * gamma + 1.0, degree);
        }
    }
    double s = 0, t = 0;
    for (int64_t i = 0; i < m; i++) s += rows[i];
    *off = sym ? 2.0 * s : s;
    if (sym) {
        for (int64_t i = 0; i < m; i++) t += rows[m + i];
        *diag = t;
    }
}

int hd_mmd_poly(int64_t m, const float *x, int64_t n, const float *y, int64_t d, int degree, double *out)
{
    if (!out) return hd_error(HD_EINVAL, "mmd: NULL result");
    *out = NAN;
    if (d < 1 || d > 1000000) return hd_error(HD_EINVAL, "mmd: %lld features, need 1 to 10^6", (long long)d);
    if (degree < 1 || degree > 16) return hd_error(HD_EINVAL, "mmd: kernel degree %d, need 1 to 16", degree);
    int rc;
    if ((rc = hd_metric_check_sample("mmd", "x", m, x, d, 2)) || (rc = hd_metric_check_sample("mmd", "y", n, y, d, 2)))
        return rc;
    if (m > INT32_MAX || n > INT32_MAX) return hd_error(HD_EINVAL, "mmd: at most 2^31 - 1 rows per sample");
    int64_t mn = m > n ? m : n;
    double *a = hd_malloc((size_t)(m + n) * (size_t)d * sizeof(double));
    double *block = hd_malloc((size_t)KERNEL_BLOCK * (size_t)mn * sizeof(double));
    double *rows = hd_malloc(2 * (size_t)mn * sizeof(double));
    if (!a || !block || !rows) {
        hd_free(a);
        hd_free(block);
        hd_free(rows);
        return HD_ENOMEM;
    }
    double *b = a + m * d;
    for (int64_t i = 0; i < m * d; i++) a[i] = x[i];
    for (int64_t i = 0; i < n * d; i++) b[i] = y[i];
    double sxx, txx, syy, tyy, sxy;
    kernel_sum(m, a, m, a, d, degree, block, rows, &sxx, &txx);
    kernel_sum(n, b, n, b, d, degree, block, rows, &syy, &tyy);
    kernel_sum(m, a, n, b, d, degree, block, rows, &sxy, NULL);
    *out = sxx / ((double)m * (double)(m - 1)) + syy / ((double)n * (double)(n - 1)) -
           2.0 * sxy / ((double)m * (double)n);
    hd_free(a);
    hd_free(block);
    hd_free(rows);
    return HD_OK;
}

int hd_kpd(int64_t n_real, const float *real, int64_t n_gen, const float *gen, int64_t d, const hd_kpd_opts *opts,
           hd_kpd_result *out)
{
    hd_kpd_opts o = opts ? *opts : hd_kpd_opts_default();
    int64_t bs;
    int rc = begin("kpd", out, sizeof *out, n_real, real, n_gen, gen, d, 2, o.batch_size, 5000, &bs);
    if (rc == HD_OK && (bs < 2 || bs > INT32_MAX || o.n_batches < 1 || o.n_batches > HD_KPD_MAX_BATCHES))
        rc = hd_error(HD_EINVAL, "kpd: %d batches of %lld rows, need 1 to %d batches of 2 to 2^31 - 1 rows",
                      o.n_batches, (long long)bs, HD_KPD_MAX_BATCHES);
    if (rc != HD_OK) return rc;
    out->n_batches = o.n_batches;
    rc = parallel_draws("kpd", n_real, real, n_gen, gen, d, o.normalise, o.seed, o.n_batches, &bs, o.n_batches,
                        mmd4_batch, out->mmd);
    if (rc == HD_OK) {
        double v[HD_KPD_MAX_BATCHES];
        memcpy(v, out->mmd, (size_t)o.n_batches * sizeof(double));
        out->median = hd_quantile(v, o.n_batches, 0.5);
        out->error = (hd_quantile(v, o.n_batches, 0.83725) - hd_quantile(v, o.n_batches, 0.16275)) / 2.0;
    }
    return rc;
}

/* ---- W1 ---------------------------------------------------------------------------- */

hd_w1_opts hd_w1_opts_default(void) { return (hd_w1_opts){.n_boot = 5, .seed = 42}; }

/* The integral of |F_u - F_v| over the merged sorted values (scipy's
 * _cdf_distance with p = 1): between consecutive values the CDFs are the
 * fractions of each sample at or below the lower one. */
static double w1_sorted(int64_t nu, const double *u, int64_t nv, const double *v)
{
    int64_t i = 0, j = 0;
    double total = 0, cur = fmin(u[0], v[0]);
    for (;;) {
        while (i < nu && u[i] <= cur) i++;
        while (j < nv && v[j] <= cur) j++;
        if (i == nu && j == nv) break;
        double next = i == nu ? v[j] : j == nv ? u[i] : fmin(u[i], v[j]);
        total += fabs((double)i / (double)nu - (double)j / (double)nv) * (next - cur);
        cur = next;
    }
    return total;
}

/* x[idx[i] * stride] (or x[i * stride] without idx), i < n, sorted into out. */
static void sorted_column(int64_t n, const float *x, int64_t stride, const int64_t *idx, double *out)
{
    for (int64_t i = 0; i < n; i++) out[i] = x[(idx ? idx[i] : i) * stride];
    qsort(out, (size_t)n, sizeof *out, cmp_double);
}

int hd_wasserstein1(int64_t n1, const float *x1, int64_t n2, const float *x2, double *out)
{
    if (!out) return hd_error(HD_EINVAL, "w1: NULL result");
    *out = NAN;
    int rc;
    if ((rc = hd_metric_check_sample("w1", "1", n1, x1, 1, 1)) || (rc = hd_metric_check_sample("w1", "2", n2, x2, 1, 1)))
        return rc;
    double *u = hd_malloc((size_t)(n1 + n2) * sizeof(double));
    if (!u) return HD_ENOMEM;
    sorted_column(n1, x1, 1, NULL, u);
    sorted_column(n2, x2, 1, NULL, u + n1);
    *out = w1_sorted(n1, u, n2, u + n1);
    hd_free(u);
    return HD_OK;
}

/* W1 of every feature of the rows idx1 [k1] of x1 and idx2 [k2] of x2 (all
 * rows where an idx is NULL) into w[d], features in parallel. */
static int w1_columns(int64_t k1, const float *x1, const int64_t *idx1, int64_t k2, const float *x2,
                      const int64_t *idx2, int64_t d, double *w)
{
    int nt = omp_get_max_threads();
    double *buf = hd_malloc((size_t)nt * (size_t)(k1 + k2) * sizeof(double));
    if (!buf) return HD_ENOMEM;
#pragma omp parallel for schedule(dynamic) num_threads(nt)
    for (int64_t f = 0; f < d; f++) {
        double *u = buf + (size_t)omp_get_thread_num() * (size_t)(k1 + k2), *v = u + k1;
        sorted_column(k1, x1 + f, d, idx1, u);
        sorted_column(k2, x2 + f, d, idx2, v);
        w[f] = w1_sorted(k1, u, k2, v);
    }
    hd_free(buf);
    return HD_OK;
}

int hd_w1_features(int64_t n1, const float *x1, int64_t n2, const float *x2, int64_t d, const hd_w1_opts *opts,
                   double *w1, double *mean, double *std)
{
    hd_w1_opts o = opts ? *opts : hd_w1_opts_default();
    int rc = check_pair("w1", n1, x1, n2, x2, d, 1, NULL);
    if (rc != HD_OK) return rc;
    if ((mean || std) && (o.n_boot < 1 || o.n_eval < 0))
        return hd_error(HD_EINVAL, "w1: %d resamples of %lld rows, need at least 1 resample", o.n_boot,
                        (long long)o.n_eval);
    if (w1 && (rc = w1_columns(n1, x1, NULL, n2, x2, NULL, d, w1)) != HD_OK) return rc;
    if (!mean && !std) return HD_OK;
    int64_t k1 = o.n_eval > 0 ? o.n_eval : n1, k2 = o.n_eval > 0 ? o.n_eval : n2;
    int64_t *idx = hd_malloc((size_t)(k1 + k2) * sizeof(int64_t));
    double *vals = hd_malloc((size_t)o.n_boot * (size_t)d * sizeof(double));
    rc = idx && vals ? HD_OK : HD_ENOMEM;
    for (int b = 0; b < o.n_boot && rc == HD_OK; b++) {
        hd_rng r;
        hd_rng_init(&r, o.seed, HD_STREAM_USER + (uint64_t)b);
        for (int64_t i = 0; i < k1; i++) idx[i] = hd_rng_below(&r, (uint32_t)n1);
        for (int64_t i = 0; i < k2; i++) idx[k1 + i] = hd_rng_below(&r, (uint32_t)n2);
        rc = w1_columns(k1, x1, idx, k2, x2, idx + k1, d, vals + (size_t)b * (size_t)d);
    }
    for (int64_t f = 0; f < d && rc == HD_OK; f++) {
        double s = 0, ss = 0;
        for (int b = 0; b < o.n_boot; b++) s += vals[(size_t)b * (size_t)d + f];
        double m = s / o.n_boot;
        for (int b = 0; b < o.n_boot; b++) {
            double dv = vals[(size_t)b * (size_t)d + f] - m;
            ss += dv * dv;
        }
        if (mean) mean[f] = m;
        if (std) std[f] = sqrt(ss / o.n_boot);
    }
    hd_free(idx);
    hd_free(vals);
    return rc;
}
