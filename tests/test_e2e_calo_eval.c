/* The judge tells truth from error: two samples of the simulator with
 * different seeds are indistinguishable (AUC within its error of 0.5, FPD
 * and separation at the floor), and a 3% energy-scale shift is flagged
 * (high-level AUC far above the floor, the E_tot/E_inc histogram apart);
 * the outputs are there with the keys a user reads. */
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

#define N 3000

static char *dir;

static void simulate(uint64_t seed, float scale, const char *name)
{
    hd_calo_opts o = hd_calo_opts_default();
    assert_int_equal(hd_calo_layout_get("reduced", &o.layout), HD_OK);
    o.seed = seed;
    o.n_showers = N;
    int64_t v = hd_calo_layout_voxels(&o.layout);
    float *showers = malloc((size_t)(N * v) * sizeof(float)), *e = malloc(N * sizeof(float));
    double *e_inc = malloc(N * sizeof(double));
    assert_true(showers && e && e_inc);
    if (hd_calo_simulate(&o, 0, N, showers, e_inc, NULL, NULL) != HD_OK) fail_msg("%s", hd_last_error());
    for (int64_t i = 0; i < N * v; i++) showers[i] *= scale;
    for (int i = 0; i < N; i++) e[i] = (float)e_inc[i];
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(hd_calo_file_write(path, N, v, e, showers), HD_OK);
    free(showers);
    free(e);
    free(e_inc);
}

static hd_calo_eval_result evaluate(const char *generated, const char *out)
{
    char ref[4300], gen[4300], outdir[4300];
    snprintf(ref, sizeof ref, "%s/ref.h5", dir);
    snprintf(gen, sizeof gen, "%s/%s", dir, generated);
    snprintf(outdir, sizeof outdir, "%s/%s", dir, out);
    mkdir(outdir, 0777);
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    o.reference = ref;
    o.generated = gen;
    o.out_dir = outdir;
    o.c2st.epochs = 15;
    hd_calo_eval_result r;
    if (hd_calo_eval_run(&o, &r) != HD_OK) fail_msg("%s", hd_last_error());
    printf("%s: AUC low %.4f +- %.4f high %.4f +- %.4f, FPD %.4g +- %.2g, separation max %.4f | floor: AUC low %.4f "
           "high %.4f, FPD %.4g +- %.2g, separation max %.4f\n",
           generated, r.model.auc_low, r.model.auc_low_err, r.model.auc_high, r.model.auc_high_err, r.model.fpd,
           r.model.fpd_err, r.model.separation_max, r.floor.auc_low, r.floor.auc_high, r.floor.fpd, r.floor.fpd_err,
           r.floor.separation_max);
    return r;
}

static void test_same_simulator_is_at_the_floor(void **state)
{
    (void)state;
    hd_calo_eval_result r = evaluate("same.h5", "same");
    const hd_calo_scores *m = &r.model, *f = &r.floor;
    assert_int_equal(r.n_reference, N / 2);
    assert_int_equal(r.n_generated, N / 2);
    assert_true(fabs(m->auc_low - 0.5) < 3 * m->auc_low_err + 0.01);
    assert_true(fabs(m->auc_high - 0.5) < 3 * m->auc_high_err + 0.01);
    assert_true(fabs(f->auc_high - 0.5) < 3 * f->auc_high_err + 0.01);
    assert_true(m->fpd < f->fpd + 3 * (m->fpd_err + f->fpd_err));
    assert_true(m->separation_max < 2 * f->separation_max);
    char path[4300];
    snprintf(path, sizeof path, "%s/same/metrics.json", dir);
    size_t n;
    char *json = (char *)slurp(path, &n);
    const char *keys[] = {"\"auc_low\"", "\"auc_high\"", "\"jsd_low\"", "\"fpd\"", "\"fpd_err\"", "\"kpd\"",
                          "\"kpd_err\"", "\"separation\"", "\"floor\"", "\"E_ratio\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!strstr(json, keys[k])) fail_msg("metrics.json lacks %s", keys[k]);
    free(json);
    snprintf(path, sizeof path, "%s/same/report.md", dir);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_energy_scale_shift_is_flagged(void **state)
{
    (void)state;
    hd_calo_eval_result r = evaluate("shifted.h5", "shifted");
    const hd_calo_scores *m = &r.model, *f = &r.floor;
    assert_true(m->auc_high > f->auc_high + 5 * (m->auc_high_err + f->auc_high_err) / 2);
    assert_true(m->auc_high > 0.6);
    assert_true(m->separation_max > 3 * f->separation_max);
}

static int setup(void **state)
{
    (void)state;
    if (!(dir = test_tmpdir("calo_eval"))) return -1;
    simulate(1, 1.0f, "ref.h5");
    simulate(2, 1.0f, "same.h5");
    simulate(3, 1.03f, "shifted.h5");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_simulator_is_at_the_floor),
        cmocka_unit_test(test_energy_scale_shift_is_flagged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
