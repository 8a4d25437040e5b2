/* What a checkpoint holds besides the params: metadata and further tensors
 * collected from several owners (a workflow, an optimiser, the trainer),
 * and typed reading of metadata back with errors that name file and key. */
#include "hadron/nn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hd_checkpoint_entries_init(hd_checkpoint_entries *e) { memset(e, 0, sizeof *e); }

void hd_checkpoint_entries_release(hd_checkpoint_entries *e)
{
    for (int i = 0; i < e->n_meta; i++) {
        hd_free(e->keys[i]);
        hd_free(e->values[i]);
    }
    for (int i = 0; i < e->n_tensors; i++) hd_free(e->names[i]);
    memset(e, 0, sizeof *e);
}

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = hd_malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static int full(hd_checkpoint_entries *e, const char *what, const char *name)
{
    e->failed = 1;
    return hd_error(HD_EINVAL, "checkpoint: more than %d %s entries (at '%s')", HD_CHECKPOINT_MAX_ENTRIES, what, name);
}

int hd_checkpoint_meta(hd_checkpoint_entries *e, const char *key, const char *fmt, ...)
{
    if (e->n_meta == HD_CHECKPOINT_MAX_ENTRIES) return full(e, "metadata", key);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *v = n >= 0 ? hd_malloc((size_t)n + 1) : NULL, *k = copy(key);
    if (!v || !k) {
        hd_free(v);
        hd_free(k);
        e->failed = 1;
        return HD_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(v, (size_t)n + 1, fmt, ap);
    va_end(ap);
    e->keys[e->n_meta] = k;
    e->values[e->n_meta++] = v;
    return HD_OK;
}

int hd_checkpoint_tensor(hd_checkpoint_entries *e, const char *name, float *data, int64_t n)
{
    if (e->n_tensors == HD_CHECKPOINT_MAX_ENTRIES) return full(e, "tensor", name);
    char *c = copy(name);
    if (!c) {
        e->failed = 1;
        return HD_ENOMEM;
    }
    e->lengths[e->n_tensors] = n;
    e->tensors[e->n_tensors] = hd_tensor_view(data, 1, &e->lengths[e->n_tensors]);
    e->names[e->n_tensors++] = c;
    return HD_OK;
}

void hd_checkpoint_float_text(char *buf, size_t size, float f)
{
    if (!buf || size == 0) return;
    for (int digits = 6; digits <= 9; digits++) {
        int n = snprintf(buf, size, "%.*g", digits, (double)f);
        if (n > 0 && (size_t)n < size && strtof(buf, NULL) == f) return;
    }
}

static const char *meta_need(const hd_safetensors *st, const char *path, const char *key)
{
    const char *s = hd_safetensors_meta(st, key);
    if (!s) hd_error(HD_EFORMAT, "%s: no '%s' in the metadata", path, key);
    return s;
}

int hd_checkpoint_meta_u64(const hd_safetensors *st, const char *path, const char *key, uint64_t *out)
{
    const char *s = meta_need(st, path, key);
    if (!s) return HD_EFORMAT;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return hd_error(HD_EFORMAT, "%s: metadata '%s' is '%s', not a count", path, key, s);
    *out = v;
    return HD_OK;
}

int hd_checkpoint_meta_double(const hd_safetensors *st, const char *path, const char *key, double *out)
{
    const char *s = meta_need(st, path, key);
    if (!s) return HD_EFORMAT;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end) return hd_error(HD_EFORMAT, "%s: metadata '%s' is '%s', not a number", path, key, s);
    *out = v;
    return HD_OK;
}

/* "--weight-decay" for "weight_decay", after the last '.' of a prefixed key. */
static void flag_of(char *flag, size_t size, const char *key)
{
    const char *dot = strrchr(key, '.');
    snprintf(flag, size, "--%s", dot ? dot + 1 : key);
    for (char *p = flag + 2; *p; p++)
        if (*p == '_') *p = '-';
}

int hd_checkpoint_meta_same(const hd_safetensors *st, const char *path, const char *key, const char *want)
{
    const char *have = hd_safetensors_meta(st, key);
    char flag[96];
    flag_of(flag, sizeof flag, key);
    if (!have)
        return hd_error(HD_EINVAL, "%s: no '%s' in the metadata (written by another hadron version?); train afresh",
                        path, key);
    if (strcmp(have, want) != 0)
        return hd_error(HD_EINVAL, "%s: trained with %s %s; resume with the same (not %s)", path, flag, have, want);
    return HD_OK;
}

int hd_checkpoint_get(const hd_safetensors *st, const char *path, const char *name, int64_t n, const float **out)
{
    const hd_tensor *t = hd_safetensors_get(st, name);
    if (!t) return hd_error(HD_EFORMAT, "%s: missing tensor '%s'", path, name);
    if (t->ndim != 1 || t->shape[0] != n)
        return hd_error(HD_EFORMAT, "%s: '%s' has %lld values, expected %lld", path, name,
                        (long long)hd_tensor_numel(t), (long long)n);
    *out = t->data;
    return HD_OK;
}
