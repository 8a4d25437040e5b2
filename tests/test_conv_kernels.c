/* The fast convolution kernels (im2col + sgemm, src/graph/ops/conv_kernels.c)
 * against the naive reference (direct loops, conv_ref.c) over a table of
 * geometries: image channels below and above the channels-last threshold
 * HD_CONV_CL_MIN_C, strides 1, 2 and 3, kernels 1, 3 and 5 (and non-square),
 * 'valid', 'same' and explicit paddings, odd sizes, 1 x 1 images, and
 * batches split into several chunks (by a small chunk size, and by images
 * large enough for the default one), and the direct stride-1 kernels
 * (conv_direct.c) at the AVO discriminator's shapes.  Every kernel is checked: the two
 * forwards, the three backwards (each output alone and both together, added
 * into what was there) and the bias gradient.  BLAS sums in another order
 * than the reference, so values agree within a tolerance, not bit for bit.
 * First the reference itself: a hand-computed case and its adjoint
 * identities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops/conv_kernels.h"
#include "hadron/hadron.h"

/* |got - want| <= TOL (|want| + rms(want)): float32 BLAS sums against the
 * reference's double sums rounded to float. */
#define TOL 1e-5

enum { VALID, SAME, EXPLICIT };

typedef struct {
    const char *name;
    int64_t B, C, H, W, G, kh, kw, sh, sw;
    int pad;
    int64_t pt, pl, oh, ow; /* EXPLICIT only */
    int64_t chunk;          /* samples per chunk to force (0: the kernels' default chunk size) */
    int min_chunks;         /* the batch must run in at least this many chunks */
} kcase;

/* TensorFlow's 'same' along one axis: out = ceil(n / s), leading padding. */
static void same_axis(int64_t n, int64_t k, int64_t s, int64_t *out, int64_t *pad)
{
    *out = (n + s - 1) / s;
    int64_t total = (*out - 1) * s + k - n;
    *pad = total > 0 ? total / 2 : 0;
}

static hd_conv_geom geom_of(const kcase *k)
{
    hd_conv_geom g = {.c = k->C, .h = k->H, .w = k->W, .g = k->G, .kh = k->kh, .kw = k->kw, .sh = k->sh, .sw = k->sw};
    if (k->pad == VALID) {
        g.oh = (k->H - k->kh) / k->sh + 1;
        g.ow = (k->W - k->kw) / k->sw + 1;
    } else if (k->pad == SAME) {
        same_axis(k->H, k->kh, k->sh, &g.oh, &g.pt);
        same_axis(k->W, k->kw, k->sw, &g.ow, &g.pl);
    } else {
        g.pt = k->pt;
        g.pl = k->pl;
        g.oh = k->oh;
        g.ow = k->ow;
    }
    if (k->chunk) g.col_floats = k->chunk * g.c * g.kh * g.kw * g.oh * g.ow;
    return g;
}

static float *alloc(int64_t n)
{
    float *p = hd_malloc((size_t)(n ? n : 1) * sizeof *p);
    assert_non_null(p);
    return p;
}

static float *random_array(hd_rng *r, int64_t n)
{
    float *p = alloc(n);
    for (int64_t i = 0; i < n; i++) p[i] = 2.0f * hd_rng_uniform(r) - 1.0f;
    return p;
}

static float *copy_of(const float *x, int64_t n)
{
    float *p = alloc(n);
    memcpy(p, x, (size_t)n * sizeof *p);
    return p;
}

/* Outputs and scratch start as NaN: a kernel that reads what it has not
 * written, or leaves part of an output unwritten, shows. */
static void poison(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = NAN;
}

/* got against base + add (base NULL: 0), where add is the reference's result. */
static void check(const kcase *k, const char *what, const float *got, const float *base, const float *add, int64_t n)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        double want = (base ? base[i] : 0.0) + add[i];
        ss += want * want;
    }
    double rms = sqrt(ss / (double)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        double want = (base ? base[i] : 0.0) + add[i];
        if (!(fabs(got[i] - want) <= TOL * (fabs(want) + rms)))
            fail_msg("%s: %s[%lld] = %.9g, reference %.9g (rms %.3g)", k->name, what, (long long)i, (double)got[i],
                     want, rms);
    }
}

/* ---- the reference itself --------------------------------------------------------- */

