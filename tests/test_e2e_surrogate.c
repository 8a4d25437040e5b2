/* End to end, small: simulate tracking histograms with a known true
 * efficiency, train the surrogate with the binomial and the l2 loss, and
 * check the physics: the binomial model is close to the truth, its test bins
 * agree with the counts within binomial errors, and it does no worse than l2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

static char *dir; /* test_tmpdir() */

static void train(const char *hist, hd_surrogate_loss loss, const char *sub, hd_surrogate_result *res)
{
    char out[128];
    snprintf(out, sizeof out, "%s/%s", dir, sub);
    assert_int_equal(mkdir(out, 0777), 0);
    hd_surrogate_opts o = hd_surrogate_opts_default();
    o.input = hist;
    o.out_dir = out;
    o.loss = loss;
    o.epochs = 200;
    if (hd_surrogate_run(&o, res) != HD_OK) fail_msg("%s", hd_last_error());
    printf("%-10s best epoch %3d  chi2/ndf %.3f  mae_truth %.4f  max %.4f\n", sub, res->best_epoch, res->chi2_ndf,
           res->mae_truth, res->max_abs_truth);
}

static void test_surrogate_learns_the_true_efficiency(void **state)
{
    (void)state;
    assert_non_null(dir = test_tmpdir("e2e_sur"));
    char hist[128];
    snprintf(hist, sizeof hist, "%s/hist.npz", dir);
    hd_tracking_opts so = hd_tracking_opts_default();
    so.n_eta = 6;
    so.n_pt = 40;
    so.n_phi = 4;
    so.n_particles = 600000;
    so.n_truth = 2000000;
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&so, &h), HD_OK);
    assert_int_equal(hd_hist3_write_npz(hist, &h), HD_OK);
    hd_hist3_free(&h);

    hd_surrogate_result bin, l2;
    train(hist, HD_LOSS_BINOMIAL, "binomial", &bin);
    train(hist, HD_LOSS_L2, "l2", &l2);
    assert_true(bin.has_truth);
    /* One run is one draw of the training path: another seed, or another BLAS kernel's rounding
     * (OpenBLAS without FMA: chi2/ndf 1.43 for seed 1), moves these.  Over seeds 1-6 on two kernels
     * the binomial model's chi2/ndf lay in 1.16-1.63 (a surrogate that cannot interpolate: 3.9) and
     * its mean |eff - truth| in 0.90-1.04 of l2's: one run shows it no worse than l2, not better. */
    assert_true(bin.mae_truth < 0.01);
    assert_true(bin.chi2_ndf < 2.0);
    assert_true(bin.mae_truth < 1.1 * l2.mae_truth);

    /* the outputs a user looks at are there */
    const char *files[] = {"model.safetensors", "metrics.json", "history.csv", "loss.gp", "efficiency.gp",
                           "eff_points.csv", "eff_model.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/binomial/%s", dir, files[i]);
        if (access(p, F_OK) != 0) fail_msg("missing %s", p);
    }
    assert_int_equal(test_tmpdir_free(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_surrogate_learns_the_true_efficiency)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
