/* gan checkpoints: one safetensors file with both networks, both
 * optimisers and what --resume needs to continue bit-identically. */
#include "gan_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The options a resumed run must share, as text under their flag names. */
#define SAME 4
static void same_settings(const hd_gan_opts *o, int64_t latent, char v[SAME][32])
{
    snprintf(v[0], 32, "%" PRId64, latent);
    snprintf(v[1], 32, "%" PRId64, o->batch);
    snprintf(v[2], 32, "%" PRIu64, o->seed);
    snprintf(v[3], 32, "%" PRId64, o->n_train);
}
static const char *same_keys[SAME] = {"latent", "batch", "seed", "n_train"};

int hd_gan_save(const char *path, const hd_gan_opts *o, hd_gan_net *n, const hd_gan_state *st)
{
    char v[SAME][32];
    same_settings(o, n->latent, v);
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    int rc = hd_checkpoint_meta(&e, "model", "dcgan");
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "workflow", "gan");
    for (int i = 0; rc == HD_OK && i < SAME; i++) rc = hd_checkpoint_meta(&e, same_keys[i], "%s", v[i]);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "epoch", "%d", st->epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "step", "%" PRId64, st->step);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "graph_step", "%" PRIu64, st->graph_step);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "fd_initial", "%.17g", st->fd_initial);
    if (rc == HD_OK) rc = hd_optim_record(&e, "optim.gen.", n->opt_g, &o->optim);
    if (rc == HD_OK) rc = hd_optim_record(&e, "optim.disc.", n->opt_d, &o->optim);
    if (rc == HD_OK) rc = hd_checkpoint_write(n->g, path, HD_ALL, &e);
    hd_checkpoint_entries_release(&e);
    return rc;
}

static int check_same(const hd_safetensors *st, const char *path, const hd_gan_opts *o, int64_t latent)
{
    char v[SAME][32];
    same_settings(o, latent, v);
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < SAME; i++) rc = hd_checkpoint_meta_same(st, path, same_keys[i], v[i]);
    return rc;
}

static int read_state(const hd_safetensors *st, const char *path, hd_gan_state *s)
{
    uint64_t epoch, step;
    int rc = hd_checkpoint_meta_u64(st, path, "epoch", &epoch);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "step", &step);
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, "graph_step", &s->graph_step);
    if (rc == HD_OK) rc = hd_checkpoint_meta_double(st, path, "fd_initial", &s->fd_initial);
    if (rc != HD_OK) return rc;
    if (epoch > 1000000 || step > INT64_MAX / 2) return hd_error(HD_EFORMAT, "%s: epoch or step out of range", path);
    s->epoch = (int)epoch;
    s->step = (int64_t)step;
    return HD_OK;
}

int hd_gan_load(const char *path, const hd_gan_opts *o, hd_gan_net *n, hd_gan_state *s)
{
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    hd_gan_state tmp;
    /* the options and the shapes are checked before anything changes */
    if ((rc = check_same(st, path, o, n->latent)) == HD_OK && (rc = read_state(st, path, &tmp)) == HD_OK &&
        (rc = hd_checkpoint_check(n->g, st, path, HD_ALL)) == HD_OK &&
        (rc = hd_optim_restore(n->opt_g, "optim.gen.", &o->optim, st, path)) == HD_OK &&
        (rc = hd_optim_restore(n->opt_d, "optim.disc.", &o->optim, st, path)) == HD_OK &&
        (rc = hd_checkpoint_load_parsed(n->g, st, path, HD_ALL)) == HD_OK) {
        hd_graph_set_step(n->g, tmp.graph_step);
        *s = tmp;
    }
    hd_safetensors_free(st);
    return rc;
}

int hd_gan_checkpoint_latent(const char *path, int64_t *latent)
{
    hd_safetensors *st;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    const char *model = hd_safetensors_meta(st, "model");
    uint64_t v = 0;
    if (!model || strcmp(model, "dcgan") != 0)
        rc = hd_error(HD_EFORMAT, "%s: not a hadron gan checkpoint (model '%s', want 'dcgan')", path,
                      model ? model : "none");
    else if ((rc = hd_checkpoint_meta_u64(st, path, "latent", &v)) == HD_OK && (v < 1 || v > 4096))
        rc = hd_error(HD_EFORMAT, "%s: latent size %" PRIu64 " out of range 1..4096", path, v);
    *latent = (int64_t)v;
    hd_safetensors_free(st);
    return rc;
}
