/* Training the networks of hadron gen: epochs of shuffled batches, a
 * history row and progress per epoch, a checkpoint every N epochs that is
 * also the generator model, and a resume that continues bit-identically:
 * the batches' order comes from the epoch, the noise from the step, and the
 * checkpoint holds both networks, both optimisers and the counters. */
#include "gen_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define ELBO_ROWS 2000
#define ELBO_STEP 0xFFFFFF00u /* graph step of the held-out ELBO's draws, apart from training's */

/* The options a resumed run must share, under their flag names. */
#define SAME 11
static void same_settings(const gen_train_ctx *t, char v[SAME][64])
{
    const hd_gen_opts *o = t->o;
    char f[3][32];
    hd_checkpoint_float_text(f[0], sizeof f[0], o->gp_lambda);
    hd_checkpoint_float_text(f[1], sizeof f[1], o->kl_weight);
    hd_checkpoint_float_text(f[2], sizeof f[2], o->enforce_weight);
    snprintf(v[0], 64, "%s", hd_gen_model_name(o->model));
    snprintf(v[1], 64, "%" PRId64, o->batch);
    snprintf(v[2], 64, "%" PRIu64, o->seed);
    snprintf(v[3], 64, "%" PRId64, o->latent);
    hd_mlp_spec_layers_text(&o->gen_layers, v[4], 64);
    hd_mlp_spec_layers_text(&o->critic_layers, v[5], 48);
    if (!o->critic_norm) strcat(v[5], ",no-norm");
    snprintf(v[6], 64, "%d", o->n_critic);
    snprintf(v[7], 64, "%s", f[0]);
    snprintf(v[8], 64, "%s", f[1]);
    snprintf(v[9], 64, "%u:%s", o->enforce, f[2]);
    snprintf(v[10], 64, "%" PRId64, t->train->n);
}
static const char *const same_keys[SAME] = {"gen.model", "gen.batch", "gen.seed", "gen.latent", "gen.gen_layers",
                                            "gen.critic_layers", "gen.n_critic", "gen.gp_lambda", "gen.kl_weight",
                                            "gen.enforce", "gen.n_train"};

typedef struct {
    int epoch;
    int64_t step;
} loop_state;

static int save(const gen_train_ctx *t, gen_net *n, const loop_state *s, const char *path)
{
    char v[SAME][64];
    same_settings(t, v);
    char *spec = hd_mlp_spec_to_json(&n->gen_spec);
    if (!spec) return HD_ENOMEM;
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    int rc = hd_generator_record(&e, hd_gen_model_name(t->o->model), t->layout, t->prep, t->cs);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "mlp", "%s", spec);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "latent", "%" PRId64, n->latent);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "arch", "%s", n->conv ? "conv30" : "mlp");
    for (int i = 0; rc == HD_OK && i < SAME; i++) rc = hd_checkpoint_meta(&e, same_keys[i], "%s", v[i]);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "epoch", "%d", s->epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "step", "%" PRId64, s->step);
    if (rc == HD_OK) rc = hd_optim_record(&e, "optim.gen.", n->opt_g, &t->o->optim_gen);
    if (rc == HD_OK) rc = hd_optim_record(&e, "optim.critic.", n->opt_d, &t->o->optim_critic);
    if (rc == HD_OK) rc = hd_checkpoint_write(n->g, path, HD_ALL, &e);
    hd_checkpoint_entries_release(&e);
    hd_free(spec);
    return rc;
}

/* The transforms are fitted again from the data; a resume on other data is refused. */
static int same_data(const hd_safetensors *st, const char *path, const gen_train_ctx *t)
{
    const float *mean;
    int rc = hd_checkpoint_get(st, path, "prep.mean", t->prep->n_voxels, &mean);
    if (rc != HD_OK) return rc;
    if (memcmp(mean, t->prep->mean, (size_t)t->prep->n_voxels * sizeof(float)) != 0)
        return hd_error(HD_EINVAL, "%s: trained on other showers (the voxel means differ); resume with the same --data",
                        path);
    return HD_OK;
}

