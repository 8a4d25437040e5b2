/* The calo-eval workflow (workflows.h): how far generated calorimeter
 * showers are from reference ones, in the measures physics uses, next to
 * the floor, the same measures between two reference samples.
 *
 * Memory: the showers of an HDF5 file are streamed, CHUNK_BYTES of them at
 * a time, through the high-level features; what stays are the feature rows
 * of each sample (float32) and the voxel classifier's inputs for a seeded
 * subsample of at most voxel_showers showers per sample.  An .npz is read
 * whole (its members are not streamable) and released after its pass. */
#include "hadron/workflows.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_HALVES (HD_STREAM_USER + 41)
#define STREAM_VOXELS (HD_STREAM_USER + 42) /* + 0, 1, 2: the voxel subsamples of the reference, floor, generated */
#define CHUNK_BYTES ((int64_t)16 << 20)    /* showers read and featured at a time */
#define GRID_CONDITIONS 5                  /* px/pz, py/pz, x, y, log10 |p| */

hd_calo_eval_opts hd_calo_eval_opts_default(void)
{
    hd_calo_eval_opts o = {.seed = 1, .voxel_showers = HD_CALO_EVAL_VOXEL_SHOWERS, .c2st = hd_c2st_opts_default(),
                           .fpd = hd_fpd_opts_default(), .kpd = hd_kpd_opts_default(), .w1 = hd_w1_opts_default(),
                           .features = hd_calo_feature_opts_default()};
    return o;
}

int hd_calo_eval_check(const hd_calo_eval_opts *o)
{
    if (!o->reference || !o->generated || !o->out_dir)
        return hd_error(HD_EINVAL, "calo-eval: a reference file, a generated file and an output directory are needed");
    if (o->max_showers < 0) return hd_error(HD_EINVAL, "calo-eval: max showers %lld < 0", (long long)o->max_showers);
    if (o->voxel_showers < 0)
        return hd_error(HD_EINVAL, "calo-eval: voxel showers %lld < 0 (0: all)", (long long)o->voxel_showers);
    if (o->chunk_showers < 0)
        return hd_error(HD_EINVAL, "calo-eval: chunk showers %lld < 0 (0: 16 MiB of them)",
                        (long long)o->chunk_showers);
    hd_calo_layout l;
    if (o->geometry && hd_calo_layout_get(o->geometry, &l) != HD_OK) return HD_EINVAL;
    return hd_c2st_check(&o->c2st);
}

