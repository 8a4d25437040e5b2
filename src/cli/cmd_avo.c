/* hadron avo: adversarial variational optimisation of a simulator's
 * parameters (seed 000): any simulator of the registry (sim.h), e.g. the
 * spherical tracker's offset or the Weinberg model's beam energy and
 * coupling. */
#include "cli.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(hd_avo_loss) == sizeof(int), "FLAG_ENUM writes an int");

typedef struct { hd_progress bar; int every, k; const char *const *names; } avo_ui;

static void on_iteration(void *user, int it, const double *mean, const double *width, double d_loss, double p_loss)
{
    avo_ui *ui = user;
    char status[160] = "";
    for (int j = 0; j < ui->k; j++)
        snprintf(status + strlen(status), sizeof status - strlen(status), "%s%s %.4g +- %.3g", j ? ", " : "",
                 ui->names[j], mean[j], width[j]);
    if (it == 1 || it % ui->every == 0)
        cli_print_above(&ui->bar, "iteration %4d  %s  D loss %.4f  proposal loss %.4g\n", it, status, d_loss, p_loss);
    hd_progress_update(&ui->bar, it, status);
}

static const cli_choice losses[] = {{"bce", HD_AVO_BCE}, {"wasserstein", HD_AVO_WASSERSTEIN}, {NULL, 0}};

/* "tracker 0, weinberg 45,1": a field of every simulator (the doubles at
 * `offset` in its entry; gamma: one). */
static const char *per_simulator(size_t offset, int one, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < hd_sim_count() && used < size; i++) {
        const hd_sim_entry *e = hd_sim_get(i);
        const double *v = (const double *)((const char *)e + offset);
        used += (size_t)snprintf(buf + used, size - used, "%s%s ", i ? ", " : "", e->name);
        for (int k = 0; k < (one ? 1 : e->n_params) && used < size; k++)
            used += (size_t)snprintf(buf + used, size - used, "%s%g", k ? "," : "", v[k]);
    }
    return buf;
}

enum { MAX_SIMS = 16 };

/* The choices of --simulator (room for MAX_SIMS) and its help, from the registry. */
static void simulator_choices(cli_choice *c, char *help, size_t size)
{
    int n = hd_sim_count() < MAX_SIMS ? hd_sim_count() : MAX_SIMS;
    size_t used = (size_t)snprintf(help, size, "the simulator to tune");
    for (int i = 0; i < n; i++) {
        c[i] = (cli_choice){hd_sim_get(i)->name, i};
        if (used < size)
            used += (size_t)snprintf(help + used, size - used, "\n  %s: %s", c[i].name, hd_sim_get(i)->description);
    }
    if (used < size) snprintf(help + used, size - used, "\n");
    c[n] = (cli_choice){NULL, 0};
}

