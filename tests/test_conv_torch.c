/* Convolution, pooling and batch norm against PyTorch (fixtures/conv/, one .npz per case,
 * made by fixtures/make_conv_fixtures.py): outputs and gradients for a fixed
 * upstream gradient, 'same' padding as Keras, batch norm in training (with
 * the running-stat update) and evaluation.  Then the im2col kernels against
 * a naive direct convolution on shapes that span several batch chunks,
 * buffers (running stats) in checkpoints and parameter ranges, the layer
 * helpers, and shape errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/graph_internal.h"
#include "hadron/hadron.h"
#include "test_util.h"

/* |got - want| <= TOL (|want| + rms(want)): float32 arithmetic against a
 * float64 reference from the same float32 inputs. */
#define TOL 1e-4

typedef struct {
    hd_npz *z;
    char path[512];
} fixture;

static void open_fixture(fixture *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/conv/%s.npz", HD_FIXTURES, name);
    if (hd_npz_read(f->path, &f->z) != HD_OK) fail_msg("%s", hd_last_error());
}

static const hd_array *get(const fixture *f, const char *key)
{
    const hd_array *a = hd_npz_get(f->z, key);
    if (!a) fail_msg("%s: no array '%s'", f->path, key);
    return a;
}

static int64_t cfg(const fixture *f, int i) { return (int64_t)hd_array_get(get(f, "cfg"), i); }

/* A leaf with the fixture array's shape and values: an input (batched at
 * dim 0, wanting a gradient), a param or a buffer. */
enum { LEAF_INPUT, LEAF_PARAM, LEAF_BUFFER };
static hd_node *leaf(hd_graph *g, const fixture *f, const char *key, int kind)
{
    const hd_array *a = get(f, key);
    int64_t shape[HD_MAX_DIM];
    memcpy(shape, a->shape, sizeof shape);
    hd_node *n;
    if (kind == LEAF_INPUT) {
        shape[0] = HD_BATCH;
        n = hd_input(g, key, a->ndim, shape);
        assert_int_equal(hd_input_requires_grad(n), HD_OK);
    } else {
        hd_init zero = {HD_INIT_ZEROS, 0.0f};
        n = kind == LEAF_PARAM ? hd_param(g, key, a->ndim, shape, zero) : hd_buffer(g, key, a->ndim, shape, zero);
    }
    assert_non_null(n);
    return n;
}

static void load(const fixture *f, const char *key, hd_node *n)
{
    const hd_array *a = get(f, key);
    assert_int_equal(hd_array_numel(a), hd_tensor_numel(&n->val));
    hd_array_to_f32(a, n->val.data);
}

static void compare(const fixture *f, const char *key, const float *got, int64_t numel)
{
    const hd_array *a = get(f, key);
    assert_int_equal(hd_array_numel(a), numel);
    double ss = 0;
    for (int64_t i = 0; i < numel; i++) ss += hd_array_get(a, i) * hd_array_get(a, i);
    double rms = sqrt(ss / (double)(numel ? numel : 1));
    for (int64_t i = 0; i < numel; i++) {
        double want = hd_array_get(a, i);
        if (fabs(got[i] - want) > TOL * (fabs(want) + rms))
            fail_msg("%s: %s[%lld] = %.8g, PyTorch %.8g", f->path, key, (long long)i, (double)got[i], want);
    }
}

/* Compiles, loads the leaves, runs forward and backward seeded with dy. */
static void run(hd_graph *g, const fixture *f, hd_node *y, hd_node *const *leaves, const char *const *keys, int n)
{
    assert_non_null(y);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, get(f, "x")->shape[0]), HD_OK);
    for (int i = 0; i < n; i++) load(f, keys[i], leaves[i]);
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    const hd_array *dy = get(f, "dy");
    float *seed = malloc((size_t)hd_array_numel(dy) * sizeof *seed);
    assert_non_null(seed);
    hd_array_to_f32(dy, seed);
    assert_int_equal(hd_array_numel(dy), hd_tensor_numel(&y->val));
    assert_int_equal(hd_graph_backward_seeded(g, y, HD_ALL, seed), HD_OK);
    free(seed);
    compare(f, "y", y->val.data, hd_tensor_numel(&y->val));
    for (int i = 0; i < n; i++) {
        if (leaves[i]->is_buffer) continue;
        char dkey[32];
        snprintf(dkey, sizeof dkey, "d%s", keys[i]);
        compare(f, dkey, leaves[i]->grad.data, hd_tensor_numel(&leaves[i]->grad));
    }
}

