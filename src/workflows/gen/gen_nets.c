/* The networks of hadron gen and one training step of each model.
 *
 * The generator G(z, c) is an MLP "gen" (LeakyReLU, linear output) on the
 * latent point and the condition features; hd_model_load rebuilds it from
 * the spec alone.  The critic D(x, c) is dense -> layer norm -> LeakyReLU
 * per hidden layer (layer norm, not batch norm: the gradient penalty is
 * per sample; critic_norm 0 leaves it out: on a few inputs, layer norm
 * after the first dense layer makes the critic blind to the scale of x), then a dense output of 1 (WGAN-GP) or cramer_dim (the
 * Cramer critic h).  The VAE's encoder is an MLP "enc" of the critic's
 * widths to (mu, log sigma^2).  On a 30 x 30 face the GANs are
 * convolutional: the generator hd_gen_conv30, and two strided convolutions
 * with layer norm in front of the critic's dense layers.
 *
 * A critic step feeds the generator's output back as the input fake_in, so
 * that the interpolates x_hat are inputs too: hd_grad differentiates with
 * respect to inputs, and the critic's step needs no generator gradient. */
#include "gen_internal.h"

#include <math.h>
#include <string.h>

#define SLOPE 0.2f
#define STEP_BLOCKS 24 /* Philox counters per step: 2^24 blocks, room for batch x latent <= 2^23 (hd_gen_check) */

typedef struct {
    int n;
    int norm;                  /* layer norm after each hidden dense layer */
    hd_dense_layer dense[HD_MLP_MAX_LAYERS + 1];
    hd_layer_norm_layer ln[HD_MLP_MAX_LAYERS];
    int conv;                  /* a 30 x 30 face: two convolutions before the dense layers */
    hd_conv2d_layer c[2];
    hd_layer_norm_layer cln[2];
} critic_net;

/* The 30 x 30 critic's front: conv 4 x 4 stride 2 'same' to 16 x 15 x 15, layer
 * norm, LeakyReLU, the same to 32 x 8 x 8; flattened, 2048 features. */
#define CONV_FEATURES 2048
static int critic_conv_init(hd_graph *g, critic_net *c)
{
    static const int64_t shape[2][3] = {{16, 15, 15}, {32, 8, 8}};
    c->conv = 1;
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "critic.conv%d", i);
        rc = hd_conv2d_init(g, &c->c[i], name, &(hd_conv2d_opts){.in = i ? 16 : 1, .out = shape[i][0], .kernel = 4,
                                                                   .stride = 2, .pad = HD_PAD_SAME, .bias = 1});
        snprintf(name, sizeof name, "critic.cln%d", i);
        if (rc == HD_OK) rc = hd_layer_norm_init(g, &c->cln[i], name, 3, shape[i]);
    }
    return rc;
}

static int critic_init(hd_graph *g, critic_net *c, const hd_mlp_spec *s, int64_t in, int64_t out, int norm)
{
    char name[64];
    c->n = s->n_hidden;
    c->norm = norm;
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i <= s->n_hidden; i++) {
        int64_t o = i == s->n_hidden ? out : s->hidden[i];
        snprintf(name, sizeof name, "critic.dense%d", i);
        rc = hd_dense_init(g, &c->dense[i], name, i ? s->hidden[i - 1] : in, o, 1);
        if (rc == HD_OK && norm && i < s->n_hidden) {
            snprintf(name, sizeof name, "critic.ln%d", i);
            rc = hd_layer_norm_init(g, &c->ln[i], name, 1, &o);
        }
    }
    return rc;
}

