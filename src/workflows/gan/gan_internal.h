/* Internals of the gan workflow shared by its files and the benchmark:
 * the seed-002 DCGAN networks and one training step. */
#ifndef HADRON_GAN_INTERNAL_H
#define HADRON_GAN_INTERNAL_H

#include "hadron/nn.h"
#include "hadron/workflows.h"

#define HD_GAN_SIDE HD_DCGAN_SIDE
#define HD_GAN_PIXELS (HD_GAN_SIDE * HD_GAN_SIDE)
#define HD_GAN_GROUP_G 0
#define HD_GAN_GROUP_D 1

/* The discriminator: images [B, 1, 28, 28] -> logits [B, 1]; call it twice
 * to share its parameters (the first call creates them). */
typedef struct { hd_conv2d_layer c1, c2; hd_dense_layer out; } hd_gan_disc;
int hd_gan_disc_init(hd_graph *g, hd_gan_disc *d);
hd_node *hd_gan_disc_apply(hd_graph *g, const hd_gan_disc *d, hd_node *x);

/* Both networks in one graph with their losses and optimisers, for
 * training at a fixed batch. */
typedef struct {
    hd_graph *g;
    hd_node *z, *real, *fake, *d_real, *d_fake, *d_loss, *g_loss, *both;
    hd_optim *opt_g, *opt_d;
    float *pg, *gg, *pd, *gd; /* params and grads of each group */
    int64_t ng, nd;
    int64_t latent;
    int64_t batch, local; /* the global batch, this rank's rows of it (hd_dist_rows) */
} hd_gan_net;

/* One optimiser of these settings for each network.  Under mpirun the
 * graph holds this rank's rows of each global batch; hd_gan_net_step sums
 * the gradients over the ranks. */
int hd_gan_net_build(hd_gan_net *n, uint64_t seed, int64_t batch, int64_t latent, const hd_optim_opts *optim);
void hd_gan_net_free(hd_gan_net *n);
/* One step on the batch in n->real with the latent batch in n->z: both
 * losses from one forward pass, each network's gradient, both updates;
 * the losses in out are the global batch's. */
int hd_gan_net_step(hd_gan_net *n, hd_gan_losses *out);

/* ---- checkpoints (gan_checkpoint.c) ---- */
typedef struct {
    int epoch;            /* epochs completed */
    int64_t step;         /* optimiser steps taken */
    uint64_t graph_step;  /* the graph's random-op counter (dropout) */
    double fd_initial;
} hd_gan_state;

/* Both networks (with batch-norm buffers), both optimisers' moments and
 * step counts, the state and the options a resume must repeat. */
int hd_gan_save(const char *path, const hd_gan_opts *o, hd_gan_net *n, const hd_gan_state *st);
/* Checks the whole file and that o matches what it was trained with
 * before anything changes. */
int hd_gan_load(const char *path, const hd_gan_opts *o, hd_gan_net *n, hd_gan_state *st);
/* The latent size a checkpoint's generator takes. */
int hd_gan_checkpoint_latent(const char *path, int64_t *latent);

/* ---- data (gan_data.c) ---- */
/* <dir>/<split>-images-idx3-ubyte[.gz] (and labels when labels != NULL),
 * scaled to [-1, 1], the first n_max images (0: all; only they are read);
 * images other than 28 x 28 are refused on the file's header. */
int hd_gan_read_images(const char *dir, const char *split, int64_t n_max, hd_tensor **images, int32_t **labels);

/* ---- a generator for sampling (gan_eval.c) ---- */
/* The generator alone in evaluation mode (batch-norm running statistics),
 * its parameters copied from a training graph or loaded from a checkpoint. */
typedef struct {
    hd_graph *g;
    hd_node *z, *out;
    int64_t latent;
} hd_gan_sampler;

int hd_gan_sampler_build(hd_gan_sampler *s, int64_t latent);
void hd_gan_sampler_free(hd_gan_sampler *s);
int hd_gan_sampler_copy(hd_gan_sampler *s, hd_graph *training);
/* images [n, 1, 28, 28] from latent points z [n, latent], in chunks. */
int hd_gan_sampler_run(hd_gan_sampler *s, int64_t n, const float *z, float *images);
/* A grid PNG of n images, cols to a row. */
int hd_gan_grid(const char *path, int64_t n, const float *images, int cols);

#endif
