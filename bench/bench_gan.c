/* DCGAN benchmarks (the gan workflow, seed 002): one JSON line per case on
 * stdout.
 *
 *   bench_gan [--threads N] [--time SECONDS] [--pieces] [--list] [CASE ...]
 *
 * CASE is "dcgan_step" (one training step at batch 256 as `hadron gan train`
 * takes it: hd_gan_net_step in src/workflows/gan/gan_nets.c), "dcgan_layers"
 * (forward + backward of each of the DCGAN's five convolutions on its own at
 * batch 256, one line per layer) or one layer "dcgan_layers:G1" (G1, G2, G3:
 * the generator's transposed convolutions; D1, D2: the discriminator's
 * convolutions); all by default.  --pieces adds a line for dcgan_step timing
 * the parts of the step on their own; --list prints the single
 * configurations the cases expand to.  bench/torch_gan.py runs the same
 * cases in PyTorch with the same timing method; bench/run.sh runs both and
 * joins the lines.
 *
 * Timing, the command line and main: bench_util.h. */
#include "bench_util.h"
#include "graph/graph_internal.h" /* hd_input_requires_grad, hd_graph_backward_seeded */
#include "workflows/gan/gan_internal.h"

enum { GAN_BATCH = 256, GAN_LATENT = 100 };

/* ---- dcgan_step -------------------------------------------------------------------- */

typedef struct {
    hd_gan_net n;
    hd_gan_losses last;
    int64_t steps;
} step_ctx;

static void step_run(void *p)
{
    step_ctx *c = p;
    if (hd_gan_net_step(&c->n, &c->last) != HD_OK) bench_die("gan step");
    c->steps++;
}

/* The parts of a step as hd_gan_net_step runs them, each on its own (the
 * backward passes and updates reuse the values of the last forward). */
static void piece_forward(void *p)
{
    step_ctx *c = p;
    hd_graph_forward(c->n.g, c->n.both);
}

static void piece_backward_d(void *p)
{
    step_ctx *c = p;
    hd_graph_zero_grad(c->n.g, HD_GAN_GROUP_D);
    hd_graph_backward(c->n.g, c->n.d_loss, HD_GAN_GROUP_D);
}

static void piece_backward_g(void *p)
{
    step_ctx *c = p;
    hd_graph_zero_grad(c->n.g, HD_GAN_GROUP_G);
    hd_graph_backward(c->n.g, c->n.g_loss, HD_GAN_GROUP_G);
}

static void piece_adam(void *p)
{
    step_ctx *c = p;
    hd_optim_step(c->n.opt_d, c->n.pd, c->n.gd);
    hd_optim_step(c->n.opt_g, c->n.pg, c->n.gg);
}

static void bench_step(void)
{
    step_ctx c = {0};
    hd_optim_opts adam = hd_optim_opts_default(HD_ADAM);
    adam.lr = 1e-4f;
    adam.beta1 = 0.5f;
    int rc = hd_gan_net_build(&c.n, 1, GAN_BATCH, GAN_LATENT, &adam);
    if (rc != HD_OK) bench_die("gan net");
    /* Real images in [-1, 1] (the workflow scales pixels to that range),
     * latent points ~ N(0, 1); fixed for the whole run. */
    hd_rng r;
    hd_rng_init(&r, 3, HD_STREAM_USER + 40);
    hd_rng_fill_uniform(&r, hd_node_value(c.n.real)->data, (int64_t)GAN_BATCH * HD_GAN_PIXELS, -1.0f, 1.0f);
    hd_rng_fill_normal(&r, hd_node_value(c.n.z)->data, (int64_t)GAN_BATCH * GAN_LATENT, 0.0f, 1.0f);
    double t = time_median(step_run, &c, bench.budget);
    if (!isfinite(c.last.d_loss) || !isfinite(c.last.g_loss)) bench_die("non-finite loss");
    printf("{\"case\":\"dcgan_step\",\"batch\":%d,\"threads\":%d,\"hadron_us\":%.1f,\"hadron_ms\":%.2f,"
           "\"params_g\":%lld,\"params_d\":%lld,\"steps\":%lld,\"d_loss\":%.4f,\"g_loss\":%.4f}\n",
           GAN_BATCH, bench.threads, t * 1e6, t * 1e3, (long long)c.n.ng, (long long)c.n.nd, (long long)c.steps,
           c.last.d_loss, c.last.g_loss);
    fflush(stdout);

    if (bench.pieces) {
        double b = bench.budget / 2;
        double t_fwd = time_median(piece_forward, &c, b);
        double t_bd = time_median(piece_backward_d, &c, b);
        double t_bg = time_median(piece_backward_g, &c, b);
        double t_adam = time_median(piece_adam, &c, b);
        double sum = t_fwd + t_bd + t_bg + t_adam;
        printf("{\"case\":\"dcgan_step_pieces\",\"batch\":%d,\"threads\":%d,\"step_ms\":%.2f,\"forward_ms\":%.2f,"
               "\"backward_d_ms\":%.2f,\"backward_g_ms\":%.2f,\"adam_ms\":%.2f,\"sum_ms\":%.2f}\n",
               GAN_BATCH, bench.threads, t * 1e3, t_fwd * 1e3, t_bd * 1e3, t_bg * 1e3, t_adam * 1e3, sum * 1e3);
        fflush(stdout);
    }
    hd_gan_net_free(&c.n);
}

/* ---- dcgan_layers ------------------------------------------------------------------ */

