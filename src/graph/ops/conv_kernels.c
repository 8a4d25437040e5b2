/* The fast convolution kernels (conv_kernels.h has the geometry and the
 * maps): im2col + sgemm over chunks of the batch.
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
 *     K_w:    buf = W col'          col = im2col(image)
 *     K_w^T:  col = W^T buf (')     image = col2im(col)
 * (' transposes col in the channels-last layout), the backward passes are
 * the same products transposed, and dW += dbuf col' in both.  All scratch
 * lives in the caller's aux buffer. */
#include "conv_kernels.h"

#include "ops_common.h" /* HD_PAR_MIN, pad16 */

#include <cblas.h>
#include <string.h>

typedef hd_conv_geom geom;


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


/* ---- chunks and scratch ------------------------------------------------------------ */

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
    int64_t nb = (g->col_floats > 0 ? g->col_floats : HD_CONV_COL_FLOATS) / (per ? per : 1);
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

int64_t hd_conv_aux_floats(const geom *g, int64_t batch)
{
    pass s;
    int64_t off[5], n = pass_layout(g, batch, &s, off);
    if (hd_conv_direct_ok(g)) {
        int64_t d = hd_conv_direct_aux_floats(g, batch);
        if (d > n) n = d;
    }
    return n;
}

int64_t hd_conv_chunk(const geom *g, int64_t batch)
{
    pass s;
    int64_t off[5];
    pass_layout(g, batch, &s, off);
    return s.nb;
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
void hd_conv_bias_grad(const float *dy, int64_t B, int64_t ch, int64_t P, float *db)
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

/* ---- the passes over a batch, chunk by chunk ------------------------------------------ */

void hd_conv_fwd_grid(const geom *g, int64_t B, const float *image, const float *w, const float *bias, float *grid,
                      float *aux)
{
    if (hd_conv_direct_ok(g)) {
        hd_conv_direct_fwd(g, B, image, w, bias, grid, aux);
        return;
    }
    pass s = pass_begin(g, B, aux, w, NULL);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        image_to_col(&s, image + b0 * g->c * s.S, m);
        gemm_buf(&s, m);
        scatter(s.buf, m, g->g, s.P, bias, 0, grid + b0 * g->g * s.P);
    }
}

void hd_conv_fwd_image(const geom *g, int64_t B, const float *grid, const float *w, const float *bias, float *image,
                       float *aux)
{
    pass s = pass_begin(g, B, aux, w, NULL);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(grid + b0 * g->g * s.P, m, g->g, s.P, s.buf);
        gemm_col(&s, m);
        col_to_image(&s, m, bias, 0, image + b0 * g->c * s.S);
    }
}

void hd_conv_bwd_grid(const geom *g, int64_t B, const float *image, const float *w, const float *dgrid,
                      float *dimage, float *dw, float *aux)
{
    if (!dimage && !dw) return;
    if (hd_conv_direct_ok(g)) {
        hd_conv_direct_bwd(g, B, image, w, dgrid, dimage, dw, aux);
        return;
    }
    pass s = pass_begin(g, B, aux, w, dw);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(dgrid + b0 * g->g * s.P, m, g->g, s.P, s.buf);
        if (dw) {
            image_to_col(&s, image + b0 * g->c * s.S, m);
            gemm_dw(&s, m);
        }
        if (dimage) {
            gemm_col(&s, m);
            col_to_image(&s, m, NULL, 1, dimage + b0 * g->c * s.S);
        }
    }
    pass_end(&s, dw);
}

void hd_conv_bwd_image(const geom *g, int64_t B, const float *grid, const float *w, const float *dimage,
                       float *dgrid, float *dw, float *aux)
{
    if (!dgrid && !dw) return;
    pass s = pass_begin(g, B, aux, w, dw);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        image_to_col(&s, dimage + b0 * g->c * s.S, m);
        if (dw) {
            gather(grid + b0 * g->g * s.P, m, g->g, s.P, s.buf);
            gemm_dw(&s, m);
        }
        if (dgrid) {
            gemm_buf(&s, m);
            scatter(s.buf, m, g->g, s.P, NULL, 1, dgrid + b0 * g->g * s.P);
        }
    }
    pass_end(&s, dw);
}

void hd_conv_fwd_dw(const geom *g, int64_t B, const float *image, const float *grid, float *dw, float *aux)
{
    memset(dw, 0, (size_t)(g->g * g->c * g->kh * g->kw) * sizeof *dw);
    pass s = pass_begin(g, B, aux, NULL, dw);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        gather(grid + b0 * g->g * s.P, m, g->g, s.P, s.buf);
        image_to_col(&s, image + b0 * g->c * s.S, m);
        gemm_dw(&s, m);
    }
    pass_end(&s, dw);
}

void hd_conv_bwd_dw(const geom *g, int64_t B, const float *image, const float *grid, const float *v, float *dimage,
                    float *dgrid, float *aux)
{
    pass s = pass_begin(g, B, aux, v, NULL);
    for (int64_t b0 = 0; b0 < B; b0 += s.nb) {
        int64_t m = B - b0 < s.nb ? B - b0 : s.nb;
        if (dgrid) {
            image_to_col(&s, image + b0 * g->c * s.S, m);
            gemm_buf(&s, m);
            scatter(s.buf, m, g->g, s.P, NULL, 1, dgrid + b0 * g->g * s.P);
        }
        if (dimage) {
            gather(grid + b0 * g->g * s.P, m, g->g, s.P, s.buf);
            gemm_col(&s, m);
            col_to_image(&s, m, NULL, 1, dimage + b0 * g->c * s.S);
        }
    }
}
