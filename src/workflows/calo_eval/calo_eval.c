/* The calo-eval workflow (workflows.h): how far generated calorimeter
 * showers are from reference ones, in the measures physics uses, next to
 * the floor, the same measures between two reference samples. */
#include "hadron/workflows.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_HALVES (HD_STREAM_USER + 41)

hd_calo_eval_opts hd_calo_eval_opts_default(void)
{
    hd_calo_eval_opts o = {.seed = 1, .c2st = hd_c2st_opts_default(), .fpd = hd_fpd_opts_default(),
                           .kpd = hd_kpd_opts_default(), .w1 = hd_w1_opts_default(),
                           .features = hd_calo_feature_opts_default()};
    return o;
}

int hd_calo_eval_check(const hd_calo_eval_opts *o)
{
    if (!o->reference || !o->generated || !o->out_dir)
        return hd_error(HD_EINVAL, "calo-eval: a reference file, a generated file and an output directory are needed");
    if (o->max_showers < 0) return hd_error(HD_EINVAL, "calo-eval: max showers %lld < 0", (long long)o->max_showers);
    hd_calo_layout l;
    if (o->geometry && hd_calo_layout_get(o->geometry, &l) != HD_OK) return HD_EINVAL;
    return hd_c2st_check(&o->c2st);
}

/* One sample: its feature rows and its classifier inputs. */
typedef struct {
    int64_t n, nf, nl, nh;
    float *features; /* [n, nf] */
    float *low;      /* [n, nl]: log10 E_inc and voxels / E_inc (grid: log10 E_tot, voxels / E_tot, conditions) */
    float *high;     /* [n, nh]: the features and log10 E_inc (grid: the conditions) */
} sample;

static void sample_free(sample *s)
{
    hd_free(s->features);
    hd_free(s->low);
    hd_free(s->high);
    memset(s, 0, sizeof *s);
}