static void stage(const hd_calo_eval_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

/* ---- the showers of one file, in chunks -------------------------------------------------- */

enum { R_ENERGY, R_SHOWERS, R_MOMENTUM, R_POINT, N_READERS };
static const char *const DATASETS[N_READERS] = {"incident_energies", "showers", "momentum", "entry_point"};

typedef struct {
    const char *path;
    int64_t n, nv;            /* showers to read (the file's, or max_showers), voxels a shower */
    hd_calo_layout layout;
    int grid;
    hd_h5_reader *rd[N_READERS]; /* .h5 */
    hd_calo_file whole;       /* .npz: read and checked whole by hd_calo_file_read */
    float *momentum, *point;  /* .npz, grid: [n, 3], [n, 2] */
    int64_t n_clipped;        /* negative voxels set to 0 so far */
} source;

static int is_npz(const char *path)
{
    size_t n = strlen(path);
    const char *ext = ".npz";
    if (n < 4) return 0;
    for (int i = 0; i < 4; i++)
        if ((path[n - 4 + i] | 0x20) != ext[i]) return 0;
    return 1;
}

/* A grid file's conditions dataset: 2 dimensions, at least n rows of cols. */
static int check_condition(const char *path, const char *name, int ndim, const int64_t *shape, int64_t n, int64_t cols)
{
    if (ndim == 2 && shape[0] >= n && shape[1] == cols) return HD_OK;
    char s[64];
    return hd_error(HD_EFORMAT, "%s: '%s' has shape %s, need (%lld, %lld)", path, name,
                    hd_shape_str(ndim, shape, s, sizeof s), (long long)n, (long long)cols);
}

static int npz_conditions(source *s)
{
    hd_npz *z = NULL;
    int rc = hd_npz_read(s->path, &z);
    float **dst[2] = {&s->momentum, &s->point};
    for (int k = 0; k < 2 && rc == HD_OK; k++) {
        const char *name = DATASETS[R_MOMENTUM + k];
        int64_t cols = 3 - k;
        const hd_array *a = hd_npz_get(z, name);
        if (!a) rc = hd_error(HD_EFORMAT, "%s: no array '%s' (an ecal30 file holds the conditions)", s->path, name);
        else rc = check_condition(s->path, name, a->ndim, a->shape, s->n, cols);
        if (rc == HD_OK && !(*dst[k] = hd_malloc((size_t)(s->n * cols) * sizeof(float)))) rc = HD_ENOMEM;
        for (int64_t i = 0; rc == HD_OK && i < s->n * cols; i++) (*dst[k])[i] = (float)hd_array_get(a, i);
    }
    hd_npz_free(z);
    return rc;
}

static void source_close(source *s)
{
    for (int k = 0; k < N_READERS; k++) hd_h5_close(s->rd[k]);
    hd_calo_file_release(&s->whole);
    hd_free(s->momentum);
    hd_free(s->point);
    memset(s->rd, 0, sizeof s->rd);
    s->momentum = s->point = NULL;
}

/* Checks path (hd_calo_file_read's checks: datasets, dtypes, shapes, the
 * layout) and opens it for reading: an .h5 file's datasets as row readers
 * (the checks then read one shower), an .npz whole. */
static int source_open(const hd_calo_eval_opts *o, const char *path, const hd_calo_layout *want, source *s)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    int npz = is_npz(path);
    hd_calo_read_opts ro = hd_calo_read_opts_default();
    ro.layout = want;
    ro.max_showers = npz ? o->max_showers : 1;
    ro.clip_negative = 1; /* a model's showers may dip below 0; a reference's never do */
    hd_calo_file f;
    int rc = hd_calo_file_read(path, &ro, &f);
    if (rc == HD_OK && !f.has_layout)
        rc = hd_error(HD_EINVAL, "%s: %lld voxels match no known layout; name one with --geometry", path,
                      (long long)f.n_voxels);
    if (rc != HD_OK) {
        hd_calo_file_release(&f);
        return rc;
    }
    s->layout = f.layout;
    s->grid = f.layout.kind == HD_CALO_GRID;
    s->nv = f.n_voxels;
    s->n = o->max_showers > 0 && o->max_showers < f.n_rows_in_file ? o->max_showers : f.n_rows_in_file;
    if (npz) {
        s->whole = f;
        s->n_clipped = f.n_clipped;
        rc = s->grid ? npz_conditions(s) : HD_OK;
    } else {
        hd_calo_file_release(&f);
        for (int k = 0; k < (s->grid ? N_READERS : R_MOMENTUM) && rc == HD_OK; k++) {
            int ndim;
            int64_t shape[HD_MAX_DIM];
            if (k >= R_MOMENTUM && (rc = hd_h5_shape(path, DATASETS[k], &ndim, shape, NULL)) == HD_OK)
                rc = check_condition(path, DATASETS[k], ndim, shape, s->n, k == R_MOMENTUM ? 3 : 2);
            if (rc == HD_OK) rc = hd_h5_open(path, DATASETS[k], &s->rd[k]);
        }
    }
    if (rc != HD_OK) source_close(s);
    return rc;
}

/* The values hd_calo_file_read checks, of rows first .. first + m - 1
 * streamed from an .h5: energies finite and > 0, voxels finite, negative
 * ones set to 0 and counted. */
static int check_rows(source *s, int64_t first, int64_t m, const float *e, float *vox)
{
    for (int64_t i = 0; i < m; i++) {
        if (!(e[i] > 0) || !isfinite(e[i]))
            return hd_error(HD_EFORMAT, "%s: dataset '/%s' row %lld is %g MeV; incident energies must be finite "
                            "and > 0", s->path, DATASETS[R_ENERGY], (long long)(first + i), (double)e[i]);
        float *x = vox + i * s->nv;
        for (int64_t j = 0; j < s->nv; j++) {
            if (!isfinite(x[j]))
                return hd_error(HD_EFORMAT, "%s: dataset '/%s' row %lld, voxel %lld is %g", s->path,
                                DATASETS[R_SHOWERS], (long long)(first + i), (long long)j, (double)x[j]);
            if (x[j] < 0) {
                x[j] = 0.0f;
                s->n_clipped++;
            }
        }
    }
    return HD_OK;
}

/* Rows first .. first + m - 1: energies e[m], voxels vox[m * nv], and for
 * a grid the conditions mom[m * 3] and pt[m * 2]. */
