/* Classifier two-sample test (metrics.h): can a network tell sample a from
 * sample b?  As CaloChallenge's evaluation: an MLP trained on a split of
 * both, its best epoch picked on a second split, its output calibrated by
 * isotonic regression on that split, and AUC and JSD = (ln 2 - BCE) / ln 2
 * reported on a third, with the split seeded so a result can be repeated. */
#include "hadron/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_SPLIT (HD_STREAM_USER + 40)
#define EVAL_CHUNK 4096

hd_c2st_opts hd_c2st_opts_default(void)
{
    hd_c2st_opts o = {.model = {.n_hidden = 2, .hidden = {128, 128}, .act = HD_ACT_LEAKY_RELU},
                      .optim = hd_optim_opts_default(HD_ADAM), .epochs = 30, .batch = 256, .seed = 1,
                      .train_frac = 0.6, .test_frac = 0.2};
    return o;
}

/* Rows of one split: standardised features and labels (0: a, 1: b). */
typedef struct {
    int64_t n, d;
    float *x, *y;
} split;

static void split_free(split *s)
{
    hd_free(s->x);
    hd_free(s->y);
}

static int split_alloc(split *s, int64_t n, int64_t d)
{
    s->n = 0;
    s->d = d;
    s->x = hd_malloc((size_t)(n ? n : 1) * (size_t)d * sizeof(float));
    s->y = hd_malloc((size_t)(n ? n : 1) * sizeof(float));
    return s->x && s->y ? HD_OK : HD_ENOMEM;
}

/* Each sample is cut into the three splits in a seeded random order, so
 * every split holds both in their proportions. */
static int make_splits(const hd_c2st_opts *o, const float *const src[2], const int64_t n[2], int64_t d, split sp[3])
{
    int rc = HD_OK;
    for (int k = 0; k < 3 && rc == HD_OK; k++) rc = split_alloc(&sp[k], n[0] + n[1], d);
    hd_rng r;
    hd_rng_init(&r, o->seed, STREAM_SPLIT);
    for (int c = 0; c < 2 && rc == HD_OK; c++) {
        int64_t *order = hd_malloc((size_t)n[c] * sizeof *order);
        if (!order) return HD_ENOMEM;
        hd_rng_permutation(&r, n[c], order);
        int64_t n_train = (int64_t)(o->train_frac * (double)n[c]), n_test = (int64_t)(o->test_frac * (double)n[c]);
        for (int64_t i = 0; i < n[c]; i++) {
            split *s = &sp[i < n_train ? 0 : i < n_train + n_test ? 1 : 2];
            memcpy(s->x + s->n * d, src[c] + order[i] * d, (size_t)d * sizeof(float));
            s->y[s->n++] = (float)c;
        }
        hd_free(order);
    }
    return rc;
}

/* Standard scaling fitted on the training split, applied to all three. */
static void standardise(split sp[3])
{
    int64_t d = sp[0].d;
    for (int64_t j = 0; j < d; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < sp[0].n; i++) s += sp[0].x[i * d + j];
        double m = s / (double)sp[0].n;
        for (int64_t i = 0; i < sp[0].n; i++) s2 += (sp[0].x[i * d + j] - m) * (sp[0].x[i * d + j] - m);
        double sd = sqrt(s2 / (double)sp[0].n);
        float inv = sd > 0 ? (float)(1.0 / sd) : 1.0f;
        for (int k = 0; k < 3; k++)
            for (int64_t i = 0; i < sp[k].n; i++) sp[k].x[i * d + j] = (float)((sp[k].x[i * d + j] - m) * inv);
    }
}

typedef struct {
    hd_graph *g;
    hd_node *x, *y, *logit, *loss;
    const split *test;
} net;

/* The logits of a split's rows, in evaluation mode, chunk by chunk. */
static int logits(net *m, const split *s, double *out)
{
    int rc = HD_OK;
    hd_graph_set_training(m->g, 0);
    for (int64_t first = 0; rc == HD_OK && first < s->n; first += EVAL_CHUNK) {
        int64_t rows = s->n - first < EVAL_CHUNK ? s->n - first : EVAL_CHUNK;
        if (rows != hd_graph_batch(m->g) && (rc = hd_graph_set_batch(m->g, rows))) break;
        memcpy(hd_node_value(m->x)->data, s->x + first * s->d, (size_t)(rows * s->d) * sizeof(float));
        if ((rc = hd_graph_forward(m->g, m->logit))) break;
        const float *z = hd_node_value(m->logit)->data;
        for (int64_t i = 0; i < rows; i++) out[first + i] = z[i];
    }
    hd_graph_set_training(m->g, 1);
    return rc;
}

