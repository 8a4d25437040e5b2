/* hadron study: the statistical studies of seed 001 (docs/studies.md). */
#include "cli.h"

#include <math.h>
#include <stdio.h>

static int toy(int argc, char **argv);

static const cli_command cmd_toy = {
    .name = "study toy-lognormal",
    .summary = "the seed's toy: x1 + x2 of two log-normals from 1K training events, four estimators against the "
               "exact truth",
    .usage = "study toy-lognormal [--out DIR] [options]",
    .run = toy,
};

static void on_progress(void *user, int done, int total)
{
    hd_progress *bar = user;
    if (bar->total != total) hd_progress_begin(bar, "estimates", total);
    hd_progress_update(bar, done, NULL);
}

static int toy(int argc, char **argv)
{
    hd_toy_lognormal_opts o = hd_toy_lognormal_opts_default();
    o.out_dir = "out/study-toy";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_DOUBLE("mu", &o.mu, "mean of ln x"),
        CLI_DOUBLE("sigma", &o.sigma, "standard deviation of ln x"),
        CLI_I64("n-train", &o.n_train, "events in a training sample"),
        CLI_DOUBLE("cut", &o.cut, "the library-cut sample has x < cut; the tail thresholds are 1, 2, 3 cut"),
        CLI_I64("n-target", &o.n_target, "events the gmm and the wgan-gp generate per training sample"),
        CLI_INT("resamplings", &o.resamplings, "training samples (sample, library, fit)"),
        CLI_INT("gmm-resamplings", &o.gmm_resamplings, "training samples the mixture is fitted to (0: none)"),
        CLI_INT("gan-resamplings", &o.gan_resamplings, "training samples a WGAN-GP is trained on (0: none)"),
        CLI_INT("gmm-k", &o.gmm_k, "mixture components"),
        CLI_INT("gan-steps", &o.gan_steps, "critic steps of each WGAN-GP (5 per generator step)"),
        CLI_I64("n-check", &o.n_check, "direct samples that cross-check the exact distribution"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_toy, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_toy_lognormal_check(&o) != HD_OK) return cli_refuse(&cmd_toy);
    if (cli_start(&r)) return 1;
    hd_progress bar = {0};
    o.on_stage = cli_stage_above;
    o.on_progress = on_progress;
    o.user = &bar;
    hd_progress_begin(&bar, "toy", 1);
    hd_toy_lognormal_result res;
    rc = hd_toy_lognormal_run(&o, &res);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_toy);
    printf("exact distribution cross-checked against %lld direct samples: largest pull %.2f\n",
           (long long)o.n_check, res.check_max_pull);
    printf("%-14s %6s", "estimator", "res.");
    for (int i = 0; i < HD_TOY_STATS; i++) printf(" %17s", hd_toy_stat_name(i));
    printf("\n%-14s %6s", "truth", "");
    for (int i = 0; i < HD_TOY_STATS; i++) printf(" %17.5g", res.truth[i]);
    printf("\n%-21s (bias/truth, spread/truth)\n", "");
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++) {
        if (!res.resamplings[e]) continue;
        printf("%-14s %6d", hd_toy_estimator_name((hd_toy_estimator)e), res.resamplings[e]);
        for (int i = 0; i < HD_TOY_STATS; i++) printf("  %+7.3f %7.3f", res.bias_rel[e][i], res.spread_rel[e][i]);
        printf("\n");
    }
    printf("tail1..3: P(x1 + x2 > t) for t = %g, %g, %g; took %.0f s\n", o.cut, 2 * o.cut, 3 * o.cut, res.seconds);
    printf("wrote %s/{summary.csv, metrics.json, density_*.png, bias.png, spread.png}\n", o.out_dir);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_toy, NULL};

const cli_command cmd_study = {
    .name = "study",
    .summary = "what a generative model can know beyond its training sample: the seed's studies",
    .usage = "study <toy-lognormal> [options]",
    .subcommands = subcommands,
};
