/* hadron study decompose: does building events from independently
 * simulated particles give more than its training sample?  Seed 001:
 * "random combinations of different components may drastically increase
 * variativity ... (NB intrinsic correlation)".  Each training sample is
 * used twice, as a per-particle library and as a library of whole events,
 * and both are judged against a truth from a much larger pool. */
#include "study_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NS HD_DECOMPOSE_STATS
#define BINS 60
#define CHUNK 4096
#define STREAM_DRAW (HD_STREAM_USER + 4)

static const double levels[4] = {0.01, 0.5, 0.99, 0.999};

hd_decompose_opts hd_decompose_opts_default(void)
{
    return (hd_decompose_opts){.seed = 1, .energy = 10000, .particles = 50, .n_train = 5000, .resamplings = 50,
                               .n_events = 100000, .n_pool = 500000};
}

const char *hd_decompose_stat_name(int i)
{
    static const char *const names[NS] = {"mean", "std", "q0.01", "q0.5", "q0.99", "q0.999"};
    return i >= 0 && i < NS ? names[i] : "?";
}

const char *hd_decompose_method_name(hd_decompose_method m)
{
    return m == HD_DECOMPOSE_PARTICLE ? "particle" : m == HD_DECOMPOSE_EVENT ? "event" : "?";
}

int hd_decompose_check(const hd_decompose_opts *o)
{
    if (!o->out_dir) return hd_error(HD_EINVAL, "decompose: an output directory is needed");
    if (!(o->energy >= HD_CALO_E_LIMIT_LO && o->energy <= HD_CALO_E_LIMIT_HI))
        return hd_error(HD_EINVAL, "decompose: energy %g MeV outside %g..%g", o->energy, HD_CALO_E_LIMIT_LO,
                        HD_CALO_E_LIMIT_HI);
    if (o->particles < 2 || o->particles > 10000)
        return hd_error(HD_EINVAL, "decompose: particles %d outside 2..10000", o->particles);
    if (o->n_train < 10 * (int64_t)o->particles || o->n_train > 100000000)
        return hd_error(HD_EINVAL, "decompose: n-train %lld must hold at least 10 events of %d particles",
                        (long long)o->n_train, o->particles);
    if (o->resamplings < 2 || o->resamplings > 100000)
        return hd_error(HD_EINVAL, "decompose: resamplings %d outside 2..100000", o->resamplings);
    if (o->n_events < 100 || o->n_events > 100000000)
        return hd_error(HD_EINVAL, "decompose: n-events %lld outside 100..10^8", (long long)o->n_events);
    if (o->n_pool < 10 * o->n_train || o->n_pool > 1000000000)
        return hd_error(HD_EINVAL, "decompose: n-pool %lld must be at least 10 n-train (%lld)", (long long)o->n_pool,
                        (long long)(10 * o->n_train));
    return HD_OK;
}

static void stage(const hd_decompose_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

/* Responses E_dep / E_inc of showers first .. first + n - 1. */
static int responses(const hd_decompose_opts *o, int64_t first, int64_t n, double *r)
{
    hd_calo_opts c = hd_calo_opts_default();
    c.seed = o->seed;
    c.e_min = c.e_max = o->energy;
    int64_t nv = hd_calo_layout_voxels(&c.layout);
    float *sh = hd_malloc((size_t)(CHUNK * nv) * sizeof(float));
    double *e = hd_malloc(CHUNK * sizeof(double));
    int rc = sh && e ? HD_OK : HD_ENOMEM;
    for (int64_t done = 0; rc == HD_OK && done < n; done += CHUNK) {
        int64_t k = n - done < CHUNK ? n - done : CHUNK;
        if ((rc = hd_calo_simulate(&c, first + done, k, sh, e, NULL, NULL)) != HD_OK) break;
        for (int64_t i = 0; i < k; i++) {
            double s = 0;
            for (int64_t v = 0; v < nv; v++) s += sh[i * nv + v];
            r[done + i] = s / e[i];
        }
    }
    hd_free(sh);
    hd_free(e);
    return rc;
}

/* Statistics and histogram (on [lo, hi)) of m event responses, sorted in place. */
static void event_stats(int64_t m, double *ev, double lo, double hi, double *st, double *hist)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < m; i++) s += ev[i];
    st[0] = s / (double)m;
    for (int64_t i = 0; i < m; i++) s2 += (ev[i] - st[0]) * (ev[i] - st[0]);
    st[1] = sqrt(s2 / (double)(m - 1));
    hd_sort_doubles(ev, m);
    for (int i = 0; i < 4; i++) st[2 + i] = hd_quantile_sorted(ev, m, levels[i]);
    double w = (hi - lo) / BINS;
    memset(hist, 0, BINS * sizeof *hist);
    for (int64_t i = 0; i < m; i++) {
        double b = (ev[i] - lo) / w;
        if (b >= 0 && b < BINS) hist[(int)b] += 1;
    }
    for (int b = 0; b < BINS; b++) hist[b] /= (double)m * w;
}

