/* The bnn workflow: a Bayesian network regresses squared amplitudes of
 * 2 -> 3 events and says how sure it is (seed 004). */
#include "bnn_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_CHUNK 2048
/* Steps of the test-set draws, apart from training's.  Random ops address
 * their stream by the low 32 bits of the step (graph.h): 1 << 40 wrapped to
 * training's first steps. */
#define SAMPLE_STEP0 ((uint64_t)1 << 31)

hd_bnn_opts hd_bnn_opts_default(void)
{
    hd_bnn_opts o = {.prior_std = 1.0f, .optim = hd_optim_opts_default(HD_ADAM), .sched = hd_schedule_exponential(1e-4f),
                     .batch = 64, .epochs = 200, .samples = 50, .seed = 1, .checkpoint_every = 10};
    o.model = (hd_mlp_spec){.n_in = HD_BNN_FEATURES, .n_out = 2, .n_hidden = 2, .hidden = {20, 20},
                            .act = HD_ACT_RELU};
    return o;
}

typedef struct {
    hd_graph *g;
    hd_node *x, *y, *mean, *logvar, *nll, *kl, *loss;
    const hd_bnn_split *val;  /* for the per-epoch losses */
    hd_bnn_losses train;      /* running sums over the epoch's batches */
    int64_t batches, seen;
    hd_bnn_losses last_train, last_val; /* the latest epoch's means */
    double *seconds;          /* of each epoch's training pass */
    const hd_bnn_opts *o;
} net;

static int build_net(const hd_bnn_opts *o, const hd_mlp_spec *spec, int64_t n_train, net *m)
{
    m->g = hd_graph_new(o->seed);
    if (!m->g) return HD_ENOMEM;
    m->x = hd_input(m->g, "x", 2, (int64_t[]){HD_BATCH, HD_BNN_FEATURES});
    m->y = hd_input(m->g, "y", 2, (int64_t[]){HD_BATCH, 1});
    hd_node *kl_sum, *out = hd_bayes_mlp(m->g, spec, "bnn", o->prior_std, m->x, &kl_sum);
    if (!out) return HD_EINVAL;
    m->mean = hd_slice(m->g, out, 1, 0, 1);
    m->logvar = hd_slice(m->g, out, 1, 1, 1);
    m->nll = hd_gaussian_nll_loss(m->g, m->mean, m->logvar, m->y);
    m->kl = hd_scale(m->g, kl_sum, (float)(1.0 / (double)n_train));
    m->loss = hd_add(m->g, m->nll, m->kl);
    int rc;
    if (!m->loss) return HD_EINVAL;
    if ((rc = hd_graph_compile(m->g))) return rc;
    return o->init_path && !o->resume ? hd_checkpoint_load(m->g, o->init_path, HD_ALL) : HD_OK;
}

/* Squared error of the mean output over the rows now in the graph. */
static double batch_sse(net *m, int64_t rows)
{
    const float *mu = hd_node_value(m->mean)->data, *y = hd_node_value(m->y)->data;
    double s = 0;
    for (int64_t i = 0; i < rows; i++) s += ((double)mu[i] - y[i]) * ((double)mu[i] - y[i]);
    return s;
}

/* After each training step: the running sums of the notebook's epoch means. */
static void add_batch(void *user, int64_t index, int64_t rows)
{
    net *m = user;
    if (index == 0) {
        memset(&m->train, 0, sizeof m->train);
        m->batches = m->seen = 0;
    }
    m->train.loss += hd_node_scalar(m->loss);
    m->train.nll += hd_node_scalar(m->nll);
    m->train.kl += hd_node_scalar(m->kl);
    m->train.mse += batch_sse(m, rows);
    m->seen += rows;
    m->batches++;
}

/* Runs the rows of s through the network in evaluation mode at the current
 * step (one sampled network), chunk by chunk; visit sees each chunk. */
