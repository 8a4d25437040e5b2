/* hadron metrics: quality measures and plots of results. */
#ifndef HADRON_METRICS_H
#define HADRON_METRICS_H

#include "core.h"
#include "nn.h"
#include "data.h"

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
    int band_lo, band_hi;   /* 1-based columns of a shaded band drawn under the lines (0: none) */
    const char *band_title;
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


/* ---- reference against generated (metrics/plot_compare.c) ----------------------
 * A grid of panels, each two histograms on the same bins (reference as grey
 * steps, generated as red) with the ratio generated / reference in [0.5,
 * 1.5] under them: writes <stem>.dat, <stem>.gp and, if gnuplot runs,
 * <stem>.png. */
typedef struct {
    const char *title, *ref_title, *gen_title;
    int n_panels, cols;               /* cols 0: about square */
    const char *const *panel_titles;  /* [n_panels] */
    const int *n_bins;                /* [n_panels] */
    const double *const *edges;       /* [n_panels][n_bins + 1] */
    const double *const *ref, *const *gen; /* [n_panels][n_bins], e.g. unit-sum */
    const int *log_x;                 /* [n_panels] or NULL */
} hd_compare_plot;

int hd_plot_compare(const char *stem, const hd_compare_plot *p, int *rendered);

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


/* ---- calorimeter shower features (metrics/calo_features.c) ---------------------
 * High-level features of showers [n, voxels] in an hd_calo_layout's voxel
 * order (data.h), one row of hd_calo_feature_count(l) floats per shower
 * (docs/metrics.md has every definition and convention).
 *
 * Cylindrical layouts, CaloChallenge's HighLevelFeatures: column 0 is
 * E_tot / E_inc, then blocks of n_layers columns each, in this order:
 * E_layer (MeV), EC_eta, EC_phi, width_eta, width_phi, EC_r, width_r (mm)
 * and sparsity (1 - the fraction of the layer's voxels with e > threshold).
 * eta = r_c cos alpha_c and phi = r_c sin alpha_c with r_c the middle of a
 * radial bin and alpha_c = -pi + 2 pi (a + 1/2) / n_alpha, CaloChallenge's
 * angular centres (its bins start at -pi; in data.h's frame, whose bins
 * start at 0, eta = -x and phi = -y).  A layer without energy has centres
 * and widths 0, as in CaloChallenge.
 *
 * Grid layouts (ecal30), the LHCb/MLHEP statistics in cell units: the
 * impact point P = point / cell + depth (px, py) / pz, u = (px, py) / |(px,
 * py)| (the x axis at normal incidence), v = u turned by +90 degrees;
 * asym_along and asym_across = (E on the side t >= 0 - E on the side t < 0)
 * / E_tot with t = (c - P).u resp. (c - P).v for a cell centre c;
 * width_along and width_across = the energy-weighted standard deviation of
 * the position along the line through P in direction u resp. v over the
 * cells that line crosses; then occupancy_k, k < 50, the fraction of cells
 * with e >= alpha_k E_tot, alpha_k = 10^(-5 + 5 k / 49). */

typedef struct {
    double threshold;  /* cylindrical sparsity: a voxel counts when e > threshold (MeV); 0 */
    double min_energy; /* lower edge of the E_layer bins (MeV); CaloChallenge ds2/3: 0.5e-3 / 0.033 */
    double depth;      /* grid: depth of the impact point in cells along p / pz; 25 as MLHEP */
} hd_calo_feature_opts;

hd_calo_feature_opts hd_calo_feature_opts_default(void);

/* What each shower needs besides its voxels; NULL where the layout does not use it. */
typedef struct {
    const float *e_inc;    /* [n] incident energy (MeV), > 0: cylindrical */
    const float *momentum; /* [n, 3] px, py, pz with pz > 0: grid */
    const float *point;    /* [n, 2] x, y of the entry point on the face (mm, the layout's frame): grid */
} hd_calo_inputs;

int64_t hd_calo_feature_count(const hd_calo_layout *l); /* 0 for a bad layout */
/* The transverse position of each voxel's centre, mm, x[voxels] and y[voxels]:
 * a cylindrical layout's (eta, phi) = r_c (cos, sin) alpha_c as the features
 * use them, a grid's cell centres about the face's middle. */
int hd_calo_voxel_xy(const hd_calo_layout *l, double *x, double *y);
/* Name of column j ("E_ratio", "E_layer_07", "width_along", "occupancy_49", ...) into buf. */
int hd_calo_feature_name(const hd_calo_layout *l, int64_t j, char *buf, size_t size);
/* out[n, hd_calo_feature_count(l)] from showers[n, voxels]; rows are
 * independent, so any chunk of rows gives the same rows as the whole (opts
 * NULL: the defaults).  Errors name the row: a non-finite voxel, e_inc not
 * > 0, pz not > 0, a missing input. */
