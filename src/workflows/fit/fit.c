/* The fit workflow: an MLP learns a known 2-D function.  It exercises the
 * whole engine (graph, batch changes, loader, optimiser, checkpoint) and is
 * the first demo. */
#include "hadron/metrics.h"
#include "hadron/workflows.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

double hd_fit_target(double x0, double x1) { return sin(HD_PI * x0) * cos(HD_PI * x1 / 2); }

hd_fit_opts hd_fit_opts_default(void)
{
    hd_fit_opts o = {.seed = 1, .epochs = 150, .n_train = 1024, .n_test = 256, .batch = 32,
                     .optim = hd_optim_opts_default(HD_ADAM)};
    o.optim.lr = 3e-3f;
    o.model = (hd_mlp_spec){.n_in = 2, .n_out = 1, .n_hidden = 2, .hidden = {32, 32}, .act = HD_ACT_TANH};
    return o;
}

typedef struct {
    hd_graph *g;
    hd_node *x, *t, *loss;
    float *xs, *ts; /* train rows then test rows */
    const hd_fit_opts *o;
    hd_fit_result *res;
} fit_state;

static void make_data(const hd_fit_opts *o, fit_state *s)
{
    hd_rng r;
    hd_rng_init(&r, o->seed, HD_STREAM_SIM);
    int64_t n = o->n_train + o->n_test;
    hd_rng_fill_uniform(&r, s->xs, 2 * n, -1.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) s->ts[i] = (float)hd_fit_target(s->xs[2 * i], s->xs[2 * i + 1]);
}

static int build(const hd_fit_opts *o, fit_state *s)
{
    s->g = hd_graph_new(o->seed);
    if (!s->g) return HD_ENOMEM;
    s->x = hd_input(s->g, "x", 2, (int64_t[]){HD_BATCH, 2});
    s->t = hd_input(s->g, "t", 2, (int64_t[]){HD_BATCH, 1});
    s->loss = hd_mse_loss(s->g, hd_mlp(s->g, &o->model, "mlp", s->x), s->t);
    if (!s->loss) return HD_EINVAL;
    int rc = hd_graph_compile(s->g);
    if (rc != HD_OK) return rc;
    s->xs = hd_malloc((size_t)(o->n_train + o->n_test) * 2 * sizeof(float));
    s->ts = hd_malloc((size_t)(o->n_train + o->n_test) * sizeof(float));
    if (!s->xs || !s->ts) return HD_ENOMEM;
    make_data(o, s);
    return HD_OK;
}

/* MSE on the test points, in evaluation mode and one batch. */
static int evaluate(const hd_fit_opts *o, fit_state *s, double *mse)
{
    int rc = hd_graph_set_batch(s->g, o->n_test);
    if (rc != HD_OK) return rc;
    hd_graph_set_training(s->g, 0);
    memcpy(hd_node_value(s->x)->data, s->xs + 2 * o->n_train, (size_t)o->n_test * 2 * sizeof(float));
    memcpy(hd_node_value(s->t)->data, s->ts + o->n_train, (size_t)o->n_test * sizeof(float));
    rc = hd_graph_forward(s->g, s->loss);
    *mse = hd_node_scalar(s->loss);
    return rc;
}

static int write_outputs(const hd_fit_opts *o, fit_state *s)
{
    char path[4096];
    int rc;
    hd_line_plot plot = {.csv = "history.csv", .title = "fit: loss per epoch", .xlabel = "epoch",
                         .ylabel = "mean squared error", .x_col = 1, .n_series = 2, .y_cols = {3, 2},
                         .y_titles = {"train", "test"}, .log_y = 1};
    snprintf(path, sizeof path, "%s/loss", o->out_dir);
    if ((rc = hd_plot_lines(path, &plot, NULL)) != HD_OK) return rc;
    char *arch = hd_mlp_spec_to_json(&o->model);
    if (!arch) return HD_ENOMEM;
    hd_meta meta[] = {{"model", "mlp"}, {"mlp", arch}, {"prefix", "mlp"}, {"input", "x0,x1"}};
    snprintf(path, sizeof path, "%s/model.safetensors", o->out_dir);
    rc = hd_checkpoint_save(s->g, path, HD_ALL, 4, meta);
    hd_free(arch);
    return rc;
}

int hd_fit_check(const hd_fit_opts *o)
{
    if (o->epochs < 1 || o->n_train < 1 || o->n_test < 1 || o->batch < 1)
        return hd_error(HD_EINVAL, "fit: epochs, points and batch must be positive");
    if (o->model.n_in != 2 || o->model.n_out != 1)
        return hd_error(HD_EINVAL, "fit: the model maps 2 inputs to 1 output");
    return hd_optim_check(&o->optim);
}

/* The epoch's metric: the test MSE (the training MSE is the pass loss). */
static int epoch_mse(void *user, const hd_train_epoch *e, double *values)
{
    fit_state *s = user;
    int rc = evaluate(s->o, s, &values[0]);
    s->res->epochs = e->epoch;
    s->res->final_train_mse = e->pass_loss;
    s->res->final_test_mse = values[0];
    return rc;
}

static void report_epoch(void *user, const hd_train_epoch *e)
{
    const fit_state *s = user;
    if (s->o->on_epoch) s->o->on_epoch(s->o->user, e->epoch, e->pass_loss, e->metrics[0]);
}

static int train(const hd_fit_opts *o, fit_state *s)
{
    char history[4096];
    snprintf(history, sizeof history, "%s/history.csv", o->out_dir ? o->out_dir : ".");
    hd_train_opts t = hd_train_opts_default();
    t.g = s->g;
    t.loss = s->loss;
    t.n_columns = 2;
    t.inputs[0] = s->x;
    t.inputs[1] = s->t;
    t.columns[0] = s->xs;
    t.columns[1] = s->ts;
    t.n_rows = o->n_train;
    t.batch = o->batch;
    t.seed = o->seed;
    t.optim = o->optim;
    t.epochs = o->epochs;
    t.n_metrics = 1;
    t.metric_names[0] = "test_mse";
    t.metrics = epoch_mse;
    t.on_epoch = report_epoch;
    t.user = s;
    t.history = o->out_dir ? history : NULL;
    t.data_parallel = 1;
    hd_train_result r;
    return hd_train(&t, &r);
}

int hd_fit_run(const hd_fit_opts *o, hd_fit_result *res)
{
    int rc = hd_fit_check(o);
    if (rc != HD_OK) return rc;
    fit_state s = {.o = o, .res = res};
    memset(res, 0, sizeof *res);
    if ((rc = build(o, &s)) == HD_OK && (rc = evaluate(o, &s, &res->first_test_mse)) == HD_OK &&
        (rc = train(o, &s)) == HD_OK && o->out_dir && hd_dist_rank() == 0)
        rc = write_outputs(o, &s);
    hd_graph_free(s.g);
    hd_free(s.xs);
    hd_free(s.ts);
    return rc;
}
