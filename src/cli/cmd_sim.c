/* hadron sim: simulators that make physics data sets. */
#include "cli.h"
#include "hadron/hadron.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(void *user, double fraction)
{
    hd_progress_update(user, (int64_t)(fraction * 1000), NULL);
}

static int tracking(int argc, char **argv)
{
    static const cli_command cmd = {"sim tracking", "simulate tracking-efficiency histograms of a forward spectrometer",
                                    "sim tracking [options]", NULL};
    hd_tracking_opts o = hd_tracking_opts_default();
    const char *out = "out/tracking.npz";
    int threads = 0;
    cli_flag flags[] = {
        {"out", FLAG_STRING, &out, "output histograms (.npz)"},
        {"particles", FLAG_I64, &o.n_particles, "particles for the gen/rec counts"},
        {"truth-particles", FLAG_I64, &o.n_truth, "particles for the true efficiency per bin"},
        {"eta-bins", FLAG_INT, &o.n_eta, "eta bins"},
        {"pt-bins", FLAG_INT, &o.n_pt, "pT bins (log-spaced)"},
        {"phi-bins", FLAG_INT, &o.n_phi, "phi bins"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (cli_mkdir_parent(out)) return 1;
    hd_set_threads(threads);
    hd_progress bar;
    hd_progress_begin(&bar, "simulating", 1000);
    o.progress = show;
    o.user = &bar;
    hd_tracking_hist h;
    rc = hd_sim_tracking(&o, &h);
    hd_progress_end(&bar);
    if (rc == HD_OK) {
        rc = hd_hist3_write_npz(out, &h);
        hd_hist3_free(&h);
    }
    if (rc != HD_OK) {
        fprintf(stderr, "hadron sim tracking: %s\n", hd_last_error());
        return 1;
    }
    printf("wrote %s: %d x %d x %d bins (eta, pT, phi), %lld particles, truth from %lld\n", out, o.n_eta, o.n_pt,
           o.n_phi, (long long)o.n_particles, (long long)o.n_truth);
    return 0;
}

/* A number, or a fraction "a/b" (for charges such as -1/3). */
static int parse_number(const char *cmd, const char *flag, const char *text, double *dst)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end != text && *end == '/') {
        const char *den = end + 1;
        double y = strtod(den, &end);
        x = end != den && y != 0 ? x / y : NAN;
    }
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(x)) {
        fprintf(stderr, "hadron %s: --%s: '%s' is not a valid number\n", cmd, flag, text);
        return 2;
    }
    *dst = x;
    return 0;
}

typedef struct {
    hd_progress *bar;
    int split;
} split_progress;

static void show_split(void *user, double fraction)
{
    split_progress *sp = user;
    hd_progress_update(sp->bar, (int64_t)((sp->split + fraction) * 1000), NULL);
}

/* Simulates one split and writes DIR/<prefix>_dat.npy and DIR/<prefix>_amp.npy. */
static int write_split(const hd_amplitude_opts *o, const char *dir, const char *prefix, char paths[2][4096])
{
    hd_array dat = {0}, amp = {0};
    int rc = hd_array_new(&dat, HD_F64, 3, (int64_t[]){o->n_events, 5, 4});
    if (rc == HD_OK) rc = hd_array_new(&amp, HD_F64, 1, (int64_t[]){o->n_events});
    if (rc == HD_OK) rc = hd_sim_amplitudes(o, dat.data, amp.data);
    snprintf(paths[0], 4096, "%s/%s_dat.npy", dir, prefix);
    snprintf(paths[1], 4096, "%s/%s_amp.npy", dir, prefix);
    if (rc == HD_OK) rc = hd_npy_write(paths[0], &dat);
    if (rc == HD_OK) rc = hd_npy_write(paths[1], &amp);
    hd_array_free(&dat);
    hd_array_free(&amp);
    return rc;
}

