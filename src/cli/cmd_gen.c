/* hadron gen: conditional generative models of calorimeter showers. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const cli_choice cli_gen_models[] = {{"wgan-gp", HD_GEN_WGAN_GP}, {"cramer", HD_GEN_CRAMER}, {"vae", HD_GEN_VAE},
                                    {"gmm", HD_GEN_GMM}, {"library", HD_GEN_LIBRARY}, {"mdn", HD_GEN_MDN},
                                    {NULL, 0}};
static const cli_choice preps[] = {{"log", HD_PREP_LOG}, {"frac", HD_PREP_FRAC}, {NULL, 0}};
static const cli_choice covs[] = {{"full", HD_GMM_FULL}, {"diag", HD_GMM_DIAG}, {NULL, 0}};
_Static_assert(sizeof(hd_gen_model) == sizeof(int) && sizeof(hd_prep_kind) == sizeof(int) &&
               sizeof(hd_gmm_cov) == sizeof(int), "int-sized enums");

/* --enforce energy,layers (or none) */
static int parse_enforce(const char *text, void *dst)
{
    unsigned bits = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 6 && strncmp(p, "energy", 6) == 0) bits |= HD_GEN_ENFORCE_ENERGY;
        else if (n == 6 && strncmp(p, "layers", 6) == 0) bits |= HD_GEN_ENFORCE_LAYERS;
        else if (n == 5 && strncmp(p, "width", 5) == 0) bits |= HD_GEN_ENFORCE_WIDTH;
        else if (!(n == 4 && strncmp(p, "none", 4) == 0)) return 1;
        p += n + (p[n] == ',');
    }
    *(unsigned *)dst = bits;
    return 0;
}

static void print_enforce(FILE *f, const void *src)
{
    static const char *const names[3] = {"energy", "layers", "width"};
    unsigned b = *(const unsigned *)src;
    if (!b) fprintf(f, "none");
    for (int i = 0, first = 1; i < 3; i++)
        if (b & (1u << i)) {
            fprintf(f, "%s%s", first ? "" : ",", names[i]);
            first = 0;
        }
}

const cli_custom cli_enforce = {parse_enforce, print_enforce, "LIST",
                                   "list of statistics (energy, layers, width, none)"};

typedef struct { hd_progress bar; const hd_gen_opts *o; } train_ui;

static void on_epoch(void *user, const hd_gen_epoch *e)
{
    train_ui *ui = user;
    char status[96];
    snprintf(status, sizeof status, "epoch %d/%d", e->epoch, ui->o->epochs);
    hd_progress_update(&ui->bar, e->epoch, status);
    if (ui->o->model == HD_GEN_MDN)
        cli_print_above(&ui->bar, "epoch %4d  NLL training %.2f  held-out %.2f  %.1f s\n", e->epoch, e->gen_loss,
                        e->extra, e->seconds);
    else if (ui->o->model == HD_GEN_VAE)
        cli_print_above(&ui->bar, "epoch %4d  loss %.2f  KL %.2f  held-out ELBO %.2f  %.1f s\n", e->epoch,
                        e->gen_loss, e->critic_loss, e->extra, e->seconds);
    else
        cli_print_above(&ui->bar, "epoch %4d  critic %.4f  generator %.4f  %s %.4f  %.1f s\n", e->epoch,
                        e->critic_loss, e->gen_loss, ui->o->model == HD_GEN_CRAMER ? "energy distance" : "W1 estimate",
                        e->extra, e->seconds);
}

static int train(int argc, char **argv);
static int sample(int argc, char **argv);

static const cli_command cmd_train = {
    .name = "gen train",
    .summary = "train a conditional generator of calorimeter showers and judge it on held-out showers",
    .usage = "gen train --model wgan-gp|cramer|vae|gmm|library|mdn --data FILE.h5 [--out DIR] [options]",
    .run = train,
};
static const cli_command cmd_sample = {
    .name = "gen sample",
    .summary = "showers from a trained generator, in the layout calo-eval reads",
    .usage = "gen sample --model DIR/checkpoint.safetensors --n N --out FILE.h5 [options]",
    .run = sample,
};

static void print_scores(const char *what, const hd_calo_scores *s)
{
    printf("%-9s AUC voxels %.4f +- %.4f, high-level %.4f +- %.4f; FPD %.4g +- %.2g, KPD %.3g +- %.2g; "
           "separation max %.4f\n", what, s->auc_low, s->auc_low_err, s->auc_high, s->auc_high_err, s->fpd, s->fpd_err,
           s->kpd, s->kpd_err, s->separation_max);
}

