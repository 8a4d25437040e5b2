/* The avo workflow end to end: the Weinberg model from the AVO paper's
 * start recovers the identifiable combination c of the truth (42, 0.9);
 * the same seed gives the same history; observed data from memory work as
 * simulated ones; a small tracker run moves its offset toward the truth and
 * writes its detector images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

static char *dir; /* test_tmpdir() */

static double weinberg_c(const double *t) { return hd_weinberg_c(t[0], t[1]); }

static hd_avo_opts weinberg_opts(hd_simulator *s, const char *out, const double *truth)
{
    hd_avo_opts o = hd_avo_opts_default(s);
    o.out_dir = out;
    o.truth = truth;
    o.mean0[0] = 45; /* the paper's start: c = 0 */
    o.width0[0] = 1;
    o.mean0[1] = 1;
    o.width0[1] = 0.1;
    o.derived_name = "c";
    o.derived = weinberg_c;
    o.seed = 3;
    o.n_observed = 16384; /* 4096 pin c to about +-0.03 only (docs/avo.md) */
    return o;
}

static char *read_text(const char *d, const char *name)
{
    char path[4096];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", d, name);
    return (char *)slurp(path, &n);
}

static double json_number(const cJSON *j, const char *obj, const char *key)
{
    const cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(j, obj) : j;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("metrics.json: no number %s.%s", obj ? obj : "", key);
    return v->valuedouble;
}

static void test_weinberg_recovers_c(void **state)
{
    (void)state;
    const double truth[2] = {42, 0.9};
    hd_simulator *s = hd_weinberg_new();
    char a[4000], b[4000];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    mkdir(a, 0777);
    mkdir(b, 0777);
    hd_avo_opts o = weinberg_opts(s, a, truth);
    hd_avo_result r;
    assert_int_equal(hd_avo_run(&o, &r), HD_OK);
    assert_int_equal(r.iterations, 256);
    double c = r.derived, c_truth = weinberg_c(truth);
    if (fabs(c - c_truth) > 0.05) fail_msg("c = %.4f, truth %.4f", c, c_truth);
    for (int k = 0; k < 2; k++) assert_true(r.mean[k] >= s->lo[k] && r.mean[k] <= s->hi[k]);

    char *text = read_text(a, "metrics.json");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(fabs(json_number(j, "mean", "E_beam") - r.mean[0]) < 1e-6);
    assert_true(fabs(json_number(j, "mean", "G_f") - r.mean[1]) < 1e-6);
    assert_true(fabs(json_number(j, "width", "E_beam") - r.width[0]) < 1e-6);
    assert_true(fabs(json_number(j, NULL, "c") - c) < 1e-6);
    assert_true(fabs(json_number(j, NULL, "c_truth") - c_truth) < 1e-8);
    cJSON_Delete(j);
    free(text);

    /* the same seed (and thread count): the same history, bit for bit */
    o.out_dir = b;
    hd_avo_result r2;
    assert_int_equal(hd_avo_run(&o, &r2), HD_OK);
    char *ha = read_text(a, "history.csv"), *hb = read_text(b, "history.csv");
    assert_string_equal(ha, hb);
    assert_non_null(strstr(ha, "iteration,E_beam_mean,E_beam_width,E_beam_lo,E_beam_hi,E_beam_truth,"));
    int rows = 0;
    for (const char *p = ha; *p; p++) rows += *p == '\n';
    assert_int_equal(rows, 1 + 257); /* header, the start, 256 iterations */
    free(ha);
    free(hb);

    /* another seed: another history */
    o.seed = 4;
    assert_int_equal(hd_avo_run(&o, &r2), HD_OK);
    hb = read_text(b, "history.csv");
    ha = read_text(a, "history.csv");
    assert_string_not_equal(ha, hb);
    free(ha);
    free(hb);
    hd_simulator_free(s);
}

/* With the exact R1 penalty (weight 10, as the AVO reference code) the fit still finds c. */
static void test_weinberg_with_r1(void **state)
{
    (void)state;
    const double truth[2] = {42, 0.9};
    hd_simulator *s = hd_weinberg_new();
    char a[4000];
    snprintf(a, sizeof a, "%s/r1", dir);
    mkdir(a, 0777);
    hd_avo_opts o = weinberg_opts(s, a, truth);
    o.r1 = 10;
    hd_avo_result r;
    assert_int_equal(hd_avo_run(&o, &r), HD_OK);
    double c = r.derived, c_truth = weinberg_c(truth);
    printf("r1 10: c = %.4f, truth %.4f\n", c, c_truth);
    if (fabs(c - c_truth) > 0.05) fail_msg("c = %.4f with r1 = 10, truth %.4f", c, c_truth);
    hd_simulator_free(s);
}