static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* The test split's BCE: the metric that picks the best epoch. */
static int test_bce(void *user, const hd_train_epoch *e, double *values)
{
    (void)e;
    net *m = user;
    double *z = hd_malloc((size_t)m->test->n * sizeof *z);
    if (!z) return HD_ENOMEM;
    int rc = logits(m, m->test, z);
    double s = 0;
    for (int64_t i = 0; i < m->test->n; i++) s += softplus(z[i]) - m->test->y[i] * z[i];
    values[0] = s / (double)m->test->n;
    hd_free(z);
    return rc;
}

static int build(const hd_c2st_opts *o, int64_t d, net *m)
{
    hd_mlp_spec spec = o->model;
    spec.n_in = d;
    spec.n_out = 1;
    spec.out_act = HD_ACT_NONE;
    if (!(m->g = hd_graph_new(o->seed))) return HD_ENOMEM;
    m->x = hd_input(m->g, "x", 2, (int64_t[]){HD_BATCH, d});
    m->y = hd_input(m->g, "y", 2, (int64_t[]){HD_BATCH, 1});
    m->logit = hd_mlp(m->g, &spec, "c2st", m->x);
    m->loss = hd_bce_logits_loss(m->g, m->logit, m->y);
    return m->loss ? hd_graph_compile(m->g) : HD_EINVAL;
}

static int train(const hd_c2st_opts *o, net *m, const split sp[3], hd_c2st_result *r)
{
    m->test = &sp[1];
    hd_train_opts t = hd_train_opts_default();
    t.g = m->g;
    t.loss = m->loss;
    t.n_columns = 2;
    t.inputs[0] = m->x;
    t.inputs[1] = m->y;
    t.columns[0] = sp[0].x;
    t.columns[1] = sp[0].y;
    t.n_rows = sp[0].n;
    t.batch = o->batch;
    t.seed = o->seed;
    t.optim = o->optim;
    t.epochs = o->epochs;
    t.n_metrics = 1;
    t.metric_names[0] = "test_bce";
    t.metrics = test_bce;
    t.monitor = 0;
    t.keep_best = 1;
    t.user = m;
    hd_train_result tr;
    int rc = hd_train(&t, &tr);
    r->best_epoch = tr.best_epoch;
    return rc;
}

/* ---- AUC, isotonic calibration, JSD ----------------------------------------------- */

typedef struct { double s; float y; } scored;

static int cmp_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* Mann-Whitney AUC of scores s (higher: more like b) with ties shared, and
 * its Hanley-McNeil standard error. */
static void auc_of(scored *v, int64_t n, double *auc, double *err)
{
    qsort(v, (size_t)n, sizeof *v, cmp_score);
    double rank_sum = 0, n1 = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double mid = 0.5 * (double)(i + 1 + j); /* the mean rank of the tie group */
        for (int64_t k = i; k < j; k++)
            if (v[k].y > 0.5f) rank_sum += mid, n1++;
        i = j;
    }
    double n0 = (double)n - n1, a = (rank_sum - n1 * (n1 + 1) / 2) / (n0 * n1);
    double q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
    double var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n0 * n1);
    *auc = a;
    *err = sqrt(var > 0 ? var : 0);
}

/* Pool-adjacent-violators on (score, label) sorted by score: the
 * non-decreasing step function of P(b | score) that fits the labels best;
 * knots[i] holds the block's highest score, level[i] its probability. */
static int64_t isotonic(const scored *v, int64_t n, double *knot, double *level, double *weight)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        knot[m] = v[i].s;
        level[m] = v[i].y;
        weight[m] = 1;
        m++;
        while (m > 1 && level[m - 2] >= level[m - 1]) {
            double w = weight[m - 2] + weight[m - 1];
            level[m - 2] = (level[m - 2] * weight[m - 2] + level[m - 1] * weight[m - 1]) / w;
            weight[m - 2] = w;
            knot[m - 2] = knot[m - 1];
            m--;
        }
    }
    return m;
}

/* The calibrated probability of score s: the level of the first block whose
 * highest score reaches s (the last block past the end), with one pseudo-
 * count of each label (k + 1) / (w + 2): a block of only a's or only b's on
 * the test part does not make a certainty, whose log on one validation row
 * of the other kind would swamp the JSD. */
