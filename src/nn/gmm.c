/* Gaussian mixtures (nn.h): EM fit, log densities, conditional sampling.
 *
 * Everything is double precision.  A component's log density comes from its
 * Cholesky factor L: with y = L^-1 (x - mu), log N = log_norm - |y|^2 / 2.
 * The forward substitutions run on blocks of VB rows held transposed, so
 * that every step is a vector operation across the rows (the compiler's
 * vectors, with -march): d^2 / 2 multiply-adds per row and component, the
 * E-step's whole cost; the conditional sampler uses the leading c x c block
 * of the same factor (nn.h explains why no other preparation is needed).
 * The M-step's covariance sums are cblas_dsyrk updates.
 *
 * Determinism: rows are cut into fixed chunks of CHUNK rows and processed in
 * parallel over chunks, each row's values independent of the others; the
 * log-likelihood is summed per chunk and the chunk sums in chunk order; the
 * M-step runs in parallel over components, each summing over all rows in
 * row order.  Inside OpenMP regions OpenBLAS runs single-threaded, and its
 * syrk splits no sum across threads outside them.  So a fit depends on the
 * data and options only, not on the thread count. */
#include "hadron/nn.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <strings.h>

#define CHUNK 256        /* rows per parallel work item */
#define VB 32            /* rows per vector block of the forward substitutions */
#define MBLOCK 1024      /* rows per covariance update (dsyrk) of the M-step */
#define LLOYD_STEPS 10   /* k-means steps after the seeding */
#define DEAD 1e-12       /* a component below this weight is re-seeded */
#define MAX_DIM 32768
#define MAX_K (1 << 20)
#define LOG_2PI 1.8378770664093454836
/* Responsibilities below e^-345 (1e-150) are set to 0: no live component's
 * sums can notice them (its weight is >= 1e-12), and the M-step's products of
 * two of them would be subnormal numbers, which cost 8x a normal operation.
 * Terms of a log-sum-exp below e^-700 of the largest are skipped: they change
 * no bit of the sum and would be subnormal. */
#define RESP_CUT (-345.0)
#define LSE_CUT (-700.0)

/* ---- options ------------------------------------------------------------- */

hd_gmm_opts hd_gmm_opts_default(void)
{
    return (hd_gmm_opts){.k = 16, .cov = HD_GMM_FULL, .max_iter = 200, .tol = 1e-4, .reg = 1e-6, .seed = 0};
}

int hd_gmm_check(const hd_gmm_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "gmm options: NULL (start from hd_gmm_opts_default)");
    if (o->k < 1 || o->k > MAX_K)
        return hd_error(HD_EINVAL, "gmm options: k = %d components, need 1 to %d", o->k, MAX_K);
    if (o->cov != HD_GMM_FULL && o->cov != HD_GMM_DIAG)
        return hd_error(HD_EINVAL, "gmm options: cov = %d, need HD_GMM_FULL or HD_GMM_DIAG", (int)o->cov);
    if (o->max_iter < 1) return hd_error(HD_EINVAL, "gmm options: max_iter = %d, need at least 1", o->max_iter);
    if (!(o->tol >= 0) || !isfinite(o->tol))
        return hd_error(HD_EINVAL, "gmm options: tol = %g, need a finite value >= 0", o->tol);
    if (!(o->reg >= 0) || !isfinite(o->reg))
        return hd_error(HD_EINVAL, "gmm options: reg = %g, need a finite value >= 0", o->reg);
    return HD_OK;
}

const char *hd_gmm_cov_name(hd_gmm_cov c)
{
    return c == HD_GMM_FULL ? "full" : c == HD_GMM_DIAG ? "diag" : "?";
}

int hd_gmm_cov_parse(const char *s, hd_gmm_cov *out)
{
    if (s && out && strcasecmp(s, "full") == 0) *out = HD_GMM_FULL;
    else if (s && out && strcasecmp(s, "diag") == 0) *out = HD_GMM_DIAG;
    else {
        char buf[64];
        return hd_error(HD_EINVAL, "gmm covariance '%s' (full, diag)",
                        s ? hd_printable(s, strlen(s), buf, sizeof buf) : "(null)");
    }
    return HD_OK;
}

/* ---- storage ------------------------------------------------------------- */

static size_t cov_size(const hd_gmm *m)
{
    return (size_t)m->k * (size_t)m->d * (m->cov == HD_GMM_FULL ? (size_t)m->d : 1);
}

void hd_gmm_release(hd_gmm *m)
{
    if (!m) return;
    hd_free(m->weight);
    hd_free(m->mean);
    hd_free(m->cov_data);
    hd_free(m->chol);
    hd_free(m->log_norm);
    memset(m, 0, sizeof *m);
}

static int check_shape(const char *fn, int k, int64_t d, hd_gmm_cov cov)
{
    if (k < 1 || k > MAX_K) return hd_error(HD_EINVAL, "%s: k = %d components, need 1 to %d", fn, k, MAX_K);
    if (d < 1 || d > MAX_DIM)
        return hd_error(HD_EINVAL, "%s: d = %lld dimensions, need 1 to %d", fn, (long long)d, MAX_DIM);
    if (cov != HD_GMM_FULL && cov != HD_GMM_DIAG)
        return hd_error(HD_EINVAL, "%s: cov = %d, need HD_GMM_FULL or HD_GMM_DIAG", fn, (int)cov);
    uint64_t per = (uint64_t)d * (cov == HD_GMM_FULL ? (uint64_t)d : 1);
    if (per > SIZE_MAX / sizeof(double) / (uint64_t)k)
        return hd_error(HD_EINVAL, "%s: %d components of %lld dimensions is too many", fn, k, (long long)d);
    return HD_OK;
}

