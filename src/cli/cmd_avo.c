/* hadron avo: adversarial variational optimisation of a simulator's
 * parameters (seed 000): the spherical tracker's offset, or the Weinberg
 * model's beam energy and coupling. */
#include "cli.h"
#include "hadron/hadron.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "a,b,..." into exactly n numbers; 0, or a message and 2. */
static int parse_list(const char *flag, const char *text, int n, double *out)
{
    const char *s = text;
    for (int k = 0; k < n; k++) {
        char *end;
        errno = 0;
        out[k] = strtod(s, &end);
        if (end == s || errno || !isfinite(out[k]) || (*end != (k + 1 < n ? ',' : '\0'))) {
            fprintf(stderr, "hadron avo: --%s '%s': need %d comma-separated finite number%s\n", flag, text, n,
                    n > 1 ? "s" : "");
            return 2;
        }
        s = end + 1;
    }
    return 0;
}

/* Observed data from a .npy of shape (N, obs...) matching the simulator. */
static int read_observed(const char *path, const hd_simulator *s, hd_array *a, float **x, int64_t *n)
{
    if (hd_npy_read(path, a) != HD_OK) {
        fprintf(stderr, "hadron avo: %s\n", hd_last_error());
        return 1;
    }
    int64_t size = hd_simulator_obs_size(s), rows = a->ndim ? a->shape[0] : 0;
    /* (N, obs...) exactly, or (N,) for scalar observations */
    int ok = a->ndim >= 1 && rows >= 2 && (a->dtype == HD_F32 || a->dtype == HD_F64) &&
             hd_array_numel(a) == rows * size && (a->ndim == 1 || a->ndim - 1 == s->obs_ndim);
    for (int i = 1; ok && i < a->ndim; i++) ok = a->shape[i] == s->obs_shape[i - 1];
    if (!ok) {
        char want[64] = "";
        for (int i = 0; i < s->obs_ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), ", %lld", (long long)s->obs_shape[i]);
        fprintf(stderr, "hadron avo: %s: the %s simulator needs float32 or float64 of shape (N%s), N >= 2\n", path,
                s->name, want);
        return 1;
    }
    *x = malloc((size_t)(rows * size) * sizeof **x);
    if (!*x) {
        fprintf(stderr, "hadron avo: out of memory for %s\n", path);
        return 1;
    }
    hd_array_to_f32(a, *x);
    for (int64_t i = 0; i < rows * size; i++)
        if (!isfinite((*x)[i])) {
            fprintf(stderr, "hadron avo: %s: entry %lld (row %lld) is %g: observations must be finite\n", path,
                    (long long)i, (long long)(i / size), (double)(*x)[i]);
            return 1;
        }
    *n = rows;
    return 0;
}

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

static void on_stage(void *user, const char *what)
{
    avo_ui *ui = user;
    cli_print_above(&ui->bar, "%s ...\n", what);
}

static double weinberg_c(const double *theta) { return hd_weinberg_c(theta[0], theta[1]); }

typedef struct {
    const char *simulator, *truth, *observed, *events, *start_mean, *start_width, *loss;
    int bins, binary, threads, no_baseline;
    float eta_max, radius, offset_max;
    int64_t max_events;
} avo_args;

/* The simulator and what goes with it: the event source, plot labels. */
static hd_simulator *make_simulator(const avo_args *a, hd_avo_opts *o, hd_eeqq_opts *gen, hd_event_pool **pool)
{
    if (strcmp(a->simulator, "weinberg") == 0) {
        hd_simulator *s = hd_weinberg_new();
        o->obs_label = "cos A";
        o->derived_name = "c";
        o->derived = weinberg_c;
        return s;
    }
    hd_tracker_opts t = hd_tracker_opts_default();
    t.n_eta = t.n_phi = a->bins;
    t.eta_max = a->eta_max;
    t.r_min = t.r_max = a->radius;
    t.binary = a->binary;
    hd_event_source src = hd_eeqq_source(gen);
    if (a->events) {
        if (hd_event_pool_read(a->events, a->max_events, pool) != HD_OK) return NULL;
        src = hd_event_pool_source(*pool);
        printf("avo: %lld events from %s, drawn with replacement\n", (long long)hd_event_pool_size(*pool), a->events);
    }
    o->obs_label = "phi|eta";
    o->image_extent[0] = 0;
    o->image_extent[1] = 2 * HD_PI;
    o->image_extent[2] = -a->eta_max;
    o->image_extent[3] = a->eta_max;
    return hd_tracker_sim_new(&t, src, -a->offset_max, a->offset_max);
}

