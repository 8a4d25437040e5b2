/* WGAN-GP benchmark: one critic training step with the gradient penalty,
 * one JSON line per configuration on stdout.
 *
 *   bench_wgan [--threads N] [--time SECONDS] [--list] [CASE ...]
 *
 * CASE is "wgan_critic_step" (both critics) or one of them,
 * "wgan_critic_step:mlp" (Gulrajani et al.'s 2-D toy critic, 2 -> 512 ReLU ->
 * 512 ReLU -> 512 ReLU -> 1, batch 256) or "wgan_critic_step:conv" (their
 * MNIST critic: [B,1,28,28] -> conv 5x5 s2 'same' 64 -> LeakyReLU 0.2 ->
 * conv 5x5 s2 'same' 128 -> LeakyReLU 0.2 -> flatten 6272 -> linear 1,
 * batch 64).  A step is the critic's alone: real, fake and eps are fixed
 * buffers, the loss is mean D(fake) - mean D(real) + 10 GP with GP =
 * hd_gradient_penalty(D(x_hat), x_hat, 1), x_hat = real + eps (fake - real);
 * then zero_grad, forward, backward and Adam(1e-4, 0.5, 0.9).  --list prints
 * the single configurations; bench/torch_wgan.py runs the same in PyTorch
 * and bench/run.sh joins the lines.
 *
 * Timing, the command line and main: bench_util.h. */
#include "bench_util.h"
#include "hadron/nn.h"

#define LAMBDA 10.0f

typedef struct {
    const char *id;
    int batch;
    int ndim;           /* of a sample with its batch dim: 2 (mlp) or 4 (conv) */
    int64_t shape[4];   /* HD_BATCH first */
} critic_spec;

static const critic_spec CRITICS[] = {
    {"mlp", 256, 2, {HD_BATCH, 2}},
    {"conv", 64, 4, {HD_BATCH, 1, 28, 28}},
};
enum { N_CRITICS = (int)(sizeof CRITICS / sizeof CRITICS[0]) };

/* The critic's layers, applied to real, fake and x_hat with shared weights. */
typedef struct {
    const critic_spec *s;
    hd_dense_layer d[4];
    hd_conv2d_layer c[2];
} critic;

static void critic_init(hd_graph *g, critic *k)
{
    int rc = HD_OK;
    if (strcmp(k->s->id, "mlp") == 0) {
        static const int64_t dims[] = {2, 512, 512, 512, 1};
        for (int i = 0; i < 4 && rc == HD_OK; i++) {
            char name[16];
            snprintf(name, sizeof name, "d%d", i);
            rc = hd_dense_init(g, &k->d[i], name, dims[i], dims[i + 1], 1);
        }
    } else {
        rc = hd_conv2d_init(g, &k->c[0], "c0",
                &(hd_conv2d_opts){.in = 1, .out = 64, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1});
        if (rc == HD_OK) rc = hd_conv2d_init(g, &k->c[1], "c1",
                &(hd_conv2d_opts){.in = 64, .out = 128, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1});
        if (rc == HD_OK) rc = hd_dense_init(g, &k->d[0], "d", 128 * 7 * 7, 1, 1);
    }
    if (rc != HD_OK) bench_die("critic init");
}

static hd_node *critic_apply(hd_graph *g, const critic *k, hd_node *x)
{
    if (strcmp(k->s->id, "mlp") == 0) {
        for (int i = 0; i < 4; i++) {
            x = hd_dense_apply(g, &k->d[i], x);
            if (i < 3) x = hd_relu(g, x);
        }
        return x;
    }
    for (int i = 0; i < 2; i++) x = hd_leaky_relu(g, hd_conv2d_apply(g, &k->c[i], x), 0.2f);
    x = hd_reshape(g, x, 2, (int64_t[]){HD_BATCH, 128 * 7 * 7});
    return hd_dense_apply(g, &k->d[0], x);
}

typedef struct {
    hd_graph *g;
    hd_node *loss, *gp;
    hd_optim *opt;
    float *params, *grads;
    int64_t steps;
} step_ctx;

static void step_run(void *p)
{
    step_ctx *c = p;
    hd_graph_zero_grad(c->g, 0);
    if (hd_graph_forward(c->g, c->loss) != HD_OK || hd_graph_backward(c->g, c->loss, 0) != HD_OK ||
        hd_optim_step(c->opt, c->params, c->grads) != HD_OK)
        bench_die("critic step");
    c->steps++;
}

