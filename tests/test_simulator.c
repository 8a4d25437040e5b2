/* The simulator driver hd_simulator_run: where each draw's random numbers
 * come from, clamping into the box, results independent of the thread
 * count, the first failing draw's error, and argument checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "test_util.h"

/* A probe: observation i of a call is (theta[0], theta[1], the block the
 * call's stream started at, a uniform).  It fails, naming theta[0], when
 * theta[0] > 0.5. */
static int probe_simulate(const hd_simulator *s, const double *theta, int64_t n, hd_rng *rng, float *out)
{
    (void)s;
    if (theta[0] > 0.5) return hd_error(HD_EFORMAT, "probe fails at a = %.2f", theta[0]);
    uint64_t start = rng->counter;
    for (int64_t i = 0; i < n; i++) {
        out[4 * i] = (float)theta[0];
        out[4 * i + 1] = (float)theta[1];
        out[4 * i + 2] = (float)(start >> 32);
        out[4 * i + 3] = hd_rng_uniform(rng);
    }
    return HD_OK;
}

static const hd_simulator probe = {.name = "probe",
                                   .n_params = 2,
                                   .param_names = {"a", "b"},
                                   .lo = {-1, 0},
                                   .hi = {1, 10},
                                   .obs_ndim = 2,
                                   .obs_shape = {2, 2},
                                   .simulate = probe_simulate};

enum { DRAWS = 40, PER_DRAW = 8, OBS = 4 };

static float *run_probe(const double *theta, int64_t n_draws, uint64_t first)
{
    float *out = malloc((size_t)(n_draws * PER_DRAW * OBS) * sizeof *out);
    assert_non_null(out);
    int rc = hd_simulator_run(&probe, n_draws, theta, PER_DRAW, 11, first, out);
    if (rc) fail_msg("hd_simulator_run: %s", hd_last_error());
    return out;
}

static void fill_theta(double *theta, int64_t n_draws, double a)
{
    for (int64_t d = 0; d < n_draws; d++) {
        theta[2 * d] = a;
        theta[2 * d + 1] = 0.25 * (double)d;
    }
}

static void test_obs_size(void **state)
{
    (void)state;
    assert_int_equal(hd_simulator_obs_size(&probe), 4);
    hd_simulator s = {.obs_ndim = 3, .obs_shape = {2, 32, 16}};
    assert_int_equal(hd_simulator_obs_size(&s), 1024);
    hd_simulator_free(NULL);
    hd_simulator_free(&s); /* no destroy: nothing to do */
}

/* Draw d starts at block (first + d) << 32, so a run of draws 17.. equals
 * the matching slice of a run from 0. */
static void test_draw_streams(void **state)
{
    (void)state;
    double theta[2 * DRAWS];
    fill_theta(theta, DRAWS, 0);
    float *all = run_probe(theta, DRAWS, 0), *part = run_probe(theta + 2 * 17, 5, 17);
    for (int64_t d = 0; d < DRAWS; d++)
        for (int i = 0; i < PER_DRAW; i++) assert_true(all[(d * PER_DRAW + i) * OBS + 2] == (float)d);
    assert_memory_equal(part, all + 17 * PER_DRAW * OBS, 5 * PER_DRAW * OBS * sizeof *part);
    free(all);
    free(part);
}

static void test_clamps_to_box(void **state)
{
    (void)state;
    double theta[8] = {-3, -2, 0.5, 11, -INFINITY, INFINITY, 0.25, 5};
    float *out = run_probe(theta, 4, 0);
    const float want[8] = {-1, 0, 0.5f, 10, -1, 10, 0.25f, 5};
    for (int d = 0; d < 4; d++) {
        assert_true(out[d * PER_DRAW * OBS] == want[2 * d]);
        assert_true(out[d * PER_DRAW * OBS + 1] == want[2 * d + 1]);
    }
    free(out);
}

static float *run_weinberg(int threads, const double *theta)
{
    hd_set_threads(threads);
    hd_simulator *s = hd_weinberg_new();
    assert_non_null(s);
    float *out = malloc(DRAWS * 64 * sizeof *out);
    assert_non_null(out);
    assert_int_equal(hd_simulator_run(s, DRAWS, theta, 64, 5, 3, out), HD_OK);
    hd_simulator_free(s);
    hd_set_threads(2);
    return out;
}

