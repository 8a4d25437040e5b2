/* Dense-layer benchmarks: one JSON line per case on stdout.
 *
 *   bench_dense [--threads N] [--time SECONDS] [--pieces] [--list] [CASE ...]
 *
 * --pieces adds a line per case timing each op on its own (see README.md);
 * --list prints the single configurations the cases expand to and exits.
 * CASE is "dense_fwd_bwd" (batch 10, 256, 4096 x units 128, 1024), one
 * configuration "dense_fwd_bwd:BATCH:UNITS", or "mlp_infer"; all by default.
 * bench/torch_dense.py runs the same cases in PyTorch with the same timing
 * method; bench/run.sh runs both and joins the lines.
 *
 * Timing: warm up (at least 2 calls, ~10% of the budget), then take samples
 * of `inner` back-to-back calls (inner chosen so a sample lasts >= 1 ms) until
 * the budget is spent (at least 5 samples); report the median of
 * sample / inner in microseconds. */
#include "hadron/core.h"
#include "hadron/graph.h"
#include "hadron/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*bench_fn)(void *ctx);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call of f(ctx), spending about budget_s seconds. */
static double time_median(bench_fn f, void *ctx, double budget_s)
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
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return med;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_dense: %s: %s\n", what, hd_last_error());
    exit(1);
}

static void fill(float *x, int64_t n, uint64_t stream)
{
    hd_rng r;
    hd_rng_init(&r, 1234, HD_STREAM_USER + stream);
    hd_rng_fill_normal(&r, x, n, 0.0f, 1.0f);
}

static float *new_filled(int64_t n, uint64_t stream)
{
    float *x = malloc((size_t)n * sizeof *x);
    if (!x) {
        fprintf(stderr, "bench_dense: out of memory\n");
        exit(1);
    }
    fill(x, n, stream);
    return x;
}

/* ---- raw sgemm --------------------------------------------------------------- */

/* C[m,n] = A[m,k] op(B), op(B) = B[k,n] or B[n,k]^T; beta as given. */
typedef struct { int m, n, k, trans_a, trans_b; float beta; float *a, *b, *c; } gemm_ctx;

static void gemm_init(gemm_ctx *c, int m, int n, int k, int trans_a, int trans_b, float beta)
{
    *c = (gemm_ctx){m, n, k, trans_a, trans_b, beta, new_filled((int64_t)m * k, 1),
                    new_filled((int64_t)k * n, 2), new_filled((int64_t)m * n, 3)};
}

static void gemm_free(gemm_ctx *c)
{
    free(c->a);
    free(c->b);
    free(c->c);
}

static void gemm_run(void *p)
{
    gemm_ctx *c = p;
    cblas_sgemm(CblasRowMajor, c->trans_a ? CblasTrans : CblasNoTrans, c->trans_b ? CblasTrans : CblasNoTrans,
                c->m, c->n, c->k, 1.0f, c->a, c->trans_a ? c->m : c->k, c->b, c->trans_b ? c->k : c->n,
                c->beta, c->c, c->n);
}

/* A sequence of gemms, run back to back. */
typedef struct { int n; gemm_ctx *g; } gemm_seq;

static void gemm_seq_run(void *p)
{
    gemm_seq *s = p;
    for (int i = 0; i < s->n; i++) gemm_run(&s->g[i]);
}

static void gemm_seq_free(gemm_seq *s)
{
    for (int i = 0; i < s->n; i++) gemm_free(&s->g[i]);
}

/* ---- dense_fwd_bwd ------------------------------------------------------------- */

typedef struct {
    hd_graph *g;
    hd_node *x, *y, *loss;
    hd_node *fwd_to, *bwd_from; /* for the piecewise timings */
} dense_ctx;

static void dense_build(dense_ctx *c, int64_t batch, int64_t units)
{
    hd_dense_layer layer;
    memset(c, 0, sizeof *c);
    c->g = hd_graph_new(42);
    if (!c->g) die("graph");
    c->x = hd_input(c->g, "x", 2, (int64_t[]){HD_BATCH, units});
    if (hd_dense_init(c->g, &layer, "dense", units, units, 1) != HD_OK) die("dense_init");
    c->y = hd_dense_apply(c->g, &layer, c->x);
    c->loss = hd_sum(c->g, c->y, HD_AXIS_ALL);
    if (!c->loss) die("build");
    if (hd_graph_compile(c->g) != HD_OK) die("compile");
    if (hd_graph_set_batch(c->g, batch) != HD_OK) die("set_batch");
    fill(hd_node_value(c->x)->data, batch * units, 7);
}

