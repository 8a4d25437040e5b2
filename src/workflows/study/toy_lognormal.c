/* hadron study toy-lognormal: the seed's toy model of what a generative
 * model knows beyond its training sample.  Every estimator sees the same
 * training samples (resampling r is the r-th draw), so their differences
 * are paired; the truth is exact (metrics/lognormal_sum.c). */
#include "study_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STREAM_TRAIN (HD_STREAM_USER + 1)
#define STREAM_CUT (HD_STREAM_USER + 2)
#define STREAM_CHECK (HD_STREAM_USER + 3)

hd_toy_lognormal_opts hd_toy_lognormal_opts_default(void)
{
    return (hd_toy_lognormal_opts){.seed = 1, .mu = 0, .sigma = 1, .n_train = 1000, .cut = 12, .n_target = 1000000,
                                   .resamplings = 200, .gmm_resamplings = 50, .gan_resamplings = 10, .gmm_k = 3,
                                   .gan_steps = 7500, .n_check = 10000000};
}

int hd_toy_lognormal_check(const hd_toy_lognormal_opts *o)
{
    if (!o->out_dir) return hd_error(HD_EINVAL, "toy-lognormal: an output directory is needed");
    hd_lognormal_pair p = {o->mu, o->sigma, o->mu, o->sigma};
    int rc = hd_lognormal_pair_check(&p);
    if (rc != HD_OK) return rc;
    if (o->n_train < 10 || o->n_train > 6000)
        return hd_error(HD_EINVAL, "toy-lognormal: n-train %lld outside 10..6000 (the library holds n-train^2 sums)",
                        (long long)o->n_train);
    if (!(o->cut > exp(o->mu)))
        return hd_error(HD_EINVAL, "toy-lognormal: cut %g must be above the median e^mu = %g", o->cut, exp(o->mu));
    if (o->n_target < 1000 || o->n_target > 100000000)
        return hd_error(HD_EINVAL, "toy-lognormal: n-target %lld outside 1000..10^8", (long long)o->n_target);
    if (o->resamplings < 2 || o->resamplings > 100000)
        return hd_error(HD_EINVAL, "toy-lognormal: resamplings %d outside 2..100000", o->resamplings);
    if (o->gmm_resamplings < 0 || o->gmm_resamplings > o->resamplings || o->gan_resamplings < 0 ||
        o->gan_resamplings > o->resamplings || o->gmm_resamplings == 1 || o->gan_resamplings == 1)
        return hd_error(HD_EINVAL, "toy-lognormal: gmm- and gan-resamplings must be 0 or 2..resamplings (%d)",
                        o->resamplings);
    if (o->gmm_k < 1 || o->gmm_k > 64) return hd_error(HD_EINVAL, "toy-lognormal: gmm-k %d outside 1..64", o->gmm_k);
    if (o->gan_steps < 1 || o->gan_steps > 10000000)
        return hd_error(HD_EINVAL, "toy-lognormal: gan-steps %d outside 1..10^7", o->gan_steps);
    if (o->n_check < 1000 || o->n_check > 100000000)
        return hd_error(HD_EINVAL, "toy-lognormal: n-check %lld outside 1000..10^8", (long long)o->n_check);
    return HD_OK;
}

