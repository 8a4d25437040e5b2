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
 * Timing, the sgemm floors, the command line and main: bench_util.h. */
#include "bench_util.h"
#include "hadron/nn.h"

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
    if (!c->g) bench_die("graph");
    c->x = hd_input(c->g, "x", 2, (int64_t[]){HD_BATCH, units});
    if (hd_dense_init(c->g, &layer, "dense", units, units, 1) != HD_OK) bench_die("dense_init");
    c->y = hd_dense_apply(c->g, &layer, c->x);
    c->loss = hd_sum(c->g, c->y, HD_AXIS_ALL);
    if (!c->loss) bench_die("build");
    if (hd_graph_compile(c->g) != HD_OK) bench_die("compile");
    if (hd_graph_set_batch(c->g, batch) != HD_OK) bench_die("set_batch");
    bench_fill(hd_node_value(c->x)->data, batch * units, 7);
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
    if (hd_dense_init(g, &layer, "d", 1, units, 1) != HD_OK) bench_die("pieces");
    hd_node *y = hd_add(g, x, layer.bias);
    hd_node *r = hd_relu(g, y);
    hd_node *s = hd_sum(g, y, HD_AXIS_ALL);
    if (!r || !s || hd_graph_compile(g) != HD_OK || hd_graph_set_batch(g, batch) != HD_OK) bench_die("pieces");
    bench_fill(hd_node_value(x)->data, batch * units, 7);
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
    if (hd_dense_init(g, &layer, "d", units, units, 0) != HD_OK) bench_die("pieces");
    hd_node *y = hd_matmul(g, x, layer.weight, 1);
    if (!y || hd_graph_compile(g) != HD_OK || hd_graph_set_batch(g, batch) != HD_OK) bench_die("pieces");
    bench_fill(hd_node_value(x)->data, batch * units, 7);
    dense_ctx p = {.g = g, .fwd_to = y, .bwd_from = y};
    mm_times t = {time_median(dense_fwd, &p, b), time_median(dense_bwd, &p, b)};
    hd_graph_free(g);
    return t;
}

static void bench_dense_case(int64_t batch, int64_t units)
{
    dense_ctx c;
    dense_build(&c, batch, units);
    double t = time_median(dense_step, &c, bench.budget);

    /* The floor: the two sgemms a step needs (x is an input without a
     * gradient): y = x W^T, then dW += dy^T x. */
    gemm_ctx gs[2];
    gemm_init(&gs[0], (int)batch, (int)units, (int)units, 0, 1, 0.0f);
    gemm_init(&gs[1], (int)units, (int)units, (int)batch, 1, 0, 1.0f);
    gemm_seq seq = {2, gs};
    double tg = time_median(gemm_seq_run, &seq, bench.budget / 2);
    double flop = 2.0 * 2.0 * (double)batch * (double)units * (double)units;
    printf("{\"case\":\"dense_fwd_bwd\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"hadron_gflops\":%.2f,\"sgemm_us\":%.3f}\n",
           (long long)batch, (long long)units, bench.threads, t * 1e6, flop / t * 1e-9, tg * 1e6);
    fflush(stdout);

    if (bench.pieces) {
        double b = bench.budget / 2;
        double z = time_median(dense_zero, &c, b);
        double g_fwd = time_median(gemm_run, &gs[0], b);
        double g_dw = time_median(gemm_run, &gs[1], b);
        elt_times e = time_elementwise(batch, units, b);
        mm_times m = time_matmul_node(batch, units, b);
        printf("{\"case\":\"dense_pieces\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,"
               "\"zero_grad_us\":%.3f,\"fwd_matmul_us\":%.3f,\"fwd_bias_add_us\":%.3f,\"fwd_sum_us\":%.3f,"
               "\"bwd_matmul_us\":%.3f,\"bwd_bias_add_us\":%.3f,\"bwd_sum_us\":%.3f,"
               "\"sgemm_fwd_us\":%.3f,\"sgemm_dw_us\":%.3f}\n",
               (long long)batch, (long long)units, bench.threads, z * 1e6, m.fwd * 1e6, e.add_fwd * 1e6,
               e.sum_fwd * 1e6, m.bwd * 1e6, e.add_bwd * 1e6, e.sum_bwd * 1e6, g_fwd * 1e6, g_dw * 1e6);
        fflush(stdout);
    }
    gemm_seq_free(&seq);
    hd_graph_free(c.g);
}