/* A list flag gives a value per parameter or none. */
static int check_count(const char *flag, int n, const hd_sim_entry *e)
{
    if (n == 0 || n == e->n_params) return 0;
    char names[128] = "";
    for (int k = 0; k < e->n_params; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", e->param_names[k]);
    fprintf(stderr, "hadron avo: --%s: %d number%s for the %s simulator's %d parameter%s (%s)\n", flag, n,
            n == 1 ? "" : "s", e->name, e->n_params, e->n_params == 1 ? "" : "s", names);
    return 2;
}

static void print_result(const hd_avo_opts *o, const hd_avo_result *r)
{
    const hd_simulator *s = o->sim;
    for (int j = 0; j < s->n_params; j++) {
        printf("%s: %.4f +- %.4f", s->param_names[j], r->mean[j], r->width[j]);
        if (o->truth) printf("  (truth %.4g)", o->truth[j]);
        printf("\n");
    }
    if (s->derived) {
        printf("%s = %.4f (mean over the proposal)", s->derived_name, r->derived);
        if (o->truth) printf("  (truth %.4f)", s->derived(o->truth));
        printf("\n");
    }
    printf("%d iterations in %.1f s\nwrote %s/{history.csv, metrics.json, convergence_*.png, %s}\n", r->iterations,
           r->seconds, o->out_dir, s->obs_ndim == 3 ? "images.png" : "hist.png");
}

/* The summary, the run and the result; 0, or a message and 1. */
static int tune(hd_avo_opts *o, const char *observed_path, const char *events_path)
{
    const hd_simulator *s = o->sim;
    if (hd_sim_pool_events(s))
        printf("avo: %lld events from %s, drawn with replacement\n", (long long)hd_sim_pool_events(s), events_path);
    printf("avo: %s simulator, %lld observed (%s), %d iterations -> %s\n", s->name, (long long)o->n_observed,
           observed_path ? observed_path : "simulated at --truth", o->iterations, o->out_dir);
    avo_ui ui = {.every = o->iterations >= 16 ? o->iterations / 16 : 1, .k = s->n_params, .names = s->param_names};
    o->on_iteration = on_iteration;
    o->on_stage = cli_stage_above;
    o->user = &ui;
    hd_progress_begin(&ui.bar, "avo", o->iterations);
    hd_avo_result r;
    int rc = hd_avo_run(o, &r);
    hd_progress_end(&ui.bar);
    if (rc != HD_OK) return cli_fail(&cmd_avo);
    print_result(o, &r);
    return 0;
}

static int run(int argc, char **argv)
{
    hd_avo_opts o = hd_avo_opts_default(NULL);
    o.out_dir = "out/avo";
    hd_sim_setup setup = hd_sim_setup_default();
    int sim = 0, bins = setup.tracker.n_eta, no_baseline = 0, n_truth = 0, n_mean = 0, n_width = 0;
    double radius = setup.tracker.r_min, truth[HD_SIM_MAX_PARAMS];
    float gamma = NAN;
    const char *observed_path = NULL;
    cli_choice sims[MAX_SIMS + 1];
    char sim_help[512], truths[128], truth_help[160], mean_dflt[128], width_dflt[128], gamma_dflt[128];
    simulator_choices(sims, sim_help, sizeof sim_help);
    snprintf(truth_help, sizeof truth_help, "parameters to simulate the observed data at (e.g. %s)",
             per_simulator(offsetof(hd_sim_entry, truth), 0, truths, sizeof truths));
    per_simulator(offsetof(hd_sim_entry, start_mean), 0, mean_dflt, sizeof mean_dflt);
    per_simulator(offsetof(hd_sim_entry, start_width), 0, width_dflt, sizeof width_dflt);
    per_simulator(offsetof(hd_sim_entry, gamma), 1, gamma_dflt, sizeof gamma_dflt);
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_optim disc = {.o = &o.optim_disc, .suffix = "-disc", .heading = "discriminator optimiser"};
    cli_optim proposal = {.o = &o.optim_proposal, .suffix = "-proposal", .heading = "proposal optimiser"};
    cli_flag flags[] = {
        CLI_ENUM("simulator", &sim, sims, sim_help),
        CLI_F64_LIST("truth", truth, &n_truth, truth_help),
        CLI_STRING("observed", &observed_path, "observed data instead: .npy of shape (N, observation shape)"),
        CLI_I64("n-observed", &o.n_observed, "observations simulated at --truth"),
        {"start-mean", FLAG_F64_LIST, o.mean0, "proposal start means", .count = &n_mean, .n = HD_SIM_MAX_PARAMS,
         .dflt = mean_dflt},
        {"start-width", FLAG_F64_LIST, o.width0, "proposal start widths", .count = &n_width, .n = HD_SIM_MAX_PARAMS,
         .dflt = width_dflt},
        CLI_INT("iterations", &o.iterations, "AVO iterations"),
        CLI_ENUM("loss", &o.loss, losses, "the seed's binary cross-entropy, or a critic"),
        CLI_FLOAT("r1", &o.r1, "R1 gradient penalty weight on observed data (0: off)"),
        {"gamma", FLAG_FLOAT, &gamma, "entropy regularisation of the proposal", .dflt = gamma_dflt},
        CLI_BOOL("no-baseline", &no_baseline, "no mean-reward baseline in the score-function gradient"),
        CLI_I64("per-draw", &o.per_draw, "observations simulated per parameter draw"),
        CLI_I64("disc-samples", &o.disc_samples, "simulated observations per discriminator epoch"),
        CLI_I64("pretrain-samples", &o.pretrain_samples, "simulated observations for pre-training (0: none)"),
        CLI_INT("pretrain-epochs", &o.pretrain_epochs, "discriminator pre-training epochs"),
        CLI_I64("proposal-draws", &o.proposal_draws, "parameter draws per proposal step"),
        CLI_I64("batch", &o.batch, "discriminator batch (half simulated, half observed)"),
        CLI_I64("hidden", &o.disc_hidden, "vector data: width of the MLP discriminator's two hidden layers"),
        CLI_STRING("events", &setup.events, "tracker: events from a HepMC3 file instead of the built-in generator"),
        CLI_I64("max-events", &setup.max_events, "tracker: read at most this many events of --events (0: all)"),
        CLI_INT("bins", &bins, "tracker: eta and phi bins"),
        CLI_DOUBLE("eta-max", &setup.tracker.eta_max, "tracker: eta range +-eta_max"),
        CLI_DOUBLE("radius", &radius, "tracker: sphere radius, mm"),
        CLI_DOUBLE("offset-max", &setup.offset_max, "tracker: offsets are clamped to +-offset_max mm"),
        CLI_BOOL("binary", &setup.tracker.binary, "tracker: 1 per hit cell instead of the deposited energy"),
        cli_run_flags(&r),
        cli_optim_flags(&disc),
        cli_optim_flags(&proposal),
    };
    int rc = CLI_PARSE(&cmd_avo, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    const hd_sim_entry *e = hd_sim_get(sim);
    if (!n_truth && !observed_path) {
        fprintf(stderr, "hadron avo: give --observed FILE.npy or --truth (observed data simulated there)\n");
        return 2;
    }
    if ((rc = check_count("truth", n_truth, e)) || (rc = check_count("start-mean", n_mean, e)) ||
        (rc = check_count("start-width", n_width, e)))
        return rc;
    for (int k = 0; k < e->n_params; k++) {
        if (!n_mean) o.mean0[k] = e->start_mean[k];
        if (!n_width) o.width0[k] = e->start_width[k];
    }
    o.truth = n_truth ? truth : NULL;
    o.gamma = isnan(gamma) ? (float)e->gamma : gamma;
    o.baseline = !no_baseline;
    setup.seed = o.seed;
    setup.tracker.n_eta = setup.tracker.n_phi = bins;
    setup.tracker.r_min = setup.tracker.r_max = radius;
    hd_simulator *s = e->make(&setup);
    float *observed = NULL;
    if (!s || (observed_path && hd_avo_read_observed(observed_path, s, &observed, &o.n_observed) != HD_OK)) {
        rc = cli_fail(&cmd_avo);
        hd_simulator_free(s);
        return rc;
    }
    o.sim = s;
    o.observed = observed;
    if (hd_avo_check(&o) != HD_OK) rc = cli_refuse(&cmd_avo);
    else if (cli_start(&r)) rc = 1;
    else rc = tune(&o, observed_path, setup.events);
    hd_free(observed);
    hd_simulator_free(s);
    return rc;
}

const cli_command cmd_avo = {
    .name = "avo",
    .summary = "tune a simulator's parameters to data: adversarial variational optimisation",
    .usage = "avo [--simulator NAME] (--truth V | --observed FILE.npy) [--out DIR] [options]",
    .run = run,
};
