/* hadron metrics: quality measures and plots of results. */
#ifndef HADRON_METRICS_H
#define HADRON_METRICS_H

#include "core.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plots (metrics/plot.c) -------------------------------------------------
 * A plot is a data file plus a gnuplot script beside it, rendered to PNG by
 * gnuplot when it is installed (Debian's gnuplot-nox), so a user can restyle
 * the script for a paper and run `gnuplot NAME.gp` again in that directory. */

#define HD_PLOT_MAX_SERIES 8

typedef struct {
    const char *csv;   /* data file, comma separated, one header line; path relative to stem's directory */
    const char *title, *xlabel, *ylabel;
    int x_col;         /* 1-based column of x */
    int n_series;
    int y_cols[HD_PLOT_MAX_SERIES];          /* 1-based columns of y */
    const char *y_titles[HD_PLOT_MAX_SERIES];
    int log_x, log_y;
} hd_line_plot;

/* Writes <stem>.gp and, if gnuplot runs, <stem>.png.  *rendered (may be
 * NULL) says whether the PNG was made; a missing gnuplot is not an error. */
int hd_plot_lines(const char *stem, const hd_line_plot *p, int *rendered);

/* Histograms of one or more samples drawn as steps: writes <stem>.csv (lower
 * bin edges and counts), <stem>.gp and, if gnuplot runs, <stem>.png. */
typedef struct {
    const char *title, *xlabel, *ylabel; /* ylabel NULL: "entries" or "density" */
    int n_series;
    const double *values[HD_PLOT_MAX_SERIES];
    int64_t n_values[HD_PLOT_MAX_SERIES];
    const char *titles[HD_PLOT_MAX_SERIES];
    int bins;       /* 0: 50 */
    double lo, hi;  /* lo >= hi: the extent of the data; values outside are left out */
    int log_x;      /* log-spaced bins (values <= 0 left out) */
    int density;    /* each series normalised to unit area */
    int gaussian;   /* overlay the unit Gaussian density (for pulls) */
} hd_hist_plot;

int hd_plot_hist(const char *stem, const hd_hist_plot *p, int *rendered);
/* Heat maps side by side, each h x w (row 0 at y0), on a common colour
 * scale [0, zmax]: writes <stem>_<i>.dat, <stem>.gp and <stem>.png. */
typedef struct {
    const char *title, *xlabel, *ylabel;
    int n;
    const float *maps[HD_PLOT_MAX_SERIES];
    const char *titles[HD_PLOT_MAX_SERIES];
    int64_t h, w;
    double x0, x1, y0, y1; /* extent of the columns (x) and the rows (y) */
    double zmax;
} hd_map_plot;

int hd_plot_maps(const char *stem, const hd_map_plot *p, int *rendered);
/* Runs gnuplot on a script; HD_OK and *rendered = 0 when gnuplot is absent. */
int hd_plot_render(const char *script, int *rendered);


/* ---- images (metrics/image.c) --------------------------------------------------
 * n images of h x w floats tiled `cols` to a row with a 2-pixel gap, each
 * pixel a zoom x zoom square, as an 8-bit grayscale PNG written atomically:
 * values lo and below are black, hi and above white. */
typedef struct {
    int cols;     /* images per row */
    float lo, hi; /* black and white */
    int zoom;     /* pixels per image pixel, 1..64 */
} hd_image_grid_opts;

int hd_image_grid_png(const char *path, int64_t n, int64_t h, int64_t w, const float *images,
                      const hd_image_grid_opts *opts);

/* ---- Frechet distance (metrics/frechet.c) -------------------------------------
 * Between Gaussians fitted to two samples x1 [n1, d] and x2 [n2, d] (row
 * major): |mu1 - mu2|^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)) with the sample
 * covariances (n - 1 normalisation), as pytorch-fid.  Computed in double; the
 * trace of the square root through symmetric eigendecompositions (LAPACK
 * dsyev), so singular covariances are fine.  Errors: n1 or n2 < 2, d < 1, a
 * non-finite value (the message names the sample, row and column). */
int hd_frechet_distance(int64_t n1, const float *x1, int64_t n2, const float *x2, int64_t d, double *out);

/* ---- classifier two-sample test (metrics/c2st.c) -------------------------------
 * Can a network tell sample a from sample b?  Each sample is cut, in a
 * seeded random order, into train, test and validation parts (60/20/20 by
 * default); features are standardised on the training part; an MLP learns
 * P(b | x) by binary cross-entropy (hd_train), its best epoch picked on the
 * test part, whose scores also calibrate it (isotonic regression); on the
 * validation part: the AUC (rank-based, Hanley-McNeil error) and JSD =
 * (ln 2 - BCE) / ln 2 (standard error of the mean loss).  Indistinguishable
 * samples give AUC 0.5 and JSD 0, within their errors (CaloChallenge's
 * evaluation, with a smaller network by default). */
typedef struct {
    hd_mlp_spec model;   /* hidden layers and activation (2 x 128 LeakyReLU); n_in, n_out set here */
    hd_optim_opts optim; /* Adam, lr 1e-3 */
    int epochs;          /* 30 */
    int64_t batch;       /* 256 */
    uint64_t seed;       /* split, initialisation, shuffling */
    double train_frac, test_frac; /* 0.6, 0.2; the rest validates */
} hd_c2st_opts;

typedef struct {
    double auc, auc_err, jsd, jsd_err;
    int64_t n_val;
    int best_epoch;
} hd_c2st_result;

hd_c2st_opts hd_c2st_opts_default(void);
int hd_c2st_check(const hd_c2st_opts *o);
/* a [n_a, d] and b [n_b, d], row major, finite. */
int hd_c2st(const hd_c2st_opts *o, int64_t n_a, const float *a, int64_t n_b, const float *b, int64_t d,
            hd_c2st_result *r);

#ifdef __cplusplus
}
#endif
#endif
