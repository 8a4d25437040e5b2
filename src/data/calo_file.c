/* CaloChallenge shower files (data.h): incident_energies and showers, from
 * an HDF5 file (data/hdf5.c) or an .npz (data/npz.c) with the same names,
 * checked the same way whichever the format.  An HDF5 file is read through
 * the row reader straight into the float32 result, so a float64 file costs
 * no float64 copy. */
#include "hadron/data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ENERGIES "incident_energies"
#define SHOWERS "showers"

/* Known layouts, by name, for the guess from a voxel count (data/calo_layout.c). */
static const char *const LAYOUTS[] = {"ds2", "ds3", "reduced", "ecal30"};

typedef enum { FORMAT_NONE, FORMAT_H5, FORMAT_NPZ } file_format;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

static file_format format_of(const char *path)
{
    if (ends_with(path, ".h5") || ends_with(path, ".hdf5")) return FORMAT_H5;
    if (ends_with(path, ".npz")) return FORMAT_NPZ;
    return FORMAT_NONE;
}

static int refuse_format(const char *path)
{
    return hd_error(HD_EINVAL, "%s: a shower file is .h5, .hdf5 (HDF5) or .npz; the extension says which", path);
}

hd_calo_read_opts hd_calo_read_opts_default(void) { return (hd_calo_read_opts){.layout = NULL}; }

void hd_calo_file_release(hd_calo_file *f)
{
    if (!f) return;
    hd_free(f->energy);
    hd_free(f->showers);
    memset(f, 0, sizeof *f);
}

/* ---- the checks both formats share --------------------------------------------------- */

/* An array's description in messages: "dataset '/showers'" or "array 'showers'". */
typedef struct {
    char energies[64], showers[64];
} array_names;

static array_names names_for(file_format fmt)
{
    array_names n;
    snprintf(n.energies, sizeof n.energies, fmt == FORMAT_H5 ? "dataset '/%s'" : "array '%s'", ENERGIES);
    snprintf(n.showers, sizeof n.showers, fmt == FORMAT_H5 ? "dataset '/%s'" : "array '%s'", SHOWERS);
    return n;
}

/* Shapes (N, 1) or (N,) and (N, voxels), the same N >= 1; the voxel count
 * the layout's.  Sets f->n_rows_in_file, n, n_voxels and the layout. */
static int check_shapes(const char *path, const array_names *nm, int nd_e, const int64_t *se, int nd_s,
                        const int64_t *ss, const hd_calo_read_opts *o, hd_calo_file *f)
{
    char s[160];
    if (!(nd_e == 1 || (nd_e == 2 && se[1] == 1)))
        return hd_error(HD_EFORMAT, "%s: %s has shape %s; need (N, 1) or (N,)", path, nm->energies,
                        hd_shape_str(nd_e, se, s, sizeof s));
    if (nd_s != 2)
        return hd_error(HD_EFORMAT, "%s: %s has %d dimensions, need 2 (N, voxels)", path, nm->showers, nd_s);
    if (se[0] != ss[0])
        return hd_error(HD_EFORMAT, "%s: %s has %lld rows and %s %lld; they must match", path, nm->energies,
                        (long long)se[0], nm->showers, (long long)ss[0]);
    if (ss[0] == 0) return hd_error(HD_EFORMAT, "%s: %s has no showers (N = 0)", path, nm->showers);
    if (ss[1] == 0) return hd_error(HD_EFORMAT, "%s: %s has showers of 0 voxels", path, nm->showers);
    if (o->layout) {
        int rc = hd_calo_layout_check(o->layout);
        if (rc != HD_OK) return rc;
        int64_t v = hd_calo_layout_voxels(o->layout);
        if (ss[1] != v)
            return hd_error(HD_EFORMAT, "%s: %s has %lld voxels a shower; layout %s has %lld", path, nm->showers,
                            (long long)ss[1], o->layout->name, (long long)v);
        f->layout = *o->layout;
        f->has_layout = 1;
    } else
        for (size_t i = 0; i < sizeof LAYOUTS / sizeof *LAYOUTS && !f->has_layout; i++) {
            hd_calo_layout l;
            if (hd_calo_layout_get(LAYOUTS[i], &l) == HD_OK && hd_calo_layout_voxels(&l) == ss[1]) {
                f->layout = l;
                f->has_layout = 1;
            }
        }
    f->n_rows_in_file = ss[0];
    f->n = o->max_showers > 0 && o->max_showers < ss[0] ? o->max_showers : ss[0];
    f->n_voxels = ss[1];
    uint64_t bytes = (uint64_t)f->n * (uint64_t)f->n_voxels;
    if ((uint64_t)f->n_voxels > HD_H5_MAX_BYTES / 4 || bytes > HD_H5_MAX_BYTES / 4)
        return hd_error(HD_EFORMAT, "%s: %s (%lld x %lld) would take more than the %llu bytes hadron reads at once; "
                        "read fewer showers (max_showers)", path, nm->showers, (long long)f->n,
                        (long long)f->n_voxels, (unsigned long long)HD_H5_MAX_BYTES);
    return HD_OK;
}

