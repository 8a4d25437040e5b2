/* hadron study: the statistical studies of seed 001 (docs/studies.md). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int toy(int argc, char **argv);
static int decompose(int argc, char **argv);
static int enforce(int argc, char **argv);
static int amplify(int argc, char **argv);

static const cli_command cmd_toy = {
    .name = "study toy-lognormal",
    .summary = "the seed's toy: x1 + x2 of two log-normals from 1K training events, six estimators against the "
               "exact truth",
    .usage = "study toy-lognormal [--out DIR] [options]",
    .run = toy,
};

static const cli_command cmd_decompose = {
    .name = "study decompose",
    .summary = "events of 50 showers built particle by particle from a library, against whole training events",
    .usage = "study decompose [--out DIR] [options]",
    .run = decompose,
};

static const cli_command cmd_enforce = {
    .name = "study enforce",
    .summary = "a GAN trained with and without enforced statistics: what they gain, and the validation they cost",
    .usage = "study enforce [--out DIR] [options]",
    .run = enforce,
};

static const cli_command cmd_amplify = {
    .name = "study amplify",
    .summary = "how many simulated showers a generated shower is worth, against the training sample's size",
    .usage = "study amplify [--out DIR] [options]",
    .run = amplify,
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

static int decompose(int argc, char **argv)
{
    hd_decompose_opts o = hd_decompose_opts_default();
    o.out_dir = "out/study-decompose";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        {"energy", FLAG_CUSTOM, &o.energy, "energy of each particle", &cli_energy, NULL, 0, NULL},
        CLI_INT("particles", &o.particles, "particles per event"),
        CLI_I64("n-train", &o.n_train, "simulated showers in a training sample"),
        CLI_INT("resamplings", &o.resamplings, "training samples"),
        CLI_I64("n-events", &o.n_events, "events the per-particle library builds per training sample"),
        CLI_I64("n-pool", &o.n_pool, "simulated showers behind the truth"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_decompose, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_decompose_check(&o) != HD_OK) return cli_refuse(&cmd_decompose);
    if (cli_start(&r)) return 1;
    hd_progress bar = {0};
    o.on_stage = cli_stage_above;
    o.on_progress = on_progress;
    o.user = &bar;
    hd_progress_begin(&bar, "decompose", 1);
    hd_decompose_result res;
    rc = hd_decompose_run(&o, &res);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_decompose);
    printf("events of %d particles of %g GeV; %lld showers a training sample (%lld whole events), %d samples\n",
           o.particles, o.energy / 1000, (long long)o.n_train, (long long)(o.n_train / o.particles), o.resamplings);
    printf("%-9s %14s", "method", "distinct");
    for (int i = 0; i < HD_DECOMPOSE_STATS; i++) printf(" %22s", hd_decompose_stat_name(i));
    printf("\n%-9s %14s", "truth", "");
    for (int i = 0; i < HD_DECOMPOSE_STATS; i++) printf(" %22.5g", res.truth[i]);
    printf("\n%-24s (bias/truth, spread/truth, independent events worth)\n", "");
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
        printf("%-9s %11s%.0f", hd_decompose_method_name((hd_decompose_method)m), "10^", res.log10_distinct[m]);
        for (int i = 0; i < HD_DECOMPOSE_STATS; i++)
            printf("  %+7.4f %6.4f %6.0f", res.bias_rel[m][i], res.spread_rel[m][i], res.n_equiv[m][i]);
        printf("\n");
    }
    printf("two particle-built events share %.2f showers on average; took %.0f s\n", res.shared_showers, res.seconds);
    printf("wrote %s/{summary.csv, metrics.json, density_particle.png, density_event.png}\n", o.out_dir);
    return 0;
}

static void on_epoch(void *user, const hd_gen_epoch *e)
{
    hd_progress *bar = user;
    char status[64];
    snprintf(status, sizeof status, "epoch %d", e->epoch);
    hd_progress_update(bar, e->epoch, status);
}

static int enforce(int argc, char **argv)
{
    hd_enforce_opts o = hd_enforce_opts_default();
    o.out_dir = "out/study-enforce";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_ENUM("model", &o.model, cli_gen_models, "wgan-gp or cramer"),
        CLI_CUSTOM("enforce", &o.enforce, &cli_enforce, "statistics the second run adds to the generator's loss"),
        CLI_I64("n-train", &o.n_train, "simulated training showers"),
        CLI_I64("n-heldout", &o.n_heldout, "simulated held-out showers"),
        CLI_INT("epochs", &o.epochs, "epochs of each training"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_enforce, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_enforce_check(&o) != HD_OK) return cli_refuse(&cmd_enforce);
    if (cli_start(&r)) return 1;
    hd_progress bar = {0};
    o.on_stage = cli_stage_above;
    o.on_epoch = on_epoch;
    o.user = &bar;
    hd_progress_begin(&bar, "enforce", o.epochs);
    hd_enforce_result res;
    rc = hd_enforce_run(&o, &res);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_enforce);
    printf("%s, %lld training showers, %d epochs; mismatch sqrt(dmean^2 + dstd^2) in units of the simulator's spread\n",
           hd_gen_model_name(o.model), (long long)o.n_train, o.epochs);
    printf("%-16s %8s %14s %14s %14s %14s\n", "statistic", "floor", "free held-out", "enf. held-out", "free train",
           "enf. train");
    for (int i = 0; i < HD_SHOWER_STATS; i++)
        printf("%-16s %8.4f %14.4f %14.4f %14.4f %14.4f\n", hd_shower_stat_name(i), res.floor[i], res.heldout[0][i],
               res.heldout[1][i], res.train[0][i], res.train[1][i]);
    printf("trained in %.0f s and %.0f s; wrote %s/{summary.csv, metrics.json, free/, enforced/}\n", res.seconds[0],
           res.seconds[1], o.out_dir);
    return 0;
}

/* --models gmm,library,... as bits 1 << hd_gen_model */
static int parse_models(const char *text, void *dst)
{
    unsigned bits = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (cli_gen_models[k].name && !(strlen(cli_gen_models[k].name) == n && strncmp(p, cli_gen_models[k].name, n) == 0)) k++;
        if (!cli_gen_models[k].name) return 1;
        bits |= 1u << cli_gen_models[k].value;
        p += n + (p[n] == ',');
    }
    if (!bits) return 1;
    *(unsigned *)dst = bits;
    return 0;
}

