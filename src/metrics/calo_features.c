/* High-level features of calorimeter showers (metrics.h): CaloChallenge's
 * per-layer quantities for cylindrical layouts, the LHCb/MLHEP statistics
 * for the 30 x 30 grid, and the binning of each feature for separation
 * powers.  Sums run in double; a row depends on that row alone. */
#include "hadron/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum kind { K_RATIO, K_ELAYER, K_CENTRE, K_POSITIVE, K_SPARSITY, K_ASYM };

#define N_CYL_GROUPS 8
#define N_GRID_STATS 4
#define N_OCCUPANCY 50

static const char *const cyl_groups[N_CYL_GROUPS] = {"E_layer",   "EC_eta", "EC_phi",  "width_eta",
                                                     "width_phi", "EC_r",   "width_r", "sparsity"};
static const enum kind cyl_kinds[N_CYL_GROUPS] = {K_ELAYER,   K_CENTRE,   K_CENTRE,   K_POSITIVE,
                                                  K_POSITIVE, K_POSITIVE, K_POSITIVE, K_SPARSITY};
static const char *const grid_stats[N_GRID_STATS] = {"asym_along", "asym_across", "width_along", "width_across"};

hd_calo_feature_opts hd_calo_feature_opts_default(void)
{
    return (hd_calo_feature_opts){.threshold = 0.0, .min_energy = 0.5e-3 / 0.033, .depth = 25.0};
}

int64_t hd_calo_feature_count(const hd_calo_layout *l)
{
    if (hd_calo_layout_check(l) != HD_OK) return 0;
    return l->kind == HD_CALO_GRID ? N_GRID_STATS + N_OCCUPANCY : 1 + (int64_t)N_CYL_GROUPS * l->n_layers;
}

/* Column j: its kind, group (block or statistic) and layer (or threshold index). */
static int column(const hd_calo_layout *l, int64_t j, enum kind *kind, int *group, int *index)
{
    int64_t count = hd_calo_feature_count(l);
    if (count == 0) return hd_error(HD_EINVAL, "calorimeter features: %s", hd_last_error());
    if (j < 0 || j >= count)
        return hd_error(HD_EINVAL, "calorimeter features: column %lld of layout %s, which has %lld", (long long)j,
                        l->name, (long long)count);
    if (l->kind == HD_CALO_GRID) {
        *group = j < N_GRID_STATS ? (int)j : N_GRID_STATS;
        *index = j < N_GRID_STATS ? 0 : (int)(j - N_GRID_STATS);
        *kind = j < 2 ? K_ASYM : j < N_GRID_STATS ? K_POSITIVE : K_SPARSITY;
    } else if (j == 0) {
        *kind = K_RATIO;
        *group = *index = 0;
    } else {
        *group = (int)((j - 1) / l->n_layers);
        *index = (int)((j - 1) % l->n_layers);
        *kind = cyl_kinds[*group];
    }
    return HD_OK;
}

int hd_calo_feature_name(const hd_calo_layout *l, int64_t j, char *buf, size_t size)
{
    enum kind kind = K_RATIO;
    int group = 0, index = 0, rc;
    if (!buf || size == 0) return hd_error(HD_EINVAL, "calorimeter feature name: no buffer");
    buf[0] = '\0';
    if ((rc = column(l, j, &kind, &group, &index)) != HD_OK) return rc;
    if (l->kind == HD_CALO_GRID) {
        if (group < N_GRID_STATS) snprintf(buf, size, "%s", grid_stats[group]);
        else snprintf(buf, size, "occupancy_%02d", index);
    } else if (kind == K_RATIO) snprintf(buf, size, "E_ratio");
    else snprintf(buf, size, "%s_%02d", cyl_groups[group], index);
    return HD_OK;
}

/* ---- cylindrical: CaloChallenge's HighLevelFeatures ------------------------------ */

/* eta, phi and r of the voxel centres of one layer, index alpha * n_r + r:
 * the radial centre halfway between the edges, the angular centre the
 * middle of CaloChallenge's bin [-pi + 2 pi a / n, -pi + 2 pi (a + 1) / n). */
