/* The surrogate workflow: a network learns a detector efficiency from
 * histograms of generated and reconstructed counts (seed 003). */
#include "surrogate_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *loss_names[] = {"l2", "sigmoid-l2", "binomial"};

const char *hd_surrogate_loss_name(hd_surrogate_loss loss) { return loss_names[loss]; }

int hd_surrogate_loss_parse(const char *s, hd_surrogate_loss *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, loss_names[i]) == 0) {
            *out = (hd_surrogate_loss)i;
            return HD_OK;
        }
    return hd_error(HD_EINVAL, "unknown loss '%s' (l2, sigmoid-l2, binomial)", s);
}

hd_surrogate_opts hd_surrogate_opts_default(void)
{
    hd_surrogate_opts o = {.loss = HD_LOSS_BINOMIAL, .optim = hd_optim_opts_default(HD_NADAMW),
                           .sched = hd_schedule_plateau(), .batch = 10, .epochs = 500, .seed = 1,
                           .checkpoint_every = 10, .plot_phi_bin = -1};
    o.model = (hd_mlp_spec){.n_in = 3, .n_out = 1, .n_hidden = 3, .hidden = {128, 128, 128}, .act = HD_ACT_RELU};
    return o;
}

/* One side of the split: scaled features and counts, a row per non-empty bin. */
typedef struct {
    int64_t n, nf;               /* rows, features per row */
    float *x, *k, *trials, *eff; /* x [n, nf] */
} rows;

static void rows_free(rows *r)
{
    hd_free(r->x);
    hd_free(r->k);
    hd_free(r->trials);
    hd_free(r->eff);
}

static int rows_alloc(rows *r, int64_t n, int64_t nf)
{
    r->n = 0;
    r->nf = nf;
    r->x = hd_malloc((size_t)(n ? n : 1) * (size_t)nf * sizeof(float));
    r->k = hd_malloc((size_t)(n ? n : 1) * sizeof(float));
    r->trials = hd_malloc((size_t)(n ? n : 1) * sizeof(float));
    r->eff = hd_malloc((size_t)(n ? n : 1) * sizeof(float));
    return r->x && r->k && r->trials && r->eff ? HD_OK : HD_ENOMEM;
}

/* Checkerboard split of the non-empty bins, features (eta, log pT, phi) or
 * (eta, log pT, cos phi, sin phi). */
static int split(const hd_hist3 *h, int phi_linear, rows *train, rows *test)
{
    int64_t bins = hd_hist3_bins(h), nf = phi_linear ? 3 : 4;
    int rc;
    if ((rc = rows_alloc(train, bins, nf)) || (rc = rows_alloc(test, bins, nf))) return rc;
    for (int i = 0; i < h->n_eta; i++)
        for (int j = 0; j < h->n_pt; j++)
            for (int k = 0; k < h->n_phi; k++) {
                int64_t b = hd_hist3_index(h, i, j, k);
                if (h->gen[b] <= 0) continue; /* no trials: nothing to learn, nothing to divide */
                rows *r = (i + j + k) % 2 == 0 ? train : test;
                double eta, pt, phi;
                hd_hist3_bin_centre(h, b, &eta, &pt, &phi);
                float *x = r->x + nf * r->n;
                x[0] = (float)eta;
                x[1] = (float)log(pt);
                x[2] = (float)(phi_linear ? phi : cos(phi));
                if (!phi_linear) x[3] = (float)sin(phi);
                r->k[r->n] = (float)h->rec[b];
                r->trials[r->n] = (float)h->gen[b];
                r->eff[r->n] = (float)(h->rec[b] / h->gen[b]);
                r->n++;
            }
    if (train->n < 2 || test->n < 1)
        return hd_error(HD_EINVAL, "surrogate: %lld training and %lld test bins with counts: too few to train",
                        (long long)train->n, (long long)test->n);
    return HD_OK;
}

