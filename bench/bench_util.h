/* What bench_dense.c and bench_surrogate.c share: the timing method, the
 * bare-sgemm floors, the command line and main.  Header only (static inline),
 * each benchmark is one translation unit.
 *
 * Timing (identical in bench/bench_util.py for the PyTorch side): warm up (at
 * least 2 calls, ~10% of the budget), then take samples of `inner`
 * back-to-back calls (inner chosen so a sample lasts >= 1 ms) until the
 * budget is spent (at least 5 samples); report the median of sample / inner.
 *
 * A benchmark provides its cases as one function,
 *
 *     static int run_case(const char *name, int list);
 *
 * which runs the case (or with list set, prints the single configurations it
 * expands to, one per line, for bench/run.sh) and returns 0, or returns
 * nonzero when it does not know the name; then main is
 *
 *     return bench_main(argc, argv, "bench_x", "[case_a | case_b]", defaults, n_defaults, run_case); */
#ifndef HADRON_BENCH_UTIL_H
#define HADRON_BENCH_UTIL_H

#include "hadron/core.h"
#include "hadron/graph.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command line, read by bench_main: --threads (the count the library
 * runs with), --time (seconds per timed case), --pieces. */
typedef struct {
    const char *name; /* program name, for messages */
    int threads;
    double budget;
    int pieces;
} bench_opts;

static bench_opts bench = {.name = "bench", .budget = 0.5};

/* ---- errors and memory --------------------------------------------------------- */

static inline void bench_die(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", bench.name, what, hd_last_error());
    exit(1);
}

static inline void *bench_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", bench.name);
        exit(1);
    }
    return p;
}

/* x[0..n) ~ N(0, 1), from a fixed seed and the given stream. */
static inline void bench_fill(float *x, int64_t n, uint64_t stream)
{
    hd_rng r;
    hd_rng_init(&r, 1234, HD_STREAM_USER + stream);
    hd_rng_fill_normal(&r, x, n, 0.0f, 1.0f);
}

static inline float *bench_new_normal(int64_t n, uint64_t stream)
{
    float *x = bench_xmalloc((size_t)n * sizeof *x);
    bench_fill(x, n, stream);
    return x;
}

/* ---- timing ---------------------------------------------------------------------- */

typedef void (*bench_fn)(void *ctx);

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call of f(ctx), spending about budget_s seconds. */
static inline double time_median(bench_fn f, void *ctx, double budget_s)
{
    double t0 = hd_now();
    int warm = 0;
    do {
        f(ctx);
        warm++;
    } while (warm < 2 || (hd_now() - t0 < 0.1 * budget_s && warm < 100000));
    double est = (hd_now() - t0) / warm;
    if (est <= 0) est = 1e-9;
    int inner = est >= 1e-3 ? 1 : (int)ceil(1e-3 / est);
    int n = (int)(budget_s / (est * inner));
    if (n < 5) n = 5;
    if (n > 2000) n = 2000;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    for (int i = 0; i < n; i++) {
        double a = hd_now();
        for (int j = 0; j < inner; j++) f(ctx);
        s[i] = (hd_now() - a) / inner;
    }
    qsort(s, (size_t)n, sizeof *s, bench_cmp_double);
    double med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return med;
}

/* A graph forward up to one node, as a bench_fn. */
typedef struct { hd_graph *g; hd_node *out; } fwd_ctx;

static inline void fwd_run(void *p)
{
    fwd_ctx *c = p;
    hd_graph_forward(c->g, c->out);
}

/* ---- raw sgemm (the floors) ------------------------------------------------------ */

/* C[m,n] = A[m,k] op(B), op(B) = B[k,n] or B[n,k]^T; beta as given. */
typedef struct { int m, n, k, trans_a, trans_b; float beta; float *a, *b, *c; } gemm_ctx;

static inline void gemm_init(gemm_ctx *c, int m, int n, int k, int trans_a, int trans_b, float beta)
{
    *c = (gemm_ctx){m, n, k, trans_a, trans_b, beta, bench_new_normal((int64_t)m * k, 1),
                    bench_new_normal((int64_t)k * n, 2), bench_new_normal((int64_t)m * n, 3)};
}

static inline void gemm_free(gemm_ctx *c)
{
    free(c->a);
    free(c->b);
    free(c->c);
}

