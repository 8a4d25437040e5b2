/* The avo discriminator: the seed's small CNN for detector images (four
 * blocks of 3 x 3 'same' convolution with 8, 12, 16, 24 channels, LeakyReLU
 * 0.05 and 2 x 2 max-pooling, then one logit) or an MLP for vector data;
 * trained on batches of half simulated, half observed rows.
 *
 * The R1 penalty (r1 / 2) E_obs |grad_x D(x)|^2 on the logits is exact:
 * the gradient with respect to the observed batch is part of the graph
 * (hd_gradient_penalty), and backpropagation differentiates it.
 *
 * Both halves of a batch go through the network as one stacked batch of
 * 2 x 16 rows (simulated, then observed), so each op runs once per step on
 * twice the rows; per-row signs and masks select each half's terms.  The
 * convolutions are direct at stride 1 (conv_direct.c) and split over the
 * samples, so the step uses every thread, with the same sums at any count. */
#include "avo_internal.h"

#include <math.h>
#include <string.h>

typedef struct { hd_conv2d_layer conv[4]; int n_conv; hd_dense_layer dense[3]; int n_dense; int64_t c, h, w; } arch;

static int cnn_init(hd_graph *g, arch *a)
{
    static const int64_t width[4] = {8, 12, 16, 24};
    int64_t c = a->c, h = a->h, w = a->w;
    char name[32];
    for (a->n_conv = 0; a->n_conv < 4 && h >= 2 && w >= 2; a->n_conv++) {
        snprintf(name, sizeof name, "disc.conv%d", a->n_conv);
        if (hd_conv2d_init(g, &a->conv[a->n_conv], name,
                &(hd_conv2d_opts){.in = c, .out = width[a->n_conv], .kernel = 3, .stride = 1,
                                  .pad = HD_PAD_SAME, .bias = 1}) != HD_OK)
            return HD_EINVAL;
        c = width[a->n_conv];
        h /= 2;
        w /= 2;
    }
    a->n_dense = 1;
    return hd_dense_init(g, &a->dense[0], "disc.dense", c * h * w, 1, 1);
}

static int mlp_init(hd_graph *g, arch *a, int64_t in, int64_t hidden)
{
    a->n_dense = 3;
    int rc = hd_dense_init(g, &a->dense[0], "disc.dense0", in, hidden, 1);
    if (rc == HD_OK) rc = hd_dense_init(g, &a->dense[1], "disc.dense1", hidden, hidden, 1);
    if (rc == HD_OK) rc = hd_dense_init(g, &a->dense[2], "disc.dense2", hidden, 1, 1);
    return rc;
}

static hd_node *apply(hd_graph *g, const arch *a, hd_node *x)
{
    for (int i = 0; i < a->n_conv; i++)
        x = hd_max_pool2d(g, hd_leaky_relu(g, hd_conv2d_apply(g, &a->conv[i], x), 0.05f), 2, 2, 2, 2);
    if (a->n_conv) {
        x = hd_reshape(g, x, 2, (int64_t[]){HD_BATCH, a->dense[0].in});
        return hd_dense_apply(g, &a->dense[0], x);
    }
    for (int i = 0; i < a->n_dense; i++) {
        x = hd_dense_apply(g, &a->dense[i], x);
        if (i + 1 < a->n_dense) x = hd_leaky_relu(g, x, 0.2f);
    }
    return x;
}

static hd_node *input(hd_graph *g, const char *name, const hd_simulator *s)
{
    int64_t shape[4] = {HD_BATCH};
    for (int i = 0; i < s->obs_ndim; i++) shape[i + 1] = s->obs_shape[i];
    return hd_input(g, name, s->obs_ndim + 1, shape);
}

static hd_node *mean_of(hd_graph *g, hd_node *x) { return hd_mean(g, x, HD_AXIS_ALL); }

/* The seed's loss over the stacked batch, each half's mean as its own:
 * BCE mean softplus(-D(real)) + mean softplus(D(fake)) = 2 mean softplus(-s D),
 * the critic's mean D(fake) - mean D(real) = -2 mean s D, and R1 on the
 * observed rows, whose mean over the stacked batch is half its own. */
static int build_loss(hd_avo_disc *d)
{
    hd_graph *g = d->g;
    hd_node *sd = hd_mul(g, d->sign, d->out);
    if (d->kind == HD_AVO_BCE) d->loss = hd_scale(g, mean_of(g, hd_softplus(g, hd_scale(g, sd, -1.0f))), 2.0f);
    else d->loss = hd_scale(g, mean_of(g, sd), -2.0f);
    if (d->r1 > 0)
        d->loss = hd_add(g, d->loss, hd_scale(g, hd_gradient_penalty(g, hd_mul(g, d->real, d->out), d->x, 0.0f), d->r1));
    return d->loss ? HD_OK : HD_EINVAL;
}

