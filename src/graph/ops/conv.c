/* Convolutions on NCHW float32 tensors: conv2d and its adjoint
 * conv_transpose2d, both as im2col + sgemm over chunks of the batch.
 *
 * Both ops share one geometry: an "image" side (C channels, H x W) and a
 * "grid" side (G channels, OH x OW positions), linked by a kernel kh x kw,
 * strides and a top/left padding.  Grid position (oy, ox) and kernel tap
 * (i, j) touch image pixel (oy sh - pt + i, ox sw - pl + j); pixels outside
 * the image are zero padding (the bottom/right padding is implicit).
 * conv2d reads the image (x) and writes the grid (y); conv_transpose2d is
 * its adjoint: it reads the grid (x) and writes the image (y), so its
 * 'same' output is exactly TensorFlow's gradient of a 'same' conv2d (see
 * docs/conv.md).  Both weights are w [G, C, kh, kw].
 *
 * A chunk of nb samples is processed at once (the chunk is sized so that
 * the im2col columns hold about HD_CONV_COL_FLOATS floats).  The grid side
 * is held as buf [G, nb P] (P = OH OW; plain copies from and to NCHW).  The
 * image side has two layouts, chosen by C:
 *   - channels first (C < HD_CONV_CL_MIN_C, e.g. the 1-channel images):
 *     col [C kh kw, nb P] straight from NCHW, weight w as it is;
 *   - channels last (the rest): the image is transposed to imgT
 *     [nb, H, W, C] and col is [nb P, kh kw C], the weight permuted to
 *     wp [G, kh kw C].  The kw taps of a kernel row are then kw C contiguous
 *     floats in col and in imgT, so im2col and col2im move whole runs
 *     instead of the few-pixel rows of a channels-first im2col on 7 x 7 or
 *     14 x 14 images.  docs/conv.md has the measurements behind the choice.
 * Either way, with W the (permuted) weight:
 *     conv2d:            buf = W col'          col = im2col(image)
 *     conv_transpose2d:  col = W^T buf (')     image = col2im(col)
 * (' transposes col in the channels-last layout), the backward passes are
 * the same products transposed, and dW += dbuf col' in both.  All scratch
 * lives in the node's aux buffer. */
#include "ops_common.h"

#include <cblas.h>

#define HD_CONV_COL_FLOATS (1 << 20) /* 4 MB of im2col columns per chunk */
#define HD_CONV_CL_MIN_C 8            /* image channels from which the channels-last layout is used */

typedef struct {
    int64_t c, h, w;   /* image side */
    int64_t g, oh, ow; /* grid side */
    int64_t kh, kw, sh, sw, pt, pl;
} geom;

static int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }

/* ---- layout changes ------------------------------------------------------------ */

/* Grid side, NCHW <-> [G, nb P]: P-float runs, so plain copies.
 * gather: buf = nb tensors t [G, P]; scatter: t = buf + bias (bias may be
 * NULL), or t += buf when accumulating. */
static void gather(const float *t, int64_t nb, int64_t ch, int64_t P, float *buf)
{
#pragma omp parallel for schedule(static) if (nb * ch * P > HD_PAR_MIN)
    for (int64_t k = 0; k < ch; k++)
        for (int64_t b = 0; b < nb; b++)
            memcpy(buf + (k * nb + b) * P, t + (b * ch + k) * P, (size_t)P * sizeof *buf);
}

static void scatter(const float *buf, int64_t nb, int64_t ch, int64_t P, const float *bias, int accumulate,
                    float *t)
{
#pragma omp parallel for schedule(static) if (nb * ch * P > HD_PAR_MIN)
    for (int64_t bk = 0; bk < nb * ch; bk++) {
        int64_t b = bk / ch, k = bk % ch;
        const float *s = buf + (k * nb + b) * P;
        float *d = t + bk * P;
        float add = bias ? bias[k] : 0.0f;
        if (accumulate) {
#pragma omp simd
            for (int64_t p = 0; p < P; p++) d[p] += s[p];
        } else {
#pragma omp simd
            for (int64_t p = 0; p < P; p++) d[p] = s[p] + add;
        }
    }
}

/* Image side, NCHW <-> channels last: per sample dst [cols, rows] =
 * src [rows, cols]^T, + bias[col] (may be NULL), or added into dst when
 * accumulating.  8 x 8 tiles transposed in registers where AVX is there. */
#ifdef __AVX__
#include <immintrin.h>
static inline void tile8(const float *s, int64_t ls, float *d, int64_t ld, const float *bias, int accumulate)
{
    __m256 r[8], t[8], u[8];
    for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(s + k * ls);
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int k = 0; k < 2; k++) {
        u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
        u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
        u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
        u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
    }
    __m256 w[8];
    for (int k = 0; k < 4; k++) { /* immediates must be constants, even at -O0 */
        w[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
        w[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
    }
    for (int k = 0; k < 8; k++) {
        __m256 v = w[k];
        float *dk = d + k * ld;
        if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(dk));
        else if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[k]));
        _mm256_storeu_ps(dk, v);
    }
}
#define TILE 8
#else
#define TILE 1
#endif

