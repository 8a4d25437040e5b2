/* The bnn workflow's uncertainties: the sampled networks' moments split
 * into aleatoric and epistemic parts without counting the spread twice,
 * and the validation set's offset and scale, recovered from data whose
 * true offset and scale are known, with errors that match their spread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "workflows/bnn/bnn_internal.h"

/* Four draws per event, accumulated as predict() does: sums of the means,
 * of e^logvar and of the squared means. */
static void test_decompose(void **state)
{
    (void)state;
    static const double mu[2][4] = {{1.0, 1.2, 0.8, 1.0}, {-0.5, -0.5, -0.5, -0.5}};
    static const double head[2][4] = {{0.10, 0.12, 0.08, 0.10}, {0.04, 0.04, 0.04, 0.04}};
    double mean[2] = {0}, al[2] = {0}, ep[2] = {0};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            mean[i] += mu[i][k];
            al[i] += head[i][k];
            ep[i] += mu[i][k] * mu[i][k];
        }
    hd_bnn_prediction p = {.mean = hd_malloc(sizeof mean), .aleatoric = hd_malloc(sizeof al),
                           .epistemic = hd_malloc(sizeof ep)};
    memcpy(p.mean, mean, sizeof mean);
    memcpy(p.aleatoric, al, sizeof al);
    memcpy(p.epistemic, ep, sizeof ep);
    assert_int_equal(hd_bnn_decompose(&p, 2, 4), HD_OK);
    /* event 0: mean 1, spread 0.02, head 0.1: aleatoric 0.1 - 2 * 0.02, total head - spread */
    assert_float_equal(p.mean[0], 1.0, 1e-12);
    assert_float_equal(p.epistemic[0], 0.02, 1e-12);
    assert_float_equal(p.aleatoric[0], 0.06, 1e-12);
    assert_float_equal(p.total[0], 0.08, 1e-12);
    /* event 1: identical draws: no spread, the head is all aleatoric */
    assert_float_equal(p.epistemic[1], 0.0, 1e-12);
    assert_float_equal(p.aleatoric[1], 0.04, 1e-12);
    assert_float_equal(p.total[1], 0.04, 1e-12);
    /* a head below twice the spread: no aleatoric part, the total is the spread */
    p.mean[0] = 0;
    p.aleatoric[0] = 4 * 0.01;
    p.epistemic[0] = 4 * 0.02;
    hd_free(p.total);
    assert_int_equal(hd_bnn_decompose(&p, 1, 4), HD_OK);
    assert_float_equal(p.aleatoric[0], 0.0, 1e-12);
    assert_float_equal(p.total[0], 0.02, 1e-12);
    hd_bnn_prediction_free(&p);
}

/* n events with predicted sigma in [0.05, 0.5] whose truth lies at mean +
 * offset + scale * sigma * N(0, 1) (standardised units; y_std 2). */
static void make_set(uint64_t seed, int64_t n, double offset, double scale, hd_bnn_split *s, hd_bnn_prediction *p)
{
    hd_rng r;
    hd_rng_init(&r, seed, 0);
    s->n = n;
    s->y = hd_malloc((size_t)n * sizeof(float));
    p->mean = hd_malloc((size_t)n * sizeof(double));
    p->aleatoric = hd_malloc((size_t)n * sizeof(double));
    p->epistemic = hd_malloc((size_t)n * sizeof(double));
    p->total = hd_malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        double sigma = 0.05 + 0.45 * hd_rng_uniform(&r);
        p->mean[i] = 2 * hd_rng_uniform(&r) - 1;
        p->total[i] = sigma * sigma;
        p->aleatoric[i] = 0.75 * p->total[i];
        p->epistemic[i] = 0.25 * p->total[i];
        s->y[i] = (float)(p->mean[i] + offset + scale * sigma * hd_rng_normal(&r));
    }
}

static void free_set(hd_bnn_split *s, hd_bnn_prediction *p)
{
    hd_free(s->y);
    hd_bnn_prediction_free(p);
}

/* Pull mean and RMS of a set. */
static void pulls(const hd_bnn_split *s, const hd_bnn_prediction *p, double *mean, double *rms)
{
    double a = 0, b = 0;
    for (int64_t i = 0; i < s->n; i++) {
        double z = (s->y[i] - p->mean[i]) / sqrt(p->total[i]);
        a += z;
        b += z * z;
    }
    *mean = a / (double)s->n;
    *rms = sqrt(b / (double)s->n);
}