static void test_threads_do_not_matter(void **state)
{
    (void)state;
    double theta[2 * DRAWS];
    for (int d = 0; d < DRAWS; d++) {
        theta[2 * d] = 40 + 0.25 * d;
        theta[2 * d + 1] = 0.5 + 0.025 * d;
    }
    float *one = run_weinberg(1, theta), *two = run_weinberg(2, theta), *four = run_weinberg(4, theta);
    assert_memory_equal(one, two, DRAWS * 64 * sizeof *one);
    assert_memory_equal(one, four, DRAWS * 64 * sizeof *one);
    free(one);
    free(two);
    free(four);
}

/* Draws 5, 9 and 30 fail: the error is always draw 5's. */
static void test_first_failure_wins(void **state)
{
    (void)state;
    double theta[2 * DRAWS];
    fill_theta(theta, DRAWS, 0);
    theta[2 * 30] = 0.6;
    theta[2 * 9] = 0.7;
    theta[2 * 5] = 0.8;
    float *out = malloc(DRAWS * PER_DRAW * OBS * sizeof *out);
    assert_non_null(out);
    for (int threads = 1; threads <= 4; threads++) {
        hd_set_threads(threads);
        for (int rep = 0; rep < 20; rep++) {
            hd_clear_error();
            int rc = hd_simulator_run(&probe, DRAWS, theta, PER_DRAW, 1, 0, out);
            assert_error(rc, HD_EFORMAT, "probe fails at a = 0.80", "draw 5)");
        }
    }
    hd_set_threads(2);
    free(out);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    double theta[4] = {0, 0, 0, 0};
    float out[2 * PER_DRAW * OBS];
    assert_error(hd_simulator_run(NULL, 1, theta, 1, 0, 0, out), HD_EINVAL, "NULL simulator", NULL);
    assert_error(hd_simulator_run(&probe, 1, NULL, 1, 0, 0, out), HD_EINVAL, "NULL theta", NULL);
    assert_error(hd_simulator_run(&probe, 1, theta, 1, 0, 0, NULL), HD_EINVAL, "NULL out", NULL);
    assert_error(hd_simulator_run(&probe, -1, theta, 1, 0, 0, out), HD_EINVAL, "n_draws = -1", NULL);
    assert_error(hd_simulator_run(&probe, 1, theta, 0, 0, 0, out), HD_EINVAL, "per_draw = 0", NULL);
    assert_error(hd_simulator_run(&probe, 2, theta, 1, 0, ((uint64_t)1 << 32) - 1, out), HD_EINVAL, "2^32", NULL);
    assert_int_equal(hd_simulator_run(&probe, 2, theta, 1, 0, ((uint64_t)1 << 32) - 2, out), HD_OK);
    assert_int_equal(hd_simulator_run(&probe, 0, NULL, 1, 0, 0, NULL), HD_OK);
    theta[3] = NAN;
    assert_error(hd_simulator_run(&probe, 2, theta, 1, 0, 0, out), HD_EINVAL, "draw 1, parameter b is NaN", NULL);

    hd_simulator s = probe;
    s.simulate = NULL;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "NULL simulate", NULL);
    s = probe;
    s.name = NULL;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "NULL name", NULL);
    s = probe;
    s.param_names[1] = NULL;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "parameter 1 has no name", NULL);
    s = probe;
    s.n_params = 0;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "0 parameters", NULL);
    s = probe;
    s.lo[1] = 20;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "box of b is [20, 10]", NULL);
    s = probe;
    s.obs_shape[1] = 0;
    assert_error(hd_simulator_run(&s, 1, theta, 1, 0, 0, out), HD_EINVAL, "observation shape", NULL);
}

int main(void)
{
    hd_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs_size),
        cmocka_unit_test(test_draw_streams),
        cmocka_unit_test(test_clamps_to_box),
        cmocka_unit_test(test_threads_do_not_matter),
        cmocka_unit_test(test_first_failure_wins),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