static void cyl_centres(const hd_calo_layout *l, double *eta, double *phi, double *r)
{
    double step = 2.0 * HD_PI / l->n_alpha;
    for (int a = 0; a < l->n_alpha; a++) {
        double lo = -HD_PI + a * step, hi = a + 1 == l->n_alpha ? HD_PI : -HD_PI + (a + 1) * step;
        double alpha = lo + (hi - lo) / 2.0;
        for (int k = 0; k < l->n_r; k++) {
            double rc = (l->r_edges[k] + l->r_edges[k + 1]) / 2.0;
            int64_t v = (int64_t)a * l->n_r + k;
            eta[v] = rc * cos(alpha);
            phi[v] = rc * sin(alpha);
            r[v] = rc;
        }
    }
}

int hd_calo_voxel_xy(const hd_calo_layout *l, double *x, double *y)
{
    int rc = hd_calo_layout_check(l);
    if (rc != HD_OK) return rc;
    if (l->kind == HD_CALO_GRID) {
        for (int i = 0; i < l->ny; i++)
            for (int j = 0; j < l->nx; j++) {
                x[(int64_t)i * l->nx + j] = (j - 0.5 * (l->nx - 1)) * l->cell;
                y[(int64_t)i * l->nx + j] = (i - 0.5 * (l->ny - 1)) * l->cell;
            }
        return HD_OK;
    }
    int64_t per = (int64_t)l->n_alpha * l->n_r;
    double *r = hd_malloc((size_t)per * sizeof(double));
    if (!r) return HD_ENOMEM;
    cyl_centres(l, x, y, r);
    for (int k = 1; k < l->n_layers; k++) {
        memcpy(x + k * per, x, (size_t)per * sizeof(double));
        memcpy(y + k * per, y, (size_t)per * sizeof(double));
    }
    hd_free(r);
    return HD_OK;
}

/* Energy-weighted mean and sqrt(max(0, <q^2> - mean^2)) from the sums of e, e q
 * and e q^2; both 0 for a layer without energy. */
static void moment(double s, double s1, double s2, float *mean, float *width)
{
    if (s == 0) {
        *mean = *width = 0.0f;
        return;
    }
    double m = s1 / s;
    *mean = (float)m;
    *width = (float)sqrt(fmax(0.0, s2 / s - m * m));
}

static void cyl_row(const hd_calo_layout *l, const double *eta, const double *phi, const double *r, double threshold,
                    const float *x, double e_inc, float *out)
{
    int L = l->n_layers;
    int64_t nv = (int64_t)l->n_alpha * l->n_r;
    double e_tot = 0;
    for (int layer = 0; layer < L; layer++) {
        const float *xl = x + layer * nv;
        double s = 0, se = 0, se2 = 0, sp = 0, sp2 = 0, sr = 0, sr2 = 0;
        int64_t hit = 0;
        for (int64_t v = 0; v < nv; v++) {
            double e = xl[v];
            s += e;
            se += e * eta[v];
            se2 += e * eta[v] * eta[v];
            sp += e * phi[v];
            sp2 += e * phi[v] * phi[v];
            sr += e * r[v];
            sr2 += e * r[v] * r[v];
            hit += e > threshold;
        }
        e_tot += s;
        float *o = out + 1 + layer;
        o[0] = (float)s;
        moment(s, se, se2, &o[L], &o[3 * L]);
        moment(s, sp, sp2, &o[2 * L], &o[4 * L]);
        moment(s, sr, sr2, &o[5 * L], &o[6 * L]);
        o[7 * L] = (float)(1.0 - (double)hit / (double)nv);
    }
    out[0] = (float)(e_tot / e_inc);
}

/* ---- grid: the LHCb/MLHEP statistics ---------------------------------------------- */

/* np.logspace(-5, 0, 50): 10 to the powers -5 + k (5 / 49), the last exactly 0. */
static double occupancy_alpha(int k)
{
    return pow(10.0, k == N_OCCUPANCY - 1 ? 0.0 : k * (5.0 / (N_OCCUPANCY - 1)) - 5.0);
}