static void test_calibration_recovers_offset_and_scale(void **state)
{
    (void)state;
    const hd_bnn_transform t = {.pt_scale = 1, .y_mean = 0, .y_std = 2};
    const double offset = 0.01, scale = 0.7; /* standardised; an over-stated sigma, as a big network gives */
    double off_pull[40], scale_pull[40], off_err = 0, scale_err = 0;
    for (int rep = 0; rep < 40; rep++) {
        hd_bnn_split val = {0};
        hd_bnn_prediction p = {0};
        make_set(100 + (uint64_t)rep, 5000, offset, scale, &val, &p);
        hd_bnn_calibration c;
        assert_int_equal(hd_bnn_fit_calibration(&val, &t, &p, &c), HD_OK);
        assert_int_equal(c.applied, 0);
        off_pull[rep] = (c.offset - offset * t.y_std) / c.offset_err;
        scale_pull[rep] = (c.scale - scale) / c.scale_err;
        off_err += c.offset_err / 40;
        scale_err += c.scale_err / 40;
        free_set(&val, &p);
    }
    /* the estimates scatter around the truth as their errors say */
    double m1 = 0, v1 = 0, m2 = 0, v2 = 0;
    for (int k = 0; k < 40; k++) {
        m1 += off_pull[k] / 40;
        m2 += scale_pull[k] / 40;
    }
    for (int k = 0; k < 40; k++) {
        v1 += (off_pull[k] - m1) * (off_pull[k] - m1) / 39;
        v2 += (scale_pull[k] - m2) * (scale_pull[k] - m2) / 39;
    }
    print_message("offset err %.2e, pulls mean %.2f std %.2f; scale err %.2e, pulls mean %.2f std %.2f\n", off_err, m1,
                  sqrt(v1), scale_err, m2, sqrt(v2));
    assert_true(fabs(m1) < 0.6 && fabs(m2) < 0.6);                     /* 40 pulls: the mean's error is 0.16 */
    assert_true(sqrt(v1) > 0.7 && sqrt(v1) < 1.3 && sqrt(v2) > 0.7 && sqrt(v2) < 1.3);
    assert_float_equal(scale_err, scale / sqrt(2 * 5000.0), 0.1 * scale_err); /* Gaussian pulls: s / sqrt(2N) */

    /* applied to an independent test set: pulls of mean 0 and RMS 1 */
    hd_bnn_split val = {0}, tst = {0};
    hd_bnn_prediction pv = {0}, pt = {0};
    make_set(7, 20000, offset, scale, &val, &pv);
    make_set(8, 20000, offset, scale, &tst, &pt);
    double before_mean, before_rms, mean, rms;
    pulls(&tst, &pt, &before_mean, &before_rms);
    hd_bnn_calibration c;
    assert_int_equal(hd_bnn_fit_calibration(&val, &t, &pv, &c), HD_OK);
    hd_bnn_apply_calibration(&c, &t, &pt, tst.n);
    assert_int_equal(c.applied, 1);
    pulls(&tst, &pt, &mean, &rms);
    print_message("test pulls before: mean %.3f rms %.3f; after: mean %.3f rms %.3f\n", before_mean, before_rms, mean,
                  rms);
    assert_true(before_rms < 0.75 && before_mean > 0.03);
    assert_true(fabs(mean) < 0.03 && fabs(rms - 1) < 0.02);
    assert_float_equal(pt.aleatoric[0] + pt.epistemic[0], pt.total[0], 1e-12); /* both parts scaled */
    free_set(&val, &pv);
    free_set(&tst, &pt);
}

/* Pulls that are all zero give no scale: refused, not a division by zero. */
static void test_no_scale_is_refused(void **state)
{
    (void)state;
    const hd_bnn_transform t = {.pt_scale = 1, .y_mean = 0, .y_std = 1};
    hd_bnn_split val = {0};
    hd_bnn_prediction p = {0};
    make_set(1, 10, 0, 0, &val, &p);
    for (int64_t i = 0; i < val.n; i++) val.y[i] = (float)p.mean[i];
    for (int64_t i = 0; i < val.n; i++) p.mean[i] = val.y[i];
    hd_bnn_calibration c;
    assert_int_equal(hd_bnn_fit_calibration(&val, &t, &p, &c), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "no scale"));
    free_set(&val, &p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decompose),
        cmocka_unit_test(test_calibration_recovers_offset_and_scale),
        cmocka_unit_test(test_no_scale_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
