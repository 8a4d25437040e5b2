/* The classifier two-sample test: same distribution -> AUC within its error
 * of 0.5 and JSD near 0; a shifted or widened sample -> AUC well above;
 * the same seed repeats its result; bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define N 3000
#define D 6

/* N rows of D Gaussian features; `shift` moves feature 0, `scale` widens feature 1. */
static float *sample(uint64_t seed, float shift, float scale)
{
    float *x = malloc(N * D * sizeof *x);
    assert_non_null(x);
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER + 3);
    hd_rng_fill_normal(&r, x, N * D, 0.0f, 1.0f);
    for (int i = 0; i < N; i++) {
        x[i * D] += shift;
        x[i * D + 1] *= scale;
    }
    return x;
}

static hd_c2st_opts quick(void)
{
    hd_c2st_opts o = hd_c2st_opts_default();
    o.model.hidden[0] = o.model.hidden[1] = 32;
    o.epochs = 20;
    return o;
}

static void test_same_distribution_is_indistinguishable(void **state)
{
    (void)state;
    float *a = sample(1, 0, 1), *b = sample(2, 0, 1);
    hd_c2st_opts o = quick();
    hd_c2st_result r;
    if (hd_c2st(&o, N, a, N, b, D, &r) != HD_OK) fail_msg("%s", hd_last_error());
    printf("same: AUC %.4f +- %.4f, JSD %.4f +- %.4f, best epoch %d, %lld validation rows\n", r.auc, r.auc_err, r.jsd,
           r.jsd_err, r.best_epoch, (long long)r.n_val);
    assert_int_equal(r.n_val, 2 * (N - (int)(0.6 * N) - (int)(0.2 * N)));
    assert_true(r.auc_err > 0.005 && r.auc_err < 0.03);
    assert_true(fabs(r.auc - 0.5) < 3 * r.auc_err);
    assert_true(fabs(r.jsd) < 0.02);
    free(a);
    free(b);
}

static void test_differences_are_found(void **state)
{
    (void)state;
    float *a = sample(1, 0, 1), *shifted = sample(2, 0.3f, 1), *wider = sample(3, 0, 1.5f);
    hd_c2st_opts o = quick();
    hd_c2st_result r1, r2, again;
    assert_int_equal(hd_c2st(&o, N, a, N, shifted, D, &r1), HD_OK);
    assert_int_equal(hd_c2st(&o, N, a, N, wider, D, &r2), HD_OK);
    printf("shift 0.3 sigma: AUC %.4f +- %.4f, JSD %.4f; width x1.5: AUC %.4f +- %.4f, JSD %.4f\n", r1.auc, r1.auc_err,
           r1.jsd, r2.auc, r2.auc_err, r2.jsd);
    /* a 0.3 sigma shift in one feature: the best classifier reaches AUC Phi(0.15 sqrt 2) = 0.584 */
    assert_true(r1.auc > 0.5 + 3 * r1.auc_err && r1.auc < 0.62);
    /* 1.5 times wider: the best classifier (on |x|) reaches (2 / pi) atan 1.5 = 0.626 */
    assert_true(r2.auc > 0.5 + 3 * r2.auc_err && r2.auc < 0.66);
    /* JSD is the coarser measure: the shift is within its noise, the width not */
    assert_true(r1.jsd > -3 * r1.jsd_err && r2.jsd > 3 * r2.jsd_err);
    /* the same seed repeats the same split, training and result */
    assert_int_equal(hd_c2st(&o, N, a, N, shifted, D, &again), HD_OK);
    assert_true(again.auc == r1.auc && again.jsd == r1.jsd);
    free(a);
    free(shifted);
    free(wider);
}

static void test_bad_input_is_refused(void **state)
{
    (void)state;
    float *a = sample(1, 0, 1), *b = sample(2, 0, 1);
    hd_c2st_opts o = quick();
    hd_c2st_result r;
    b[5 * D + 2] = NAN;
    assert_error(hd_c2st(&o, N, a, N, b, D, &r), HD_EINVAL, "sample b row 5 column 2 is not finite", NULL);
    assert_error(hd_c2st(&o, 20, a, N, a, D, &r), HD_EINVAL, "sample a has 20 rows", NULL);
    o.train_frac = 0.9;
    assert_error(hd_c2st(&o, N, a, N, a, D, &r), HD_EINVAL, "leave rows to validate", NULL);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_distribution_is_indistinguishable),
        cmocka_unit_test(test_differences_are_found),
        cmocka_unit_test(test_bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
