/* An optimiser in a checkpoint: the settings it was made with (checked on
 * resume, each refused by its option's name), its step count, its current
 * rate (exact, as a hexadecimal float) and its moment arrays. */
#include "hadron/nn.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SETTINGS 8

/* The settings as text under their option names, in one order. */
static void settings(const hd_optim_opts *o, const char *keys[SETTINGS], char values[SETTINGS][32])
{
    static const char *names[SETTINGS] = {"optimizer", "lr", "momentum", "beta1", "beta2", "eps", "weight_decay",
                                            "clip_norm"};
    const float v[SETTINGS] = {0, o->lr, o->momentum, o->beta1, o->beta2, o->eps, o->weight_decay, o->clip_norm};
    for (int i = 0; i < SETTINGS; i++) {
        keys[i] = names[i];
        if (i == 0) snprintf(values[i], 32, "%s", hd_optim_name(o->kind));
        else hd_checkpoint_float_text(values[i], 32, v[i]);
    }
}

static void key_of(char *key, size_t size, const char *prefix, const char *name)
{
    snprintf(key, size, "%s%s", prefix, name);
}

int hd_optim_record(hd_checkpoint_entries *e, const char *prefix, hd_optim *o, const hd_optim_opts *made_with)
{
    const char *keys[SETTINGS];
    char values[SETTINGS][32], key[128];
    settings(made_with, keys, values);
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < SETTINGS; i++) {
        key_of(key, sizeof key, prefix, keys[i]);
        rc = hd_checkpoint_meta(e, key, "%s", values[i]);
    }
    key_of(key, sizeof key, prefix, "steps");
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, key, "%" PRId64, hd_optim_steps(o));
    key_of(key, sizeof key, prefix, "lr_now");
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, key, "%a", (double)hd_optim_lr(o));
    float *m, *v;
    int64_t n;
    if (rc == HD_OK) rc = hd_optim_state(o, &m, &v, &n);
    key_of(key, sizeof key, prefix, "m");
    if (rc == HD_OK && m) rc = hd_checkpoint_tensor(e, key, m, n);
    key_of(key, sizeof key, prefix, "v");
    if (rc == HD_OK && v) rc = hd_checkpoint_tensor(e, key, v, n);
    return rc;
}

int hd_optim_restore(hd_optim *o, const char *prefix, const hd_optim_opts *want, const hd_safetensors *st,
                     const char *path)
{
    const char *keys[SETTINGS];
    char values[SETTINGS][32], key[128];
    settings(want, keys, values);
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < SETTINGS; i++) {
        key_of(key, sizeof key, prefix, keys[i]);
        rc = hd_checkpoint_meta_same(st, path, key, values[i]);
    }
    float *m, *v;
    const float *fm = NULL, *fv = NULL;
    int64_t n;
    uint64_t steps = 0;
    double lr = 0;
    if (rc == HD_OK) rc = hd_optim_state(o, &m, &v, &n);
    key_of(key, sizeof key, prefix, "m");
    if (rc == HD_OK && m) rc = hd_checkpoint_get(st, path, key, n, &fm);
    key_of(key, sizeof key, prefix, "v");
    if (rc == HD_OK && v) rc = hd_checkpoint_get(st, path, key, n, &fv);
    key_of(key, sizeof key, prefix, "steps");
    if (rc == HD_OK) rc = hd_checkpoint_meta_u64(st, path, key, &steps);
    key_of(key, sizeof key, prefix, "lr_now");
    if (rc == HD_OK) rc = hd_checkpoint_meta_double(st, path, key, &lr);
    if (rc == HD_OK && (steps > (uint64_t)INT64_MAX || !(lr >= 0)))
        rc = hd_error(HD_EFORMAT, "%s: optimiser step count or rate out of range", path);
    if (rc != HD_OK) return rc;
    if (m) memcpy(m, fm, (size_t)n * sizeof(float));
    if (v) memcpy(v, fv, (size_t)n * sizeof(float));
    hd_optim_set_lr(o, (float)lr);
    return hd_optim_set_steps(o, (int64_t)steps);
}
