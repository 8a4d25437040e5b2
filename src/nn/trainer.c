/* The trainer: one supervised loop for every workflow (nn.h). */
#include "hadron/nn.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hd_train_opts hd_train_opts_default(void)
{
    return (hd_train_opts){.optim = hd_optim_opts_default(HD_ADAM), .sched = hd_schedule_constant(), .monitor = -1,
                           .checkpoint_every = 1};
}

/* Zeroes the group's gradients and, when run, fills them from loss. */
static int group_grads(hd_graph *g, hd_node *loss, int group, int run, float **params, float **grads, int64_t *n)
{
    int rc = hd_graph_param_range(g, group, params, grads, n);
    if (rc != HD_OK) return rc;
    hd_graph_zero_grad(g, group);
    if (run && ((rc = hd_graph_forward(g, loss)) || (rc = hd_graph_backward(g, loss, group)))) return rc;
    return HD_OK;
}

int hd_train_step(hd_graph *g, hd_node *loss, int group, hd_optim *o)
{
    float *params, *grads;
    int64_t n;
    int rc = group_grads(g, loss, group, 1, &params, &grads, &n);
    return rc != HD_OK ? rc : hd_optim_step(o, params, grads);
}

int hd_train_step_rows(hd_graph *g, hd_node *loss, int group, hd_optim *o, int64_t local_rows, int64_t global_rows)
{
    float *params, *grads;
    int64_t n;
    int rc = group_grads(g, loss, group, local_rows > 0, &params, &grads, &n);
    if (rc != HD_OK) return rc;
    if (local_rows == 0) hd_graph_set_step(g, hd_graph_step(g) + 1); /* as a forward would */
    if ((rc = hd_dist_mean_grads(grads, n, local_rows, global_rows)) != HD_OK) return rc;
    return hd_optim_step(o, params, grads);
}

typedef struct {
    const hd_train_opts *o;
    hd_train_result *r;
    hd_loader loader;
    hd_optim *opt;
    hd_schedule sched;
    float *params, *best;
    int64_t n_params;
    FILE *hist;
    double values[HD_TRAIN_MAX_METRICS];
    int rank, ranks; /* the data-parallel ranks; 0 and 1 in one process */
} trainer;

static int check(const hd_train_opts *o)
{
    if (!o->g || !o->loss) return hd_error(HD_EINVAL, "trainer: no graph or loss");
    if (o->n_columns < 1 || o->n_columns > HD_LOADER_MAX_ARRAYS)
        return hd_error(HD_EINVAL, "trainer: %d data columns, need 1..%d", o->n_columns, HD_LOADER_MAX_ARRAYS);
    for (int i = 0; i < o->n_columns; i++)
        if (!o->inputs[i] || !o->columns[i]) return hd_error(HD_EINVAL, "trainer: column %d has no input or data", i);
    if (o->epochs < 1 || o->batch < 1 || o->n_rows < 1)
        return hd_error(HD_EINVAL, "trainer: %d epochs, batch %lld, %lld rows: all must be positive", o->epochs,
                        (long long)o->batch, (long long)o->n_rows);
    if (o->n_metrics < 0 || o->n_metrics > HD_TRAIN_MAX_METRICS || (o->n_metrics && !o->metrics))
        return hd_error(HD_EINVAL, "trainer: %d metrics (at most %d, with a metrics function)", o->n_metrics,
                        HD_TRAIN_MAX_METRICS);
    if (o->monitor < -1 || o->monitor >= o->n_metrics)
        return hd_error(HD_EINVAL, "trainer: monitored metric %d of %d", o->monitor, o->n_metrics);
    if (o->checkpoint && o->checkpoint_every < 1)
        return hd_error(HD_EINVAL, "trainer: checkpoint every %d epochs, need at least 1", o->checkpoint_every);
    if (o->resume && !o->checkpoint) return hd_error(HD_EINVAL, "trainer: resume without a checkpoint path");
    int rc = hd_optim_check(&o->optim);
    return rc != HD_OK ? rc : hd_schedule_check(&o->sched);
}