static void stage(const hd_toy_lognormal_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

static double draw(hd_rng *g, const hd_toy_lognormal_opts *o) { return exp(o->mu + o->sigma * hd_rng_normal(g)); }

/* Training sample r: n events (x1, x2); cut: each variable drawn below o->cut. */
static void training_sample(const hd_toy_lognormal_opts *o, int r, int cut, double *x)
{
    hd_rng g;
    hd_rng_init(&g, o->seed, cut ? STREAM_CUT : STREAM_TRAIN);
    g.counter = (uint64_t)r << 32;
    for (int64_t i = 0; i < 2 * o->n_train; i++) {
        double v;
        do v = draw(&g, o);
        while (cut && v >= o->cut);
        x[i] = v;
    }
}

/* Variance of one independent event's contribution to a statistic: q (1 - q) / f(x_q)^2
 * for a quantile, p (1 - p) for a tail fraction; its error from N events is sqrt(v / N). */
static void unit_variances(const hd_lognormal_pair *p, const double *truth, double *v)
{
    for (int i = 0; i < TOY_NQ; i++) {
        double f = hd_lognormal_sum_pdf(p, truth[i]);
        v[i] = toy_q[i] * (1 - toy_q[i]) / (f * f);
    }
    for (int i = TOY_NQ; i < TOY_NSTAT; i++) v[i] = truth[i] * (1 - truth[i]);
}

static int cross_check(const hd_toy_lognormal_opts *o, const toy_spec *sp, const double *truth, const double *unit,
                       double *max_pull)
{
    double *s = hd_malloc((size_t)o->n_check * sizeof(double)), st[TOY_NSTAT], hist[TOY_BINS];
    if (!s) return HD_ENOMEM;
    hd_rng g;
    hd_rng_init(&g, o->seed, STREAM_CHECK);
    for (int64_t i = 0; i < o->n_check; i++) s[i] = draw(&g, o) + draw(&g, o);
    toy_sample_stats(sp, o->n_check, s, st, hist);
    hd_free(s);
    *max_pull = 0;
    for (int i = 0; i < TOY_NSTAT; i++)
        *max_pull = fmax(*max_pull, fabs(st[i] - truth[i]) / sqrt(unit[i] / (double)o->n_check));
    return HD_OK;
}

typedef struct {
    const hd_toy_lognormal_opts *o;
    toy_spec sp;
    double truth[TOY_NSTAT], truth_hist[TOY_BINS], unit[TOY_NSTAT];
    int n_res[HD_TOY_ESTIMATORS];
    double *stats[HD_TOY_ESTIMATORS], *hist[HD_TOY_ESTIMATORS]; /* [n_res][TOY_NSTAT], [n_res][TOY_BINS] */
} study;

static int estimate_all(study *s)
{
    const hd_toy_lognormal_opts *o = s->o;
    int64_t n = o->n_train;
    double *x = hd_malloc((size_t)(2 * n) * sizeof(double)), *xc = hd_malloc((size_t)(2 * n) * sizeof(double));
    if (!x || !xc) {
        hd_free(x);
        hd_free(xc);
        return HD_ENOMEM;
    }
    int total = 0, done = 0, rc = HD_OK;
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++) total += s->n_res[e];
    for (int r = 0; rc == HD_OK && r < o->resamplings; r++) {
        training_sample(o, r, 0, x);
        training_sample(o, r, 1, xc);
        for (int e = 0; rc == HD_OK && e < HD_TOY_ESTIMATORS; e++) {
            if (r >= s->n_res[e]) continue;
            if (e == HD_TOY_WGAN && r == 0) stage(o, "training the WGAN-GPs");
            rc = toy_estimate(&s->sp, (hd_toy_estimator)e, n, e == HD_TOY_LIBRARY_CUT ? xc : x, r,
                              s->stats[e] + (size_t)r * TOY_NSTAT, s->hist[e] + (size_t)r * TOY_BINS);
            if (o->on_progress) o->on_progress(o->user, ++done, total);
        }
    }
    hd_free(x);
    hd_free(xc);
    return rc;
}

static void summarise(const study *s, hd_toy_lognormal_result *res)
{
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++) {
        study_summary sum[TOY_NSTAT];
        study_summarise(s->n_res[e], TOY_NSTAT, s->stats[e], s->truth, s->unit, sum);
        res->resamplings[e] = s->n_res[e];
        for (int i = 0; i < TOY_NSTAT; i++) {
            res->mean[e][i] = sum[i].mean;
            res->bias_rel[e][i] = sum[i].bias_rel;
            res->spread_rel[e][i] = sum[i].spread_rel;
            res->n_equiv[e][i] = sum[i].n_equiv;
        }
    }
}

/* ---- outputs --------------------------------------------------------------------------- */

static const char *const titles[HD_TOY_ESTIMATORS] = {
    "the training sample's own sums", "library of permutations, training sample cut at x < cut",
    "library of permutations", "fitted log-normal (exact)", "Gaussian mixture of ln x", "WGAN-GP"};

