/* Direct convolution kernels for stride-1 grids with few channels (the AVO
 * discriminator's 3 x 3 convolutions on 32 x 32 ... 4 x 4 images with 1-24
 * channels).  There im2col copies each pixel kh kw times into a buffer
 * larger than L2, and the products are too skinny for sgemm's packing to
 * pay; bench/README.md has the measurements behind HD_CONV_DIRECT_MAX_K.
 *
 * Each image plane is first copied into a zero-padded plane of rows
 * OH + kh - 1 and width OWr + kw - 1 (OWr: OW rounded up to 8), so that
 * every tap of every output vector of 8 columns is one unaligned load:
 *     grid[o, oy, ox..ox+7] = sum over c, i, j of w[o, c, i, j] pad[c, oy + i, ox + j .. ox + j + 7].
 * Two output channels share each load (8 accumulators of 8 floats).  The
 * image gradient is the same kernel on the padded dgrid, with the weight
 * flipped and its channels swapped (K_w^T is a stride-1 correlation with
 * pads kh - 1 - pt, kw - 1 - pl); the weight gradient is one dot product
 * per tap over the batch and the grid.  Work is split over (sample, output
 * channel pair), or over output channels for dw, so the sums are in the
 * same order at every thread count. */
#include "conv_kernels.h"

#include "ops_common.h" /* HD_PAR_MIN, pad16 */

#include <string.h>

#if defined(__AVX__) && defined(__FMA__)
#include <immintrin.h>
#endif

typedef float v8 __attribute__((vector_size(32)));
typedef hd_conv_geom geom;

static inline v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* c + a b, fused where the machine has FMA. */
static inline v8 fma8(v8 a, v8 b, v8 c)
{
#if defined(__AVX__) && defined(__FMA__)
    return (v8)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return c + a * b;
#endif
}

static inline v8 splat8(float x) { return (v8){x, x, x, x, x, x, x, x}; }

static int64_t round8(int64_t n) { return (n + 7) / 8 * 8; }

int hd_conv_direct_ok(const geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->ow >= HD_CONV_DIRECT_MIN_W && g->kh <= 7 && g->kw <= 7 && g->c * g->kh * g->kw <= HD_CONV_DIRECT_MAX_K &&
           g->g * g->kh * g->kw <= HD_CONV_DIRECT_MAX_K;
}

/* A stack of zero-padded planes: rows x ld floats each. */
typedef struct { int64_t rows, ld, plane; } padded;

/* The padded planes feeding a grid of oh x ow through a kh x kw kernel. */
static padded padded_of(int64_t oh, int64_t ow, int64_t kh, int64_t kw)
{
    padded p = {oh + kh - 1, round8(ow) + kw - 1, 0};
    p.plane = p.rows * p.ld;
    return p;
}

/* dst = n planes h x w of src, at rows - py, columns - px of p (zero elsewhere). */
static void pad_planes(const float *src, int64_t n, int64_t h, int64_t w, int64_t py, int64_t px, padded p,
                       float *dst)
{
#pragma omp parallel for schedule(static) if (n * p.plane > HD_PAR_MIN)
    for (int64_t k = 0; k < n; k++) {
        float *d = dst + k * p.plane;
        const float *s = src + k * h * w;
        for (int64_t y = 0; y < p.rows; y++) {
            float *row = d + y * p.ld;
            int64_t sy = y - py, lo = px > 0 ? px : 0, hi = w + px < p.ld ? w + px : p.ld;
            if (sy < 0 || sy >= h || hi <= lo) {
                memset(row, 0, (size_t)p.ld * sizeof *row);
                continue;
            }
            memset(row, 0, (size_t)lo * sizeof *row);
            memcpy(row + lo, s + sy * w + (lo - px), (size_t)(hi - lo) * sizeof *row);
            memset(row + hi, 0, (size_t)(p.ld - hi) * sizeof *row);
        }
    }
}