/* sign = -1 on the simulated rows, +1 on the observed; real = 0, 1. */
static void fill_halves(hd_avo_disc *d)
{
    float *s = hd_node_value(d->sign)->data, *r = hd_node_value(d->real)->data;
    for (int64_t i = 0; i < 2 * d->local; i++) {
        s[i] = i < d->local ? -1.0f : 1.0f;
        r[i] = i < d->local ? 0.0f : 1.0f;
    }
}

int hd_avo_disc_build(hd_avo_disc *d, const hd_avo_opts *o)
{
    memset(d, 0, sizeof *d);
    const hd_simulator *s = o->sim;
    d->kind = o->loss;
    d->r1 = o->r1;
    d->half = o->batch / 2;
    d->local = hd_dist_rows(d->half);
    d->obs_size = hd_simulator_obs_size(s);
    hd_graph *g = d->g = hd_graph_new(o->seed);
    if (!g) return HD_ENOMEM;
    arch a = {0};
    int rc;
    if (s->obs_ndim == 3) {
        a.c = s->obs_shape[0];
        a.h = s->obs_shape[1];
        a.w = s->obs_shape[2];
        rc = cnn_init(g, &a);
    } else {
        rc = mlp_init(g, &a, d->obs_size, o->disc_hidden);
    }
    if (rc != HD_OK) return rc;
    d->x = input(g, "x", s);
    d->sign = hd_input(g, "sign", 2, (int64_t[]){HD_BATCH, 1});
    d->real = hd_input(g, "real", 2, (int64_t[]){HD_BATCH, 1});
    d->out = apply(g, &a, d->x);
    if ((rc = build_loss(d)) || (rc = hd_graph_compile(g)) || (rc = hd_graph_set_batch(g, 2 * d->local))) return rc;
    fill_halves(d);
    hd_graph_param_range(g, HD_ALL, NULL, NULL, &d->n_params);
    d->opt = hd_optim_new(&o->optim_disc, d->n_params);
    return d->opt ? HD_OK : HD_ENOMEM;
}

void hd_avo_disc_free(hd_avo_disc *d)
{
    hd_optim_free(d->opt);
    hd_graph_free(d->g);
    memset(d, 0, sizeof *d);
}

/* This rank's rows (r, r + P, ...) of the half batch from `first` in order. */
static void copy_rows(float *dst, const hd_avo_set *s, const int64_t *order, int64_t first, int64_t half, int64_t size)
{
    int64_t parts = hd_dist_size();
    for (int64_t i = hd_dist_rank(), j = 0; i < half; i += parts, j++)
        memcpy(dst + j * size, s->x + order[(first + i) % s->n] * size, (size_t)size * sizeof(float));
}

int hd_avo_disc_epoch(hd_avo_disc *d, const hd_avo_set *sim, const hd_avo_set *obs, hd_rng *rng, double *loss)
{
    int64_t *os = hd_malloc((size_t)sim->n * sizeof(int64_t)), *oo = hd_malloc((size_t)obs->n * sizeof(int64_t));
    int rc = os && oo ? HD_OK : HD_ENOMEM;
    int64_t steps = sim->n / d->half;
    float *x = hd_node_value(d->x)->data;
    double sum = 0;
    if (rc == HD_OK) {
        hd_rng_permutation(rng, sim->n, os);
        hd_rng_permutation(rng, obs->n, oo);
    }
    for (int64_t k = 0; rc == HD_OK && k < steps; k++) {
        copy_rows(x, sim, os, k * d->half, d->half, d->obs_size);
        copy_rows(x + d->local * d->obs_size, obs, oo, k * d->half, d->half, d->obs_size);
        if ((rc = hd_train_step_rows(d->g, d->loss, HD_ALL, d->opt, d->local, d->half))) break;
        sum += hd_node_scalar(d->loss) * (double)d->local / (double)d->half;
    }
    if (rc == HD_OK) rc = hd_dist_sum_double(&sum, 1); /* the ranks' parts of each batch's loss */
    *loss = steps ? sum / (double)steps : NAN;
    hd_free(os);
    hd_free(oo);
    return rc;
}

int hd_avo_disc_reward(hd_avo_disc *d, const hd_avo_set *s, double *reward)
{
    int rc = HD_OK;
    const int64_t rows_per = 2 * d->local;
    float *dst = hd_node_value(d->x)->data;
    for (int64_t first = 0; rc == HD_OK && first < s->n; first += rows_per) {
        int64_t rows = s->n - first < rows_per ? s->n - first : rows_per;
        memset(dst, 0, (size_t)(rows_per * d->obs_size) * sizeof(float));
        memcpy(dst, s->x + first * d->obs_size, (size_t)(rows * d->obs_size) * sizeof(float));
        if ((rc = hd_graph_forward(d->g, d->out))) break;
        const float *z = hd_node_value(d->out)->data;
        for (int64_t i = 0; i < rows; i++)
            reward[first + i] = d->kind == HD_AVO_BCE ? 1.0 / (1.0 + exp(-(double)z[i])) : (double)z[i];
    }
    return rc;
}
