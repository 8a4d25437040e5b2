/* hadron sim: simulators that make physics data sets. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int calo(int argc, char **argv);

static const cli_command cmd_tracking = {
    .name = "sim tracking",
    .summary = "tracking-efficiency histograms of a forward spectrometer (for hadron surrogate)",
    .usage = "sim tracking [options]",
    .run = tracking,
};
static const cli_command cmd_amplitudes = {
    .name = "sim amplitudes",
    .summary = "q qbar -> gamma gamma g or e+e- -> q qbar g events with their squared matrix elements (for hadron bnn)",
    .usage = "sim amplitudes --out DIR [options]",
    .run = amplitudes,
};
static const cli_command cmd_events = {
    .name = "sim events",
    .summary = "e+e- -> q qbar events at the Z pole, hadrons with decay vertices (HepMC3 file)",
    .usage = "sim events --out FILE.hepmc3 [options]",
    .run = events,
};

static const cli_command cmd_calo = {
    .name = "sim calo",
    .summary = "electron and photon showers in a W/Si sampling calorimeter, GFlash style (CaloChallenge files)",
    .usage = "sim calo --geometry NAME --particle NAME --n N --out FILE.h5 [options]",
    .run = calo,
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

_Static_assert(sizeof(hd_amp_process) == sizeof(int), "FLAG_ENUM writes an int");
static const cli_choice processes[] = {{"qqbar-aag", HD_AMP_QQBAR_AAG}, {"ee-qqg", HD_AMP_EE_QQG}, {NULL, 0}};
static const char *const process_text[] = {[HD_AMP_QQBAR_AAG] = "q qbar -> gamma gamma g",
                                           [HD_AMP_EE_QQG] = "e+e- -> gamma* -> q qbar g"};

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
        CLI_ENUM("process", &o.process, processes, "q qbar -> gamma gamma g, or e+e- -> gamma* -> q qbar g"),
        CLI_CUSTOM("sqrt-s", &o.sqrt_s, &number, "partonic centre-of-mass energy, GeV"),
        CLI_CUSTOM("pt-min", &o.pt_min, &number, "minimum pT of each of the three outgoing particles, GeV"),
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
    printf(" %s at sqrt(s) = %g GeV, momenta (N, 5, 4) and |M|^2 (N,) in GeV^-2, %.2f s\n",
           process_text[o.process], o.sqrt_s, hd_now() - start);
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

static const char *const geometries[] = {"reduced", "ds2", "ds3", "ecal30"};
static const cli_choice geometry_choices[] = {{"reduced", 0}, {"ds2", 1}, {"ds3", 2}, {"ecal30", 3}, {NULL, 0}};
static const cli_choice particles[] = {{"electron", HD_CALO_ELECTRON}, {"photon", HD_CALO_PHOTON}, {NULL, 0}};
static const cli_choice formats[] = {{"h5", HD_CALO_H5}, {"npz", HD_CALO_NPZ}, {NULL, 0}};

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* A one-value range list "x" means [x, x]. */
static void one_is_both(double r[2], int count)
{
    if (count == 1) r[1] = r[0];
}

/* The bar, and when the last shower was made (before the file is written). */
typedef struct {
    hd_progress bar;
    double simulated;
} calo_watch;

static void calo_progress(void *user, double fraction)
{
    calo_watch *w = user;
    cli_show_fraction(&w->bar, fraction);
    if (fraction >= 1) w->simulated = hd_now();
}