int hd_gmm_alloc(hd_gmm *m, int k, int64_t d, hd_gmm_cov cov)
{
    if (!m) return hd_error(HD_EINVAL, "hd_gmm_alloc: NULL mixture");
    memset(m, 0, sizeof *m);
    int rc = check_shape("hd_gmm_alloc", k, d, cov);
    if (rc != HD_OK) return rc;
    m->k = k;
    m->d = d;
    m->cov = cov;
    m->weight = hd_calloc((size_t)k, sizeof(double));
    m->mean = hd_calloc((size_t)k * (size_t)d, sizeof(double));
    m->cov_data = hd_calloc(cov_size(m), sizeof(double));
    m->chol = hd_calloc(cov_size(m), sizeof(double));
    m->log_norm = hd_calloc((size_t)k, sizeof(double));
    if (!m->weight || !m->mean || !m->cov_data || !m->chol || !m->log_norm) {
        hd_gmm_release(m);
        return HD_ENOMEM;
    }
    return HD_OK;
}

/* ---- Cholesky factors ---------------------------------------------------- */

/* Lower L[d*d] (upper zeroed) with L L^T = S, reading S's lower triangle.
 * Returns -1, or the index of the first pivot that is not > 0 (*pivot its
 * value). */
static int64_t cholesky(int64_t d, const double *S, double *L, double *pivot)
{
    memset(L, 0, (size_t)d * (size_t)d * sizeof(double));
    for (int64_t i = 0; i < d; i++) {
        for (int64_t j = 0; j <= i; j++) {
            double s = S[i * d + j];
            for (int64_t l = 0; l < j; l++) s -= L[i * d + l] * L[j * d + l];
            if (i == j) {
                if (!(s > 0) || !isfinite(s)) {
                    *pivot = s;
                    return i;
                }
                L[i * d + i] = sqrt(s);
            } else {
                L[i * d + j] = s / L[j * d + j];
            }
        }
    }
    return -1;
}

/* chol and log_norm of component j from cov_data; -1, or the bad pivot. */
static int64_t derive_component(hd_gmm *m, int j, double *pivot)
{
    int64_t d = m->d;
    double logdet_half = 0;
    if (m->cov == HD_GMM_FULL) {
        double *L = m->chol + (size_t)j * (size_t)(d * d);
        int64_t bad = cholesky(d, m->cov_data + (size_t)j * (size_t)(d * d), L, pivot);
        if (bad >= 0) return bad;
        for (int64_t i = 0; i < d; i++) logdet_half += log(L[i * d + i]);
    } else {
        const double *v = m->cov_data + (size_t)j * (size_t)d;
        double *s = m->chol + (size_t)j * (size_t)d;
        for (int64_t i = 0; i < d; i++) {
            if (!(v[i] > 0) || !isfinite(v[i])) {
                *pivot = v[i];
                return i;
            }
            s[i] = sqrt(v[i]);
            logdet_half += log(s[i]);
        }
    }
    m->log_norm[j] = -0.5 * (double)d * LOG_2PI - logdet_half;
    return -1;
}

int hd_gmm_prepare(hd_gmm *m)
{
    if (!m) return hd_error(HD_EINVAL, "hd_gmm_prepare: NULL mixture");
    int rc = check_shape("hd_gmm_prepare", m->k, m->d, m->cov);
    if (rc != HD_OK) return rc;
    if (!m->weight || !m->mean || !m->cov_data)
        return hd_error(HD_EINVAL, "hd_gmm_prepare: weight, mean or cov_data is NULL");
    int k = m->k;
    int64_t d = m->d;
    double wsum = 0;
    for (int j = 0; j < k; j++) {
        if (!(m->weight[j] >= 0) || !isfinite(m->weight[j]))
            return hd_error(HD_EINVAL, "hd_gmm_prepare: component %d: weight %g, need a finite value >= 0", j,
                            m->weight[j]);
        wsum += m->weight[j];
    }
    if (!(wsum > 0)) return hd_error(HD_EINVAL, "hd_gmm_prepare: every weight is 0");
    for (int j = 0; j < k; j++)
        for (int64_t i = 0; i < d; i++)
            if (!isfinite(m->mean[(size_t)j * (size_t)d + (size_t)i]))
                return hd_error(HD_EINVAL, "hd_gmm_prepare: component %d: mean[%lld] is %g", j, (long long)i,
                                m->mean[(size_t)j * (size_t)d + (size_t)i]);
    if (m->cov == HD_GMM_FULL)
        for (int j = 0; j < k; j++) {
            const double *S = m->cov_data + (size_t)j * (size_t)(d * d);
            for (int64_t a = 0; a < d * d; a++)
                if (!isfinite(S[a]))
                    return hd_error(HD_EINVAL, "hd_gmm_prepare: component %d: covariance [%lld, %lld] is %g", j,
                                    (long long)(a / d), (long long)(a % d), S[a]);
            for (int64_t a = 0; a < d; a++)
                for (int64_t b = 0; b < a; b++)
                    if (fabs(S[a * d + b] - S[b * d + a]) > 1e-6 * sqrt(fabs(S[a * d + a] * S[b * d + b])))
                        return hd_error(HD_EINVAL,
                                        "hd_gmm_prepare: component %d: covariance is not symmetric ([%lld, %lld] = "
                                        "%g, [%lld, %lld] = %g)", j, (long long)a, (long long)b, S[a * d + b],
                                        (long long)b, (long long)a, S[b * d + a]);
        }
    if (!m->chol && !(m->chol = hd_malloc(cov_size(m) * sizeof(double)))) return HD_ENOMEM;
    if (!m->log_norm && !(m->log_norm = hd_malloc((size_t)k * sizeof(double)))) return HD_ENOMEM;
    for (int j = 0; j < k; j++) {
        double pivot = 0;
        int64_t bad = derive_component(m, j, &pivot);
        if (bad >= 0)
            return hd_error(HD_EINVAL, "hd_gmm_prepare: component %d: covariance is not positive definite (%s %lld "
                            "is %g)", j, m->cov == HD_GMM_FULL ? "Cholesky pivot" : "variance", (long long)bad, pivot);
    }
    return HD_OK;
}

