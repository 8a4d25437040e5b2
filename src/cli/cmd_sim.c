/* hadron sim: simulators that make physics data sets. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A number, or a fraction "a/b" (for charges such as -1/3). */
static int parse_number(const char *text, void *dst)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end != text && *end == '/') {
        const char *den = end + 1;
        double y = strtod(den, &end);
        x = end != den && y != 0 ? x / y : NAN;
    }
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(x)) return 1;
    *(double *)dst = x;
    return 0;
}

/* Thirds as fractions (quark charges), everything else as %g. */
static void print_number(FILE *f, const void *src)
{
    double x = *(const double *)src, t = 3 * x;
    if (x != floor(x) && fabs(t - round(t)) < 1e-12) fprintf(f, "%.0f/3", round(t));
    else fprintf(f, "%g", x);
}

static const cli_custom number = {parse_number, print_number, "X", "number"};

static int tracking(int argc, char **argv);
static int amplitudes(int argc, char **argv);
static int events(int argc, char **argv);

static const cli_command cmd_tracking = {
    .name = "sim tracking",
    .summary = "tracking-efficiency histograms of a forward spectrometer (for hadron surrogate)",
    .usage = "sim tracking [options]",
    .run = tracking,
};
static const cli_command cmd_amplitudes = {
    .name = "sim amplitudes",
    .summary = "q qbar -> gamma gamma g events with their squared matrix elements (for hadron bnn)",
    .usage = "sim amplitudes --out DIR [options]",
    .run = amplitudes,
};
static const cli_command cmd_events = {
    .name = "sim events",
    .summary = "e+e- -> q qbar events at the Z pole, hadrons with decay vertices (HepMC3 file)",
    .usage = "sim events --out FILE.hepmc3 [options]",
    .run = events,
};

static int tracking(int argc, char **argv)
{
    hd_tracking_opts o = hd_tracking_opts_default();
    const char *out = "out/tracking.npz";
    cli_run r = {.out = &out, .out_help = "output histograms (.npz)", .out_is_file = 1, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_I64("particles", &o.n_particles, "particles for the gen/rec counts"),
        CLI_I64("truth-particles", &o.n_truth, "particles for the true efficiency per bin"),
        CLI_INT("eta-bins", &o.n_eta, "eta bins"),
        CLI_INT("pt-bins", &o.n_pt, "pT bins (log-spaced)"),
        CLI_INT("phi-bins", &o.n_phi, "phi bins"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_tracking, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_sim_tracking_check(&o) != HD_OK) return cli_refuse(&cmd_tracking);
    if (cli_start(&r)) return 1;
    hd_progress bar;
    hd_progress_begin(&bar, "simulating", 1000);
    o.progress = cli_show_fraction;
    o.user = &bar;
    hd_tracking_hist h;
    rc = hd_sim_tracking(&o, &h);
    hd_progress_end(&bar);
    if (rc == HD_OK) {
        rc = hd_hist3_write_npz(out, &h);
        hd_hist3_free(&h);
    }
    if (rc != HD_OK) return cli_fail(&cmd_tracking);
    printf("wrote %s: %d x %d x %d bins (eta, pT, phi), %lld particles, truth from %lld\n", out, o.n_eta, o.n_pt,
           o.n_phi, (long long)o.n_particles, (long long)o.n_truth);
    return 0;
}

static int amplitudes(int argc, char **argv)
{
    hd_amplitude_opts o = hd_amplitude_opts_default();
    const char *out = "out/amplitudes";
    int64_t n[3] = {30000, 30000, 30000};
    cli_run r = {.out = &out, .out_help = "output directory: {trn,val,tst}_{dat,amp}.npy", .seed = &o.seed};
    cli_flag flags[] = {
        CLI_I64("train", &n[0], "training events"),
        CLI_I64("val", &n[1], "validation events"),
        CLI_I64("test", &n[2], "test events"),
        CLI_CUSTOM("sqrt-s", &o.sqrt_s, &number, "partonic centre-of-mass energy, GeV"),
        CLI_CUSTOM("pt-min", &o.pt_min, &number, "minimum pT of each photon and the gluon, GeV"),
        CLI_CUSTOM("eta-max", &o.eta_max, &number, "maximum |eta| of each"),
        CLI_CUSTOM("dr-min", &o.dr_min, &number, "minimum Delta R between any two"),
        CLI_CUSTOM("charge", &o.charge, &number, "quark charge in units of e (e.g. -1/3)"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_amplitudes, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    static const char *const split_flag[3] = {"train", "val", "test"};
    for (int k = 0; k < 3; k++)
        if (n[k] < 1) {
            fprintf(stderr, "hadron sim amplitudes: --%s %lld: need at least 1 event\n", split_flag[k],
                    (long long)n[k]);
            return 2;
        }
    o.n_events = n[0];
    if (hd_sim_amplitudes_check(&o) != HD_OK) return cli_refuse(&cmd_amplitudes);
    if (cli_start(&r)) return 1;
    hd_progress bar;
    hd_progress_begin(&bar, "simulating", 1000);
    o.progress = cli_show_fraction;
    o.user = &bar;
    double start = hd_now();
    rc = hd_sim_amplitudes_write(&o, out, n);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_amplitudes);
    printf("wrote");
    static const char *const prefix[3] = {"trn", "val", "tst"};
    for (int k = 0; k < 3; k++)
        printf(" %s/%s_dat.npy, %s/%s_amp.npy (%lld events),", out, prefix[k], out, prefix[k], (long long)n[k]);
    printf(" q qbar -> gamma gamma g at sqrt(s) = %g GeV, momenta (N, 5, 4) and |M|^2 (N,) in GeV^-2, %.2f s\n",
           o.sqrt_s, hd_now() - start);
    return 0;
}

static int events(int argc, char **argv)
{
    hd_eeqq_opts o = hd_eeqq_opts_default();
    const char *out = "out/events.hepmc3";
    int64_t n = 10000;
    cli_run r = {.out = &out, .out_help = "output events (HepMC3 ASCII)", .out_is_file = 1, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_I64("n", &n, "events"),
        CLI_CUSTOM("sqrt-s", &o.sqrt_s, &number, "centre-of-mass energy, GeV (the Z pole: 91.2)"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_events, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (n < 1) {
        fprintf(stderr, "hadron sim events: --n %lld: need at least 1 event\n", (long long)n);
        return 2;
    }
    if (hd_eeqq_check(&o) != HD_OK) return cli_refuse(&cmd_events);
    if (cli_start(&r)) return 1;
    hd_progress bar;
    hd_progress_begin(&bar, "generating", 1000);
    double start = hd_now();
    hd_event_counts c;
    rc = hd_events_write_hepmc3(hd_eeqq_source(&o), n, out, cli_show_fraction, &bar, &c);
    hd_progress_end(&bar);
    if (rc != HD_OK) return cli_fail(&cmd_events);
    printf("wrote %s: %lld events e+e- -> q qbar at sqrt(s) = %g GeV, %.2f charged particles per event, %.2f s\n", out,
           (long long)n, o.sqrt_s, (double)c.charged / (double)n, hd_now() - start);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_tracking, &cmd_amplitudes, &cmd_events, NULL};

const cli_command cmd_sim = {
    .name = "sim",
    .summary = "simulate physics data sets (tracking, amplitudes, events)",
    .usage = "sim <simulator> [options]",
    .subcommands = subcommands,
    .noun = "simulator",
};