/* The loader over the columns, each row as long as its input's. */
static int start_loader(trainer *t)
{
    const hd_train_opts *o = t->o;
    int64_t first = hd_part_rows(o->batch < o->n_rows ? o->batch : o->n_rows, t->rank, t->ranks),
            len[HD_LOADER_MAX_ARRAYS];
    if (first < 1)
        return hd_error(HD_EINVAL, "trainer: batch %lld over %d ranks leaves rank %d without rows", (long long)o->batch,
                        t->ranks, t->rank);
    int rc = hd_graph_batch(o->g) == first ? HD_OK : hd_graph_set_batch(o->g, first);
    for (int i = 0; rc == HD_OK && i < o->n_columns; i++) {
        const hd_tensor *v = hd_node_value(o->inputs[i]);
        if (v->ndim < 1 || v->shape[0] != first)
            return hd_error(HD_EINVAL, "trainer: input %d does not have the batch as its first dimension", i);
        len[i] = hd_tensor_numel(v) / first;
    }
    if (rc == HD_OK) rc = hd_loader_init(&t->loader, o->n_columns, o->columns, len, o->n_rows, o->batch, o->seed);
    if (rc == HD_OK) hd_loader_set_part(&t->loader, t->rank, t->ranks);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------ */

/* The settings a resumed run must share, as (key, value) text. */
#define SAME_MAX 8
typedef struct { const char *key; char value[48]; } setting;

static int trainer_settings(const trainer *t, setting *s)
{
    const hd_train_opts *o = t->o;
    const hd_schedule *sc = &o->sched;
    int n = 0;
    s[n].key = "batch", snprintf(s[n++].value, 48, "%" PRId64, o->batch);
    s[n].key = "seed", snprintf(s[n++].value, 48, "%" PRIu64, o->seed);
    s[n].key = "schedule", snprintf(s[n++].value, 48, "%s", hd_schedule_name(sc->kind));
    if (sc->kind == HD_SCHED_EXPONENTIAL) {
        s[n].key = "lr_final", hd_checkpoint_float_text(s[n++].value, 48, sc->lr_final);
        s[n].key = "epochs", snprintf(s[n++].value, 48, "%d", o->epochs); /* the decay spans them */
    }
    if (sc->kind == HD_SCHED_PLATEAU) {
        s[n].key = "plateau", snprintf(s[n++].value, 48, "%d", sc->plateau.window);
        s[n].key = "plateau_factor", hd_checkpoint_float_text(s[n++].value, 48, sc->plateau.factor);
        s[n].key = "min_lr", hd_checkpoint_float_text(s[n++].value, 48, sc->plateau.min_lr);
    }
    return n;
}

static int save(trainer *t, int epoch)
{
    const hd_train_opts *o = t->o;
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    setting s[SAME_MAX];
    int n = trainer_settings(t, s), rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < o->n_meta; i++) rc = hd_checkpoint_meta(&e, o->meta[i].key, "%s", o->meta[i].value);
    for (int i = 0; rc == HD_OK && i < n; i++) rc = hd_checkpoint_meta(&e, s[i].key, "%s", s[i].value);
    const hd_rng *g = &t->loader.rng;
    const hd_plateau *p = &t->sched.plateau;
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "trainer.epoch", "%d", epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "trainer.rows", "%" PRId64, o->n_rows);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "trainer.graph_step", "%" PRIu64, hd_graph_step(o->g));
    if (rc == HD_OK)
        rc = hd_checkpoint_meta(&e, "trainer.shuffle", "%" PRIu64 " %d %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32,
                                g->counter, g->nbuf, g->buf[0], g->buf[1], g->buf[2], g->buf[3]);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "trainer.plateau_state", "%d %a %a", p->epoch, p->best_prev, p->best_cur);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "trainer.best", "%d %a", t->r->best_epoch, t->r->best);
    if (rc == HD_OK) rc = hd_optim_record(&e, "optim.", t->opt, &o->optim);
    if (rc == HD_OK && t->best) rc = hd_checkpoint_tensor(&e, "trainer.best_params", t->best, t->n_params);
    if (rc == HD_OK) rc = hd_checkpoint_write(o->g, o->checkpoint, HD_ALL, &e);
    hd_checkpoint_entries_release(&e);
    return rc;
}