/* The model named on the command line, before the table is built: its
 * defaults are the table's (and --help's). */
static hd_gen_model model_of(int argc, char **argv)
{
    hd_gen_model m = HD_GEN_WGAN_GP;
    for (int i = 1; i < argc; i++) {
        const char *v = strncmp(argv[i], "--model=", 8) == 0 ? argv[i] + 8
                        : strcmp(argv[i], "--model") == 0 && i + 1 < argc ? argv[i + 1] : NULL;
        for (int k = 0; v && cli_gen_models[k].name; k++)
            if (strcmp(v, cli_gen_models[k].name) == 0) m = (hd_gen_model)cli_gen_models[k].value;
    }
    return m;
}

static int train(int argc, char **argv)
{
    hd_gen_opts o = hd_gen_opts_default(model_of(argc, argv));
    o.out_dir = "out/gen";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_train t = {.epochs = &o.epochs, .epochs_help = "passes of the critic (vae, mdn: the networks) over the data, in all",
                   .batch = &o.batch, .checkpoint_every = &o.checkpoint_every, .resume = &o.resume};
    cli_optim og = {.o = &o.optim_gen, .heading = "generator (decoder) optimiser"};
    cli_optim oc = {.o = &o.optim_critic, .suffix = "-critic", .heading = "critic (encoder) optimiser"};
    int no_eval = 0, no_norm = 0;
    cli_flag flags[] = {
        CLI_ENUM("model", &o.model, cli_gen_models,
                 "wgan-gp, cramer, vae, gmm (the baseline), library or mdn (two-stage mixture density network)"),
        CLI_STRING("data", &o.data, "training showers (.h5 or .npz of hadron sim calo, CaloChallenge layout)"),
        CLI_STRING("heldout", &o.heldout, "held-out showers for the evaluation (default: the last --heldout-fraction of --data)"),
        CLI_DOUBLE("heldout-fraction", &o.heldout_fraction, "of --data kept out of training for the evaluation"),
        CLI_I64("max-showers", &o.max_showers, "read the first N showers of --data (0: all)"),
        CLI_ENUM("transform", &o.prep.kind, preps, "voxel features: log of the energy fraction, or the fraction"),
        CLI_FLOAT("threshold", &o.prep.threshold, "generated voxels below it are 0, MeV"),
        CLI_I64("latent", &o.latent, "latent dimensions"),
        CLI_I64_LIST("gen-layers", o.gen_layers.hidden, &o.gen_layers.n_hidden,
                     "generator (decoder; mdn: voxel net) hidden sizes"),
        CLI_I64_LIST("energy-layers", o.energy_layers.hidden, &o.energy_layers.n_hidden, "mdn: energy net hidden sizes"),
        CLI_INT("mdn-k", &o.mdn_k, "mdn: Gaussian components of every drawn value"),
        CLI_I64_LIST("critic-layers", o.critic_layers.hidden, &o.critic_layers.n_hidden, "critic (encoder) hidden sizes"),
        CLI_INT("n-critic", &o.n_critic, "critic steps per generator step"),
        CLI_BOOL("critic-no-norm", &no_norm, "no layer norm after the dense critic's hidden layers"),
        CLI_FLOAT("gp-lambda", &o.gp_lambda, "gradient-penalty weight"),
        CLI_I64("cramer-dim", &o.cramer_dim, "cramer: size of the critic's output h(x)"),
        CLI_FLOAT("kl-weight", &o.kl_weight, "vae: weight of the KL term (beta)"),
        CLI_CUSTOM("enforce", &o.enforce, &cli_enforce, "statistics added to the generator's loss"),
        CLI_FLOAT("enforce-weight", &o.enforce_weight, "weight of the enforced statistics"),
        CLI_INT("library-k", &o.library_k, "library: neighbours mixed (1: the nearest shower)"),
        CLI_INT("gmm-k", &o.gmm_k, "gmm: components"),
        CLI_ENUM("gmm-cov", &o.gmm_cov, covs, "gmm: covariance"),
        CLI_I64("pca-k", &o.pca_k, "gmm: principal components of the voxel features"),
        CLI_BOOL("no-eval", &no_eval, "skip the evaluation after training"),
        CLI_I64("eval-showers", &o.eval_showers, "held-out showers evaluated (0: all)"),
        CLI_INT("eval-epochs", &o.eval_epochs, "epochs of calo-eval's classifiers"),
        cli_train_flags(&t),
        cli_run_flags(&r),
        cli_optim_flags(&og),
        cli_optim_flags(&oc),
    };
    int rc = CLI_PARSE(&cmd_train, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    o.evaluate = !no_eval;
    o.critic_norm = !no_norm;
    if (!o.data) {
        fprintf(stderr, "hadron gen train: --data FILE is required (hadron sim calo makes one)\n");
        return 2;
    }
    if (hd_gen_check(&o) != HD_OK) return cli_refuse(&cmd_train);
    if (cli_start(&r)) return 1;
    printf("gen: %s on %s%s -> %s\n", hd_gen_model_name(o.model), o.data, o.resume ? " (resuming)" : "", o.out_dir);
    train_ui ui = {.o = &o};
    o.on_epoch = on_epoch;
    o.on_stage = cli_stage_above;
    o.user = &ui;
    hd_progress_begin(&ui.bar, "gen", o.model <= HD_GEN_VAE || o.model == HD_GEN_MDN ? o.epochs : 1);
    hd_gen_result res;
    rc = hd_gen_train(&o, &res);
    hd_progress_end(&ui.bar);
    if (rc != HD_OK) return cli_fail(&cmd_train);
    printf("%lld training and %lld held-out showers; trained in %.1f s", (long long)res.n_train,
           (long long)res.n_heldout, res.train_seconds);
    if (!isnan(res.heldout_elbo)) printf("; held-out ELBO %.2f nats a shower", res.heldout_elbo);
    if (!isnan(res.heldout_nll)) printf("; held-out NLL %.2f nats a shower", res.heldout_nll);
    printf("\n");
    if (res.evaluated) {
        printf("sampling %.0f showers/s; W1 of E_tot/E_inc %.4g\n", res.sample_rate, res.w1_energy);
        print_scores("generated", &res.eval.model);
        print_scores("floor", &res.eval.floor);
        printf("wrote %s/{checkpoint.safetensors, metrics.json, showers.png, heldout.h5, generated.h5, eval/}\n", o.out_dir);
    } else {
        printf("wrote %s/{checkpoint.safetensors, metrics.json}\n", o.out_dir);
    }
    return 0;
}

static int sample(int argc, char **argv)
{
    hd_gen_sample_opts o = hd_gen_sample_opts_default();
    o.out = "out/gen-samples.h5";
    cli_run r = {.out = &o.out, .out_is_file = 1, .out_help = "output file (.h5 or .npz)", .seed = &o.seed};
    cli_flag flags[] = {
        CLI_STRING("model", &o.model, "checkpoint.safetensors of hadron gen train"),
        CLI_I64("n", &o.n, "showers"),
        CLI_STRING("conditions", &o.conditions, "take the conditions from this shower file's rows (cycled)"),
        {"e-min", FLAG_CUSTOM, &o.e_min, "lowest incident energy (log-uniform)", &cli_energy, NULL, 0,
         "the training range's"},
        {"e-max", FLAG_CUSTOM, &o.e_max, "highest incident energy", &cli_energy, NULL, 0, "the training range's"},
        CLI_BOOL("extrapolate", &o.extrapolate, "allow conditions outside the training range"),
        CLI_STRING("noise", &o.noise, "use these standard normals (.npy of N x the model's noise dimension)"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_sample, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.model) {
        fprintf(stderr, "hadron gen sample: --model CHECKPOINT is required (made by hadron gen train)\n");
        return 2;
    }
    if (cli_start(&r)) return 1;
    if (hd_gen_sample(&o) != HD_OK) {
        if (strstr(hd_last_error(), "outside the training range"))
            fprintf(stderr, "hadron gen sample: %s (--extrapolate to generate there anyway)\n", hd_last_error());
        else
            return cli_fail(&cmd_sample);
        return 1;
    }
    printf("wrote %lld showers to %s (%.0f showers/s)\n", (long long)o.n, o.out, (double)o.n / o.seconds);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_train, &cmd_sample, NULL};

const cli_command cmd_gen = {
    .name = "gen",
    .summary = "generative models of calorimeter showers: train, sample",
    .usage = "gen <train|sample> [options]",
    .subcommands = subcommands,
};
