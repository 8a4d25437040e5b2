/* hadron fit: an MLP learns a known 2-D function (the engine's smoke test). */
#include "cli.h"
#include "hadron/hadron.h"

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
    const char *layers = "32,32", *act = "tanh";
    int threads = 0;
    cli_report rep = {.every = 10};
    o.out_dir = "out/fit";
    cli_flag flags[] = {
        {"epochs", FLAG_INT, &o.epochs, "training epochs"},
        {"points", FLAG_I64, &o.n_train, "training points"},
        {"batch", FLAG_I64, &o.batch, "batch size"},
        {"lr", FLAG_FLOAT, &o.optim.lr, "Adam learning rate"},
        {"layers", FLAG_STRING, &layers, "hidden layer sizes"},
        {"activation", FLAG_STRING, &act, "hidden activation (relu, tanh, sigmoid, softplus, leaky_relu)"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
        {"print-every", FLAG_INT, &rep.every, "print the loss every N epochs"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
    };
    int rc = cli_parse(&cmd_fit, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_mlp_spec_parse_layers(&o.model, layers) || hd_activation_parse(act, &o.model.act) || rep.every < 1) {
        fprintf(stderr, "hadron fit: %s\n", rep.every < 1 ? "--print-every must be >= 1" : hd_last_error());
        return 2;
    }
    if (cli_mkdir(o.out_dir)) return 1;
    hd_set_threads(threads);
    o.on_epoch = print_epoch;
    o.user = &rep;
    hd_fit_result res;
    printf("fitting sin(pi x0) cos(pi x1 / 2) with an MLP 2-%s-1 (%s), %lld points, %d epochs\n", layers, act,
           (long long)o.n_train, o.epochs);
    hd_progress_begin(&rep.bar, "fit", o.epochs);
    rc = hd_fit_run(&o, &res);
    hd_progress_end(&rep.bar);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron fit: %s\n", hd_last_error());
        return 1;
    }
    printf("test mse %.6f -> %.6f (%.0fx lower)\n", res.first_test_mse, res.final_test_mse,
           res.first_test_mse / res.final_test_mse);
    printf("wrote %s/history.csv, %s/loss.png (plot) and %s/model.safetensors\n", o.out_dir, o.out_dir, o.out_dir);
    return 0;
}

const cli_command cmd_fit = {"fit", "fit an MLP to a known function (engine smoke test)", "fit [options]", run};
