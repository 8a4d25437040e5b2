/* gan checkpoints: one safetensors file with both networks, both
 * optimisers and what --resume needs to continue bit-identically. */
#include "gan_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *moment_names[4] = {"optim.gen.m", "optim.gen.v", "optim.disc.m", "optim.disc.v"};

/* The four moment arrays in moment_names order. */
static int moments(hd_gan_net *n, float **arr, int64_t *len)
{
    int rc = hd_optim_state(n->opt_g, &arr[0], &arr[1], &len[0]);
    if (rc == HD_OK) rc = hd_optim_state(n->opt_d, &arr[2], &arr[3], &len[2]);
    len[1] = len[0];
    len[3] = len[2];
    return rc;
}

int hd_gan_save(const char *path, const hd_gan_opts *o, hd_gan_net *n, const hd_gan_state *st)
{
    float *arr[4];
    int64_t len[4];
    int rc = moments(n, arr, len);
    if (rc != HD_OK) return rc;
    hd_tensor views[4];
    const hd_tensor *extra[4];
    for (int i = 0; i < 4; i++) {
        views[i] = hd_tensor_view(arr[i], 1, &len[i]);
        extra[i] = &views[i];
    }
    char v[10][32];
    snprintf(v[0], 32, "%" PRId64, n->latent);
    snprintf(v[1], 32, "%" PRId64, o->batch);
    snprintf(v[2], 32, "%" PRIu64, o->seed);
    snprintf(v[3], 32, "%" PRId64, o->n_train);
    snprintf(v[4], 32, "%.9g", (double)o->optim.lr);
    snprintf(v[5], 32, "%.9g", (double)o->optim.beta1);
    snprintf(v[6], 32, "%d", st->epoch);
    snprintf(v[7], 32, "%" PRId64, st->step);
    snprintf(v[8], 32, "%" PRIu64, st->graph_step);
    snprintf(v[9], 32, "%.17g", st->fd_initial);
    hd_meta meta[] = {{"model", "dcgan"},  {"workflow", "gan"}, {"latent", v[0]},     {"batch", v[1]},
                      {"seed", v[2]},      {"n_train", v[3]},   {"lr", v[4]},         {"beta1", v[5]},
                      {"epoch", v[6]},     {"step", v[7]},      {"graph_step", v[8]}, {"fd_initial", v[9]}};
    return hd_checkpoint_save_extra(n->g, path, HD_ALL, 4, moment_names, extra, (int)(sizeof meta / sizeof meta[0]),
                                    meta);
}

/* A metadata value as an integer; errors name the file and the key. */
static int meta_u64(const hd_safetensors *st, const char *path, const char *key, uint64_t *out)
{
    const char *s = hd_safetensors_meta(st, key);
    if (!s) return hd_error(HD_EFORMAT, "%s: no '%s' in the metadata (not a hadron gan checkpoint?)", path, key);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return hd_error(HD_EFORMAT, "%s: metadata '%s' is '%s', not a count", path, key, s);
    *out = v;
    return HD_OK;
}

/* The options a resumed run must share with the checkpoint. */
static int check_same(const hd_safetensors *st, const char *path, const hd_gan_opts *o, int64_t latent)
{
    struct { const char *key, *flag; uint64_t want; } same[] = {
        {"latent", "latent", (uint64_t)latent}, {"batch", "batch", (uint64_t)o->batch},
        {"seed", "seed", o->seed},              {"n_train", "n-train", (uint64_t)o->n_train}};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        uint64_t have;
        int rc = meta_u64(st, path, same[i].key, &have);
        if (rc != HD_OK) return rc;
        if (have != same[i].want)
            return hd_error(HD_EINVAL, "%s: trained with --%s %" PRIu64 "; resume with the same (not %" PRIu64 ")", path,
                            same[i].flag, have, same[i].want);
    }
    struct { const char *key; float want; } rates[] = {{"lr", o->optim.lr}, {"beta1", o->optim.beta1}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        const char *have = hd_safetensors_meta(st, rates[i].key);
        char want[32];
        snprintf(want, sizeof want, "%.9g", (double)rates[i].want);
        if (!have)
            return hd_error(HD_EINVAL, "%s: no %s in the metadata (written by an older hadron); train afresh", path,
                            rates[i].key);
        if (strcmp(have, want) != 0)
            return hd_error(HD_EINVAL, "%s: trained with --%s %g; resume with the same (not %g)", path, rates[i].key,
                            strtod(have, NULL), (double)rates[i].want);
    }
    return HD_OK;
}

static int check_moments(const hd_safetensors *st, const char *path, const int64_t *len)
{
    for (int i = 0; i < 4; i++) {
        const hd_tensor *t = hd_safetensors_get(st, moment_names[i]);
        if (!t) return hd_error(HD_EFORMAT, "%s: missing tensor '%s'", path, moment_names[i]);
        if (t->ndim != 1 || t->shape[0] != len[i])
            return hd_error(HD_EFORMAT, "%s: '%s' has %lld values, the optimiser %lld", path, moment_names[i],
                            (long long)hd_tensor_numel(t), (long long)len[i]);
    }
    return HD_OK;
}

static int read_state(const hd_safetensors *st, const char *path, hd_gan_state *s)
{
    uint64_t epoch, step;
    int rc = meta_u64(st, path, "epoch", &epoch);
    if (rc == HD_OK) rc = meta_u64(st, path, "step", &step);
    if (rc == HD_OK) rc = meta_u64(st, path, "graph_step", &s->graph_step);
    if (rc != HD_OK) return rc;
    const char *fd = hd_safetensors_meta(st, "fd_initial");
    char *end = NULL;
    s->fd_initial = fd ? strtod(fd, &end) : 0;
    if (!fd || end == fd || *end) return hd_error(HD_EFORMAT, "%s: metadata 'fd_initial' is missing or not a number", path);
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
    float *arr[4];
    int64_t len[4];
    hd_gan_state tmp;
    if ((rc = moments(n, arr, len)) == HD_OK && (rc = check_same(st, path, o, n->latent)) == HD_OK &&
        (rc = check_moments(st, path, len)) == HD_OK && (rc = read_state(st, path, &tmp)) == HD_OK &&
        (rc = hd_checkpoint_load(n->g, path, HD_ALL)) == HD_OK) {
        for (int i = 0; i < 4; i++)
            memcpy(arr[i], hd_safetensors_get(st, moment_names[i])->data, (size_t)len[i] * sizeof(float));
        hd_optim_set_steps(n->opt_g, tmp.step);
        hd_optim_set_steps(n->opt_d, tmp.step);
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
    else if ((rc = meta_u64(st, path, "latent", &v)) == HD_OK && (v < 1 || v > 4096))
        rc = hd_error(HD_EFORMAT, "%s: latent size %" PRIu64 " out of range 1..4096", path, v);
    *latent = (int64_t)v;
    hd_safetensors_free(st);
    return rc;
}