/* The trainer's own state from a checkpoint, read whole before any of it is used. */
typedef struct {
    uint64_t epoch, graph_step, counter;
    int nbuf, plateau_epoch, best_epoch;
    uint32_t buf[4];
    double best_prev, best_cur, best;
} saved_state;

static int read_state(const hd_safetensors *st, const char *path, int64_t n_rows, saved_state *s)
{
    uint64_t rows;
    int rc = hd_checkpoint_meta_u64(st, path, "trainer.epoch", &s->epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "trainer.rows", &rows);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "trainer.graph_step", &s->graph_step);
    if (rc != HD_OK) return rc;
    if (rows != (uint64_t)n_rows)
        return hd_error(HD_EINVAL, "%s: trained on %" PRIu64 " rows, the data now have %lld: resume with the same data",
                        path, rows, (long long)n_rows);
    const char *sh = hd_safetensors_meta(st, "trainer.shuffle"), *pl = hd_safetensors_meta(st, "trainer.plateau_state"),
               *be = hd_safetensors_meta(st, "trainer.best");
    char tail;
    if (!sh || sscanf(sh, "%" SCNu64 " %d %" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32 " %c", &s->counter, &s->nbuf,
                      &s->buf[0], &s->buf[1], &s->buf[2], &s->buf[3], &tail) != 6 || s->nbuf < 0 || s->nbuf > 4)
        return hd_error(HD_EFORMAT, "%s: metadata 'trainer.shuffle' is missing or malformed", path);
    if (!pl || sscanf(pl, "%d %la %la %c", &s->plateau_epoch, &s->best_prev, &s->best_cur, &tail) != 3 ||
        s->plateau_epoch < 0)
        return hd_error(HD_EFORMAT, "%s: metadata 'trainer.plateau_state' is missing or malformed", path);
    if (!be || sscanf(be, "%d %la %c", &s->best_epoch, &s->best, &tail) != 2 || s->best_epoch < 0)
        return hd_error(HD_EFORMAT, "%s: metadata 'trainer.best' is missing or malformed", path);
    if (s->epoch < 1 || s->epoch > 100000000 || (uint64_t)s->best_epoch > s->epoch)
        return hd_error(HD_EFORMAT, "%s: epoch %" PRIu64 " (best %d) out of range", path, s->epoch, s->best_epoch);
    return HD_OK;
}

static int check_settings(const trainer *t, const hd_safetensors *st, const char *path)
{
    const hd_train_opts *o = t->o;
    setting s[SAME_MAX];
    int n = trainer_settings(t, s), rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < o->n_meta; i++) rc = hd_checkpoint_meta_same(st, path, o->meta[i].key, o->meta[i].value);
    for (int i = 0; rc == HD_OK && i < n; i++) rc = hd_checkpoint_meta_same(st, path, s[i].key, s[i].value);
    return rc;
}