/* 3 x 3 image 1..9, a 3 x 3 kernel of ones, 'same' padding: each grid value
 * is the sum of the pixel's neighbourhood; stride 2 keeps the corners. */
static void test_reference_by_hand(void **state)
{
    (void)state;
    const float img[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    hd_conv_geom g = {.c = 1, .h = 3, .w = 3, .g = 1, .oh = 3, .ow = 3, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .pt = 1, .pl = 1};
    float grid[9], bias = 0.5f;
    hd_conv_ref_grid(&g, 1, img, w, &bias, grid);
    const float want[9] = {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f};
    for (int i = 0; i < 9; i++) assert_float_equal(grid[i], want[i], 0.0f);
    g.sh = g.sw = 2;
    g.oh = g.ow = 2;
    hd_conv_ref_grid(&g, 1, img, w, NULL, grid);
    const float want2[4] = {12, 16, 24, 28};
    for (int i = 0; i < 4; i++) assert_float_equal(grid[i], want2[i], 0.0f);
    /* the adjoint spreads each grid value over its window: the centre pixel is in all four */
    const float ones[4] = {1, 1, 1, 1};
    float back[9];
    hd_conv_ref_image(&g, 1, ones, w, NULL, back);
    const float want3[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    for (int i = 0; i < 9; i++) assert_float_equal(back[i], want3[i], 0.0f);
}

static double dot(const float *a, const float *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* <K_w x, y> = <x, K_w^T y> = <w, y (x) x> on random data, for a few geometries. */
static void test_reference_adjoints(void **state)
{
    (void)state;
    const kcase cases[] = {
        {"cf same s2", 2, 3, 9, 7, 4, 3, 5, 2, 2, SAME, 0, 0, 0, 0, 0, 0},
        {"cl valid s3", 2, 9, 10, 11, 3, 3, 3, 3, 3, VALID, 0, 0, 0, 0, 0, 0},
        {"explicit", 2, 4, 5, 6, 3, 3, 3, 2, 1, EXPLICIT, 3, 1, 5, 7, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const kcase *k = &cases[c];
        hd_conv_geom g = geom_of(k);
        hd_rng r;
        hd_rng_init(&r, 7 + c, HD_STREAM_USER);
        int64_t ni = k->B * g.c * g.h * g.w, ng = k->B * g.g * g.oh * g.ow, nw = g.g * g.c * g.kh * g.kw;
        float *x = random_array(&r, ni), *y = random_array(&r, ng), *w = random_array(&r, nw);
        float *kx = alloc(ng), *kty = alloc(ni), *dw = alloc(nw);
        hd_conv_ref_grid(&g, k->B, x, w, NULL, kx);
        hd_conv_ref_image(&g, k->B, y, w, NULL, kty);
        hd_conv_ref_dw(&g, k->B, x, y, dw);
        double a = dot(kx, y, ng), b = dot(x, kty, ni), d = dot(w, dw, nw);
        if (fabs(a - b) > 1e-5 * fabs(a) || fabs(a - d) > 1e-5 * fabs(a))
            fail_msg("%s: <Kx, y> %.9g, <x, K'y> %.9g, <w, y(x)x> %.9g", k->name, a, b, d);
        hd_free(x), hd_free(y), hd_free(w), hd_free(kx), hd_free(kty), hd_free(dw);
    }
}

/* ---- fast against naive ------------------------------------------------------------ */

static void check_case(const kcase *k, uint64_t seed)
{
    const hd_conv_geom g = geom_of(k);
    const int64_t B = k->B, ni = B * g.c * g.h * g.w, ng = B * g.g * g.oh * g.ow, nw = g.g * g.c * g.kh * g.kw;
    assert_true(g.oh >= 1 && g.ow >= 1);
    const int64_t nb = hd_conv_chunk(&g, B);
    if (k->chunk) assert_int_equal(nb, k->chunk < B ? k->chunk : B);
    if ((B + nb - 1) / nb < k->min_chunks)
        fail_msg("%s: %lld samples per chunk, %lld chunks, wanted at least %d", k->name, (long long)nb,
                 (long long)((B + nb - 1) / nb), k->min_chunks);
    const int64_t naux = hd_conv_aux_floats(&g, B);
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    float *img = random_array(&r, ni), *grid = random_array(&r, ng), *w = random_array(&r, nw);
    float *v = random_array(&r, nw), *bias_g = random_array(&r, g.g), *bias_c = random_array(&r, g.c);
    float *img0 = random_array(&r, ni), *grid0 = random_array(&r, ng), *w0 = random_array(&r, nw);
    float *aux = alloc(naux), *out_i = alloc(ni), *out_g = alloc(ng), *out_w = alloc(nw);
    float *ref_i = alloc(ni), *ref_g = alloc(ng), *ref_w = alloc(nw), *ref_i2 = alloc(ni), *ref_g2 = alloc(ng);

    /* forwards, bias included; outputs are written */
    poison(aux, naux), poison(out_g, ng);
    hd_conv_fwd_grid(&g, B, img, w, bias_g, out_g, aux);
    hd_conv_ref_grid(&g, B, img, w, bias_g, ref_g);
    check(k, "fwd_grid", out_g, NULL, ref_g, ng);
    poison(aux, naux), poison(out_i, ni);
    hd_conv_fwd_image(&g, B, grid, w, bias_c, out_i, aux);
    hd_conv_ref_image(&g, B, grid, w, bias_c, ref_i);
    check(k, "fwd_image", out_i, NULL, ref_i, ni);
    poison(aux, naux), poison(out_w, nw);
    hd_conv_fwd_dw(&g, B, img, grid, out_w, aux);
    hd_conv_ref_dw(&g, B, img, grid, ref_w);
    check(k, "fwd_dw", out_w, NULL, ref_w, nw);

    /* backward of fwd_grid with dgrid = grid: dimage += K_w^T grid, dw += grid (x) image */
    hd_conv_ref_image(&g, B, grid, w, NULL, ref_i);
    hd_conv_ref_dw(&g, B, img, grid, ref_w);
    for (int only = 0; only < 3; only++) { /* both, dimage alone, dw alone */
        float *di = copy_of(img0, ni), *dw = copy_of(w0, nw);
        poison(aux, naux);
        hd_conv_bwd_grid(&g, B, img, w, grid, only == 2 ? NULL : di, only == 1 ? NULL : dw, aux);
        if (only != 2) check(k, "bwd_grid dimage", di, img0, ref_i, ni);
        if (only != 1) check(k, "bwd_grid dw", dw, w0, ref_w, nw);
        if (only == 1) assert_memory_equal(dw, w0, (size_t)nw * sizeof *dw);
        if (only == 2) assert_memory_equal(di, img0, (size_t)ni * sizeof *di);
        hd_free(di), hd_free(dw);
    }

    /* backward of fwd_image with dimage = img: dgrid += K_w img, dw += grid (x) img */
    hd_conv_ref_grid(&g, B, img, w, NULL, ref_g);
    hd_conv_ref_dw(&g, B, img, grid, ref_w);
    for (int only = 0; only < 3; only++) { /* both, dgrid alone, dw alone */
        float *dg = copy_of(grid0, ng), *dw = copy_of(w0, nw);
        poison(aux, naux);
        hd_conv_bwd_image(&g, B, grid, w, img, only == 2 ? NULL : dg, only == 1 ? NULL : dw, aux);
        if (only != 2) check(k, "bwd_image dgrid", dg, grid0, ref_g, ng);
        if (only != 1) check(k, "bwd_image dw", dw, w0, ref_w, nw);
        if (only == 1) assert_memory_equal(dw, w0, (size_t)nw * sizeof *dw);
        if (only == 2) assert_memory_equal(dg, grid0, (size_t)ng * sizeof *dg);
        hd_free(dg), hd_free(dw);
    }

    /* backward of fwd_dw for v: dimage += K_v^T grid, dgrid += K_v img */
    hd_conv_ref_image(&g, B, grid, v, NULL, ref_i2);
    hd_conv_ref_grid(&g, B, img, v, NULL, ref_g2);
    for (int only = 0; only < 3; only++) { /* both, dimage alone, dgrid alone */
        float *di = copy_of(img0, ni), *dg = copy_of(grid0, ng);
        poison(aux, naux);
        hd_conv_bwd_dw(&g, B, img, grid, v, only == 2 ? NULL : di, only == 1 ? NULL : dg, aux);
        if (only != 2) check(k, "bwd_dw dimage", di, img0, ref_i2, ni);
        if (only != 1) check(k, "bwd_dw dgrid", dg, grid0, ref_g2, ng);
        if (only == 1) assert_memory_equal(dg, grid0, (size_t)ng * sizeof *dg);
        if (only == 2) assert_memory_equal(di, img0, (size_t)ni * sizeof *di);
        hd_free(di), hd_free(dg);
    }

    /* bias gradients: db += sums over batch and positions, of the grid and of the image */
    float *db = copy_of(bias_g, g.g), *want = alloc(g.g);
    for (int64_t o = 0; o < g.g; o++) {
        double s = 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t p = 0; p < g.oh * g.ow; p++) s += grid[(b * g.g + o) * g.oh * g.ow + p];
        want[o] = (float)s;
    }
    hd_conv_bias_grad(grid, B, g.g, g.oh * g.ow, db);
    check(k, "bias_grad", db, bias_g, want, g.g);
    hd_free(db), hd_free(want);

    hd_free(img), hd_free(grid), hd_free(w), hd_free(v), hd_free(bias_g), hd_free(bias_c);
    hd_free(img0), hd_free(grid0), hd_free(w0), hd_free(aux), hd_free(out_i), hd_free(out_g), hd_free(out_w);
    hd_free(ref_i), hd_free(ref_g), hd_free(ref_w), hd_free(ref_i2), hd_free(ref_g2);
}

/* name, B, C, H, W, G, kh, kw, sh, sw, padding, (pt, pl, oh, ow: explicit), chunk, min chunks */
static const kcase cases[] = {
    /* channels first (C < HD_CONV_CL_MIN_C) */
    {"cf C1 28x28 k5 s2 same (DCGAN D1)", 3, 1, 28, 28, 4, 5, 5, 2, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cf C3 9x7 k3 s1 same", 2, 3, 9, 7, 5, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"cf C7 11x9 k3 s2 valid", 2, 7, 11, 9, 3, 3, 3, 2, 2, VALID, 0, 0, 0, 0, 0, 1},
    {"cf C2 10x11 k3 s3 valid", 2, 2, 10, 11, 3, 3, 3, 3, 3, VALID, 0, 0, 0, 0, 0, 1},
    {"cf C1 6x5 k1 s1 valid", 2, 1, 6, 5, 3, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 0, 1},
    {"cf C4 13x8 k5x3 s2x1 same", 2, 4, 13, 8, 2, 5, 3, 2, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"cf C3 2x2 k5 same (kernel over the image)", 2, 3, 2, 2, 2, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    /* channels last (C >= HD_CONV_CL_MIN_C) */
    {"cl C8 7x7 k5 s1 same", 2, 8, 7, 7, 6, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C9 13x10 k3 s2 same", 3, 9, 13, 10, 4, 3, 3, 2, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C16 14x14 k5 s2 same (DCGAN D2)", 2, 16, 14, 14, 8, 5, 5, 2, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C12 5x7 k1 s2 valid", 2, 12, 5, 7, 5, 1, 1, 2, 2, VALID, 0, 0, 0, 0, 0, 1},
    {"cl C10 7x7 k1 s2 same", 2, 10, 7, 7, 3, 1, 1, 2, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C12 1x1 k1", 3, 12, 1, 1, 4, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 0, 1},
    {"cl C12 1x1 k3 same", 3, 12, 1, 1, 4, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C8 9x8 k3x5 s1x2 same", 2, 8, 9, 8, 5, 3, 5, 1, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C9 11x7 k5x3 s3x2 same", 2, 9, 11, 7, 4, 5, 3, 3, 2, SAME, 0, 0, 0, 0, 0, 1},
    {"cl C8 14x14 k5 s2 valid", 2, 8, 14, 14, 3, 5, 5, 2, 2, VALID, 0, 0, 0, 0, 0, 1},
    {"cl C8 14x14 k5 s2 same, G16 (DCGAN G2's shape)", 2, 8, 14, 14, 16, 5, 5, 2, 2, SAME, 0, 0, 0, 0, 0, 1},
    /* explicit padding: asymmetric, wider than the kernel (grid rows wholly in
     * the padding), grids that stop short of the image or run past it */
    {"cf explicit pt2 pl0", 2, 4, 5, 6, 3, 3, 3, 1, 1, EXPLICIT, 2, 0, 7, 4, 0, 1},
    {"cl explicit pt4 pl1 s2", 2, 10, 5, 5, 3, 3, 3, 2, 2, EXPLICIT, 4, 1, 5, 4, 0, 1},
    {"cl explicit short grid", 2, 8, 9, 9, 4, 3, 3, 1, 1, EXPLICIT, 0, 0, 4, 5, 0, 1},
    {"cf explicit s3 past the image", 2, 2, 7, 8, 3, 3, 5, 3, 3, EXPLICIT, 1, 2, 4, 4, 0, 1},
    /* batches in several chunks: a forced chunk size (the last chunk shorter) */
    {"cf C3 9x9 k3 same, chunks of 2", 5, 3, 9, 9, 4, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 2, 3},
    {"cl C16 7x7 k5 same, chunks of 3", 7, 16, 7, 7, 8, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 3, 3},
    {"cl C8 8x9 k3 s2 valid, chunks of 1", 3, 8, 8, 9, 5, 3, 3, 2, 2, VALID, 0, 0, 0, 0, 1, 3},
    {"cf explicit, chunks of 2", 3, 1, 6, 6, 2, 3, 3, 2, 1, EXPLICIT, 2, 1, 4, 6, 2, 2},
    /* ... and images too large for two per default chunk */
    {"cl C8 64x64 k5 same, default chunks", 3, 8, 64, 64, 4, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 0, 3},
    {"cf C1 205x203 k5 same, default chunks", 2, 1, 205, 203, 3, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 0, 2},
    /* direct kernels (hd_conv_direct_ok: stride 1, grids at least HD_CONV_DIRECT_MIN_W wide):
     * the AVO discriminator's layers, odd widths and channel counts, kernels
     * 5 x 5 (row taps), 2 x 4 (single taps) and 1 x 1, rows longer than 32,
     * and an explicit padding wider than the kernel (negative pads for dimage) */
    {"direct C1 32x32 k3 same G8 (AVO conv0)", 3, 1, 32, 32, 8, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"direct C8 16x16 k3 same G12 (AVO conv1)", 2, 8, 16, 16, 12, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"direct C12 8x8 k3 same G16 (AVO conv2)", 3, 12, 8, 8, 16, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"direct C3 13x11 k5 same G5", 2, 3, 13, 11, 5, 5, 5, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"direct C2 10x20 k2x4 valid G3", 2, 2, 10, 20, 3, 2, 4, 1, 1, VALID, 0, 0, 0, 0, 0, 1},
    {"direct C5 7x9 k1 G7", 2, 5, 7, 9, 7, 1, 1, 1, 1, VALID, 0, 0, 0, 0, 0, 1},
    {"direct C2 6x41 k3 same G3 (a row of 6 vectors)", 2, 2, 6, 41, 3, 3, 3, 1, 1, SAME, 0, 0, 0, 0, 0, 1},
    {"direct explicit pt3 pl4, C3 6x7", 2, 3, 6, 7, 4, 3, 3, 1, 1, EXPLICIT, 3, 4, 9, 10, 0, 1},
};

static void test_fast_against_naive(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], 1000 + i);
    printf("checked %zu geometries\n", sizeof cases / sizeof cases[0]);
}

/* The table has cases on both sides of the threshold between the layouts. */
static void test_layouts_covered(void **state)
{
    (void)state;
    int below = 0, at = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        below |= cases[i].C == HD_CONV_CL_MIN_C - 1;
        at |= cases[i].C == HD_CONV_CL_MIN_C;
    }
    if (!below || !at) fail_msg("no case with C = HD_CONV_CL_MIN_C - 1 or = HD_CONV_CL_MIN_C (%d)", HD_CONV_CL_MIN_C);
}

/* The direct kernels are used by the table's stride-1 cases at and above
 * HD_CONV_DIRECT_MIN_W, the im2col kernels by those below it. */
static void test_direct_covered(void **state)
{
    (void)state;
    int direct = 0, narrow = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hd_conv_geom g = geom_of(&cases[i]);
        if (hd_conv_direct_ok(&g)) direct++;
        else if (g.sh == 1 && g.sw == 1 && g.ow < HD_CONV_DIRECT_MIN_W) narrow++;
    }
    if (direct < 8 || narrow < 3) fail_msg("%d direct and %d narrow stride-1 cases", direct, narrow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_by_hand),
        cmocka_unit_test(test_reference_adjoints),
        cmocka_unit_test(test_fast_against_naive),
        cmocka_unit_test(test_layouts_covered),
        cmocka_unit_test(test_direct_covered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