static int source_read(source *s, int64_t first, int64_t m, float *e, float *vox, float *mom, float *pt)
{
    if (!s->rd[R_ENERGY]) {
        memcpy(e, s->whole.energy + first, (size_t)m * sizeof *e);
        memcpy(vox, s->whole.showers + first * s->nv, (size_t)(m * s->nv) * sizeof *vox);
        if (s->grid) {
            memcpy(mom, s->momentum + 3 * first, (size_t)(3 * m) * sizeof *mom);
            memcpy(pt, s->point + 2 * first, (size_t)(2 * m) * sizeof *pt);
        }
        return HD_OK;
    }
    float *dst[N_READERS] = {e, vox, mom, pt};
    int rc = HD_OK;
    for (int k = 0; k < N_READERS && rc == HD_OK; k++)
        if (s->rd[k]) rc = hd_h5_read_rows(s->rd[k], first, m, dst[k]);
    return rc == HD_OK ? check_rows(s, first, m, e, vox) : rc;
}

/* ---- samples: feature rows, and the voxel classifier's inputs of a subsample -------------- */

typedef struct {
    int64_t n, nf, nc;
    float *features; /* [n, nf] */
    float *cond;     /* [n, nc]: the high-level classifier's inputs besides the features: log10 E_inc (grid: the
                        conditions px/pz, py/pz, x, y, log10 |p|) */
    int64_t n_low, nl;
    int64_t *slot;   /* [n]: row i's row in low, or -1 */
    float *low;      /* [n_low, nl]: log10 E_inc and voxels / E_inc (grid: log10 E_tot, voxels / E_tot, conditions) */
} sample;

static void sample_free_low(sample *s)
{
    hd_free(s->slot);
    hd_free(s->low);
    s->slot = NULL;
    s->low = NULL;
}

static void sample_free(sample *s)
{
    hd_free(s->features);
    hd_free(s->cond);
    sample_free_low(s);
    memset(s, 0, sizeof *s);
}

/* n rows of src's layout; the voxel classifier sees min(n, voxel_showers)
 * of them (none when it is skipped), chosen in a seeded order (stream
 * STREAM_VOXELS + which) and kept in row order. */
static int sample_alloc(const hd_calo_eval_opts *o, const source *src, int64_t n, int which, sample *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->nf = hd_calo_feature_count(&src->layout);
    s->nc = src->grid ? GRID_CONDITIONS : 1;
    s->nl = 1 + src->nv + (src->grid ? GRID_CONDITIONS : 0);
    s->n_low = o->skip_low_level ? 0 : o->voxel_showers > 0 && o->voxel_showers < n ? o->voxel_showers : n;
    s->features = hd_malloc((size_t)(n * s->nf) * sizeof(float));
    s->cond = hd_malloc((size_t)(n * s->nc) * sizeof(float));
    if (!s->features || !s->cond) return HD_ENOMEM;
    if (s->n_low == 0) return HD_OK;
    s->slot = hd_malloc((size_t)n * sizeof *s->slot);
    s->low = hd_malloc((size_t)(s->n_low * s->nl) * sizeof(float));
    if (!s->slot || !s->low) return HD_ENOMEM;
    for (int64_t i = 0; i < n; i++) s->slot[i] = s->n_low < n ? -1 : i;
    if (s->n_low < n) {
        int64_t *order = hd_malloc((size_t)n * sizeof *order);
        if (!order) return HD_ENOMEM;
        hd_rng r;
        hd_rng_init(&r, o->seed, STREAM_VOXELS + (uint64_t)which);
        hd_rng_permutation(&r, n, order);
        for (int64_t k = 0; k < s->n_low; k++) s->slot[order[k]] = 0;
        for (int64_t i = 0, j = 0; i < n; i++)
            if (s->slot[i] == 0) s->slot[i] = j++;
        hd_free(order);
    }
    return HD_OK;
}

/* Row k of s from one shower: its features, its conditions and, when it
 * is in the subsample, its voxel classifier inputs. */
static void put_row(sample *s, int64_t k, int grid, int64_t v, const float *feat, float e, const float *x,
                    const float *mom, const float *pt)
{
    memcpy(s->features + k * s->nf, feat, (size_t)s->nf * sizeof(float));
    double norm = e;
    if (grid) {
        double total = 0;
        for (int64_t j = 0; j < v; j++) total += x[j];
        norm = total;
    }
    float lognorm = (float)log10(norm > 0 ? norm : 1e-30);
    float *c = s->cond + k * s->nc;
    if (grid) {
        c[0] = mom[0] / mom[2], c[1] = mom[1] / mom[2], c[2] = pt[0], c[3] = pt[1];
        c[4] = (float)log10(sqrt((double)mom[0] * mom[0] + (double)mom[1] * mom[1] + (double)mom[2] * mom[2]));
    } else {
        c[0] = lognorm;
    }
    if (!s->slot || s->slot[k] < 0) return;
    float *low = s->low + s->slot[k] * s->nl;
    low[0] = lognorm;
    for (int64_t j = 0; j < v; j++) low[1 + j] = norm > 0 ? (float)(x[j] / norm) : 0.0f;
    if (grid) memcpy(low + 1 + v, c, GRID_CONDITIONS * sizeof(float));
}