static void transpose(const float *src, int64_t nb, int64_t rows, int64_t cols, const float *bias, int accumulate,
                      float *dst)
{
    const int64_t n = rows * cols;
    if (rows == 1 || cols == 1) { /* a copy */
        scatter(src, 1, nb, n, NULL, accumulate, dst);
        if (bias && !accumulate)
            for (int64_t b = 0; b < nb; b++)
                for (int64_t i = 0; i < n; i++) dst[b * n + i] += bias[rows == 1 ? i : 0];
        return;
    }
    const int64_t R = rows / TILE * TILE, tr = R / TILE;
#pragma omp parallel for schedule(static) if (nb * n > HD_PAR_MIN)
    for (int64_t bt = 0; bt < nb * (tr + 1); bt++) { /* a band of TILE rows, or the leftover rows */
        int64_t b = bt / (tr + 1), r0 = bt % (tr + 1) * TILE;
        const float *s = src + b * n;
        float *d = dst + b * n;
        int64_t r1 = r0 < R ? r0 + TILE : rows, c0 = 0;
#ifdef __AVX__
        if (r0 < R)
            for (; c0 + TILE <= cols; c0 += TILE)
                tile8(s + r0 * cols + c0, cols, d + c0 * rows + r0, rows, bias ? bias + c0 : NULL, accumulate);
#endif
        for (int64_t r = r0; r < r1; r++)
            for (int64_t c = c0; c < cols; c++) {
                float v = s[r * cols + c];
                if (accumulate) d[c * rows + r] += v;
                else d[c * rows + r] = bias ? v + bias[c] : v;
            }
    }
}

/* wp [G, kh kw C] from w [G, C, kh, kw]. */
static void permute_weight(const float *w, const geom *g, float *wp)
{
    const int64_t kk = g->kh * g->kw, K = kk * g->c;
    for (int64_t o = 0; o < g->g; o++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t t = 0; t < kk; t++) wp[o * K + t * g->c + c] = w[(o * g->c + c) * kk + t];
}

/* dw [G, C, kh, kw] += dwp [G, kh kw C]. */
static void unpermute_add(const float *dwp, const geom *g, float *dw)
{
    const int64_t kk = g->kh * g->kw, K = kk * g->c;
    for (int64_t o = 0; o < g->g; o++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t t = 0; t < kk; t++) dw[(o * g->c + c) * kk + t] += dwp[o * K + t * g->c + c];
}

/* Taps j of a kernel row that land inside the image for grid column ox:
 * [*lo, *hi), clipped to [0, kw). */
static void tap_range(const geom *g, int64_t ox, int64_t *lo, int64_t *hi)
{
    int64_t ix0 = ox * g->sw - g->pl; /* image column of tap 0 */
    *lo = ix0 < 0 ? -ix0 : 0;
    *hi = g->w - ix0 < g->kw ? g->w - ix0 : g->kw;
    if (*lo > g->kw) *lo = g->kw;
    if (*hi < *lo) *hi = *lo;
}

/* ---- im2col and col2im, channels first ---------------------------------------------- */

/* First grid index o >= 0 with o s - p + j >= 0, and one past the last one
 * with o s - p + j < len, clipped to [0, n). */
static void grid_range(int64_t n, int64_t s, int64_t p, int64_t j, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t a = p - j; /* o s >= a */
    int64_t l = a <= 0 ? 0 : (a + s - 1) / s;
    int64_t b = len - 1 + p - j; /* o s <= b */
    int64_t h = b < 0 ? 0 : b / s + 1;
    *lo = l < n ? l : n;
    *hi = h < n ? h : n;
    if (*hi < *lo) *hi = *lo;
}

/* col [C kh kw, nb P] from nb NCHW images. */
static void im2col_cf(const float *img, int64_t nb, const geom *g, float *col)
{
    const int64_t P = g->oh * g->ow, ld = nb * P, kk = g->kh * g->kw, rows = g->c * kk;
    const int64_t plane = g->h * g->w;
#pragma omp parallel for schedule(static) if (rows * ld > HD_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / kk, i = (r / g->kw) % g->kh, j = r % g->kw, lo, hi;
        grid_range(g->ow, g->sw, g->pl, j, g->w, &lo, &hi);
        for (int64_t b = 0; b < nb; b++) {
            const float *src = img + (b * g->c + c) * plane;
            float *dst = col + r * ld + b * P;
            for (int64_t oy = 0; oy < g->oh; oy++) {
                int64_t iy = oy * g->sh - g->pt + i;
                float *d = dst + oy * g->ow;
                if (iy < 0 || iy >= g->h) {
                    for (int64_t ox = 0; ox < g->ow; ox++) d[ox] = 0.0f;
                    continue;
                }
                const float *sr = src + iy * g->w + j - g->pl; /* sr[ox sw] for ox in [lo, hi) */
                for (int64_t ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                if (g->sw == 1)
                    for (int64_t ox = lo; ox < hi; ox++) d[ox] = sr[ox];
                else if (g->sw == 2) /* a constant stride lets the compiler vectorise the gather */
                    for (int64_t ox = lo; ox < hi; ox++) d[ox] = sr[2 * ox];
                else
                    for (int64_t ox = lo; ox < hi; ox++) d[ox] = sr[ox * g->sw];
                for (int64_t ox = hi; ox < g->ow; ox++) d[ox] = 0.0f;
            }
        }
    }
}

