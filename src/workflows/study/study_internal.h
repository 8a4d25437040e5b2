/* Internals of hadron study shared by its files. */
#ifndef HADRON_STUDY_INTERNAL_H
#define HADRON_STUDY_INTERNAL_H

#include "hadron/workflows.h"

#include <stdio.h>
#include "workflows/gen/gen_internal.h"

/* ---- summaries (study_stats.c) ---- */

typedef struct {
    double mean, bias_rel, spread_rel; /* (mean - truth) / truth, standard deviation / truth */
    double n_equiv;                    /* independent events whose estimate has the same mean squared error */
} study_summary;

/* est [n_res][n_stat] against truth [n_stat]; unit [n_stat] is the variance
 * one independent event contributes (the estimate from N events has
 * variance unit / N): q (1 - q) / f(x_q)^2 for a quantile, p (1 - p) for a
 * fraction, sigma^2 for a mean. */
void study_summarise(int n_res, int n_stat, const double *est, const double *truth, const double *unit,
                     study_summary *out);
/* dir/name opened for an atomic write */
int study_open(const char *dir, const char *name, hd_atomic_file *af);
/* metrics.json: one statistic's line, "name": {"bias_rel": .., "spread_rel": .., "n_equiv": ..} */
void study_json_summary(FILE *f, const char *name, double bias_rel, double spread_rel, double n_equiv, int last);

/* ---- plots (study_plot.c) ---- */

typedef struct {
    const char *title, *xlabel, *truth_title;
    int bins;
    const double *x, *truth; /* [bins]: bin centres, the true density */
    int n_res;
    const double *hist;      /* [n_res][bins] the estimator's densities */
    int log_y;
} study_band;

/* NAME.csv and NAME.png in dir: the truth, the estimates' median and their 16-84% band. */
int study_band_plot(const char *dir, const char *name, const study_band *b);

/* ---- calorimeter studies (study_calo.c) ---- */

/* Simulates n electron showers of the reduced layout, 1-100 GeV log-uniform,
 * into the file path and reads them back into out. */
int study_simulate(const char *path, uint64_t seed, int64_t n, gen_sample *out);
/* hadron gen train of one model into dir (made if missing), without its
 * evaluation: dir/checkpoint.safetensors. */
typedef struct {
    hd_gen_model model;
    const char *data, *heldout, *dir;
    int64_t max_showers;
    uint64_t seed;
    int epochs;
    unsigned enforce;
    void (*on_epoch)(void *user, const hd_gen_epoch *e);
    void *user;
} study_run;
int study_train(const study_run *r, double *seconds);
/* n showers [n, voxels] MeV from a generator checkpoint for the energies e_inc [n]. */
int study_generate(const char *checkpoint, uint64_t seed, int64_t n, const float *e_inc, float *out);

/* Per-shower statistics, study_stat_count(l) per row: E_tot / E_inc, the
 * transverse width about the shower's centre (mm, energy weighted, as
 * --enforce width), the fraction of voxels above the threshold, then each
 * layer's fraction of E_tot. */
enum { STUDY_E_RATIO, STUDY_WIDTH, STUDY_OCCUPANCY, STUDY_SCALARS };
int64_t study_stat_count(const hd_calo_layout *l);
int study_shower_stats(const hd_calo_layout *l, int64_t n, const float *showers, const float *e_inc, double *out);
/* mean and standard deviation of column j of t [n][w] */
void study_column_moments(int64_t n, int64_t w, const double *t, int64_t j, double *mean, double *sd);

/* ---- the toy of seed 001: statistics of S = X1 + X2 (toy_estimators.c) ---- */

#define TOY_NQ 5                    /* quantile levels toy_q */
#define TOY_NT 3                    /* tail fractions P(S > t), t = cut, 2 cut, 3 cut */
#define TOY_NSTAT HD_TOY_STATS
_Static_assert(TOY_NQ + TOY_NT == HD_TOY_STATS, "the public count");
#define TOY_BINS 60                 /* density of S on [0, 3 cut] */

extern const double toy_q[TOY_NQ];

typedef struct {
    double cut;
    int64_t n_target; /* events each sampling estimator generates */
    int gmm_k;
    int gan_steps;    /* critic steps */
    uint64_t seed;
} toy_spec;


/* stats[TOY_NSTAT] and hist[TOY_BINS] (a density) of S from m sums (sorted in place) */
void toy_sample_stats(const toy_spec *sp, int64_t m, double *sums, double *stats, double *hist);
/* The same, exactly, for two log-normals. */
void toy_exact_stats(const toy_spec *sp, const hd_lognormal_pair *p, double *stats, double *hist);
/* One estimator's stats and hist from a training sample of n events x[n][2];
 * r numbers the resampling (the stochastic models' seeds). */
int toy_estimate(const toy_spec *sp, hd_toy_estimator e, int64_t n, const double *x, int r, double *stats,
                 double *hist);

#endif