static int density_plot(const study *s, int e)
{
    char name[128], title[256];
    snprintf(name, sizeof name, "density_%s", hd_toy_estimator_name((hd_toy_estimator)e));
    snprintf(title, sizeof title, "x_1 + x_2: %s, %d training samples of %lld", titles[e], s->n_res[e],
             (long long)s->o->n_train);
    double x[TOY_BINS], w = 3 * s->o->cut / TOY_BINS;
    for (int b = 0; b < TOY_BINS; b++) x[b] = w * (b + 0.5);
    study_band band = {.title = title, .xlabel = "x_1 + x_2", .truth_title = "truth (exact)", .bins = TOY_BINS,
                       .x = x, .truth = s->truth_hist, .n_res = s->n_res[e], .hist = s->hist[e], .log_y = 1};
    return study_band_plot(s->o->out_dir, name, &band);
}

/* bias.csv and spread.csv against 1 - q, one column per estimator (spread
 * also: independent samples of n_target and of n_train events) */
static int quantile_plots(const study *s, const hd_toy_lognormal_result *res)
{
    const hd_toy_lognormal_opts *o = s->o;
    for (int which = 0; which < 2; which++) {
        const char *csv = which ? "spread.csv" : "bias.csv";
        hd_atomic_file af;
        int rc = study_open(o->out_dir, csv, &af);
        if (rc != HD_OK) return rc;
        fprintf(af.f, "one_minus_q");
        for (int e = 0; e < HD_TOY_ESTIMATORS; e++) fprintf(af.f, ",%s", hd_toy_estimator_name((hd_toy_estimator)e));
        fprintf(af.f, which ? ",independent_target,independent_train\n" : "\n");
        for (int i = 0; i < TOY_NQ; i++) {
            fprintf(af.f, "%.6g", 1 - toy_q[i]);
            for (int e = 0; e < HD_TOY_ESTIMATORS; e++)
                fprintf(af.f, ",%.6g", s->n_res[e] ? which ? res->spread_rel[e][i] : res->bias_rel[e][i] : NAN);
            if (which)
                fprintf(af.f, ",%.6g,%.6g", sqrt(s->unit[i] / (double)o->n_target) / s->truth[i],
                        sqrt(s->unit[i] / (double)o->n_train) / s->truth[i]);
            fprintf(af.f, "\n");
        }
        if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
        char stem[4096];
        snprintf(stem, sizeof stem, "%s/%s", o->out_dir, which ? "spread" : "bias");
        hd_line_plot p = {.csv = csv, .xlabel = "1 - q (quantile level q)", .x_col = 1, .log_x = 1,
                          .title = which ? "spread of the estimated quantile of x_1 + x_2 over training samples"
                                         : "bias of the estimated quantile of x_1 + x_2",
                          .ylabel = which ? "standard deviation / truth" : "(mean - truth) / truth",
                          .log_y = which, .n_series = 0};
        for (int e = 0; e < HD_TOY_ESTIMATORS; e++)
            if (s->n_res[e]) {
                p.y_cols[p.n_series] = e + 2;
                p.y_titles[p.n_series++] = hd_toy_estimator_name((hd_toy_estimator)e);
            }
        if (which) {
            p.y_cols[p.n_series] = HD_TOY_ESTIMATORS + 2;
            p.y_titles[p.n_series++] = "independent events, n-target";
            p.y_cols[p.n_series] = HD_TOY_ESTIMATORS + 3;
            p.y_titles[p.n_series++] = "independent events, n-train";
        }
        if ((rc = hd_plot_lines(stem, &p, NULL)) != HD_OK) return rc;
    }
    return HD_OK;
}

static int summary_csv(const study *s, const hd_toy_lognormal_result *res)
{
    hd_atomic_file af;
    int rc = study_open(s->o->out_dir, "summary.csv", &af);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "estimator,statistic,resamplings,truth,mean,bias_rel,spread_rel,n_equiv\n");
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++)
        for (int i = 0; s->n_res[e] && i < TOY_NSTAT; i++)
            fprintf(af.f, "%s,%s,%d,%.8g,%.8g,%.5g,%.5g,%.5g\n", hd_toy_estimator_name((hd_toy_estimator)e),
                    hd_toy_stat_name(i), s->n_res[e], s->truth[i], res->mean[e][i], res->bias_rel[e][i],
                    res->spread_rel[e][i], res->n_equiv[e][i]);
    return hd_atomic_commit(&af);
}

