/* hadron gen benchmarks (issue 18): one WGAN-GP generator iteration and the
 * generator's sampling throughput, one JSON line per case on stdout.
 *
 *   bench_gen [--threads N] [--time SECONDS] [--pieces] [--list] [CASE ...]
 *
 * CASE is
 *   gen_wgan_iteration[:reduced]  one generator iteration of `hadron gen
 *       train --model wgan-gp` with the default options on the reduced
 *       layout (288 voxels, 1 condition), batch 128: the networks of
 *       gen_net_build (src/workflows/gen/gen_nets.c) and 5 gen_net_step
 *       calls with steps 5k .. 5k + 4, i.e. 5 critic steps (generator
 *       forward, critic forward/backward with the gradient penalty, Adam)
 *       and the generator step after the fifth.  The real batch and its
 *       conditions are fixed N(0, 1) values (the features are standardised).
 *       --pieces adds gen_wgan_iteration_pieces: a critic step alone and the
 *       rest of the iteration (the generator step).
 *   gen_sample[:reduced]  showers per second of a trained wgan-gp generator
 *       through the public API: a checkpoint made by hd_gen_train (1 epoch,
 *       no evaluation) on 640 showers simulated with hd_calo_write in a
 *       temporary directory, hd_model_load, then hd_model_generate of
 *       4 x 4096 showers per call (the model evaluates 4096 rows at a time)
 *       for fixed energies log-uniform in the training range, noise from the
 *       model's stream.  hadron_us is that whole call (noise, condition
 *       features, network, inverse transform to MeV with the threshold);
 *       hadron_net_us is the network alone, the same MLP with the
 *       checkpoint's weights in a no-grad graph at batch 4096, forward 4
 *       times on fixed inputs.
 * Without a case, both run.  --list prints the single configurations;
 * bench/torch_gen.py runs the same in PyTorch and bench/run.sh joins the
 * lines.
 *
 * Timing, the command line and main: bench_util.h. */
#include "bench_util.h"
#include "hadron/nn.h"
#include "hadron/sim.h"
#include "hadron/workflows.h"
#include "workflows/gen/gen_internal.h"

#include <dirent.h>
#include <unistd.h>

enum { SAMPLE_BATCH = 4096, SAMPLE_CHUNKS = 4, SIM_SHOWERS = 640 };

static const char *const LAYOUTS[] = {"reduced"};
enum { N_LAYOUTS = (int)(sizeof LAYOUTS / sizeof LAYOUTS[0]) };

/* ---- gen_wgan_iteration ------------------------------------------------------------ */

typedef struct {
    gen_net n;
    hd_gen_opts o;
    int64_t step;      /* critic steps so far */
    int64_t iterations;
    double closs, gloss, stat;
} iter_ctx;

/* One generator iteration: n_critic critic steps, the generator step after the last. */
static void iter_run(void *p)
{
    iter_ctx *c = p;
    for (int i = 0; i < c->o.n_critic; i++) {
        double cl, gl, st;
        if (gen_net_step(&c->n, &c->o, c->step, &cl, &gl, &st) != HD_OK) bench_die("gen_net_step");
        c->step++;
        c->closs = cl;
        c->stat = st;
        if (!isnan(gl)) c->gloss = gl;
    }
    c->iterations++;
}

/* A critic step alone: a step number whose (step + 1) % n_critic != 0. */
static void critic_run(void *p)
{
    iter_ctx *c = p;
    double cl, gl, st;
    int64_t step = c->step - c->step % c->o.n_critic; /* 5k: never followed by the generator step */
    if (gen_net_step(&c->n, &c->o, step, &cl, &gl, &st) != HD_OK) bench_die("gen_net_step");
    c->step += c->o.n_critic;
}

