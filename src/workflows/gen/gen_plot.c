/* showers.png: the simulator's and the model's showers side by side, in
 * log10 of the voxel energy on one grey scale (black: 10^-4 of the
 * brightest mean voxel or less).  A layout of layers shows up to 12 of them
 * as columns, each an (angle x radius) image; rows: the mean shower of the
 * reference, of the model, then two single showers of each.  A grid
 * layout shows its one layer: the same six images in a row. */
#include "gen_internal.h"

#include <math.h>
#include <string.h>

#define MAX_COLS 12
#define ROWS 6
#define DECADES 4.0f

static void mean_shower(int64_t n, int64_t nv, const float *s, double *out)
{
    memset(out, 0, (size_t)nv * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        for (int64_t v = 0; v < nv; v++) out[v] += s[i * nv + v] / (double)n;
}

int gen_plot_showers(const char *path, const hd_calo_layout *l, int64_t n_ref, const float *ref, int64_t n_gen,
                     const float *gen)
{
    int64_t nv = hd_calo_layout_voxels(l);
    int grid = l->kind == HD_CALO_GRID;
    int64_t h = grid ? l->ny : l->n_alpha, w = grid ? l->nx : l->n_r, per = h * w;
    int n_layers = grid ? 1 : l->n_layers, cols = n_layers < MAX_COLS ? n_layers : MAX_COLS;
    double *mr = hd_malloc((size_t)nv * sizeof(double)), *mg = hd_malloc((size_t)nv * sizeof(double));
    float *img = hd_malloc((size_t)(ROWS * cols * per) * sizeof(float));
    int rc = mr && mg && img ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) {
        mean_shower(n_ref, nv, ref, mr);
        mean_shower(n_gen, nv, gen, mg);
        double top = 0;
        for (int64_t v = 0; v < nv; v++) top = fmax(top, mr[v]);
        float hi = (float)log10(top > 0 ? top : 1.0), lo = hi - DECADES;
        /* a single shower: the first two of each sample */
        const float *single[4] = {ref, gen, n_ref > 1 ? ref + nv : ref, n_gen > 1 ? gen + nv : gen};
        for (int row = 0; row < ROWS; row++)
            for (int c = 0; c < cols; c++) {
                int layer = cols == n_layers ? c : (int)((int64_t)c * (n_layers - 1) / (cols - 1));
                float *dst = img + ((int64_t)row * cols + c) * per;
                for (int64_t p = 0; p < per; p++) {
                    int64_t v = (int64_t)layer * per + p;
                    double e = row == 0 ? mr[v] : row == 1 ? mg[v] : single[row - 2][v];
                    dst[p] = e > 0 ? fmaxf((float)log10(e), lo) : lo;
                }
            }
        /* a grid layout's one layer: the six images in a row */
        hd_image_grid_opts go = {.cols = grid ? ROWS : cols, .lo = lo, .hi = hi, .zoom = grid ? 4 : 10};
        rc = hd_image_grid_png(path, (int64_t)ROWS * cols, h, w, img, &go);
    }
    hd_free(mr);
    hd_free(mg);
    hd_free(img);
    return rc;
}