/* Standard scaling fitted on the training rows, applied to both sides. */
static void scale(rows *train, rows *test, float *mean, float *std)
{
    int64_t nf = train->nf;
    for (int64_t c = 0; c < nf; c++) {
        double s = 0, s2 = 0;
        for (int64_t r = 0; r < train->n; r++) s += train->x[nf * r + c];
        double m = s / (double)train->n;
        for (int64_t r = 0; r < train->n; r++) s2 += (train->x[nf * r + c] - m) * (train->x[nf * r + c] - m);
        double sd = sqrt(s2 / (double)train->n);
        mean[c] = (float)m;
        std[c] = sd > 0 ? (float)sd : 1.0f; /* a single bin along an axis: leave it unscaled */
        for (int side = 0; side < 2; side++) {
            rows *rr = side ? test : train;
            for (int64_t r = 0; r < rr->n; r++) rr->x[nf * r + c] = (rr->x[nf * r + c] - mean[c]) / std[c];
        }
    }
}

typedef struct {
    hd_graph *g;
    hd_node *x, *k, *trials, *eff, *loss;
    const rows *train, *test;           /* for the per-epoch losses */
    const hd_surrogate_opts *o;
} net;

static int build_net(const hd_surrogate_opts *o, const hd_mlp_spec *spec, net *m)
{
    m->g = hd_graph_new(o->seed);
    if (!m->g) return HD_ENOMEM;
    int64_t col[2] = {HD_BATCH, 1};
    m->x = hd_input(m->g, "x", 2, (int64_t[]){HD_BATCH, spec->n_in});
    m->k = hd_input(m->g, "k", 2, col);
    m->trials = hd_input(m->g, "n", 2, col);
    m->eff = hd_input(m->g, "eff", 2, col);
    hd_node *out = hd_mlp(m->g, spec, "surrogate", m->x);
    switch (o->loss) {
    case HD_LOSS_L2: m->loss = hd_mse_loss(m->g, out, m->eff); break;
    case HD_LOSS_SIGMOID_L2: m->loss = hd_mse_loss(m->g, hd_sigmoid(m->g, out), m->eff); break;
    case HD_LOSS_BINOMIAL: m->loss = hd_binomial_nll_loss(m->g, out, m->k, m->trials); break;
    }
    if (!m->loss) return HD_EINVAL;
    return hd_graph_compile(m->g);
}

/* Loss over all rows, in evaluation mode, one batch. */
static int eval_loss(net *m, const rows *r, double *loss)
{
    int rc = hd_graph_set_batch(m->g, r->n);
    if (rc != HD_OK) return rc;
    hd_graph_set_training(m->g, 0);
    memcpy(hd_node_value(m->x)->data, r->x, (size_t)(r->n * r->nf) * sizeof(float));
    memcpy(hd_node_value(m->k)->data, r->k, (size_t)r->n * sizeof(float));
    memcpy(hd_node_value(m->trials)->data, r->trials, (size_t)r->n * sizeof(float));
    memcpy(hd_node_value(m->eff)->data, r->eff, (size_t)r->n * sizeof(float));
    rc = hd_graph_forward(m->g, m->loss);
    *loss = hd_node_scalar(m->loss);
    hd_graph_set_training(m->g, 1);
    return rc;
}

static int epoch_losses(void *user, const hd_train_epoch *e, double *values)
{
    (void)e;
    net *m = user;
    int rc = eval_loss(m, m->train, &values[0]);
    return rc != HD_OK ? rc : eval_loss(m, m->test, &values[1]);
}

static void report_epoch(void *user, const hd_train_epoch *e)
{
    const net *m = user;
    if (m->o->on_epoch) m->o->on_epoch(m->o->user, e->epoch, e->metrics[0], e->metrics[1], e->lr);
}

/* Training with per-epoch losses on both sides, the plateau schedule on the
 * test loss and its best epoch's weights; resumable from out_dir. */