/* m events of p responses each, drawn with replacement from r[n] */
static void draw_events(const hd_decompose_opts *o, uint64_t stream_block, int64_t n, const double *r, int64_t m,
                        double *ev)
{
    hd_rng g;
    hd_rng_init(&g, o->seed, STREAM_DRAW);
    g.counter = stream_block << 40;
    for (int64_t i = 0; i < m; i++) {
        double s = 0;
        for (int j = 0; j < o->particles; j++) s += r[hd_rng_below(&g, (uint32_t)n)];
        ev[i] = s / o->particles;
    }
}

typedef struct {
    const hd_decompose_opts *o;
    double truth[NS], unit[NS], truth_hist[BINS], lo, hi;
    double *st[HD_DECOMPOSE_METHODS], *hist[HD_DECOMPOSE_METHODS]; /* [resamplings][NS], [resamplings][BINS] */
} study;

/* The truth from the pool: the mean and spread of R exactly (mean of p
 * independent responses), its quantiles and density from 4 n_events events
 * drawn from the pool; and the variance one event contributes to each
 * statistic's estimate. */
static int truth(study *s, double *pool)
{
    const hd_decompose_opts *o = s->o;
    int64_t np = o->n_pool, m = 4 * o->n_events;
    double mean = 0, m2 = 0, m4 = 0;
    for (int64_t i = 0; i < np; i++) mean += pool[i];
    mean /= (double)np;
    for (int64_t i = 0; i < np; i++) {
        double d = (pool[i] - mean) * (pool[i] - mean);
        m2 += d;
        m4 += d * d;
    }
    m2 /= (double)np;
    m4 /= (double)np;
    double *ev = hd_malloc((size_t)m * sizeof(double));
    if (!ev) return HD_ENOMEM;
    draw_events(o, 0, np, pool, m, ev);
    double sd = sqrt(m2 / o->particles);
    s->lo = mean - 6 * sd;
    s->hi = mean + 6 * sd;
    event_stats(m, ev, s->lo, s->hi, s->truth, s->truth_hist);
    s->truth[0] = mean;
    s->truth[1] = sd;
    /* kurtosis of R, a mean of p responses: 3 + (k_r - 3) / p; Var(s) ~ sigma^2 (k - 1) / (4 N) */
    double k = 3 + (m4 / (m2 * m2) - 3) / o->particles;
    s->unit[0] = sd * sd;
    s->unit[1] = sd * sd * (k - 1) / 4;
    for (int i = 0; i < 4; i++) { /* q (1 - q) / f(x_q)^2, f from the events' quantiles at q +- dq */
        double q = levels[i], dq = fmin(0.2 * fmin(q, 1 - q), 0.01);
        double f = 2 * dq / (hd_quantile_sorted(ev, m, q + dq) - hd_quantile_sorted(ev, m, q - dq));
        s->unit[2 + i] = q * (1 - q) / (f * f);
    }
    hd_free(ev);
    return HD_OK;
}

static int estimate(study *s, int r, double *train, double *ev)
{
    const hd_decompose_opts *o = s->o;
    int64_t n = o->n_train, ne = n / o->particles;
    int rc = responses(o, o->n_pool + (int64_t)r * n, n, train);
    if (rc != HD_OK) return rc;
    draw_events(o, 1 + (uint64_t)r, n, train, o->n_events, ev);
    event_stats(o->n_events, ev, s->lo, s->hi, s->st[0] + r * NS, s->hist[0] + r * BINS);
    for (int64_t i = 0; i < ne; i++) { /* the training sample's own events: consecutive showers */
        double sum = 0;
        for (int j = 0; j < o->particles; j++) sum += train[i * o->particles + j];
        ev[i] = sum / o->particles;
    }
    event_stats(ne, ev, s->lo, s->hi, s->st[1] + r * NS, s->hist[1] + r * BINS);
    return HD_OK;
}