static inline void gemm_run(void *p)
{
    gemm_ctx *c = p;
    cblas_sgemm(CblasRowMajor, c->trans_a ? CblasTrans : CblasNoTrans, c->trans_b ? CblasTrans : CblasNoTrans,
                c->m, c->n, c->k, 1.0f, c->a, c->trans_a ? c->m : c->k, c->b, c->trans_b ? c->k : c->n,
                c->beta, c->c, c->n);
}

/* A sequence of gemms, run back to back. */
typedef struct { int n; gemm_ctx *g; } gemm_seq;

static inline void gemm_seq_run(void *p)
{
    gemm_seq *s = p;
    for (int i = 0; i < s->n; i++) gemm_run(&s->g[i]);
}

static inline void gemm_seq_free(gemm_seq *s)
{
    for (int i = 0; i < s->n; i++) gemm_free(&s->g[i]);
}

/* The forward sgemms of an MLP with layer widths dims[0..layers] on `rows`
 * rows, back to back, each reading the previous output as the network does:
 * C_i [rows, dims[i+1]] = A_i W_i^T, A_0 [rows, dims[0]], A_i = C_{i-1}. */
enum { GEMM_CHAIN_MAX = 8 };
typedef struct { gemm_seq seq; gemm_ctx g[GEMM_CHAIN_MAX]; float *own_a[GEMM_CHAIN_MAX]; } gemm_chain;

static inline void gemm_chain_init(gemm_chain *c, int rows, int layers, const int *dims, float beta)
{
    c->seq = (gemm_seq){layers, c->g};
    for (int i = 0; i < layers; i++) {
        gemm_init(&c->g[i], rows, dims[i + 1], dims[i], 0, 1, beta);
        c->own_a[i] = c->g[i].a;
    }
    for (int i = 1; i < layers; i++) c->g[i].a = c->g[i - 1].c;
}

static inline void gemm_chain_free(gemm_chain *c)
{
    for (int i = 0; i < c->seq.n; i++) c->g[i].a = c->own_a[i];
    gemm_seq_free(&c->seq);
}

/* The machine's sgemm rate in GFLOP/s for C[m,n] = A[m,k] op(B) (beta 0),
 * timed with budget_s seconds. */
static inline double sgemm_gflops(int m, int n, int k, int trans_b, double budget_s)
{
    gemm_ctx g;
    gemm_init(&g, m, n, k, 0, trans_b, 0.0f);
    double t = time_median(gemm_run, &g, budget_s);
    gemm_free(&g);
    return 2.0 * m * n * k / t * 1e-9;
}

/* ---- command line and main ------------------------------------------------------- */

static inline void bench_usage(const char *cases_usage)
{
    fprintf(stderr, "usage: %s [--threads N] [--time SECONDS] [--pieces] [--list] %s ...\n", bench.name,
            cases_usage);
}

/*   NAME [--threads N] [--time SECONDS] [--pieces] [--list] [CASE ...]
 * --threads defaults to $OMP_NUM_THREADS, --time to 0.5 s; without a case,
 * the n_defaults default cases run.  Returns the exit status: 0, 1 if a case
 * was unknown, 2 on a bad option. */
static inline int bench_main(int argc, char **argv, const char *name, const char *cases_usage,
                             const char *const *defaults, int n_defaults, int (*run_case)(const char *name, int list))
{
    const char *cases[64];
    int n_cases = 0;
    int want_threads = 0, list = 0;
    bench.name = name;
    const char *env = getenv("OMP_NUM_THREADS");
    if (env) want_threads = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) want_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) bench.budget = atof(argv[++i]);
        else if (strcmp(argv[i], "--pieces") == 0) bench.pieces = 1;
        else if (strcmp(argv[i], "--list") == 0) list = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            bench_usage(cases_usage);
            return 0;
        } else if (argv[i][0] == '-') {
            bench_usage(cases_usage);
            return 2;
        } else if (n_cases < 64) cases[n_cases++] = argv[i];
    }
    if (!(bench.budget > 0)) bench.budget = 0.5;
    hd_set_threads(want_threads);
    bench.threads = hd_get_threads();
    if (n_cases == 0)
        for (int i = 0; i < n_defaults && i < 64; i++) cases[n_cases++] = defaults[i];
    int rc = 0;
    for (int i = 0; i < n_cases; i++)
        if (run_case(cases[i], list) != 0) {
            fprintf(stderr, "%s: unknown case '%s'\n", bench.name, cases[i]);
            bench_usage(cases_usage);
            rc = 1;
        }
    return rc;
}

#endif