/* The adjoint of im2col_cf: adds col [C kh kw, nb P] into nb NCHW images. */
static void col2im_cf(const float *col, int64_t nb, const geom *g, float *img)
{
    const int64_t P = g->oh * g->ow, ld = nb * P, kk = g->kh * g->kw;
    const int64_t plane = g->h * g->w, planes = nb * g->c;
#pragma omp parallel for schedule(static) if (planes * kk * P > HD_PAR_MIN)
    for (int64_t bc = 0; bc < planes; bc++) { /* one image plane per iteration: no races */
        int64_t b = bc / g->c, c = bc % g->c;
        float *dst = img + bc * plane;
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                int64_t lo, hi;
                grid_range(g->ow, g->sw, g->pl, j, g->w, &lo, &hi);
                const float *src = col + ((c * g->kh + i) * g->kw + j) * ld + b * P;
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    int64_t iy = oy * g->sh - g->pt + i;
                    if (iy < 0 || iy >= g->h) continue;
                    float *d = dst + iy * g->w + j - g->pl;
                    const float *sr = src + oy * g->ow;
                    if (g->sw == 1) {
#pragma omp simd
                        for (int64_t ox = lo; ox < hi; ox++) d[ox] += sr[ox];
                    } else if (g->sw == 2) {
                        for (int64_t ox = lo; ox < hi; ox++) d[2 * ox] += sr[ox];
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++) d[ox * g->sw] += sr[ox];
                    }
                }
            }
    }
}

/* ---- im2col and col2im, channels last ------------------------------------------------ */

/* col [nb P, kh kw C] from imgT [nb, H, W, C]: per grid position and kernel
 * row, one run of kw C floats (zeros where the taps fall outside). */
static void im2col_cl(const float *imgT, int64_t nb, const geom *g, float *col)
{
    const int64_t P = g->oh * g->ow, rows = nb * P, C = g->c, run = g->kw * C, K = g->kh * run;
#pragma omp parallel for schedule(static) if (rows * K > HD_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t b = r / P, oy = r % P / g->ow, ox = r % g->ow, lo, hi;
        tap_range(g, ox, &lo, &hi);
        const float *img = imgT + b * g->h * g->w * C;
        float *d = col + r * K;
        for (int64_t i = 0; i < g->kh; i++, d += run) {
            int64_t iy = oy * g->sh - g->pt + i;
            int64_t a = lo * C, z = hi * C; /* zeros [0, a), image [a, z), zeros [z, run) */
            const float *src = img;
            if (iy < 0 || iy >= g->h) a = z = run;
            else src += (iy * g->w + ox * g->sw - g->pl) * C;
            if (run >= 64) {
                memset(d, 0, (size_t)a * sizeof *d);
                memcpy(d + a, src + a, (size_t)(z - a) * sizeof *d);
                memset(d + z, 0, (size_t)(run - z) * sizeof *d);
            } else { /* short runs (C = 1): plain loops beat the library calls */
                for (int64_t k = 0; k < a; k++) d[k] = 0.0f;
                for (int64_t k = a; k < z; k++) d[k] = src[k];
                for (int64_t k = z; k < run; k++) d[k] = 0.0f;
            }
        }
    }
}

/* imgT [nb, H, W, C] = the adjoint of im2col applied to col (written, not
 * added).  One image row per iteration, so threads never share an output. */
static void col2im_cl(const float *col, int64_t nb, const geom *g, float *imgT)
{
    const int64_t P = g->oh * g->ow, C = g->c, run = g->kw * C, K = g->kh * run, rowlen = g->w * C;
#pragma omp parallel for schedule(static) if (nb * g->h * rowlen * g->kh > HD_PAR_MIN)
    for (int64_t by = 0; by < nb * g->h; by++) {
        int64_t b = by / g->h, iy = by % g->h;
        float *d = imgT + by * rowlen;
        memset(d, 0, (size_t)rowlen * sizeof *d);
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t t = iy + g->pt - i; /* = oy sh */
            if (t < 0 || t % g->sh) continue;
            int64_t oy = t / g->sh;
            if (oy >= g->oh) continue;
            const float *src = col + (b * P + oy * g->ow) * K + i * run;
            for (int64_t ox = 0; ox < g->ow; ox++, src += K) {
                int64_t lo, hi;
                tap_range(g, ox, &lo, &hi);
                float *dd = d + (ox * g->sw - g->pl + lo) * C;
                const float *ss = src + lo * C;
                const int64_t len = (hi - lo) * C;
#pragma omp simd
                for (int64_t k = 0; k < len; k++) dd[k] += ss[k];
            }
        }
    }
}

