/* hadron sim: simulators that make physics data sets. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>
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

static int run(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "tracking") == 0) return tracking(argc - 1, argv + 1);
    FILE *f = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? stdout : stderr;
    fprintf(f, "usage: hadron sim <simulator> [options]\n\nsimulators:\n"
               "  tracking   tracking-efficiency histograms of a forward spectrometer (for hadron surrogate)\n\n"
               "  hadron sim <simulator> --help   options of a simulator\n");
    return f == stdout ? 0 : 2;
}

const cli_command cmd_sim = {"sim", "simulate physics data sets (tracking)", "sim <simulator> [options]", run};