static int for_chunks(net *m, const hd_bnn_split *s, hd_node *out,
                      void (*visit)(void *ctx, net *m, int64_t first, int64_t rows), void *ctx)
{
    int rc = HD_OK;
    hd_graph_set_training(m->g, 0);
    for (int64_t first = 0; rc == HD_OK && first < s->n; first += EVAL_CHUNK) {
        int64_t rows = s->n - first < EVAL_CHUNK ? s->n - first : EVAL_CHUNK;
        if (rows != hd_graph_batch(m->g) && (rc = hd_graph_set_batch(m->g, rows))) break;
        memcpy(hd_node_value(m->x)->data, s->x + first * HD_BNN_FEATURES, (size_t)rows * HD_BNN_FEATURES * sizeof(float));
        memcpy(hd_node_value(m->y)->data, s->y + first, (size_t)rows * sizeof(float));
        if ((rc = hd_graph_forward(m->g, out))) break;
        visit(ctx, m, first, rows);
    }
    hd_graph_set_training(m->g, 1);
    return rc;
}

static void add_losses(void *ctx, net *m, int64_t first, int64_t rows)
{
    (void)first;
    hd_bnn_losses *sum = ctx;
    sum->nll += hd_node_scalar(m->nll) * (double)rows;
    sum->kl = hd_node_scalar(m->kl);
    sum->mse += batch_sse(m, rows);
}

static int eval_losses(net *m, const hd_bnn_split *s, hd_bnn_losses *out)
{
    memset(out, 0, sizeof *out);
    int rc = for_chunks(m, s, m->loss, add_losses, out);
    out->nll /= (double)s->n;
    out->mse /= (double)s->n;
    out->loss = out->nll + out->kl;
    return rc;
}

static void add_draw(void *ctx, net *m, int64_t first, int64_t rows)
{
    hd_bnn_prediction *p = ctx;
    const float *mu = hd_node_value(m->mean)->data, *lv = hd_node_value(m->logvar)->data;
    for (int64_t i = 0; i < rows; i++) {
        p->mean[first + i] += mu[i];
        p->epistemic[first + i] += (double)mu[i] * mu[i];
        p->aleatoric[first + i] += exp((double)lv[i]);
    }
}

/* K sampled networks, each over the whole split: the predictive moments. */
static int predict(net *m, const hd_bnn_split *s, int k, hd_bnn_prediction *p)
{
    size_t bytes = (size_t)s->n * sizeof(double);
    p->mean = hd_malloc(bytes);
    p->aleatoric = hd_malloc(bytes);
    p->epistemic = hd_malloc(bytes);
    if (!p->mean || !p->aleatoric || !p->epistemic) return HD_ENOMEM;
    memset(p->mean, 0, bytes);
    memset(p->aleatoric, 0, bytes);
    memset(p->epistemic, 0, bytes);
    uint64_t step = hd_graph_step(m->g);
    int rc = HD_OK;
    for (int d = 0; rc == HD_OK && d < k; d++) {
        hd_graph_set_step(m->g, SAMPLE_STEP0 + (uint64_t)d);
        rc = for_chunks(m, s, m->nll, add_draw, p); /* nll needs both outputs */
    }
    hd_graph_set_step(m->g, step);
    return rc == HD_OK ? hd_bnn_decompose(p, s->n, k) : rc;
}