static hd_node *critic_apply(hd_graph *g, const critic_net *c, hd_node *x, hd_node *cond)
{
    if (c->conv) {
        int64_t b = x ? hd_node_shape(x)[0] : HD_BATCH;
        x = hd_reshape(g, x, 4, (int64_t[]){b, 1, 30, 30});
        for (int i = 0; i < 2; i++)
            x = hd_leaky_relu(g, hd_layer_norm_apply(g, &c->cln[i], hd_conv2d_apply(g, &c->c[i], x)), SLOPE);
        x = hd_reshape(g, x, 2, (int64_t[]){b, CONV_FEATURES});
    }
    hd_node *h = hd_concat(g, 2, (hd_node *[]){x, cond}, 1);
    for (int i = 0; i < c->n; i++) {
        h = hd_dense_apply(g, &c->dense[i], h);
        h = hd_leaky_relu(g, c->norm ? hd_layer_norm_apply(g, &c->ln[i], h) : h, SLOPE);
    }
    return hd_dense_apply(g, &c->dense[c->n], h);
}

/* ---- statistics the generator may be asked to match -------------------------------- */

/* Voxel energy fractions u from features f: the inverse of the shower
 * transform, with the log's exp(y) replaced by sigmoid(y) (the same for a
 * fraction well below 1, and never above 1: the gradient stays finite). */
static hd_node *fractions(hd_graph *g, hd_node *f, hd_node *mean, hd_node *std, const hd_shower_prep *p)
{
    hd_node *y = hd_add(g, hd_mul(g, f, std), mean);
    return p->kind == HD_PREP_LOG ? hd_add_scalar(g, hd_sigmoid(g, y), -p->delta) : y;
}

/* ((m_g - m_r) / s_r)^2 + ((s_g - s_r) / s_r)^2 of a per-shower statistic [B]. */
static hd_node *moment_mismatch(hd_graph *g, hd_node *gen, hd_node *real)
{
    hd_node *mg = hd_mean(g, gen, HD_AXIS_ALL), *mr = hd_mean(g, real, HD_AXIS_ALL);
    hd_node *sg = hd_sqrt(g, hd_add_scalar(g, hd_mean(g, hd_square(g, hd_sub(g, gen, mg)), HD_AXIS_ALL), 1e-12f));
    hd_node *sr = hd_sqrt(g, hd_add_scalar(g, hd_mean(g, hd_square(g, hd_sub(g, real, mr)), HD_AXIS_ALL), 1e-12f));
    return hd_add(g, hd_square(g, hd_div(g, hd_sub(g, mg, mr), sr)), hd_square(g, hd_div(g, hd_sub(g, sg, sr), sr)));
}

/* mean over layers of ((mean_g - mean_r) / std_r)^2 of each layer's fraction */
static hd_node *layer_mismatch(hd_graph *g, hd_node *ug, hd_node *ur, const hd_calo_layout *l)
{
    int64_t shape[3] = {HD_BATCH, l->n_layers, (int64_t)l->n_alpha * l->n_r};
    hd_node *lg = hd_sum(g, hd_reshape(g, ug, 3, shape), 2), *lr = hd_sum(g, hd_reshape(g, ur, 3, shape), 2);
    hd_node *mg = hd_mean(g, lg, 0), *mr = hd_mean(g, lr, 0);
    hd_node *sr = hd_sqrt(g, hd_add_scalar(g, hd_mean(g, hd_square(g, hd_sub(g, lr, mr)), 0), 1e-10f));
    return hd_mean(g, hd_square(g, hd_div(g, hd_sub(g, mg, mr), sr)), HD_AXIS_ALL);
}

/* The shower's transverse width sqrt(<x^2> - <x>^2 + <y^2> - <y>^2), energy weighted, [B]. */
static hd_node *width(hd_graph *g, hd_node *u, hd_node *x, hd_node *y)
{
    hd_node *e = hd_add_scalar(g, hd_sum(g, u, 1), 1e-12f);
    hd_node *mx = hd_div(g, hd_sum(g, hd_mul(g, u, x), 1), e), *my = hd_div(g, hd_sum(g, hd_mul(g, u, y), 1), e);
    hd_node *x2 = hd_div(g, hd_sum(g, hd_mul(g, u, hd_square(g, x)), 1), e);
    hd_node *y2 = hd_div(g, hd_sum(g, hd_mul(g, u, hd_square(g, y)), 1), e);
    hd_node *var = hd_sub(g, hd_add(g, x2, y2), hd_add(g, hd_square(g, mx), hd_square(g, my)));
    return hd_sqrt(g, hd_add_scalar(g, hd_relu(g, var), 1e-6f));
}

