/* One row through a dense layer (nn/row.h). */
#include "nn/row.h"

#include <math.h>
#include <string.h>

float hd_row_activate(hd_activation a, float v)
{
    switch (a) {
    case HD_ACT_NONE: return v;
    case HD_ACT_RELU: return v > 0 ? v : 0.0f;
    case HD_ACT_LEAKY_RELU: return v > 0 ? v : 0.2f * v;
    case HD_ACT_SIGMOID: {
        if (v >= 0) return 1.0f / (1.0f + expf(-v));
        float e = expf(v);
        return e / (1.0f + e);
    }
    case HD_ACT_TANH: return tanhf(v);
    case HD_ACT_SOFTPLUS: return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
    }
    return v;
}

void hd_row_dense(const float *w, const float *b, int64_t n_in, int64_t n_out, const float *in, float *out,
                  hd_activation act)
{
    memcpy(out, b, (size_t)n_out * sizeof *out);
    for (int64_t k = 0; k < n_in; k++) {
        const float x = in[k], *wk = w + k * n_out;
        for (int64_t j = 0; j < n_out; j++) out[j] += wk[j] * x;
    }
    if (act != HD_ACT_NONE)
        for (int64_t j = 0; j < n_out; j++) out[j] = hd_row_activate(act, out[j]);
}

float *hd_row_transposed(const float *src, int64_t rows, int64_t cols)
{
    float *t = hd_malloc((size_t)(rows * cols) * sizeof(float));
    if (t)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) t[c * rows + r] = src[r * cols + c];
    return t;
}
