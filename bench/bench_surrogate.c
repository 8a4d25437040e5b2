/* Surrogate-workflow benchmarks: one JSON line per case on stdout.
 *
 *   bench_surrogate [--threads N] [--time SECONDS] [--pieces] [--list] [CASE ...]
 *
 * CASE is "surrogate_epoch" (one training epoch through hd_train, the trainer
 * src/workflows/surrogate/surrogate.c runs: 960 rows of 4 features,
 * shuffled, batches of 10, MLP
 * 4 -> 128 -> 128 -> 128 -> 1 with ReLU, binomial NLL, NAdamW) or
 * "surrogate_infer" (hd_model_predict on 4096 raw (eta, pT, phi) rows of a
 * model file written by this program); both by default.  --pieces adds a
 * line per case timing the parts on their own; --list prints the cases.
 * bench/torch_surrogate.py runs the same cases in PyTorch with the same
 * timing method; bench/run.sh runs both and joins the lines.
 *
 * Timing, the sgemm floors, the command line and main: bench_util.h. */
#include "bench_util.h"
#include "hadron/data.h"
#include "hadron/nn.h"

#include <omp.h>
#include <unistd.h>

/* The seed notebook's network: 3 hidden layers of 128 with ReLU, 1 logit. */
static hd_mlp_spec surrogate_spec(void)
{
    return (hd_mlp_spec){.n_in = 4, .n_out = 1, .n_hidden = 3, .hidden = {128, 128, 128},
                         .act = HD_ACT_RELU, .out_act = HD_ACT_NONE};
}

/* ---- surrogate_epoch -------------------------------------------------------------- */

enum { EPOCH_ROWS = 960, EPOCH_BATCH = 10, N_FEAT = 4 };

typedef struct {
    hd_graph *g;
    hd_node *x, *k, *n, *loss;
    hd_optim *opt;          /* for the pieces */
    float *params, *grads;
    int64_t n_params;
    hd_loader l;            /* for the pieces */
    hd_train_opts train;    /* one epoch */
    float *data_x, *data_k, *data_n;
    int64_t steps; /* steps taken, to check that every epoch ran */
} epoch_ctx;

/* Training rows: features ~ N(0,1) (already scaled, as after the workflow's
 * scaler), n ~ U{500..1500} trials, k ~ Binomial(n, p) with p a smooth
 * function of the features. */
static void epoch_data(epoch_ctx *c)
{
    hd_rng r;
    hd_rng_init(&r, 7, HD_STREAM_USER + 20);
    c->data_x = bench_xmalloc(EPOCH_ROWS * N_FEAT * sizeof(float));
    c->data_k = bench_xmalloc(EPOCH_ROWS * sizeof(float));
    c->data_n = bench_xmalloc(EPOCH_ROWS * sizeof(float));
    hd_rng_fill_normal(&r, c->data_x, EPOCH_ROWS * N_FEAT, 0.0f, 1.0f);
    for (int i = 0; i < EPOCH_ROWS; i++) {
        const float *x = c->data_x + N_FEAT * i;
        double p = 1.0 / (1.0 + exp(-(0.8 * x[1] - 0.5 * x[0] * x[0] + 0.2 * x[2] + 1.0)));
        int n = 500 + (int)hd_rng_below(&r, 1001), k = 0;
        for (int t = 0; t < n; t++) k += hd_rng_uniform(&r) < p;
        c->data_n[i] = (float)n;
        c->data_k[i] = (float)k;
    }
}

static void count_step(void *user, int64_t index, int64_t rows)
{
    (void)index;
    (void)rows;
    ((epoch_ctx *)user)->steps++;
}