static int load(const gen_train_ctx *t, gen_net *n, loop_state *s, const char *path)
{
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    char v[SAME][64];
    same_settings(t, v);
    uint64_t epoch = 0, step = 0;
    for (int i = 0; rc == HD_OK && i < SAME; i++) rc = hd_checkpoint_meta_same(st, path, same_keys[i], v[i]);
    if (rc == HD_OK) rc = same_data(st, path, t);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "epoch", &epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "step", &step);
    if (rc == HD_OK && (epoch > 1000000 || step > INT64_MAX / 2))
        rc = hd_error(HD_EFORMAT, "%s: epoch or step out of range", path);
    if (rc == HD_OK && (int)epoch > t->o->epochs)
        rc = hd_error(HD_EINVAL, "%s: already %d epochs, more than --epochs %d", path, (int)epoch, t->o->epochs);
    if (rc == HD_OK) rc = hd_checkpoint_check(n->g, st, path, HD_ALL);
    if (rc == HD_OK) rc = hd_optim_restore(n->opt_g, "optim.gen.", &t->o->optim_gen, st, path);
    if (rc == HD_OK) rc = hd_optim_restore(n->opt_d, "optim.critic.", &t->o->optim_critic, st, path);
    if (rc == HD_OK) rc = hd_checkpoint_load_parsed(n->g, st, path, HD_ALL);
    if (rc == HD_OK) {
        s->epoch = (int)epoch;
        s->step = (int64_t)step;
    }
    hd_safetensors_free(st);
    return rc;
}

/* This rank's rows of global batch k: rows part, part + parts, ... */
static void load_batch(gen_net *n, const gen_train_ctx *t, const int64_t *order, int64_t k)
{
    int64_t B = n->batch, V = n->n_vox, C = n->n_cond;
    float *x = hd_node_value(n->real)->data, *c = hd_node_value(n->cond)->data;
    for (int64_t i = 0; i < B; i++) {
        int64_t r = order[k * n->global_batch + n->part + i * n->parts];
        memcpy(x + i * V, t->x + r * V, (size_t)V * sizeof(float));
        memcpy(c + i * C, t->c + r * C, (size_t)C * sizeof(float));
    }
}

/* The vae's ELBO per shower on held-out showers, whole global batches of
 * them, each rank its rows of each. */
static int heldout_elbo(gen_net *n, const gen_train_ctx *t, double *out)
{
    int64_t B = n->batch, GB = n->global_batch, V = n->n_vox, C = n->n_cond, batches = t->n_elbo / GB;
    double sum = 0;
    int rc = HD_OK;
    for (int64_t k = 0; rc == HD_OK && k < batches; k++) {
        float *x = hd_node_value(n->real)->data, *c = hd_node_value(n->cond)->data;
        for (int64_t i = 0; i < B; i++) {
            int64_t r = k * GB + n->part + i * n->parts;
            memcpy(x + i * V, t->hx + r * V, (size_t)V * sizeof(float));
            memcpy(c + i * C, t->hc + r * C, (size_t)C * sizeof(float));
        }
        hd_graph_set_step(n->g, ELBO_STEP + (uint64_t)k);
        if ((rc = hd_graph_forward(n->g, n->elbo)) == HD_OK) sum += hd_node_scalar(n->elbo);
    }
    if (rc == HD_OK && n->parts > 1 && (rc = hd_dist_sum_double(&sum, 1)) == HD_OK) sum /= n->parts;
    *out = batches > 0 ? sum / (double)batches : NAN;
    return rc;
}

/* The epoch's mean losses over the ranks (each a mean over its equal share), and
 * a check that every rank holds the same networks. */
static int gather_epoch(gen_net *n, hd_gen_epoch *ep)
{
    if (n->parts < 2) return HD_OK;
    double v[3] = {ep->critic_loss, ep->gen_loss, ep->extra};
    int rc = hd_dist_sum_double(v, 3);
    if (rc != HD_OK) return rc;
    ep->critic_loss = v[0] / n->parts, ep->gen_loss = v[1] / n->parts, ep->extra = v[2] / n->parts;
    uint64_t h = hd_dist_hash(n->pg, (size_t)n->ng * sizeof(float)) ^ hd_dist_hash(n->pd, (size_t)n->nd * sizeof(float));
    return hd_dist_same(h, "the networks after an epoch");
}

