/* Shower files for gen: showers and their conditions in, generated ones out. */
#include "gen_internal.h"

#include <string.h>

static int ends_with_npz(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".npz") == 0;
}

/* A grid file's condition dataset name, of cols columns, into dst[i * stride + offset..]. */
static int read_condition(const char *path, const char *name, int64_t n, int64_t cols, float *dst, int64_t stride,
                          int64_t offset)
{
    hd_array a = {0};
    hd_npz *z = NULL;
    const hd_array *src = &a;
    int rc;
    if (ends_with_npz(path)) {
        if ((rc = hd_npz_read(path, &z)) == HD_OK && !(src = hd_npz_get(z, name)))
            rc = hd_error(HD_EFORMAT, "%s: no array '%s' (an ecal30 file holds the conditions)", path, name);
    } else {
        rc = hd_h5_read(path, name, HD_F32, &a);
    }
    if (rc == HD_OK && (src->ndim != 2 || src->shape[0] < n || src->shape[1] != cols))
        rc = hd_error(HD_EFORMAT, "%s: '%s' has %d dimensions of %lld x %lld, need (%lld, %lld)", path, name,
                      src->ndim, (long long)src->shape[0], (long long)(src->ndim > 1 ? src->shape[1] : 0),
                      (long long)n, (long long)cols);
    for (int64_t i = 0; rc == HD_OK && i < n; i++)
        for (int64_t j = 0; j < cols; j++) {
            double v = hd_array_get(src, i * cols + j);
            if (!(v == v) || v > 1e30 || v < -1e30) {
                rc = hd_error(HD_EFORMAT, "%s: '%s' row %lld column %lld is %g", path, name, (long long)i, (long long)j, v);
                break;
            }
            dst[i * stride + offset + j] = (float)v;
        }
    hd_array_free(&a);
    hd_npz_free(z);
    return rc;
}

int gen_read(const char *path, int64_t max_rows, hd_calo_layout *layout, gen_sample *out)
{
    memset(out, 0, sizeof *out);
    hd_calo_read_opts ro = hd_calo_read_opts_default();
    ro.max_showers = max_rows;
    hd_calo_file f;
    int rc = hd_calo_file_read(path, &ro, &f);
    if (rc != HD_OK) return rc;
    if (!f.has_layout) {
        hd_calo_file_release(&f);
        return hd_error(HD_EINVAL, "%s: %lld voxels match no known layout (ds2, ds3, reduced, ecal30)", path,
                        (long long)f.n_voxels);
    }
    *layout = f.layout;
    int grid = f.layout.kind == HD_CALO_GRID;
    out->n = f.n;
    out->n_vox = f.n_voxels;
    out->n_cond = grid ? 6 : 1;
    out->showers = f.showers;
    f.showers = NULL;
    out->energy = f.energy;
    f.energy = NULL;
    out->cond = hd_malloc((size_t)(f.n * out->n_cond) * sizeof(float));
    if (!out->cond) rc = HD_ENOMEM;
    for (int64_t i = 0; rc == HD_OK && i < f.n; i++) out->cond[i * out->n_cond] = out->energy[i];
    if (rc == HD_OK && grid) rc = read_condition(path, "momentum", f.n, 3, out->cond, 6, 1);
    if (rc == HD_OK && grid) rc = read_condition(path, "entry_point", f.n, 2, out->cond, 6, 4);
    hd_calo_file_release(&f);
    if (rc != HD_OK) gen_sample_release(out);
    return rc;
}

gen_sample gen_rows(const gen_sample *s, int64_t first, int64_t n)
{
    return (gen_sample){.n = n, .n_vox = s->n_vox, .n_cond = s->n_cond, .energy = s->energy + first,
                        .cond = s->cond + first * s->n_cond,
                        .showers = s->showers + first * s->n_vox};
}

void gen_sample_release(gen_sample *s)
{
    hd_free(s->energy);
    hd_free(s->cond);
    hd_free(s->showers);
    memset(s, 0, sizeof *s);
}

int gen_write(const char *path, const hd_calo_layout *l, int64_t n, int64_t n_cond, const float *cond,
              const float *showers)
{
    float *buf = hd_malloc((size_t)(n * 6) * sizeof(float));
    if (!buf) return HD_ENOMEM;
    float *energy = buf, *mom = buf + n, *pt = buf + 4 * n;
    for (int64_t i = 0; i < n; i++) {
        energy[i] = cond[i * n_cond];
        for (int j = 0; j < 3 && n_cond == 6; j++) mom[3 * i + j] = cond[i * 6 + 1 + j];
        for (int j = 0; j < 2 && n_cond == 6; j++) pt[2 * i + j] = cond[i * 6 + 4 + j];
    }
    int64_t nv = hd_calo_layout_voxels(l);
    int rc;
    if (l->kind == HD_CALO_GRID) {
        hd_array e = {.dtype = HD_F32, .ndim = 2, .shape = {n, 1}, .data = energy};
        hd_array s = {.dtype = HD_F32, .ndim = 2, .shape = {n, nv}, .data = (void *)(uintptr_t)showers};
        hd_array m = {.dtype = HD_F32, .ndim = 2, .shape = {n, 3}, .data = mom};
        hd_array p = {.dtype = HD_F32, .ndim = 2, .shape = {n, 2}, .data = pt};
        const char *names[4] = {"incident_energies", "showers", "momentum", "entry_point"};
        const hd_array *arrays[4] = {&e, &s, &m, &p};
        rc = ends_with_npz(path) ? hd_npz_write(path, 4, names, arrays) : hd_h5_write(path, 4, names, arrays);
    } else {
        rc = hd_calo_file_write(path, n, nv, energy, showers);
    }
    hd_free(buf);
    return rc;
}