/* One pass over the first n_rows showers of src: row r goes to row dest[r]
 * of out[0] when that is below out[0]->n, else to row dest[r] - out[0]->n
 * of out[1], and nowhere when dest[r] < 0 (dest NULL: row r of out[0]). */
static int stream(const hd_calo_eval_opts *o, source *src, int64_t n_rows, const int64_t *dest, sample *const *out)
{
    int64_t v = src->nv, nf = out[0]->nf;
    int64_t chunk = o->chunk_showers ? o->chunk_showers : CHUNK_BYTES / (v * (int64_t)sizeof(float));
    if (chunk < 1) chunk = 1;
    if (chunk > n_rows) chunk = n_rows;
    int grid = src->grid;
    float *e = hd_malloc((size_t)chunk * sizeof(float)), *vox = hd_malloc((size_t)(chunk * v) * sizeof(float)),
          *mom = hd_malloc((size_t)chunk * 3 * sizeof(float)), *pt = hd_malloc((size_t)chunk * 2 * sizeof(float)),
          *feat = hd_malloc((size_t)(chunk * nf) * sizeof(float));
    int rc = e && vox && mom && pt && feat ? HD_OK : HD_ENOMEM;
    for (int64_t first = 0; rc == HD_OK && first < n_rows; first += chunk) {
        int64_t m = n_rows - first < chunk ? n_rows - first : chunk;
        if ((rc = source_read(src, first, m, e, vox, mom, pt)) != HD_OK) break;
        hd_calo_inputs in = {.e_inc = e, .momentum = grid ? mom : NULL, .point = grid ? pt : NULL};
        if ((rc = hd_calo_features(&src->layout, &o->features, m, vox, &in, feat)) != HD_OK) {
            rc = hd_error(rc, "%s: showers %lld to %lld: %s", src->path, (long long)first, (long long)(first + m - 1),
                          hd_last_error());
            break;
        }
        for (int64_t i = 0; i < m; i++) {
            int64_t d = dest ? dest[first + i] : first + i;
            if (d < 0) continue;
            sample *s = d < out[0]->n ? out[0] : out[1];
            put_row(s, s == out[0] ? d : d - out[0]->n, grid, v, feat + i * nf, e[i], vox + i * v, mom + 3 * i,
                    pt + 2 * i);
        }
    }
    hd_free(e);
    hd_free(vox);
    hd_free(mom);
    hd_free(pt);
    hd_free(feat);
    return rc;
}

/* The high-level classifier's rows [n, nf + nc]: the features and the conditions. */
static float *high_inputs(const sample *s)
{
    int64_t nh = s->nf + s->nc;
    float *h = hd_malloc((size_t)(s->n * nh) * sizeof(float));
    for (int64_t i = 0; h && i < s->n; i++) {
        memcpy(h + i * nh, s->features + i * s->nf, (size_t)s->nf * sizeof(float));
        memcpy(h + i * nh + s->nf, s->cond + i * s->nc, (size_t)s->nc * sizeof(float));
    }
    return h;
}

/* ---- the measures of one pair ------------------------------------------------------- */

typedef struct {
    hd_calo_scores s;
    double *separation; /* [nf] */
    double *w1, *w1_err; /* [nf] */
    double **h_ref, **h_gen; /* [nf][bins] unit-sum, for the plots */
} pair_result;

static void pair_free(pair_result *p, int64_t nf)
{
    for (int64_t j = 0; p->h_ref && j < nf; j++) {
        hd_free(p->h_ref[j]);
        hd_free(p->h_gen[j]);
    }
    hd_free(p->h_ref);
    hd_free(p->h_gen);
    hd_free(p->separation);
    hd_free(p->w1);
    hd_free(p->w1_err);
}