static void epoch_build(epoch_ctx *c)
{
    memset(c, 0, sizeof *c);
    epoch_data(c);
    hd_mlp_spec spec = surrogate_spec();
    /* As build_net in src/workflows/surrogate/surrogate.c with the binomial loss. */
    c->g = hd_graph_new(1);
    if (!c->g) bench_die("graph");
    int64_t col[2] = {HD_BATCH, 1};
    c->x = hd_input(c->g, "x", 2, (int64_t[]){HD_BATCH, N_FEAT});
    c->k = hd_input(c->g, "k", 2, col);
    c->n = hd_input(c->g, "n", 2, col);
    hd_node *out = hd_mlp(c->g, &spec, "surrogate", c->x);
    c->loss = hd_binomial_nll_loss(c->g, out, c->k, c->n);
    if (!c->loss) bench_die("build");
    if (hd_graph_compile(c->g) != HD_OK) bench_die("compile");
    if (hd_graph_param_range(c->g, HD_ALL, &c->params, &c->grads, &c->n_params) != HD_OK) bench_die("param_range");
    hd_optim_opts oo = hd_optim_opts_default(HD_NADAMW);
    oo.lr = 1e-3f;
    oo.weight_decay = 1e-4f;
    c->opt = hd_optim_new(&oo, c->n_params);
    if (!c->opt) bench_die("optim");
    if (hd_loader_init(&c->l, 3, (const float *[]){c->data_x, c->data_k, c->data_n}, (int64_t[]){N_FEAT, 1, 1},
                       EPOCH_ROWS, EPOCH_BATCH, 1) != HD_OK)
        bench_die("loader");
    if (hd_graph_set_batch(c->g, EPOCH_BATCH) != HD_OK) bench_die("set_batch");
    hd_train_opts *t = &c->train;
    *t = hd_train_opts_default();
    t->g = c->g;
    t->loss = c->loss;
    t->n_columns = 3;
    t->inputs[0] = c->x;
    t->inputs[1] = c->k;
    t->inputs[2] = c->n;
    t->columns[0] = c->data_x;
    t->columns[1] = c->data_k;
    t->columns[2] = c->data_n;
    t->n_rows = EPOCH_ROWS;
    t->batch = EPOCH_BATCH;
    t->seed = 1;
    t->optim = oo;
    t->epochs = 1;
    t->on_batch = count_step;
    t->user = c;
}

static void epoch_free(epoch_ctx *c)
{
    hd_loader_free(&c->l);
    hd_optim_free(c->opt);
    hd_graph_free(c->g);
    free(c->data_x);
    free(c->data_k);
    free(c->data_n);
}

/* One epoch through the trainer, its set-up (optimiser, loader) included. */
static void epoch_run(void *p)
{
    epoch_ctx *c = p;
    hd_train_result r;
    if (hd_train(&c->train, &r) != HD_OK) bench_die("train");
}

/* Pieces of one step, each repeated on its own. */
static void piece_load(void *p)
{
    epoch_ctx *c = p;
    if (hd_loader_next_size(&c->l) == 0) hd_loader_shuffle(&c->l);
    float *dst[3] = {hd_node_value(c->x)->data, hd_node_value(c->k)->data, hd_node_value(c->n)->data};
    hd_loader_next(&c->l, dst);
}

static void piece_shuffle(void *p) { hd_loader_shuffle(&((epoch_ctx *)p)->l); }
static void piece_zero(void *p) { hd_graph_zero_grad(((epoch_ctx *)p)->g, HD_ALL); }

static void piece_fwd(void *p)
{
    epoch_ctx *c = p;
    hd_graph_forward(c->g, c->loss);
}

static void piece_bwd(void *p)
{
    epoch_ctx *c = p;
    hd_graph_backward(c->g, c->loss, HD_ALL);
}

static void piece_optim(void *p)
{
    epoch_ctx *c = p;
    hd_optim_step(c->opt, c->params, c->grads);
}