/* acc[q][r][v] += the taps of output channel q (weights wq + q ws, [C, kh,
 * kw]) at rows oy .. oy + nr - 1 and columns x .. x + 8 nv of the grid, from
 * the padded planes pim.  nq nr nv = 8 or fewer independent sums, enough to
 * cover the latency of FMA. */
static inline __attribute__((always_inline)) void tile(const float *pim, padded p, int64_t C, int64_t kh, int64_t kw,
                                                       const float *wq, int64_t ws, int64_t oy, int64_t x,
                                                       const int nq, const int nr, const int nv, const int kwc,
                                                       v8 acc[2][4][4])
{
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < kh; i++) {
            const float *row = pim + c * p.plane + (oy + i) * p.ld + x;
            const float *wr = wq + (c * kh + i) * kw;
            for (int64_t j = 0; j < (kwc ? kwc : kw); j++) {
                v8 s[4][4];
                for (int r = 0; r < nr; r++)
                    for (int v = 0; v < nv; v++) s[r][v] = load8(row + r * p.ld + 8 * v + j);
                for (int q = 0; q < nq; q++) {
                    v8 wv = splat8(wr[q * ws + j]);
                    for (int r = 0; r < nr; r++)
                        for (int v = 0; v < nv; v++) acc[q][r][v] = fma8(s[r][v], wv, acc[q][r][v]);
                }
            }
        }
}

/* Rows oy .. oy + nr - 1 of nq output planes (out + q plane_out), columns
 * x .. x + 8 nv clipped to ow: = (or += when accumulating) bias + the taps. */
static inline __attribute__((always_inline)) void block(const float *pim, padded p, int64_t C, int64_t kh,
                                                        int64_t kw, const float *wq, int64_t ws, const float *bq,
                                                        int accumulate, int64_t oy, int64_t x, int64_t ow,
                                                        int64_t plane_out, float *out, const int nq, const int nr,
                                                        const int nv, const int kwc)
{
    v8 acc[2][4][4];
    for (int q = 0; q < nq; q++)
        for (int r = 0; r < nr; r++)
            for (int v = 0; v < nv; v++) acc[q][r][v] = splat8(bq ? bq[q] : 0.0f);
    tile(pim, p, C, kh, kw, wq, ws, oy, x, nq, nr, nv, kwc, acc);
    const int64_t n = ow - x < 8 * nv ? ow - x : 8 * nv;
    for (int q = 0; q < nq; q++)
        for (int r = 0; r < nr; r++) {
            float *o = out + q * plane_out + (oy + r) * ow + x;
            if (n == 8 * nv) { /* whole vectors */
                for (int v = 0; v < nv; v++) {
                    v8 y = acc[q][r][v];
                    if (accumulate) y += load8(o + 8 * v);
                    memcpy(o + 8 * v, &y, sizeof y);
                }
                continue;
            }
            float t[32];
            memcpy(t, acc[q][r], sizeof t);
            for (int64_t k = 0; k < n; k++) o[k] = accumulate ? o[k] + t[k] : t[k];
        }
}

/* nq output planes of oh x ow from the padded planes of one sample: blocks
 * of 4 vectors along a row, or of 2 or 4 rows where rows are shorter. */
static void planes(const float *pim, padded p, int64_t C, int64_t kh, int64_t kw, const float *wq, int64_t ws,
                   const float *bq, int accumulate, int64_t oh, int64_t ow, float *out, int nq)
{
    const int64_t wr = round8(ow), plane_out = oh * ow;
    for (int64_t x = 0; x < wr; x += 32) {
        int nv = wr - x >= 32 ? 4 : (int)((wr - x) / 8), tall = nv == 1 ? 4 : nv == 2 ? 2 : 1;
        for (int64_t oy = 0; oy < oh;) {
            int nr = oh - oy >= tall ? tall : 1;
#define B_(NQ, NR, NV, KW) block(pim, p, C, kh, kw, wq, ws, bq, accumulate, oy, x, ow, plane_out, out, NQ, NR, NV, KW)
#define BK(NQ, NR, NV) (kw == 3 ? B_(NQ, NR, NV, 3) : B_(NQ, NR, NV, 0))
#define BQ(NR, NV) (nq == 2 ? BK(2, NR, NV) : BK(1, NR, NV))
            if (nv == 4) BQ(1, 4);
            else if (nv == 3) BQ(1, 3);
            else if (nv == 2 && nr == 2) BQ(2, 2);
            else if (nv == 2) BQ(1, 2);
            else if (nr == 4) BQ(4, 1);
            else BQ(1, 1);
#undef BQ
#undef BK
#undef B_
            oy += nr;
        }
    }
}

