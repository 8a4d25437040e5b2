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

#ifdef __cplusplus
}
#endif
#endif