static int fit(const hd_surrogate_opts *o, const hd_mlp_spec *spec, net *m, const rows *train, const rows *test,
               hd_surrogate_result *res)
{
    char history[4096], checkpoint[4096], layers[512];
    hd_mlp_spec_layers_text(spec, layers, sizeof layers);
    snprintf(history, sizeof history, "%s/history.csv", o->out_dir);
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", o->out_dir);
    m->train = train;
    m->test = test;
    m->o = o;
    hd_meta meta[] = {{"workflow", "surrogate"},
                      {"layers", layers},
                      {"activation", hd_activation_name(spec->act)},
                      {"loss", hd_surrogate_loss_name(o->loss)},
                      {"phi", o->phi_linear ? "linear" : "cyclic"}};
    hd_train_opts t = hd_train_opts_default();
    t.g = m->g;
    t.loss = m->loss;
    t.n_columns = 4;
    hd_node *inputs[] = {m->x, m->k, m->trials, m->eff};
    const float *columns[] = {train->x, train->k, train->trials, train->eff};
    memcpy(t.inputs, inputs, sizeof inputs);
    memcpy(t.columns, columns, sizeof columns);
    t.n_rows = train->n;
    t.batch = o->batch;
    t.seed = o->seed;
    t.optim = o->optim;
    t.sched = o->sched;
    t.epochs = o->epochs;
    t.n_metrics = 2;
    t.metric_names[0] = "train_loss";
    t.metric_names[1] = "test_loss";
    t.metrics = epoch_losses;
    t.monitor = 1;
    t.keep_best = 1;
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
    res->epochs = tr.epochs;
    res->best_epoch = tr.best_epoch;
    if ((rc = eval_loss(m, train, &res->train_loss))) return rc;
    return eval_loss(m, test, &res->test_loss);
}

static int save_model(const hd_surrogate_opts *o, const hd_mlp_spec *spec, net *m, const char *path, float *mean,
                      float *std)
{
    char *arch = hd_mlp_spec_to_json(spec);
    if (!arch) return HD_ENOMEM;
    const char *meta[][2] = {{"model", "mlp"},
                             {"mlp", arch},
                             {"prefix", "surrogate"},
                             {"inputs", "eta,pt,phi"},
                             {"input_transform", o->phi_linear ? "none,log,none" : "none,log,cyclic"},
                             {"output", o->loss == HD_LOSS_L2 ? "identity" : "sigmoid"},
                             {"loss", hd_surrogate_loss_name(o->loss)},
                             {"workflow", "surrogate"}};
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    int rc = HD_OK;
    for (size_t i = 0; rc == HD_OK && i < sizeof meta / sizeof meta[0]; i++)
        rc = hd_checkpoint_meta(&e, meta[i][0], "%s", meta[i][1]);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "scaler.mean", mean, spec->n_in);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "scaler.std", std, spec->n_in);
    if (rc == HD_OK) rc = hd_checkpoint_write(m->g, path, HD_ALL, &e);
    hd_checkpoint_entries_release(&e);
    hd_free(arch);
    return rc;
}

/* Metrics through the saved model, so what is judged is what was written. */
static int judge(const hd_hist3 *h, hd_model *model, hd_surrogate_result *res)
{
    int64_t bins = hd_hist3_bins(h);
    float *x = hd_malloc((size_t)bins * 3 * sizeof(float)), *p = hd_malloc((size_t)bins * sizeof(float));
    int rc = x && p ? HD_OK : HD_ENOMEM;
    for (int64_t b = 0; rc == HD_OK && b < bins; b++) {
        double eta, pt, phi;
        hd_hist3_bin_centre(h, b, &eta, &pt, &phi);
        x[3 * b] = (float)eta;
        x[3 * b + 1] = (float)pt;
        x[3 * b + 2] = (float)phi;
    }
    if (rc == HD_OK) rc = hd_model_predict(model, bins, x, p);
    double chi2 = 0, sum_abs = 0, max_abs = 0;
    int64_t n_test = 0, n_truth = 0;
    for (int i = 0; rc == HD_OK && i < h->n_eta; i++)
        for (int j = 0; j < h->n_pt; j++)
            for (int k = 0; k < h->n_phi; k++) {
                int64_t b = hd_hist3_index(h, i, j, k);
                if (h->gen[b] <= 0) continue;
                double q = fmin(fmax((double)p[b], 1e-9), 1 - 1e-9), n = h->gen[b];
                if ((i + j + k) % 2) { /* test bin: Pearson chi2 with binomial variance */
                    chi2 += (h->rec[b] - n * q) * (h->rec[b] - n * q) / (n * q * (1 - q));
                    n_test++;
                }
                if (h->truth && !isnan(h->truth[b])) {
                    double d = fabs((double)p[b] - h->truth[b]);
                    sum_abs += d;
                    max_abs = fmax(max_abs, d);
                    n_truth++;
                }
            }
    res->chi2_ndf = n_test ? chi2 / (double)n_test : NAN;
    res->has_truth = n_truth > 0;
    res->mae_truth = n_truth ? sum_abs / (double)n_truth : NAN;
    res->max_abs_truth = n_truth ? max_abs : NAN;
    hd_free(x);
    hd_free(p);
    return rc;
}