static void stage(const hd_calo_eval_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

/* A grid file's conditions, momentum [n, 3] and entry_point [n, 2], as float32. */
static int read_conditions(const char *path, int64_t n, float **momentum, float **point)
{
    const char *names[2] = {"momentum", "entry_point"};
    const int64_t cols[2] = {3, 2};
    float **dst[2] = {momentum, point};
    int npz = strlen(path) > 4 && strcmp(path + strlen(path) - 4, ".npz") == 0, rc = HD_OK;
    hd_npz *z = NULL;
    if (npz && (rc = hd_npz_read(path, &z)) != HD_OK) return rc;
    for (int k = 0; k < 2 && rc == HD_OK; k++) {
        hd_array a = {0};
        const hd_array *src = NULL;
        if (npz && !(src = hd_npz_get(z, names[k])))
            rc = hd_error(HD_EFORMAT, "%s: no array '%s' (an ecal30 file holds the conditions)", path, names[k]);
        else if (!npz && (rc = hd_h5_read(path, names[k], HD_F32, &a)) == HD_OK)
            src = &a;
        if (rc == HD_OK && (src->ndim != 2 || src->shape[0] < n || src->shape[1] != cols[k]))
            rc = hd_error(HD_EFORMAT, "%s: '%s' has shape %s, need (%lld, %lld)", path, names[k],
                          hd_shape_str(src->ndim, src->shape, (char[64]){0}, 64), (long long)n, (long long)cols[k]);
        if (rc == HD_OK && !(*dst[k] = hd_malloc((size_t)(n * cols[k]) * sizeof(float)))) rc = HD_ENOMEM;
        for (int64_t i = 0; rc == HD_OK && i < n * cols[k]; i++) (*dst[k])[i] = (float)hd_array_get(src, i);
        hd_array_free(&a);
    }
    hd_npz_free(z);
    return rc;
}

/* Rows of f (those in rows[0..n), or all for NULL) as a sample. */
static int make_sample(const hd_calo_eval_opts *o, const hd_calo_file *f, const float *momentum, const float *point,
                       const int64_t *rows, int64_t n, sample *s)
{
    const hd_calo_layout *l = &f->layout;
    int grid = l->kind == HD_CALO_GRID;
    int64_t v = f->n_voxels;
    s->n = n;
    s->nf = hd_calo_feature_count(l);
    s->nl = 1 + v + (grid ? 5 : 0);
    s->nh = s->nf + (grid ? 5 : 1);
    float *vox = hd_malloc((size_t)(n * v) * sizeof(float)), *e = hd_malloc((size_t)n * sizeof(float)),
          *mom = grid ? hd_malloc((size_t)n * 3 * sizeof(float)) : NULL,
          *pt = grid ? hd_malloc((size_t)n * 2 * sizeof(float)) : NULL;
    s->features = hd_malloc((size_t)(n * s->nf) * sizeof(float));
    s->low = hd_malloc((size_t)(n * s->nl) * sizeof(float));
    s->high = hd_malloc((size_t)(n * s->nh) * sizeof(float));
    int rc = vox && e && s->features && s->low && s->high && (!grid || (mom && pt)) ? HD_OK : HD_ENOMEM;
    for (int64_t i = 0; rc == HD_OK && i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        memcpy(vox + i * v, f->showers + r * v, (size_t)v * sizeof(float));
        e[i] = f->energy[r];
        if (grid) {
            memcpy(mom + 3 * i, momentum + 3 * r, 3 * sizeof(float));
            memcpy(pt + 2 * i, point + 2 * r, 2 * sizeof(float));
        }
    }
    hd_calo_inputs in = {.e_inc = e, .momentum = mom, .point = pt};
    if (rc == HD_OK) rc = hd_calo_features(l, &o->features, n, vox, &in, s->features);
    for (int64_t i = 0; rc == HD_OK && i < n; i++) {
        const float *x = vox + i * v;
        double total = 0;
        for (int64_t j = 0; j < v; j++) total += x[j];
        double norm = grid ? total : e[i];
        float *low = s->low + i * s->nl, *high = s->high + i * s->nh;
        low[0] = (float)log10(norm > 0 ? norm : 1e-30);
        for (int64_t j = 0; j < v; j++) low[1 + j] = norm > 0 ? (float)(x[j] / norm) : 0.0f;
        memcpy(high, s->features + i * s->nf, (size_t)s->nf * sizeof(float));
        if (grid) { /* the conditions: direction and entry point */
            const float c[5] = {mom[3 * i] / mom[3 * i + 2], mom[3 * i + 1] / mom[3 * i + 2], pt[2 * i], pt[2 * i + 1],
                                (float)log10(sqrt((double)mom[3 * i] * mom[3 * i] + (double)mom[3 * i + 1] * mom[3 * i + 1] +
                                                  (double)mom[3 * i + 2] * mom[3 * i + 2]))};
            memcpy(low + 1 + v, c, sizeof c);
            memcpy(high + s->nf, c, sizeof c);
        } else {
            high[s->nf] = low[0];
        }
    }
    hd_free(vox);
    hd_free(e);
    hd_free(mom);
    hd_free(pt);
    return rc;
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

static int histograms(const hd_calo_eval_opts *o, const hd_calo_layout *l, const sample *ref, const sample *gen,
                      const hd_hist_binning *bins, pair_result *p)
{
    (void)o;
    int64_t nf = ref->nf;
    p->h_ref = hd_calloc((size_t)nf, sizeof *p->h_ref);
    p->h_gen = hd_calloc((size_t)nf, sizeof *p->h_gen);
    p->separation = hd_malloc((size_t)nf * sizeof(double));
    if (!p->h_ref || !p->h_gen || !p->separation) return HD_ENOMEM;
    (void)l;
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

static int measure(const hd_calo_eval_opts *o, const hd_calo_layout *l, const sample *ref, const sample *gen,
                   const hd_hist_binning *bins, const char *what, pair_result *p)
{
    char msg[128];
    int rc = histograms(o, l, ref, gen, bins, p);
    hd_c2st_result c;
    if (rc == HD_OK && !o->skip_low_level) {
        snprintf(msg, sizeof msg, "%s: classifier on the voxels", what);
        stage(o, msg);
        if ((rc = hd_c2st(&o->c2st, ref->n, ref->low, gen->n, gen->low, ref->nl, &c)) == HD_OK) {
            p->s.auc_low = c.auc, p->s.auc_low_err = c.auc_err, p->s.jsd_low = c.jsd, p->s.jsd_low_err = c.jsd_err;
        }
    } else {
        p->s.auc_low = p->s.auc_low_err = p->s.jsd_low = p->s.jsd_low_err = NAN;
    }
    if (rc == HD_OK) {
        snprintf(msg, sizeof msg, "%s: classifier on the high-level features", what);
        stage(o, msg);
        if ((rc = hd_c2st(&o->c2st, ref->n, ref->high, gen->n, gen->high, ref->nh, &c)) == HD_OK) {
            p->s.auc_high = c.auc, p->s.auc_high_err = c.auc_err, p->s.jsd_high = c.jsd, p->s.jsd_high_err = c.jsd_err;
        }
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

typedef struct {
    hd_calo_file f;
    float *momentum, *point;
} input;

static void input_release(input *in)
{
    hd_calo_file_release(&in->f);
    hd_free(in->momentum);
    hd_free(in->point);
}

static int load(const hd_calo_eval_opts *o, const char *path, const hd_calo_layout *want, input *in)
{
    hd_calo_read_opts ro = hd_calo_read_opts_default();
    ro.layout = want;
    ro.max_showers = o->max_showers;
    ro.clip_negative = 1; /* a model's showers may dip below 0; a reference's never do */
    int rc = hd_calo_file_read(path, &ro, &in->f);
    if (rc == HD_OK && !in->f.has_layout)
        rc = hd_error(HD_EINVAL, "%s: %lld voxels match no known layout; name one with --geometry", path,
                      (long long)in->f.n_voxels);
    if (rc == HD_OK && in->f.layout.kind == HD_CALO_GRID)
        rc = read_conditions(path, in->f.n, &in->momentum, &in->point);
    return rc;
}

/* Reference halves A and B in a seeded order, for the floor without a second reference. */
static int halves(const hd_calo_eval_opts *o, int64_t n, int64_t **a, int64_t **b)
{
    int64_t *order = hd_malloc((size_t)n * sizeof *order);
    *a = hd_malloc((size_t)(n / 2 + 1) * sizeof **a);
    *b = hd_malloc((size_t)(n / 2 + 1) * sizeof **b);
    if (!order || !*a || !*b) {
        hd_free(order);
        return HD_ENOMEM;
    }
    hd_rng r;
    hd_rng_init(&r, o->seed, STREAM_HALVES);
    hd_rng_permutation(&r, n, order);
    for (int64_t i = 0; i < n / 2; i++) {
        (*a)[i] = order[i];
        (*b)[i] = order[n / 2 + i];
    }
    hd_free(order);
    return HD_OK;
}

int hd_calo_eval_run(const hd_calo_eval_opts *o, hd_calo_eval_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = hd_calo_eval_check(o);
    if (rc != HD_OK) return rc;
    double t0 = hd_now();
    hd_calo_layout named, *want = NULL;
    if (o->geometry && (rc = hd_calo_layout_get(o->geometry, &named)) == HD_OK) want = &named;
    input ref = {0}, gen = {0}, ref2 = {0};
    sample a = {0}, g = {0}, b = {0};
    pair_result m = {0}, fl = {0};
    int64_t *ha = NULL, *hb = NULL, nf = 0;
    hd_hist_binning *bins = NULL;
    stage(o, "reading the showers");
    if ((rc = load(o, o->reference, want, &ref)) == HD_OK) rc = load(o, o->generated, &ref.f.layout, &gen);
    if (rc == HD_OK && o->reference2) rc = load(o, o->reference2, &ref.f.layout, &ref2);
    const hd_calo_layout *l = &ref.f.layout;
    stage(o, "computing the features");
    if (rc == HD_OK && o->reference2) {
        if ((rc = make_sample(o, &ref.f, ref.momentum, ref.point, NULL, ref.f.n, &a)) == HD_OK)
            rc = make_sample(o, &ref2.f, ref2.momentum, ref2.point, NULL, ref2.f.n, &b);
    } else if (rc == HD_OK && (rc = halves(o, ref.f.n, &ha, &hb)) == HD_OK) {
        if ((rc = make_sample(o, &ref.f, ref.momentum, ref.point, ha, ref.f.n / 2, &a)) == HD_OK)
            rc = make_sample(o, &ref.f, ref.momentum, ref.point, hb, ref.f.n / 2, &b);
    }
    /* as many generated showers as reference ones: the classifier's JSD assumes equal priors */
    if (rc == HD_OK) rc = make_sample(o, &gen.f, gen.momentum, gen.point, NULL, gen.f.n < a.n ? gen.f.n : a.n, &g);
    if (rc == HD_OK) {
        nf = a.nf;
        r->n_reference = a.n, r->n_generated = g.n, r->n_floor = b.n, r->n_features = (int)nf;
        if (!(bins = hd_malloc((size_t)nf * sizeof *bins))) rc = HD_ENOMEM;
    }
    for (int64_t j = 0; rc == HD_OK && j < nf; j++)
        rc = hd_calo_feature_binning(l, &o->features, j, a.n, a.features + j, a.nf, &bins[j]);
    if (rc == HD_OK) rc = measure(o, l, &a, &g, bins, "generated", &m);
    if (rc == HD_OK) rc = measure(o, l, &a, &b, bins, "floor", &fl);
    if (rc == HD_OK) {
        r->model = m.s;
        r->floor = fl.s;
        r->seconds = hd_now() - t0;
        stage(o, "writing metrics.json, report.md and the plots");
        if ((rc = write_metrics(o, l, nf, &m, &fl, r)) == HD_OK) rc = write_report(o, l, nf, bins, &m, r);
    }
    pair_free(&m, nf);
    pair_free(&fl, nf);
    hd_free(bins);
    hd_free(ha);
    hd_free(hb);
    sample_free(&a);
    sample_free(&b);
    sample_free(&g);
    input_release(&ref);
    input_release(&gen);
    input_release(&ref2);
    return rc;
}
