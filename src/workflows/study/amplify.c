/* hadron study amplify: is a generated shower worth more than a training
 * shower?  GANplifying (Butter et al., arXiv:2008.06545) asks it of a GAN
 * trained on a 1-D camel: the quantile-binned error of the generated
 * sample, against that of the training sample, as the training sample
 * grows.  Here: each model of hadron gen, three (or more) training sizes,
 * four shower observables, the truth a much larger simulated sample. */
#include "study_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ALL_MODELS ((1u << HD_AMPLIFY_SAMPLE) - 1)
_Static_assert(HD_AMPLIFY_SAMPLE == HD_GEN_MDN + 1, "the training sample's row follows every model's");

hd_amplify_opts hd_amplify_opts_default(void)
{
    hd_amplify_opts o = {.seed = 1, .n_sizes = 3, .sizes = {1000, 4000, 16000}, .n_truth = 200000, .steps = 2000,
                         .bins = 10};
    o.models = 1u << HD_GEN_GMM | 1u << HD_GEN_LIBRARY | 1u << HD_GEN_VAE | 1u << HD_GEN_WGAN_GP;
    return o;
}

int hd_amplify_check(const hd_amplify_opts *o)
{
    if (!o->out_dir) return hd_error(HD_EINVAL, "amplify: an output directory is needed");
    if (!o->models || (o->models & ~ALL_MODELS)) return hd_error(HD_EINVAL, "amplify: no models (bits %#x)", o->models);
    if (o->n_sizes < 1 || o->n_sizes > HD_AMPLIFY_MAX_SIZES)
        return hd_error(HD_EINVAL, "amplify: %d sizes, need 1..%d", o->n_sizes, HD_AMPLIFY_MAX_SIZES);
    for (int i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] < 256 || o->sizes[i] > 10000000 || (i && o->sizes[i] <= o->sizes[i - 1]))
            return hd_error(HD_EINVAL, "amplify: sizes must increase, each 256..10^7 (size %d is %lld)", i + 1,
                            (long long)o->sizes[i]);
    if (o->n_truth < 10 * o->sizes[o->n_sizes - 1] || o->n_truth > 100000000)
        return hd_error(HD_EINVAL, "amplify: n-truth %lld must be at least 10 times the largest size (%lld)",
                        (long long)o->n_truth, (long long)o->sizes[o->n_sizes - 1]);
    if (o->steps < 1 || o->steps > 10000000) return hd_error(HD_EINVAL, "amplify: steps %d outside 1..10^7", o->steps);
    if (o->bins < 2 || o->bins > 1000) return hd_error(HD_EINVAL, "amplify: bins %d outside 2..1000", o->bins);
    return HD_OK;
}

static void stage(const hd_amplify_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

typedef struct {
    const hd_amplify_opts *o;
    hd_calo_layout layout;
    gen_sample train, truth;
    int64_t w;          /* statistics per shower */
    double *edges;      /* [w][bins - 1] the truth's quantiles */
    double *p;          /* [w][bins] the truth's fractions in those bins (1/B but where values tie) */
    char train_path[4096], truth_path[4096];
} study;

/* fractions f [bins] of column j of st [n][w] in the truth's bins (a value on an edge goes above it) */
static void fractions(const study *s, int64_t n, const double *st, int64_t j, double *f)
{
    int B = s->o->bins;
    const double *e = s->edges + j * (B - 1);
    for (int b = 0; b < B; b++) f[b] = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = st[i * s->w + j];
        int lo = 0, hi = B - 1; /* the bin: the number of edges <= v */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (e[mid] <= v) lo = mid + 1;
            else hi = mid;
        }
        f[lo] += 1;
    }
    for (int b = 0; b < B; b++) f[b] /= (double)n;
}

/* mean over bins of (f_b - p_b)^2, and in *c the mean of p_b (1 - p_b) (one shower's share) */
static double binned_mse(const study *s, int64_t n, const double *st, int64_t j, double *c)
{
    int B = s->o->bins;
    double f[1000], mse = 0;
    const double *p = s->p + j * B;
    fractions(s, n, st, j, f);
    *c = 0;
    for (int b = 0; b < B; b++) {
        mse += (f[b] - p[b]) * (f[b] - p[b]);
        *c += p[b] * (1 - p[b]);
    }
    *c /= B;
    return mse / B;
}