static double calibrated(const double *knot, const double *level, const double *weight, int64_t m, double s)
{
    int64_t lo = 0, hi = m - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (knot[mid] >= s) hi = mid;
        else lo = mid + 1;
    }
    return (level[lo] * weight[lo] + 1) / (weight[lo] + 2);
}

static int judge(net *m, const split sp[3], hd_c2st_result *r)
{
    const split *te = &sp[1], *va = &sp[2];
    int64_t n = te->n > va->n ? te->n : va->n;
    double *z = hd_malloc((size_t)n * sizeof *z), *knot = hd_malloc((size_t)te->n * sizeof *knot),
           *level = hd_malloc((size_t)te->n * sizeof *level), *weight = hd_malloc((size_t)te->n * sizeof *weight);
    scored *v = hd_malloc((size_t)n * sizeof *v);
    int rc = z && knot && level && weight && v ? HD_OK : HD_ENOMEM;
    int64_t blocks = 0;
    if (rc == HD_OK && (rc = logits(m, te, z)) == HD_OK) {
        for (int64_t i = 0; i < te->n; i++) v[i] = (scored){z[i], te->y[i]};
        qsort(v, (size_t)te->n, sizeof *v, cmp_score);
        blocks = isotonic(v, te->n, knot, level, weight);
    }
    if (rc == HD_OK && (rc = logits(m, va, z)) == HD_OK) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < va->n; i++) {
            double p = calibrated(knot, level, weight, blocks, z[i]);
            double l = va->y[i] > 0.5f ? -log(p) : -log(1 - p);
            s += l;
            s2 += l * l;
            v[i] = (scored){z[i], va->y[i]};
        }
        double mean = s / (double)va->n, sd = sqrt(fmax(s2 / (double)va->n - mean * mean, 0));
        r->jsd = (log(2.0) - mean) / log(2.0);
        r->jsd_err = sd / sqrt((double)va->n) / log(2.0);
        auc_of(v, va->n, &r->auc, &r->auc_err);
        r->n_val = va->n;
    }
    hd_free(z);
    hd_free(knot);
    hd_free(level);
    hd_free(weight);
    hd_free(v);
    return rc;
}

int hd_c2st_check(const hd_c2st_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "classifier test: NULL options");
    if (o->epochs < 1 || o->batch < 1)
        return hd_error(HD_EINVAL, "classifier test: %d epochs, batch %lld: both must be positive", o->epochs,
                        (long long)o->batch);
    if (!(o->train_frac > 0) || !(o->test_frac > 0) || !(o->train_frac + o->test_frac < 1))
        return hd_error(HD_EINVAL, "classifier test: fractions %g (train) and %g (test) must be positive and leave "
                        "rows to validate", o->train_frac, o->test_frac);
    return hd_optim_check(&o->optim);
}

int hd_c2st(const hd_c2st_opts *o, int64_t n_a, const float *a, int64_t n_b, const float *b, int64_t d,
            hd_c2st_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = hd_c2st_check(o);
    if (rc != HD_OK) return rc;
    if (!a || !b || d < 1) return hd_error(HD_EINVAL, "classifier test: no samples or no features");
    const int64_t n[2] = {n_a, n_b};
    for (int c = 0; c < 2; c++)
        if ((double)n[c] * fmin(o->test_frac, 1 - o->train_frac - o->test_frac) < 10)
            return hd_error(HD_EINVAL, "classifier test: sample %c has %lld rows, too few to split (test and "
                            "validation need at least 10 of each)", "ab"[c], (long long)n[c]);
    for (int c = 0; c < 2; c++) {
        const float *x = c ? b : a;
        for (int64_t i = 0; i < n[c] * d; i++)
            if (!isfinite(x[i]))
                return hd_error(HD_EINVAL, "classifier test: sample %c row %lld column %lld is not finite", "ab"[c],
                                (long long)(i / d), (long long)(i % d));
    }
    split sp[3] = {{0}, {0}, {0}};
    net m = {0};
    if ((rc = make_splits(o, (const float *const[]){a, b}, n, d, sp)) == HD_OK) {
        standardise(sp);
        if ((rc = build(o, d, &m)) == HD_OK && (rc = train(o, &m, sp, r)) == HD_OK) rc = judge(&m, sp, r);
    }
    hd_graph_free(m.g);
    for (int k = 0; k < 3; k++) split_free(&sp[k]);
    return rc;
}
