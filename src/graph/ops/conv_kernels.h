/* Convolution kernels on NCHW float32 arrays, below the graph: the fast ones
 * (im2col + sgemm over chunks of the batch, conv_kernels.c) and a naive
 * reference (direct loops, conv_ref.c) that tests compare them with.
 *
 * One geometry links an "image" side (C channels, H x W) and a "grid" side
 * (G channels, OH x OW positions) through a kernel kh x kw, strides and a
 * top/left padding: grid position (oy, ox) and kernel tap (i, j) touch image
 * pixel (oy sh - pt + i, ox sw - pl + j); pixels outside the image are zero
 * (the bottom/right padding is implicit in OH, OW).  With a weight
 * w [G, C, kh, kw], K_w is the linear map image -> grid
 *     grid[b, o, oy, ox] = sum over c, i, j of w[o, c, i, j] image[b, c, oy sh - pt + i, ox sw - pl + j],
 * conv2d's forward; K_w^T, its adjoint (grid -> image), is conv_transpose2d's.
 * The weight gradient of <grid, K_w image> is dw = grid (x) image:
 *     dw[o, c, i, j] = sum over b, oy, ox of grid[b, o, oy, ox] image[b, c, oy sh - pt + i, ox sw - pl + j].
 * B is the batch; every array is dense NCHW (w: [G, C, kh, kw]).  Outputs
 * that a function adds into say so; the others are written. */
#ifndef HD_CONV_KERNELS_H
#define HD_CONV_KERNELS_H

#include <stdint.h>

#define HD_CONV_COL_FLOATS (1 << 20) /* 4 MB of im2col columns per chunk of the batch */
#define HD_CONV_CL_MIN_C 8            /* image channels from which the channels-last layout is used */
#ifndef HD_CONV_DIRECT_MAX_K /* (bench/conv_direct.sh builds with 0) */
#define HD_CONV_DIRECT_MAX_K 144 /* C kh kw and G kh kw up to which stride-1 conv2d runs direct */
#endif
#define HD_CONV_DIRECT_MIN_W 8     /* ... and grid widths from which it does */

typedef struct {
    int64_t c, h, w;   /* image side */
    int64_t g, oh, ow; /* grid side */
    int64_t kh, kw, sh, sw, pt, pl;
    int64_t col_floats; /* im2col floats per chunk of the batch; 0: HD_CONV_COL_FLOATS (tests set less) */
} hd_conv_geom;

/* ---- fast kernels (conv_kernels.c) ----------------------------------------------
 * aux: scratch of hd_conv_aux_floats(g, B) floats, 64-byte aligned. */

int64_t hd_conv_aux_floats(const hd_conv_geom *g, int64_t batch);
/* Samples per chunk of a batch of B: the last chunk may be smaller. */
int64_t hd_conv_chunk(const hd_conv_geom *g, int64_t batch);

/* grid = K_w image + bias[G] (bias may be NULL): conv2d's forward. */
void hd_conv_fwd_grid(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *bias,
                      float *grid, float *aux);
/* image = K_w^T grid + bias[C] (bias may be NULL): conv_transpose2d's forward. */
void hd_conv_fwd_image(const hd_conv_geom *g, int64_t B, const float *grid, const float *w, const float *bias,
                       float *image, float *aux);
/* The backward of hd_conv_fwd_grid for dgrid, the gradient of its output:
 * dimage += K_w^T dgrid, dw += dgrid (x) image; a NULL output is skipped. */
void hd_conv_bwd_grid(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *dgrid,
                      float *dimage, float *dw, float *aux);
/* The backward of hd_conv_fwd_image for dimage, the gradient of its output:
 * dgrid += K_w dimage, dw += grid (x) dimage; a NULL output is skipped. */
void hd_conv_bwd_image(const hd_conv_geom *g, int64_t B, const float *grid, const float *w, const float *dimage,
                       float *dgrid, float *dw, float *aux);
/* dw = grid (x) image: the conv_dw node's forward. */
void hd_conv_fwd_dw(const hd_conv_geom *g, int64_t B, const float *image, const float *grid, float *dw, float *aux);
/* The backward of hd_conv_fwd_dw for v [G, C, kh, kw], the gradient of dw:
 * dimage += K_v^T grid, dgrid += K_v image; a NULL output is skipped. */
void hd_conv_bwd_dw(const hd_conv_geom *g, int64_t B, const float *image, const float *grid, const float *v,
                    float *dimage, float *dgrid, float *aux);
/* db[k] += the sum of dy [B, ch, P] over the batch and the P positions of channel k. */
void hd_conv_bias_grad(const float *dy, int64_t B, int64_t ch, int64_t P, float *db);

/* ---- direct kernels (conv_direct.c): conv2d at stride 1 with few channels ----------
 * hd_conv_fwd_grid and hd_conv_bwd_grid use them where hd_conv_direct_ok;
 * aux then needs hd_conv_direct_aux_floats(g, B) floats (hd_conv_aux_floats
 * counts them in). */

int hd_conv_direct_ok(const hd_conv_geom *g);
int64_t hd_conv_direct_aux_floats(const hd_conv_geom *g, int64_t batch);
/* grid = K_w image + bias[G] (bias may be NULL). */
void hd_conv_direct_fwd(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *bias,
                        float *grid, float *aux);
/* dimage += K_w^T dgrid, dw += dgrid (x) image; a NULL output is skipped. */
void hd_conv_direct_bwd(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *dgrid,
                        float *dimage, float *dw, float *aux);

/* ---- the naive reference (conv_ref.c): direct loops, double sums, no scratch ---- */

/* grid = K_w image + bias[G] (bias may be NULL). */
void hd_conv_ref_grid(const hd_conv_geom *g, int64_t B, const float *image, const float *w, const float *bias,
                      float *grid);
/* image = K_w^T grid + bias[C] (bias may be NULL). */
void hd_conv_ref_image(const hd_conv_geom *g, int64_t B, const float *grid, const float *w, const float *bias,
                       float *image);
/* dw = grid (x) image. */
void hd_conv_ref_dw(const hd_conv_geom *g, int64_t B, const float *image, const float *grid, float *dw);

#endif