/* ---- mlp_infer -------------------------------------------------------------------- */

static void bench_mlp_infer(void)
{
    const int64_t batch = 4096, n_in = 3, h = 128, n_out = 1;
    hd_mlp_spec spec = {.n_in = n_in, .n_out = n_out, .n_hidden = 3, .hidden = {h, h, h},
                        .act = HD_ACT_RELU, .out_act = HD_ACT_NONE};
    fwd_ctx c;
    c.g = hd_graph_new(42);
    if (!c.g) bench_die("graph");
    hd_node *x = hd_input(c.g, "x", 2, (int64_t[]){HD_BATCH, n_in});
    c.out = hd_mlp(c.g, &spec, "mlp", x);
    if (!c.out) bench_die("mlp");
    if (hd_graph_compile(c.g) != HD_OK || hd_graph_set_batch(c.g, batch) != HD_OK) bench_die("compile");
    hd_graph_set_training(c.g, 0);
    bench_fill(hd_node_value(x)->data, batch * n_in, 8);
    double t = time_median(fwd_run, &c, bench.budget);

    /* flops: 2 m n k per matmul */
    double flop = 2.0 * batch * (n_in * h + h * h + h * h + h * n_out);
    double gflops = flop / t * 1e-9;

    /* The same four sgemms back to back, each reading the previous output
     * as the network does: the floor for this forward pass. */
    gemm_chain chain;
    gemm_chain_init(&chain, (int)batch, 4, (const int[]){(int)n_in, (int)h, (int)h, (int)h, (int)n_out}, 0.0f);
    double t_chain = time_median(gemm_seq_run, &chain.seq, bench.budget / 2);
    double gf_shape = sgemm_gflops((int)batch, (int)h, (int)h, 1, bench.budget / 2);
    double gf_sq = sgemm_gflops(1024, 1024, 1024, 0, bench.budget / 2);
    printf("{\"case\":\"mlp_infer\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"hadron_gflops\":%.2f,\"sgemm_chain_us\":%.3f,\"sgemm_gflops_4096x128x128\":%.2f,"
           "\"sgemm_gflops_1024\":%.2f,\"sgemm_frac_shape\":%.3f,\"sgemm_frac_1024\":%.3f}\n",
           (long long)batch, (long long)h, bench.threads, t * 1e6, gflops, t_chain * 1e6, gf_shape, gf_sq,
           gflops / gf_shape, gflops / gf_sq);
    fflush(stdout);
    if (bench.pieces) {
        elt_times e = time_elementwise(batch, h, bench.budget / 2);
        elt_times e1 = time_elementwise(batch, n_out, bench.budget / 2);
        printf("{\"case\":\"mlp_pieces\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,"
               "\"fwd_bias_add_us\":%.3f,\"fwd_relu_us\":%.3f,\"fwd_bias_add_out_us\":%.3f,"
               "\"non_gemm_us\":%.3f}\n",
               (long long)batch, (long long)h, bench.threads, e.add_fwd * 1e6, e.relu_fwd * 1e6, e1.add_fwd * 1e6,
               (3 * (e.add_fwd + e.relu_fwd) + e1.add_fwd) * 1e6);
        fflush(stdout);
    }
    gemm_chain_free(&chain);
    hd_graph_free(c.g);
}

/* ---- main ------------------------------------------------------------------------- */

static const int64_t dense_batches[] = {10, 256, 4096};
static const int64_t dense_units[] = {128, 1024};

/* Runs a case, or with list set prints the single-configuration names it
 * expands to (bench/run.sh interleaves hadron and PyTorch per configuration);
 * nonzero for an unknown case. */
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
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"dense_fwd_bwd", "mlp_infer"};
    return bench_main(argc, argv, "bench_dense", "[dense_fwd_bwd | dense_fwd_bwd:BATCH:UNITS | mlp_infer]", defaults,
                      2, run_case);
}