/* ---- log densities of chunks of rows ------------------------------------- */

/* Per call, from a prepared mixture: logc[j] = log(w_j / sum w) plus the log
 * normalisation of the first c dims; DIAG: inv_sd[k*d] = 1 / sqrt(var). */
typedef struct {
    double *logc, *inv_sd;
} tables;

static void tables_free(tables *t)
{
    hd_free(t->logc);
    hd_free(t->inv_sd);
}

static int tables_make(const hd_gmm *m, int64_t c, tables *t)
{
    int k = m->k;
    int64_t d = m->d;
    t->inv_sd = NULL;
    if (!(t->logc = hd_malloc((size_t)k * sizeof(double)))) return HD_ENOMEM;
    if (m->cov == HD_GMM_DIAG && !(t->inv_sd = hd_malloc((size_t)k * (size_t)d * sizeof(double)))) {
        tables_free(t);
        return HD_ENOMEM;
    }
    double wsum = 0;
    for (int j = 0; j < k; j++) wsum += m->weight[j];
    for (int j = 0; j < k; j++) {
        double logdet_half = 0;
        for (int64_t i = 0; i < c; i++)
            logdet_half += log(m->cov == HD_GMM_FULL ? m->chol[(size_t)j * (size_t)(d * d) + (size_t)(i * d + i)]
                                                     : m->chol[(size_t)j * (size_t)d + (size_t)i]);
        t->logc[j] = log(m->weight[j] / wsum) - 0.5 * (double)c * LOG_2PI - logdet_half;
        if (t->inv_sd)
            for (int64_t i = 0; i < d; i++)
                t->inv_sd[(size_t)j * (size_t)d + (size_t)i] = 1.0 / m->chol[(size_t)j * (size_t)d + (size_t)i];
    }
    return HD_OK;
}

/* logp[i*k + j] = log w_j + log N(x_i[0..c); mu_j, S_j) over the first c
 * dims, for rows X [rows, ldx] (doubles Xd or floats Xf, one of them NULL);
 * work holds 2 * c * VB doubles. */
static void chunk_logp(const hd_gmm *m, const tables *t, int64_t c, int64_t rows, const double *Xd, const float *Xf,
                       int64_t ldx, double *work, double *logp)
{
    int k = m->k;
    int64_t d = m->d;
    if (c == 0) {
        for (int64_t i = 0; i < rows; i++)
            for (int j = 0; j < k; j++) logp[i * k + j] = t->logc[j];
        return;
    }
    double *XT = work, *Y = work + c * VB; /* [c][VB]: the block's rows transposed, their solutions */
    for (int64_t i0 = 0; i0 < rows; i0 += VB) {
        int64_t nb = rows - i0 < VB ? rows - i0 : VB;
        for (int64_t a = 0; a < c; a++)
            for (int64_t v = 0; v < VB; v++)
                XT[a * VB + v] = v >= nb ? 0.0 : Xd ? Xd[(i0 + v) * ldx + a] : (double)Xf[(i0 + v) * ldx + a];
        for (int j = 0; j < k; j++) {
            const double *mu = m->mean + (size_t)j * (size_t)d;
            double q[VB] = {0};
            if (m->cov == HD_GMM_FULL) {
                const double *L = m->chol + (size_t)j * (size_t)(d * d);
                for (int64_t a = 0; a < c; a++) { /* y_a = (x_a - mu_a - sum_l<a L_al y_l) / L_aa */
                    const double *La = L + a * d, *xa = XT + a * VB, ma = mu[a], inv = 1.0 / La[a];
                    double acc[VB], *ya = Y + a * VB;
                    for (int v = 0; v < VB; v++) acc[v] = xa[v] - ma;
                    for (int64_t l = 0; l < a; l++) {
                        const double cl = La[l], *yl = Y + l * VB;
                        for (int v = 0; v < VB; v++) acc[v] -= cl * yl[v];
                    }
                    for (int v = 0; v < VB; v++) {
                        ya[v] = acc[v] * inv;
                        q[v] += ya[v] * ya[v];
                    }
                }
            } else {
                const double *is = t->inv_sd + (size_t)j * (size_t)d;
                for (int64_t a = 0; a < c; a++) {
                    const double *xa = XT + a * VB, ma = mu[a], sa = is[a];
                    for (int v = 0; v < VB; v++) {
                        double y = (xa[v] - ma) * sa;
                        q[v] += y * y;
                    }
                }
            }
            for (int64_t v = 0; v < nb; v++) logp[(i0 + v) * k + j] = t->logc[j] - 0.5 * q[v];
        }
    }
}