static int alloc_rows(const char *path, hd_calo_file *f)
{
    f->energy = hd_malloc((size_t)f->n * sizeof *f->energy);
    f->showers = hd_malloc((size_t)f->n * (size_t)f->n_voxels * sizeof *f->showers);
    if (!f->energy || !f->showers)
        return hd_error(HD_ENOMEM, "%s: out of memory for %lld showers of %lld voxels", path, (long long)f->n,
                        (long long)f->n_voxels);
    return HD_OK;
}

static const char *nonfinite(float x) { return isnan(x) ? "nan" : x > 0 ? "inf" : "-inf"; }

/* Energies finite and > 0; voxels finite and >= 0 (or clipped to 0). */
static int check_values(const char *path, const array_names *nm, int clip, hd_calo_file *f)
{
    for (int64_t i = 0; i < f->n; i++) {
        float e = f->energy[i];
        if (!isfinite(e))
            return hd_error(HD_EFORMAT, "%s: %s row %lld is %s", path, nm->energies, (long long)i, nonfinite(e));
        if (!(e > 0))
            return hd_error(HD_EFORMAT, "%s: %s row %lld is %g MeV; incident energies must be > 0", path,
                            nm->energies, (long long)i, (double)e);
    }
    for (int64_t i = 0; i < f->n; i++) {
        float *row = f->showers + i * f->n_voxels;
        for (int64_t v = 0; v < f->n_voxels; v++) {
            if (!isfinite(row[v]))
                return hd_error(HD_EFORMAT, "%s: %s row %lld, voxel %lld is %s", path, nm->showers, (long long)i,
                                (long long)v, nonfinite(row[v]));
            if (row[v] < 0) {
                if (!clip)
                    return hd_error(HD_EFORMAT, "%s: %s row %lld, voxel %lld is %g MeV; shower energies must be >= 0 "
                                    "(clip_negative sets such voxels to 0)", path, nm->showers, (long long)i,
                                    (long long)v, (double)row[v]);
                row[v] = 0.0f;
                f->n_clipped++;
            }
        }
    }
    return HD_OK;
}

static void add_extra(hd_calo_file *f, const char *name)
{
    while (*name == '/') name++;
    if (strcmp(name, ENERGIES) == 0 || strcmp(name, SHOWERS) == 0) return;
    if (f->n_extra < HD_CALO_MAX_EXTRA) snprintf(f->extra[f->n_extra], sizeof f->extra[0], "%s", name);
    f->n_extra++;
}

/* ---- HDF5 -------------------------------------------------------------------------- */

static int extra_h5(void *user, const char *name)
{
    add_extra(user, name);
    return 0;
}

static int read_h5(const char *path, const hd_calo_read_opts *o, hd_calo_file *f)
{
    array_names nm = names_for(FORMAT_H5);
    int nd_e, nd_s;
    int64_t se[HD_MAX_DIM], ss[HD_MAX_DIM];
    hd_h5_reader *re = NULL, *rs = NULL;
    int rc = hd_h5_shape(path, ENERGIES, &nd_e, se, NULL);
    if (rc == HD_OK) rc = hd_h5_shape(path, SHOWERS, &nd_s, ss, NULL);
    if (rc == HD_OK) rc = check_shapes(path, &nm, nd_e, se, nd_s, ss, o, f);
    if (rc == HD_OK) rc = hd_h5_open(path, ENERGIES, &re);
    if (rc == HD_OK) rc = hd_h5_open(path, SHOWERS, &rs);
    if (rc == HD_OK) rc = alloc_rows(path, f);
    if (rc == HD_OK) rc = hd_h5_read_rows(re, 0, f->n, f->energy);
    if (rc == HD_OK) rc = hd_h5_read_rows(rs, 0, f->n, f->showers);
    hd_h5_close(re);
    hd_h5_close(rs);
    if (rc == HD_OK) rc = check_values(path, &nm, o->clip_negative, f);
    if (rc == HD_OK) rc = hd_h5_list(path, extra_h5, f);
    return rc;
}

