/* The exact distribution of the sum of two log-normals (metrics/lognormal_sum.c):
 * sf + cdf = 1, convergence of the integration (2048 against 16384
 * intervals, into the far tail), the density against differences of the
 * cdf, quantiles as inverses, and the quantiles against 10^6 direct samples
 * within their statistical error, for equal and for unequal pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "hadron/hadron.h"
#include "test_util.h"

static const hd_lognormal_pair pairs[] = {{0, 1, 0, 1}, {0.5, 0.5, -1, 1.5}, {2, 0.3, 2, 0.3}};
#define N_PAIRS 3

static void test_sf_cdf_complement(void **state)
{
    (void)state;
    for (int k = 0; k < N_PAIRS; k++)
        for (double s = 0.05; s < 200; s *= 1.7) {
            double sf = hd_lognormal_sum_sf(&pairs[k], s), cdf = hd_lognormal_sum_cdf(&pairs[k], s);
            assert_true(sf >= 0 && sf <= 1 && cdf >= 0 && cdf <= 1);
            assert_true(fabs(sf + cdf - 1) < 1e-10);
        }
}

static void test_converged(void **state)
{
    (void)state;
    for (int k = 0; k < N_PAIRS; k++)
        for (double s = 0.05; s < 1000; s *= 1.5) {
            double a = hd_lognormal_sum_sf(&pairs[k], s), b = hd_lognormal_sum_sf_n(&pairs[k], s, 16384);
            if (b < 1e-250) continue;
            assert_true(fabs(a - b) <= 1e-9 * b);
        }
}

static void test_pdf_integrates(void **state)
{
    (void)state;
    for (int k = 0; k < N_PAIRS; k++)
        for (double a = 0.2; a < 60; a *= 2) {
            double b = 1.5 * a, h = (b - a) / 2000, sum = 0;
            for (int i = 0; i <= 2000; i++)
                sum += (i == 0 || i == 2000 ? 1 : i % 2 ? 4 : 2) * hd_lognormal_sum_pdf(&pairs[k], a + h * i);
            sum *= h / 3;
            double cb = hd_lognormal_sum_cdf(&pairs[k], b); /* the difference of the smaller tail: no cancellation */
            double diff = cb < 0.5 ? cb - hd_lognormal_sum_cdf(&pairs[k], a)
                                   : hd_lognormal_sum_sf(&pairs[k], a) - hd_lognormal_sum_sf(&pairs[k], b);
            if (fabs(sum - diff) > 1e-8 * diff + 1e-300)
                fail_msg("pair %d [%g, %g]: integral of the density %.12g, sf difference %.12g", k, a, b, sum, diff);
        }
}

static void test_quantile_inverts(void **state)
{
    (void)state;
    static const double qs[] = {1e-6, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-7};
    for (int k = 0; k < N_PAIRS; k++)
        for (int i = 0; i < 7; i++) {
            double s = hd_lognormal_sum_quantile(&pairs[k], qs[i]);
            if (qs[i] > 0.5) assert_true(fabs(hd_lognormal_sum_sf(&pairs[k], s) - (1 - qs[i])) < 1e-9 * (1 - qs[i]));
            else assert_true(fabs(hd_lognormal_sum_cdf(&pairs[k], s) - qs[i]) < 1e-9 * qs[i]);
        }
    assert_true(isnan(hd_lognormal_sum_quantile(&pairs[0], 0)));
    assert_true(isnan(hd_lognormal_sum_quantile(&pairs[0], 1)));
}

/* The fraction of 10^6 direct sums above each exact quantile is 1 - q
 * within 4 binomial standard deviations. */
static void test_against_sampling(void **state)
{
    (void)state;
    enum { N = 1000000 };
    static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999};
    float *z = malloc(2 * N * sizeof(float));
    assert_non_null(z);
    for (int k = 0; k < N_PAIRS; k++) {
        hd_rng r;
        hd_rng_init(&r, 7 + (uint64_t)k, HD_STREAM_USER);
        hd_rng_fill_normal(&r, z, 2 * N, 0.0f, 1.0f);
        for (int i = 0; i < 7; i++) {
            double s = hd_lognormal_sum_quantile(&pairs[k], qs[i]);
            int64_t above = 0;
            for (int64_t j = 0; j < N; j++)
                above += exp(pairs[k].mu1 + pairs[k].sigma1 * z[2 * j]) + exp(pairs[k].mu2 + pairs[k].sigma2 * z[2 * j + 1]) > s;
            double expect = N * (1 - qs[i]), sd = sqrt(N * qs[i] * (1 - qs[i]));
            if (fabs((double)above - expect) >= 4 * sd)
                fail_msg("pair %d q %g: %lld above %g, expected %g +- %g", k, qs[i], (long long)above, s, expect, sd);
        }
    }
    free(z);
}

static void test_check(void **state)
{
    (void)state;
    for (int k = 0; k < N_PAIRS; k++) assert_int_equal(hd_lognormal_pair_check(&pairs[k]), HD_OK);
    hd_lognormal_pair bad[] = {{NAN, 1, 0, 1}, {0, 0, 0, 1}, {0, 1, 0, 11}, {0, 0.1, 0, 1}, {200, 1, 0, 1}};
    for (int k = 0; k < 5; k++) assert_int_equal(hd_lognormal_pair_check(&bad[k]), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "mu"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sf_cdf_complement), cmocka_unit_test(test_converged),
        cmocka_unit_test(test_pdf_integrates),    cmocka_unit_test(test_quantile_inverts),
        cmocka_unit_test(test_against_sampling),  cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
