/* Learning-rate schedules: exponential decay and reduce-on-plateau, on
 * hand-made loss sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "hadron/nn.h"

static void test_exponential(void **state)
{
    (void)state;
    assert_float_equal(hd_lr_exponential(0.1f, 0.5f, 0), 0.1f, 0);
    assert_float_equal(hd_lr_exponential(0.1f, 0.5f, 3), 0.0125f, 0);
    assert_float_equal(hd_lr_exponential(1e-3f, 0.9f, 10), (double)1e-3f * pow((double)0.9f, 10), 1e-9);
    assert_float_equal(hd_lr_exponential(2.0f, 1.0f, 1000), 2.0f, 0);
    float lr = hd_lr_exponential(1e-3f, 0.99f, 500);
    double want = (double)1e-3f * pow((double)0.99f, 500); /* the rates as float32 hold them */
    assert_true(lr > 0.0f && fabs(lr - want) < 1e-6 * want);
}

static void test_plateau_default(void **state)
{
    (void)state;
    hd_plateau p = hd_plateau_default();
    assert_int_equal(p.window, 10);
    assert_float_equal(p.factor, 0.5f, 0);
    assert_float_equal(p.min_lr, 1e-10f, 0);
    assert_int_equal(p.epoch, 0);
}

/* Feeds losses[0..n) and records the rate after each epoch. */
static void feed(hd_plateau *p, const double *losses, int n, float *lr, float *lr_after)
{
    for (int e = 0; e < n; e++) {
        assert_int_equal(hd_plateau_update(p, losses[e], lr), 0);
        lr_after[e] = *lr;
    }
}

static void test_no_reduction_while_improving(void **state)
{
    (void)state;
    hd_plateau p = hd_plateau_default();
    float lr = 1e-3f;
    for (int e = 0; e < 200; e++) assert_int_equal(hd_plateau_update(&p, 100.0 / (e + 1), &lr), 0);
    assert_float_equal(lr, 1e-3f, 0);
    assert_int_equal(p.epoch, 200);

    /* Noisy but with a new minimum in every window: still no reduction. */
    p = hd_plateau_default();
    for (int e = 0; e < 100; e++) {
        double loss = (e % 10 == 7) ? 10.0 - e / 10 : 50.0 + (e % 3);
        assert_int_equal(hd_plateau_update(&p, loss, &lr), 0);
    }
    assert_float_equal(lr, 1e-3f, 0);
}

/* Window 1 (epochs 1-10) improves, window 2 (11-20) never beats its best:
 * the rate halves exactly at epoch 20, not before; the first window, having
 * nothing before it, never reduces even when flat. */
static void test_reduction_at_epoch_20(void **state)
{
    (void)state;
    double losses[30];
    for (int e = 0; e < 10; e++) losses[e] = 10.0 - e; /* best 1 */
    for (int e = 10; e < 20; e++) losses[e] = 1.0 + 0.1 * (e % 4);  /* best 1: equal is no better */
    for (int e = 20; e < 30; e++) losses[e] = 0.5;                  /* improves */
    hd_plateau p = hd_plateau_default();
    float lr = 1e-3f, after[30];
    feed(&p, losses, 30, &lr, after);
    for (int e = 0; e < 19; e++) assert_float_equal(after[e], 1e-3f, 0);
    for (int e = 19; e < 30; e++) assert_float_equal(after[e], 0.5e-3f, 0);

    /* Flat from the start: no change at epoch 10, halves at 20, 30, 40. */
    p = hd_plateau_default();
    lr = 1.0f;
    for (int e = 1; e <= 40; e++) {
        assert_int_equal(hd_plateau_update(&p, 3.0, &lr), 0);
        float want = e < 20 ? 1.0f : e < 30 ? 0.5f : e < 40 ? 0.25f : 0.125f;
        assert_float_equal(lr, want, 0);
    }
}

/* A bad stretch inside a window is not judged until the window closes, and a
 * late improvement in the window rescues it. */