/* ---- shape rules ------------------------------------------------------------ */

/* n->ip: strides, hd_padding, top/left padding, and the output size when
 * the padding is PAD_EXPLICIT (the nodes of gradients, hd_conv_to_grid and
 * hd_conv_to_image: the geometry copied from another conv node).  conv_dw
 * keeps its kernel size in IP_OH, IP_OW. */
enum { IP_SH, IP_SW, IP_PAD, IP_PT, IP_PL, IP_OH, IP_OW };
#define PAD_EXPLICIT 2

static int check_conv_inputs(hd_node *n, int64_t w_out_dim)
{
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->ndim != 4 || w->ndim != 4) return hd_shape_error2(n, x, w, "must both be 4-D (x [B,C,H,W], w [.,.,kh,kw])");
    for (int i = 1; i < 4; i++)
        if (x->shape[i] == HD_BATCH) return hd_shape_error1(n, x, "has HD_BATCH outside dim 0");
    for (int i = 0; i < 4; i++)
        if (w->shape[i] == HD_BATCH) return hd_shape_error2(n, x, w, "do not match: the weight cannot be batched");
    if (n->ip[IP_SH] < 1 || n->ip[IP_SW] < 1)
        return hd_error(HD_EINVAL, "%s: strides %lld x %lld must be >= 1", hd_ops[n->op]->name,
                        (long long)n->ip[IP_SH], (long long)n->ip[IP_SW]);
    if (n->ip[IP_PAD] != HD_PAD_VALID && n->ip[IP_PAD] != HD_PAD_SAME && n->ip[IP_PAD] != PAD_EXPLICIT)
        return hd_error(HD_EINVAL, "%s: padding %lld is neither HD_PAD_VALID nor HD_PAD_SAME", hd_ops[n->op]->name,
                        (long long)n->ip[IP_PAD]);
    if (n->n_in == 3) {
        const hd_node *b = n->in[2];
        if (b->ndim != 1 || b->shape[0] != w->shape[w_out_dim])
            return hd_shape_error2(n, w, b, "do not match (output channels of w vs bias)");
    }
    return HD_OK;
}

/* Output size and leading padding of a conv2d along one axis. */
static int conv_axis(hd_node *n, int64_t in, int64_t k, int64_t s, int64_t *out, int64_t *pad)
{
    if (n->ip[IP_PAD] == HD_PAD_SAME) { /* TensorFlow: out = ceil(in / s), extra padding at the end */
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + k - in;
        *pad = total > 0 ? total / 2 : 0;
        return HD_OK;
    }
    if (in < k) return HD_ESHAPE;
    *out = (in - k) / s + 1;
    *pad = 0;
    return HD_OK;
}

/* [B, channels, OH, OW] as given (the geometry was checked on the node it was copied from). */
static int explicit_shape(hd_node *n, int64_t channels)
{
    n->ndim = 4;
    n->shape[0] = n->in[0]->shape[0];
    n->shape[1] = channels;
    n->shape[2] = n->ip[IP_OH];
    n->shape[3] = n->ip[IP_OW];
    return HD_OK;
}

static int shape_conv2d(hd_node *n)
{
    int rc = check_conv_inputs(n, 0);
    if (rc != HD_OK) return rc;
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->shape[1] != w->shape[1])
        return hd_shape_error2(n, x, w, "do not match (input channels of x vs w [Co,Ci,kh,kw])");
    if (n->ip[IP_PAD] == PAD_EXPLICIT) return explicit_shape(n, w->shape[0]);
    int64_t oh, ow, pt, pl;
    if (conv_axis(n, x->shape[2], w->shape[2], n->ip[IP_SH], &oh, &pt) != HD_OK ||
        conv_axis(n, x->shape[3], w->shape[3], n->ip[IP_SW], &ow, &pl) != HD_OK)
        return hd_shape_error2(n, x, w, "do not fit: the kernel is larger than the image ('valid' padding)");
    n->ip[IP_PT] = pt;
    n->ip[IP_PL] = pl;
    n->ndim = 4;
    n->shape[0] = x->shape[0];
    n->shape[1] = w->shape[0];
    n->shape[2] = oh;
    n->shape[3] = ow;
    return HD_OK;
}