static int amplitudes(int argc, char **argv)
{
    static const cli_command cmd = {"sim amplitudes",
                                    "simulate q qbar -> gamma gamma g events and their squared matrix elements",
                                    "sim amplitudes --out DIR [options]", NULL};
    hd_amplitude_opts o = hd_amplitude_opts_default();
    const char *out = "out/amplitudes", *sqrt_s = "500", *pt_min = "20", *eta_max = "2.5", *dr_min = "0.4",
               *charge = "2/3";
    int64_t n[3] = {30000, 30000, 30000};
    int threads = 0;
    cli_flag flags[] = {
        {"out", FLAG_STRING, &out, "output directory: {trn,val,tst}_{dat,amp}.npy"},
        {"train", FLAG_I64, &n[0], "training events"},
        {"val", FLAG_I64, &n[1], "validation events"},
        {"test", FLAG_I64, &n[2], "test events"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"sqrt-s", FLAG_STRING, &sqrt_s, "partonic centre-of-mass energy, GeV"},
        {"pt-min", FLAG_STRING, &pt_min, "minimum pT of each photon and the gluon, GeV"},
        {"eta-max", FLAG_STRING, &eta_max, "maximum |eta| of each"},
        {"dr-min", FLAG_STRING, &dr_min, "minimum Delta R between any two"},
        {"charge", FLAG_STRING, &charge, "quark charge in units of e (e.g. -1/3)"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    static const char *const me = "sim amplitudes";
    if ((rc = parse_number(me, "sqrt-s", sqrt_s, &o.sqrt_s)) || (rc = parse_number(me, "pt-min", pt_min, &o.pt_min)) ||
        (rc = parse_number(me, "eta-max", eta_max, &o.eta_max)) || (rc = parse_number(me, "dr-min", dr_min, &o.dr_min)) ||
        (rc = parse_number(me, "charge", charge, &o.charge)))
        return rc;
    static const char *const split_flag[3] = {"train", "val", "test"};
    for (int k = 0; k < 3; k++)
        if (n[k] < 1) {
            fprintf(stderr, "hadron sim amplitudes: --%s %lld: need at least 1 event\n", split_flag[k], (long long)n[k]);
            return 2;
        }
    if (cli_mkdir(out)) return 1;
    hd_set_threads(threads);
    static const char *const prefix[3] = {"trn", "val", "tst"};
    char paths[3][2][4096];
    hd_progress bar;
    hd_progress_begin(&bar, "simulating", 3000);
    split_progress sp = {&bar, 0};
    o.progress = show_split;
    o.user = &sp;
    double start = hd_now();
    for (int k = 0; k < 3 && rc == HD_OK; k++) {
        sp.split = k;
        o.part = k; /* independent samples: the same seed gives disjoint train, val and test events */
        o.n_events = n[k];
        rc = write_split(&o, out, prefix[k], paths[k]);
    }
    hd_progress_end(&bar);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron sim amplitudes: %s\n", hd_last_error());
        return 1;
    }
    printf("wrote %s, %s (%lld events), %s, %s (%lld), %s, %s (%lld): q qbar -> gamma gamma g at sqrt(s) = %g GeV, "
           "momenta (N, 5, 4) and |M|^2 (N,) in GeV^-2, %.2f s\n",
           paths[0][0], paths[0][1], (long long)n[0], paths[1][0], paths[1][1], (long long)n[1], paths[2][0],
           paths[2][1], (long long)n[2], o.sqrt_s, hd_now() - start);
    return 0;
}

/* Events per parallel round of hadron sim events: generated in memory, then written in order. */
enum { EVENT_ROUND = 2048 };

typedef struct {
    hd_event ev[EVENT_ROUND];
    int64_t charged; /* final-state charged particles written */
} event_round;

/* Events first..first+n-1 into r->ev, in parallel; 0, or 1 when one could not be made (out of memory). */
static int generate_round(const hd_eeqq_opts *o, int64_t first, int64_t n, event_round *r)
{
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (int64_t i = 0; i < n; i++) failed |= hd_eeqq_event(o, (uint64_t)(first + i), &r->ev[i]) != HD_OK;
    return failed;
}

static int write_round(hd_hepmc3_writer *w, int64_t n, event_round *r)
{
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < r->ev[i].n; j++)
            r->charged += r->ev[i].p[j].status == 1 && hd_pdg_charge3(r->ev[i].p[j].pdg) != 0;
        int rc = hd_hepmc3_writer_add(w, &r->ev[i]);
        if (rc) return rc;
    }
    return HD_OK;
}