static void bench_iteration(const char *layout)
{
    iter_ctx c = {.o = hd_gen_opts_default(HD_GEN_WGAN_GP), .closs = NAN, .gloss = NAN, .stat = NAN};
    hd_calo_layout l;
    if (hd_calo_layout_get(layout, &l) != HD_OK) bench_die("layout");
    int64_t nv = hd_calo_layout_voxels(&l), nc = l.kind == HD_CALO_GRID ? 1 + HD_CALO_COND : 1;
    hd_shower_prep prep = c.o.prep; /* used only with --enforce, which is off */
    if (gen_net_build(&c.n, &c.o, nv, nc, &l, &prep) != HD_OK) bench_die("gen_net_build");
    int64_t B = c.n.batch;
    bench_fill(hd_node_value(c.n.real)->data, B * nv, 60);
    bench_fill(hd_node_value(c.n.cond)->data, B * nc, 61);

    double t = time_median(iter_run, &c, bench.budget);
    if (!isfinite(c.closs) || !isfinite(c.gloss)) bench_die("non-finite loss");
    printf("{\"case\":\"gen_wgan_iteration\",\"layout\":\"%s\",\"batch\":%lld,\"threads\":%d,\"hadron_us\":%.1f,"
           "\"hadron_ms\":%.2f,\"hadron_us_per_critic_step\":%.1f,\"n_critic\":%d,\"voxels\":%lld,\"latent\":%lld,"
           "\"gen_params\":%lld,\"critic_params\":%lld,\"iterations\":%lld,\"critic_loss\":%.4g,"
           "\"gen_loss\":%.4g,\"w1\":%.4g}\n",
           layout, (long long)B, bench.threads, t * 1e6, t * 1e3, t * 1e6 / c.o.n_critic, c.o.n_critic,
           (long long)nv, (long long)c.o.latent, (long long)c.n.ng, (long long)c.n.nd, (long long)c.iterations,
           c.closs, c.gloss, c.stat);
    fflush(stdout);
    if (bench.pieces) {
        double tc = time_median(critic_run, &c, bench.budget);
        printf("{\"case\":\"gen_wgan_iteration_pieces\",\"layout\":\"%s\",\"batch\":%lld,\"threads\":%d,"
               "\"iteration_us\":%.1f,\"critic_step_us\":%.1f,\"gen_step_us\":%.1f}\n",
               layout, (long long)B, bench.threads, t * 1e6, tc * 1e6, (t - c.o.n_critic * tc) * 1e6);
        fflush(stdout);
    }
    gen_net_free(&c.n);
}

/* ---- gen_sample -------------------------------------------------------------------- */

/* Removes dir's files and dir (it holds only what this program wrote). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[2048];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* A wgan-gp checkpoint as `hadron gen train --epochs 1` writes it, in dir. */
static void make_checkpoint(const char *dir, const char *layout, char *ckpt, size_t size)
{
    char data[2048];
    snprintf(data, sizeof data, "%s/train.h5", dir);
    snprintf(ckpt, size, "%s/checkpoint.safetensors", dir);
    hd_calo_opts co = hd_calo_opts_default();
    if (hd_calo_layout_get(layout, &co.layout) != HD_OK) bench_die("layout");
    co.n_showers = SIM_SHOWERS;
    co.seed = 7;
    if (hd_calo_write(&co, data) != HD_OK) bench_die("hd_calo_write");
    hd_gen_opts o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    o.data = data;
    o.out_dir = dir;
    o.epochs = 1;
    o.evaluate = 0;
    hd_gen_result res;
    if (hd_gen_train(&o, &res) != HD_OK) bench_die("hd_gen_train");
}

typedef struct {
    hd_model *m;
    int64_t n;
    const float *cond;
    float *out;
} gen_ctx;

static void gen_run(void *p)
{
    gen_ctx *c = p;
    if (hd_model_generate(c->m, c->n, c->cond, NULL, c->out) != HD_OK) bench_die("hd_model_generate");
}

typedef struct {
    hd_graph *g;
    hd_node *y;
    int chunks;
} net_ctx;

static void net_run(void *p)
{
    net_ctx *c = p;
    for (int i = 0; i < c->chunks; i++)
        if (hd_graph_forward(c->g, c->y) != HD_OK) bench_die("generator forward");
}