static void dense_step(void *p)
{
    dense_ctx *c = p;
    hd_graph_zero_grad(c->g, HD_ALL);
    hd_graph_forward(c->g, c->loss);
    hd_graph_backward(c->g, c->loss, HD_ALL);
}

static void dense_fwd(void *p)
{
    dense_ctx *c = p;
    hd_graph_forward(c->g, c->fwd_to);
}

static void dense_bwd(void *p)
{
    dense_ctx *c = p;
    hd_graph_backward(c->g, c->bwd_from, HD_ALL);
}

static void dense_zero(void *p)
{
    dense_ctx *c = p;
    hd_graph_zero_grad(c->g, HD_ALL);
}

static int threads;
static double budget = 0.5;
static int pieces;

/* ---- pieces: each op timed in a graph of its own --------------------------------
 * forward(node) runs the ops up to node; backward(node) seeds ones at node.
 * Differences between two such calls isolate one op without the (noisy)
 * matmul around it. */

typedef struct { double add_fwd, sum_fwd, relu_fwd, add_bwd, sum_bwd; } elt_times;

/* x [B,units] input, b [units] param: y = x + b, r = relu(y), s = sum(y). */
static elt_times time_elementwise(int64_t batch, int64_t units, double b)
{
    hd_graph *g = hd_graph_new(42);
    hd_dense_layer layer; /* only for its bias parameter */
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, units});
    if (hd_dense_init(g, &layer, "d", 1, units, 1) != HD_OK) die("pieces");
    hd_node *y = hd_add(g, x, layer.bias);
    hd_node *r = hd_relu(g, y);
    hd_node *s = hd_sum(g, y, HD_AXIS_ALL);
    if (!r || !s || hd_graph_compile(g) != HD_OK || hd_graph_set_batch(g, batch) != HD_OK) die("pieces");
    fill(hd_node_value(x)->data, batch * units, 7);
    dense_ctx p = {.g = g};
    elt_times t;
    p.fwd_to = y;
    t.add_fwd = time_median(dense_fwd, &p, b);
    p.fwd_to = r;
    t.relu_fwd = time_median(dense_fwd, &p, b) - t.add_fwd;
    p.fwd_to = s;
    t.sum_fwd = time_median(dense_fwd, &p, b) - t.add_fwd;
    p.bwd_from = y; /* seeds ones in y's gradient, then the bias gradient */
    t.add_bwd = time_median(dense_bwd, &p, b);
    p.bwd_from = s;
    t.sum_bwd = time_median(dense_bwd, &p, b) - t.add_bwd;
    hd_graph_free(g);
    return t;
}

typedef struct { double fwd, bwd; } mm_times;

/* y = x W^T alone: forward, and backward from y (ones seeded, dW). */
static mm_times time_matmul_node(int64_t batch, int64_t units, double b)
{
    hd_graph *g = hd_graph_new(42);
    hd_dense_layer layer;
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, units});
    if (hd_dense_init(g, &layer, "d", units, units, 0) != HD_OK) die("pieces");
    hd_node *y = hd_matmul(g, x, layer.weight, 1);
    if (!y || hd_graph_compile(g) != HD_OK || hd_graph_set_batch(g, batch) != HD_OK) die("pieces");
    fill(hd_node_value(x)->data, batch * units, 7);
    dense_ctx p = {.g = g, .fwd_to = y, .bwd_from = y};
    mm_times t = {time_median(dense_fwd, &p, b), time_median(dense_bwd, &p, b)};
    hd_graph_free(g);
    return t;
}