/* Everything is checked before anything changes; returns the epoch to continue after. */
static int restore(trainer *t, int *epoch)
{
    const hd_train_opts *o = t->o;
    const char *path = o->checkpoint;
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    saved_state s;
    const float *best = NULL;
    if ((rc = check_settings(t, st, path)) == HD_OK && (rc = read_state(st, path, o->n_rows, &s)) == HD_OK &&
        (!t->best || (rc = hd_checkpoint_get(st, path, "trainer.best_params", t->n_params, &best)) == HD_OK) &&
        (rc = hd_checkpoint_check(o->g, st, path, HD_ALL)) == HD_OK) {
        if (s.epoch > (uint64_t)o->epochs)
            rc = hd_error(HD_EINVAL, "%s: already %" PRIu64 " epochs, more than --epochs %d", path, s.epoch, o->epochs);
    }
    if (rc == HD_OK && (rc = hd_optim_restore(t->opt, "optim.", &o->optim, st, path)) == HD_OK &&
        (rc = hd_checkpoint_load_parsed(o->g, st, path, HD_ALL)) == HD_OK) {
        if (best) memcpy(t->best, best, (size_t)t->n_params * sizeof(float));
        hd_graph_set_step(o->g, s.graph_step);
        hd_rng *g = &t->loader.rng;
        g->counter = s.counter;
        g->nbuf = s.nbuf;
        memcpy(g->buf, s.buf, sizeof g->buf);
        t->sched.plateau.epoch = s.plateau_epoch;
        t->sched.plateau.best_prev = s.best_prev;
        t->sched.plateau.best_cur = s.best_cur;
        t->r->best_epoch = s.best_epoch;
        t->r->best = s.best;
        t->r->resumed_from = t->r->epochs = *epoch = (int)s.epoch;
    }
    hd_safetensors_free(st);
    return rc;
}

/* ---- the loop -------------------------------------------------------------------- */

static int open_history(trainer *t, int resumed_from)
{
    const hd_train_opts *o = t->o;
    if (!o->history || t->rank != 0) return HD_OK;
    char header[2048];
    size_t k = (size_t)snprintf(header, sizeof header, "epoch");
    for (int i = 0; i < o->n_metrics && k < sizeof header; i++)
        k += (size_t)snprintf(header + k, sizeof header - k, ",%s", o->metric_names[i]);
    if (k < sizeof header) snprintf(header + k, sizeof header - k, ",pass_loss,lr,seconds\n");
    return hd_history_open(o->history, header, resumed_from, &t->hist);
}

static int history_row(trainer *t, const hd_train_epoch *e)
{
    if (!t->hist) return HD_OK;
    fprintf(t->hist, "%d", e->epoch);
    for (int i = 0; i < t->o->n_metrics; i++) fprintf(t->hist, ",%.9g", e->metrics[i]);
    fprintf(t->hist, ",%.9g,%.6g,%.4g\n", e->pass_loss, (double)e->lr, e->seconds);
    return fflush(t->hist) == 0 ? HD_OK : hd_error(HD_EIO, "writing %s failed", t->o->history);
}

/* One data-parallel step: this rank's `local` of the batch's `rows` (maybe
 * none), the gradients summed over the ranks, the same update everywhere. */
static int dist_step(trainer *t, int64_t local, int64_t rows)
{
    hd_graph_set_rows(t->o->g, t->rank, t->ranks, rows);
    return hd_train_step_rows(t->o->g, t->o->loss, HD_ALL, t->opt, local, rows);
}

/* One pass over the shuffled rows; *loss gets the mean loss per row. */
static int pass(trainer *t, double *loss)
{
    const hd_train_opts *o = t->o;
    int64_t rows, index = 0;
    double sum[2] = {0, 0}; /* loss x rows, rows: of this rank */
    int rc = HD_OK;
    hd_graph_set_training(o->g, 1);
    hd_loader_shuffle(&t->loader);
    while (rc == HD_OK && (rows = hd_loader_next_size(&t->loader)) > 0) {
        int64_t local = hd_part_rows(rows, t->rank, t->ranks), b = local > 0 ? local : 1;
        if (b != hd_graph_batch(o->g) && (rc = hd_graph_set_batch(o->g, b))) break;
        float *dst[HD_LOADER_MAX_ARRAYS];
        for (int i = 0; i < o->n_columns; i++) dst[i] = hd_node_value(o->inputs[i])->data;
        hd_loader_next(&t->loader, dst);
        rc = t->ranks > 1 ? dist_step(t, local, rows) : hd_train_step(o->g, o->loss, HD_ALL, t->opt);
        if (rc) break;
        if (local > 0) {
            sum[0] += hd_node_scalar(o->loss) * (double)local, sum[1] += (double)local;
            if (o->on_batch) o->on_batch(o->user, index, local);
        }
        index++;
    }
    if (t->ranks > 1) {
        hd_graph_set_rows(o->g, 0, 1, 0);
        if (rc == HD_OK) rc = hd_dist_sum_double(sum, 2);
    }
    *loss = sum[1] > 0 ? sum[0] / sum[1] : 0;
    return rc;
}