static int histograms(const sample *ref, const sample *gen, const hd_hist_binning *bins, pair_result *p)
{
    int64_t nf = ref->nf;
    p->h_ref = hd_calloc((size_t)nf, sizeof *p->h_ref);
    p->h_gen = hd_calloc((size_t)nf, sizeof *p->h_gen);
    p->separation = hd_malloc((size_t)nf * sizeof(double));
    if (!p->h_ref || !p->h_gen || !p->separation) return HD_ENOMEM;
    double sum = 0, most = 0;
    for (int64_t j = 0; j < nf; j++) {
        p->h_ref[j] = hd_malloc((size_t)bins[j].n_bins * sizeof(double));
        p->h_gen[j] = hd_malloc((size_t)bins[j].n_bins * sizeof(double));
        if (!p->h_ref[j] || !p->h_gen[j]) return HD_ENOMEM;
        int rc = hd_hist_unit(&bins[j], ref->n, ref->features + j, ref->nf, p->h_ref[j], NULL);
        if (rc == HD_OK) rc = hd_hist_unit(&bins[j], gen->n, gen->features + j, gen->nf, p->h_gen[j], NULL);
        if (rc != HD_OK) return rc;
        p->separation[j] = hd_separation_power(bins[j].n_bins, p->h_ref[j], p->h_gen[j]);
        sum += p->separation[j];
        most = fmax(most, p->separation[j]);
    }
    p->s.separation_mean = sum / (double)nf;
    p->s.separation_max = most;
    return HD_OK;
}

/* The classifier on the voxels of both subsamples (NaN when skipped). */
static int voxel_test(const hd_calo_eval_opts *o, const sample *ref, const sample *gen, const char *what,
                      hd_calo_scores *s)
{
    s->auc_low = s->auc_low_err = s->jsd_low = s->jsd_low_err = NAN;
    if (o->skip_low_level) return HD_OK;
    char msg[128];
    snprintf(msg, sizeof msg, "%s: classifier on the voxels of %lld and %lld showers", what, (long long)ref->n_low,
             (long long)gen->n_low);
    stage(o, msg);
    hd_c2st_result c;
    int rc = hd_c2st(&o->c2st, ref->n_low, ref->low, gen->n_low, gen->low, ref->nl, &c);
    if (rc == HD_OK) s->auc_low = c.auc, s->auc_low_err = c.auc_err, s->jsd_low = c.jsd, s->jsd_low_err = c.jsd_err;
    return rc;
}

/* Everything on the feature rows: histograms, the high-level classifier, FPD, KPD, W1. */
static int measure(const hd_calo_eval_opts *o, const sample *ref, const sample *gen, const hd_hist_binning *bins,
                   const char *what, pair_result *p)
{
    char msg[128];
    int rc = histograms(ref, gen, bins, p);
    if (rc == HD_OK) {
        snprintf(msg, sizeof msg, "%s: classifier on the high-level features", what);
        stage(o, msg);
        float *hr = high_inputs(ref), *hg = high_inputs(gen);
        hd_c2st_result c;
        rc = hr && hg ? hd_c2st(&o->c2st, ref->n, hr, gen->n, hg, ref->nf + ref->nc, &c) : HD_ENOMEM;
        if (rc == HD_OK)
            p->s.auc_high = c.auc, p->s.auc_high_err = c.auc_err, p->s.jsd_high = c.jsd, p->s.jsd_high_err = c.jsd_err;
        hd_free(hr);
        hd_free(hg);
    }
    hd_fpd_result fpd;
    hd_kpd_result kpd;
    if (rc == HD_OK) {
        snprintf(msg, sizeof msg, "%s: FPD, KPD, W1", what);
        stage(o, msg);
        rc = hd_fpd(ref->n, ref->features, gen->n, gen->features, ref->nf, &o->fpd, &fpd);
    }
    if (rc == HD_OK && (rc = hd_kpd(ref->n, ref->features, gen->n, gen->features, ref->nf, &o->kpd, &kpd)) == HD_OK) {
        p->s.fpd = fpd.value, p->s.fpd_err = fpd.error, p->s.kpd = kpd.median, p->s.kpd_err = kpd.error;
    }
    if (rc == HD_OK) {
        p->w1 = hd_malloc((size_t)ref->nf * sizeof(double));
        p->w1_err = hd_malloc((size_t)ref->nf * sizeof(double));
        rc = p->w1 && p->w1_err ? hd_w1_features(ref->n, ref->features, gen->n, gen->features, ref->nf, &o->w1, p->w1,
                                                  NULL, p->w1_err)
                                : HD_ENOMEM;
    }
    return rc;
}

/* ---- outputs -------------------------------------------------------------------------- */