int hd_calo_features(const hd_calo_layout *l, const hd_calo_feature_opts *opts, int64_t n, const float *showers,
                     const hd_calo_inputs *in, float *out);

/* ---- histograms and separation power (metrics/separation.c) --------------------
 * n_bins bins over [lo, hi], uniform or (log) uniform in log10, with the
 * edges numpy's linspace / logspace give; a value v is in bin k when
 * edges[k] <= v < edges[k + 1], the last bin closed on the right, as
 * np.histogram; values outside (and NaN) are left out. */
typedef struct {
    double lo, hi;
    int n_bins;
    int log;
} hd_hist_binning;

int hd_hist_edges(const hd_hist_binning *b, double *edges); /* edges[n_bins + 1] */
/* Unit-sum histogram h[n_bins] of x[i * stride], i < n (all zero when no
 * value is inside); *n_in (may be NULL) counts the values inside. */
int hd_hist_unit(const hd_hist_binning *b, int64_t n, const float *x, int64_t stride, double *h, int64_t *n_in);
/* 1/2 sum (h1 - h2)^2 / (h1 + h2) over the bins where h1 + h2 > 0: 0 for
 * equal unit-sum histograms, 1 for disjoint ones (CaloChallenge, eq. 15 of
 * arXiv:2009.03796). */
double hd_separation_power(int n_bins, const double *h1, const double *h2);
/* CaloChallenge's binning of feature column j, derived from the reference
 * sample ref[i * stride], i < n_ref: E_ratio 100 bins in [0.5, 1.5];
 * E_layer 39 log bins from min_energy to the reference maximum; EC_eta and
 * EC_phi 100 bins in [-a, a], a = max |ref|; EC_r and widths 100 bins in
 * [0, max ref]; asymmetries 100 bins in [-1, 1]; sparsity and occupancy one
 * bin per possible value k / cells when cells < 100, else 100 bins in [0, 1]. */
int hd_calo_feature_binning(const hd_calo_layout *l, const hd_calo_feature_opts *opts, int64_t j, int64_t n_ref,
                            const float *ref, int64_t stride, hd_hist_binning *out);

/* ---- two-sample distances (metrics/two_sample.c) -------------------------------
 * Between a real sample [n_real, d] and a generated one [n_gen, d] of
 * feature rows (row major), as jetnet's evaluation (arXiv:2211.10295).
 * FPD and KPD divide both samples by the real sample's max |x| per feature
 * (a feature that is 0 throughout is left alone; W1 takes the values as
 * they are).  Draw q (an FPD draw, a KPD batch, a W1 resample) takes rows
 * with replacement from hd_rng(seed, HD_STREAM_USER + q).  Deterministic for a seed, whatever the thread
 * count.  A result struct is all 0 after a failure.  Errors: fewer rows
 * than a draw needs (FPD 3, KPD 2, W1 1), d < 1, a non-finite value (the
 * message names the sample, row and column), bad options. */

#define HD_FPD_MAX_POINTS 64
#define HD_KPD_MAX_BATCHES 1024

typedef struct {
    int64_t min_samples, max_samples; /* batch sizes; 0: jetnet's 20000 and 50000, scaled down to the data (below) */
    int n_points;                     /* batch sizes, evenly spaced in 1/N; 10 */
    int n_draws;                      /* draws per batch size; 20 */
    int normalise;                    /* divide by the real sample's max |x|; 1 */
    uint64_t seed;                    /* 42 */
} hd_fpd_opts;

typedef struct {
    double value, error; /* the intercept at 1/N = 0 and sqrt(cov00) */
    double slope;
    int n_points;
    int64_t batch[HD_FPD_MAX_POINTS];  /* N of each point */
    double mean_fd[HD_FPD_MAX_POINTS]; /* mean Frechet distance of its draws */
} hd_fpd_result;

hd_fpd_opts hd_fpd_opts_default(void);
/* Frechet physics distance: for each of n_points batch sizes N evenly
 * spaced in 1/N from 1/min_samples to 1/max_samples, the mean Frechet
 * distance (hd_frechet_distance) of n_draws pairs of N-row draws; then the
 * least-squares line a + b / N with a, b >= 0 through those means
 * (unweighted, jetnet's curve_fit, solved exactly); FPD = a, error =
 * sqrt(cov00) with cov = (J^T J)^-1 SSR / (n_points - 2).  With
 * max_samples 0: min(50000, n_real, n_gen); with min_samples 0: min(20000,
 * max(2, 2 max_samples / 5)). */