static hd_node *add_term(hd_graph *g, hd_node *t, hd_node *u) { return t ? hd_add(g, t, u) : u; }

/* The constants the terms need (the transform's mean and std, the voxel
 * positions) are inputs without a batch dimension, set once. */
static hd_node *enforce_terms(gen_net *n, const hd_gen_opts *o, const hd_calo_layout *l, const hd_shower_prep *p,
                              hd_node **consts)
{
    hd_graph *g = n->g;
    if (!o->enforce || !p) return NULL;
    static const char *const names[4] = {"prep_mean", "prep_std", "voxel_x", "voxel_y"};
    for (int i = 0; i < 4; i++) consts[i] = hd_input(g, names[i], 2, (int64_t[]){1, n->n_vox});
    hd_node *ug = fractions(g, n->fake, consts[0], consts[1], p), *ur = fractions(g, n->real, consts[0], consts[1], p);
    hd_node *t = NULL;
    if (o->enforce & HD_GEN_ENFORCE_ENERGY) t = moment_mismatch(g, hd_sum(g, ug, 1), hd_sum(g, ur, 1));
    if (o->enforce & HD_GEN_ENFORCE_LAYERS) t = add_term(g, t, layer_mismatch(g, ug, ur, l));
    if (o->enforce & HD_GEN_ENFORCE_WIDTH)
        t = add_term(g, t, moment_mismatch(g, width(g, ug, consts[2], consts[3]), width(g, ur, consts[2], consts[3])));
    return hd_scale(g, t, o->enforce_weight);
}

static int set_consts(hd_node *const *consts, const hd_calo_layout *l, const hd_shower_prep *p, int64_t nv)
{
    double *xy = hd_malloc((size_t)(2 * nv) * sizeof(double));
    int rc = xy ? hd_calo_voxel_xy(l, xy, xy + nv) : HD_ENOMEM;
    if (rc == HD_OK) {
        memcpy(hd_node_value(consts[0])->data, p->mean, (size_t)nv * sizeof(float));
        memcpy(hd_node_value(consts[1])->data, p->std, (size_t)nv * sizeof(float));
        for (int64_t v = 0; v < nv; v++) {
            hd_node_value(consts[2])->data[v] = (float)xy[v];
            hd_node_value(consts[3])->data[v] = (float)xy[nv + v];
        }
    }
    hd_free(xy);
    return rc;
}

/* ---- the three graphs ------------------------------------------------------------------ */

static int build_wgan(gen_net *n, const hd_gen_opts *o, critic_net *c)
{
    hd_graph *g = n->g;
    hd_node *d_real = hd_mean(g, critic_apply(g, c, n->real, n->cond), HD_AXIS_ALL);
    hd_node *d_fake_in = hd_mean(g, critic_apply(g, c, n->fake_in, n->cond), HD_AXIS_ALL);
    hd_node *d_hat = critic_apply(g, c, n->xhat, n->cond);
    hd_node *gp = hd_gradient_penalty(g, d_hat, n->xhat, 1.0f);
    n->critic_stat = hd_sub(g, d_real, d_fake_in);
    n->critic_loss = hd_add(g, hd_scale(g, n->critic_stat, -1.0f), hd_scale(g, gp, o->gp_lambda));
    n->gen_loss = hd_scale(g, hd_mean(g, critic_apply(g, c, n->fake, n->cond), HD_AXIS_ALL), -1.0f);
    return HD_OK;
}