static void test_checks_only_at_window_ends(void **state)
{
    (void)state;
    double losses[20];
    for (int e = 0; e < 10; e++) losses[e] = 2.0;
    for (int e = 10; e < 19; e++) losses[e] = 5.0;
    losses[19] = 1.9; /* the last epoch of window 2 beats window 1 */
    hd_plateau p = hd_plateau_default();
    float lr = 1.0f, after[20];
    feed(&p, losses, 20, &lr, after);
    for (int e = 0; e < 20; e++) assert_float_equal(after[e], 1.0f, 0);

    /* Window 3 with a flat loss: changes happen only at multiples of 3. */
    p = hd_plateau_default();
    p.window = 3;
    lr = 1.0f;
    for (int e = 1; e <= 15; e++) {
        assert_int_equal(hd_plateau_update(&p, 7.0, &lr), 0);
        int reductions = e / 3 - 1 > 0 ? e / 3 - 1 : 0;
        assert_float_equal(lr, ldexpf(1.0f, -reductions), 0);
    }

    /* Windows do not overlap: a best early in window 2 counts for window 2
     * only, so window 3 is compared with window 2's best (0.5), not window 1's. */
    p = hd_plateau_default();
    p.window = 2;
    lr = 1.0f;
    const double seq[6] = {1.0, 1.0, 0.5, 0.9, 0.8, 0.8};
    float want[6] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.5f};
    for (int e = 0; e < 6; e++) {
        assert_int_equal(hd_plateau_update(&p, seq[e], &lr), 0);
        assert_float_equal(lr, want[e], 0);
    }
}

/* The stop signal comes once the rate falls strictly below min_lr. */
static void test_stop_below_min_lr(void **state)
{
    (void)state;
    hd_plateau p = hd_plateau_default();
    p.window = 2;
    float lr = 4e-10f; /* halves at epochs 4, 6, 8: 2e-10, 1e-10 (equal: go on), 5e-11 (stop) */
    int stop_epoch = 0;
    for (int e = 1; e <= 8 && !stop_epoch; e++) {
        int rc = hd_plateau_update(&p, 1.0, &lr);
        assert_true(rc == 0 || rc == 1);
        if (rc) stop_epoch = e;
    }
    assert_int_equal(stop_epoch, 8);
    assert_true(lr < p.min_lr);
    assert_float_equal(lr, 5e-11f, 5e-11f * 1e-6f);

    /* The seed's set-up, lr 1e-3 and a loss that never improves: stops at
     * the first reduction below 1e-10, i.e. 1e-3 * 2^-k < 1e-10, k = 24. */
    p = hd_plateau_default();
    lr = 1e-3f;
    int e = 0, rc = 0;
    while (!rc && e < 10000) {
        e++;
        rc = hd_plateau_update(&p, 42.0, &lr);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(e, 10 * (24 + 1));
}

/* NaN losses never count as a best; a window of only NaN is no improvement. */
static void test_nan_losses(void **state)
{
    (void)state;
    hd_plateau p = hd_plateau_default();
    p.window = 2;
    float lr = 1.0f;
    const double seq[6] = {1.0, 1.0, NAN, 0.5, NAN, NAN};
    const float want[6] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.5f};
    for (int e = 0; e < 6; e++) {
        assert_int_equal(hd_plateau_update(&p, seq[e], &lr), 0);
        assert_float_equal(lr, want[e], 0);
    }
}

static void test_plateau_errors(void **state)
{
    (void)state;
    hd_plateau p = hd_plateau_default();
    float lr = 1.0f;
    assert_int_equal(hd_plateau_update(NULL, 1.0, &lr), HD_EINVAL);
    assert_int_equal(hd_plateau_update(&p, 1.0, NULL), HD_EINVAL);
    p.window = 0;
    hd_clear_error();
    assert_int_equal(hd_plateau_update(&p, 1.0, &lr), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "window"));
    p = hd_plateau_default();
    p.factor = 0.0f;
    assert_int_equal(hd_plateau_update(&p, 1.0, &lr), HD_EINVAL);
    p.factor = 2.0f;
    assert_int_equal(hd_plateau_update(&p, 1.0, &lr), HD_EINVAL);
    assert_float_equal(lr, 1.0f, 0);
    assert_int_equal(p.epoch, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_plateau_default),
        cmocka_unit_test(test_no_reduction_while_improving),
        cmocka_unit_test(test_reduction_at_epoch_20),
        cmocka_unit_test(test_checks_only_at_window_ends),
        cmocka_unit_test(test_stop_below_min_lr),
        cmocka_unit_test(test_nan_losses),
        cmocka_unit_test(test_plateau_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