static void bench_epoch(void)
{
    epoch_ctx c;
    epoch_build(&c);
    double t = time_median(epoch_run, &c, bench.budget);
    int64_t steps = (EPOCH_ROWS + EPOCH_BATCH - 1) / EPOCH_BATCH;
    if (c.steps % steps != 0) bench_die("epoch steps");
    /* sanity: the loss is finite after all those epochs */
    hd_graph_forward(c.g, c.loss);
    float loss = hd_node_scalar(c.loss);
    printf("{\"case\":\"surrogate_epoch\",\"batch\":%d,\"units\":128,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"rows\":%d,\"steps\":%lld,\"hadron_us_per_step\":%.3f,\"params\":%lld,\"loss\":%.6g}\n",
           EPOCH_BATCH, bench.threads, t * 1e6, EPOCH_ROWS, (long long)steps, t * 1e6 / (double)steps,
           (long long)c.n_params, (double)loss);
    fflush(stdout);

    if (bench.pieces) {
        double b = bench.budget / 2;
        double t_shuffle = time_median(piece_shuffle, &c, b);
        double t_load = time_median(piece_load, &c, b);
        if (hd_graph_batch(c.g) != EPOCH_BATCH) hd_graph_set_batch(c.g, EPOCH_BATCH);
        double t_zero = time_median(piece_zero, &c, b);
        double t_fwd = time_median(piece_fwd, &c, b);
        double t_bwd = time_median(piece_bwd, &c, b);
        double t_opt = time_median(piece_optim, &c, b);
        /* The sgemm floor of a step at batch 10: forward x W^T for the four
         * layers; backward dW = dy^T x for the four and dx = dy W for the
         * three hidden inputs (x itself needs no gradient). */
        const int dims[5] = {N_FEAT, 128, 128, 128, 1};
        gemm_ctx gs[11];
        int ng = 0;
        for (int i = 0; i < 4; i++) gemm_init(&gs[ng++], EPOCH_BATCH, dims[i + 1], dims[i], 0, 1, 1.0f);
        for (int i = 0; i < 4; i++) gemm_init(&gs[ng++], dims[i + 1], dims[i], EPOCH_BATCH, 1, 0, 1.0f);
        for (int i = 1; i < 4; i++) gemm_init(&gs[ng++], EPOCH_BATCH, dims[i], dims[i + 1], 0, 0, 1.0f);
        gemm_seq seq = {ng, gs};
        double t_gemm = time_median(gemm_seq_run, &seq, b);
        gemm_seq fwd_seq = {4, gs};
        double t_gemm_fwd = time_median(gemm_seq_run, &fwd_seq, b);
        printf("{\"case\":\"epoch_pieces\",\"batch\":%d,\"units\":128,\"threads\":%d,\"shuffle_us\":%.3f,"
               "\"load_us\":%.3f,\"zero_grad_us\":%.3f,\"forward_us\":%.3f,\"backward_us\":%.3f,"
               "\"optim_us\":%.3f,\"sum_step_us\":%.3f,\"sgemm_step_us\":%.3f,\"sgemm_fwd_us\":%.3f}\n",
               EPOCH_BATCH, bench.threads, t_shuffle * 1e6, t_load * 1e6, t_zero * 1e6, t_fwd * 1e6, t_bwd * 1e6,
               t_opt * 1e6, (t_load + t_zero + t_fwd + t_bwd + t_opt) * 1e6, t_gemm * 1e6, t_gemm_fwd * 1e6);
        fflush(stdout);
        gemm_seq_free(&seq);
    }
    epoch_free(&c);
}

/* ---- surrogate_infer -------------------------------------------------------------- */

enum { INFER_ROWS = 4096, N_RAW = 3 };
static const double PI = 3.14159265358979323846;

/* Writes a model file as save_model in src/workflows/surrogate/surrogate.c does:
 * random (initial) weights, a scaler fitted on the features of raw. */
static void write_model(const char *path, const float *raw, int64_t rows)
{
    hd_mlp_spec spec = surrogate_spec();
    hd_graph *g = hd_graph_new(3);
    if (!g) bench_die("graph");
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, N_FEAT});
    if (!hd_mlp(g, &spec, "surrogate", x) || hd_graph_compile(g) != HD_OK) bench_die("model graph");
    double s[N_FEAT] = {0}, s2[N_FEAT] = {0};
    for (int64_t r = 0; r < rows; r++) {
        const float *v = raw + N_RAW * r;
        double f[N_FEAT] = {v[0], log(v[1]), cos(v[2]), sin(v[2])};
        for (int j = 0; j < N_FEAT; j++) {
            s[j] += f[j];
            s2[j] += f[j] * f[j];
        }
    }
    float mean[N_FEAT], std[N_FEAT];
    for (int j = 0; j < N_FEAT; j++) {
        double m = s[j] / (double)rows, var = s2[j] / (double)rows - m * m;
        mean[j] = (float)m;
        std[j] = var > 0 ? (float)sqrt(var) : 1.0f;
    }
    char *arch = hd_mlp_spec_to_json(&spec);
    if (!arch) bench_die("spec json");
    const char *meta[][2] = {{"model", "mlp"},
                             {"mlp", arch},
                             {"prefix", "surrogate"},
                             {"inputs", "eta,pt,phi"},
                             {"input_transform", "none,log,cyclic"},
                             {"output", "sigmoid"}};
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) hd_checkpoint_meta(&e, meta[i][0], "%s", meta[i][1]);
    hd_checkpoint_tensor(&e, "scaler.mean", mean, N_FEAT);
    hd_checkpoint_tensor(&e, "scaler.std", std, N_FEAT);
    if (hd_checkpoint_write(g, path, HD_ALL, &e) != HD_OK) bench_die("save model");
    hd_checkpoint_entries_release(&e);
    hd_free(arch);
    hd_graph_free(g);
}