static void conv_case(const char *name, int transposed)
{
    fixture f;
    open_fixture(&f, name);
    hd_graph *g = hd_graph_new(1);
    int bias = hd_npz_get(f.z, "b") != NULL;
    hd_node *leaves[3] = {leaf(g, &f, "x", LEAF_INPUT), leaf(g, &f, "w", LEAF_PARAM),
                          bias ? leaf(g, &f, "b", LEAF_PARAM) : NULL};
    const char *keys[3] = {"x", "w", "b"};
    hd_padding pad = cfg(&f, 2) ? HD_PAD_SAME : HD_PAD_VALID;
    int sh = (int)cfg(&f, 0), sw = (int)cfg(&f, 1);
    hd_node *y = transposed ? hd_conv_transpose2d(g, leaves[0], leaves[1], leaves[2], sh, sw, pad)
                            : hd_conv2d(g, leaves[0], leaves[1], leaves[2], sh, sw, pad);
    if (!y) fail_msg("%s: %s", name, hd_last_error());
    run(g, &f, y, leaves, keys, bias ? 3 : 2);
    hd_graph_free(g);
    hd_npz_free(f.z);
}

static void test_conv2d(void **state)
{
    (void)state;
    conv_case("conv2d_same_k5_s2_bias", 0);
    conv_case("conv2d_same_k4_s1", 0);
    conv_case("conv2d_valid_k3x2_s21_bias", 0);
    conv_case("conv2d_same_k5_s2_c8_bias", 0);
}

static void test_conv_transpose2d(void **state)
{
    (void)state;
    conv_case("convt_same_k5_s2", 1);
    conv_case("convt_same_k5_s1_bias", 1);
    conv_case("convt_valid_k3_s2_bias", 1);
    conv_case("convt_same_k5_s2_c8", 1);
}

static void pool_case(const char *name)
{
    fixture f;
    open_fixture(&f, name);
    hd_graph *g = hd_graph_new(1);
    hd_node *x = leaf(g, &f, "x", LEAF_INPUT);
    const char *keys[1] = {"x"};
    hd_node *y = hd_max_pool2d(g, x, (int)cfg(&f, 0), (int)cfg(&f, 1), (int)cfg(&f, 2), (int)cfg(&f, 3));
    run(g, &f, y, &x, keys, 1);
    hd_graph_free(g);
    hd_npz_free(f.z);
}

static void test_max_pool2d(void **state)
{
    (void)state;
    pool_case("maxpool_k2_s2_ties");
    pool_case("maxpool_k3_s2_overlap");
}

/* Ties and NaNs against the rule written out (first maximum in row-major
 * window order; a NaN wins, the first one): the 2x2 stride-2 fast path and
 * the generic loop, forward values and where backward sends the gradient. */
static void pool_nan_case(int k, int s)
{
    enum { B = 2, C = 3, H = 6, W = 8 };
    static const float vals[5] = {-1.0f, 0.0f, 1.0f, 2.0f, NAN};
    hd_rng r;
    hd_rng_init(&r, 7 + k * 10 + s, HD_STREAM_USER);
    hd_graph *g = hd_graph_new(1);
    hd_node *x = hd_input(g, "x", 4, (int64_t[]){HD_BATCH, C, H, W});
    assert_int_equal(hd_input_requires_grad(x), HD_OK);
    hd_node *y = hd_max_pool2d(g, x, k, k, s, s);
    assert_non_null(y);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, B), HD_OK);
    float *xv = hd_node_value(x)->data;
    for (int i = 0; i < B * C * H * W; i++) xv[i] = vals[hd_rng_below(&r, 5)];
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    int64_t oh = (H - k) / s + 1, ow = (W - k) / s + 1;
    float seed[B * C * H * W];
    for (int i = 0; i < B * C * oh * ow; i++) seed[i] = (float)(i + 1);
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_backward_seeded(g, y, HD_ALL, seed), HD_OK);
    float dx[B * C * H * W] = {0};
    for (int pl = 0; pl < B * C; pl++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                const float *src = xv + pl * H * W;
                int64_t best = oy * s * W + ox * s;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int64_t q = (oy * s + i) * W + ox * s + j;
                        if (src[q] > src[best] || (isnan(src[q]) && !isnan(src[best]))) best = q;
                    }
                int64_t o = (pl * oh + oy) * ow + ox;
                float got = hd_node_value(y)->data[o];
                if (!(got == src[best] || (isnan(got) && isnan(src[best]))))
                    fail_msg("pool %dx%d/%d: output %lld is %g, want %g", k, k, s, (long long)o, (double)got,
                             (double)src[best]);
                dx[pl * H * W + best] += seed[o];
            }
    for (int i = 0; i < B * C * H * W; i++)
        if (hd_node_grad(x)->data[i] != dx[i])
            fail_msg("pool %dx%d/%d: dx[%d] is %g, want %g", k, k, s, i, (double)hd_node_grad(x)->data[i], (double)dx[i]);
    hd_graph_free(g);
}