static void bench_critic(const critic_spec *s)
{
    step_ctx c = {0};
    critic k = {.s = s};
    hd_graph *g = c.g = hd_graph_new(1);
    if (!g) bench_die("graph");
    critic_init(g, &k);
    int64_t eps_shape[4] = {HD_BATCH, 1, 1, 1};
    hd_node *real = hd_input(g, "real", s->ndim, s->shape), *fake = hd_input(g, "fake", s->ndim, s->shape);
    hd_node *eps = hd_input(g, "eps", s->ndim, eps_shape);
    hd_node *x_hat = hd_add(g, real, hd_mul(g, eps, hd_sub(g, fake, real)));
    c.gp = hd_gradient_penalty(g, critic_apply(g, &k, x_hat), x_hat, 1.0f);
    hd_node *wdist = hd_sub(g, hd_mean(g, critic_apply(g, &k, fake), HD_AXIS_ALL),
                            hd_mean(g, critic_apply(g, &k, real), HD_AXIS_ALL));
    c.loss = hd_add(g, wdist, hd_scale(g, c.gp, LAMBDA));
    if (!c.loss || hd_graph_compile(g) != HD_OK || hd_graph_set_batch(g, s->batch) != HD_OK) bench_die("critic graph");
    int64_t n;
    hd_graph_param_range(g, 0, &c.params, &c.grads, &n);
    hd_optim_opts oo = hd_optim_opts_default(HD_ADAM);
    oo.lr = 1e-4f;
    oo.beta1 = 0.5f;
    oo.beta2 = 0.9f;
    if (!(c.opt = hd_optim_new(&oo, n))) bench_die("adam");

    /* Fixed for the run: real and fake samples (the toy: N(0, 1); images:
     * U(-1, 1), the range of a tanh generator) and eps ~ U(0, 1) per row. */
    hd_rng r;
    hd_rng_init(&r, 3, HD_STREAM_USER + 50);
    int64_t nx = hd_tensor_numel(hd_node_value(real));
    float *xs[2] = {hd_node_value(real)->data, hd_node_value(fake)->data};
    for (int i = 0; i < 2; i++) {
        if (s->ndim == 2) hd_rng_fill_normal(&r, xs[i], nx, 0.0f, 1.0f);
        else hd_rng_fill_uniform(&r, xs[i], nx, -1.0f, 1.0f);
    }
    hd_rng_fill_uniform(&r, hd_node_value(eps)->data, s->batch, 0.0f, 1.0f);

    double t = time_median(step_run, &c, bench.budget);
    float loss = hd_node_scalar(c.loss), gp = hd_node_scalar(c.gp);
    if (!isfinite(loss) || !isfinite(gp)) bench_die("non-finite loss");
    printf("{\"case\":\"wgan_critic_step\",\"layer\":\"%s\",\"batch\":%d,\"threads\":%d,\"hadron_us\":%.1f,"
           "\"hadron_ms\":%.2f,\"params\":%lld,\"steps\":%lld,\"loss\":%.4g,\"gp\":%.4g}\n",
           s->id, s->batch, bench.threads, t * 1e6, t * 1e3, (long long)n, (long long)c.steps, (double)loss,
           (double)gp);
    fflush(stdout);
    hd_optim_free(c.opt);
    hd_graph_free(g);
}

/* Runs a case, or with list set prints the configurations it expands to;
 * nonzero for an unknown case. */
static int run_case(const char *name, int list)
{
    const char *prefix = "wgan_critic_step";
    size_t np = strlen(prefix);
    if (strncmp(name, prefix, np) != 0 || (name[np] != '\0' && name[np] != ':')) return 1;
    const char *only = name[np] == ':' ? name + np + 1 : NULL;
    int found = 0;
    for (int i = 0; i < N_CRITICS; i++) {
        if (only && strcmp(only, CRITICS[i].id) != 0) continue;
        found = 1;
        if (list) printf("%s:%s\n", prefix, CRITICS[i].id);
        else bench_critic(&CRITICS[i]);
    }
    return found ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"wgan_critic_step"};
    return bench_main(argc, argv, "bench_wgan", "[wgan_critic_step | wgan_critic_step:{mlp,conv}]", defaults, 1,
                      run_case);
}