/* Raw particles: eta ~ U(-2.5, 2.5), pT log-uniform in [100 MeV, 100 GeV],
 * phi ~ U(-pi, pi). */
static float *raw_particles(int64_t rows)
{
    float *x = bench_xmalloc((size_t)rows * N_RAW * sizeof *x);
    hd_rng r;
    hd_rng_init(&r, 11, HD_STREAM_USER + 30);
    for (int64_t i = 0; i < rows; i++) {
        x[N_RAW * i] = -2.5f + 5.0f * hd_rng_uniform(&r);
        x[N_RAW * i + 1] = (float)(100.0 * pow(1000.0, (double)hd_rng_uniform(&r)));
        x[N_RAW * i + 2] = (float)(-PI + 2 * PI * (double)hd_rng_uniform(&r));
    }
    return x;
}

typedef struct { hd_model *m; int64_t rows; const float *x; float *y; } predict_ctx;

static void predict_run(void *p)
{
    predict_ctx *c = p;
    if (hd_model_predict(c->m, c->rows, c->x, c->y) != HD_OK) bench_die("predict");
}

/* The same rows through hd_model_predict in slices of `slice` rows (each
 * model keeps its batch size, so set_batch runs once): how the chunk size
 * (CHUNK = 4096 in src/nn/model.c) changes the time.  With par set, the
 * slices are shared among the threads, each with a model of its own and
 * single-threaded sgemm inside the parallel region. */
typedef struct { hd_model *m[64]; int n_models; int64_t rows, slice; const float *x; float *y; int par; } slice_ctx;

static void slice_run(void *p)
{
    slice_ctx *c = p;
    int64_t n_slices = (c->rows + c->slice - 1) / c->slice;
    if (!c->par) {
        for (int64_t s = 0; s < n_slices; s++) {
            int64_t r0 = s * c->slice, n = c->rows - r0 < c->slice ? c->rows - r0 : c->slice;
            if (hd_model_predict(c->m[0], n, c->x + r0 * N_RAW, c->y + r0) != HD_OK) bench_die("predict");
        }
        return;
    }
#pragma omp parallel num_threads(c->n_models)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int64_t s = t; s < n_slices; s += nt) {
            int64_t r0 = s * c->slice, n = c->rows - r0 < c->slice ? c->rows - r0 : c->slice;
            hd_model_predict(c->m[t], n, c->x + r0 * N_RAW, c->y + r0);
        }
    }
}

static double time_slices(const char *path, const float *raw, float *y, int64_t rows, int64_t slice, int par,
                          double b)
{
    slice_ctx c = {.n_models = par ? bench.threads : 1, .rows = rows, .slice = slice, .x = raw, .y = y, .par = par};
    for (int i = 0; i < c.n_models; i++)
        if (hd_model_load(path, &c.m[i]) != HD_OK) bench_die("model load");
    double t = time_median(slice_run, &c, b);
    for (int i = 0; i < c.n_models; i++) hd_model_free(c.m[i]);
    return t;
}