static int train_epoch(gen_net *n, const gen_train_ctx *t, loop_state *s, int64_t *order, hd_gen_epoch *ep)
{
    const hd_gen_opts *o = t->o;
    int64_t rows = t->train->n, spe = rows / n->global_batch;
    hd_rng rng;
    hd_rng_init(&rng, o->seed, HD_STREAM_SHUFFLE);
    rng.counter = (uint64_t)(s->epoch + 1) << 32;
    hd_rng_permutation(&rng, rows, order);
    double csum = 0, gsum = 0, ssum = 0;
    int64_t nc = 0, ng = 0, ns = 0;
    int rc = HD_OK;
    for (int64_t k = 0; rc == HD_OK && k < spe; k++) {
        double cl, gl, st;
        load_batch(n, t, order, k);
        if ((rc = gen_net_step(n, o, s->step, &cl, &gl, &st))) break;
        s->step++;
        if (!isnan(cl)) csum += cl, nc++;
        if (!isnan(gl)) gsum += gl, ng++;
        if (!isnan(st)) ssum += st, ns++;
        if (!isfinite(cl) && !isnan(cl)) rc = hd_error(HD_EINVAL, "gen: the critic loss diverged at step %" PRId64, s->step);
        if (!isfinite(gl) && !isnan(gl)) rc = hd_error(HD_EINVAL, "gen: the generator loss diverged at step %" PRId64, s->step);
    }
    ep->critic_loss = nc ? csum / (double)nc : NAN;
    ep->gen_loss = ng ? gsum / (double)ng : NAN;
    ep->extra = ns ? ssum / (double)ns : NAN;
    return rc == HD_OK ? gather_epoch(n, ep) : rc;
}

int gen_train_net(gen_train_ctx *t)
{
    const hd_gen_opts *o = t->o;
    gen_net n;
    int rank = hd_dist_rank(), ranks = hd_dist_size();
    int rc = gen_net_build_part(&n, o, t->train->n_vox, t->train->n_cond, t->layout, t->prep, rank, ranks);
    if (rc != HD_OK) return rc;
    char path[4096], hist[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", o->out_dir);
    snprintf(hist, sizeof hist, "%s/history.csv", o->out_dir);
    loop_state s = {0};
    if (o->resume) rc = load(t, &n, &s, path);
    FILE *f = NULL;
    const char *header = o->model == HD_GEN_VAE ? "epoch,loss,kl,heldout_elbo,seconds\n"
                                                : "epoch,critic_loss,gen_loss,critic_stat,seconds\n";
    if (rc == HD_OK && rank == 0) rc = hd_history_open(hist, header, s.epoch, &f); /* rank 0 alone writes */
    int64_t *order = hd_malloc((size_t)t->train->n * sizeof(int64_t));
    if (rc == HD_OK && !order) rc = HD_ENOMEM;
    t->heldout_elbo = NAN;
    double t_start = hd_now();
    while (rc == HD_OK && s.epoch < o->epochs) {
        hd_gen_epoch ep = {.epoch = s.epoch + 1};
        double t0 = hd_now();
        if ((rc = train_epoch(&n, t, &s, order, &ep))) break;
        s.epoch++;
        if (o->model == HD_GEN_VAE) {
            double kl = ep.extra;
            if ((rc = heldout_elbo(&n, t, &ep.extra))) break;
            t->heldout_elbo = ep.extra;
            ep.critic_loss = kl; /* the history's second column */
        }
        ep.seconds = hd_now() - t0;
        if (f && o->model == HD_GEN_VAE)
            fprintf(f, "%d,%.7g,%.7g,%.7g,%.3f\n", ep.epoch, ep.gen_loss, ep.critic_loss, ep.extra, ep.seconds);
        else if (f)
            fprintf(f, "%d,%.7g,%.7g,%.7g,%.3f\n", ep.epoch, ep.critic_loss, ep.gen_loss, ep.extra, ep.seconds);
        if (f && fflush(f) != 0) rc = hd_error(HD_EIO, "writing %s failed", hist);
        if (rc == HD_OK && rank == 0 && (s.epoch % o->checkpoint_every == 0 || s.epoch == o->epochs))
            rc = save(t, &n, &s, path);
        if (rc == HD_OK && o->on_epoch) o->on_epoch(o->user, &ep);
    }
    if (rc == HD_OK && s.epoch == o->epochs && o->resume && isnan(t->heldout_elbo) &&
        o->model == HD_GEN_VAE)
        rc = heldout_elbo(&n, t, &t->heldout_elbo);
    t->seconds = hd_now() - t_start;
    t->epochs = s.epoch;
    if (f) fclose(f);
    hd_free(order);
    gen_net_free(&n);
    return rc;
}
