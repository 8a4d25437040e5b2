/* Dense float32 tensors, owning or views. */
#include "hadron/core.h"

#include <stdio.h>
#include <string.h>

int64_t hd_shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

int hd_shape_valid(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > HD_MAX_DIM) return 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1 || shape[i] > INT64_MAX / 4 / n) return 0;
        n *= shape[i];
    }
    return 1;
}

int64_t hd_tensor_numel(const hd_tensor *t) { return hd_shape_numel(t->ndim, t->shape); }

char *hd_shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++) {
        const char *sep = i ? ", " : "";
        if (shape[i] == HD_BATCH) used += (size_t)snprintf(buf + used, size - used, "%sB", sep);
        else used += (size_t)snprintf(buf + used, size - used, "%s%lld", sep, (long long)shape[i]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

hd_tensor hd_tensor_view(float *data, int ndim, const int64_t *shape)
{
    hd_tensor t = {.data = data, .ndim = ndim, .owner = 0};
    for (int i = 0; i < ndim && i < HD_MAX_DIM; i++) t.shape[i] = shape[i];
    return t;
}

static hd_tensor *tensor_alloc(int ndim, const int64_t *shape)
{
    if (!hd_shape_valid(ndim, shape)) {
        char s[96];
        hd_error(HD_ESHAPE, "invalid tensor shape %s", hd_shape_str(ndim < 0 ? 0 : ndim > 4 ? 4 : ndim, shape, s, sizeof s));
        return NULL;
    }
    return hd_calloc(1, sizeof(hd_tensor));
}

hd_tensor *hd_tensor_new(int ndim, const int64_t *shape)
{
    hd_tensor *t = tensor_alloc(ndim, shape);
    if (!t) return NULL;
    *t = hd_tensor_view(NULL, ndim, shape);
    t->data = hd_calloc((size_t)hd_shape_numel(ndim, shape), sizeof(float));
    if (!t->data) {
        hd_free(t);
        return NULL;
    }
    t->owner = 1;
    return t;
}

hd_tensor *hd_tensor_wrap(float *data, int ndim, const int64_t *shape)
{
    hd_tensor *t = tensor_alloc(ndim, shape);
    if (t) *t = hd_tensor_view(data, ndim, shape);
    return t;
}

void hd_tensor_free(hd_tensor *t)
{
    if (!t) return;
    if (t->owner) hd_free(t->data);
    hd_free(t);
}