/* log sum_j exp(lp[j]); lp may hold -inf (zero weights). */
static double log_sum_exp(const double *lp, int k)
{
    double mx = lp[0];
    for (int j = 1; j < k; j++) mx = lp[j] > mx ? lp[j] : mx;
    if (!isfinite(mx)) return mx;
    double s = 0;
    for (int j = 0; j < k; j++) {
        double e = lp[j] - mx;
        if (e > LSE_CUT) s += exp(e);
    }
    return mx + log(s);
}

static int threads_for(int64_t chunks)
{
    int nt = omp_get_max_threads();
    return chunks < nt ? (int)(chunks > 0 ? chunks : 1) : nt;
}

/* Per-thread scratch of the E-step and the evaluation calls: CHUNK rows of
 * log densities, chunk_logp's work, and CHUNK rows of c input dims. */
static size_t eval_scratch(int k, int64_t c) { return (size_t)CHUNK * (size_t)(k + c) + 2 * (size_t)c * VB; }

/* The E-step on X [n, d]: resp [k][n] (responsibilities, by component),
 * rowll [n] (log densities), chunk_ll [chunks]; returns the mean
 * log-likelihood per row.  scratch: eval_scratch(k, d) doubles a thread. */
static double e_step(const hd_gmm *m, const tables *t, int64_t n, const double *X, double *resp, double *rowll,
                     double *chunk_ll, double *scratch, int nt)
{
    int k = m->k;
    int64_t d = m->d, chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel num_threads(nt)
    {
        double *lp = scratch + (size_t)omp_get_thread_num() * eval_scratch(k, d), *work = lp + CHUNK * k;
#pragma omp for schedule(static)
        for (int64_t ch = 0; ch < chunks; ch++) {
            int64_t r0 = ch * CHUNK, rows = n - r0 < CHUNK ? n - r0 : CHUNK;
            double sum = 0;
            chunk_logp(m, t, d, rows, X + r0 * d, NULL, d, work, lp);
            for (int64_t i = 0; i < rows; i++) {
                double l = log_sum_exp(lp + i * k, k);
                for (int j = 0; j < k; j++) {
                    double e = lp[i * k + j] - l;
                    resp[(size_t)j * (size_t)n + (size_t)(r0 + i)] = e > RESP_CUT ? exp(e) : 0.0;
                }
                rowll[r0 + i] = l;
                sum += l;
            }
            chunk_ll[ch] = sum;
        }
    }
    double total = 0;
    for (int64_t ch = 0; ch < chunks; ch++) total += chunk_ll[ch];
    return total / (double)n;
}

/* ---- the fit ------------------------------------------------------------- */

typedef struct {
    const hd_gmm_opts *o;
    int64_t n, d;
    int k;
    const double *X;  /* [n, d] */
    double *resp;     /* [k][n]: by component */
    double *rowll;    /* [n]: how well each row is explained (re-seeding) */
    double *chunk_ll; /* [chunks] */
    double *nk;       /* [k] */
    double *scratch;  /* per thread: per_thread doubles */
    size_t per_thread;
    int64_t *taken;   /* [k]: rows re-seeded at in one M-step */
    char *dead;       /* [k]: components re-seeded in one M-step */
    int nt;           /* threads of the per-row loops */
} fit_state;