static void scores_json(FILE *f, const hd_calo_scores *s, const pair_result *p, const hd_calo_layout *l, int64_t nf,
                        const char *indent)
{
    struct { const char *key; double v; } keys[] = {
        {"auc_low", s->auc_low},   {"auc_low_err", s->auc_low_err},   {"auc_high", s->auc_high},
        {"auc_high_err", s->auc_high_err}, {"jsd_low", s->jsd_low}, {"jsd_low_err", s->jsd_low_err},
        {"jsd_high", s->jsd_high}, {"jsd_high_err", s->jsd_high_err}, {"fpd", s->fpd}, {"fpd_err", s->fpd_err},
        {"kpd", s->kpd},           {"kpd_err", s->kpd_err},           {"separation_mean", s->separation_mean},
        {"separation_max", s->separation_max}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        fputs(indent, f);
        hd_report_number(f, keys[i].key, keys[i].v, 0);
    }
    const char *names[2] = {"separation", "w1"};
    for (int t = 0; t < 2; t++) {
        fprintf(f, "%s  \"%s\": {", indent, names[t]);
        for (int64_t j = 0; j < nf; j++) {
            char name[64];
            hd_calo_feature_name(l, j, name, sizeof name);
            double v = t ? p->w1[j] : p->separation[j];
            if (t) fprintf(f, "%s\n%s    \"%s\": [%.6g, %.3g]", j ? "," : "", indent, name, v, p->w1_err[j]);
            else fprintf(f, "%s\n%s    \"%s\": %.6g", j ? "," : "", indent, name, v);
        }
        fprintf(f, "\n%s  }%s\n", indent, t ? "" : ",");
    }
}

static int write_metrics(const hd_calo_eval_opts *o, const hd_calo_layout *l, int64_t nf, const pair_result *m,
                         const pair_result *fl, const hd_calo_eval_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", o->out_dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "{\n  \"layout\": \"%s\",\n", l->name);
    hd_report_number(af.f, "n_reference", (double)r->n_reference, 0);
    hd_report_number(af.f, "n_generated", (double)r->n_generated, 0);
    hd_report_number(af.f, "n_floor", (double)r->n_floor, 0);
    hd_report_number(af.f, "n_voxel_reference", (double)r->n_voxel_reference, 0);
    hd_report_number(af.f, "n_voxel_generated", (double)r->n_voxel_generated, 0);
    hd_report_number(af.f, "n_voxel_floor", (double)r->n_voxel_floor, 0);
    hd_report_number(af.f, "n_clipped", (double)r->n_clipped, 0);
    hd_report_number(af.f, "seconds", r->seconds, 0);
    scores_json(af.f, &r->model, m, l, nf, "");
    fprintf(af.f, ",\n  \"floor\": {\n");
    scores_json(af.f, &r->floor, fl, l, nf, "  ");
    fprintf(af.f, "  }\n}\n");
    return hd_atomic_commit(&af);
}

/* Feature columns of one kind ("E_layer" for "E_layer_07") run together. */
static int64_t kind_end(const hd_calo_layout *l, int64_t j, int64_t nf, char *kind, size_t size)
{
    char a[64], b[64];
    hd_calo_feature_name(l, j, a, sizeof a);
    char *u = strrchr(a, '_');
    if (u && u[1] >= '0' && u[1] <= '9') *u = '\0';
    snprintf(kind, size, "%s", a);
    int64_t k = j + 1;
    for (; k < nf; k++) {
        hd_calo_feature_name(l, k, b, sizeof b);
        u = strrchr(b, '_');
        if (u && u[1] >= '0' && u[1] <= '9') *u = '\0';
        if (strcmp(a, b) != 0) break;
    }
    return k;
}

/* One PNG per feature kind, a panel per column; the report lists them. */
static int plots(const hd_calo_eval_opts *o, const hd_calo_layout *l, int64_t nf, const hd_hist_binning *bins,
                 const pair_result *m, FILE *report)
{
    int rc = HD_OK;
    for (int64_t j = 0; rc == HD_OK && j < nf;) {
        char kind[64], stem[4200];
        int64_t end = kind_end(l, j, nf, kind, sizeof kind), n = end - j;
        char(*titles)[64] = hd_malloc((size_t)n * sizeof *titles);
        const char **tp = hd_malloc((size_t)n * sizeof *tp);
        int *nb = hd_malloc((size_t)n * sizeof *nb), *lx = hd_malloc((size_t)n * sizeof *lx);
        double **edges = hd_calloc((size_t)n, sizeof *edges);
        rc = titles && tp && nb && lx && edges ? HD_OK : HD_ENOMEM;
        for (int64_t k = 0; rc == HD_OK && k < n; k++) {
            hd_calo_feature_name(l, j + k, titles[k], sizeof titles[k]);
            tp[k] = titles[k];
            nb[k] = bins[j + k].n_bins;
            lx[k] = bins[j + k].log;
            if (!(edges[k] = hd_malloc((size_t)(nb[k] + 1) * sizeof(double)))) rc = HD_ENOMEM;
            else rc = hd_hist_edges(&bins[j + k], edges[k]);
        }
        char title[128];
        snprintf(title, sizeof title, "%s: reference against generated (ratio below)", kind);
        hd_compare_plot p = {.title = title, .ref_title = "reference", .gen_title = "generated", .n_panels = (int)n,
                             .panel_titles = tp, .n_bins = nb, .edges = (const double *const *)edges,
                             .ref = (const double *const *)(m->h_ref + j), .gen = (const double *const *)(m->h_gen + j),
                             .log_x = lx};
        snprintf(stem, sizeof stem, "%s/features_%s", o->out_dir, kind);
        if (rc == HD_OK) rc = hd_plot_compare(stem, &p, NULL);
        if (rc == HD_OK) fprintf(report, "![%s](features_%s.png)\n\n", kind, kind);
        for (int64_t k = 0; edges && k < n; k++) hd_free(edges[k]);
        hd_free(edges);
        hd_free(titles);
        hd_free(tp);
        hd_free(nb);
        hd_free(lx);
        j = end;
    }
    return rc;
}

