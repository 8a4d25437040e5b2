/* The Weinberg simulator: c(E_beam, G_f), its declared parameters, the mean
 * and the histogram of x against the density (clamped at 0 for |c| > 2),
 * and reproducibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"

#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, expected %.17g +- %g", line, what, a, b, tol);
}

enum { N = 100000, BINS = 40 };

/* N observations at (e_beam, g_f) from one draw of the run. */
static float *sample(double e_beam, double g_f, uint64_t seed)
{
    hd_simulator *s = hd_weinberg_new();
    assert_non_null(s);
    float *x = malloc(N * sizeof *x);
    assert_non_null(x);
    double theta[2] = {e_beam, g_f};
    int rc = hd_simulator_run(s, 1, theta, N, seed, 0, x);
    if (rc) fail_msg("hd_simulator_run: %s", hd_last_error());
    hd_simulator_free(s);
    return x;
}

static void test_c(void **state)
{
    (void)state;
    /* 30-digit values (mpmath) of 2 tanh(10 (2 E - 90) / 90) G */
    assert_near(hd_weinberg_c(42, 0.9), -1.04900930162623821612175197705, 1e-14);
    assert_near(hd_weinberg_c(50, 1.5), 2.41336440089520407849170312096, 1e-14);
    assert_near(hd_weinberg_c(40, 1.1), -1.76980056065648299089391562204, 1e-14);
    for (double g = 0.5; g <= 1.5; g += 0.25) assert_true(hd_weinberg_c(45, g) == 0);
}

static void test_declaration(void **state)
{
    (void)state;
    hd_simulator *s = hd_weinberg_new();
    assert_non_null(s);
    assert_string_equal(s->name, "weinberg");
    assert_int_equal(s->n_params, 2);
    assert_string_equal(s->param_names[0], "E_beam");
    assert_string_equal(s->param_names[1], "G_f");
    assert_true(s->lo[0] == 40 && s->hi[0] == 50 && s->lo[1] == 0.5 && s->hi[1] == 1.5);
    assert_int_equal(s->obs_ndim, 1);
    assert_int_equal(s->obs_shape[0], 1);
    assert_int_equal(hd_simulator_obs_size(s), 1);
    hd_simulator_free(s);
}

/* <x> = c (2/3) / (8/3) = c / 4, and Var x = 2/5 - (c/4)^2, while |c| <= 2. */
static void test_mean(void **state)
{
    (void)state;
    const double theta[][2] = {{42, 0.9}, {45, 1.0}, {47, 1.2}, {49, 1.1}, {40, 0.5}};
    for (size_t k = 0; k < sizeof theta / sizeof theta[0]; k++) {
        double c = hd_weinberg_c(theta[k][0], theta[k][1]);
        assert_true(fabs(c) <= 2);
        float *x = sample(theta[k][0], theta[k][1], 7 + k);
        double sum = 0;
        for (int i = 0; i < N; i++) sum += x[i];
        double sigma = sqrt((0.4 - c * c / 16) / N);
        assert_near(sum / N, c / 4, 5 * sigma);
        free(x);
    }
}

/* max(0, 1 + x^2 + c x) integrated over [a, b] by Simpson's rule. */
static double integral(double c, double a, double b)
{
    enum { STEPS = 2000 };
    double h = (b - a) / STEPS, sum = 0;
    for (int i = 0; i <= STEPS; i++) {
        double x = a + i * h, f = fmax(0, 1 + x * x + c * x);
        sum += f * (i == 0 || i == STEPS ? 1 : i % 2 ? 4 : 2);
    }
    return sum * h / 3;
}

/* Chi^2 of the histogram of x against the clamped density, for c inside
 * and outside |c| <= 2. */
static void test_histogram(void **state)
{
    (void)state;
    const double theta[][2] = {{42, 0.9}, {45, 1.0}, {49, 1.1}, {50, 1.5}, {40, 1.5}, {41, 1.4}};
    for (size_t k = 0; k < sizeof theta / sizeof theta[0]; k++) {
        double c = hd_weinberg_c(theta[k][0], theta[k][1]), total = integral(c, -1, 1);
        float *x = sample(theta[k][0], theta[k][1], 100 + k);
        int64_t count[BINS] = {0};
        for (int i = 0; i < N; i++) {
            assert_true(x[i] >= -1 && x[i] <= 1);
            assert_true(1 + x[i] * (double)x[i] + c * x[i] >= -1e-6); /* never where the density is 0 */
            count[x[i] >= 1 ? BINS - 1 : (int)((x[i] + 1) * BINS / 2)]++;
        }
        double chi2 = 0;
        int ndf = 0;
        for (int b = 0; b < BINS; b++) {
            double expected = N * integral(c, -1 + 2.0 * b / BINS, -1 + 2.0 * (b + 1) / BINS) / total;
            if (expected < 5) {
                assert_true(count[b] <= 3 * expected + 5);
                continue;
            }
            chi2 += (count[b] - expected) * (count[b] - expected) / expected;
            ndf++;
        }
        /* about 6 sigma of a chi^2 with ndf degrees of freedom */
        if (chi2 > ndf + 6 * sqrt(2.0 * ndf)) fail_msg("c = %g: chi2 = %g for %d bins", c, chi2, ndf);
        free(x);
    }
}

static void test_reproducible(void **state)
{
    (void)state;
    float *a = sample(42, 0.9, 3), *b = sample(42, 0.9, 3), *c = sample(42, 0.9, 4);
    assert_memory_equal(a, b, N * sizeof *a);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    assert_true(same < N / 100);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c),         cmocka_unit_test(test_declaration),  cmocka_unit_test(test_mean),
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