static void bench_dense_case(int64_t batch, int64_t units)
{
    dense_ctx c;
    dense_build(&c, batch, units);
    double t = time_median(dense_step, &c, budget);

    /* The floor: the two sgemms a step needs (x is an input without a
     * gradient): y = x W^T, then dW += dy^T x. */
    gemm_ctx gs[2];
    gemm_init(&gs[0], (int)batch, (int)units, (int)units, 0, 1, 0.0f);
    gemm_init(&gs[1], (int)units, (int)units, (int)batch, 1, 0, 1.0f);
    gemm_seq seq = {2, gs};
    double tg = time_median(gemm_seq_run, &seq, budget / 2);
    double flop = 2.0 * 2.0 * (double)batch * (double)units * (double)units;
    printf("{\"case\":\"dense_fwd_bwd\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"hadron_gflops\":%.2f,\"sgemm_us\":%.3f}\n",
           (long long)batch, (long long)units, threads, t * 1e6, flop / t * 1e-9, tg * 1e6);
    fflush(stdout);

    if (pieces) {
        double b = budget / 2;
        double z = time_median(dense_zero, &c, b);
        double g_fwd = time_median(gemm_run, &gs[0], b);
        double g_dw = time_median(gemm_run, &gs[1], b);
        elt_times e = time_elementwise(batch, units, b);
        mm_times m = time_matmul_node(batch, units, b);
        printf("{\"case\":\"dense_pieces\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,"
               "\"zero_grad_us\":%.3f,\"fwd_matmul_us\":%.3f,\"fwd_bias_add_us\":%.3f,\"fwd_sum_us\":%.3f,"
               "\"bwd_matmul_us\":%.3f,\"bwd_bias_add_us\":%.3f,\"bwd_sum_us\":%.3f,"
               "\"sgemm_fwd_us\":%.3f,\"sgemm_dw_us\":%.3f}\n",
               (long long)batch, (long long)units, threads, z * 1e6, m.fwd * 1e6, e.add_fwd * 1e6,
               e.sum_fwd * 1e6, m.bwd * 1e6, e.add_bwd * 1e6, e.sum_bwd * 1e6, g_fwd * 1e6, g_dw * 1e6);
        fflush(stdout);
    }
    gemm_seq_free(&seq);
    hd_graph_free(c.g);
}

/* ---- mlp_infer -------------------------------------------------------------------- */

typedef struct { hd_graph *g; hd_node *out; } mlp_ctx;

static void mlp_fwd(void *p)
{
    mlp_ctx *c = p;
    hd_graph_forward(c->g, c->out);
}

static void bench_mlp_infer(void)
{
    const int64_t batch = 4096, n_in = 3, h = 128, n_out = 1;
    hd_mlp_spec spec = {.n_in = n_in, .n_out = n_out, .n_hidden = 3, .hidden = {h, h, h},
                        .act = HD_ACT_RELU, .out_act = HD_ACT_NONE};
    mlp_ctx c;
    c.g = hd_graph_new(42);
    if (!c.g) die("graph");
    hd_node *x = hd_input(c.g, "x", 2, (int64_t[]){HD_BATCH, n_in});
    c.out = hd_mlp(c.g, &spec, "mlp", x);
    if (!c.out) die("mlp");
    if (hd_graph_compile(c.g) != HD_OK || hd_graph_set_batch(c.g, batch) != HD_OK) die("compile");
    hd_graph_set_training(c.g, 0);
    fill(hd_node_value(x)->data, batch * n_in, 8);
    double t = time_median(mlp_fwd, &c, budget);

    /* flops: 2 m n k per matmul */
    double flop = 2.0 * batch * (n_in * h + h * h + h * h + h * n_out);
    double gflops = flop / t * 1e-9;

    /* The same four sgemms back to back, each reading the previous output
     * as the network does: the floor for this forward pass. */
    gemm_ctx chain[4];
    gemm_init(&chain[0], (int)batch, (int)h, (int)n_in, 0, 1, 0.0f);
    gemm_init(&chain[1], (int)batch, (int)h, (int)h, 0, 1, 0.0f);
    gemm_init(&chain[2], (int)batch, (int)h, (int)h, 0, 1, 0.0f);
    gemm_init(&chain[3], (int)batch, (int)n_out, (int)h, 0, 1, 0.0f);
    float *own_a[4];
    for (int i = 0; i < 4; i++) own_a[i] = chain[i].a;
    for (int i = 1; i < 4; i++) chain[i].a = chain[i - 1].c;
    gemm_seq seq = {4, chain};
    double t_chain = time_median(gemm_seq_run, &seq, budget / 2);
    double t_shape = time_median(gemm_run, &chain[1], budget / 2);
    double gf_shape = 2.0 * batch * h * h / t_shape * 1e-9;
    gemm_ctx sq;
    gemm_init(&sq, 1024, 1024, 1024, 0, 0, 0.0f);
    double t_sq = time_median(gemm_run, &sq, budget / 2);
    double gf_sq = 2.0 * 1024.0 * 1024.0 * 1024.0 / t_sq * 1e-9;
    printf("{\"case\":\"mlp_infer\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"hadron_gflops\":%.2f,\"sgemm_chain_us\":%.3f,\"sgemm_gflops_4096x128x128\":%.2f,"
           "\"sgemm_gflops_1024\":%.2f,\"sgemm_frac_shape\":%.3f,\"sgemm_frac_1024\":%.3f}\n",
           (long long)batch, (long long)h, threads, t * 1e6, gflops, t_chain * 1e6, gf_shape, gf_sq,
           gflops / gf_shape, gflops / gf_sq);
    fflush(stdout);
    if (pieces) {
        elt_times e = time_elementwise(batch, h, budget / 2);
        elt_times e1 = time_elementwise(batch, n_out, budget / 2);
        printf("{\"case\":\"mlp_pieces\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,"
               "\"fwd_bias_add_us\":%.3f,\"fwd_relu_us\":%.3f,\"fwd_bias_add_out_us\":%.3f,"
               "\"non_gemm_us\":%.3f}\n",
               (long long)batch, (long long)h, threads, e.add_fwd * 1e6, e.relu_fwd * 1e6, e1.add_fwd * 1e6,
               (3 * (e.add_fwd + e.relu_fwd) + e1.add_fwd) * 1e6);
        fflush(stdout);
    }
    for (int i = 0; i < 4; i++) chain[i].a = own_a[i];
    gemm_seq_free(&seq);
    gemm_free(&sq);
    hd_graph_free(c.g);
}