static int calo(int argc, char **argv)
{
    hd_calo_opts o = hd_calo_opts_default();
    const char *out = "out/calo.h5";
    int geometry = 0, format = -1, n_ex = 2, n_ey = 2, n_sx = 2, n_sy = 2;
    cli_run r = {.out = &out, .out_help = "output file (HDF5 .h5, or .npz)", .out_is_file = 1,
                 .seed = &o.seed};
    cli_flag flags[] = {
        CLI_ENUM("geometry", &geometry, geometry_choices,
                 "readout: reduced 12 x 4 x 6, ds2 45 x 16 x 9, ds3 45 x 50 x 18 (layers x angles x radii),\n"
                 "ecal30 a 30 x 30 face at inclined incidence (docs/calo.md)"),
        CLI_ENUM("particle", &o.particle, particles, "incident particle"),
        CLI_I64("n", &o.n_showers, "showers"),
        {"e-min", FLAG_CUSTOM, &o.e_min, "lowest incident energy (log-uniform)", &cli_energy, NULL, 0, "1 GeV"},
        {"e-max", FLAG_CUSTOM, &o.e_max, "highest incident energy", &cli_energy, NULL, 0,
         "1 TeV for ds2 and ds3, 100 GeV for the others"},
        CLI_DOUBLE("sampling", &o.sampling, "sampling term a of sigma/E = a / sqrt(E/GeV), sqrt(GeV) (0: none)"),
        CLI_DOUBLE("threshold", &o.threshold, "voxel threshold, MeV"),
        CLI_DOUBLE("absorber", &o.absorber_mm, "tungsten per sampling layer, mm"),
        CLI_DOUBLE("active", &o.active_mm, "silicon per sampling layer, mm"),
        CLI_F64_LIST("entry-x", o.entry_x, &n_ex, "ecal30: entry point x range LO,HI (or one value), mm"),
        CLI_F64_LIST("entry-y", o.entry_y, &n_ey, "ecal30: entry point y range, mm"),
        CLI_F64_LIST("slope-x", o.slope_x, &n_sx, "ecal30: px/pz range"),
        CLI_F64_LIST("slope-y", o.slope_y, &n_sy, "ecal30: py/pz range"),
        {"format", FLAG_ENUM, &format, "output format", formats, NULL, 0, "npz for an --out that ends in .npz, else h5"},
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_calo, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_calo_layout_get(geometries[geometry], &o.layout) != HD_OK) return cli_refuse(&cmd_calo);
    one_is_both(o.entry_x, n_ex);
    one_is_both(o.entry_y, n_ey);
    one_is_both(o.slope_x, n_sx);
    one_is_both(o.slope_y, n_sy);
    o.format = format >= 0 ? (hd_calo_format)format : ends_with(out, ".npz") ? HD_CALO_NPZ : HD_CALO_H5;
    if (hd_calo_check(&o) != HD_OK) return cli_refuse(&cmd_calo);
    if (cli_start(&r)) return 1;
    double e_lo, e_hi;
    hd_calo_energy_range(&o, &e_lo, &e_hi);
    hd_calo_stack st;
    hd_calo_stack_of(&o, &st);
    int64_t voxels = hd_calo_layout_voxels(&o.layout);
    printf("sim calo: %lld %s showers, ", (long long)o.n_showers, o.particle == HD_CALO_PHOTON ? "photon" : "electron");
    cli_print_energy(stdout, &e_lo);
    printf(" to ");
    cli_print_energy(stdout, &e_hi);
    if (o.layout.kind == HD_CALO_GRID)
        printf(" (log-uniform), %s: %d x %d cells of %g mm over %g X0, entry x [%g, %g] y [%g, %g] mm, slopes [%g, %g] "
               "x [%g, %g]\n",
               o.layout.name, o.layout.nx, o.layout.ny, o.layout.cell, o.layout.layer_x0[0], o.entry_x[0],
               o.entry_x[1], o.entry_y[0], o.entry_y[1], o.slope_x[0], o.slope_x[1], o.slope_y[0], o.slope_y[1]);
    else
        printf(" (log-uniform), %s: %d layers x %d angles x %d radii = %lld voxels\n", o.layout.name,
               o.layout.n_layers, o.layout.n_alpha, o.layout.n_r, (long long)voxels);
    printf("  W %g mm / Si %g mm: X0 %.3f mm, R_M %.2f mm, Ec %.2f MeV, Z %.1f; sigma/E = %g/sqrt(E/GeV), threshold %g "
           "MeV; %.1f MiB of showers in memory\n",
           o.absorber_mm, o.active_mm, st.x0, st.rm, st.ec, st.z, o.sampling, o.threshold,
           (double)o.n_showers * (double)voxels * 4 / (1 << 20));
    calo_watch w = {.simulated = 0};
    hd_progress_begin(&w.bar, "simulating", 1000);
    o.progress = calo_progress;
    o.user = &w;
    double start = hd_now();
    rc = hd_calo_write(&o, out);
    hd_progress_end(&w.bar);
    if (rc != HD_OK) return cli_fail(&cmd_calo);
    double secs = w.simulated - start, end = hd_now();
    int threads = hd_get_threads();
    printf("wrote %s (%s): %lld showers simulated in %.2f s (%.0f showers/s on %d thread%s), written in %.2f s\n", out,
           o.format == HD_CALO_H5 ? "HDF5" : "npz", (long long)o.n_showers, secs,
           (double)o.n_showers / (secs > 0 ? secs : 1e-9), threads, threads == 1 ? "" : "s", end - w.simulated);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_tracking, &cmd_amplitudes, &cmd_events, &cmd_calo, NULL};

const cli_command cmd_sim = {
    .name = "sim",
    .summary = "simulate physics data sets (tracking, amplitudes, events, calo)",
    .usage = "sim <simulator> [options]",
    .subcommands = subcommands,
    .noun = "simulator",
};
