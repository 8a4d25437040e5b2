/* hadron demo: every workflow at a small size, ending with where the outputs are. */
#include "cli.h"

#include <stdio.h>

static int run(int argc, char **argv)
{
    const char *out = "out/demo";
    cli_run r = {.out = &out};
    cli_flag flags[] = {cli_run_flags(&r)};
    int rc = CLI_PARSE(&cmd_demo, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    char dir[4096], hist[4096], sur[4096], amp[4096], bnn[4096], avo[4096], calo_ref[4096], calo_gen[4096],
        calo[4096], gen[4096], gen_model[4096], gen_out[4096], toy[4096], model[4096], c_src[4096], onnx[4096],
        mdn[4096],
        threads[16];
    snprintf(dir, sizeof dir, "%s/fit", out);
    snprintf(hist, sizeof hist, "%s/tracking.npz", out);
    snprintf(sur, sizeof sur, "%s/surrogate", out);
    snprintf(model, sizeof model, "%s/surrogate/model.safetensors", out);
    snprintf(c_src, sizeof c_src, "%s/export/efficiency", out);
    snprintf(onnx, sizeof onnx, "%s/export/efficiency.onnx", out);
    snprintf(amp, sizeof amp, "%s/amplitudes", out);
    snprintf(bnn, sizeof bnn, "%s/bnn", out);
    snprintf(avo, sizeof avo, "%s/avo", out);
    snprintf(calo_ref, sizeof calo_ref, "%s/showers_ref.h5", out);
    snprintf(calo_gen, sizeof calo_gen, "%s/showers_other.h5", out);
    snprintf(calo, sizeof calo, "%s/calo-eval", out);
    snprintf(gen, sizeof gen, "%s/gen-gmm", out);
    snprintf(gen_model, sizeof gen_model, "%s/gen-gmm/checkpoint.safetensors", out);
    snprintf(gen_out, sizeof gen_out, "%s/gen-gmm/sampled.h5", out);
    snprintf(mdn, sizeof mdn, "%s/gen-mdn", out);
    snprintf(toy, sizeof toy, "%s/study-toy", out);
    snprintf(threads, sizeof threads, "%d", r.threads);
    char *fit_argv[] = {"fit", "--out", dir, "--print-every", "50", "--threads", threads};
    char *sim_argv[] = {"sim", "tracking", "--out", hist, "--threads", threads};
    char *sur_argv[] = {"surrogate", "--input", hist, "--out", sur, "--print-every", "100", "--threads", threads};
    char *exc_argv[] = {"export", "--model", model, "--out", c_src};
    char *exo_argv[] = {"export", "--model", model, "--format", "onnx", "--out", onnx};
    char *amp_argv[] = {"sim", "amplitudes", "--out", amp, "--val", "5000", "--test", "5000", "--threads", threads};
    char *bnn_argv[] = {"bnn", "--data", amp, "--out", bnn, "--print-every", "50", "--threads", threads};
    char *avo_argv[] = {"avo",     "--simulator", "weinberg", "--truth",   "42,0.9", "--n-observed",
                        "16384",   "--out",       avo,        "--threads", threads};
    char *cref_argv[] = {"sim", "calo", "--n", "4000", "--seed", "1", "--out", calo_ref, "--threads", threads};
    char *cgen_argv[] = {"sim", "calo", "--n", "4000", "--seed", "2", "--out", calo_gen, "--threads", threads};
    char *ceval_argv[] = {"calo-eval", "--reference", calo_ref, "--generated", calo_gen, "--out", calo,
                          "--threads", threads};
    char *gen_argv[] = {"gen", "train", "--model", "gmm", "--data", calo_ref, "--out", gen,
                        "--eval-epochs", "10", "--threads", threads};
    char *mdn_argv[] = {"gen", "train", "--model", "mdn", "--data", calo_ref, "--out", mdn, "--epochs", "10",
                        "--batch", "32", "--eval-epochs", "10", "--threads", threads};
    char *sample_argv[] = {"gen", "sample", "--model", gen_model, "--n", "2000", "--e-min", "10GeV", "--e-max",
                           "20GeV", "--out", gen_out, "--threads", threads};
    char *toy_argv[] = {"study", "toy-lognormal", "--resamplings", "50", "--gmm-resamplings", "0",
                        "--gan-resamplings", "0", "--n-check", "1000000", "--out", toy, "--threads", threads};
    printf("== fit: an MLP learns a known function ==\n");
    if ((rc = cli_dispatch(&cmd_fit, CLI_COUNT(fit_argv), fit_argv)) != 0) return rc;
    printf("\n== sim tracking: efficiency histograms of a forward spectrometer ==\n");
    if ((rc = cli_dispatch(&cmd_sim, CLI_COUNT(sim_argv), sim_argv)) != 0) return rc;
    printf("\n== surrogate: a network learns the tracking efficiency (binomial likelihood) ==\n");
    if ((rc = cli_dispatch(&cmd_surrogate, CLI_COUNT(sur_argv), sur_argv)) != 0) return rc;
    printf("\n== export: the surrogate as C source and as ONNX, for a simulation to build in ==\n");
    if ((rc = cli_dispatch(&cmd_export, CLI_COUNT(exc_argv), exc_argv)) != 0) return rc;
    if ((rc = cli_dispatch(&cmd_export, CLI_COUNT(exo_argv), exo_argv)) != 0) return rc;
    printf("\n== sim amplitudes: q qbar -> gamma gamma g events and their squared matrix elements ==\n");
    if ((rc = cli_dispatch(&cmd_sim, CLI_COUNT(amp_argv), amp_argv)) != 0) return rc;
    printf("\n== bnn: a Bayesian network regresses the amplitudes and says how sure it is ==\n");
    if ((rc = cli_dispatch(&cmd_bnn, CLI_COUNT(bnn_argv), bnn_argv)) != 0) return rc;
    printf("\n== avo: tune the Weinberg model's beam energy and coupling to 'observed' e+e- -> mu+mu- data ==\n");
    if ((rc = cli_dispatch(&cmd_avo, CLI_COUNT(avo_argv), avo_argv)) != 0) return rc;
    printf("\n== sim calo: electron showers in a W/Si calorimeter, two independent samples ==\n");
    if ((rc = cli_dispatch(&cmd_sim, CLI_COUNT(cref_argv), cref_argv)) != 0) return rc;
    if ((rc = cli_dispatch(&cmd_sim, CLI_COUNT(cgen_argv), cgen_argv)) != 0) return rc;
    printf("\n== calo-eval: the judge of generated showers, on a sample that should pass (AUC 0.5, at the floor) ==\n");
    if ((rc = cli_dispatch(&cmd_calo_eval, CLI_COUNT(ceval_argv), ceval_argv)) != 0) return rc;
    printf("\n== gen: the Gaussian-mixture baseline of fast simulation, trained and judged on held-out showers ==\n");
    if ((rc = cli_dispatch(&cmd_gen, CLI_COUNT(gen_argv), gen_argv)) != 0) return rc;
    printf("\n== gen: the two-stage mixture density network, the closest to the simulator, on the same showers ==\n");
    if ((rc = cli_dispatch(&cmd_gen, CLI_COUNT(mdn_argv), mdn_argv)) != 0) return rc;
    printf("\n== gen sample: showers of 10 to 20 GeV from the trained mixture ==\n");
    if ((rc = cli_dispatch(&cmd_gen, CLI_COUNT(sample_argv), sample_argv)) != 0) return rc;
    printf("\n== study toy-lognormal: what 1000 events know about the tail of x1 + x2 (seed 001's toy) ==\n");
    if ((rc = cli_dispatch(&cmd_study, CLI_COUNT(toy_argv), toy_argv)) != 0) return rc;
    printf("\ndemo done.  Look at:\n  %s/efficiency.png   efficiency vs pT: data, model, truth\n"
           "  %s/loss.png         surrogate losses per epoch\n  %s/metrics.json     numbers\n"
           "  %s.c, .h and .onnx   the surrogate, exported\n"
           "  %s/pulls.png             Bayesian network: pulls against a unit Gaussian\n"
           "  %s/calibration.png       predicted uncertainty vs actual error\n"
           "  %s/convergence_c.png   AVO: the fitted asymmetry c per iteration, against the truth\n"
           "  %s/loss.png               the fit demo's losses\n"
           "  %s/report.md        showers against the floor, with features_*.png\n"
           "  %s/showers.png        the mixture's mean and single showers per layer against the simulator's\n"
           "  %s/showers.png        the same for the mixture density network (metrics.json: its AUCs)\n"
           "  %s/density_library-cut.png  a library cut at x < 12 against the exact tail of x1 + x2\n",
           sur, sur, sur, c_src, bnn, bnn, avo, dir, calo, gen, mdn, toy);
    return 0;
}

const cli_command cmd_demo = {
    .name = "demo",
    .summary = "run every workflow at a small size",
    .usage = "demo [options]",
    .run = run,
};