/* out [B, O, oh, ow] = (or +=) the stride-1 correlation of the padded
 * planes pim [B, C] with w [O, C, kh, kw], + bias[O] (may be NULL). */
static void correlate(const float *pim, padded p, int64_t B, int64_t C, int64_t O, int64_t kh, int64_t kw,
                      const float *w, const float *bias, int accumulate, int64_t oh, int64_t ow, float *out)
{
    const int64_t pairs = (O + 1) / 2, ws = C * kh * kw;
#pragma omp parallel for schedule(static) if (B * O * oh * ow * ws > HD_PAR_MIN)
    for (int64_t bq = 0; bq < B * pairs; bq++) {
        int64_t b = bq / pairs, o = bq % pairs * 2;
        int nq = O - o >= 2 ? 2 : 1;
        planes(pim + b * C * p.plane, p, C, kh, kw, w + o * ws, ws, bias ? bias + o : NULL, accumulate, oh, ow,
               out + (b * O + o) * oh * ow, nq);
    }
}

/* sum[t] of the dot products of the rows d (oh x 8 nx, zero past ow) with
 * the taps t = (i, j) of the padded plane src, for taps i0 .. i0 + nh - 1,
 * all kw; nh kw independent sums. */
static inline __attribute__((always_inline)) void tap_dots(const float *d, const float *src, padded p, int64_t oh,
                                                           int64_t wr, int64_t i0, const int nh, const int kw,
                                                           v8 acc[9])
{
    for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t x = 0; x < wr; x += 8) {
            v8 dv = load8(d + oy * wr + x);
            for (int i = 0; i < nh; i++) {
                const float *s = src + (oy + i0 + i) * p.ld + x;
                for (int j = 0; j < kw; j++) acc[i * kw + j] = fma8(dv, load8(s + j), acc[i * kw + j]);
            }
        }
}