static double uniform53(hd_rng *r)
{
    uint32_t a = hd_rng_u32(r) >> 5, b = hd_rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

static double dist2(const double *a, const double *b, int64_t d)
{
    double s = 0;
    for (int64_t l = 0; l < d; l++) s += (a[l] - b[l]) * (a[l] - b[l]);
    return s;
}

/* For rows X [rows, d]: label[i] the nearest centre (the first on a tie),
 * best[i] its squared distance; work holds d * VB doubles (the rows of a
 * block transposed, so the sums run as vectors across rows). */
static void nearest(const double *X, int64_t rows, int64_t d, const double *centers, int k, double *work,
                    int64_t *label, double *best)
{
    for (int64_t i0 = 0; i0 < rows; i0 += VB) {
        int64_t nb = rows - i0 < VB ? rows - i0 : VB;
        for (int64_t a = 0; a < d; a++)
            for (int64_t v = 0; v < VB; v++) work[a * VB + v] = v < nb ? X[(i0 + v) * d + a] : 0.0;
        double bd[VB];
        int64_t bl[VB];
        for (int j = 0; j < k; j++) {
            const double *cj = centers + (size_t)j * (size_t)d;
            double q[VB] = {0};
            for (int64_t a = 0; a < d; a++) {
                const double *xa = work + a * VB, ca = cj[a];
                for (int v = 0; v < VB; v++) q[v] += (xa[v] - ca) * (xa[v] - ca);
            }
            for (int v = 0; v < VB; v++)
                if (j == 0 || q[v] < bd[v]) bd[v] = q[v], bl[v] = j;
        }
        for (int64_t v = 0; v < nb; v++) label[i0 + v] = bl[v], best[i0 + v] = bd[v];
    }
}

/* k-means++ seeding and Lloyd steps; leaves one-hot responsibilities in
 * resp and -|x - its centre|^2 in rowll.  mind [n] and label [2n] are scratch. */
static void kmeans_init(fit_state *f, double *centers, double *mind, int64_t *label, double *counts)
{
    int64_t n = f->n, d = f->d;
    int k = f->k;
    const double *X = f->X;
    hd_rng r;
    hd_rng_init(&r, f->o->seed, HD_STREAM_INIT);
    int64_t first = (int64_t)(uniform53(&r) * (double)n);
    if (first >= n) first = n - 1;
    memcpy(centers, X + first * d, (size_t)d * sizeof(double));
#pragma omp parallel for schedule(static) num_threads(f->nt)
    for (int64_t i = 0; i < n; i++) mind[i] = dist2(X + i * d, centers, d);
    for (int j = 1; j < k; j++) {
        double total = 0;
        for (int64_t i = 0; i < n; i++) total += mind[i];
        int64_t pick = -1;
        double u = uniform53(&r);
        if (total > 0) {
            double target = u * total, cum = 0;
            for (int64_t i = 0; i < n && pick < 0; i++)
                if ((cum += mind[i]) > target) pick = i;
            for (int64_t i = n - 1; pick < 0 && i >= 0; i--) /* rounding left the target past the end */
                if (mind[i] > 0) pick = i;
        }
        if (pick < 0) pick = (int64_t)(u * (double)n) < n ? (int64_t)(u * (double)n) : n - 1; /* all rows on centres */
        double *cj = centers + (size_t)j * (size_t)d;
        memcpy(cj, X + pick * d, (size_t)d * sizeof(double));
#pragma omp parallel for schedule(static) num_threads(f->nt)
        for (int64_t i = 0; i < n; i++) {
            double e = dist2(X + i * d, cj, d);
            if (e < mind[i]) mind[i] = e;
        }
    }
    int64_t chunks = (n + CHUNK - 1) / CHUNK, *next = label + n;
    for (int step = 0; step < LLOYD_STEPS; step++) {
        int64_t changed = 0;
#pragma omp parallel num_threads(f->nt)
        {
            double *work = f->scratch + (size_t)omp_get_thread_num() * f->per_thread;
#pragma omp for schedule(static) reduction(+ : changed)
            for (int64_t ch = 0; ch < chunks; ch++) {
                int64_t r0 = ch * CHUNK, rows = n - r0 < CHUNK ? n - r0 : CHUNK;
                nearest(X + r0 * d, rows, d, centers, k, work, next + r0, mind + r0);
                for (int64_t i = r0; i < r0 + rows; i++) {
                    changed += step == 0 || label[i] != next[i];
                    label[i] = next[i];
                }
            }
        }
        if (changed == 0 || step == LLOYD_STEPS - 1) break;
        memset(counts, 0, (size_t)k * sizeof(double));
        for (int64_t i = 0; i < n; i++) counts[label[i]] += 1;
        for (int j = 0; j < k; j++)
            if (counts[j] > 0) memset(centers + (size_t)j * (size_t)d, 0, (size_t)d * sizeof(double));
        for (int64_t i = 0; i < n; i++) {
            double *cj = centers + (size_t)label[i] * (size_t)d;
            for (int64_t l = 0; l < d; l++) cj[l] += X[i * d + l];
        }
        for (int j = 0; j < k; j++)
            if (counts[j] > 0) /* an empty cluster keeps its centre */
                for (int64_t l = 0; l < d; l++) centers[(size_t)j * (size_t)d + (size_t)l] /= counts[j];
    }
    memset(f->resp, 0, (size_t)n * (size_t)k * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        f->resp[(size_t)label[i] * (size_t)n + (size_t)i] = 1;
        f->rowll[i] = -mind[i];
    }
}

/* nk[j], and unless the component is dead its mean and covariance, from
 * the responsibilities; W holds MBLOCK * d doubles. */
static void m_step_component(fit_state *f, hd_gmm *m, int j, double *W)
{
    int64_t n = f->n, d = f->d;
    const double *X = f->X, *R = f->resp + (size_t)j * (size_t)n;
    double nk = 0;
    for (int64_t i = 0; i < n; i++) nk += R[i];
    nk += 10 * DBL_EPSILON; /* as sklearn: no division by zero */
    f->nk[j] = nk;
    if (nk < DEAD * (double)n) return;
    double *mu = m->mean + (size_t)j * (size_t)d;
    memset(mu, 0, (size_t)d * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        double r = R[i];
        if (r == 0) continue; /* exact: it adds nothing */
        for (int64_t l = 0; l < d; l++) mu[l] += r * X[i * d + l];
    }
    for (int64_t l = 0; l < d; l++) mu[l] /= nk;
    if (m->cov == HD_GMM_FULL) {
        double *S = m->cov_data + (size_t)j * (size_t)(d * d);
        memset(S, 0, (size_t)(d * d) * sizeof(double));
        int64_t b = 0;
        for (int64_t i = 0; i <= n; i++) {
            double r = i < n ? R[i] : 0;
            if (r > 0) {
                double s = sqrt(r);
                for (int64_t l = 0; l < d; l++) W[b * d + l] = s * (X[i * d + l] - mu[l]);
                b++;
            }
            if (b > 0 && (b == MBLOCK || i == n)) {
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)b, 1.0, W, (int)d, 1.0, S, (int)d);
                b = 0;
            }
        }
        for (int64_t a = 0; a < d; a++) {
            for (int64_t c = 0; c <= a; c++) S[a * d + c] /= nk;
            S[a * d + a] += f->o->reg;
            for (int64_t c = 0; c < a; c++) S[c * d + a] = S[a * d + c]; /* mirror the lower triangle */
        }
    } else {
        double *v = m->cov_data + (size_t)j * (size_t)d;
        memset(v, 0, (size_t)d * sizeof(double));
        for (int64_t i = 0; i < n; i++) {
            double r = R[i];
            if (r == 0) continue;
            for (int64_t l = 0; l < d; l++) {
                double e = X[i * d + l] - mu[l];
                v[l] += r * e * e;
            }
        }
        for (int64_t l = 0; l < d; l++) v[l] = v[l] / nk + f->o->reg;
    }
}

