/* Typed n-dimensional arrays as NumPy files hold them: the one place that
 * knows each dtype's size, name and conversion. */
#include "data/npz_internal.h"

#include <math.h>
#include <string.h>

int64_t hd_array_numel(const hd_array *a)
{
    if (!a || a->ndim < 0 || a->ndim > HD_MAX_DIM) return 0;
    return hd_shape_numel(a->ndim, a->shape);
}

size_t hd_dtype_size(hd_dtype t)
{
    switch (t) {
    case HD_F32: return 4;
    case HD_F64: return 8;
    case HD_I32: return 4;
    case HD_I64: return 8;
    }
    return 0;
}

const char *hd_dtype_name(hd_dtype t)
{
    switch (t) {
    case HD_F32: return "float32";
    case HD_F64: return "float64";
    case HD_I32: return "int32";
    case HD_I64: return "int64";
    }
    return "unknown";
}

/* Out-of-range reads give NaN rather than touching memory: a caller's bad
 * index must not turn into a read outside the array. */
double hd_array_get(const hd_array *a, int64_t i)
{
    if (!a || !a->data || i < 0 || i >= hd_array_numel(a)) return NAN;
    switch (a->dtype) {
    case HD_F32: return ((const float *)a->data)[i];
    case HD_F64: return ((const double *)a->data)[i];
    case HD_I32: return ((const int32_t *)a->data)[i];
    case HD_I64: return (double)((const int64_t *)a->data)[i];
    }
    return NAN;
}

void hd_array_to_f32(const hd_array *a, float *out)
{
    int64_t n = hd_array_numel(a);
    if (!a || !a->data || !out) return;
    switch (a->dtype) {
    case HD_F32: memcpy(out, a->data, (size_t)n * sizeof(float)); break;
    case HD_F64: for (int64_t i = 0; i < n; i++) out[i] = (float)((const double *)a->data)[i]; break;
    case HD_I32: for (int64_t i = 0; i < n; i++) out[i] = (float)((const int32_t *)a->data)[i]; break;
    case HD_I64: for (int64_t i = 0; i < n; i++) out[i] = (float)((const int64_t *)a->data)[i]; break;
    }
}

/* Bytes of data for dtype and shape, or -1 when a dim is negative or the
 * size does not fit in int64 (so numel, bytes and size_t all fit). */
static int64_t data_bytes(hd_dtype dtype, int ndim, const int64_t *shape)
{
    int64_t n = (int64_t)hd_dtype_size(dtype);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0) return -1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) return 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > INT64_MAX / n) return -1;
        n *= shape[d];
    }
    return (uint64_t)n > SIZE_MAX ? -1 : n;
}

static int valid_dtype(hd_dtype t) { return hd_dtype_size(t) != 0; }

int hd_array_check(const char *label, const hd_array *a, uint64_t *bytes)
{
    if (!a) return hd_error(HD_EINVAL, "%s: NULL array", label);
    if (!valid_dtype(a->dtype)) return hd_error(HD_EINVAL, "%s: unknown dtype %d", label, (int)a->dtype);
    if (a->ndim < 0 || a->ndim > HD_MAX_DIM)
        return hd_error(HD_EINVAL, "%s: %d dimensions; arrays have 0 to %d", label, a->ndim, HD_MAX_DIM);
    int64_t n = data_bytes(a->dtype, a->ndim, a->shape);
    if (n < 0) {
        char s[128];
        return hd_error(HD_EINVAL, "%s: shape %s has a negative dimension or is too large", label,
                        hd_shape_str(a->ndim, a->shape, s, sizeof s));
    }
    if (n > 0 && !a->data) return hd_error(HD_EINVAL, "%s: array has no data", label);
    *bytes = (uint64_t)n;
    return HD_OK;
}

int hd_array_new(hd_array *a, hd_dtype dtype, int ndim, const int64_t *shape)
{
    if (!a) return hd_error(HD_EINVAL, "hd_array_new: NULL array");
    memset(a, 0, sizeof *a);
    if (!valid_dtype(dtype)) return hd_error(HD_EINVAL, "hd_array_new: unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > HD_MAX_DIM || (ndim > 0 && !shape))
        return hd_error(HD_EINVAL, "hd_array_new: %d dimensions; arrays have 0 to %d", ndim, HD_MAX_DIM);
    int64_t n = data_bytes(dtype, ndim, shape);
    if (n < 0) {
        char s[128];
        return hd_error(HD_EINVAL, "hd_array_new: shape %s has a negative dimension or is too large",
                        hd_shape_str(ndim, shape, s, sizeof s));
    }
    /* an empty array still gets a buffer, so data == NULL always means "none" */
    void *data = hd_calloc((size_t)n ? (size_t)n : 1, 1);
    if (!data) return HD_ENOMEM;
    a->dtype = dtype;
    a->ndim = ndim;
    for (int d = 0; d < ndim; d++) a->shape[d] = shape[d];
    a->data = data;
    return HD_OK;
}

void hd_array_free(hd_array *a)
{
    if (!a) return;
    hd_free(a->data);
    memset(a, 0, sizeof *a);
}