/* ---- .npz ------------------------------------------------------------------------- */

static int npz_float(const char *path, const hd_npz *z, const char *name, const hd_array **out)
{
    *out = hd_npz_get(z, name);
    if (!*out) {
        char list[400] = "";
        size_t len = 0;
        for (int i = 0; i < hd_npz_count(z) && len + 80 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%.64s", i ? ", " : "", hd_npz_name(z, i));
        return hd_error(HD_EFORMAT, "%s: no array '%s' (arrays: %s)", path, name, hd_npz_count(z) ? list : "none");
    }
    if ((*out)->dtype != HD_F32 && (*out)->dtype != HD_F64)
        return hd_error(HD_EFORMAT, "%s: array '%s' is %s; need float32 or float64", path, name,
                        hd_dtype_name((*out)->dtype));
    return HD_OK;
}

/* The first n values of a as float32. */
static void first_f32(const hd_array *a, int64_t n, float *out)
{
    if (a->dtype == HD_F32) memcpy(out, a->data, (size_t)n * sizeof *out);
    else
        for (int64_t i = 0; i < n; i++) out[i] = (float)((const double *)a->data)[i];
}

static int read_npz(const char *path, const hd_calo_read_opts *o, hd_calo_file *f)
{
    array_names nm = names_for(FORMAT_NPZ);
    hd_npz *z = NULL;
    const hd_array *e = NULL, *s = NULL;
    int rc = hd_npz_read(path, &z);
    if (rc == HD_OK) rc = npz_float(path, z, ENERGIES, &e);
    if (rc == HD_OK) rc = npz_float(path, z, SHOWERS, &s);
    if (rc == HD_OK) rc = check_shapes(path, &nm, e->ndim, e->shape, s->ndim, s->shape, o, f);
    if (rc == HD_OK) rc = alloc_rows(path, f);
    if (rc == HD_OK) {
        first_f32(e, f->n, f->energy);
        first_f32(s, f->n * f->n_voxels, f->showers);
        rc = check_values(path, &nm, o->clip_negative, f);
    }
    for (int i = 0; rc == HD_OK && i < hd_npz_count(z); i++) add_extra(f, hd_npz_name(z, i));
    hd_npz_free(z);
    return rc;
}

/* ---- entry points -------------------------------------------------------------------- */

int hd_calo_file_read(const char *path, const hd_calo_read_opts *opts, hd_calo_file *out)
{
    if (!out) return hd_error(HD_EINVAL, "shower file: NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return hd_error(HD_EINVAL, "shower file: NULL path");
    hd_calo_read_opts o = opts ? *opts : hd_calo_read_opts_default();
    if (o.max_showers < 0)
        return hd_error(HD_EINVAL, "%s: max_showers %lld; 0 reads all", path, (long long)o.max_showers);
    file_format fmt = format_of(path);
    int rc = fmt == FORMAT_H5 ? read_h5(path, &o, out) : fmt == FORMAT_NPZ ? read_npz(path, &o, out)
                                                                           : refuse_format(path);
    if (rc != HD_OK) hd_calo_file_release(out);
    return rc;
}

int hd_calo_file_write(const char *path, int64_t n, int64_t n_voxels, const float *energy, const float *showers)
{
    if (!path) return hd_error(HD_EINVAL, "shower file: NULL path");
    file_format fmt = format_of(path);
    if (fmt == FORMAT_NONE) return refuse_format(path);
    if (n < 1 || n_voxels < 1 || !energy || !showers)
        return hd_error(HD_EINVAL, "%s: %lld showers of %lld voxels (need at least 1 of 1, and their data)", path,
                        (long long)n, (long long)n_voxels);
    /* the arrays only lend the caller's data to the writers, which never change it */
    hd_array e = {.dtype = HD_F32, .ndim = 2, .shape = {n, 1}, .data = (void *)(uintptr_t)energy};
    hd_array s = {.dtype = HD_F32, .ndim = 2, .shape = {n, n_voxels}, .data = (void *)(uintptr_t)showers};
    const char *names[2] = {ENERGIES, SHOWERS};
    const hd_array *arrays[2] = {&e, &s};
    return fmt == FORMAT_H5 ? hd_h5_write(path, 2, names, arrays) : hd_npz_write(path, 2, names, arrays);
}