/* The M-step, then the derived factors.  *reseeded: components re-seeded. */
static int m_step(fit_state *f, hd_gmm *m, int iter, int *reseeded)
{
    int64_t n = f->n, d = f->d;
    int k = f->k;
    size_t per = (size_t)d * (m->cov == HD_GMM_FULL ? (size_t)d : 1);
    int nt = omp_get_max_threads() < k ? omp_get_max_threads() : k;
#pragma omp parallel num_threads(nt)
    {
        double *W = f->scratch + (size_t)omp_get_thread_num() * f->per_thread;
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < k; j++) m_step_component(f, m, j, W);
    }
    /* dead components: at the rows explained worst, with the live ones' mean covariance */
    int dead = 0;
    double live_w = 0;
    for (int j = 0; j < k; j++) {
        f->dead[j] = f->nk[j] < DEAD * (double)n;
        if (!f->dead[j]) live_w += f->nk[j];
    }
    for (int j = 0; j < k; j++) {
        if (!f->dead[j]) continue;
        int64_t worst = -1;
        for (int64_t i = 0; i < n; i++) {
            int used = 0;
            for (int t = 0; t < dead && !used; t++) used = f->taken[t] == i;
            if (!used && (worst < 0 || f->rowll[i] < f->rowll[worst])) worst = i;
        }
        f->taken[dead++] = worst;
        memcpy(m->mean + (size_t)j * (size_t)d, f->X + worst * d, (size_t)d * sizeof(double));
        double *cj = m->cov_data + (size_t)j * per;
        memset(cj, 0, per * sizeof(double));
        for (int q = 0; q < k; q++) {
            if (f->dead[q]) continue;
            const double *cq = m->cov_data + (size_t)q * per;
            for (size_t a = 0; a < per; a++) cj[a] += f->nk[q] / live_w * cq[a];
        }
        f->nk[j] = 1; /* one row's worth */
    }
    double total = 0;
    for (int j = 0; j < k; j++) total += f->nk[j];
    for (int j = 0; j < k; j++) m->weight[j] = f->nk[j] / total;
    *reseeded = dead;
    for (int j = 0; j < k; j++) {
        double pivot = 0;
        int64_t bad = derive_component(m, j, &pivot);
        if (bad >= 0)
            return hd_error(HD_EINVAL, "hd_gmm_fit: iteration %d: component %d's covariance is not positive definite "
                            "(%s %lld is %g); raise reg (now %g)", iter, j,
                            m->cov == HD_GMM_FULL ? "Cholesky pivot" : "variance", (long long)bad, pivot, f->o->reg);
    }
    return HD_OK;
}

static int check_rows(const char *fn, const char *what, int64_t n, int64_t d, const float *x)
{
    if (!x) return hd_error(HD_EINVAL, "%s: %s is NULL", fn, what);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return hd_error(HD_EINVAL, "%s: %s row %lld, column %lld is %g", fn, what, (long long)i,
                                (long long)j, (double)x[i * d + j]);
    return HD_OK;
}

