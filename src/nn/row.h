/* One row through a dense layer, in plain loops: what the thread contexts
 * (nn/model_ctx.c) and the generators' row path (nn/generator.c) share.
 * No allocation, no BLAS, no threads. */
#ifndef HD_NN_ROW_H
#define HD_NN_ROW_H

#include "hadron/nn.h"

/* The graph's activations, element by element (graph/ops/elementwise.c). */
float hd_row_activate(hd_activation a, float v);
/* in [n_in] -> out [n_out] through w ([n_in][n_out]) and b, then act. */
void hd_row_dense(const float *w, const float *b, int64_t n_in, int64_t n_out, const float *in, float *out,
                  hd_activation act);
/* A new [cols][rows] copy of the [rows][cols] matrix src (NULL + error). */
float *hd_row_transposed(const float *src, int64_t rows, int64_t cols);

#endif
