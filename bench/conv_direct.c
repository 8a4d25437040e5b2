/* Stride-1 convolutions at the AVO discriminator's shapes and a few larger
 * ones (issue 20): conv2d's forward (hd_conv_fwd_grid) and backward
 * (hd_conv_bwd_grid, image and weight gradients) from conv_kernels.c,
 * built once with the direct kernels (conv_direct.c) and once without
 * (HD_CONV_DIRECT_MAX_K=0: im2col + sgemm), best of 30 calls each.
 * conv_direct.sh builds both and prints a table. */
#include "graph/ops/conv_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *filled(int64_t n, int mod)
{
    float *x = aligned_alloc(64, (size_t)(n + 16) * sizeof *x);
    for (int64_t i = 0; x && i < n; i++) x[i] = (float)(i % mod) * 0.1f;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s LABEL B C H G K  (a 'same' K x K conv2d of C x H x H into G channels)\n", argv[0]);
        return 2;
    }
    int64_t B = atoll(argv[2]), C = atoll(argv[3]), H = atoll(argv[4]), G = atoll(argv[5]), k = atoll(argv[6]);
    hd_conv_geom g = {.c = C, .h = H, .w = H, .g = G, .oh = H, .ow = H, .kh = k, .kw = k, .sh = 1, .sw = 1,
                      .pt = (k - 1) / 2, .pl = (k - 1) / 2};
    int64_t ni = B * C * H * H, ng = B * G * H * H, nw = G * C * k * k, na = hd_conv_aux_floats(&g, B);
    float *img = filled(ni, 7), *grid = filled(ng, 5), *w = filled(nw, 3), *aux = filled(na, 2);
    float *di = filled(ni, 7), *dw = filled(nw, 3), *bias = filled(G, 2);
    if (!img || !grid || !w || !aux || !di || !dw || !bias) return 1;
    double fwd = 1e9, bwd = 1e9;
    for (int r = 0; r < 30; r++) {
        double t0 = now();
        hd_conv_fwd_grid(&g, B, img, w, bias, grid, aux);
        double t1 = now();
        hd_conv_bwd_grid(&g, B, img, w, grid, di, dw, aux);
        double t2 = now();
        if (t1 - t0 < fwd) fwd = t1 - t0;
        if (t2 - t1 < bwd) bwd = t2 - t1;
    }
    printf("{\"kernels\":\"%s\",\"direct\":%d,\"B\":%lld,\"C\":%lld,\"H\":%lld,\"G\":%lld,\"k\":%lld,"
           "\"fwd_us\":%.1f,\"bwd_us\":%.1f}\n",
           argv[1], hd_conv_direct_ok(&g), (long long)B, (long long)C, (long long)H, (long long)G, (long long)k,
           fwd * 1e6, bwd * 1e6);
    free(img), free(grid), free(w), free(aux), free(di), free(dw), free(bias);
    return 0;
}