static int write_report(const hd_calo_eval_opts *o, const hd_calo_layout *l, int64_t nf, const hd_hist_binning *bins,
                        const pair_result *m, const hd_calo_eval_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", o->out_dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "# Calorimeter showers: %s against %s\n\nLayout %s; %lld reference and %lld generated showers; the "
               "floor compares %lld reference showers with %s.\n\n",
            o->generated, o->reference, l->name, (long long)r->n_reference, (long long)r->n_generated,
            (long long)r->n_floor, o->reference2 ? o->reference2 : "the other half of the reference");
    if (!o->skip_low_level)
        fprintf(f, "The classifier on the voxels saw a seeded subsample: %lld reference, %lld generated and %lld floor "
                   "showers.\n\n", (long long)r->n_voxel_reference, (long long)r->n_voxel_generated,
                (long long)r->n_voxel_floor);
    fprintf(f, "| measure | generated | floor (reference vs reference) |\n|---|---:|---:|\n");
    const hd_calo_scores *g = &r->model, *fl = &r->floor;
    fprintf(f, "| classifier AUC, voxels | %.4f ± %.4f | %.4f ± %.4f |\n", g->auc_low, g->auc_low_err, fl->auc_low,
            fl->auc_low_err);
    fprintf(f, "| classifier AUC, high-level | %.4f ± %.4f | %.4f ± %.4f |\n", g->auc_high, g->auc_high_err,
            fl->auc_high, fl->auc_high_err);
    fprintf(f, "| JSD, voxels | %.4f ± %.4f | %.4f ± %.4f |\n", g->jsd_low, g->jsd_low_err, fl->jsd_low, fl->jsd_low_err);
    fprintf(f, "| FPD | %.4g ± %.2g | %.4g ± %.2g |\n", g->fpd, g->fpd_err, fl->fpd, fl->fpd_err);
    fprintf(f, "| KPD | %.4g ± %.2g | %.4g ± %.2g |\n", g->kpd, g->kpd_err, fl->kpd, fl->kpd_err);
    fprintf(f, "| separation power, mean / max over %lld histograms | %.4f / %.4f | %.4f / %.4f |\n\n", (long long)nf,
            g->separation_mean, g->separation_max, fl->separation_mean, fl->separation_max);
    fprintf(f, "AUC 0.5 and FPD, KPD and separation at the floor mean indistinguishable; metrics.json has every "
               "number, the separation power and W1 of each feature.\n\n");
    rc = plots(o, l, nf, bins, m, f);
    if (rc != HD_OK) {
        hd_atomic_abort(&af);
        return rc;
    }
    return hd_atomic_commit(&af);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* The reference halves A and B in a seeded order, for the floor without a
 * second reference: dest[r] for row r, A's rows 0 .. n/2 - 1, then B's (an
 * odd n leaves one row out). */
static int64_t *halves(const hd_calo_eval_opts *o, int64_t n)
{
    int64_t *order = hd_malloc((size_t)n * sizeof *order), *dest = hd_malloc((size_t)n * sizeof *dest);
    if (!order || !dest) {
        hd_free(order);
        hd_free(dest);
        return NULL;
    }
    hd_rng r;
    hd_rng_init(&r, o->seed, STREAM_HALVES);
    hd_rng_permutation(&r, n, order);
    for (int64_t i = 0; i < n; i++) dest[order[i]] = i < n / 2 * 2 ? i : -1;
    hd_free(order);
    return dest;
}