int hd_gmm_fit(const hd_gmm_opts *o, int64_t n, int64_t d, const float *x, hd_gmm *out)
{
    if (!out) return hd_error(HD_EINVAL, "hd_gmm_fit: NULL result");
    memset(out, 0, sizeof *out);
    if (!o) return hd_error(HD_EINVAL, "hd_gmm_fit: NULL options (start from hd_gmm_opts_default)");
    int rc = hd_gmm_check(o);
    if (rc != HD_OK) return rc;
    int k = o->k;
    if (d < 1 || d > MAX_DIM)
        return hd_error(HD_EINVAL, "hd_gmm_fit: d = %lld dimensions, need 1 to %d", (long long)d, MAX_DIM);
    if (n < k)
        return hd_error(HD_EINVAL, "hd_gmm_fit: %lld rows, fewer than the k = %d components", (long long)n, k);
    uint64_t wide = (uint64_t)(d > k ? d : k);
    if ((uint64_t)n > SIZE_MAX / sizeof(double) / wide)
        return hd_error(HD_EINVAL, "hd_gmm_fit: %lld rows of %lld is too many", (long long)n, (long long)d);
    if ((rc = check_rows("hd_gmm_fit", "x", n, d, x)) != HD_OK) return rc;

    hd_gmm m;
    if ((rc = hd_gmm_alloc(&m, k, d, o->cov)) != HD_OK) return rc;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    int nt = omp_get_max_threads();
    fit_state f = {.o = o, .n = n, .d = d, .k = k, .nt = threads_for(chunks)};
    double *X = hd_malloc((size_t)n * (size_t)d * sizeof(double));
    f.resp = hd_malloc((size_t)n * (size_t)k * sizeof(double));
    f.rowll = hd_malloc((size_t)n * sizeof(double));
    f.chunk_ll = hd_malloc((size_t)chunks * sizeof(double));
    f.nk = hd_malloc((size_t)k * sizeof(double));
    f.per_thread = eval_scratch(k, d) > (size_t)MBLOCK * (size_t)d ? eval_scratch(k, d) : (size_t)MBLOCK * (size_t)d;
    f.scratch = hd_malloc((size_t)nt * f.per_thread * sizeof(double));
    f.taken = hd_malloc((size_t)k * sizeof(int64_t));
    f.dead = hd_malloc((size_t)k);
    double *centers = hd_malloc((size_t)k * (size_t)d * sizeof(double)), *mind = hd_malloc((size_t)n * sizeof(double));
    int64_t *label = hd_malloc(2 * (size_t)n * sizeof(int64_t));
    tables t = {0};
    if (!X || !f.resp || !f.rowll || !f.chunk_ll || !f.nk || !f.scratch || !f.taken || !f.dead || !centers || !mind || !label)
        rc = HD_ENOMEM;
    if (rc == HD_OK) {
        for (size_t i = 0; i < (size_t)n * (size_t)d; i++) X[i] = x[i];
        f.X = X;
        kmeans_init(&f, centers, mind, label, f.nk);
        int reseeded = 0;
        rc = m_step(&f, &m, 0, &reseeded);
    }
    double ll = -INFINITY;
    if (rc == HD_OK && (rc = tables_make(&m, d, &t)) == HD_OK)
        ll = e_step(&m, &t, n, X, f.resp, f.rowll, f.chunk_ll, f.scratch, f.nt);
    tables_free(&t);
    for (int it = 1; rc == HD_OK && it <= o->max_iter; it++) {
        int reseeded = 0;
        if ((rc = m_step(&f, &m, it, &reseeded)) != HD_OK || (rc = tables_make(&m, d, &t)) != HD_OK) break;
        double ll_new = e_step(&m, &t, n, X, f.resp, f.rowll, f.chunk_ll, f.scratch, f.nt);
        tables_free(&t);
        m.iterations = it;
        if (o->on_iter) o->on_iter(o->user, it, ll_new);
        int done = !reseeded && fabs(ll_new - ll) < o->tol;
        ll = ll_new;
        if (done) {
            m.converged = 1;
            break;
        }
    }
    m.mean_loglik = ll;
    hd_free(X);
    hd_free(f.resp);
    hd_free(f.rowll);
    hd_free(f.chunk_ll);
    hd_free(f.nk);
    hd_free(f.scratch);
    hd_free(f.taken);
    hd_free(f.dead);
    hd_free(centers);
    hd_free(mind);
    hd_free(label);
    if (rc != HD_OK) {
        hd_gmm_release(&m);
        return rc;
    }
    *out = m;
    return HD_OK;
}

/* ---- evaluation ---------------------------------------------------------- */

static int check_prepared(const char *fn, const hd_gmm *m)
{
    if (!m) return hd_error(HD_EINVAL, "%s: NULL mixture", fn);
    int rc = check_shape(fn, m->k, m->d, m->cov);
    if (rc != HD_OK) return rc;
    if (!m->weight || !m->mean || !m->chol || !m->log_norm)
        return hd_error(HD_EINVAL, "%s: the mixture is not fitted or prepared (hd_gmm_fit, hd_gmm_prepare)", fn);
    return HD_OK;
}

int hd_gmm_loglik(const hd_gmm *m, int64_t n, const float *x, double *out)
{
    int rc = check_prepared("hd_gmm_loglik", m);
    if (rc != HD_OK) return rc;
    if (n < 0) return hd_error(HD_EINVAL, "hd_gmm_loglik: %lld rows", (long long)n);
    if (n == 0) return HD_OK;
    if (!out) return hd_error(HD_EINVAL, "hd_gmm_loglik: NULL output");
    if ((rc = check_rows("hd_gmm_loglik", "x", n, m->d, x)) != HD_OK) return rc;
    int k = m->k;
    int64_t d = m->d, chunks = (n + CHUNK - 1) / CHUNK;
    int nt = threads_for(chunks);
    size_t per = eval_scratch(k, 0) + 2 * (size_t)d * VB;
    tables t = {0};
    double *scratch = hd_malloc((size_t)nt * per * sizeof(double));
    if (!scratch || (rc = tables_make(m, d, &t)) != HD_OK) {
        hd_free(scratch);
        return rc != HD_OK ? rc : HD_ENOMEM;
    }
#pragma omp parallel num_threads(nt)
    {
        double *lp = scratch + (size_t)omp_get_thread_num() * per, *work = lp + CHUNK * k;
#pragma omp for schedule(static)
        for (int64_t ch = 0; ch < chunks; ch++) {
            int64_t r0 = ch * CHUNK, rows = n - r0 < CHUNK ? n - r0 : CHUNK;
            chunk_logp(m, &t, d, rows, NULL, x + r0 * d, d, work, lp);
            for (int64_t i = 0; i < rows; i++) out[r0 + i] = log_sum_exp(lp + i * k, k);
        }
    }
    tables_free(&t);
    hd_free(scratch);
    return HD_OK;
}

/* One row's draw: the component from p (its k log weights given the
 * condition xa; overwritten), then the rest of the dims given xa from it;
 * y holds c doubles. */