static int write_metrics(const char *dir, const hd_surrogate_opts *o, const hd_surrogate_result *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "{\n  \"loss\": \"%s\",\n", hd_surrogate_loss_name(o->loss));
    hd_report_number(af.f, "train_loss", r->train_loss, 0);
    hd_report_number(af.f, "test_loss", r->test_loss, 0);
    hd_report_number(af.f, "best_epoch", r->best_epoch, 0);
    hd_report_number(af.f, "epochs", r->epochs, 0);
    hd_report_number(af.f, "n_train_bins", (double)r->n_train, 0);
    hd_report_number(af.f, "n_test_bins", (double)r->n_test, 0);
    hd_report_number(af.f, "chi2_ndf", r->chi2_ndf, 0);
    hd_report_number(af.f, "mae_truth", r->mae_truth, 0);
    hd_report_number(af.f, "max_abs_truth", r->max_abs_truth, 1);
    fprintf(af.f, "}\n");
    return hd_atomic_commit(&af);
}

int hd_surrogate_check(const hd_surrogate_opts *o)
{
    if (!o->input || !o->out_dir) return hd_error(HD_EINVAL, "surrogate: an input file and an output directory are needed");
    if (o->epochs < 1 || o->batch < 1) return hd_error(HD_EINVAL, "surrogate: epochs and batch must be positive");
    int rc = hd_optim_check(&o->optim);
    return rc != HD_OK ? rc : hd_schedule_check(&o->sched);
}

static int train_and_save(const hd_surrogate_opts *o, const hd_hist3 *h, hd_surrogate_result *res, const char *model_path)
{
    rows train = {0}, test = {0};
    net m = {0};
    float mean[4], std[4];
    hd_mlp_spec spec = o->model;
    spec.n_in = o->phi_linear ? 3 : 4;
    spec.n_out = 1;
    int rc = split(h, o->phi_linear, &train, &test);
    if (rc == HD_OK) {
        res->n_train = train.n;
        res->n_test = test.n;
        scale(&train, &test, mean, std);
        rc = build_net(o, &spec, &m);
    }
    if (rc == HD_OK) rc = fit(o, &spec, &m, &train, &test, res);
    if (rc == HD_OK && hd_dist_rank() == 0) rc = save_model(o, &spec, &m, model_path, mean, std);
    rows_free(&train);
    rows_free(&test);
    hd_graph_free(m.g);
    return rc;
}

int hd_surrogate_run(const hd_surrogate_opts *o, hd_surrogate_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_surrogate_check(o);
    if (rc != HD_OK) return rc;
    hd_hist3 h;
    if ((rc = hd_hist3_read_npz(o->input, &h))) return rc;
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", o->out_dir);
    hd_model *model = NULL;
    rc = train_and_save(o, &h, res, model_path);
    if (rc == HD_OK && hd_dist_rank() == 0) rc = hd_model_load(model_path, &model);
    if (rc == HD_OK && model) rc = judge(&h, model, res); /* rank 0 alone writes */
    if (rc == HD_OK && model) rc = write_metrics(o->out_dir, o, res);
    if (rc == HD_OK && model) rc = hd_surrogate_plots(o->out_dir, &h, model, o->plot_phi_bin);
    hd_model_free(model);
    hd_hist3_free(&h);
    return rc;
}