static void print_models(FILE *f, const void *src)
{
    unsigned b = *(const unsigned *)src;
    for (int k = 0, first = 1; cli_gen_models[k].name; k++)
        if (b & (1u << cli_gen_models[k].value)) {
            fprintf(f, "%s%s", first ? "" : ",", cli_gen_models[k].name);
            first = 0;
        }
}

static const cli_custom model_list = {parse_models, print_models, "LIST",
                                      "list of models (wgan-gp, cramer, vae, gmm, library, mdn)"};

static int amplify(int argc, char **argv)
{
    hd_amplify_opts o = hd_amplify_opts_default();
    o.out_dir = "out/study-amplify";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_CUSTOM("models", &o.models, &model_list, "the generators judged"),
        CLI_I64_LIST("sizes", o.sizes, &o.n_sizes, "training sample sizes, increasing"),
        CLI_I64("n-truth", &o.n_truth, "simulated showers of the truth (their energies condition the models)"),
        CLI_INT("steps", &o.steps, "steps of each network at batch 128 (a GAN's: critic steps)"),
        CLI_INT("bins", &o.bins, "quantile bins of the truth per observable"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_amplify, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_amplify_check(&o) != HD_OK) return cli_refuse(&cmd_amplify);
    if (cli_start(&r)) return 1;
    hd_progress bar = {0};
    o.on_stage = cli_stage_above;
    o.user = &bar;
    hd_progress_begin(&bar, "amplify", 1);
    hd_amplify_result res;
    rc = hd_amplify_run(&o, &res);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_amplify);
    printf("amplification n_equiv / N (quantile-binned error, %d bins, truth %lld showers)\n", o.bins,
           (long long)o.n_truth);
    printf("%-16s %8s", "model", "N");
    for (int k = 0; k < HD_SHOWER_STATS; k++) printf(" %16s", hd_shower_stat_name(k));
    printf(" %10s\n", "train s");
    for (int m = HD_AMPLIFY_SAMPLE; m >= 0; m--) {
        if (m < HD_AMPLIFY_SAMPLE && !(o.models & (1u << m))) continue;
        for (int i = 0; i < o.n_sizes; i++) {
            printf("%-16s %8lld", m == HD_AMPLIFY_SAMPLE ? "training sample" : hd_gen_model_name((hd_gen_model)m),
                   (long long)o.sizes[i]);
            for (int k = 0; k < HD_SHOWER_STATS; k++) printf(" %16.3g", res.n_equiv[m][i][k] / (double)o.sizes[i]);
            if (m < HD_AMPLIFY_SAMPLE) printf(" %10.1f", res.train_seconds[m][i]);
            printf("\n");
        }
    }
    printf("took %.0f s; wrote %s/{metrics.json, n_equiv_*.csv, n_equiv_*.png, <model>_<N>/}\n", res.seconds, o.out_dir);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_toy, &cmd_decompose, &cmd_enforce, &cmd_amplify, NULL};

const cli_command cmd_study = {
    .name = "study",
    .summary = "what a generative model can know beyond its training sample: the seed's studies",
    .usage = "study <toy-lognormal|decompose|enforce|amplify> [options]",
    .subcommands = subcommands,
};