static int pass(const hd_calo_eval_opts *o, source *src, int64_t n_rows, const int64_t *dest, sample *a, sample *b,
                const char *what)
{
    char msg[4200];
    snprintf(msg, sizeof msg, "%s: the features of %lld showers of %s", what, (long long)n_rows, src->path);
    stage(o, msg);
    sample *out[2] = {a, b};
    int rc = stream(o, src, n_rows, dest, out);
    source_close(src);
    return rc;
}

int hd_calo_eval_run(const hd_calo_eval_opts *o, hd_calo_eval_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = hd_calo_eval_check(o);
    if (rc != HD_OK) return rc;
    double t0 = hd_now();
    hd_calo_layout named, *want = NULL;
    if (o->geometry && (rc = hd_calo_layout_get(o->geometry, &named)) == HD_OK) want = &named;
    source ref = {0}, gen = {0}, ref2 = {0};
    sample a = {0}, g = {0}, b = {0};
    pair_result m = {0}, fl = {0};
    int64_t *dest = NULL, nf = 0;
    hd_hist_binning *bins = NULL;
    stage(o, "checking the files");
    if ((rc = source_open(o, o->reference, want, &ref)) == HD_OK) rc = source_open(o, o->generated, &ref.layout, &gen);
    if (rc == HD_OK && o->reference2) rc = source_open(o, o->reference2, &ref.layout, &ref2);
    /* the reference and the floor's sample, then the voxel classifier of the floor, whose inputs go before the
       generated sample's come */
    if (rc == HD_OK && o->reference2) {
        if ((rc = sample_alloc(o, &ref, ref.n, 0, &a)) == HD_OK) rc = sample_alloc(o, &ref2, ref2.n, 1, &b);
        if (rc == HD_OK) rc = pass(o, &ref, ref.n, NULL, &a, NULL, "reference");
        if (rc == HD_OK) rc = pass(o, &ref2, ref2.n, NULL, &b, NULL, "second reference");
    } else if (rc == HD_OK) {
        if ((rc = sample_alloc(o, &ref, ref.n / 2, 0, &a)) == HD_OK) rc = sample_alloc(o, &ref, ref.n / 2, 1, &b);
        if (rc == HD_OK && !(dest = halves(o, ref.n))) rc = HD_ENOMEM;
        if (rc == HD_OK) rc = pass(o, &ref, ref.n, dest, &a, &b, "reference, in halves");
    }
    if (rc == HD_OK) rc = voxel_test(o, &a, &b, "floor", &fl.s);
    sample_free_low(&b);
    /* as many generated showers as reference ones: the classifier's JSD assumes equal priors */
    if (rc == HD_OK && (rc = sample_alloc(o, &gen, gen.n < a.n ? gen.n : a.n, 2, &g)) == HD_OK)
        rc = pass(o, &gen, g.n, NULL, &g, NULL, "generated");
    if (rc == HD_OK) rc = voxel_test(o, &a, &g, "generated", &m.s);
    sample_free_low(&a);
    sample_free_low(&g);
    if (rc == HD_OK) {
        nf = a.nf;
        r->n_reference = a.n, r->n_generated = g.n, r->n_floor = b.n, r->n_features = (int)nf;
        r->n_voxel_reference = a.n_low, r->n_voxel_generated = g.n_low, r->n_voxel_floor = b.n_low;
        r->n_clipped = gen.n_clipped;
        if (!(bins = hd_malloc((size_t)nf * sizeof *bins))) rc = HD_ENOMEM;
    }
    for (int64_t j = 0; rc == HD_OK && j < nf; j++)
        rc = hd_calo_feature_binning(&ref.layout, &o->features, j, a.n, a.features + j, a.nf, &bins[j]);
    if (rc == HD_OK) rc = measure(o, &a, &g, bins, "generated", &m);
    if (rc == HD_OK) rc = measure(o, &a, &b, bins, "floor", &fl);
    if (rc == HD_OK) {
        r->model = m.s;
        r->floor = fl.s;
        r->seconds = hd_now() - t0;
        stage(o, "writing metrics.json, report.md and the plots");
        if ((rc = write_metrics(o, &ref.layout, nf, &m, &fl, r)) == HD_OK)
            rc = write_report(o, &ref.layout, nf, bins, &m, r);
    }
    pair_free(&m, nf);
    pair_free(&fl, nf);
    hd_free(bins);
    hd_free(dest);
    sample_free(&a);
    sample_free(&b);
    sample_free(&g);
    source_close(&ref);
    source_close(&gen);
    source_close(&ref2);
    return rc;
}