/* conv_transpose2d: the output size is H s ('same', Keras) or (H-1) s + k
 * ('valid'); the leading crop is the padding of the conv2d it is the adjoint of. */
static int shape_conv_transpose2d(hd_node *n)
{
    int rc = check_conv_inputs(n, 1);
    if (rc != HD_OK) return rc;
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->shape[1] != w->shape[0])
        return hd_shape_error2(n, x, w, "do not match (input channels of x vs w [Ci,Co,kh,kw])");
    if (n->ip[IP_PAD] == PAD_EXPLICIT) return explicit_shape(n, w->shape[1]);
    int64_t sz[2];
    for (int a = 0; a < 2; a++) {
        int64_t in = x->shape[2 + a], k = w->shape[2 + a], s = n->ip[IP_SH + a], out = 0, pad = 0;
        sz[a] = n->ip[IP_PAD] == HD_PAD_SAME ? in * s : (in - 1) * s + k;
        conv_axis(n, sz[a], k, s, &out, &pad); /* always fits; out == in */
        n->ip[IP_PT + a] = pad;
    }
    n->ndim = 4;
    n->shape[0] = x->shape[0];
    n->shape[1] = w->shape[1];
    n->shape[2] = sz[0];
    n->shape[3] = sz[1];
    return HD_OK;
}

/* ---- concrete geometry, chunks and scratch ------------------------------------------- */

/* img: the image-side tensor, grid: the grid-side tensor, w: the weight [G, C, kh, kw]. */
static geom geom_of(const hd_node *n, const hd_tensor *img, const hd_tensor *grid, const hd_tensor *w)
{
    return (geom){.c = img->shape[1], .h = img->shape[2], .w = img->shape[3], .g = grid->shape[1],
                  .oh = grid->shape[2], .ow = grid->shape[3], .kh = w->shape[2], .kw = w->shape[3],
                  .sh = n->ip[IP_SH], .sw = n->ip[IP_SW], .pt = n->ip[IP_PT], .pl = n->ip[IP_PL]};
}

/* One pass's working set.  W and dW are the weight and its gradient as the
 * layout wants them: wp and dwp in aux (channels last), or the weight's own
 * value and gradient (channels first). */
typedef struct {
    const geom *g;
    int cl;                   /* channels-last layout */
    int64_t nb, P, S, K;      /* chunk, grid positions, image pixels, col row length (C kh kw) */
    float *col, *imgT, *buf;  /* col, imgT [nb, H, W, C] (channels last), buf [G, nb P] */
    const float *W;           /* [G, K] */
    float *dW;
    float *wp, *dwp;          /* aux space for W and dW (channels last) */
} pass;

/* Offsets of the scratch arrays in aux, in floats; returns the total. */
static int64_t pass_layout(const geom *g, int64_t batch, pass *s, int64_t off[5])
{
    int64_t per = g->c * g->kh * g->kw * g->oh * g->ow; /* col floats per sample */
    int64_t nb = HD_CONV_COL_FLOATS / (per ? per : 1);
    s->g = g;
    s->cl = g->c >= HD_CONV_CL_MIN_C;
    s->nb = nb < 1 ? 1 : nb < batch ? nb : batch;
    s->P = g->oh * g->ow;
    s->S = g->h * g->w;
    s->K = g->kh * g->kw * g->c;
    int64_t wsz = s->cl ? g->g * s->K : 0;
    int64_t sizes[5] = {s->nb * s->P * s->K, s->cl ? s->nb * s->S * g->c : 0, g->g * s->nb * s->P, wsz, wsz};
    int64_t total = 0;
    for (int i = 0; i < 5; i++) {
        off[i] = total;
        total += pad16(sizes[i]);
    }
    return total;
}

static int64_t aux_of(const geom *g, int64_t batch)
{
    pass s;
    int64_t off[5];
    return pass_layout(g, batch, &s, off);
}

/* Sets up a pass with weight w [G, C, kh, kw]; dw (NULL: none) is the
 * weight-gradient accumulator, replaced by the zeroed dwp when channels last. */
static pass pass_begin(const geom *g, int64_t batch, float *aux, const float *w, float *dw)
{
    pass s;
    int64_t off[5];
    pass_layout(g, batch, &s, off);
    s.col = aux + off[0];
    s.imgT = aux + off[1];
    s.buf = aux + off[2];
    s.wp = aux + off[3];
    s.dwp = aux + off[4];
    s.W = w;
    s.dW = dw;
    if (!s.cl) return s;
    if (w) {
        permute_weight(w, g, s.wp);
        s.W = s.wp;
    }
    if (s.dW) {
        memset(s.dwp, 0, (size_t)(g->g * s.K) * sizeof *s.dwp);
        s.dW = s.dwp;
    }
    return s;
}

/* Adds the channels-last dW accumulator into dw. */
static void pass_end(const pass *s, float *dw)
{
    if (s->cl && s->dW) unpermute_add(s->dwp, s->g, dw);
}