static int generate_events(const hd_eeqq_opts *o, int64_t n, hd_hepmc3_writer *w, event_round *r)
{
    hd_progress bar;
    hd_progress_begin(&bar, "generating", n);
    int rc = HD_OK;
    for (int64_t first = 0; first < n && rc == HD_OK; first += EVENT_ROUND) {
        int64_t m = n - first < EVENT_ROUND ? n - first : EVENT_ROUND;
        rc = generate_round(o, first, m, r) ? hd_error(HD_ENOMEM, "out of memory generating events") : write_round(w, m, r);
        hd_progress_update(&bar, first + m, NULL);
    }
    hd_progress_end(&bar);
    return rc;
}

static int events(int argc, char **argv)
{
    static const cli_command cmd = {"sim events",
                                    "generate e+e- -> gamma*/Z -> q qbar events with hadrons and decay vertices",
                                    "sim events --out FILE.hepmc3 [options]", NULL};
    hd_eeqq_opts o = hd_eeqq_opts_default();
    const char *out = "out/events.hepmc3", *sqrt_s = "91.2";
    int64_t n = 10000;
    int threads = 0;
    cli_flag flags[] = {
        {"out", FLAG_STRING, &out, "output events (HepMC3 ASCII)"},
        {"n", FLAG_I64, &n, "events"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"sqrt-s", FLAG_STRING, &sqrt_s, "centre-of-mass energy, GeV (the Z pole: 91.2)"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores)"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if ((rc = parse_number("sim events", "sqrt-s", sqrt_s, &o.sqrt_s))) return rc;
    if (n < 1) {
        fprintf(stderr, "hadron sim events: --n %lld: need at least 1 event\n", (long long)n);
        return 2;
    }
    if (cli_mkdir_parent(out)) return 1;
    event_round *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "hadron sim events: out of memory\n");
        return 1;
    }
    hd_set_threads(threads);
    double start = hd_now();
    rc = hd_eeqq_event(&o, 0, &r->ev[0]); /* checks the options, with the library's message */
    hd_hepmc3_writer *w = NULL;
    if (rc == HD_OK) rc = hd_hepmc3_writer_open(out, &w);
    if (rc == HD_OK) rc = generate_events(&o, n, w, r);
    if (rc == HD_OK) rc = hd_hepmc3_writer_close(w);
    else hd_hepmc3_writer_abort(w);
    int64_t charged = r->charged;
    for (int i = 0; i < EVENT_ROUND; i++) hd_event_free(&r->ev[i]);
    free(r);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron sim events: %s\n", hd_last_error());
        return 1;
    }
    printf("wrote %s: %lld events e+e- -> q qbar at sqrt(s) = %g GeV, %.2f charged particles per event, %.2f s\n", out,
           (long long)n, o.sqrt_s, (double)charged / (double)n, hd_now() - start);
    return 0;
}

static int run(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "tracking") == 0) return tracking(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "amplitudes") == 0) return amplitudes(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "events") == 0) return events(argc - 1, argv + 1);
    FILE *f = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? stdout : stderr;
    fprintf(f, "usage: hadron sim <simulator> [options]\n\nsimulators:\n"
               "  tracking   tracking-efficiency histograms of a forward spectrometer (for hadron surrogate)\n"
               "  amplitudes q qbar -> gamma gamma g events with their squared matrix elements (for hadron bnn)\n"
               "  events     e+e- -> q qbar events at the Z pole, hadrons with decay vertices (HepMC3 file)\n\n"
               "  hadron sim <simulator> --help   options of a simulator\n");
    return f == stdout ? 0 : 2;
}

const cli_command cmd_sim = {"sim", "simulate physics data sets (tracking, amplitudes, events)", "sim <simulator> [options]", run};