static void grid_row(const hd_calo_layout *l, double depth, const double *alpha, const float *x, const float *p,
                     const float *pt, float *out)
{
    double px = p[0], py = p[1], pz = p[2];
    double cx0 = pt[0] / l->cell + depth * px / pz, cy0 = pt[1] / l->cell + depth * py / pz;
    double norm = sqrt(px * px + py * py);
    double ux = norm > 0 ? px / norm : 1.0, uy = norm > 0 ? py / norm : 0.0;
    double half = 0.5 * (fabs(ux) + fabs(uy)); /* a unit cell meets a line when its centre is this close */
    double e_tot = 0, along = 0, across = 0;
    double wa[3] = {0}, wc[3] = {0}; /* sums of e, e t, e t^2 on the line along u, and of e, e s, e s^2 across */
    for (int i = 0; i < l->ny; i++)
        for (int j = 0; j < l->nx; j++) {
            double e = x[(int64_t)i * l->nx + j];
            double dx = j - 0.5 * (l->nx - 1) - cx0, dy = i - 0.5 * (l->ny - 1) - cy0;
            double t = dx * ux + dy * uy, s = dy * ux - dx * uy;
            e_tot += e;
            along += t >= 0 ? e : -e;
            across += s >= 0 ? e : -e;
            if (fabs(s) <= half) {
                wa[0] += e;
                wa[1] += e * t;
                wa[2] += e * t * t;
            }
            if (fabs(t) <= half) {
                wc[0] += e;
                wc[1] += e * s;
                wc[2] += e * s * s;
            }
        }
    out[0] = e_tot != 0 ? (float)(along / e_tot) : 0.0f;
    out[1] = e_tot != 0 ? (float)(across / e_tot) : 0.0f;
    float centre;
    moment(wa[0], wa[1], wa[2], &centre, &out[2]);
    moment(wc[0], wc[1], wc[2], &centre, &out[3]);
    int64_t cells = (int64_t)l->nx * l->ny;
    for (int k = 0; k < N_OCCUPANCY; k++) {
        double cut = e_tot * alpha[k];
        int64_t above = 0;
        for (int64_t c = 0; c < cells; c++) above += (double)x[c] >= cut;
        out[N_GRID_STATS + k] = (float)((double)above / (double)cells);
    }
}

/* ---- checks and the driver --------------------------------------------------------- */

static int check_finite(const char *what, int64_t row, const float *v, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        if (!isfinite(v[k]))
            return hd_error(HD_EINVAL, "calorimeter features: row %lld, %s %lld is %g", (long long)row, what,
                            (long long)k, (double)v[k]);
    return HD_OK;
}

static int check_inputs(const hd_calo_layout *l, int64_t n, const float *showers, const hd_calo_inputs *in)
{
    int64_t nv = hd_calo_layout_voxels(l);
    int grid = l->kind == HD_CALO_GRID;
    if (!showers) return hd_error(HD_EINVAL, "calorimeter features: showers are NULL");
    if (!in || (grid ? !in->momentum || !in->point : !in->e_inc))
        return hd_error(HD_EINVAL, "calorimeter features: layout %s needs %s", l->name,
                        grid ? "the momentum and the entry point of each shower" : "the incident energies");
    for (int64_t i = 0; i < n; i++) {
        int rc = check_finite("voxel", i, showers + i * nv, nv);
        if (rc != HD_OK) return rc;
        if (grid) {
            if ((rc = check_finite("momentum component", i, in->momentum + 3 * i, 3)) != HD_OK ||
                (rc = check_finite("entry point coordinate", i, in->point + 2 * i, 2)) != HD_OK)
                return rc;
            if (!(in->momentum[3 * i + 2] > 0))
                return hd_error(HD_EINVAL, "calorimeter features: row %lld, pz = %g, need pz > 0", (long long)i,
                                (double)in->momentum[3 * i + 2]);
        } else if (!(in->e_inc[i] > 0) || !isfinite(in->e_inc[i]))
            return hd_error(HD_EINVAL, "calorimeter features: row %lld, incident energy %g, need > 0", (long long)i,
                            (double)in->e_inc[i]);
    }
    return HD_OK;
}

