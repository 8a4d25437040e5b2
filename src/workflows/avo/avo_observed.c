/* Observed data for the avo workflow from a NumPy file: one row per
 * observation, of the simulator's observation shape. */
#include "hadron/workflows.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A shape as NumPy writes it: "(300, 5, 4)", "(2,)"; rows < 0: "N". */
static const char *tuple(int ndim, const int64_t *shape, int64_t rows, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++) {
        if (i == 0 && rows < 0) used += (size_t)snprintf(buf + used, size - used, "N");
        else used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (used < size) snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
    return buf;
}

static int check_array(const char *path, const hd_simulator *s, const hd_array *a)
{
    char got[96], want[96];
    int64_t full[4] = {0};
    memcpy(full + 1, s->obs_shape, (size_t)s->obs_ndim * sizeof *full);
    if (a->dtype != HD_F32 && a->dtype != HD_F64)
        return hd_error(HD_EFORMAT, "%s: dtype %s: observations must be float32 or float64", path,
                        hd_dtype_name(a->dtype));
    int ok = a->ndim == s->obs_ndim + 1 || (a->ndim == 1 && hd_simulator_obs_size(s) == 1);
    for (int i = 1; ok && i < a->ndim; i++) ok = a->shape[i] == s->obs_shape[i - 1];
    if (!ok)
        return hd_error(HD_ESHAPE, "%s: shape %s: the %s simulator's observations need shape %s%s", path,
                        tuple(a->ndim, a->shape, 0, got, sizeof got), s->name,
                        tuple(s->obs_ndim + 1, full, -1, want, sizeof want),
                        hd_simulator_obs_size(s) == 1 ? " or (N,)" : "");
    if (a->shape[0] < 2)
        return hd_error(HD_ESHAPE, "%s: shape %s: %lld observation%s, at least 2 are needed", path,
                        tuple(a->ndim, a->shape, 0, got, sizeof got), (long long)a->shape[0],
                        a->shape[0] == 1 ? "" : "s");
    return HD_OK;
}

int hd_avo_read_observed(const char *path, const hd_simulator *s, float **observed, int64_t *n)
{
    *observed = NULL;
    *n = 0;
    if (!path || !s) return hd_error(HD_EINVAL, "hd_avo_read_observed: NULL %s", path ? "simulator" : "path");
    hd_array a = {0};
    int rc = hd_npy_read(path, &a);
    if (rc == HD_OK) rc = check_array(path, s, &a);
    int64_t size = hd_simulator_obs_size(s), rows = rc == HD_OK ? a.shape[0] : 0;
    float *x = NULL;
    if (rc == HD_OK && !(x = hd_malloc((size_t)(rows * size) * sizeof *x))) rc = HD_ENOMEM;
    if (rc == HD_OK) hd_array_to_f32(&a, x);
    for (int64_t i = 0; rc == HD_OK && i < rows * size; i++)
        if (!isfinite(x[i]))
            rc = hd_error(HD_EINVAL, "%s: entry %lld (row %lld) is %g: observations must be finite", path,
                          (long long)i, (long long)(i / size), (double)x[i]);
    hd_array_free(&a);
    if (rc != HD_OK) {
        hd_free(x);
        return rc;
    }
    *observed = x;
    *n = rows;
    return HD_OK;
}