/* The truth's bin edges (its quantiles) and its fractions in them, per statistic. */
static int truth_edges(study *s, const double *st)
{
    int B = s->o->bins;
    int64_t n = s->truth.n;
    double *col = hd_malloc((size_t)n * sizeof(double));
    s->edges = hd_malloc((size_t)(s->w * (B - 1)) * sizeof(double));
    if (!col || !s->edges) {
        hd_free(col);
        return HD_ENOMEM;
    }
    s->p = hd_malloc((size_t)(s->w * B) * sizeof(double));
    if (!s->p) {
        hd_free(col);
        return HD_ENOMEM;
    }
    for (int64_t j = 0; j < s->w; j++) {
        for (int64_t i = 0; i < n; i++) col[i] = st[i * s->w + j];
        hd_sort_doubles(col, n);
        for (int b = 1; b < B; b++) s->edges[j * (B - 1) + b - 1] = hd_quantile_sorted(col, n, (double)b / B);
        fractions(s, n, st, j, s->p + j * B);
    }
    hd_free(col);
    return HD_OK;
}

/* The four observables' MSE and n_equiv of statistics st [n][w], less the
 * expected noise of the truth's size and, for a generated sample (own 1),
 * of its own size: a training sample's own noise is what it is worth. */
static void judge(const study *s, int64_t n, const double *st, int own, double *mse, double *neq)
{
    for (int k = 0; k < HD_SHOWER_STATS; k++) {
        double m = 0, c = 0, cl;
        if (k < STUDY_SCALARS) {
            m = binned_mse(s, n, st, k, &c);
        } else {
            for (int l = 0; l < s->layout.n_layers; l++) {
                m += binned_mse(s, n, st, STUDY_SCALARS + l, &cl);
                c += cl;
            }
            m /= s->layout.n_layers;
            c /= s->layout.n_layers;
        }
        mse[k] = m - c * ((own ? 1.0 / (double)n : 0.0) + 1.0 / (double)s->truth.n);
        neq[k] = mse[k] > 0 ? c / mse[k] : INFINITY;
    }
}

static int judge_model(study *s, int model, int size, hd_amplify_result *res, float *sh, double *st)
{
    const hd_amplify_opts *o = s->o;
    int64_t N = o->sizes[size];
    char dir[4096], ckpt[4200], what[128];
    snprintf(dir, sizeof dir, "%s/%s_%lld", o->out_dir, hd_gen_model_name((hd_gen_model)model), (long long)N);
    int64_t epochs = ((int64_t)o->steps * 128 + N - 1) / N;
    study_run run = {.model = (hd_gen_model)model, .data = s->train_path, .heldout = s->truth_path, .dir = dir,
                     .max_showers = N, .seed = o->seed, .epochs = (int)(epochs < 1000000 ? epochs : 1000000)};
    snprintf(what, sizeof what, "%s on %lld showers", hd_gen_model_name((hd_gen_model)model), (long long)N);
    stage(o, what);
    int rc = study_train(&run, &res->train_seconds[model][size]);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    if (rc == HD_OK) rc = study_generate(ckpt, o->seed + 11, s->truth.n, s->truth.energy, sh);
    if (rc == HD_OK) rc = study_shower_stats(&s->layout, s->truth.n, sh, s->truth.energy, st);
    if (rc == HD_OK) judge(s, s->truth.n, st, 1, res->mse[model][size], res->n_equiv[model][size]);
    return rc;
}

static const char *row_name(int m) { return m == HD_AMPLIFY_SAMPLE ? "training sample" : hd_gen_model_name((hd_gen_model)m); }