static void test_max_pool2d_nan_ties(void **state)
{
    (void)state;
    pool_nan_case(2, 2); /* the unrolled path */
    pool_nan_case(2, 1);
    pool_nan_case(3, 2);
}

static void bn_case(const char *name)
{
    fixture f;
    open_fixture(&f, name);
    int training = (int)cfg(&f, 0), affine = (int)cfg(&f, 1), running = (int)cfg(&f, 2);
    const hd_array *hp = get(&f, "hp");
    hd_graph *g = hd_graph_new(1);
    hd_node *leaves[5];
    const char *keys[5];
    int n = 0;
    keys[n] = "x", leaves[n++] = leaf(g, &f, "x", LEAF_INPUT);
    hd_node *gamma = NULL, *beta = NULL, *rm = NULL, *rv = NULL;
    if (affine) {
        keys[n] = "gamma", leaves[n++] = gamma = leaf(g, &f, "gamma", LEAF_PARAM);
        keys[n] = "beta", leaves[n++] = beta = leaf(g, &f, "beta", LEAF_PARAM);
    }
    if (running) {
        keys[n] = "rm", leaves[n++] = rm = leaf(g, &f, "rm", LEAF_BUFFER);
        keys[n] = "rv", leaves[n++] = rv = leaf(g, &f, "rv", LEAF_BUFFER);
    }
    hd_graph_set_training(g, training);
    hd_node *y = hd_batch_norm(g, leaves[0], gamma, beta, rm, rv, (float)hd_array_get(hp, 0),
                               (float)hd_array_get(hp, 1));
    if (!y) fail_msg("%s: %s", name, hd_last_error());
    run(g, &f, y, leaves, keys, n);
    if (running && training) {
        compare(&f, "rm_after", rm->val.data, hd_tensor_numel(&rm->val));
        compare(&f, "rv_after", rv->val.data, hd_tensor_numel(&rv->val));
    }
    hd_graph_free(g);
    hd_npz_free(f.z);
}

static void test_batch_norm(void **state)
{
    (void)state;
    bn_case("bn_train_4d_affine");
    bn_case("bn_train_2d_plain");
    bn_case("bn_eval_4d_affine");
    bn_case("bn_train_4d_nostats");
}

/* ---- the im2col kernels against a naive direct convolution ------------------- */

typedef struct { int64_t B, Ci, H, W, Co, kh, kw, sh, sw; hd_padding pad; int transposed; } conv_shape;

/* TF 'same' leading padding of a conv2d with input n along one axis. */
static int64_t same_pad(int64_t n, int64_t k, int64_t s)
{
    int64_t out = (n + s - 1) / s, total = (out - 1) * s + k - n;
    return total > 0 ? total / 2 : 0;
}

/* Direct loops in double over the conv2d relation "image pixel (oy s - pt + i,
 * ox s - pl + j) meets grid position (oy, ox) through tap (i, j)": forward,
 * and the gradients for seed dy, for conv2d (x image, y grid) and its
 * transpose (x grid, y image). */