static float *grad_or_null(hd_node *n) { return n->needs_grad ? n->grad.data : NULL; }

/* col = im2col of m NCHW images. */
static void image_to_col(const pass *s, const float *img, int64_t m)
{
    if (!s->cl) {
        im2col_cf(img, m, s->g, s->col);
        return;
    }
    transpose(img, m, s->g->c, s->S, NULL, 0, s->imgT);
    im2col_cl(s->imgT, m, s->g, s->col);
}

/* m NCHW images = col2im(col) (+ bias, may be NULL), or += when accumulating. */
static void col_to_image(const pass *s, int64_t m, const float *bias, int accumulate, float *img)
{
    const geom *g = s->g;
    if (s->cl) {
        col2im_cl(s->col, m, g, s->imgT);
        transpose(s->imgT, m, s->S, g->c, bias, accumulate, img);
        return;
    }
    if (!accumulate) {
#pragma omp parallel for schedule(static) if (m * g->c * s->S > HD_PAR_MIN)
        for (int64_t bc = 0; bc < m * g->c; bc++) {
            float v = bias ? bias[bc % g->c] : 0.0f;
            for (int64_t p = 0; p < s->S; p++) img[bc * s->S + p] = v;
        }
    }
    col2im_cf(s->col, m, g, img);
}

/* buf [G, mP] = W col' (conv2d forward, conv_transpose2d's dx). */
static void gemm_buf(const pass *s, int64_t m)
{
    int G = (int)s->g->g, mp = (int)(m * s->P), K = (int)s->K;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, s->cl ? CblasTrans : CblasNoTrans, G, mp, K, 1.0f, s->W, K, s->col,
                s->cl ? K : mp, 0.0f, s->buf, mp);
}

/* col = W^T buf, transposed when channels last (conv_transpose2d forward, conv2d's dx). */
static void gemm_col(const pass *s, int64_t m)
{
    int G = (int)s->g->g, mp = (int)(m * s->P), K = (int)s->K;
    if (s->cl) /* col [mP, K] = buf^T W */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, mp, K, G, 1.0f, s->buf, mp, s->W, K, 0.0f, s->col, K);
    else /* col [K, mP] = W^T buf */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, mp, G, 1.0f, s->W, K, s->buf, mp, 0.0f, s->col, mp);
}

/* dW [G, K] += buf col'. */
static void gemm_dw(const pass *s, int64_t m)
{
    int G = (int)s->g->g, mp = (int)(m * s->P), K = (int)s->K;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, s->cl ? CblasNoTrans : CblasTrans, G, K, mp, 1.0f, s->buf, mp, s->col,
                s->cl ? K : mp, 1.0f, s->dW, K);
}

/* db[k] += sum of dy over the batch and the P positions of channel k. */
static void bias_grad(const float *dy, int64_t B, int64_t ch, int64_t P, float *db)
{
#pragma omp parallel for schedule(static) if (B * ch * P > HD_PAR_MIN)
    for (int64_t k = 0; k < ch; k++) {
        double acc = 0;
        for (int64_t b = 0; b < B; b++) {
            const float *d = dy + (b * ch + k) * P;
#pragma omp simd reduction(+ : acc)
            for (int64_t p = 0; p < P; p++) acc += d[p];
        }
        db[k] += (float)acc;
    }
}

/* ---- conv2d: x is the image, y the grid --------------------------------------- */

static geom conv2d_geom(const hd_node *n) { return geom_of(n, &n->in[0]->val, &n->val, &n->in[1]->val); }

static int64_t conv2d_aux(const hd_node *n)
{
    geom g = conv2d_geom(n);
    return aux_of(&g, n->val.shape[0]);
}

static void conv2d_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const geom g = conv2d_geom(n);
    const int64_t B = n->val.shape[0];
    pass s = pass_begin(&g, B, n->aux, n->in[1]->val.data, NULL);
    const float *x = n->in[0]->val.data, *bias = n->n_in == 3 ? n->in[2]->val.data : NULL;
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        image_to_col(&s, x + b0 * g.c * s.S, m);
        gemm_buf(&s, m);
        scatter(s.buf, m, g.g, s.P, bias, 0, n->val.data + b0 * g.g * s.P);
    }
}

static void conv2d_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *xn = n->in[0], *wn = n->in[1], *bn = n->n_in == 3 ? n->in[2] : NULL;
    const geom g = conv2d_geom(n);
    const int64_t B = n->val.shape[0];
    const float *dy = n->grad.data;
    if (bn && bn->needs_grad) bias_grad(dy, B, g.g, g.oh * g.ow, bn->grad.data);
    if (!xn->needs_grad && !wn->needs_grad) return;
    pass s = pass_begin(&g, B, n->aux, wn->val.data, grad_or_null(wn));
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(dy + b0 * g.g * s.P, m, g.g, s.P, s.buf);
        if (wn->needs_grad) {
            image_to_col(&s, xn->val.data + b0 * g.c * s.S, m);
            gemm_dw(&s, m);
        }
        if (xn->needs_grad) {
            gemm_col(&s, m);
            col_to_image(&s, m, NULL, 1, xn->grad.data + b0 * g.c * s.S);
        }
    }
    pass_end(&s, wn->grad.data);
}