static float hsum8(v8 a)
{
    float t[8];
    memcpy(t, &a, sizeof t);
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/* dw[o, c, i, j] += sum over b, oy, ox of dgrid[b, o, oy, ox] pad[b, c, oy + i, ox + j];
 * dpad [B, G, oh, OWr] holds dgrid with zero columns from ow.  Taps in
 * groups of up to 9 (3 x 3 at once; else a kernel row, or one tap). */
static void weight_grad(const geom *g, int64_t B, const float *pim, padded p, const float *dpad, float *dw)
{
    const int64_t wr = round8(g->ow), kk = g->kh * g->kw;
#pragma omp parallel for schedule(static) if (B * g->g * g->oh * wr * g->c * kk > HD_PAR_MIN)
    for (int64_t o = 0; o < g->g; o++)
        for (int64_t c = 0; c < g->c; c++) {
            float *dwc = dw + (o * g->c + c) * kk;
            const int whole = g->kh == 3 && g->kw == 3, rows = g->kw == 3 || g->kw == 5;
            for (int64_t i0 = 0; i0 < g->kh; i0 += whole ? 3 : 1)
                for (int64_t j0 = 0; j0 < g->kw; j0 += whole || rows ? g->kw : 1) {
                    v8 acc[9];
                    for (int t = 0; t < 9; t++) acc[t] = splat8(0.0f);
                    for (int64_t b = 0; b < B; b++) {
                        const float *d = dpad + (b * g->g + o) * g->oh * wr;
                        const float *src = pim + (b * g->c + c) * p.plane + j0;
                        if (whole) tap_dots(d, src, p, g->oh, wr, i0, 3, 3, acc);
                        else if (g->kw == 3) tap_dots(d, src, p, g->oh, wr, i0, 1, 3, acc);
                        else if (g->kw == 5) tap_dots(d, src, p, g->oh, wr, i0, 1, 5, acc);
                        else tap_dots(d, src, p, g->oh, wr, i0, 1, 1, acc);
                    }
                    int nh = whole ? 3 : 1, nw = whole || rows ? (int)g->kw : 1;
                    for (int i = 0; i < nh; i++)
                        for (int j = 0; j < nw; j++) dwc[(i0 + i) * g->kw + j0 + j] += hsum8(acc[i * nw + j]);
                }
        }
}

/* ---- scratch -------------------------------------------------------------------- */

/* aux: the padded images [B, C], dgrid with zero columns [B, G, OH, OWr],
 * the padded dgrid [B, G] and the flipped weight [C, G, kh, kw]. */
typedef struct { padded pi, pg; int64_t off[4], total; } layout;

static layout layout_of(const geom *g, int64_t B)
{
    layout l = {padded_of(g->oh, g->ow, g->kh, g->kw), padded_of(g->h, g->w, g->kh, g->kw), {0}, 0};
    int64_t sizes[4] = {B * g->c * l.pi.plane, B * g->g * g->oh * round8(g->ow), B * g->g * l.pg.plane,
                        g->g * g->c * g->kh * g->kw};
    for (int i = 0; i < 4; i++) {
        l.off[i] = l.total;
        l.total += pad16(sizes[i]);
    }
    return l;
}

int64_t hd_conv_direct_aux_floats(const geom *g, int64_t batch) { return layout_of(g, batch).total; }

void hd_conv_direct_fwd(const geom *g, int64_t B, const float *image, const float *w, const float *bias, float *grid,
                        float *aux)
{
    layout l = layout_of(g, B);
    float *pim = aux + l.off[0];
    pad_planes(image, B * g->c, g->h, g->w, g->pt, g->pl, l.pi, pim);
    correlate(pim, l.pi, B, g->c, g->g, g->kh, g->kw, w, bias, 0, g->oh, g->ow, grid);
}

void hd_conv_direct_bwd(const geom *g, int64_t B, const float *image, const float *w, const float *dgrid,
                        float *dimage, float *dw, float *aux)
{
    layout l = layout_of(g, B);
    if (dw) {
        float *pim = aux + l.off[0], *dpad = aux + l.off[1];
        pad_planes(image, B * g->c, g->h, g->w, g->pt, g->pl, l.pi, pim);
        padded rows = {g->oh, round8(g->ow), g->oh * round8(g->ow)};
        pad_planes(dgrid, B * g->g, g->oh, g->ow, 0, 0, rows, dpad);
        weight_grad(g, B, pim, l.pi, dpad, dw);
    }
    if (dimage) { /* K_w^T dgrid: dgrid padded by kh-1-pt, kw-1-pl, w flipped [C, G, kh, kw] */
        float *pgr = aux + l.off[2], *wf = aux + l.off[3];
        const int64_t kk = g->kh * g->kw;
        for (int64_t o = 0; o < g->g; o++)
            for (int64_t c = 0; c < g->c; c++)
                for (int64_t t = 0; t < kk; t++) wf[(c * g->g + o) * kk + t] = w[(o * g->c + c) * kk + kk - 1 - t];
        pad_planes(dgrid, B * g->g, g->oh, g->ow, g->kh - 1 - g->pt, g->kw - 1 - g->pl, l.pg, pgr);
        correlate(pgr, l.pg, B, g->g, g->c, g->kh, g->kw, wf, NULL, 1, g->h, g->w, dimage);
    }
}