static void naive(const conv_shape *c, const float *x, const float *w, const float *b, const float *dy, int64_t oh,
                  int64_t ow, double *y, double *dx, double *dw, double *db)
{
    int64_t ih = c->transposed ? oh : c->H, iw = c->transposed ? ow : c->W; /* image side */
    int64_t gh = c->transposed ? c->H : oh, gw = c->transposed ? c->W : ow; /* grid side */
    int64_t img_c = c->transposed ? c->Co : c->Ci, grid_c = c->transposed ? c->Ci : c->Co;
    int64_t pt = c->pad == HD_PAD_SAME ? same_pad(ih, c->kh, c->sh) : 0;
    int64_t pl = c->pad == HD_PAD_SAME ? same_pad(iw, c->kw, c->sw) : 0;
    int64_t ny = c->B * c->Co * oh * ow;
    for (int64_t i = 0; i < ny; i++) y[i] = b ? b[(i / (oh * ow)) % c->Co] : 0.0;
    memset(dx, 0, (size_t)(c->B * c->Ci * c->H * c->W) * sizeof *dx);
    memset(dw, 0, (size_t)(c->Co * c->Ci * c->kh * c->kw) * sizeof *dw);
    for (int64_t k = 0; k < c->Co; k++) db[k] = 0;
    for (int64_t i = 0; i < ny; i++) db[(i / (oh * ow)) % c->Co] += dy[i];
    for (int64_t bb = 0; bb < c->B; bb++)
        for (int64_t gc = 0; gc < grid_c; gc++)
            for (int64_t ic = 0; ic < img_c; ic++)
                for (int64_t i = 0; i < c->kh; i++)
                    for (int64_t j = 0; j < c->kw; j++) {
                        /* w [grid_c, img_c, kh, kw]: [Co, Ci, ..] for conv2d, [Ci, Co, ..] transposed */
                        int64_t wi = ((gc * img_c + ic) * c->kh + i) * c->kw + j;
                        double wv = w[wi];
                        for (int64_t oy = 0; oy < gh; oy++)
                            for (int64_t ox = 0; ox < gw; ox++) {
                                int64_t py = oy * c->sh - pt + i, px = ox * c->sw - pl + j;
                                if (py < 0 || py >= ih || px < 0 || px >= iw) continue;
                                int64_t gi = ((bb * grid_c + gc) * gh + oy) * gw + ox;
                                int64_t ii = ((bb * img_c + ic) * ih + py) * iw + px;
                                if (c->transposed) { /* x grid -> y image */
                                    y[ii] += wv * x[gi];
                                    dx[gi] += wv * dy[ii];
                                    dw[wi] += x[gi] * dy[ii];
                                } else { /* x image -> y grid */
                                    y[gi] += wv * x[ii];
                                    dx[ii] += wv * dy[gi];
                                    dw[wi] += x[ii] * dy[gi];
                                }
                            }
                    }
}

static void fill(hd_rng *r, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = 2.0f * hd_rng_uniform(r) - 1.0f;
}

static void check_close(const char *what, const conv_shape *c, const float *got, const double *want, int64_t n)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += want[i] * want[i];
    double rms = sqrt(ss / (double)n);
    for (int64_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > TOL * (fabs(want[i]) + rms))
            fail_msg("%s (B %lld Ci %lld %lldx%lld Co %lld k %lldx%lld s %lld,%lld %s%s)[%lld]: %.8g, naive %.8g",
                     what, (long long)c->B, (long long)c->Ci, (long long)c->H, (long long)c->W, (long long)c->Co,
                     (long long)c->kh, (long long)c->kw, (long long)c->sh, (long long)c->sw,
                     c->pad == HD_PAD_SAME ? "same" : "valid", c->transposed ? " transposed" : "", (long long)i,
                     (double)got[i], want[i]);
}

