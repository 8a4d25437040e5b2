/* The naive reference of the convolution kernels (conv_kernels.h): the
 * definitions as direct loops over batch, output channel, position, input
 * channel and kernel taps, summed in double, with no scratch, no layout
 * change and no BLAS.  Slow; for tests, which compare the fast kernels with
 * it over many geometries. */
#include "conv_kernels.h"

/* The image row (or column) that grid index o and tap t touch along an axis
 * of stride s and leading padding p; outside [0, len) it is padding. */
static int64_t tap(int64_t o, int64_t s, int64_t p, int64_t t) { return o * s - p + t; }

void hd_conv_ref_grid(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *bias,
                      float *grid)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < g->g; o++)
            for (int64_t oy = 0; oy < g->oh; oy++)
                for (int64_t ox = 0; ox < g->ow; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (int64_t c = 0; c < g->c; c++)
                        for (int64_t i = 0; i < g->kh; i++) {
                            int64_t iy = tap(oy, g->sh, g->pt, i);
                            if (iy < 0 || iy >= g->h) continue;
                            for (int64_t j = 0; j < g->kw; j++) {
                                int64_t ix = tap(ox, g->sw, g->pl, j);
                                if (ix < 0 || ix >= g->w) continue;
                                acc += (double)w[((o * g->c + c) * g->kh + i) * g->kw + j] *
                                       image[((b * g->c + c) * g->h + iy) * g->w + ix];
                            }
                        }
                    grid[((b * g->g + o) * g->oh + oy) * g->ow + ox] = (float)acc;
                }
}

/* The adjoint, gathered per image pixel (rather than scattered from each
 * grid position): pixel (iy, ix) sums the grid positions (oy, ox) and taps
 * (i, j) with oy sh - pt + i = iy and ox sw - pl + j = ix. */
void hd_conv_ref_image(const hd_conv_geom *g, int64_t B, const float *grid, const float *w, const float *bias,
                       float *image)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t iy = 0; iy < g->h; iy++)
                for (int64_t ix = 0; ix < g->w; ix++) {
                    double acc = bias ? bias[c] : 0.0;
                    for (int64_t o = 0; o < g->g; o++)
                        for (int64_t oy = 0; oy < g->oh; oy++) {
                            int64_t i = iy - tap(oy, g->sh, g->pt, 0);
                            if (i < 0 || i >= g->kh) continue;
                            for (int64_t ox = 0; ox < g->ow; ox++) {
                                int64_t j = ix - tap(ox, g->sw, g->pl, 0);
                                if (j < 0 || j >= g->kw) continue;
                                acc += (double)w[((o * g->c + c) * g->kh + i) * g->kw + j] *
                                       grid[((b * g->g + o) * g->oh + oy) * g->ow + ox];
                            }
                        }
                    image[((b * g->c + c) * g->h + iy) * g->w + ix] = (float)acc;
                }
}

void hd_conv_ref_dw(const hd_conv_geom *g, int64_t B, const float *image, const float *grid, float *dw)
{
    for (int64_t o = 0; o < g->g; o++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    double acc = 0.0;
                    for (int64_t b = 0; b < B; b++)
                        for (int64_t oy = 0; oy < g->oh; oy++) {
                            int64_t iy = tap(oy, g->sh, g->pt, i);
                            if (iy < 0 || iy >= g->h) continue;
                            for (int64_t ox = 0; ox < g->ow; ox++) {
                                int64_t ix = tap(ox, g->sw, g->pl, j);
                                if (ix < 0 || ix >= g->w) continue;
                                acc += (double)grid[((b * g->g + o) * g->oh + oy) * g->ow + ox] *
                                       image[((b * g->c + c) * g->h + iy) * g->w + ix];
                            }
                        }
                    dw[((o * g->c + c) * g->kh + i) * g->kw + j] = (float)acc;
                }
}
