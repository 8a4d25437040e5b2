/* hadron surrogate: learn a detector efficiency from count histograms. */
#include "cli.h"

#include <stdio.h>

static void print_epoch(void *user, int epoch, double train, double test, float lr)
{
    char status[64];
    snprintf(status, sizeof status, "test loss %.5g", test);
    cli_report_epoch(user, epoch, status, "epoch %4d  train loss %.6g  test loss %.6g  lr %.3g\n", epoch, train, test,
                     (double)lr);
}

static const cli_choice losses[] = {
    {"l2", HD_LOSS_L2}, {"sigmoid-l2", HD_LOSS_SIGMOID_L2}, {"binomial", HD_LOSS_BINOMIAL}, {NULL, 0}};
static const cli_choice phis[] = {{"cyclic", 0}, {"linear", 1}, {NULL, 0}};

static int run(int argc, char **argv)
{
    hd_surrogate_opts o = hd_surrogate_opts_default();
    cli_report rep = {.every = 10};
    o.out_dir = "out/surrogate";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_train t = {.epochs = &o.epochs, .epochs_help = "training epochs (at most; in all, also when resuming)",
                   .batch = &o.batch, .checkpoint_every = &o.checkpoint_every, .resume = &o.resume,
                   .print_every = &rep.every};
    cli_optim opt = {.o = &o.optim};
    cli_flag flags[] = {
        CLI_STRING("input", &o.input, "histograms (.npz: gen, rec, edges_eta, edges_pt, edges_phi[, truth])"),
        CLI_ENUM("loss", &o.loss, losses, "training loss"),
        CLI_MLP(&o.model),
        CLI_ENUM("phi", &o.phi_linear, phis, "phi as a feature: cyclic, its cos and sin; linear, itself (the seed)"),
        CLI_INT("plateau", &o.sched.plateau.window, "reduce-on-plateau window in epochs"),
        CLI_FLOAT("plateau-factor", &o.sched.plateau.factor, "learning-rate factor at a plateau"),
        CLI_INT("phi-bin", &o.plot_phi_bin, "phi bin of the efficiency plot (-1: middle)"),
        cli_train_flags(&t),
        cli_run_flags(&r),
        cli_optim_flags(&opt),
    };
    int rc = CLI_PARSE(&cmd_surrogate, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.input) {
        fprintf(stderr, "hadron surrogate: --input FILE.npz is required (make one with: hadron sim tracking)\n");
        return 2;
    }
    if (rep.every < 1) rep.every = 1;
    if (hd_surrogate_check(&o) != HD_OK) return cli_refuse(&cmd_surrogate);
    if (cli_start(&r)) return 1;
    o.on_epoch = print_epoch;
    o.user = &rep;
    char net[256];
    int n_in = o.phi_linear ? 3 : 4; /* eta, log pT, phi or cos phi and sin phi */
    printf("surrogate: %s, MLP %s (%s), loss %s, %s lr %g, batch %lld, up to %d epochs%s\n", o.input,
           cli_mlp_str(&o.model, n_in, 1, net, sizeof net), hd_activation_name(o.model.act),
           hd_surrogate_loss_name(o.loss), hd_optim_name(o.optim.kind), (double)o.optim.lr, (long long)o.batch,
           o.epochs, o.resume ? " (resuming)" : "");
    hd_surrogate_result res;
    hd_progress_begin(&rep.bar, "surrogate", o.epochs);
    rc = hd_surrogate_run(&o, &res);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) return cli_fail(&cmd_surrogate);
    printf("best epoch %d of %d: train loss %.6g, test loss %.6g, chi2/ndf (test bins) %.3f\n", res.best_epoch,
           res.epochs, res.train_loss, res.test_loss, res.chi2_ndf);
    if (res.has_truth)
        printf("against the true efficiency: mean |diff| %.4f, max |diff| %.4f\n", res.mae_truth, res.max_abs_truth);
    printf("wrote %s/{model.safetensors, metrics.json, history.csv, loss.png, efficiency.png}\n", o.out_dir);
    return 0;
}

const cli_command cmd_surrogate = {
    .name = "surrogate",
    .summary = "learn a detector efficiency from histograms (binomial likelihood)",
    .usage = "surrogate --input HIST.npz [options]",
    .run = run,
};
