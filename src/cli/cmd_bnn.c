/* hadron bnn: Bayesian amplitude regression with uncertainties. */
#include "cli.h"

#include <math.h>
#include <stdio.h>

static void print_epoch(void *user, int epoch, const hd_bnn_losses *trn, const hd_bnn_losses *val)
{
    char status[64];
    snprintf(status, sizeof status, "val loss %.4g", val->loss);
    cli_report_epoch(user, epoch, status,
                     "epoch %4d  train loss %9.5f (NLL %9.5f KL %.5f MSE %.5f)  val loss %9.5f (NLL %9.5f MSE %.5f)\n",
                     epoch, trn->loss, trn->nll, trn->kl, trn->mse, val->loss, val->nll, val->mse);
}

static int run(int argc, char **argv)
{
    hd_bnn_opts o = hd_bnn_opts_default();
    cli_report rep = {.every = 10};
    o.out_dir = "out/bnn";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_train t = {.epochs = &o.epochs, .epochs_help = "training epochs (in all, also when resuming)",
                   .batch = &o.batch, .checkpoint_every = &o.checkpoint_every, .resume = &o.resume,
                   .print_every = &rep.every};
    cli_optim opt = {.o = &o.optim};
    cli_flag flags[] = {
        CLI_STRING("data", &o.data_dir, "directory of {trn,val,tst}_{dat,amp}.npy (hadron sim amplitudes)"),
        CLI_MLP(&o.model),
        CLI_FLOAT("prior", &o.prior_std, "width of the Gaussian prior on every weight"),
        CLI_FLOAT("lr-final", &o.sched.lr_final, "learning rate at the last epoch (exponential decay)"),
        CLI_INT("samples", &o.samples, "networks sampled to predict the validation and test sets"),
        CLI_BOOL("calibrate", &o.calibrate, "shift the test predictions and scale their sigma by what the validation "
                 "set's pulls ask (always fitted and reported)"),
        CLI_STRING("init", &o.init_path, "start from these weights (a model.safetensors of the same layers)"),
        cli_train_flags(&t),
        cli_run_flags(&r),
        cli_optim_flags(&opt),
    };
    int rc = CLI_PARSE(&cmd_bnn, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.data_dir) {
        fprintf(stderr, "hadron bnn: --data DIR is required (make one with: hadron sim amplitudes --out DIR)\n");
        return 2;
    }
    if (rep.every < 1) rep.every = 1;
    if (hd_bnn_check(&o) != HD_OK) return cli_refuse(&cmd_bnn);
    if (cli_start(&r)) return 1;
    o.on_epoch = print_epoch;
    o.user = &rep;
    char net[256]; /* in: 5 momenta x 4; out: mean and log-variance */
    printf("bnn: %s, Bayesian MLP %s (%s), prior N(0, %g^2), %s lr %g to %g, batch %lld, %d epochs%s\n", o.data_dir,
           cli_mlp_str(&o.model, 20, 2, net, sizeof net), hd_activation_name(o.model.act), (double)o.prior_std,
           hd_optim_name(o.optim.kind), (double)o.optim.lr, (double)o.sched.lr_final, (long long)o.batch, o.epochs,
           o.resume ? " (resuming)" : "");
    hd_bnn_result res;
    hd_progress_begin(&rep.bar, "bnn", o.epochs);
    rc = hd_bnn_run(&o, &res);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) return cli_fail(&cmd_bnn);
    printf("test set (%lld events, %d sampled networks): relative error median %.4f, 90%% %.4f\n",
           (long long)res.n_test, o.samples, res.rel_err_median, res.rel_err_p90);
    const hd_bnn_calibration *c = &res.calibration;
    printf("pulls: mean %.3f, std %.3f; |pull| < 1: %.1f%%, < 2: %.1f%% (calibrated: 0, 1, 68.3%%, 95.4%%)\n",
           res.pull_mean, res.pull_std, 100 * res.coverage1, 100 * res.coverage2);
    printf("median sigma of log A: total %.4f = aleatoric %.4f (+) epistemic %.4f\n", res.sigma_total,
           res.sigma_aleatoric, res.sigma_epistemic);
    printf("validation pulls: mean %.3f, std %.3f -> offset %+.4f +- %.4f in log A, sigma x %.3f +- %.3f: %s\n",
           c->val_pull_mean, c->val_pull_std, c->offset, c->offset_err, c->scale, c->scale_err,
           c->applied ? "applied to the test set"
           : fabs(c->val_pull_mean) > 0.1 || fabs(c->scale - 1) > 0.1 ? "not applied; --calibrate would help"
                                                                       : "not applied (not needed)");
    printf("%.3f s per epoch; wrote %s/{model.safetensors, history.csv, metrics.json, loss, amplitudes, deviation, "
           "pulls, calibration .png}\n", res.seconds_per_epoch, o.out_dir);
    return 0;
}

const cli_command cmd_bnn = {
    .name = "bnn",
    .summary = "Bayesian network: amplitude regression with uncertainties",
    .usage = "bnn --data DIR [options]",
    .run = run,
};