/* The five convolutions of the DCGAN, all 5 x 5 'same' (gan_nets.c).  in/out
 * are channels, side the input image's height and width. */
typedef struct {
    const char *id, *desc;
    int transpose;
    int64_t in, out, side;
    int stride, bias;
} conv_spec;

static const conv_spec LAYERS[] = {
    {"G1", "convT 256->128, 7x7 -> 7x7, s1", 1, 256, 128, 7, 1, 0},
    {"G2", "convT 128->64, 7x7 -> 14x14, s2", 1, 128, 64, 7, 2, 0},
    {"G3", "convT 64->1, 14x14 -> 28x28, s2", 1, 64, 1, 14, 2, 0},
    {"D1", "conv 1->64, 28x28 -> 14x14, s2", 0, 1, 64, 28, 2, 1},
    {"D2", "conv 64->128, 14x14 -> 7x7, s2", 0, 64, 128, 14, 2, 1},
};
enum { N_LAYERS = (int)(sizeof LAYERS / sizeof LAYERS[0]) };

typedef struct {
    hd_graph *g;
    hd_node *x, *y;
    float *dy; /* the seed of y's gradient, fixed */
} layer_ctx;

/* Forward, then backward with dy seeded at the output: dx, dW (and db). */
static void layer_run(void *p)
{
    layer_ctx *c = p;
    hd_graph_zero_grad(c->g, HD_ALL);
    hd_graph_forward(c->g, c->y);
    hd_graph_backward_seeded(c->g, c->y, HD_ALL, c->dy);
}

static void layer_fwd(void *p)
{
    layer_ctx *c = p;
    hd_graph_forward(c->g, c->y);
}

static void bench_layer(const conv_spec *l)
{
    layer_ctx c;
    c.g = hd_graph_new(1);
    if (!c.g) bench_die("graph");
    c.x = hd_input(c.g, "x", 4, (int64_t[]){HD_BATCH, l->in, l->side, l->side});
    if (hd_input_requires_grad(c.x) != HD_OK) bench_die("requires_grad");
    hd_conv2d_layer conv;
    hd_conv2d_opts co = {.in = l->in, .out = l->out, .kernel = 5, .stride = l->stride, .pad = HD_PAD_SAME,
                         .bias = l->bias, .transposed = l->transpose};
    int rc = hd_conv2d_init(c.g, &conv, "conv", &co);
    if (rc != HD_OK) bench_die("conv init");
    c.y = hd_conv2d_apply(c.g, &conv, c.x);
    if (!c.y || hd_graph_compile(c.g) != HD_OK || hd_graph_set_batch(c.g, GAN_BATCH) != HD_OK) bench_die("layer graph");
    bench_fill(hd_node_value(c.x)->data, hd_tensor_numel(hd_node_value(c.x)), 41);
    int64_t ny = hd_tensor_numel(hd_node_value(c.y));
    c.dy = bench_new_normal(ny, 42);
    const hd_tensor *yv = hd_node_value(c.y);
    int64_t oside = yv->shape[2];

    double t = time_median(layer_run, &c, bench.budget);
    double t_fwd = time_median(layer_fwd, &c, bench.budget / 2);
    /* Forward flops: 2 k^2 per (grid pixel, grid channel, image channel),
     * where the grid is the conv's output or the transpose's input; the
     * backward pass (dx and dW) costs twice that. */
    int64_t grid = l->transpose ? l->side : oside;
    double flop_fwd = 2.0 * GAN_BATCH * (double)(grid * grid) * (double)(l->in * l->out) * 25.0;
    printf("{\"case\":\"dcgan_layers\",\"layer\":\"%s\",\"desc\":\"%s\",\"batch\":%d,\"threads\":%d,"
           "\"hadron_us\":%.1f,\"hadron_fwd_us\":%.1f,\"hadron_bwd_us\":%.1f,\"gflop\":%.3f,\"hadron_gflops\":%.1f}\n",
           l->id, l->desc, GAN_BATCH, bench.threads, t * 1e6, t_fwd * 1e6, (t - t_fwd) * 1e6, 3 * flop_fwd * 1e-9,
           3 * flop_fwd / t * 1e-9);
    fflush(stdout);
    free(c.dy);
    hd_graph_free(c.g);
}

/* ---- main ------------------------------------------------------------------------- */

/* Runs a case, or with list set prints the configurations it expands to;
 * nonzero for an unknown case. */
static int run_case(const char *name, int list)
{
    if (strcmp(name, "dcgan_step") == 0) {
        if (list) printf("dcgan_step\n");
        else bench_step();
        return 0;
    }
    const char *prefix = "dcgan_layers";
    size_t np = strlen(prefix);
    if (strncmp(name, prefix, np) != 0 || (name[np] != '\0' && name[np] != ':')) return 1;
    const char *only = name[np] == ':' ? name + np + 1 : NULL;
    int found = 0;
    for (int i = 0; i < N_LAYERS; i++) {
        if (only && strcmp(only, LAYERS[i].id) != 0) continue;
        found = 1;
        if (list) printf("dcgan_layers:%s\n", LAYERS[i].id);
        else bench_layer(&LAYERS[i]);
    }
    return found ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"dcgan_step", "dcgan_layers"};
    return bench_main(argc, argv, "bench_gan", "[dcgan_step | dcgan_layers | dcgan_layers:{G1,G2,G3,D1,D2}]",
                      defaults, 2, run_case);
}