int hd_calo_features(const hd_calo_layout *l, const hd_calo_feature_opts *opts, int64_t n, const float *showers,
                     const hd_calo_inputs *in, float *out)
{
    hd_calo_feature_opts o = opts ? *opts : hd_calo_feature_opts_default();
    int64_t nf = hd_calo_feature_count(l);
    if (nf == 0) return hd_error(HD_EINVAL, "calorimeter features: %s", hd_last_error());
    if (n < 0 || !out) return hd_error(HD_EINVAL, "calorimeter features: %lld rows into %p", (long long)n, (void *)out);
    if (!isfinite(o.threshold) || !isfinite(o.depth))
        return hd_error(HD_EINVAL, "calorimeter features: threshold %g and depth %g must be finite", o.threshold,
                        o.depth);
    int rc = check_inputs(l, n, showers, in);
    if (rc != HD_OK) return rc;
    int64_t nv = hd_calo_layout_voxels(l);

    if (l->kind == HD_CALO_GRID) {
        double alpha[N_OCCUPANCY];
        for (int k = 0; k < N_OCCUPANCY; k++) alpha[k] = occupancy_alpha(k);
#pragma omp parallel for schedule(static) if (n * nv > 100000)
        for (int64_t i = 0; i < n; i++)
            grid_row(l, o.depth, alpha, showers + i * nv, in->momentum + 3 * i, in->point + 2 * i, out + i * nf);
        return HD_OK;
    }
    int64_t per_layer = (int64_t)l->n_alpha * l->n_r;
    double *geo = hd_malloc(3 * (size_t)per_layer * sizeof(double));
    if (!geo) return HD_ENOMEM;
    double *eta = geo, *phi = geo + per_layer, *r = geo + 2 * per_layer;
    cyl_centres(l, eta, phi, r);
#pragma omp parallel for schedule(static) if (n * nv > 100000)
    for (int64_t i = 0; i < n; i++) cyl_row(l, eta, phi, r, o.threshold, showers + i * nv, in->e_inc[i], out + i * nf);
    hd_free(geo);
    return HD_OK;
}

/* ---- binning ------------------------------------------------------------------------ */

static void extent(int64_t n, const float *x, int64_t stride, double *max, double *max_abs)
{
    *max = -INFINITY;
    *max_abs = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i * stride];
        if (!isfinite(v)) continue;
        *max = fmax(*max, v);
        *max_abs = fmax(*max_abs, fabs(v));
    }
}

int hd_calo_feature_binning(const hd_calo_layout *l, const hd_calo_feature_opts *opts, int64_t j, int64_t n_ref,
                            const float *ref, int64_t stride, hd_hist_binning *out)
{
    hd_calo_feature_opts o = opts ? *opts : hd_calo_feature_opts_default();
    enum kind kind = K_RATIO;
    int group = 0, index = 0, rc;
    if (!out) return hd_error(HD_EINVAL, "calorimeter binning: NULL result");
    if ((rc = column(l, j, &kind, &group, &index)) != HD_OK) return rc;
    if (n_ref < 0 || (n_ref > 0 && (!ref || stride < 1)))
        return hd_error(HD_EINVAL, "calorimeter binning: %lld reference values with stride %lld", (long long)n_ref,
                        (long long)stride);
    double max, max_abs;
    extent(n_ref, ref, stride, &max, &max_abs);
    *out = (hd_hist_binning){.n_bins = 100};
    switch (kind) {
    case K_RATIO: /* np.linspace(0.5, 1.5, 101) */
        out->lo = 0.5;
        out->hi = 1.5;
        break;
    case K_ELAYER: /* np.logspace(log10(min_energy), log10(ref.max()), 40) */
        if (!(o.min_energy > 0) || !isfinite(o.min_energy))
            return hd_error(HD_EINVAL, "calorimeter binning: min_energy %g, need > 0", o.min_energy);
        out->lo = o.min_energy;
        out->hi = max > o.min_energy ? max : 10.0 * o.min_energy;
        out->n_bins = 39;
        out->log = 1;
        break;
    case K_CENTRE:
        out->hi = max_abs > 0 ? max_abs : 1.0;
        out->lo = -out->hi;
        break;
    case K_POSITIVE:
        out->hi = max > 0 ? max : 1.0;
        break;
    case K_ASYM:
        out->lo = -1.0;
        out->hi = 1.0;
        break;
    case K_SPARSITY: {
        int64_t cells = l->kind == HD_CALO_GRID ? (int64_t)l->nx * l->ny : (int64_t)l->n_alpha * l->n_r;
        if (cells < 100) { /* one bin per value k / cells */
            out->lo = -0.5 / (double)cells;
            out->hi = 1.0 + 0.5 / (double)cells;
            out->n_bins = (int)cells + 1;
        } else
            out->hi = 1.0;
        break;
    }
    }
    return HD_OK;
}