static int metrics_json(const study *s, const hd_toy_lognormal_result *res)
{
    const hd_toy_lognormal_opts *o = s->o;
    hd_atomic_file af;
    int rc = study_open(o->out_dir, "metrics.json", &af);
    if (rc != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "{\n  \"study\": \"toy-lognormal\",\n");
    hd_report_number(f, "mu", o->mu, 0);
    hd_report_number(f, "sigma", o->sigma, 0);
    hd_report_number(f, "n_train", (double)o->n_train, 0);
    hd_report_number(f, "cut", o->cut, 0);
    hd_report_number(f, "n_target", (double)o->n_target, 0);
    hd_report_number(f, "check_max_pull", res->check_max_pull, 0);
    hd_report_number(f, "seconds", res->seconds, 0);
    fprintf(f, "  \"thresholds\": [%g, %g, %g],\n  \"truth\": {\n", o->cut, 2 * o->cut, 3 * o->cut);
    for (int i = 0; i < TOY_NSTAT; i++) hd_report_number(f, hd_toy_stat_name(i), s->truth[i], i + 1 == TOY_NSTAT);
    fprintf(f, "  },\n  \"estimators\": {\n");
    int last = 0;
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++)
        if (s->n_res[e]) last = e;
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++) {
        if (!s->n_res[e]) continue;
        fprintf(f, "    \"%s\": {\n      \"resamplings\": %d,\n", hd_toy_estimator_name((hd_toy_estimator)e), s->n_res[e]);
        for (int i = 0; i < TOY_NSTAT; i++)
            study_json_summary(f, hd_toy_stat_name(i), res->bias_rel[e][i], res->spread_rel[e][i], res->n_equiv[e][i],
                               i + 1 == TOY_NSTAT);
        fprintf(f, "    }%s\n", e == last ? "" : ",");
    }
    fprintf(f, "  }\n}\n");
    return hd_atomic_commit(&af);
}

int hd_toy_lognormal_run(const hd_toy_lognormal_opts *o, hd_toy_lognormal_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_toy_lognormal_check(o);
    if (rc != HD_OK) return rc;
    double t0 = hd_now();
    study s = {.o = o, .sp = {.cut = o->cut, .n_target = o->n_target, .gmm_k = o->gmm_k, .gan_steps = o->gan_steps,
                              .seed = o->seed}};
    hd_lognormal_pair p = {o->mu, o->sigma, o->mu, o->sigma};
    stage(o, "the exact distribution of x1 + x2");
    toy_exact_stats(&s.sp, &p, s.truth, s.truth_hist);
    unit_variances(&p, s.truth, s.unit);
    memcpy(res->truth, s.truth, sizeof s.truth);
    stage(o, "cross-checking it against direct samples");
    if ((rc = cross_check(o, &s.sp, s.truth, s.unit, &res->check_max_pull)) != HD_OK) return rc;
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++)
        s.n_res[e] = e == HD_TOY_GMM ? o->gmm_resamplings : e == HD_TOY_WGAN ? o->gan_resamplings : o->resamplings;
    for (int e = 0; rc == HD_OK && e < HD_TOY_ESTIMATORS; e++) {
        s.stats[e] = hd_malloc((size_t)s.n_res[e] * TOY_NSTAT * sizeof(double) + 1);
        s.hist[e] = hd_malloc((size_t)s.n_res[e] * TOY_BINS * sizeof(double) + 1);
        if (!s.stats[e] || !s.hist[e]) rc = HD_ENOMEM;
    }
    if (rc == HD_OK) {
        stage(o, "estimating from each training sample");
        rc = estimate_all(&s);
    }
    if (rc == HD_OK) {
        summarise(&s, res);
        res->seconds = hd_now() - t0;
        stage(o, "writing tables and plots");
        rc = summary_csv(&s, res);
    }
    for (int e = 0; rc == HD_OK && e < HD_TOY_ESTIMATORS; e++)
        if (s.n_res[e]) rc = density_plot(&s, e);
    if (rc == HD_OK) rc = quantile_plots(&s, res);
    if (rc == HD_OK) rc = metrics_json(&s, res);
    for (int e = 0; e < HD_TOY_ESTIMATORS; e++) {
        hd_free(s.stats[e]);
        hd_free(s.hist[e]);
    }
    return rc;
}
