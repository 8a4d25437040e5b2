/* Pieces of the bnn workflow shared between its files. */
#ifndef HD_BNN_INTERNAL_H
#define HD_BNN_INTERNAL_H

#include "hadron/hadron.h"

#define HD_BNN_PARTICLES 5
#define HD_BNN_FEATURES (HD_BNN_PARTICLES * 4)
#define HD_BNN_GLUON 4 /* index of the outgoing gluon */

/* One of trn/val/tst: events as read, then the network's view of them. */
typedef struct {
    int64_t n;
    float *x;       /* [n, 20] momenta, divided by the pT scale once transformed */
    float *y;       /* [n] log amplitude, standardised once transformed */
    double *log_amp; /* [n] log amplitude as read */
    double gluon_pt_sum;
} hd_bnn_split;

/* The preprocessing, fitted on the training split and stored with the model. */
typedef struct { double pt_scale, y_mean, y_std; } hd_bnn_transform;

/* Reads <dir>/<name>_dat.npy and <name>_amp.npy, refusing a wrong shape or
 * dtype, NaN/Inf, a non-positive amplitude or a count mismatch with a message
 * naming the file and the first bad entry. */
int hd_bnn_read_split(const char *dir, const char *name, hd_bnn_split *out);
void hd_bnn_split_free(hd_bnn_split *s);
/* pT scale = mean gluon pT, target mean and std, all from the training split. */
hd_bnn_transform hd_bnn_fit_transform(const hd_bnn_split *train);
void hd_bnn_apply_transform(const hd_bnn_transform *t, hd_bnn_split *s);

/* The per-event predictive distribution in standardised log space: the
 * mean, then variances (workflows.h, hd_bnn_run, says what each one is). */
typedef struct {
    double *mean, *aleatoric, *epistemic, *total;
} hd_bnn_prediction;

/* Accumulated over K draws: mean, the mean of e^logvar (in aleatoric) and
 * of the squared means (in epistemic) become the moments, split as
 * workflows.h says.  Allocates total. */
int hd_bnn_decompose(hd_bnn_prediction *p, int64_t n, int k);
/* The validation set's offset and scale (workflows.h); none applied. */
int hd_bnn_fit_calibration(const hd_bnn_split *val, const hd_bnn_transform *t, const hd_bnn_prediction *p,
                           hd_bnn_calibration *c);
/* Shifts the means and scales every variance of p by c's; c->applied = 1. */
void hd_bnn_apply_calibration(hd_bnn_calibration *c, const hd_bnn_transform *t, hd_bnn_prediction *p, int64_t n);
void hd_bnn_prediction_free(hd_bnn_prediction *p);

int hd_bnn_plots(const char *out_dir, const hd_bnn_split *test, const hd_bnn_transform *t,
                 const hd_bnn_prediction *p);

#endif
