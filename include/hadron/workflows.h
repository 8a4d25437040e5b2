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

#ifdef __cplusplus
}
#endif
#endif