/* Observed data given as an array (as from a .npy) and no truth. */
static void test_observed_array(void **state)
{
    (void)state;
    hd_simulator *s = hd_weinberg_new();
    enum { N = 4096 };
    float *x = malloc(N * sizeof *x);
    double theta[2] = {42, 0.9};
    assert_int_equal(hd_simulator_run(s, 1, theta, N, 99, 0, x), HD_OK);
    char d[4000];
    snprintf(d, sizeof d, "%s/obs", dir);
    mkdir(d, 0777);
    hd_avo_opts o = weinberg_opts(s, d, NULL);
    o.observed = x;
    o.n_observed = N;
    o.iterations = 128;
    hd_avo_result r;
    assert_int_equal(hd_avo_run(&o, &r), HD_OK);
    double c = r.derived;
    if (!(c < -0.5)) fail_msg("c = %.4f after 128 iterations toward -1.05", c); /* from 0 */
    char *h = read_text(d, "history.csv");
    assert_null(strstr(h, "truth"));
    free(h);
    o.observed = NULL; /* neither data nor truth */
    assert_error(hd_avo_run(&o, &r), HD_EINVAL, "observed data or a truth", NULL);
    free(x);
    hd_simulator_free(s);
}

/* A small tracker study: 8 x 8 images, the CNN discriminator. */
static void test_tracker_moves_toward_truth(void **state)
{
    (void)state;
    hd_eeqq_opts g = hd_eeqq_opts_default();
    hd_tracker_opts t = hd_tracker_opts_default();
    t.n_eta = t.n_phi = 8;
    hd_simulator *s = hd_tracker_sim_new(&t, hd_eeqq_source(&g), -10, 10);
    assert_non_null(s);
    char d[4000];
    snprintf(d, sizeof d, "%s/tracker", dir);
    mkdir(d, 0777);
    const double truth[1] = {2};
    hd_avo_opts o = hd_avo_opts_default(s);
    o.out_dir = d;
    o.truth = truth;
    o.n_observed = 1024;
    o.disc_samples = 1024;
    o.pretrain_samples = 4096;
    o.iterations = 40;
    o.optim_proposal.lr = 0.05f;
    hd_avo_result r;
    assert_int_equal(hd_avo_run(&o, &r), HD_OK);
    if (!(r.mean[0] > 1.0)) fail_msg("offset %.3f after 40 iterations from 0 toward 2", r.mean[0]);
    char path[4096];
    snprintf(path, sizeof path, "%s/images_0.dat", d); /* observed mean image */
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/convergence_offset.gp", d);
    assert_int_equal(access(path, F_OK), 0);
    hd_simulator_free(s);
}

static void test_bad_options(void **state)
{
    (void)state;
    hd_simulator *s = hd_weinberg_new();
    const double truth[2] = {42, 0.9}, outside[2] = {60, 0.9};
    hd_avo_opts o = weinberg_opts(s, dir, truth);
    hd_avo_result r;
    o.truth = outside;
    assert_error(hd_avo_run(&o, &r), HD_EINVAL, "truth E_beam = 60", "[40, 50]");
    o = weinberg_opts(s, dir, truth);
    o.width0[1] = 0;
    assert_error(hd_avo_run(&o, &r), HD_EINVAL, "start of G_f", NULL);
    o = weinberg_opts(s, dir, truth);
    o.iterations = 5000;
    assert_error(hd_avo_run(&o, &r), HD_EINVAL, "5000 iterations", NULL);
    o = weinberg_opts(s, "/nonexistent/avo", truth);
    o.iterations = 1;
    assert_error(hd_avo_run(&o, &r), HD_EIO, "/nonexistent/avo/history.csv", NULL);
    hd_simulator_free(s);
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("avo")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weinberg_recovers_c),
        cmocka_unit_test(test_weinberg_with_r1),
        cmocka_unit_test(test_observed_array),
        cmocka_unit_test(test_tracker_moves_toward_truth),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