/* The seed's generator loss on h: E ||h(r1) - h(g1)|| + E ||h(r2) - h(g2)||
 * - E ||h(g1) - h(g2)|| - E ||h(r1) - h(r2)||, the batch's halves as the
 * independent pairs (each generated half has its real half's conditions). */
static hd_node *energy_distance(hd_graph *g, hd_node *hr, hd_node *hg, int64_t half)
{
    hd_node *r1 = hd_slice(g, hr, 0, 0, half), *r2 = hd_slice(g, hr, 0, half, half);
    hd_node *g1 = hd_slice(g, hg, 0, 0, half), *g2 = hd_slice(g, hg, 0, half, half);
    hd_node *pos = hd_add(g, hd_row_norm(g, r1, g1), hd_row_norm(g, r2, g2));
    hd_node *neg = hd_add(g, hd_row_norm(g, g1, g2), hd_row_norm(g, r1, r2));
    return hd_mean(g, hd_sub(g, pos, neg), HD_AXIS_ALL);
}

static int build_cramer(gen_net *n, const hd_gen_opts *o, critic_net *c)
{
    hd_graph *g = n->g;
    int64_t half = n->batch / 2;
    hd_node *hr = critic_apply(g, c, n->real, n->cond), *hg_in = critic_apply(g, c, n->fake_in, n->cond);
    n->critic_stat = energy_distance(g, hr, hg_in, half);
    /* the critic's surrogate f(x) = ||h(x) - h(g2)|| - ||h(x) - h(r2)|| at x_hat between r1 and g1 */
    hd_node *c1 = hd_slice(g, n->cond, 0, 0, half);
    hd_node *hh = critic_apply(g, c, n->xhat, c1);
    hd_node *f = hd_sub(g, hd_row_norm(g, hh, hd_slice(g, hg_in, 0, half, half)),
                        hd_row_norm(g, hh, hd_slice(g, hr, 0, half, half)));
    hd_node *gp = hd_gradient_penalty(g, f, n->xhat, 1.0f);
    n->critic_loss = hd_add(g, hd_scale(g, n->critic_stat, -1.0f), hd_scale(g, gp, o->gp_lambda));
    n->gen_loss = energy_distance(g, hr, critic_apply(g, c, n->fake, n->cond), half);
    return HD_OK;
}

/* -ELBO per shower with a Gaussian decoder in feature space, its log
 * variance per voxel learnt ("vae.logvar": a fixed unit variance lets the
 * KL term win, and the posterior collapses onto the prior; bounded to lv in (-5, 5)):
 * 0.5 sum_v ((x_hat - x)^2 e^-lv + lv + ln 2 pi) + beta KL(q(z|x,c) || N(0, 1)).
 * Showers are drawn from the decoder's mean. */