/* The gradient of the bias: gy summed over the batch and the positions. */
static hd_node *bias_sum(hd_graph *g, hd_node *gy) { return hd_sum(g, hd_sum(g, hd_sum(g, gy, 3), 2), 0); }

static int conv2d_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0   ? hd_conv_to_image(g, n, gy, n->in[1])
          : i == 1 ? hd_conv_dw(g, n, n->in[0], gy)
                   : bias_sum(g, gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv2d = {"conv2d", shape_conv2d, conv2d_fwd, conv2d_bwd, conv2d_aux, conv2d_vjp};

static hd_node *conv_node(hd_graph *g, int op, hd_node *x, hd_node *w, hd_node *b, int sh, int sw, hd_padding pad)
{
    if (pad != HD_PAD_VALID && pad != HD_PAD_SAME) {
        hd_error(HD_EINVAL, "%s: padding %d is neither HD_PAD_VALID nor HD_PAD_SAME", hd_ops[op]->name, (int)pad);
        return NULL;
    }
    hd_node *in[3] = {x, w, b};
    hd_op_args args = {.i = {[IP_SH] = sh, [IP_SW] = sw, [IP_PAD] = pad}};
    return hd_node_add(g, op, b ? 3 : 2, in, &args);
}

hd_node *hd_conv2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w, hd_padding pad)
{
    return conv_node(g, HD_OP_CONV2D, x, w, b, stride_h, stride_w, pad);
}

/* ---- conv_transpose2d: y is the image, x the grid -------------------------------- */

static geom convt_geom(const hd_node *n) { return geom_of(n, &n->val, &n->in[0]->val, &n->in[1]->val); }

static int64_t convt_aux(const hd_node *n)
{
    geom g = convt_geom(n);
    return aux_of(&g, n->val.shape[0]);
}

static void convt_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const geom g = convt_geom(n);
    const int64_t B = n->val.shape[0];
    pass s = pass_begin(&g, B, n->aux, n->in[1]->val.data, NULL);
    const float *x = n->in[0]->val.data, *bias = n->n_in == 3 ? n->in[2]->val.data : NULL;
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(x + b0 * g.g * s.P, m, g.g, s.P, s.buf);
        gemm_col(&s, m);
        col_to_image(&s, m, bias, 0, n->val.data + b0 * g.c * s.S);
    }
}

static void convt_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *xn = n->in[0], *wn = n->in[1], *bn = n->n_in == 3 ? n->in[2] : NULL;
    const geom g = convt_geom(n);
    const int64_t B = n->val.shape[0];
    const float *dy = n->grad.data;
    if (bn && bn->needs_grad) bias_grad(dy, B, g.c, g.h * g.w, bn->grad.data);
    if (!xn->needs_grad && !wn->needs_grad) return;
    pass s = pass_begin(&g, B, n->aux, wn->val.data, grad_or_null(wn));
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        image_to_col(&s, dy + b0 * g.c * s.S, m);
        if (wn->needs_grad) {
            gather(xn->val.data + b0 * g.g * s.P, m, g.g, s.P, s.buf);
            gemm_dw(&s, m);
        }
        if (xn->needs_grad) {
            gemm_buf(&s, m);
            scatter(s.buf, m, g.g, s.P, NULL, 1, xn->grad.data + b0 * g.g * s.P);
        }
    }
    pass_end(&s, wn->grad.data);
}

static int convt_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0   ? hd_conv_to_grid(g, n, gy, n->in[1])
          : i == 1 ? hd_conv_dw(g, n, gy, n->in[0])
                   : bias_sum(g, gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv_transpose2d = {"conv_transpose2d", shape_conv_transpose2d, convt_fwd, convt_bwd, convt_aux,
                                      convt_vjp};

hd_node *hd_conv_transpose2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w,
                             hd_padding pad)
{
    return conv_node(g, HD_OP_CONV_TRANSPOSE2D, x, w, b, stride_h, stride_w, pad);
}

/* ---- conv_dw: the weight gradient of image and grid, a node of its own ----------------- */

static int shape_conv_dw(hd_node *n)
{
    const hd_node *img = n->in[0], *grid = n->in[1];
    if (img->ndim != 4 || grid->ndim != 4 || img->shape[0] != grid->shape[0])
        return hd_shape_error2(n, img, grid, "must be 4-D images and grids of one batch");
    n->ndim = 4;
    n->shape[0] = grid->shape[1];
    n->shape[1] = img->shape[1];
    n->shape[2] = n->ip[IP_OH];
    n->shape[3] = n->ip[IP_OW];
    return HD_OK;
}

