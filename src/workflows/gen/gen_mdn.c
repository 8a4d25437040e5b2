/* hadron gen's two-stage mixture density network (nn/mdn.h): its training
 * rows, its loss, hd_train's loop over them (resumable from
 * DIR/train.safetensors, data-parallel under mpirun) and the generator
 * checkpoint it writes (rank 0). */
#include "gen_internal.h"
#include "nn/mdn.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define N_COLS 7
#define HELDOUT_SHOWERS 2000 /* of the held-out sample, for the per-epoch NLL */

typedef struct {
    int64_t n; /* rows: showers x layers */
    float *col[N_COLS];
} mdn_rows;

typedef struct {
    const hd_gen_opts *o;
    hd_mdn m;
    hd_graph *g;
    hd_node *in[N_COLS]; /* e_in, e_cls, e_val, e_w, v_in, v_nz, v_y */
    hd_node *loss;
    mdn_rows train, held;
    hd_mlp_spec energy_spec, voxel_spec;
} mdn_fit;

static int64_t width(const mdn_fit *f, int c)
{
    const hd_mdn *m = &f->m;
    const int64_t w[N_COLS] = {hd_mdn_energy_in(m), HD_MDN_CLASSES, 1, 1, hd_mdn_voxel_in(m), m->n_per_layer,
                               m->n_per_layer};
    return w[c];
}

static void rows_free(mdn_rows *r)
{
    for (int c = 0; c < N_COLS; c++) hd_free(r->col[c]);
    memset(r, 0, sizeof *r);
}

/* Every shower's L rows of both nets, from its true state (teacher forcing). */
static int rows_of(mdn_fit *f, const gen_sample *s, int64_t n, const float *cfeat, mdn_rows *r)
{
    const hd_mdn *m = &f->m;
    int64_t L = m->n_layers;
    r->n = n * L;
    for (int c = 0; c < N_COLS; c++)
        if (!(r->col[c] = hd_malloc((size_t)(r->n * width(f, c)) * sizeof(float)))) return HD_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        hd_mdn_state st;
        const float *sh = s->showers + i * s->n_vox, *c = cfeat + i * m->n_cond;
        hd_mdn_state_of(m, s->energy[i], sh, &st);
        for (int l = 0; l < L; l++) {
            int64_t row = i * L + l;
            float *o[N_COLS];
            for (int k = 0; k < N_COLS; k++) o[k] = r->col[k] + row * width(f, k);
            hd_mdn_energy_row(m, c, &st, l, o[0]);
            hd_mdn_energy_target(m, &st, l, o[1], o[2], o[3]);
            hd_mdn_voxel_row(m, c, s->energy[i], &st, l, o[4]);
            hd_mdn_voxel_target(m, &st, sh, l, o[5], o[6]);
        }
    }
    return HD_OK;
}

/* Loss per row: the energy net's class cross-entropy and mixture NLL, and
 * the sum over the layer's voxels of the voxel net's Bernoulli and mixture
 * NLLs; a shower's NLL is L times the mean over its rows. */
static int build(mdn_fit *f)
{
    const hd_mdn *m = &f->m;
    int64_t M = m->n_per_layer, K3 = 3 * m->k;
    hd_graph *g = f->g = hd_graph_new(f->o->seed);
    if (!g) return HD_ENOMEM;
    static const char *const names[N_COLS] = {"e_in", "e_cls", "e_val", "e_w", "v_in", "v_nz", "v_y"};
    for (int c = 0; c < N_COLS; c++) {
        f->in[c] = hd_input(g, names[c], 2, (int64_t[]){HD_BATCH, width(f, c)});
    }
    hd_node *e_out, *v_out;
    int rc = hd_mdn_nets(g, &f->energy_spec, &f->voxel_spec, f->in[0], f->in[4], &e_out, &v_out);
    if (rc != HD_OK) return rc;
    hd_node *e_par = hd_reshape(g, hd_slice(g, e_out, 1, HD_MDN_CLASSES, K3), 3, (int64_t[]){HD_BATCH, 1, K3});
    hd_node *v_par = hd_reshape(g, hd_slice(g, v_out, 1, M, M * K3), 3, (int64_t[]){HD_BATCH, M, K3});
    hd_node *le = hd_add(g, hd_softmax_cross_entropy_loss(g, hd_slice(g, e_out, 1, 0, HD_MDN_CLASSES), f->in[1]),
                         hd_mixture_nll_loss(g, e_par, f->in[2], f->in[3]));
    hd_node *lv = hd_add(g, hd_bce_logits_loss(g, hd_slice(g, v_out, 1, 0, M), f->in[5]),
                         hd_mixture_nll_loss(g, v_par, f->in[6], f->in[5]));
    f->loss = hd_add(g, le, hd_scale(g, lv, (float)M));
    if (!f->loss) return HD_EINVAL;
    return hd_graph_compile(g);
}