static int configure(const avo_args *a, hd_avo_opts *o, double *truth, double *mean0, double *width0)
{
    int k = o->sim->n_params, rc;
    if (a->truth && (rc = parse_list("truth", a->truth, k, truth))) return rc;
    if (a->start_mean && (rc = parse_list("start-mean", a->start_mean, k, mean0))) return rc;
    if (a->start_width && (rc = parse_list("start-width", a->start_width, k, width0))) return rc;
    for (int j = 0; j < k; j++) {
        o->mean0[j] = mean0[j];
        o->width0[j] = width0[j];
    }
    if (a->truth) o->truth = truth;
    o->baseline = !a->no_baseline;
    if (strcmp(a->loss, "bce") == 0) o->loss = HD_AVO_BCE;
    else if (strcmp(a->loss, "wasserstein") == 0) o->loss = HD_AVO_WASSERSTEIN;
    else {
        fprintf(stderr, "hadron avo: --loss '%s': bce or wasserstein\n", a->loss);
        return 2;
    }
    if (!a->truth && !a->observed) {
        fprintf(stderr, "hadron avo: give --observed FILE.npy or --truth (observed data simulated there)\n");
        return 2;
    }
    return 0;
}

static void print_result(const hd_avo_opts *o, const hd_avo_result *r)
{
    for (int j = 0; j < o->sim->n_params; j++) {
        printf("%s: %.4f +- %.4f", o->sim->param_names[j], r->mean[j], r->width[j]);
        if (o->truth) printf("  (truth %.4g)", o->truth[j]);
        printf("\n");
    }
    if (o->derived) {
        printf("%s = %.4f (mean over the proposal)", o->derived_name, r->derived);
        if (o->truth) printf("  (truth %.4f)", o->derived(o->truth));
        printf("\n");
    }
    printf("%d iterations in %.1f s\nwrote %s/{history.csv, metrics.json, convergence_*.png, %s}\n", r->iterations,
           r->seconds, o->out_dir, o->sim->obs_ndim == 3 ? "images.png" : "hist.png");
}