/* ---- main ------------------------------------------------------------------------- */

static const int64_t dense_batches[] = {10, 256, 4096};
static const int64_t dense_units[] = {128, 1024};

static void usage(void)
{
    fprintf(stderr, "usage: bench_dense [--threads N] [--time SECONDS] [--pieces] [--list] "
                    "[dense_fwd_bwd | dense_fwd_bwd:BATCH:UNITS | mlp_infer] ...\n");
}

/* Runs a case, or with list set prints the single-configuration names it
 * expands to (bench/run.sh interleaves hadron and PyTorch per configuration). */
static int run_case(const char *name, int list)
{
    long long b, u;
    if (strcmp(name, "dense_fwd_bwd") == 0) {
        for (size_t i = 0; i < sizeof dense_batches / sizeof *dense_batches; i++)
            for (size_t j = 0; j < sizeof dense_units / sizeof *dense_units; j++) {
                if (list) printf("dense_fwd_bwd:%lld:%lld\n", (long long)dense_batches[i], (long long)dense_units[j]);
                else bench_dense_case(dense_batches[i], dense_units[j]);
            }
    } else if (sscanf(name, "dense_fwd_bwd:%lld:%lld", &b, &u) == 2 && b > 0 && u > 0) {
        if (list) printf("dense_fwd_bwd:%lld:%lld\n", b, u);
        else bench_dense_case(b, u);
    } else if (strcmp(name, "mlp_infer") == 0) {
        if (list) printf("mlp_infer\n");
        else bench_mlp_infer();
    } else {
        fprintf(stderr, "bench_dense: unknown case '%s'\n", name);
        usage();
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *cases[64];
    int n_cases = 0;
    int want_threads = 0, list = 0;
    const char *env = getenv("OMP_NUM_THREADS");
    if (env) want_threads = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) want_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) budget = atof(argv[++i]);
        else if (strcmp(argv[i], "--pieces") == 0) pieces = 1;
        else if (strcmp(argv[i], "--list") == 0) list = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else if (n_cases < 64) cases[n_cases++] = argv[i];
    }
    if (!(budget > 0)) budget = 0.5;
    hd_set_threads(want_threads);
    threads = hd_get_threads();
    if (n_cases == 0) {
        cases[n_cases++] = "dense_fwd_bwd";
        cases[n_cases++] = "mlp_infer";
    }
    int rc = 0;
    for (int i = 0; i < n_cases; i++) rc |= run_case(cases[i], list);
    return rc;
}