/* The mean loss over rows r, in graph batches of `batch` rows, then per shower. */
static int rows_nll(mdn_fit *f, const mdn_rows *r, int64_t batch, double *out)
{
    double sum = 0;
    int rc = HD_OK;
    for (int64_t first = 0; rc == HD_OK && first < r->n; first += batch) {
        int64_t b = r->n - first < batch ? r->n - first : batch;
        if ((rc = hd_graph_set_batch(f->g, b))) break;
        for (int c = 0; c < N_COLS; c++)
            memcpy(hd_node_value(f->in[c])->data, r->col[c] + first * width(f, c),
                   (size_t)(b * width(f, c)) * sizeof(float));
        if ((rc = hd_graph_forward(f->g, f->loss)) == HD_OK) sum += hd_node_scalar(f->loss) * (double)b;
    }
    *out = sum / (double)r->n * (double)f->m.n_layers;
    return rc;
}

static int epoch_metrics(void *user, const hd_train_epoch *e, double *values)
{
    mdn_fit *f = user;
    values[0] = e->pass_loss * (double)f->m.n_layers;
    return rows_nll(f, &f->held, f->o->batch * f->m.n_layers, &values[1]);
}

static void report_epoch(void *user, const hd_train_epoch *e)
{
    const mdn_fit *f = user;
    hd_gen_epoch ep = {.epoch = e->epoch, .critic_loss = NAN, .gen_loss = e->metrics[0], .extra = e->metrics[1],
                       .seconds = e->seconds};
    if (f->o->on_epoch) f->o->on_epoch(f->o->user, &ep);
}

static int train(mdn_fit *f, double *heldout_nll, int *epochs)
{
    const hd_gen_opts *o = f->o;
    char history[4096], state[4096], k[16], el[256], vl[256], nt[32], data[64];
    snprintf(history, sizeof history, "%s/history.csv", o->out_dir);
    snprintf(state, sizeof state, "%s/train.safetensors", o->out_dir);
    snprintf(k, sizeof k, "%d", o->mdn_k);
    snprintf(nt, sizeof nt, "%" PRId64, f->train.n);
    hd_mlp_spec_layers_text(&f->energy_spec, el, sizeof el);
    hd_mlp_spec_layers_text(&f->voxel_spec, vl, sizeof vl);
    /* other showers of the same count are refused too: a fingerprint of the fitted voxel statistics */
    int64_t V = f->m.n_layers * f->m.n_per_layer;
    uint64_t h = hd_dist_hash(f->m.vox_mean, (size_t)V * sizeof(float)) ^ hd_dist_hash(f->m.frac_mean,
                                                                                    (size_t)f->m.n_layers * sizeof(float));
    snprintf(data, sizeof data, "of fingerprint %016" PRIx64, h);
    hd_meta meta[] = {{"workflow", "gen mdn"}, {"mdn-k", k}, {"energy-layers", el}, {"gen-layers", vl},
                      {"train-rows", nt}, {"data", data}};
    hd_train_opts t = hd_train_opts_default();
    t.g = f->g;
    t.loss = f->loss;
    t.n_columns = N_COLS;
    for (int c = 0; c < N_COLS; c++) t.inputs[c] = f->in[c], t.columns[c] = f->train.col[c];
    t.n_rows = f->train.n;
    t.batch = o->batch * f->m.n_layers;
    t.seed = o->seed;
    t.optim = o->optim_gen;
    t.sched = o->optim_gen.lr > 0 ? hd_schedule_exponential(o->optim_gen.lr / 100) : hd_schedule_constant();
    t.epochs = o->epochs;
    t.n_metrics = 2;
    t.metric_names[0] = "train_nll";
    t.metric_names[1] = "heldout_nll";
    t.metrics = epoch_metrics;
    t.on_epoch = report_epoch;
    t.user = f;
    t.history = history;
    t.checkpoint = state;
    t.checkpoint_every = o->checkpoint_every;
    t.resume = o->resume;
    t.n_meta = (int)(sizeof meta / sizeof meta[0]);
    t.meta = meta;
    t.data_parallel = 1;
    hd_train_result r;
    int rc = hd_train(&t, &r);
    *epochs = r.epochs;
    return rc == HD_OK ? rows_nll(f, &f->held, t.batch, heldout_nll) : rc;
}