static void naive_case(const conv_shape *c, uint64_t seed)
{
    hd_graph *g = hd_graph_new(seed);
    hd_node *x = hd_input(g, "x", 4, (int64_t[]){HD_BATCH, c->Ci, c->H, c->W});
    assert_int_equal(hd_input_requires_grad(x), HD_OK);
    int64_t wshape[4] = {c->transposed ? c->Ci : c->Co, c->transposed ? c->Co : c->Ci, c->kh, c->kw};
    hd_node *w = hd_param(g, "w", 4, wshape, (hd_init){HD_INIT_UNIFORM, 0.3f});
    hd_node *b = hd_param(g, "b", 1, (int64_t[]){c->Co}, (hd_init){HD_INIT_UNIFORM, 1.0f});
    hd_node *y = c->transposed ? hd_conv_transpose2d(g, x, w, b, (int)c->sh, (int)c->sw, c->pad)
                               : hd_conv2d(g, x, w, b, (int)c->sh, (int)c->sw, c->pad);
    if (!y) fail_msg("%s", hd_last_error());
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, c->B), HD_OK);
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    int64_t nx = hd_tensor_numel(&x->val), ny = hd_tensor_numel(&y->val), nw = hd_tensor_numel(&w->val);
    fill(&r, x->val.data, nx);
    float *dy = malloc((size_t)ny * sizeof *dy);
    double *ry = malloc((size_t)ny * sizeof *ry), *rdx = malloc((size_t)nx * sizeof *rdx);
    double *rdw = malloc((size_t)nw * sizeof *rdw), *rdb = malloc((size_t)c->Co * sizeof *rdb);
    assert_true(dy && ry && rdx && rdw && rdb);
    fill(&r, dy, ny);
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    assert_int_equal(hd_graph_backward_seeded(g, y, HD_ALL, dy), HD_OK);
    naive(c, x->val.data, w->val.data, b->val.data, dy, y->val.shape[2], y->val.shape[3], ry, rdx, rdw, rdb);
    check_close("y", c, y->val.data, ry, ny);
    check_close("dx", c, x->grad.data, rdx, nx);
    check_close("dw", c, w->grad.data, rdw, nw);
    check_close("db", c, b->grad.data, rdb, c->Co);
    free(dy), free(ry), free(rdx), free(rdw), free(rdb);
    hd_graph_free(g);
}

/* Shapes whose im2col columns exceed one chunk, so the batch runs in several
 * chunks with a shorter last one; the DCGAN layers at a small batch. */
