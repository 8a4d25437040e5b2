/* Internals of the gen workflow shared by its files and the benchmark. */
#ifndef HADRON_GEN_INTERNAL_H
#define HADRON_GEN_INTERNAL_H

#include "hadron/nn.h"
#include "hadron/workflows.h"

#include <stdio.h>

#define GEN_GROUP_G 0 /* generator (decoder) */
#define GEN_GROUP_D 1 /* critic (encoder) */

/* ---- data (gen_data.c) ---- */
typedef struct {
    int64_t n, n_vox, n_cond;
    float *energy;  /* [n] MeV (column 0 of cond, contiguous) */
    float *cond;    /* [n, n_cond] raw: energy MeV, then (grid) px, py, pz, x, y */
    float *showers; /* [n, n_vox] MeV */
} gen_sample;

/* A shower file's rows first..first+n-1 (n 0: to the end), the conditions
 * of its layout; the layout is returned. */
int gen_read(const char *path, int64_t max_rows, hd_calo_layout *layout, gen_sample *out);
/* rows [first, first + n) of s as a view (no copy) */
gen_sample gen_rows(const gen_sample *s, int64_t first, int64_t n);
void gen_sample_release(gen_sample *s);
/* Writes showers with their conditions in the layout calo-eval reads. */
int gen_write(const char *path, const hd_calo_layout *l, int64_t n, int64_t n_cond, const float *cond,
              const float *showers);

/* ---- networks (gen_nets.c) ---- */
typedef struct {
    hd_gen_model model;
    int conv;                          /* the 30 x 30 networks (hd_gen_conv30 and a convolutional critic) */
    int64_t batch, n_vox, n_cond, latent; /* batch: this rank's rows of each global batch */
    int64_t global_batch;
    int part, parts;                   /* the data-parallel ranks: rows part, part + parts, ... */
    hd_graph *g;
    hd_mlp_spec gen_spec;
    /* inputs */
    hd_node *real, *cond, *z, *fake_in, *xhat;
    hd_node *zero;                     /* GANs: the feature of an empty voxel [1, n_vox] */
    /* outputs */
    hd_node *fake;                     /* the generator's features */
    hd_node *critic_loss, *gen_loss;   /* GANs; vae: gen_loss is -ELBO per shower + beta KL */
    hd_node *critic_stat;              /* wgan: E D(real) - E D(fake); cramer: the energy distance; vae: KL */
    hd_node *elbo;                     /* vae: ELBO per shower (beta 1) */
    hd_optim *opt_g, *opt_d;
    float *pg, *gg, *pd, *gd;
    int64_t ng, nd;
} gen_net;

/* prep NULL: features without a floor (the toy study's), no clamp at an
 * empty voxel's feature and no enforced statistics. */
int gen_net_build(gen_net *n, const hd_gen_opts *o, int64_t n_vox, int64_t n_cond, const hd_calo_layout *l,
                  const hd_shower_prep *prep);
/* Rank part of parts: the graph holds batch / parts rows of each global batch,
 * the noise is the global batch's, the gradients are summed over the ranks. */
int gen_net_build_part(gen_net *n, const hd_gen_opts *o, int64_t n_vox, int64_t n_cond, const hd_calo_layout *l,
                       const hd_shower_prep *prep, int part, int parts);
void gen_net_free(gen_net *n);
/* One training step on the batch in n->real/cond with noise from the
 * step's stream; what it measured goes to *closs, *gloss, *stat (NAN when
 * the step did not compute it). step counts critic steps. */
int gen_net_step(gen_net *n, const hd_gen_opts *o, int64_t step, double *closs, double *gloss, double *stat);

/* ---- training loop of the networks (gen_loop.c) ---- */
typedef struct {
    const hd_gen_opts *o;
    const hd_calo_layout *layout;
    const gen_sample *train;
    const hd_shower_prep *prep;
    hd_cond_scaler *cs;
    float *x, *c;             /* train features [n, n_vox], condition features [n, n_cond] */
    float *hx, *hc;           /* held-out features for the vae's ELBO (n_elbo rows) */
    int64_t n_elbo;
    double seconds;
    double heldout_elbo;
    double heldout_nll;       /* mdn */
    int epochs;
} gen_train_ctx;

int gen_train_net(gen_train_ctx *t);

/* ---- the two-stage mixture density network (gen_mdn.c) ---- */
/* Trains it (t->x unused) with the first 2000 held-out showers' NLL per
 * epoch, and writes DIR/checkpoint.safetensors. */
int gen_fit_mdn(gen_train_ctx *t, const gen_sample *heldout);

/* ---- gmm and library (gen_fit.c) ---- */
int gen_fit_gmm(const hd_gen_opts *o, const char *path, const hd_calo_layout *layout, const gen_sample *train,
                const hd_shower_prep *prep, hd_cond_scaler *cs, const float *x, const float *c);
/* A grid layout's showers are moved to the requested entry point when generated. */
int gen_fit_library(const hd_gen_opts *o, const char *path, const hd_calo_layout *layout, const gen_sample *train,
                    const hd_shower_prep *prep, hd_cond_scaler *cs);

/* ---- outputs (gen_plot.c) ---- */
/* showers.png: per layer, the mean shower of ref and gen (log colour), and
 * single showers of each; returns HD_OK when PNGs are off (no libpng error). */
int gen_plot_showers(const char *path, const hd_calo_layout *l, int64_t n_ref, const float *ref, int64_t n_gen,
                     const float *gen);

#endif
