/* hadron calo-eval: generated calorimeter showers against reference ones. */
#include "cli.h"

#include <stdio.h>

/* Each stage as it starts, with the seconds since the run began (user: its start, hd_now). */
static void print_stage(void *user, const char *what)
{
    printf("  %7.1f s  %s\n", hd_now() - *(const double *)user, what);
    fflush(stdout);
}

static void print_scores(const char *what, const hd_calo_scores *s)
{
    printf("%-10s AUC voxels %.4f +- %.4f, high-level %.4f +- %.4f; FPD %.4g +- %.2g, KPD %.4g +- %.2g; "
           "separation mean %.4f, max %.4f\n",
           what, s->auc_low, s->auc_low_err, s->auc_high, s->auc_high_err, s->fpd, s->fpd_err, s->kpd, s->kpd_err,
           s->separation_mean, s->separation_max);
}

static int run(int argc, char **argv)
{
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    o.out_dir = "out/calo-eval";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_STRING("reference", &o.reference, "reference showers (.h5 or .npz, CaloChallenge layout)"),
        CLI_STRING("generated", &o.generated, "generated showers, the same layout"),
        CLI_STRING("reference2", &o.reference2, "a second reference sample for the floor (default: half the reference)"),
        CLI_STRING("geometry", &o.geometry, "layout (ds2, ds3, reduced, ecal30; default: from the voxel count)"),
        CLI_I64("max-showers", &o.max_showers, "read at most this many showers of each file (0: all)"),
        CLI_INT("epochs", &o.c2st.epochs, "epochs of each classifier test"),
        CLI_I64("voxel-showers", &o.voxel_showers,
                "showers per sample the voxel classifier sees, a seeded subsample (0: all; ds2: 26 KB each)"),
        CLI_BOOL("no-voxel-classifier", &o.skip_low_level, "skip the classifier on the voxels (large layouts)"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_calo_eval, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.reference || !o.generated) {
        fprintf(stderr, "hadron calo-eval: --reference A.h5 and --generated B.h5 are required (make showers with: "
                        "hadron sim calo)\n");
        return 2;
    }
    if (hd_calo_eval_check(&o) != HD_OK) return cli_refuse(&cmd_calo_eval);
    if (cli_start(&r)) return 1;
    double start = hd_now();
    o.on_stage = print_stage;
    o.user = &start;
    printf("calo-eval: %s against %s, floor %s\n", o.generated, o.reference,
           o.reference2 ? o.reference2 : "from the halves of the reference");
    hd_calo_eval_result res;
    if (hd_calo_eval_run(&o, &res) != HD_OK) return cli_fail(&cmd_calo_eval);
    printf("%lld reference, %lld generated, %lld floor showers (the voxel classifier: %lld, %lld, %lld); %d features; "
           "%.1f s\n", (long long)res.n_reference, (long long)res.n_generated, (long long)res.n_floor,
           (long long)res.n_voxel_reference, (long long)res.n_voxel_generated, (long long)res.n_voxel_floor,
           res.n_features, res.seconds);
    if (res.n_clipped) printf("%lld negative voxels of the generated showers set to 0\n", (long long)res.n_clipped);
    print_scores("generated", &res.model);
    print_scores("floor", &res.floor);
    printf("wrote %s/{metrics.json, report.md, features_*.png}\n", o.out_dir);
    return 0;
}

const cli_command cmd_calo_eval = {
    .name = "calo-eval",
    .summary = "generated calorimeter showers against reference ones (classifier AUC, FPD, KPD, separation)",
    .usage = "calo-eval --reference A.h5 --generated B.h5 [options]",
    .run = run,
};