int hd_fpd(int64_t n_real, const float *real, int64_t n_gen, const float *gen, int64_t d, const hd_fpd_opts *opts,
           hd_fpd_result *out);

typedef struct {
    int n_batches;      /* 10 */
    int64_t batch_size; /* 0: min(5000, n_real, n_gen) */
    int normalise;      /* 1 */
    uint64_t seed;      /* 42 */
} hd_kpd_opts;

typedef struct {
    double median, error; /* median and half the 16.275-83.725 % spread of the batches' MMD^2 */
    int n_batches;
    double mmd[HD_KPD_MAX_BATCHES];
} hd_kpd_result;

hd_kpd_opts hd_kpd_opts_default(void);
/* Kernel physics distance: hd_mmd_poly of degree 4 on n_batches pairs of
 * batch_size-row draws; the median and half the spread between the
 * 16.275 % and 83.725 % quantiles (jetnet's iqr(rng=(16.275, 83.725)) / 2). */
int hd_kpd(int64_t n_real, const float *real, int64_t n_gen, const float *gen, int64_t d, const hd_kpd_opts *opts,
           hd_kpd_result *out);
/* Unbiased MMD^2 of x [m, d] and y [n, d] with the kernel (x.y / d + 1)^degree:
 * sum_{i != j} k(x_i, x_j) / (m (m - 1)) + the same for y - 2 mean k(x_i, y_j).
 * m, n >= 2, degree >= 1; no scaling. */
int hd_mmd_poly(int64_t m, const float *x, int64_t n, const float *y, int64_t d, int degree, double *out);

typedef struct {
    int n_boot;     /* resamples; 5 as jetnet */
    int64_t n_eval; /* rows per resample; 0: each sample's own size */
    uint64_t seed;  /* 42 */
} hd_w1_opts;

hd_w1_opts hd_w1_opts_default(void);
/* 1-D Wasserstein-1 distance of the empirical distributions of x1[n1] and
 * x2[n2]: the integral of |F1 - F2|, exact (scipy.stats.wasserstein_distance). */
int hd_wasserstein1(int64_t n1, const float *x1, int64_t n2, const float *x2, double *out);
/* Per feature of x1 [n1, d] and x2 [n2, d]: w1[d] of the whole samples, and
 * mean[d] and std[d] (n_boot normalisation, np.std) over n_boot pairs of
 * resamples (rows drawn with replacement, the same rows for every feature);
 * any of the three may be NULL. */
int hd_w1_features(int64_t n1, const float *x1, int64_t n2, const float *x2, int64_t d, const hd_w1_opts *opts,
                   double *w1, double *mean, double *std);
/* Quantile q in [0, 1] of v[0..n), n >= 1, linear between order statistics
 * as numpy's default; sorts v in place. */
double hd_quantile(double *v, int64_t n, double q);
double hd_quantile_sorted(const double *v, int64_t n, double q); /* the same of an ascending v */
void hd_sort_doubles(double *v, int64_t n);                       /* ascending, in place */

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

/* ---- the sum of two log-normals, exactly (metrics/lognormal_sum.c) ----------
 * S = X1 + X2 with independent X_i ~ LogNormal(mu_i, sigma_i) (ln X_i normal
 * with mean mu_i and standard deviation sigma_i): its survival function,
 * cdf, density and quantiles by numerical convolution (Simpson, 2048
 * intervals in ln x; relative error below 1e-9 in the tests).  The survival
 * function keeps its relative precision far into the upper tail. */
typedef struct { double mu1, sigma1, mu2, sigma2; } hd_lognormal_pair;

int hd_lognormal_pair_check(const hd_lognormal_pair *p); /* finite mu, sigma in [0.001, 10], within a factor 4 */
double hd_lognormal_sum_sf(const hd_lognormal_pair *p, double s);  /* P(S > s) */
double hd_lognormal_sum_cdf(const hd_lognormal_pair *p, double s); /* P(S <= s) */
double hd_lognormal_sum_pdf(const hd_lognormal_pair *p, double s);
double hd_lognormal_sum_quantile(const hd_lognormal_pair *p, double q); /* 0 < q < 1, else NaN */
/* the survival function with a given (even) number of Simpson intervals: for the tests */
double hd_lognormal_sum_sf_n(const hd_lognormal_pair *p, double s, int intervals);

#ifdef __cplusplus
}
#endif
#endif