static int save(mdn_fit *f, const char *path, const hd_calo_layout *layout, const hd_shower_prep *prep,
                hd_cond_scaler *cs)
{
    const hd_mdn *m = &f->m;
    char *ej = hd_mlp_spec_to_json(&f->energy_spec), *vj = hd_mlp_spec_to_json(&f->voxel_spec);
    float ratio[2] = {m->ratio_mean, m->ratio_std};
    int64_t L = m->n_layers, V = L * m->n_per_layer;
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    int rc = ej && vj ? hd_generator_record(&e, "mdn", layout, prep, cs) : HD_ENOMEM;
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "mdn_k", "%d", m->k);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "mdn_layers", "%" PRId64, L);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "mlp_energy", "%s", ej);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "mlp", "%s", vj);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "mdn.ratio", ratio, 2);
    if (rc == HD_OK && L > 1) rc = hd_checkpoint_tensor(&e, "mdn.share_mean", m->share_mean, L - 1);
    if (rc == HD_OK && L > 1) rc = hd_checkpoint_tensor(&e, "mdn.share_std", m->share_std, L - 1);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "mdn.frac_mean", m->frac_mean, L);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "mdn.frac_std", m->frac_std, L);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "mdn.vox_mean", m->vox_mean, V);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "mdn.vox_std", m->vox_std, V);
    if (rc == HD_OK) rc = hd_checkpoint_write(f->g, path, HD_ALL, &e);
    hd_checkpoint_entries_release(&e);
    hd_free(ej);
    hd_free(vj);
    return rc;
}

int gen_fit_mdn(gen_train_ctx *t, const gen_sample *heldout)
{
    const hd_gen_opts *o = t->o;
    const hd_calo_layout *l = t->layout;
    int cyl = l->kind == HD_CALO_CYLINDRICAL;
    int64_t L = cyl ? l->n_layers : 1, M = cyl ? (int64_t)l->n_alpha * l->n_r : (int64_t)l->nx * l->ny;
    mdn_fit f = {.o = o};
    int64_t nh = heldout->n < HELDOUT_SHOWERS ? heldout->n : HELDOUT_SHOWERS;
    float *hc = hd_malloc((size_t)(nh * t->train->n_cond) * sizeof(float) + 1);
    int rc = hc ? hd_mdn_fit(&f.m, L, M, t->train->n_cond, o->mdn_k, t->train->n, t->train->energy,
                             t->train->showers)
                : HD_ENOMEM;
    if (rc == HD_OK) {
        hd_mdn_specs(&f.m, &o->energy_layers, &o->gen_layers, &f.energy_spec, &f.voxel_spec);
        hd_cond_scaler_apply(t->cs, nh, heldout->cond, hc);
        rc = rows_of(&f, t->train, t->train->n, t->c, &f.train);
    }
    if (rc == HD_OK) rc = rows_of(&f, heldout, nh, hc, &f.held);
    if (rc == HD_OK) rc = build(&f);
    double t0 = hd_now();
    if (rc == HD_OK) rc = train(&f, &t->heldout_nll, &t->epochs);
    t->seconds = hd_now() - t0;
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", o->out_dir);
    if (rc == HD_OK && hd_dist_rank() == 0) rc = save(&f, path, l, t->prep, t->cs);
    rows_free(&f.train);
    rows_free(&f.held);
    hd_graph_free(f.g);
    hd_mdn_release(&f.m);
    hd_free(hc);
    return rc;
}