static int judge(const hd_bnn_split *s, const hd_bnn_transform *t, const hd_bnn_prediction *p, hd_bnn_result *r)
{
    size_t bytes = (size_t)s->n * sizeof(double);
    double *rel = hd_malloc(bytes), *al = hd_malloc(bytes), *ep = hd_malloc(bytes), *tot = hd_malloc(bytes);
    int rc = rel && al && ep && tot ? HD_OK : HD_ENOMEM;
    double mse = 0, pull = 0, pull2 = 0, in1 = 0, in2 = 0;
    for (int64_t i = 0; rc == HD_OK && i < s->n; i++) {
        double d = p->mean[i] - s->y[i], log_pred = p->mean[i] * t->y_std + t->y_mean, z = -d / sqrt(p->total[i]);
        mse += d * d;
        pull += z;
        pull2 += z * z;
        in1 += fabs(z) < 1;
        in2 += fabs(z) < 2;
        rel[i] = fabs(exp(log_pred - s->log_amp[i]) - 1);
        al[i] = sqrt(p->aleatoric[i]) * t->y_std;
        ep[i] = sqrt(p->epistemic[i]) * t->y_std;
        tot[i] = sqrt(p->total[i]) * t->y_std;
    }
    if (rc == HD_OK) {
        double n = (double)s->n;
        r->test_mse = mse / n;
        r->pull_mean = pull / n;
        r->pull_std = sqrt(fmax(pull2 / n - r->pull_mean * r->pull_mean, 0));
        r->coverage1 = in1 / n;
        r->coverage2 = in2 / n;
        r->rel_err_median = hd_quantile(rel, s->n, 0.5);
        r->rel_err_p90 = hd_quantile(rel, s->n, 0.9);
        r->sigma_aleatoric = hd_quantile(al, s->n, 0.5);
        r->sigma_epistemic = hd_quantile(ep, s->n, 0.5);
        r->sigma_total = hd_quantile(tot, s->n, 0.5);
    }
    hd_free(rel);
    hd_free(al);
    hd_free(ep);
    hd_free(tot);
    return rc;
}

static int save_model(const hd_bnn_opts *o, const hd_mlp_spec *spec, const hd_bnn_transform *t, net *m)
{
    char path[4096], prior[32], scale[32], mean[32], std[32];
    snprintf(path, sizeof path, "%s/model.safetensors", o->out_dir);
    snprintf(prior, sizeof prior, "%.9g", (double)o->prior_std);
    snprintf(scale, sizeof scale, "%.17g", t->pt_scale);
    snprintf(mean, sizeof mean, "%.17g", t->y_mean);
    snprintf(std, sizeof std, "%.17g", t->y_std);
    char *arch = hd_mlp_spec_to_json(spec);
    if (!arch) return HD_ENOMEM;
    hd_meta meta[] = {{"model", "bayes_mlp"},
                      {"mlp", arch},
                      {"prefix", "bnn"},
                      {"prior_std", prior},
                      {"inputs", "momenta (E,px,py,pz) of 5 particles, flattened, divided by pt_scale"},
                      {"pt_scale", scale},
                      {"outputs", "mean, log-variance of (log amplitude - target_mean) / target_std"},
                      {"target_mean", mean},
                      {"target_std", std},
                      {"workflow", "bnn"}};
    int rc = hd_checkpoint_save(m->g, path, HD_ALL, (int)(sizeof meta / sizeof meta[0]), meta);
    hd_free(arch);
    return rc;
}

