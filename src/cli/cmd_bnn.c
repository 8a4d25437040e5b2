/* hadron bnn: Bayesian amplitude regression with uncertainties. */
#include "cli.h"
#include "hadron/hadron.h"

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
    const char *layers = "20,20", *act = "relu";
    int threads = 0;
    cli_report rep = {.every = 10};
    o.out_dir = "out/bnn";
    cli_flag flags[] = {
        {"data", FLAG_STRING, &o.data_dir, "directory of {trn,val,tst}_{dat,amp}.npy (hadron sim amplitudes)"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
        {"layers", FLAG_STRING, &layers, "hidden layer sizes"},
        {"activation", FLAG_STRING, &act, "hidden activation"},
        {"prior", FLAG_FLOAT, &o.prior_std, "width of the Gaussian prior on every weight"},
        {"epochs", FLAG_INT, &o.epochs, "training epochs"},
        {"batch", FLAG_I64, &o.batch, "batch size"},
        {"lr", FLAG_FLOAT, &o.optim.lr, "Adam learning rate at the start"},
        {"lr-final", FLAG_FLOAT, &o.sched.lr_final, "learning rate at the last epoch (exponential decay)"},
        {"samples", FLAG_INT, &o.samples, "networks sampled to predict the test set"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"init", FLAG_STRING, &o.init_path, "start from these weights (a model.safetensors of the same layers)"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
        {"print-every", FLAG_INT, &rep.every, "print the losses every N epochs"},
    };
    int rc = cli_parse(&cmd_bnn, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.data_dir) {
        fprintf(stderr, "hadron bnn: --data DIR is required (make one with: hadron sim amplitudes --out DIR)\n");
        return 2;
    }
    if (hd_mlp_spec_parse_layers(&o.model, layers) || hd_activation_parse(act, &o.model.act)) {
        fprintf(stderr, "hadron bnn: %s\n", hd_last_error());
        return 2;
    }
    if (rep.every < 1) rep.every = 1;
    if (cli_mkdir(o.out_dir)) return 1;
    hd_set_threads(threads);
    o.on_epoch = print_epoch;
    o.user = &rep;
    printf("bnn: %s, Bayesian MLP 20-%s-2 (%s), prior N(0, %g^2), Adam lr %g to %g, batch %lld, %d epochs\n", o.data_dir,
           layers, act, (double)o.prior_std, (double)o.optim.lr, (double)o.sched.lr_final, (long long)o.batch, o.epochs);
    hd_bnn_result r;
    hd_progress_begin(&rep.bar, "bnn", o.epochs);
    rc = hd_bnn_run(&o, &r);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron bnn: %s\n", hd_last_error());
        return 1;
    }
    printf("test set (%lld events, %d sampled networks): relative error median %.4f, 90%% %.4f\n",
           (long long)r.n_test, o.samples, r.rel_err_median, r.rel_err_p90);
    printf("pulls: mean %.3f, std %.3f (1 when calibrated); median sigma of log A: aleatoric %.4f, epistemic %.4f\n",
           r.pull_mean, r.pull_std, r.sigma_aleatoric, r.sigma_epistemic);
    printf("%.3f s per epoch; wrote %s/{model.safetensors, history.csv, metrics.json, loss, amplitudes, deviation, "
           "pulls, calibration .png}\n", r.seconds_per_epoch, o.out_dir);
    return 0;
}

const cli_command cmd_bnn = {"bnn", "Bayesian network: amplitude regression with uncertainties",
                             "bnn --data DIR [options]", run};