static void bench_infer(void)
{
    const int64_t rows = INFER_ROWS, h = 128;
    float *raw = raw_particles(rows), *y = bench_xmalloc((size_t)rows * sizeof *y);
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/hadron-bench-surrogate-%ld.safetensors", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    write_model(path, raw, rows);
    hd_model *m;
    if (hd_model_load(path, &m) != HD_OK) bench_die("model load");
    if (hd_model_n_in(m) != N_RAW || hd_model_n_out(m) != 1) bench_die("model shape");
    predict_ctx pc = {m, rows, raw, y};
    double t = time_median(predict_run, &pc, bench.budget);
    double flop = 2.0 * (double)rows * (N_FEAT * h + h * h * 2 + h * 1);
    double gflops = flop / t * 1e-9;

    double gf_shape = sgemm_gflops((int)rows, (int)h, (int)h, 1, bench.budget / 2);
    double gf_sq = sgemm_gflops(1024, 1024, 1024, 0, bench.budget / 2);
    double mean_p = 0;
    for (int64_t i = 0; i < rows; i++) mean_p += y[i];
    printf("{\"case\":\"surrogate_infer\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"hadron_us\":%.3f,"
           "\"hadron_ns_per_particle\":%.3f,\"hadron_gflops\":%.2f,\"sgemm_gflops_4096x128x128\":%.2f,"
           "\"sgemm_gflops_1024\":%.2f,\"sgemm_frac_shape\":%.3f,\"sgemm_frac_1024\":%.3f,\"mean_p\":%.4f}\n",
           (long long)rows, (long long)h, bench.threads, t * 1e6, t * 1e9 / (double)rows, gflops, gf_shape, gf_sq,
           gflops / gf_shape, gflops / gf_sq, mean_p / (double)rows);
    fflush(stdout);

    if (bench.pieces) {
        /* The network alone: the same graph as hd_model_load builds (MLP,
         * then sigmoid), forward only, inputs already transformed. */
        double b = bench.budget / 2;
        hd_mlp_spec spec = surrogate_spec();
        fwd_ctx f;
        f.g = hd_graph_new(3);
        hd_node *x = hd_input(f.g, "x", 2, (int64_t[]){HD_BATCH, N_FEAT});
        hd_node *logit = hd_mlp(f.g, &spec, "surrogate", x);
        f.out = hd_sigmoid(f.g, logit);
        if (!f.out || hd_graph_compile(f.g) != HD_OK || hd_graph_set_batch(f.g, rows) != HD_OK) bench_die("pieces");
        hd_graph_set_training(f.g, 0);
        hd_rng r;
        hd_rng_init(&r, 5, HD_STREAM_USER + 31);
        hd_rng_fill_normal(&r, hd_node_value(x)->data, rows * N_FEAT, 0.0f, 1.0f);
        double t_net = time_median(fwd_run, &f, b);
        f.out = logit;
        double t_logit = time_median(fwd_run, &f, b);
        /* The four sgemms back to back (beta = 1, as the fused linear op). */
        gemm_chain chain;
        gemm_chain_init(&chain, (int)rows, 4, (const int[]){N_FEAT, 128, 128, 128, 1}, 1.0f);
        double t_chain = time_median(gemm_seq_run, &chain.seq, b);
        double t_slice[4], t_par[4];
        const int64_t slices[4] = {256, 512, 1024, 4096};
        for (int i = 0; i < 4; i++) {
            t_slice[i] = time_slices(path, raw, y, rows, slices[i], 0, b);
            t_par[i] = bench.threads > 1 ? time_slices(path, raw, y, rows, slices[i], 1, b) : t_slice[i];
        }
        printf("{\"case\":\"infer_pieces\",\"batch\":%lld,\"units\":%lld,\"threads\":%d,\"predict_us\":%.3f,"
               "\"graph_fwd_us\":%.3f,\"graph_fwd_logit_us\":%.3f,\"transform_copy_us\":%.3f,\"sigmoid_us\":%.3f,"
               "\"sgemm_chain_us\":%.3f,\"non_gemm_graph_us\":%.3f",
               (long long)rows, (long long)h, bench.threads, t * 1e6, t_net * 1e6, t_logit * 1e6, (t - t_net) * 1e6,
               (t_net - t_logit) * 1e6, t_chain * 1e6, (t_logit - t_chain) * 1e6);
        for (int i = 0; i < 4; i++)
            printf(",\"slices%lld_us\":%.3f,\"slices%lld_gflops\":%.2f", (long long)slices[i], t_slice[i] * 1e6,
                   (long long)slices[i], flop / t_slice[i] * 1e-9);
        if (bench.threads > 1)
            for (int i = 0; i < 4; i++)
                printf(",\"par_slices%lld_us\":%.3f,\"par_slices%lld_gflops\":%.2f", (long long)slices[i],
                       t_par[i] * 1e6, (long long)slices[i], flop / t_par[i] * 1e-9);
        printf("}\n");
        fflush(stdout);
        gemm_chain_free(&chain);
        hd_graph_free(f.g);
    }
    hd_model_free(m);
    remove(path);
    free(raw);
    free(y);
}

/* ---- main ------------------------------------------------------------------------- */

/* Runs a case, or with list set prints its name; nonzero for an unknown case. */
static int run_case(const char *name, int list)
{
    if (strcmp(name, "surrogate_epoch") == 0) {
        if (list) printf("surrogate_epoch\n");
        else bench_epoch();
    } else if (strcmp(name, "surrogate_infer") == 0) {
        if (list) printf("surrogate_infer\n");
        else bench_infer();
    } else {
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"surrogate_epoch", "surrogate_infer"};
    return bench_main(argc, argv, "bench_surrogate", "[surrogate_epoch | surrogate_infer]", defaults, 2, run_case);
}
