/* hadron workflows: whole jobs behind the CLI commands, one options struct
 * with a _default() constructor each.  They report progress through
 * callbacks and never print to stdout. */
#ifndef HADRON_WORKFLOWS_H
#define HADRON_WORKFLOWS_H

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fit (workflows/fit.c): the engine's smoke test and first demo --------
 * Fits an MLP to f(x0, x1) = sin(pi x0) cos(pi x1 / 2) on points drawn
 * uniformly in [-1, 1]^2, with MSE and Adam, and reports the loss per epoch. */

typedef struct {
    uint64_t seed;
    int epochs;
    int64_t n_train, n_test, batch;
    float lr;
    hd_mlp_spec model;       /* n_in 2, n_out 1 */
    const char *out_dir;     /* NULL: write nothing; else history.csv + model.safetensors */
    void (*on_epoch)(void *user, int epoch, double train_mse, double test_mse);
    void *user;
} hd_fit_opts;

typedef struct {
    double first_test_mse, final_train_mse, final_test_mse;
    int epochs;
} hd_fit_result;

hd_fit_opts hd_fit_opts_default(void); /* 2-32-32-1 tanh, 1024 points, batch 32, 150 epochs, lr 3e-3 */
int hd_fit_run(const hd_fit_opts *opts, hd_fit_result *result);
double hd_fit_target(double x0, double x1); /* the function being fitted */

/* ---- surrogate (workflows/surrogate.c): efficiency from histograms ----------
 * Learns eff(eta, pT, phi) from generated/reconstructed counts (an hd_hist3
 * .npz): inputs (eta, log pT, phi) at bin centres, phi as (cos phi, sin phi)
 * unless phi_linear (the seed's choice), standard scaling fitted on
 * the training bins, the checkerboard split ((i + j + k) even -> train),
 * empty bins skipped, an MLP trained with NAdamW and reduce-on-plateau on
 * the test loss, the best epoch's weights kept. */

typedef enum { HD_LOSS_L2, HD_LOSS_SIGMOID_L2, HD_LOSS_BINOMIAL } hd_surrogate_loss;

typedef struct {
    const char *input;   /* .npz histogram file */
    const char *out_dir; /* model.safetensors, metrics.json, history.csv, plots */
    hd_mlp_spec model;   /* hidden layers and activation; default 128,128,128 relu (n_in, n_out set here) */
    int phi_linear;      /* 1: phi as one linear feature; 0 (default): cos and sin, periodic */
    hd_surrogate_loss loss;
    float lr, weight_decay;
    int64_t batch;
    int epochs;
    hd_plateau plateau;  /* on the test loss */
    uint64_t seed;
    int plot_phi_bin;    /* phi bin of the efficiency plots; -1: the middle one */
    void (*on_epoch)(void *user, int epoch, double train_loss, double test_loss, float lr);
    void *user;
} hd_surrogate_opts;

typedef struct {
    double train_loss, test_loss, chi2_ndf; /* at the best epoch; chi2 over test bins */
    double mae_truth, max_abs_truth;        /* over bins with counts; NaN without truth */
    int best_epoch, epochs, has_truth;
    int64_t n_train, n_test;
} hd_surrogate_result;

hd_surrogate_opts hd_surrogate_opts_default(void);
int hd_surrogate_run(const hd_surrogate_opts *opts, hd_surrogate_result *result);
const char *hd_surrogate_loss_name(hd_surrogate_loss loss);
int hd_surrogate_loss_parse(const char *s, hd_surrogate_loss *out); /* l2, sigmoid-l2, binomial */

/* ---- bnn (workflows/bnn.c): amplitude regression with uncertainties ---------
 * A Bayesian MLP (nn.h: hd_bayes_mlp) regresses the log squared amplitude of
 * 2 -> 3 events from their momenta (seed 004).  Data: <data_dir>/{trn,val,tst}
 * _{dat,amp}.npy, momenta (N, 5, 4) and amplitudes (N,).  Preprocessing as the
 * notebook: momenta flattened and divided by the mean gluon pT, target log
 * amplitude standardised (all fitted on trn, stored in the checkpoint).  Two
 * outputs, mean and log-variance; loss = Gaussian NLL + KL / N_train; Adam,
 * shuffled batches.  The test set is predicted by K sampled networks:
 * predictive mean, aleatoric variance (mean of e^logvar), epistemic variance
 * (spread of the means), total = their sum. */

typedef struct { double loss, nll, kl, mse; } hd_bnn_losses; /* kl: the KL / N_train that enters the loss */

typedef struct {
    const char *data_dir, *out_dir; /* out: model.safetensors, history.csv, metrics.json, plots */
    hd_mlp_spec model;  /* hidden layers and activation; default 20,20 relu */
    float prior_std;    /* width of the Gaussian weight prior (default 1) */
    float lr, lr_final; /* Adam, decayed exponentially from lr to lr_final over the epochs (1e-3, 1e-4) */
    int64_t batch;      /* default 64 */
    int epochs;         /* default 200 */
    int samples;        /* K networks sampled on the test set (default 50) */
    uint64_t seed;
    void (*on_epoch)(void *user, int epoch, const hd_bnn_losses *train, const hd_bnn_losses *val);
    void *user;
} hd_bnn_opts;

typedef struct {
    double test_mse;                     /* of the predictive mean, standardised log amplitude */
    double rel_err_median, rel_err_p90;  /* |A_pred / A_true - 1| */
    double pull_mean, pull_std;          /* (log A_true - mean) / sigma_total */
    double sigma_aleatoric, sigma_epistemic; /* medians, in log amplitude */
    hd_bnn_losses train, val;            /* last epoch */
    int epochs;
    int64_t n_train, n_val, n_test;
    double seconds_per_epoch;            /* training part, median over epochs */
} hd_bnn_result;

hd_bnn_opts hd_bnn_opts_default(void);
int hd_bnn_run(const hd_bnn_opts *opts, hd_bnn_result *result);

#ifdef __cplusplus
}
#endif
#endif