static void draw_row(const hd_gmm *m, int64_t c, double *p, const double *xa, const float *z, double *y, float *o)
{
    int k = m->k;
    int64_t d = m->d;
    double mx = p[0], sum = 0;
    for (int j = 1; j < k; j++) mx = p[j] > mx ? p[j] : mx;
    for (int j = 0; j < k; j++) {
        p[j] = p[j] - mx > LSE_CUT ? exp(p[j] - mx) : 0.0;
        sum += p[j];
    }
    double target = 0.5 * erfc(-(double)z[0] / sqrt(2.0)) * sum, cum = 0;
    int pick = -1;
    for (int j = 0; j < k && pick < 0; j++)
        if (p[j] > 0 && (cum += p[j]) > target) pick = j;
    for (int j = k - 1; pick < 0 && j >= 0; j--) /* Phi(z) = 1 (or rounding): the last possible one */
        if (p[j] > 0) pick = j;
    const double *mu = m->mean + (size_t)pick * (size_t)d;
    if (m->cov == HD_GMM_FULL) {
        const double *L = m->chol + (size_t)pick * (size_t)(d * d);
        for (int64_t a = 0; a < c; a++) { /* y = L_aa^-1 (cond - mu_a) */
            double s = xa[a] - mu[a];
            for (int64_t l = 0; l < a; l++) s -= L[a * d + l] * y[l];
            y[a] = s / L[a * d + a];
        }
        for (int64_t b = c; b < d; b++) { /* mu_b + L_ba y + L_bb z */
            double s = mu[b];
            for (int64_t l = 0; l < c; l++) s += L[b * d + l] * y[l];
            for (int64_t l = c; l <= b; l++) s += L[b * d + l] * (double)z[1 + l - c];
            o[b - c] = (float)s;
        }
    } else {
        const double *sd = m->chol + (size_t)pick * (size_t)d;
        for (int64_t b = c; b < d; b++) o[b - c] = (float)(mu[b] + sd[b] * (double)z[1 + b - c]);
    }
}

static int check_cond_dims(const char *fn, const hd_gmm *m, int64_t c)
{
    int rc = check_prepared(fn, m);
    if (rc == HD_OK && (c < 0 || c >= m->d))
        rc = hd_error(HD_EINVAL, "%s: c = %lld given dims, need 0 to d - 1 = %lld", fn, (long long)c,
                      (long long)(m->d - 1));
    return rc;
}

int hd_gmm_sample_cond(const hd_gmm *m, int64_t c, int64_t n, const float *cond, const float *noise, float *out)
{
    int rc = check_cond_dims("hd_gmm_sample_cond", m, c);
    if (rc != HD_OK) return rc;
    int k = m->k;
    int64_t r = m->d - c;
    if (n < 0) return hd_error(HD_EINVAL, "hd_gmm_sample_cond: %lld rows", (long long)n);
    if (n == 0) return HD_OK;
    if (!out) return hd_error(HD_EINVAL, "hd_gmm_sample_cond: NULL output");
    if (c > 0 && (rc = check_rows("hd_gmm_sample_cond", "cond", n, c, cond)) != HD_OK) return rc;
    if ((rc = check_rows("hd_gmm_sample_cond", "noise", n, 1 + r, noise)) != HD_OK) return rc;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    int nt = threads_for(chunks);
    size_t per = eval_scratch(k, c) + (size_t)c;
    tables t = {0};
    double *scratch = hd_malloc((size_t)nt * per * sizeof(double));
    if (!scratch || (rc = tables_make(m, c, &t)) != HD_OK) {
        hd_free(scratch);
        return rc != HD_OK ? rc : HD_ENOMEM;
    }
#pragma omp parallel num_threads(nt)
    {
        double *lp = scratch + (size_t)omp_get_thread_num() * per, *X = lp + CHUNK * k, *work = X + CHUNK * c;
        double *y = work + 2 * c * VB;
#pragma omp for schedule(static)
        for (int64_t ch = 0; ch < chunks; ch++) {
            int64_t r0 = ch * CHUNK, rows = n - r0 < CHUNK ? n - r0 : CHUNK;
            for (int64_t i = 0; i < rows * c; i++) X[i] = cond[r0 * c + i];
            chunk_logp(m, &t, c, rows, X, NULL, c, work, lp);
            for (int64_t i = 0; i < rows; i++)
                draw_row(m, c, lp + i * k, X + i * c, noise + (r0 + i) * (1 + r), y, out + (r0 + i) * r);
        }
    }
    tables_free(&t);
    hd_free(scratch);
    return HD_OK;
}

/* ---- one row at a time --------------------------------------------------- */

struct hd_gmm_sampler {
    const hd_gmm *m;
    int64_t c;
    tables t;
};

int hd_gmm_sampler_new(const hd_gmm *m, int64_t c, hd_gmm_sampler **out)
{
    *out = NULL;
    int rc = check_cond_dims("hd_gmm_sampler_new", m, c);
    if (rc != HD_OK) return rc;
    hd_gmm_sampler *s = hd_calloc(1, sizeof *s);
    if (!s) return HD_ENOMEM;
    s->m = m;
    s->c = c;
    if ((rc = tables_make(m, c, &s->t)) != HD_OK) {
        hd_free(s);
        return rc;
    }
    *out = s;
    return HD_OK;
}

void hd_gmm_sampler_free(hd_gmm_sampler *s)
{
    if (!s) return;
    tables_free(&s->t);
    hd_free(s);
}

size_t hd_gmm_sampler_scratch(const hd_gmm_sampler *s)
{
    return (size_t)s->m->k + 2 * (size_t)s->c + 2 * (size_t)s->c * VB;
}

void hd_gmm_sampler_row(const hd_gmm_sampler *s, const float *cond, const float *noise, double *scratch, float *out)
{
    int64_t c = s->c;
    double *lp = scratch, *X = lp + s->m->k, *work = X + c, *y = work + 2 * c * VB;
    for (int64_t a = 0; a < c; a++) X[a] = cond[a];
    chunk_logp(s->m, &s->t, c, 1, X, NULL, c, work, lp);
    draw_row(s->m, c, lp, X, noise, y, out);
}