static int write_outputs(const study *s, const hd_decompose_result *res)
{
    const hd_decompose_opts *o = s->o;
    hd_atomic_file af;
    int rc = study_open(o->out_dir, "summary.csv", &af);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "method,statistic,truth,bias_rel,spread_rel,n_equiv\n");
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++)
        for (int i = 0; i < NS; i++)
            fprintf(af.f, "%s,%s,%.8g,%.5g,%.5g,%.5g\n", hd_decompose_method_name((hd_decompose_method)m),
                    hd_decompose_stat_name(i), s->truth[i], res->bias_rel[m][i], res->spread_rel[m][i],
                    res->n_equiv[m][i]);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    double x[BINS], w = (s->hi - s->lo) / BINS;
    for (int b = 0; b < BINS; b++) x[b] = s->lo + w * (b + 0.5);
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
        char title[256], name[64];
        if (m)
            snprintf(title, sizeof title, "event response: the %lld whole training events (%d training samples)",
                     (long long)(o->n_train / o->particles), o->resamplings);
        else
            snprintf(title, sizeof title, "event response: events of %d independent library showers (%d training "
                     "samples)", o->particles, o->resamplings);
        snprintf(name, sizeof name, "density_%s", hd_decompose_method_name((hd_decompose_method)m));
        study_band b = {.title = title, .xlabel = "R = sum E_dep / sum E_inc", .truth_title = "truth (pool)",
                        .bins = BINS, .x = x, .truth = s->truth_hist, .n_res = o->resamplings, .hist = s->hist[m],
                        .log_y = 1};
        if ((rc = study_band_plot(o->out_dir, name, &b)) != HD_OK) return rc;
    }
    if ((rc = study_open(o->out_dir, "metrics.json", &af)) != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "{\n  \"study\": \"decompose\",\n");
    hd_report_number(f, "energy_mev", o->energy, 0);
    hd_report_number(f, "particles", o->particles, 0);
    hd_report_number(f, "n_train", (double)o->n_train, 0);
    hd_report_number(f, "resamplings", o->resamplings, 0);
    hd_report_number(f, "n_pool", (double)o->n_pool, 0);
    hd_report_number(f, "shared_showers", res->shared_showers, 0);
    hd_report_number(f, "seconds", res->seconds, 0);
    fprintf(f, "  \"truth\": {\n");
    for (int i = 0; i < NS; i++) hd_report_number(f, hd_decompose_stat_name(i), s->truth[i], i + 1 == NS);
    fprintf(f, "  },\n  \"methods\": {\n");
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
        fprintf(f, "    \"%s\": {\n", hd_decompose_method_name((hd_decompose_method)m));
        hd_report_number(f, "log10_distinct_events", res->log10_distinct[m], 0);
        for (int i = 0; i < NS; i++)
            study_json_summary(f, hd_decompose_stat_name(i), res->bias_rel[m][i], res->spread_rel[m][i],
                               res->n_equiv[m][i], i + 1 == NS);
        fprintf(f, "    }%s\n", m + 1 < HD_DECOMPOSE_METHODS ? "," : "");
    }
    fprintf(f, "  }\n}\n");
    return hd_atomic_commit(&af);
}

int hd_decompose_run(const hd_decompose_opts *o, hd_decompose_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_decompose_check(o);
    if (rc != HD_OK) return rc;
    double t0 = hd_now();
    study s = {.o = o};
    int R = o->resamplings;
    double *pool = hd_malloc((size_t)o->n_pool * sizeof(double));
    double *train = hd_malloc((size_t)o->n_train * sizeof(double)), *ev = hd_malloc((size_t)o->n_events * sizeof(double));
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
        s.st[m] = hd_malloc((size_t)R * NS * sizeof(double));
        s.hist[m] = hd_malloc((size_t)R * BINS * sizeof(double));
        if (!s.st[m] || !s.hist[m]) rc = HD_ENOMEM;
    }
    if (!pool || !train || !ev) rc = HD_ENOMEM;
    if (rc == HD_OK) {
        stage(o, "simulating the pool behind the truth");
        rc = responses(o, 0, o->n_pool, pool);
    }
    if (rc == HD_OK) rc = truth(&s, pool);
    if (rc == HD_OK) stage(o, "simulating training samples; both fast simulations from each");
    for (int r = 0; rc == HD_OK && r < R; r++) {
        rc = estimate(&s, r, train, ev);
        if (o->on_progress) o->on_progress(o->user, r + 1, R);
    }
    if (rc == HD_OK) {
        memcpy(res->truth, s.truth, sizeof s.truth);
        for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
            study_summary sum[NS];
            study_summarise(R, NS, s.st[m], s.truth, s.unit, sum);
            for (int i = 0; i < NS; i++) {
                res->bias_rel[m][i] = sum[i].bias_rel;
                res->spread_rel[m][i] = sum[i].spread_rel;
                res->n_equiv[m][i] = sum[i].n_equiv;
            }
        }
        res->log10_distinct[0] = o->particles * log10((double)o->n_train);
        res->log10_distinct[1] = log10((double)(o->n_train / o->particles));
        res->shared_showers = (double)o->particles * o->particles / (double)o->n_train;
        res->seconds = hd_now() - t0;
        rc = write_outputs(&s, res);
    }
    hd_free(pool);
    hd_free(train);
    hd_free(ev);
    for (int m = 0; m < HD_DECOMPOSE_METHODS; m++) {
        hd_free(s.st[m]);
        hd_free(s.hist[m]);
    }
    return rc;
}