static void bench_sample(const char *layout)
{
    const char *tmp = getenv("TMPDIR");
    char dir[1024], ckpt[2048];
    int len = snprintf(dir, sizeof dir, "%s/hadron-bench-gen-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len < 0 || len >= (int)sizeof dir || !mkdtemp(dir)) {
        fprintf(stderr, "%s: cannot make a temporary directory %s\n", bench.name, dir);
        exit(1);
    }
    double t0 = hd_now();
    make_checkpoint(dir, layout, ckpt, sizeof ckpt);
    double setup_s = hd_now() - t0;

    gen_ctx c = {.n = (int64_t)SAMPLE_BATCH * SAMPLE_CHUNKS};
    if (hd_model_load(ckpt, &c.m) != HD_OK) bench_die("hd_model_load");
    int64_t nv = hd_model_n_out(c.m), nc = hd_model_n_cond(c.m), latent = hd_model_noise_dim(c.m);
    if (nc != 1) {
        fprintf(stderr, "%s: %s: %lld conditions, this case handles the energy alone\n", bench.name, layout,
                (long long)nc);
        exit(1);
    }
    float lo, hi;
    if (hd_model_cond_range(c.m, 0, &lo, &hi) != HD_OK) bench_die("condition range");
    /* energies log-uniform in the training range, fixed for the run */
    float *cond = bench_xmalloc((size_t)c.n * sizeof(float));
    hd_rng r;
    hd_rng_init(&r, 5, HD_STREAM_USER + 70);
    for (int64_t i = 0; i < c.n; i++) cond[i] = lo * powf(hi / lo, hd_rng_uniform(&r));
    for (int64_t i = 0; i < c.n; i++) cond[i] = fminf(fmaxf(cond[i], lo), hi);
    c.cond = cond;
    c.out = bench_xmalloc((size_t)(c.n * nv) * sizeof(float));
    hd_model_set_seed(c.m, 1);
    double t = time_median(gen_run, &c, bench.budget);
    int64_t nonzero = 0;
    double sum = 0;
    for (int64_t i = 0; i < c.n * nv; i++) {
        if (!isfinite(c.out[i])) bench_die("non-finite shower");
        nonzero += c.out[i] > 0;
        sum += c.out[i];
    }

    /* The network alone: the model's MLP (spec as gen_net_build makes it) with the checkpoint's weights. */
    hd_gen_opts o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    hd_mlp_spec spec = o.gen_layers;
    spec.n_in = latent + nc;
    spec.n_out = nv;
    spec.act = HD_ACT_LEAKY_RELU;
    spec.out_act = HD_ACT_NONE;
    net_ctx k = {.g = hd_graph_new(0), .chunks = SAMPLE_CHUNKS};
    if (!k.g || hd_graph_set_no_grad(k.g) != HD_OK) bench_die("graph");
    hd_node *z = hd_input(k.g, "z", 2, (int64_t[]){HD_BATCH, latent});
    hd_node *cn = hd_input(k.g, "c", 2, (int64_t[]){HD_BATCH, nc});
    k.y = hd_mlp(k.g, &spec, "gen", hd_concat(k.g, 2, (hd_node *[]){z, cn}, 1));
    if (!k.y || hd_graph_compile(k.g) != HD_OK || hd_checkpoint_load(k.g, ckpt, 0) != HD_OK)
        bench_die("generator graph");
    hd_graph_set_training(k.g, 0);
    if (hd_graph_set_batch(k.g, SAMPLE_BATCH) != HD_OK) bench_die("batch");
    bench_fill(hd_node_value(z)->data, (int64_t)SAMPLE_BATCH * latent, 71);
    bench_fill(hd_node_value(cn)->data, (int64_t)SAMPLE_BATCH * nc, 72);
    double tn = time_median(net_run, &k, bench.budget);
    /* 2 m n k per matmul */
    double flop = 0;
    for (int i = 0, in = (int)spec.n_in; i <= spec.n_hidden; i++) {
        int out = i == spec.n_hidden ? (int)spec.n_out : (int)spec.hidden[i];
        flop += 2.0 * SAMPLE_BATCH * in * out;
        in = out;
    }
    flop *= SAMPLE_CHUNKS;

    printf("{\"case\":\"gen_sample\",\"layout\":\"%s\",\"batch\":%d,\"showers\":%lld,\"threads\":%d,"
           "\"hadron_us\":%.1f,\"hadron_showers_per_s\":%.0f,\"hadron_net_us\":%.1f,"
           "\"hadron_net_showers_per_s\":%.0f,\"hadron_net_gflops\":%.1f,\"voxels\":%lld,\"latent\":%lld,"
           "\"e_lo_mev\":%.6g,\"e_hi_mev\":%.6g,\"nonzero_frac\":%.4f,\"mean_e_sum_mev\":%.6g,\"setup_s\":%.2f}\n",
           layout, SAMPLE_BATCH, (long long)c.n, bench.threads, t * 1e6, (double)c.n / t, tn * 1e6,
           (double)c.n / tn, flop / tn * 1e-9, (long long)nv, (long long)latent, (double)lo, (double)hi,
           (double)nonzero / (double)(c.n * nv), sum / (double)c.n, setup_s);
    fflush(stdout);
    hd_graph_free(k.g);
    hd_model_free(c.m);
    free(cond);
    free(c.out);
    remove_dir(dir);
}

/* ---- cases --------------------------------------------------------------------------- */

/* Runs a case, or with list set prints the configurations it expands to;
 * nonzero for an unknown case. */
static int run_case(const char *name, int list)
{
    static const char *const prefixes[] = {"gen_wgan_iteration", "gen_sample"};
    for (int p = 0; p < 2; p++) {
        size_t np = strlen(prefixes[p]);
        if (strncmp(name, prefixes[p], np) != 0 || (name[np] != '\0' && name[np] != ':')) continue;
        const char *only = name[np] == ':' ? name + np + 1 : NULL;
        int found = 0;
        for (int i = 0; i < N_LAYOUTS; i++) {
            if (only && strcmp(only, LAYOUTS[i]) != 0) continue;
            found = 1;
            if (list) printf("%s:%s\n", prefixes[p], LAYOUTS[i]);
            else if (p == 0) bench_iteration(LAYOUTS[i]);
            else bench_sample(LAYOUTS[i]);
        }
        return found ? 0 : 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"gen_wgan_iteration", "gen_sample"};
    return bench_main(argc, argv, "bench_gen", "[gen_wgan_iteration[:reduced] | gen_sample[:reduced]]", defaults,
                      2, run_case);
}
