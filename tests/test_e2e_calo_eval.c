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

/* generated against reference (files in dir) into dir/out, with o's options (NULL: 15 epochs) */
static hd_calo_eval_result evaluate_with(const char *reference, const char *generated, const char *out,
                                         const hd_calo_eval_opts *with)
{
    char ref[4300], gen[4300], outdir[4300];
    snprintf(ref, sizeof ref, "%s/%s", dir, reference);
    snprintf(gen, sizeof gen, "%s/%s", dir, generated);
    snprintf(outdir, sizeof outdir, "%s/%s", dir, out);
    mkdir(outdir, 0777);
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    if (with) o = *with;
    else o.c2st.epochs = 15;
    o.reference = ref;
    o.generated = gen;
    o.out_dir = outdir;
    hd_calo_eval_result r;
    if (hd_calo_eval_run(&o, &r) != HD_OK) fail_msg("%s", hd_last_error());
    return r;
}

static hd_calo_eval_result evaluate(const char *generated, const char *out)
{
    hd_calo_eval_result r = evaluate_with("ref.h5", generated, out, NULL);
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

static void assert_same_scores(const hd_calo_eval_result *x, const hd_calo_eval_result *y)
{
    assert_memory_equal(&x->model, &y->model, sizeof x->model);
    assert_memory_equal(&x->floor, &y->floor, sizeof x->floor);
}

/* The showers are streamed in chunks: 7 at a time gives the bits of one
 * chunk; the voxel classifier sees the subsample it is given, and
 * metrics.json says how many. */
static void test_chunks_change_nothing_and_the_subsample_is_reported(void **state)
{
    (void)state;
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    o.c2st.epochs = 2;
    o.max_showers = 900;
    o.voxel_showers = 300;
    hd_calo_eval_result whole = evaluate_with("ref.h5", "same.h5", "whole", &o);
    o.chunk_showers = 7;
    hd_calo_eval_result chunks = evaluate_with("ref.h5", "same.h5", "chunks", &o);
    assert_same_scores(&whole, &chunks);
    assert_int_equal(whole.n_reference, 450);
    assert_int_equal(whole.n_voxel_reference, 300);
    assert_int_equal(whole.n_voxel_generated, 300);
    assert_int_equal(whole.n_voxel_floor, 300);
    char path[4300];
    snprintf(path, sizeof path, "%s/chunks/metrics.json", dir);
    size_t n;
    char *json = (char *)slurp(path, &n);
    if (!strstr(json, "\"n_voxel_reference\": 300")) fail_msg("metrics.json lacks n_voxel_reference 300");
    free(json);
}

static void simulate_ecal30(uint64_t seed, const char *name, hd_calo_format format)
{
    hd_calo_opts o = hd_calo_opts_default();
    assert_int_equal(hd_calo_layout_get("ecal30", &o.layout), HD_OK);
    o.seed = seed;
    o.n_showers = 600;
    o.format = format;
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (hd_calo_write(&o, path) != HD_OK) fail_msg("%s", hd_last_error());
}

/* The grid's conditions (momentum, entry_point) come with the showers,
 * streamed from HDF5 or read whole from an .npz: the same numbers. */
static void test_ecal30_streamed_and_whole_agree(void **state)
{
    (void)state;
    simulate_ecal30(1, "e_ref.h5", HD_CALO_H5);
    simulate_ecal30(2, "e_gen.h5", HD_CALO_H5);
    simulate_ecal30(1, "e_ref.npz", HD_CALO_NPZ);
    simulate_ecal30(2, "e_gen.npz", HD_CALO_NPZ);
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    o.c2st.epochs = 2;
    o.chunk_showers = 128;
    hd_calo_eval_result h5 = evaluate_with("e_ref.h5", "e_gen.h5", "e_h5", &o);
    hd_calo_eval_result npz = evaluate_with("e_ref.npz", "e_gen.npz", "e_npz", &o);
    assert_same_scores(&h5, &npz);
    assert_int_equal(h5.n_features, 54);
    assert_true(fabs(h5.model.auc_high - 0.5) < 3 * h5.model.auc_high_err + 0.05);
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
        cmocka_unit_test(test_chunks_change_nothing_and_the_subsample_is_reported),
        cmocka_unit_test(test_ecal30_streamed_and_whole_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