static int build_vae(gen_net *n, const hd_gen_opts *o)
{
    hd_graph *g = n->g;
    int64_t L = n->latent;
    hd_mlp_spec enc = o->critic_layers;
    enc.n_in = n->n_vox + n->n_cond;
    enc.n_out = 2 * L;
    enc.act = HD_ACT_LEAKY_RELU;
    enc.out_act = HD_ACT_NONE;
    hd_graph_set_group(g, GEN_GROUP_D);
    hd_node *h = hd_mlp(g, &enc, "enc", hd_concat(g, 2, (hd_node *[]){n->real, n->cond}, 1));
    hd_node *mu = hd_slice(g, h, 1, 0, L), *logvar = hd_slice(g, h, 1, L, L);
    hd_graph_set_group(g, GEN_GROUP_G);
    hd_node *x_hat = hd_mlp(g, &n->gen_spec, "gen", hd_concat(g, 2, (hd_node *[]){hd_gauss_sample(g, mu, logvar), n->cond}, 1));
    /* the log variance bounded to (-5, 5) in units of the voxel's spread: a voxel
     * the decoder fits well would otherwise drive it to -infinity */
    hd_node *lv_raw = hd_param(g, "vae.logvar", 1, (int64_t[]){n->n_vox}, (hd_init){HD_INIT_ZEROS, 0.0f});
    hd_node *lv = hd_scale(g, hd_tanh(g, hd_scale(g, lv_raw, 0.2f)), 5.0f);
    hd_node *sq = hd_mul(g, hd_square(g, hd_sub(g, x_hat, n->real)), hd_exp(g, hd_scale(g, lv, -1.0f)));
    float c0 = 0.5f * (float)n->n_vox * logf(2.0f * (float)HD_PI);
    hd_node *nll = hd_add_scalar(g, hd_add(g, hd_scale(g, hd_sum(g, sq, 1), 0.5f), hd_scale(g, hd_sum(g, lv, 0), 0.5f)), c0);
    /* KL per row: 0.5 sum (e^logvar + mu^2 - 1 - logvar) */
    hd_node *kl = hd_sum(g, hd_scale(g, hd_sub(g, hd_add(g, hd_exp(g, logvar), hd_square(g, mu)), hd_add_scalar(g, logvar, 1.0f)), 0.5f), 1);
    n->critic_stat = hd_mean(g, kl, HD_AXIS_ALL);
    n->elbo = hd_scale(g, hd_mean(g, hd_add(g, nll, kl), HD_AXIS_ALL), -1.0f);
    n->gen_loss = hd_mean(g, hd_add(g, nll, hd_scale(g, kl, o->kl_weight)), HD_AXIS_ALL);
    n->critic_loss = NULL;
    return HD_OK;
}

int gen_net_build(gen_net *n, const hd_gen_opts *o, int64_t n_vox, int64_t n_cond, const hd_calo_layout *l,
                  const hd_shower_prep *prep)
{
    return gen_net_build_part(n, o, n_vox, n_cond, l, prep, 0, 1);
}