static void test_against_naive(void **state)
{
    (void)state;
    const conv_shape cases[] = {
        {3, 64, 28, 28, 3, 5, 5, 1, 1, HD_PAD_SAME, 0},  /* one sample per chunk */
        {7, 64, 14, 14, 2, 5, 5, 2, 2, HD_PAD_SAME, 1},  /* image 28x28x2: 2 chunks */
        {5, 8, 13, 11, 6, 3, 4, 2, 3, HD_PAD_SAME, 0},
        {5, 8, 13, 11, 6, 3, 4, 2, 3, HD_PAD_VALID, 0},
        {4, 5, 6, 7, 3, 4, 3, 3, 2, HD_PAD_SAME, 1},
        {4, 5, 6, 7, 3, 2, 2, 3, 3, HD_PAD_SAME, 1},     /* kernel < stride: rows only the bias reaches */
        {4, 5, 6, 7, 3, 3, 2, 2, 1, HD_PAD_VALID, 1},
        {3, 16, 7, 7, 8, 5, 5, 1, 1, HD_PAD_SAME, 1},    /* generator layer 1 */
        {3, 8, 7, 7, 4, 5, 5, 2, 2, HD_PAD_SAME, 1},     /* generator layer 2 */
        {3, 4, 14, 14, 1, 5, 5, 2, 2, HD_PAD_SAME, 1},   /* generator layer 3 */
        {3, 1, 28, 28, 4, 5, 5, 2, 2, HD_PAD_SAME, 0},   /* discriminator layer 1 */
        {3, 4, 14, 14, 8, 5, 5, 2, 2, HD_PAD_SAME, 0},   /* discriminator layer 2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) naive_case(&cases[i], 100 + i);
}

/* ---- buffers: checkpoints, ranges, gradients -------------------------------------- */

static void test_running_stats_are_buffers(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(3);
    hd_node *x = hd_input(g, "x", 4, (int64_t[]){HD_BATCH, 2, 5, 5});
    hd_conv2d_layer conv;
    hd_batch_norm_layer bn;
    assert_int_equal(hd_conv2d_init(g, &conv, "conv",
            &(hd_conv2d_opts){.in = 2, .out = 3, .kernel = 3, .stride = 1, .pad = HD_PAD_SAME}), HD_OK);
    assert_int_equal(hd_batch_norm_init(g, &bn, "bn", 3, 1), HD_OK);
    hd_node *y = hd_mean(g, hd_square(g, hd_batch_norm_apply(g, &bn, hd_conv2d_apply(g, &conv, x))), HD_AXIS_ALL);
    assert_non_null(y);
    assert_true(hd_node_is_buffer(bn.running_mean) && hd_node_is_param(bn.running_mean));
    assert_false(hd_node_is_buffer(bn.weight));
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 4), HD_OK);

    /* The optimiser's range holds the trained params only; buffers come last. */
    float *vals, *grads;
    int64_t n;
    assert_int_equal(hd_graph_param_range(g, HD_ALL, &vals, &grads, &n), HD_OK);
    assert_int_equal(n, 3 * 2 * 3 * 3 + 3 + 3);
    assert_int_equal(hd_graph_param_range(g, 0, &vals, &grads, &n), HD_OK);
    assert_int_equal(n, 3 * 2 * 3 * 3 + 3 + 3);
    assert_true(bn.running_mean->val.data >= vals + n && bn.running_var->val.data >= vals + n);
    assert_ptr_equal(hd_graph_param(g, hd_graph_n_params(g) - 1), bn.running_var);
    for (int i = 0; i < 3; i++) {
        assert_float_equal(bn.running_mean->val.data[i], 0.0f, 0);
        assert_float_equal(bn.running_var->val.data[i], 1.0f, 0);
        assert_float_equal(bn.weight->val.data[i], 1.0f, 0);
    }

    hd_rng r;
    hd_rng_init(&r, 5, HD_STREAM_USER);
    fill(&r, x->val.data, hd_tensor_numel(&x->val));
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    assert_int_equal(hd_graph_backward(g, y, HD_ALL), HD_OK);
    for (int i = 0; i < 3; i++) {
        assert_true(bn.running_mean->val.data[i] != 0.0f); /* updated by the training forward */
        assert_float_equal(bn.running_mean->grad.data[i], 0.0f, 0);
    }

    /* Saved and loaded with their group. */
    char *dir = test_tmpdir("conv"), path[4200];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/bn.safetensors", dir);
    assert_int_equal(hd_checkpoint_save(g, path, 0, 0, NULL), HD_OK);
    float saved = bn.running_var->val.data[1];
    bn.running_var->val.data[1] = -5.0f;
    assert_int_equal(hd_checkpoint_load(g, path, 0), HD_OK);
    assert_float_equal(bn.running_var->val.data[1], saved, 0);
    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(path, &st), HD_OK);
    assert_non_null(hd_safetensors_get(st, "bn.running_mean"));
    assert_non_null(hd_safetensors_get(st, "bn.running_var"));
    assert_non_null(hd_safetensors_get(st, "conv.weight"));
    hd_safetensors_free(st);
    test_tmpdir_free(dir);

    /* Evaluation uses the running stats: the output no longer depends on the batch. */
    hd_graph_set_training(g, 0);
    hd_node *bn_out = g->nodes[y->id - 2];
    assert_string_equal(hd_node_op_name(bn_out), "batch_norm");
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    float first = bn_out->val.data[0];
    float keep_rm = bn.running_mean->val.data[0];
    for (int64_t i = 25 * 2; i < hd_tensor_numel(&x->val); i++) x->val.data[i] += 3.0f; /* other samples */
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    assert_float_equal(bn_out->val.data[0], first, 0);
    assert_float_equal(bn.running_mean->val.data[0], keep_rm, 0); /* not updated in evaluation */
    hd_graph_free(g);
}

/* ---- the DCGAN shapes build, and errors name the op and the shapes ---------------- */