static int write_metrics(const hd_bnn_opts *o, const hd_bnn_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", o->out_dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "{\n");
    hd_report_number(af.f, "test_mse", r->test_mse, 0);
    hd_report_number(af.f, "rel_err_median", r->rel_err_median, 0);
    hd_report_number(af.f, "rel_err_p90", r->rel_err_p90, 0);
    hd_report_number(af.f, "pull_mean", r->pull_mean, 0);
    hd_report_number(af.f, "pull_std", r->pull_std, 0);
    hd_report_number(af.f, "sigma_aleatoric_median", r->sigma_aleatoric, 0);
    hd_report_number(af.f, "sigma_epistemic_median", r->sigma_epistemic, 0);
    hd_report_number(af.f, "sigma_total_median", r->sigma_total, 0);
    hd_report_number(af.f, "coverage_1sigma", r->coverage1, 0);
    hd_report_number(af.f, "coverage_2sigma", r->coverage2, 0);
    const hd_bnn_calibration *c = &r->calibration;
    fprintf(af.f, "  \"calibration\": {\"applied\": %s, ", c->applied ? "true" : "false");
    fprintf(af.f, "\"offset\": %.6g, \"offset_err\": %.3g, \"scale\": %.6g, \"scale_err\": %.3g, ", c->offset,
            c->offset_err, c->scale, c->scale_err);
    fprintf(af.f, "\"val_pull_mean\": %.6g, \"val_pull_std\": %.6g},\n", c->val_pull_mean, c->val_pull_std);
    hd_report_number(af.f, "samples", o->samples, 0);
    hd_report_number(af.f, "epochs", r->epochs, 0);
    hd_report_number(af.f, "n_train", (double)r->n_train, 0);
    hd_report_number(af.f, "n_val", (double)r->n_val, 0);
    hd_report_number(af.f, "n_test", (double)r->n_test, 0);
    hd_report_number(af.f, "seconds_per_epoch", r->seconds_per_epoch, 1);
    fprintf(af.f, "}\n");
    return hd_atomic_commit(&af);
}

/* The epoch's metrics: the running means of its batches, then the validation losses. */
static int epoch_losses(void *user, const hd_train_epoch *e, double *values)
{
    net *m = user;
    hd_bnn_losses t = m->train, v;
    double sums[6] = {t.loss, t.nll, t.kl, t.mse, (double)m->seen, (double)m->batches}; /* over the ranks */
    int rc = hd_dist_size() > 1 ? hd_dist_sum_double(sums, 6) : HD_OK;
    if (rc != HD_OK) return rc;
    t = (hd_bnn_losses){.loss = sums[0], .nll = sums[1], .kl = sums[2], .mse = sums[3]};
    m->seen = (int64_t)sums[4];
    m->batches = (int64_t)sums[5];
    t.loss /= (double)m->batches;
    t.nll /= (double)m->batches;
    t.kl /= (double)m->batches;
    t.mse /= (double)m->seen;
    rc = eval_losses(m, m->val, &v);
    const double all[8] = {t.loss, t.nll, t.kl, t.mse, v.loss, v.nll, v.kl, v.mse};
    memcpy(values, all, sizeof all);
    m->last_train = t;
    m->last_val = v;
    m->seconds[e->epoch - 1] = e->seconds;
    return rc;
}

static void report_epoch(void *user, const hd_train_epoch *e)
{
    const net *m = user;
    const double *v = e->metrics;
    hd_bnn_losses t = {v[0], v[1], v[2], v[3]}, val = {v[4], v[5], v[6], v[7]};
    if (m->o->on_epoch) m->o->on_epoch(m->o->user, e->epoch, &t, &val);
}

static int fit(const hd_bnn_opts *o, const hd_mlp_spec *spec, net *m, const hd_bnn_split *trn,
               const hd_bnn_split *val, hd_bnn_result *r)
{
    char history[4096], checkpoint[4096], prior[32], layers[512];
    m->seconds = hd_malloc((size_t)o->epochs * sizeof(double));
    if (!m->seconds) return HD_ENOMEM;
    hd_mlp_spec_layers_text(spec, layers, sizeof layers);
    snprintf(history, sizeof history, "%s/history.csv", o->out_dir);
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", o->out_dir);
    hd_checkpoint_float_text(prior, sizeof prior, o->prior_std);
    hd_meta meta[] = {{"workflow", "bnn"}, {"layers", layers}, {"activation", hd_activation_name(spec->act)},
                      {"prior", prior}};
    static const char *names[8] = {"train_loss", "train_nll", "train_kl", "train_mse",
                                   "val_loss",   "val_nll",   "val_kl",   "val_mse"};
    m->val = val;
    m->o = o;
    hd_train_opts t = hd_train_opts_default();
    t.g = m->g;
    t.loss = m->loss;
    t.n_columns = 2;
    t.inputs[0] = m->x;
    t.inputs[1] = m->y;
    t.columns[0] = trn->x;
    t.columns[1] = trn->y;
    t.n_rows = trn->n;
    t.batch = o->batch;
    t.seed = o->seed;
    t.optim = o->optim;
    t.sched = o->sched;
    t.epochs = o->epochs;
    t.n_metrics = 8;
    memcpy(t.metric_names, names, sizeof names);
    t.metrics = epoch_losses;
    t.monitor = 4;
    t.on_batch = add_batch;
    t.on_epoch = report_epoch;
    t.user = m;
    t.history = history;
    t.checkpoint = checkpoint;
    t.checkpoint_every = o->checkpoint_every;
    t.resume = o->resume;
    t.n_meta = (int)(sizeof meta / sizeof meta[0]);
    t.meta = meta;
    t.data_parallel = 1;
    hd_train_result tr;
    int rc = hd_train(&t, &tr);
    if (rc != HD_OK) return rc;
    r->epochs = tr.epochs;
    r->train = m->last_train;
    r->val = m->last_val;
    if (tr.epochs > tr.resumed_from) /* the epochs this run trained */
        r->seconds_per_epoch = hd_quantile(m->seconds + tr.resumed_from, tr.epochs - tr.resumed_from, 0.5);
    return HD_OK;
}

int hd_bnn_check(const hd_bnn_opts *o)
{
    if (!o->data_dir || !o->out_dir) return hd_error(HD_EINVAL, "bnn: a data directory and an output directory are needed");
    if (o->epochs < 1 || o->batch < 1 || o->samples < 2 || !(o->prior_std > 0))
        return hd_error(HD_EINVAL, "bnn: epochs, batch and prior width must be positive, samples >= 2");
    int rc = hd_optim_check(&o->optim);
    return rc != HD_OK ? rc : hd_schedule_check(&o->sched);
}

int hd_bnn_run(const hd_bnn_opts *o, hd_bnn_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = hd_bnn_check(o);
    if (rc != HD_OK) return rc;
    hd_bnn_split trn = {0}, val = {0}, tst = {0};
    hd_bnn_prediction pred = {0}, pval = {0};
    net m = {0};
    hd_mlp_spec spec = o->model;
    spec.n_in = HD_BNN_FEATURES;
    spec.n_out = 2;
    spec.out_act = HD_ACT_NONE;
    if ((rc = hd_bnn_read_split(o->data_dir, "trn", &trn)) == HD_OK &&
        (rc = hd_bnn_read_split(o->data_dir, "val", &val)) == HD_OK &&
        (rc = hd_bnn_read_split(o->data_dir, "tst", &tst)) == HD_OK) {
        hd_bnn_transform t = hd_bnn_fit_transform(&trn);
        hd_bnn_apply_transform(&t, &trn);
        hd_bnn_apply_transform(&t, &val);
        hd_bnn_apply_transform(&t, &tst);
        r->n_train = trn.n;
        r->n_val = val.n;
        r->n_test = tst.n;
        if ((rc = build_net(o, &spec, trn.n, &m)) == HD_OK && (rc = fit(o, &spec, &m, &trn, &val, r)) == HD_OK &&
            hd_dist_rank() == 0 && /* rank 0 alone saves, predicts and writes */
            (rc = save_model(o, &spec, &t, &m)) == HD_OK && (rc = predict(&m, &val, o->samples, &pval)) == HD_OK &&
            (rc = hd_bnn_fit_calibration(&val, &t, &pval, &r->calibration)) == HD_OK &&
            (rc = predict(&m, &tst, o->samples, &pred)) == HD_OK) {
            if (o->calibrate) hd_bnn_apply_calibration(&r->calibration, &t, &pred, tst.n);
            if ((rc = judge(&tst, &t, &pred, r)) == HD_OK && (rc = write_metrics(o, r)) == HD_OK)
                rc = hd_bnn_plots(o->out_dir, &tst, &t, &pred);
        }
    }
    hd_bnn_prediction_free(&pred);
    hd_bnn_prediction_free(&pval);
    hd_free(m.seconds);
    hd_graph_free(m.g);
    hd_bnn_split_free(&trn);
    hd_bnn_split_free(&val);
    hd_bnn_split_free(&tst);
    return rc;
}
