/* hadron fit: an MLP learns a known 2-D function (the engine's smoke test). */
#include "cli.h"

#include <stdio.h>

static void print_epoch(void *user, int epoch, double train, double test)
{
    char status[64];
    snprintf(status, sizeof status, "test mse %.6f", test);
    cli_report_epoch(user, epoch, status, "epoch %4d  train mse %.6f  test mse %.6f\n", epoch, train, test);
}

static int run(int argc, char **argv)
{
    hd_fit_opts o = hd_fit_opts_default();
    cli_report rep = {.every = 10};
    o.out_dir = "out/fit";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_train t = {.epochs = &o.epochs, .batch = &o.batch, .print_every = &rep.every};
    cli_optim opt = {.o = &o.optim};
    cli_flag flags[] = {
        CLI_I64("points", &o.n_train, "training points"),
        CLI_MLP(&o.model),
        cli_train_flags(&t),
        cli_run_flags(&r),
        cli_optim_flags(&opt),
    };
    int rc = CLI_PARSE(&cmd_fit, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (rep.every < 1) {
        fprintf(stderr, "hadron fit: --print-every must be >= 1\n");
        return 2;
    }
    if (hd_fit_check(&o) != HD_OK) return cli_refuse(&cmd_fit);
    if (cli_start(&r)) return 1;
    o.on_epoch = print_epoch;
    o.user = &rep;
    char net[256];
    printf("fitting sin(pi x0) cos(pi x1 / 2) with an MLP %s (%s), %lld points, %d epochs\n",
           cli_mlp_str(&o.model, 2, 1, net, sizeof net), hd_activation_name(o.model.act), (long long)o.n_train,
           o.epochs);
    hd_fit_result res;
    hd_progress_begin(&rep.bar, "fit", o.epochs);
    rc = hd_fit_run(&o, &res);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) return cli_fail(&cmd_fit);
    printf("test mse %.6f -> %.6f (%.0fx lower)\n", res.first_test_mse, res.final_test_mse,
           res.first_test_mse / res.final_test_mse);
    printf("wrote %s/history.csv, %s/loss.png (plot) and %s/model.safetensors\n", o.out_dir, o.out_dir, o.out_dir);
    return 0;
}

const cli_command cmd_fit = {
    .name = "fit",
    .summary = "fit an MLP to a known function (engine smoke test)",
    .usage = "fit [options]",
    .run = run,
};