/* After an epoch's pass: metrics, best weights, history, report, schedule,
 * checkpoint.  Returns 1 when the schedule ends training. */
static int finish_epoch(trainer *t, int epoch, double pass_loss, float lr, double seconds)
{
    const hd_train_opts *o = t->o;
    hd_train_epoch e = {.epoch = epoch, .epochs = o->epochs, .pass_loss = pass_loss, .metrics = t->values, .lr = lr,
                        .seconds = seconds};
    int rc = o->metrics ? o->metrics(o->user, &e, t->values) : HD_OK;
    if (rc != HD_OK) return rc;
    double watched = o->monitor < 0 ? pass_loss : t->values[o->monitor];
    if (watched < t->r->best) {
        e.best = 1;
        t->r->best = watched;
        t->r->best_epoch = epoch;
        if (t->best) memcpy(t->best, t->params, (size_t)t->n_params * sizeof(float));
    }
    if (t->ranks > 1 && (rc = hd_dist_same(hd_dist_hash(t->params, (size_t)t->n_params * sizeof(float)),
                                          "the weights after an epoch")) != HD_OK)
        return rc;
    if ((rc = history_row(t, &e)) != HD_OK) return rc;
    if (o->on_epoch) o->on_epoch(o->user, &e);
    int stop = hd_schedule_update(&t->sched, t->opt, o->optim.lr, epoch, o->epochs, watched);
    if (stop < 0) return stop;
    t->r->epochs = epoch;
    if (o->checkpoint && t->rank == 0 && (epoch % o->checkpoint_every == 0 || stop || epoch == o->epochs) &&
        (rc = save(t, epoch)))
        return rc;
    return stop;
}

static int setup(trainer *t)
{
    const hd_train_opts *o = t->o;
    t->sched = o->sched;
    float *grads;
    int rc = hd_graph_param_range(o->g, HD_ALL, &t->params, &grads, &t->n_params);
    if (rc != HD_OK) return rc;
    if (!(t->opt = hd_optim_new(&o->optim, t->n_params))) return HD_ENOMEM;
    if (o->keep_best && !(t->best = hd_malloc((size_t)t->n_params * sizeof(float)))) return HD_ENOMEM;
    return start_loader(t);
}

int hd_train(const hd_train_opts *o, hd_train_result *r)
{
    memset(r, 0, sizeof *r);
    r->best = INFINITY;
    int rc = check(o);
    if (rc != HD_OK) return rc;
    trainer t = {.o = o, .r = r, .ranks = 1};
    if (o->data_parallel) t.rank = hd_dist_rank(), t.ranks = hd_dist_size();
    int done = 0;
    if ((rc = setup(&t)) == HD_OK && (!o->resume || (rc = restore(&t, &done)) == HD_OK))
        rc = open_history(&t, done);
    for (int e = done + 1; rc == HD_OK && e <= o->epochs; e++) {
        float lr = hd_optim_lr(t.opt);
        double t0 = hd_now(), loss;
        if ((rc = pass(&t, &loss)) != HD_OK) break;
        rc = finish_epoch(&t, e, loss, lr, hd_now() - t0);
        if (rc == 1) {
            r->stopped = 1;
            rc = HD_OK;
            break;
        }
    }
    if (rc == HD_OK && t.best && r->best_epoch > 0) memcpy(t.params, t.best, (size_t)t.n_params * sizeof(float));
    if (t.hist && fclose(t.hist) != 0 && rc == HD_OK) rc = hd_error(HD_EIO, "writing %s failed", o->history);
    hd_loader_free(&t.loader);
    hd_optim_free(t.opt);
    hd_free(t.best);
    return rc;
}
