/* The mixture density network's parametrisation (nn/mdn.h): its training
 * targets and its draws are each other's inverse (net outputs that put all
 * the weight on a shower's targets draw that shower back), the fitted
 * statistics are the sample's, and the net rows have their widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "nn/mdn.h"

#define N 400
#define L 12
#define M 24
#define K 3

static float showers[N * L * M], energy[N];

static int setup(void **state)
{
    (void)state;
    hd_set_threads(1);
    hd_calo_opts o = hd_calo_opts_default(); /* reduced: 12 layers x 4 angles x 6 radii */
    o.seed = 11;
    double e[N];
    if (hd_calo_simulate(&o, 0, N, showers, e, NULL, NULL) != HD_OK) return -1;
    for (int i = 0; i < N; i++) energy[i] = (float)e[i];
    return 0;
}

/* Mixture parameters (K logits, K means, K log sigmas) all on value v. */
static void sharp_mixture(float *par, float v)
{
    for (int k = 0; k < K; k++) {
        par[k] = k == 1 ? 30.0f : -30.0f;
        par[K + k] = k == 1 ? v : 5.0f;
        par[2 * K + k] = -30.0f;
    }
}

static void test_widths(void **state)
{
    (void)state;
    hd_mdn m;
    assert_int_equal(hd_mdn_fit(&m, L, M, 1, K, N, energy, showers), HD_OK);
    assert_int_equal(hd_mdn_energy_in(&m), 1 + 1 + 4 * (L - 1) + 1 + L);
    assert_int_equal(hd_mdn_energy_out(&m), 3 + 3 * K);
    assert_int_equal(hd_mdn_voxel_in(&m), 1 + 2 * L);
    assert_int_equal(hd_mdn_voxel_out(&m), M * (1 + 3 * K));
    assert_int_equal(hd_mdn_noise_dim(&m), 3 * (L + L * M));
    hd_mdn_release(&m);
    assert_int_equal(hd_mdn_fit(&m, L, M, 1, HD_MDN_MAX_K + 1, N, energy, showers), HD_EINVAL);
    assert_int_equal(hd_mdn_fit(&m, HD_CALO_MAX_LAYERS + 1, M, 1, K, N, energy, showers), HD_EINVAL);
}

/* ln(E_tot / E_inc) is standardised over the sample: mean 0, spread 1. */
static void test_statistics(void **state)
{
    (void)state;
    hd_mdn m;
    assert_int_equal(hd_mdn_fit(&m, L, M, 1, K, N, energy, showers), HD_OK);
    double s = 0, s2 = 0;
    int share[L] = {0};
    for (int i = 0; i < N; i++) {
        hd_mdn_state st;
        hd_mdn_state_of(&m, energy[i], showers + i * L * M, &st);
        s += st.ratio, s2 += (double)st.ratio * st.ratio;
        double tot = 0;
        for (int l = 0; l < L; l++) tot += st.e_layer[l];
        assert_float_equal(tot, st.e_tot, 1e-6 * st.e_tot);
        for (int l = 0; l + 1 < L; l++) share[l] += st.cls[l] == 2;
    }
    assert_float_equal(s / N, 0.0, 1e-4);
    assert_float_equal(s2 / N, 1.0, 1e-3);
    /* the shower maximum's layers always take a share; the ratio is near 1 */
    assert_int_equal(share[2], N);
    assert_float_equal(exp(m.ratio_mean), 0.99, 0.02);
    hd_mdn_release(&m);
}

/* Outputs that put all the weight on the targets draw the shower back. */
static void test_draws_invert_the_targets(void **state)
{
    (void)state;
    hd_mdn m;
    assert_int_equal(hd_mdn_fit(&m, L, M, 1, K, N, energy, showers), HD_OK);
    const float c[1] = {0.3f}, threshold = 0.01515f;
    float zero[3 * M] = {0}, eout[3 + 3 * K], vout[M * (1 + 3 * K)], in[256], vox[M];
    int checked_class[3] = {0};
    for (int i = 0; i < 40; i++) {
        const float *sh = showers + i * L * M;
        hd_mdn_state truth, s;
        memset(&s, 0, sizeof s);
        hd_mdn_state_of(&m, energy[i], sh, &truth);
        for (int p = 0; p < L; p++) {
            float cls[3], val, w;
            hd_mdn_energy_row(&m, c, &s, p, in);
            float in_truth[256];
            hd_mdn_energy_row(&m, c, &truth, p, in_truth);
            /* what was drawn before p is what the true state says (teacher forcing = sampling) */
            for (int64_t j = 0; j < hd_mdn_energy_in(&m); j++) assert_float_equal(in[j], in_truth[j], 1e-4);
            hd_mdn_energy_target(&m, &truth, p, cls, &val, &w);
            for (int q = 0; q < 3; q++) eout[q] = cls[q] > 0 ? 30.0f : -30.0f;
            sharp_mixture(eout + 3, val);
            hd_mdn_energy_draw(&m, &s, energy[i], p, eout, zero);
            if (p > 0) checked_class[truth.cls[p - 1]]++;
        }
        for (int l = 0; l < L; l++) {
            assert_float_equal(s.e_layer[l], truth.e_layer[l], 1e-4 * truth.e_tot);
            float nz[M], y[M];
            hd_mdn_voxel_target(&m, &truth, sh, l, nz, y);
            for (int j = 0; j < M; j++) {
                vout[j] = nz[j] > 0 ? 30.0f : -30.0f;
                sharp_mixture(vout + M + 3 * K * j, y[j]);
            }
            hd_mdn_voxel_draw(&m, &s, l, vout, zero, threshold, vox);
            for (int j = 0; j < M; j++) assert_float_equal(vox[j], sh[l * M + j], 1e-3 * sh[l * M + j] + 1e-6);
        }
    }
    /* the three classes of a layer's share all occurred */
    for (int q = 0; q < 3; q++) assert_true(checked_class[q] > 0);
    hd_mdn_release(&m);
}

/* A layer with energy whose voxels all came out empty gets its energy in
 * the most likely voxel; nothing is lost. */
static void test_an_empty_draw_keeps_the_layer_energy(void **state)
{
    (void)state;
    hd_mdn m;
    assert_int_equal(hd_mdn_fit(&m, L, M, 1, K, N, energy, showers), HD_OK);
    hd_mdn_state s;
    memset(&s, 0, sizeof s);
    s.e_layer[4] = 123.0;
    float vout[M * (1 + 3 * K)], zero[3 * M] = {0}, vox[M];
    for (int j = 0; j < M; j++) {
        vout[j] = j == 7 ? -3.0f : -30.0f;
        sharp_mixture(vout + M + 3 * K * j, 0.0f);
    }
    hd_mdn_voxel_draw(&m, &s, 4, vout, zero, 0.01515f, vox);
    for (int j = 0; j < M; j++) assert_float_equal(vox[j], j == 7 ? 123.0f : 0.0f, 1e-3);
    hd_mdn_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_draws_invert_the_targets),
        cmocka_unit_test(test_an_empty_draw_keeps_the_layer_energy),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