int gen_net_build_part(gen_net *n, const hd_gen_opts *o, int64_t n_vox, int64_t n_cond, const hd_calo_layout *l,
                       const hd_shower_prep *prep, int part, int parts)
{
    memset(n, 0, sizeof *n);
    n->model = o->model;
    n->global_batch = o->batch;
    n->part = part;
    n->parts = parts;
    n->batch = o->batch / parts;
    n->n_vox = n_vox;
    n->n_cond = n_cond;
    n->latent = o->latent;
    n->gen_spec = o->gen_layers;
    /* a 30 x 30 face: convolutional GANs (the vae stays dense) */
    n->conv = o->model != HD_GEN_VAE && l->kind == HD_CALO_GRID && l->nx == 30 && l->ny == 30;
    n->gen_spec.n_in = o->latent + n_cond;
    n->gen_spec.n_out = n_vox;
    n->gen_spec.act = HD_ACT_LEAKY_RELU;
    n->gen_spec.out_act = HD_ACT_NONE;
    hd_graph *g = n->g = hd_graph_new(o->seed);
    if (!g) return HD_ENOMEM;
    /* the Cramer losses cut the batch in halves: its graph has a fixed batch */
    int64_t b0 = o->model == HD_GEN_CRAMER ? n->batch : HD_BATCH;
    n->real = hd_input(g, "real", 2, (int64_t[]){b0, n_vox});
    n->cond = hd_input(g, "cond", 2, (int64_t[]){b0, n_cond});
    int rc = HD_OK;
    if (o->model == HD_GEN_VAE) {
        rc = build_vae(n, o);
    } else {
        n->z = hd_input(g, "z", 2, (int64_t[]){b0, o->latent});
        n->fake_in = hd_input(g, "fake_in", 2, (int64_t[]){b0, n_vox});
        n->xhat = hd_input(g, "xhat", 2, (int64_t[]){o->model == HD_GEN_CRAMER ? n->batch / 2 : HD_BATCH, n_vox});
        hd_graph_set_group(g, GEN_GROUP_G);
        /* an empty voxel's feature z0 is where the inverse transform clips: below it
         * every output reads 0, so the critic sees it as 0 too (z0 + relu(x - z0)) */
        hd_node *zc = hd_concat(g, 2, (hd_node *[]){n->z, n->cond}, 1);
        hd_node *raw = n->conv ? hd_gen_conv30(g, zc, n->gen_spec.n_in) : hd_mlp(g, &n->gen_spec, "gen", zc);
        if (prep) {
            n->zero = hd_input(g, "zero_feature", 2, (int64_t[]){1, n_vox});
            n->fake = hd_add(g, n->zero, hd_relu(g, hd_sub(g, raw, n->zero)));
        } else {
            n->fake = raw;
        }
        hd_graph_set_group(g, GEN_GROUP_D);
        critic_net c;
        memset(&c, 0, sizeof c);
        if (n->conv) rc = critic_conv_init(g, &c);
        if (rc == HD_OK)
            rc = critic_init(g, &c, &o->critic_layers, (n->conv ? CONV_FEATURES : n_vox) + n_cond,
                             o->model == HD_GEN_CRAMER ? o->cramer_dim : 1, o->critic_norm);
        if (rc == HD_OK) rc = o->model == HD_GEN_CRAMER ? build_cramer(n, o, &c) : build_wgan(n, o, &c);
        hd_node *consts[4] = {0}, *t = rc == HD_OK ? enforce_terms(n, o, l, prep, consts) : NULL;
        if (t) n->gen_loss = hd_add(g, n->gen_loss, t);
        if (rc == HD_OK && o->enforce && !t) rc = HD_EINVAL;
        if (rc == HD_OK && !n->critic_loss) rc = HD_EINVAL;
        if (rc == HD_OK && (rc = hd_graph_compile(g)) == HD_OK && (rc = hd_graph_set_batch(g, n->batch)) == HD_OK &&
            prep)
            hd_shower_prep_zero(prep, hd_node_value(n->zero)->data);
        if (rc == HD_OK && t) rc = set_consts(consts, l, prep, n_vox);
    }
    if (rc == HD_OK && !n->gen_loss) rc = HD_EINVAL;
    if (rc == HD_OK && o->model == HD_GEN_VAE && (rc = hd_graph_compile(g)) == HD_OK) rc = hd_graph_set_batch(g, n->batch);
    if (rc == HD_OK && parts > 1) hd_graph_set_rows(g, part, parts, n->global_batch); /* the vae's draws */
    if (rc == HD_OK) {
        hd_graph_param_range(g, GEN_GROUP_G, &n->pg, &n->gg, &n->ng);
        hd_graph_param_range(g, GEN_GROUP_D, &n->pd, &n->gd, &n->nd);
        n->opt_g = hd_optim_new(&o->optim_gen, n->ng);
        n->opt_d = hd_optim_new(&o->optim_critic, n->nd);
        if (!n->opt_g || !n->opt_d) rc = HD_EINVAL;
    }
    if (rc != HD_OK) gen_net_free(n);
    return rc;
}

void gen_net_free(gen_net *n)
{
    hd_graph_free(n->g);
    hd_optim_free(n->opt_g);
    hd_optim_free(n->opt_d);
    memset(n, 0, sizeof *n);
}

/* ---- steps ---------------------------------------------------------------------------------- */

/* The group's gradients of the global batch's loss: summed over the data-parallel ranks. */
static int share_grads(gen_net *n, int group)
{
    if (n->parts < 2) return HD_OK;
    return group == GEN_GROUP_G ? hd_dist_mean_grads(n->gg, n->ng, n->batch, n->global_batch)
                                : hd_dist_mean_grads(n->gd, n->nd, n->batch, n->global_batch);
}