static geom conv_dw_geom(const hd_node *n) { return geom_of(n, &n->in[0]->val, &n->in[1]->val, &n->val); }

static int64_t conv_dw_aux(const hd_node *n)
{
    geom g = conv_dw_geom(n);
    return aux_of(&g, n->in[0]->val.shape[0]);
}

static void conv_dw_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const geom g = conv_dw_geom(n);
    const int64_t B = n->in[0]->val.shape[0];
    const float *img = n->in[0]->val.data, *grid = n->in[1]->val.data;
    memset(n->val.data, 0, (size_t)numel_of(n) * sizeof(float));
    pass s = pass_begin(&g, B, n->aux, NULL, n->val.data);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(grid + b0 * g.g * s.P, m, g.g, s.P, s.buf);
        image_to_col(&s, img + b0 * g.c * s.S, m);
        gemm_dw(&s, m);
    }
    pass_end(&s, n->val.data);
}

/* With V = dL/d(dw): d grid += conv2d(img, V), d img += conv_transpose2d(grid, V). */
static void conv_dw_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *in = n->in[0], *gn = n->in[1];
    const geom g = conv_dw_geom(n);
    const int64_t B = in->val.shape[0];
    pass s = pass_begin(&g, B, n->aux, n->grad.data, NULL);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        if (gn->needs_grad) {
            image_to_col(&s, in->val.data + b0 * g.c * s.S, m);
            gemm_buf(&s, m);
            scatter(s.buf, m, g.g, s.P, NULL, 1, gn->grad.data + b0 * g.g * s.P);
        }
        if (in->needs_grad) {
            gather(gn->val.data + b0 * g.g * s.P, m, g.g, s.P, s.buf);
            gemm_col(&s, m);
            col_to_image(&s, m, NULL, 1, in->grad.data + b0 * g.c * s.S);
        }
    }
}

static int conv_dw_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0 ? hd_conv_to_image(g, n, n->in[1], gy) : hd_conv_to_grid(g, n, n->in[0], gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv_dw = {"conv_dw", shape_conv_dw, conv_dw_fwd, conv_dw_bwd, conv_dw_aux, conv_dw_vjp};

/* ---- the nodes of conv gradients: another conv node's geometry ------------------------- */

/* The image and grid sides of c: conv2d reads the image, conv_transpose2d
 * writes it, conv_dw reads both. */
static void sides(const hd_node *c, const hd_node **img, const hd_node **grid)
{
    *img = c->op == HD_OP_CONV_TRANSPOSE2D ? c : c->in[0];
    *grid = c->op == HD_OP_CONV2D ? c : c->op == HD_OP_CONV_TRANSPOSE2D ? c->in[0] : c->in[1];
}

static hd_op_args geometry_of(const hd_node *c, int64_t oh, int64_t ow)
{
    return (hd_op_args){.i = {[IP_SH] = c->ip[IP_SH], [IP_SW] = c->ip[IP_SW], [IP_PAD] = PAD_EXPLICIT,
                              [IP_PT] = c->ip[IP_PT], [IP_PL] = c->ip[IP_PL], [IP_OH] = oh, [IP_OW] = ow}};
}

/* A conv2d (to the grid) or conv_transpose2d (to the image) of a and w with c's geometry. */
static hd_node *with_geometry(hd_graph *g, const hd_node *c, int op, hd_node *a, hd_node *w)
{
    const hd_node *img, *grid;
    sides(c, &img, &grid);
    const hd_node *out = op == HD_OP_CONV2D ? grid : img;
    hd_op_args args = geometry_of(c, out->shape[2], out->shape[3]);
    hd_node *in[2] = {a, w};
    return hd_node_add(g, op, 2, in, &args);
}

hd_node *hd_conv_to_grid(hd_graph *g, const hd_node *c, hd_node *img, hd_node *w)
{
    return with_geometry(g, c, HD_OP_CONV2D, img, w);
}

hd_node *hd_conv_to_image(hd_graph *g, const hd_node *c, hd_node *grid, hd_node *w)
{
    return with_geometry(g, c, HD_OP_CONV_TRANSPOSE2D, grid, w);
}

hd_node *hd_conv_dw(hd_graph *g, const hd_node *c, hd_node *img, hd_node *grid)
{
    int64_t kh = c->op == HD_OP_CONV_DW ? c->ip[IP_OH] : c->in[1]->shape[2];
    int64_t kw = c->op == HD_OP_CONV_DW ? c->ip[IP_OW] : c->in[1]->shape[3];
    hd_op_args args = geometry_of(c, kh, kw);
    hd_node *in[2] = {img, grid};
    return hd_node_add(g, HD_OP_CONV_DW, 2, in, &args);
}
