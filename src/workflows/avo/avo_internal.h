/* Internals of the avo workflow: the discriminator (avo_disc.c) and the
 * outputs (avo_output.c). */
#ifndef HADRON_AVO_INTERNAL_H
#define HADRON_AVO_INTERNAL_H

#include "hadron/workflows.h"

/* A set of observations [n, obs_size], scaled for the discriminator. */
typedef struct { float *x; int64_t n; } hd_avo_set;

/* The discriminator: the seed's CNN for images (obs [C, H, W]) or an MLP
 * for vectors, its losses, the R1 penalty and Adam. */
typedef struct {
    hd_graph *g;
    hd_node *x, *sign, *real, *out, *loss; /* x: simulated rows, then observed; sign -1 / +1, real 0 / 1 */
    hd_optim *opt;
    int64_t n_params, half, obs_size;
    int64_t local; /* this rank's rows of each half batch (hd_dist_rows): x holds 2 local */
    hd_avo_loss kind;
    float r1;
} hd_avo_disc;

int hd_avo_disc_build(hd_avo_disc *d, const hd_avo_opts *o);
void hd_avo_disc_free(hd_avo_disc *d);
/* One epoch over the simulated set, each batch half simulated and half
 * observed rows (observed cycled in a shuffled order); returns the mean loss. */
int hd_avo_disc_epoch(hd_avo_disc *d, const hd_avo_set *sim, const hd_avo_set *obs, hd_rng *rng, double *loss);
/* reward[i] of each row: the probability that it is observed (BCE) or the critic value (Wasserstein). */
int hd_avo_disc_reward(hd_avo_disc *d, const hd_avo_set *s, double *reward);

/* history.csv, one row per iteration */
typedef struct {
    FILE *f;
    int k;
} hd_avo_history;

int hd_avo_history_open(hd_avo_history *h, const hd_avo_opts *o);
void hd_avo_history_row(hd_avo_history *h, const hd_avo_opts *o, int it, const double *mean, const double *width,
                        double derived, double d_loss, double p_loss, double reward);
int hd_avo_history_close(hd_avo_history *h, const hd_avo_opts *o);
int hd_avo_write_metrics(const hd_avo_opts *o, const hd_avo_result *r);
int hd_avo_plot_convergence(const hd_avo_opts *o);
/* Observed vs simulated at the start and the end: aggregated images, or
 * histograms of each component of vector data. */
int hd_avo_plot_data(const hd_avo_opts *o, const hd_avo_set *obs, const hd_avo_set *start, const hd_avo_set *end,
                     float scale);

#endif