static int update(gen_net *n, hd_node *loss, int group)
{
    hd_graph_zero_grad(n->g, group);
    int rc = hd_graph_forward(n->g, loss);
    if (rc == HD_OK) rc = hd_graph_backward(n->g, loss, group);
    if (rc == HD_OK) rc = share_grads(n, group);
    if (rc == HD_OK)
        rc = group == GEN_GROUP_G ? hd_optim_step(n->opt_g, n->pg, n->gg) : hd_optim_step(n->opt_d, n->pd, n->gd);
    return rc;
}

/* The noise of the step's global batch, this rank's rows of it. */
static void fill_noise(gen_net *n, hd_rng *r)
{
    float *z = hd_node_value(n->z)->data;
    if (n->parts < 2) {
        hd_rng_fill_normal(r, z, n->batch * n->latent, 0.0f, 1.0f);
        return;
    }
    hd_rows rows = {.n = n->batch, .first = n->part, .stride = n->parts, .total = n->global_batch};
    hd_rng_fill_normal_rows(r, z, &rows, n->latent, 0.0f, 1.0f);
}

static int critic_step(gen_net *n, hd_rng *r, double *closs, double *stat)
{
    int64_t B = n->batch, V = n->n_vox, rows = n->model == HD_GEN_CRAMER ? B / 2 : B;
    fill_noise(n, r);
    int rc = hd_graph_forward(n->g, n->fake);
    if (rc != HD_OK) return rc;
    const float *fake = hd_node_value(n->fake)->data, *real = hd_node_value(n->real)->data;
    memcpy(hd_node_value(n->fake_in)->data, fake, (size_t)(B * V) * sizeof(float));
    float *xh = hd_node_value(n->xhat)->data;
    for (int64_t i = 0; i < rows; i++) {
        float e = hd_rng_uniform(r);
        for (int p = 1; p < n->parts; p++) { /* the global batch's draws: this rank's are every parts-th */
            float other = hd_rng_uniform(r);
            if (p == n->part) e = other;
        }
        for (int64_t v = 0; v < V; v++) xh[i * V + v] = real[i * V + v] + e * (fake[i * V + v] - real[i * V + v]);
    }
    if ((rc = update(n, n->critic_loss, GEN_GROUP_D))) return rc;
    *closs = hd_node_scalar(n->critic_loss);
    *stat = hd_node_scalar(n->critic_stat);
    return HD_OK;
}

int gen_net_step(gen_net *n, const hd_gen_opts *o, int64_t step, double *closs, double *gloss, double *stat)
{
    *closs = *gloss = *stat = NAN;
    hd_rng r;
    hd_rng_init(&r, o->seed, HD_STREAM_NOISE);
    r.counter = (uint64_t)step << STEP_BLOCKS;
    int rc;
    if (n->model == HD_GEN_VAE) {
        hd_graph_set_step(n->g, (uint64_t)step);
        hd_graph_zero_grad(n->g, HD_ALL);
        if ((rc = hd_graph_forward(n->g, n->gen_loss)) || (rc = hd_graph_backward(n->g, n->gen_loss, HD_ALL)) ||
            (rc = share_grads(n, GEN_GROUP_G)) || (rc = share_grads(n, GEN_GROUP_D)) ||
            (rc = hd_optim_step(n->opt_g, n->pg, n->gg)) || (rc = hd_optim_step(n->opt_d, n->pd, n->gd)))
            return rc;
        *gloss = hd_node_scalar(n->gen_loss);
        if ((rc = hd_graph_forward(n->g, n->critic_stat))) return rc; /* the KL, off the loss's path */
        *stat = hd_node_scalar(n->critic_stat);
        return HD_OK;
    }
    if ((rc = critic_step(n, &r, closs, stat))) return rc;
    if ((step + 1) % o->n_critic != 0) return HD_OK;
    fill_noise(n, &r);
    if ((rc = update(n, n->gen_loss, GEN_GROUP_G))) return rc;
    *gloss = hd_node_scalar(n->gen_loss);
    return HD_OK;
}
