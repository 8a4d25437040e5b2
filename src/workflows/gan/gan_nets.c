/* The DCGAN of seed 002 (a Keras model) built in a hadron graph: its
 * discriminator here, its generator in nn/dcgan.c (hd_dcgan_generator, which
 * hd_model_load builds too).  Keras's defaults where they differ from
 * PyTorch's: LeakyReLU slope 0.3, Glorot-uniform weights and zero biases
 * (nn.h; docs/gan.md says why this matters). */
#include "gan_internal.h"

#include <math.h>
#include <string.h>

#define SLOPE 0.3f
#define DROPOUT 0.3f

int hd_gan_disc_init(hd_graph *g, hd_gan_disc *d)
{
    int rc = hd_conv2d_init(g, &d->c1, "disc.conv1",
            &(hd_conv2d_opts){.in = 1, .out = 64, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1});
    if (rc == HD_OK) rc = hd_conv2d_keras_init(g, &d->c1);
    if (rc == HD_OK) rc = hd_conv2d_init(g, &d->c2, "disc.conv2",
            &(hd_conv2d_opts){.in = 64, .out = 128, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1});
    if (rc == HD_OK) rc = hd_conv2d_keras_init(g, &d->c2);
    if (rc == HD_OK) rc = hd_dense_init(g, &d->out, "disc.dense", 128 * 7 * 7, 1, 1);
    if (rc == HD_OK) rc = hd_dense_keras_init(g, &d->out);
    return rc;
}

hd_node *hd_gan_disc_apply(hd_graph *g, const hd_gan_disc *d, hd_node *x)
{
    x = hd_dropout(g, hd_leaky_relu(g, hd_conv2d_apply(g, &d->c1, x), SLOPE), DROPOUT);
    x = hd_dropout(g, hd_leaky_relu(g, hd_conv2d_apply(g, &d->c2, x), SLOPE), DROPOUT);
    x = hd_reshape(g, x, 2, (int64_t[]){HD_BATCH, 128 * 7 * 7});
    return hd_dense_apply(g, &d->out, x);
}

/* mean over the batch of softplus(sign * logits): BCE from logits against
 * target 1 (sign -1) or 0 (sign +1). */
static hd_node *bce_mean(hd_graph *g, hd_node *logits, float sign)
{
    return hd_mean(g, hd_softplus(g, hd_scale(g, logits, sign)), HD_AXIS_ALL);
}

static int build_graph(hd_gan_net *n, uint64_t seed, int64_t latent)
{
    hd_graph *g = n->g = hd_graph_new(seed);
    if (!g) return HD_ENOMEM;
    n->latent = latent;
    n->z = hd_input(g, "z", 2, (int64_t[]){HD_BATCH, latent});
    n->real = hd_input(g, "real", 4, (int64_t[]){HD_BATCH, 1, HD_GAN_SIDE, HD_GAN_SIDE});
    hd_graph_set_group(g, HD_GAN_GROUP_G);
    n->fake = hd_dcgan_generator(g, n->z, latent);
    hd_graph_set_group(g, HD_GAN_GROUP_D);
    hd_gan_disc d;
    int rc = hd_gan_disc_init(g, &d);
    if (rc != HD_OK) return rc;
    n->d_real = hd_gan_disc_apply(g, &d, n->real);
    n->d_fake = hd_gan_disc_apply(g, &d, n->fake);
    n->d_loss = hd_add(g, bce_mean(g, n->d_real, -1.0f), bce_mean(g, n->d_fake, 1.0f));
    n->g_loss = bce_mean(g, n->d_fake, -1.0f);
    n->both = hd_add(g, n->d_loss, n->g_loss);
    if (!n->both) return HD_EINVAL;
    return hd_graph_compile(g);
}

int hd_gan_net_build(hd_gan_net *n, uint64_t seed, int64_t batch, int64_t latent, const hd_optim_opts *optim)
{
    memset(n, 0, sizeof *n);
    n->batch = batch;
    n->local = hd_dist_rows(batch);
    int rc = build_graph(n, seed, latent);
    if (rc == HD_OK) rc = hd_graph_set_batch(n->g, n->local);
    if (rc != HD_OK) return rc;
    hd_graph_set_rows(n->g, hd_dist_rank(), hd_dist_size(), batch); /* dropout by global row, batch norm over all */
    hd_graph_param_range(n->g, HD_GAN_GROUP_G, &n->pg, &n->gg, &n->ng);
    hd_graph_param_range(n->g, HD_GAN_GROUP_D, &n->pd, &n->gd, &n->nd);
    n->opt_g = hd_optim_new(optim, n->ng);
    n->opt_d = hd_optim_new(optim, n->nd);
    return n->opt_g && n->opt_d ? HD_OK : HD_ENOMEM;
}

void hd_gan_net_free(hd_gan_net *n)
{
    hd_optim_free(n->opt_g);
    hd_optim_free(n->opt_d);
    hd_graph_free(n->g);
    memset(n, 0, sizeof *n);
}

static double mean_sigmoid(hd_node *logits)
{
    const hd_tensor *t = hd_node_value(logits);
    int64_t k = hd_tensor_numel(t);
    double s = 0;
    for (int64_t i = 0; i < k; i++) s += 1.0 / (1.0 + exp(-(double)t->data[i]));
    return s / (double)k;
}

int hd_gan_net_step(hd_gan_net *n, hd_gan_losses *out)
{
    int rc = hd_graph_forward(n->g, n->both);
    if (rc != HD_OK) return rc;
    hd_graph_zero_grad(n->g, HD_GAN_GROUP_D);
    hd_graph_zero_grad(n->g, HD_GAN_GROUP_G);
    if ((rc = hd_graph_backward(n->g, n->d_loss, HD_GAN_GROUP_D)) ||
        (rc = hd_graph_backward(n->g, n->g_loss, HD_GAN_GROUP_G)) ||
        (rc = hd_dist_mean_grads(n->gd, n->nd, n->local, n->batch)) ||
        (rc = hd_dist_mean_grads(n->gg, n->ng, n->local, n->batch)) ||
        (rc = hd_optim_step(n->opt_d, n->pd, n->gd)) || (rc = hd_optim_step(n->opt_g, n->pg, n->gg)))
        return rc;
    if (!out) return HD_OK;
    /* every rank's losses are means over its rows: weighted by them, summed */
    double w = (double)n->local / (double)n->batch;
    double l[4] = {w * hd_node_scalar(n->d_loss), w * hd_node_scalar(n->g_loss), w * mean_sigmoid(n->d_real),
                   w * mean_sigmoid(n->d_fake)};
    if (hd_dist_size() > 1 && (rc = hd_dist_sum_double(l, 4))) return rc;
    *out = (hd_gan_losses){.d_loss = l[0], .g_loss = l[1], .d_real = l[2], .d_fake = l[3]};
    return HD_OK;
}