static int run(int argc, char **argv)
{
    static const cli_command cmd = {
        "avo", "tune a non-differentiable simulator's parameters to observed data (adversarial variational optimisation)",
        "avo [--simulator tracker|weinberg] (--truth V | --observed FILE.npy) [--out DIR] [options]", NULL};
    avo_args a = {.simulator = "tracker", .loss = "bce", .bins = 32, .eta_max = 5, .radius = 10, .offset_max = 10,
                  .max_events = 0};
    hd_avo_opts o = hd_avo_opts_default(NULL);
    o.out_dir = "out/avo";
    hd_eeqq_opts gen = hd_eeqq_opts_default();
    float gamma = NAN;
    cli_flag flags[] = {
        {"simulator", FLAG_STRING, &a.simulator, "tracker (offset, mm) or weinberg (E_beam GeV, G_f)"},
        {"truth", FLAG_STRING, &a.truth, "parameters to simulate the observed data at, comma-separated"},
        {"observed", FLAG_STRING, &a.observed, "observed data instead: .npy of shape (N, observation shape)"},
        {"n-observed", FLAG_I64, &o.n_observed, "observations simulated at --truth"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
        {"start-mean", FLAG_STRING, &a.start_mean, "proposal start means (default: tracker 0; weinberg 45,1)"},
        {"start-width", FLAG_STRING, &a.start_width, "proposal start widths (default: tracker softplus(2) = 2.127; "
                                                     "weinberg 1,0.1)"},
        {"iterations", FLAG_INT, &o.iterations, "AVO iterations"},
        {"loss", FLAG_STRING, &a.loss, "bce (the seed's) or wasserstein (a critic)"},
        {"r1", FLAG_FLOAT, &o.r1, "R1 gradient penalty weight on observed data (0: off)"},
        {"gamma", FLAG_FLOAT, &gamma, "entropy regularisation of the proposal (default: tracker 0.05, weinberg 0)"},
        {"no-baseline", FLAG_BOOL, &a.no_baseline, "no mean-reward baseline in the score-function gradient"},
        {"per-draw", FLAG_I64, &o.per_draw, "observations simulated per parameter draw"},
        {"disc-samples", FLAG_I64, &o.disc_samples, "simulated observations per discriminator epoch"},
        {"pretrain-samples", FLAG_I64, &o.pretrain_samples, "simulated observations for pre-training (0: none)"},
        {"pretrain-epochs", FLAG_INT, &o.pretrain_epochs, "discriminator pre-training epochs"},
        {"proposal-draws", FLAG_I64, &o.proposal_draws, "parameter draws per proposal step"},
        {"batch", FLAG_I64, &o.batch, "discriminator batch (half simulated, half observed)"},
        {"lr-disc", FLAG_FLOAT, &o.optim_disc.lr, "discriminator Adam learning rate"},
        {"lr-proposal", FLAG_FLOAT, &o.optim_proposal.lr, "proposal Adam learning rate"},
        {"hidden", FLAG_I64, &o.disc_hidden, "vector data: width of the MLP discriminator's two hidden layers"},
        {"events", FLAG_STRING, &a.events, "tracker: events from a HepMC3 file instead of the built-in generator"},
        {"max-events", FLAG_I64, &a.max_events, "tracker: read at most this many events of --events (0: all)"},
        {"bins", FLAG_INT, &a.bins, "tracker: eta and phi bins"},
        {"eta-max", FLAG_FLOAT, &a.eta_max, "tracker: eta range +-eta_max"},
        {"radius", FLAG_FLOAT, &a.radius, "tracker: sphere radius, mm"},
        {"offset-max", FLAG_FLOAT, &a.offset_max, "tracker: offsets are clamped to +-offset_max mm"},
        {"binary", FLAG_BOOL, &a.binary, "tracker: 1 per hit cell instead of the deposited energy"},
        {"seed", FLAG_U64, &o.seed, "random seed (the same seed and thread count give the same history)"},
        {"threads", FLAG_INT, &a.threads, "threads (0: all cores)"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (strcmp(a.simulator, "tracker") != 0 && strcmp(a.simulator, "weinberg") != 0) {
        fprintf(stderr, "hadron avo: --simulator '%s': tracker or weinberg\n", a.simulator);
        return 2;
    }
    gen.seed = o.seed;
    hd_event_pool *pool = NULL;
    hd_array obs_array = {0};
    float *observed = NULL;
    hd_simulator *s = make_simulator(&a, &o, &gen, &pool);
    if (!s) {
        fprintf(stderr, "hadron avo: %s\n", hd_last_error());
        hd_event_pool_free(pool);
        return 1;
    }
    o.sim = s;
    int weinberg = s->n_params == 2;
    o.gamma = isnan(gamma) ? (weinberg ? 0.0f : 0.05f) : gamma;
    double truth[HD_SIM_MAX_PARAMS], mean0[HD_SIM_MAX_PARAMS] = {weinberg ? 45 : 0, 1},
                                     width0[HD_SIM_MAX_PARAMS] = {weinberg ? 1 : log1p(exp(2.0)), 0.1};
    rc = configure(&a, &o, truth, mean0, width0);
    if (rc == 0 && a.observed) rc = read_observed(a.observed, s, &obs_array, &observed, &o.n_observed);
    if (rc == 0) rc = cli_mkdir(o.out_dir);
    if (rc == 0) {
        o.observed = observed;
        hd_set_threads(a.threads);
        printf("avo: %s simulator, %lld observed (%s), %d iterations -> %s\n", s->name, (long long)o.n_observed,
               a.observed ? a.observed : "simulated at --truth", o.iterations, o.out_dir);
        avo_ui ui = {.every = o.iterations >= 16 ? o.iterations / 16 : 1, .k = s->n_params, .names = s->param_names};
        o.on_iteration = on_iteration;
        o.on_stage = on_stage;
        o.user = &ui;
        hd_progress_begin(&ui.bar, "avo", o.iterations);
        hd_avo_result r;
        int err = hd_avo_run(&o, &r);
        hd_progress_end(&ui.bar);
        if (err != HD_OK) {
            fprintf(stderr, "hadron avo: %s\n", hd_last_error());
            rc = 1;
        } else {
            print_result(&o, &r);
        }
    }
    free(observed);
    hd_array_free(&obs_array);
    hd_simulator_free(s);
    hd_event_pool_free(pool);
    return rc;
}

const cli_command cmd_avo = {"avo", "tune simulator parameters to data: adversarial variational optimisation",
                             "avo [options]", run};