static int write_outputs(const study *s, const hd_amplify_result *res)
{
    const hd_amplify_opts *o = s->o;
    int rc = HD_OK;
    for (int k = 0; rc == HD_OK && k < HD_SHOWER_STATS; k++) {
        char csv[96];
        snprintf(csv, sizeof csv, "n_equiv_%s.csv", hd_shower_stat_name(k));
        hd_atomic_file af;
        if ((rc = study_open(o->out_dir, csv, &af)) != HD_OK) break;
        fprintf(af.f, "n_train,training_sample");
        for (int m = 0; m < HD_AMPLIFY_SAMPLE; m++)
            if (o->models & (1u << m)) fprintf(af.f, ",%s", hd_gen_model_name((hd_gen_model)m));
        fprintf(af.f, "\n");
        for (int i = 0; i < o->n_sizes; i++) {
            fprintf(af.f, "%lld,%.6g", (long long)o->sizes[i], res->n_equiv[HD_AMPLIFY_SAMPLE][i][k]);
            for (int m = 0; m < HD_AMPLIFY_SAMPLE; m++)
                if (o->models & (1u << m)) fprintf(af.f, ",%.6g", res->n_equiv[m][i][k]);
            fprintf(af.f, "\n");
        }
        if ((rc = hd_atomic_commit(&af)) != HD_OK) break;
        char stem[4096], title[160];
        snprintf(stem, sizeof stem, "%s/n_equiv_%s", o->out_dir, hd_shower_stat_name(k));
        static const char *const shown[HD_SHOWER_STATS] = {"E_{tot} / E_{inc}", "width", "occupancy",
                                                           "layer fractions"}; /* gnuplot's enhanced text */
        snprintf(title, sizeof title, "%s: simulator showers a sample is worth (quantile-binned error, %d bins)",
                 shown[k], o->bins);
        hd_line_plot p = {.csv = csv, .title = title, .xlabel = "training showers", .ylabel = "equivalent showers",
                          .x_col = 1, .log_x = 1, .log_y = 1, .n_series = 1, .y_cols = {2},
                          .y_titles = {"the training sample itself"}};
        for (int m = 0, col = 3; m < HD_AMPLIFY_SAMPLE; m++)
            if (o->models & (1u << m)) {
                p.y_cols[p.n_series] = col++;
                p.y_titles[p.n_series++] = hd_gen_model_name((hd_gen_model)m);
            }
        rc = hd_plot_lines(stem, &p, NULL);
    }
    if (rc != HD_OK) return rc;
    hd_atomic_file af;
    if ((rc = study_open(o->out_dir, "metrics.json", &af)) != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "{\n  \"study\": \"amplify\",\n");
    hd_report_number(f, "n_truth", (double)o->n_truth, 0);
    hd_report_number(f, "steps", o->steps, 0);
    hd_report_number(f, "bins", o->bins, 0);
    hd_report_number(f, "seconds", res->seconds, 0);
    fprintf(f, "  \"sizes\": [");
    for (int i = 0; i < o->n_sizes; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)o->sizes[i]);
    fprintf(f, "],\n  \"amplification\": {\n");
    int last = HD_AMPLIFY_SAMPLE;
    for (int m = 0; m <= HD_AMPLIFY_SAMPLE; m++) {
        if (m < HD_AMPLIFY_SAMPLE && !(o->models & (1u << m))) continue;
        fprintf(f, "    \"%s\": {\n", row_name(m));
        for (int k = 0; k < HD_SHOWER_STATS; k++) {
            fprintf(f, "      \"%s\": [", hd_shower_stat_name(k));
            for (int i = 0; i < o->n_sizes; i++) {
                double a = res->n_equiv[m][i][k] / (double)o->sizes[i];
                if (isfinite(a)) fprintf(f, "%s%.4g", i ? ", " : "", a);
                else fprintf(f, "%snull", i ? ", " : "");
            }
            fprintf(f, "]%s\n", k + 1 < HD_SHOWER_STATS ? "," : "");
        }
        fprintf(f, "    }%s\n", m == last ? "" : ",");
    }
    fprintf(f, "  }\n}\n");
    return hd_atomic_commit(&af);
}

int hd_amplify_run(const hd_amplify_opts *o, hd_amplify_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_amplify_check(o);
    if (rc != HD_OK) return rc;
    double t0 = hd_now();
    study s = {.o = o};
    snprintf(s.train_path, sizeof s.train_path, "%s/train.h5", o->out_dir);
    snprintf(s.truth_path, sizeof s.truth_path, "%s/truth.h5", o->out_dir);
    stage(o, "simulating the training and the truth samples");
    if ((rc = study_simulate(s.train_path, o->seed, o->sizes[o->n_sizes - 1], &s.train)) == HD_OK)
        rc = study_simulate(s.truth_path, o->seed + 2000003, o->n_truth, &s.truth);
    hd_calo_layout_get("reduced", &s.layout);
    s.w = study_stat_count(&s.layout);
    int64_t nv = s.truth.n_vox, n = s.truth.n;
    float *sh = hd_malloc((size_t)(n * nv) * sizeof(float) + 1);
    double *st = hd_malloc((size_t)(n * s.w) * sizeof(double) + 1);
    if (rc == HD_OK && (!sh || !st)) rc = HD_ENOMEM;
    if (rc == HD_OK) rc = study_shower_stats(&s.layout, n, s.truth.showers, s.truth.energy, st);
    if (rc == HD_OK) rc = truth_edges(&s, st);
    if (rc == HD_OK) rc = study_shower_stats(&s.layout, s.train.n, s.train.showers, s.train.energy, st);
    for (int i = 0; rc == HD_OK && i < o->n_sizes; i++) /* the training sample's first N showers */
        judge(&s, o->sizes[i], st, 0, res->mse[HD_AMPLIFY_SAMPLE][i], res->n_equiv[HD_AMPLIFY_SAMPLE][i]);
    for (int m = 0; rc == HD_OK && m < HD_AMPLIFY_SAMPLE; m++)
        for (int i = 0; rc == HD_OK && (o->models & (1u << m)) && i < o->n_sizes; i++)
            rc = judge_model(&s, m, i, res, sh, st);
    res->seconds = hd_now() - t0;
    if (rc == HD_OK) rc = write_outputs(&s, res);
    hd_free(sh);
    hd_free(st);
    hd_free(s.edges);
    hd_free(s.p);
    gen_sample_release(&s.train);
    gen_sample_release(&s.truth);
    return rc;
}