static void test_dcgan_shapes(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *h = hd_input(g, "h", 4, (int64_t[]){HD_BATCH, 256, 7, 7});
    hd_conv2d_layer l1, l2, l3, d1, d2;
    assert_int_equal(hd_conv2d_init(g, &l1, "g1",
            &(hd_conv2d_opts){.in = 256, .out = 128, .kernel = 5, .stride = 1,
                              .pad = HD_PAD_SAME, .transposed = 1}), HD_OK);
    assert_int_equal(hd_conv2d_init(g, &l2, "g2",
            &(hd_conv2d_opts){.in = 128, .out = 64, .kernel = 5, .stride = 2,
                              .pad = HD_PAD_SAME, .transposed = 1}), HD_OK);
    assert_int_equal(hd_conv2d_init(g, &l3, "g3",
            &(hd_conv2d_opts){.in = 64, .out = 1, .kernel = 5, .stride = 2,
                              .pad = HD_PAD_SAME, .transposed = 1}), HD_OK);
    assert_int_equal(hd_conv2d_init(g, &d1, "d1",
            &(hd_conv2d_opts){.in = 1, .out = 64, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1}), HD_OK);
    assert_int_equal(hd_conv2d_init(g, &d2, "d2",
            &(hd_conv2d_opts){.in = 64, .out = 128, .kernel = 5, .stride = 2, .pad = HD_PAD_SAME, .bias = 1}), HD_OK);
    hd_node *a = hd_conv2d_apply(g, &l1, h), *b = hd_conv2d_apply(g, &l2, a), *c = hd_conv2d_apply(g, &l3, b);
    hd_node *d = hd_conv2d_apply(g, &d1, c), *e = hd_conv2d_apply(g, &d2, d);
    hd_node *flat = hd_reshape(g, hd_dropout(g, e, 0.3f), 2, (int64_t[]){HD_BATCH, 128 * 7 * 7});
    assert_non_null(flat);
    const int64_t want[5][4] = {{HD_BATCH, 128, 7, 7}, {HD_BATCH, 64, 14, 14}, {HD_BATCH, 1, 28, 28},
                                {HD_BATCH, 64, 14, 14}, {HD_BATCH, 128, 7, 7}};
    hd_node *got[5] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++) assert_int_equal(got[i]->shape[k], want[i][k]);
    assert_int_equal(l1.weight->shape[0], 256); /* [Ci, Co, k, k] */
    assert_int_equal(l1.weight->shape[1], 128);
    assert_null(l1.bias);
    hd_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_node *x = hd_input(g, "x", 4, (int64_t[]){HD_BATCH, 3, 8, 8});
    hd_node *w = hd_param(g, "w", 4, (int64_t[]){4, 2, 3, 3}, (hd_init){HD_INIT_ZEROS, 0});
    assert_null(hd_conv2d(g, x, w, NULL, 1, 1, HD_PAD_SAME));
    const char *msg = hd_last_error();
    assert_non_null(strstr(msg, "conv2d"));
    if (!strstr(msg, "3, 8, 8") || !strstr(msg, "4, 2, 3, 3")) fail_msg("message '%s' lacks the shapes", msg);
    hd_node *big = hd_param(g, "big", 4, (int64_t[]){4, 3, 9, 9}, (hd_init){HD_INIT_ZEROS, 0});
    assert_null(hd_conv2d(g, x, big, NULL, 1, 1, HD_PAD_VALID));
    assert_non_null(strstr(hd_last_error(), "larger than the image"));
    assert_non_null(hd_conv2d(g, x, big, NULL, 1, 1, HD_PAD_SAME));
    assert_null(hd_conv_transpose2d(g, x, w, NULL, 2, 2, HD_PAD_SAME)); /* w [Ci=4, ...] vs x 3 channels */
    assert_non_null(strstr(hd_last_error(), "conv_transpose2d"));
    assert_null(hd_conv2d(g, x, big, NULL, 0, 1, HD_PAD_SAME));
    assert_null(hd_max_pool2d(g, x, 9, 2, 1, 1));
    assert_non_null(strstr(hd_last_error(), "max_pool2d"));
    hd_node *p = hd_param(g, "p", 1, (int64_t[]){3}, (hd_init){HD_INIT_ZEROS, 0});
    assert_null(hd_batch_norm(g, x, NULL, NULL, p, p, 0.1f, 1e-5f)); /* trainable params as running stats */
    assert_non_null(strstr(hd_last_error(), "buffer"));
    hd_node *q = hd_param(g, "q", 1, (int64_t[]){4}, (hd_init){HD_INIT_ZEROS, 0});
    assert_null(hd_batch_norm(g, x, q, q, NULL, NULL, 0.1f, 1e-5f));
    assert_non_null(strstr(hd_last_error(), "batch_norm"));
    assert_null(hd_batch_norm(g, x, q, NULL, NULL, NULL, 0.1f, 1e-5f));
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_conv_transpose2d),
        cmocka_unit_test(test_max_pool2d),
        cmocka_unit_test(test_max_pool2d_nan_ties),
        cmocka_unit_test(test_batch_norm),
        cmocka_unit_test(test_against_naive),
        cmocka_unit_test(test_running_stats_are_buffers),
        cmocka_unit_test(test_dcgan_shapes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
