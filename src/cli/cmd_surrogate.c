/* hadron surrogate: learn a detector efficiency from count histograms. */
#include "cli.h"
#include "hadron/hadron.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void print_epoch(void *user, int epoch, double train, double test, float lr)
{
    char status[64];
    snprintf(status, sizeof status, "test loss %.5g", test);
    cli_report_epoch(user, epoch, status, "epoch %4d  train loss %.6g  test loss %.6g  lr %.3g\n", epoch, train, test,
                     (double)lr);
}

static int run(int argc, char **argv)
{
    hd_surrogate_opts o = hd_surrogate_opts_default();
    const char *layers = "128,128,128", *loss = "binomial", *act = "relu", *phi = "cyclic";
    int threads = 0;
    cli_report rep = {.every = 10};
    o.out_dir = "out/surrogate";
    cli_flag flags[] = {
        {"input", FLAG_STRING, &o.input, "histograms (.npz: gen, rec, edges_eta, edges_pt, edges_phi[, truth])"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
        {"loss", FLAG_STRING, &loss, "l2, sigmoid-l2 or binomial"},
        {"layers", FLAG_STRING, &layers, "hidden layer sizes"},
        {"activation", FLAG_STRING, &act, "hidden activation"},
        {"epochs", FLAG_INT, &o.epochs, "training epochs (at most)"},
        {"batch", FLAG_I64, &o.batch, "batch size"},
        {"lr", FLAG_FLOAT, &o.optim.lr, "NAdamW learning rate"},
        {"weight-decay", FLAG_FLOAT, &o.optim.weight_decay, "NAdamW decoupled weight decay"},
        {"plateau", FLAG_INT, &o.sched.plateau.window, "reduce-on-plateau window in epochs"},
        {"plateau-factor", FLAG_FLOAT, &o.sched.plateau.factor, "learning-rate factor at a plateau"},
        {"phi", FLAG_STRING, &phi, "phi as a feature: cyclic (cos, sin) or linear (as the seed)"},
        {"phi-bin", FLAG_INT, &o.plot_phi_bin, "phi bin of the efficiency plot (-1: middle)"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
        {"print-every", FLAG_INT, &rep.every, "print the losses every N epochs"},
    };
    int rc = cli_parse(&cmd_surrogate, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.input) {
        fprintf(stderr, "hadron surrogate: --input FILE.npz is required (make one with: hadron sim tracking)\n");
        return 2;
    }
    if (hd_surrogate_loss_parse(loss, &o.loss) || hd_mlp_spec_parse_layers(&o.model, layers) ||
        hd_activation_parse(act, &o.model.act)) {
        fprintf(stderr, "hadron surrogate: %s\n", hd_last_error());
        return 2;
    }
    if (strcmp(phi, "cyclic") != 0 && strcmp(phi, "linear") != 0) {
        fprintf(stderr, "hadron surrogate: --phi '%s': use cyclic or linear\n", phi);
        return 2;
    }
    o.phi_linear = strcmp(phi, "linear") == 0;
    if (rep.every < 1) rep.every = 1;
    if (cli_mkdir(o.out_dir)) return 1;
    hd_set_threads(threads);
    o.on_epoch = print_epoch;
    o.user = &rep;
    printf("surrogate: %s, MLP 3-%s-1 (%s), loss %s, NAdamW lr %g, batch %lld, up to %d epochs\n", o.input, layers,
           act, loss, (double)o.optim.lr, (long long)o.batch, o.epochs);
    hd_surrogate_result r;
    hd_progress_begin(&rep.bar, "surrogate", o.epochs);
    rc = hd_surrogate_run(&o, &r);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron surrogate: %s\n", hd_last_error());
        return 1;
    }
    printf("best epoch %d of %d: train loss %.6g, test loss %.6g, chi2/ndf (test bins) %.3f\n", r.best_epoch,
           r.epochs, r.train_loss, r.test_loss, r.chi2_ndf);
    if (r.has_truth) printf("against the true efficiency: mean |diff| %.4f, max |diff| %.4f\n", r.mae_truth, r.max_abs_truth);
    printf("wrote %s/{model.safetensors, metrics.json, history.csv, loss.png, efficiency.png}\n", o.out_dir);
    return 0;
}

const cli_command cmd_surrogate = {"surrogate", "learn a detector efficiency from histograms (binomial likelihood)",
                                   "surrogate --input HIST.npz [options]", run};
