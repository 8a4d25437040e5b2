/* HDF5 files through libhdf5 (data.h): whole datasets, streamed rows, and
 * an atomic writer.  libhdf5 never prints: every call first turns its
 * automatic error printing off for the calling thread (the setting is per
 * thread in a thread-safe libhdf5), and a failure's error stack becomes the
 * reason in one hadron message.  The file is first opened as a plain file
 * (data/file_read.h: a regular file, or refused without blocking) and its
 * signature looked for, so a FIFO or a text file named .h5 never reaches
 * libhdf5. */
#include "data/hdf5_internal.h"

#include "data/file_read.h"
#include "data/npz_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_MAX_BYTES 1024   /* longest dataset path hadron takes */
#define LIST_BYTES 400        /* of dataset names quoted when one is missing */
#define CHUNK_TARGET (1u << 20) /* bytes a written chunk aims at */
#define GZIP_LEVEL 1          /* twice as fast as h5py's default 4 on showers, 8% larger */
#define CACHE_MIN (1u << 20)  /* libhdf5's default chunk cache */
#define CACHE_MAX (64u << 20) /* the most a streaming reader's chunk cache takes */
#define CACHE_SLOTS 12421     /* a prime, as libhdf5 asks */

static const unsigned char SIGNATURE[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static void close_id(hid_t id)
{
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: H5Oclose(id); break;
    }
}

/* ---- libhdf5's reason ------------------------------------------------------------- */

typedef struct {
    char text[512];
    int got;
} why_buf;

/* Walked upward, from where the error was found: that first entry says what
 * went wrong ("truncated file: eof = 1024, ..."), the outer ones only that
 * their callers failed ("unable to open file"). */
static herr_t why_entry(unsigned n, const H5E_error2_t *e, void *data)
{
    why_buf *w = data;
    if (n == 0 && e && e->desc && e->desc[0]) {
        snprintf(w->text, sizeof w->text, "%s", e->desc);
        w->got = 1;
    }
    return 0;
}

const char *hd_h5_why(char *buf, size_t size)
{
    why_buf w = {.got = 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, why_entry, &w);
    H5Eclear2(H5E_DEFAULT);
    snprintf(buf, size, "%s", w.got ? w.text : "libhdf5 gave no reason");
    return buf;
}

/* ---- names -------------------------------------------------------------------------- */

/* "/a/b" for "a/b" or "/a/b", the form messages show; 0 if it does not fit. */
static int shown_name(const char *name, char *buf, size_t size)
{
    while (*name == '/') name++;
    int n = snprintf(buf, size, "/%s", name);
    return n >= 0 && (size_t)n < size;
}

/* A dataset path hadron writes: non-empty components, none "." or "..". */
static int check_write_name(const char *path, int i, const char *name)
{
    if (!name) return hd_error(HD_EINVAL, "%s: array %d has no name", path, i);
    size_t len = strlen(name);
    if (len == 0 || len > NAME_MAX_BYTES)
        return hd_error(HD_EINVAL, "%s: array %d: a dataset name has 1 to %d bytes, not %zu", path, i, NAME_MAX_BYTES,
                        len);
    const char *p = name[0] == '/' ? name + 1 : name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return hd_error(HD_EINVAL, "%s: dataset name '%s' has an empty, '.' or '..' part", path, name);
        if (!slash) break;
        p = slash + 1;
    }
    return HD_OK;
}

static const char *strip(const char *name)
{
    while (*name == '/') name++;
    return name;
}

/* Names unique, and none a group that another name's dataset needs. */
static int check_write_names(const char *path, int n, const char *const *names)
{
    for (int i = 0; i < n; i++) {
        int rc = check_write_name(path, i, names[i]);
        if (rc != HD_OK) return rc;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            const char *a = strip(names[i]), *b = strip(names[j]);
            size_t la = strlen(a);
            if (i < j && strcmp(a, b) == 0) return hd_error(HD_EINVAL, "%s: dataset '/%s' given twice", path, a);
            if (strncmp(a, b, la) == 0 && b[la] == '/')
                return hd_error(HD_EINVAL, "%s: '/%s' cannot be a dataset and the group of '/%s'", path, a, b);
        }
    return HD_OK;
}

int hd_h5_split_name(const char *spec, char *file, size_t file_size, const char **dataset)
{
    if (dataset) *dataset = NULL;
    if (!spec || !file || !dataset || file_size == 0) return hd_error(HD_EINVAL, "hdf5 name: NULL argument");
    file[0] = '\0';
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0) return hd_error(HD_EINVAL, "'%s': no file before the dataset (FILE.h5:/DATASET)", spec);
    if (n >= file_size) return hd_error(HD_EINVAL, "'%.200s...': file name of %zu bytes is too long", spec, n);
    memcpy(file, spec, n);
    file[n] = '\0';
    if (colon && colon[1]) *dataset = colon + 1;
    return HD_OK;
}

/* ---- dtypes ------------------------------------------------------------------------- */

/* What a stored type is, in NumPy's words, into buf; *kind 'f' float, 'i'
 * signed, 'u' unsigned integer, 0 anything else. */
static const char *type_name(hid_t t, char *kind, char *buf, size_t size)
{
    H5T_class_t c = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    *kind = 0;
    switch (c) {
    case H5T_FLOAT: *kind = 'f'; snprintf(buf, size, "float%zu", bits); break;
    case H5T_INTEGER:
        *kind = H5Tget_sign(t) == H5T_SGN_NONE ? 'u' : 'i';
        snprintf(buf, size, "%sint%zu", *kind == 'u' ? "u" : "", bits);
        break;
    case H5T_STRING: snprintf(buf, size, "a string"); break;
    case H5T_COMPOUND: snprintf(buf, size, "a compound type"); break;
    case H5T_ENUM: snprintf(buf, size, "an enum (h5py's bool is one)"); break;
    case H5T_ARRAY: snprintf(buf, size, "an array type"); break;
    case H5T_VLEN: snprintf(buf, size, "variable-length"); break;
    case H5T_OPAQUE: snprintf(buf, size, "opaque"); break;
    case H5T_BITFIELD: snprintf(buf, size, "a bitfield"); break;
    case H5T_REFERENCE: snprintf(buf, size, "a reference"); break;
    default: snprintf(buf, size, "of an unknown type"); break;
    }
    return buf;
}

/* The hd_dtype a stored type reads as exactly: 0 and *out set, or -1. */
static int natural_dtype(hid_t t, hd_dtype *out)
{
    char kind, name[64];
    type_name(t, &kind, name, sizeof name);
    size_t bytes = H5Tget_size(t);
    if (kind == 'f' && bytes == 4) *out = HD_F32;
    else if (kind == 'f' && bytes == 8) *out = HD_F64;
    else if ((kind == 'i' && bytes <= 4) || (kind == 'u' && bytes < 4)) *out = HD_I32;
    else if ((kind == 'i' && bytes <= 8) || (kind == 'u' && bytes < 8)) *out = HD_I64;
    else return -1;
    return 0;
}

/* Whether stored type t reads as want: a float as float32 or float64, an
 * integer as an integer type that holds every value it can have. */
static int check_dtype(const char *path, const char *name, hid_t t, hd_dtype want)
{
    char kind, tn[64];
    type_name(t, &kind, tn, sizeof tn);
    size_t bytes = H5Tget_size(t);
    int want_float = want == HD_F32 || want == HD_F64;
    size_t wb = hd_dtype_size(want);
    if (kind == 'f' && (bytes == 4 || bytes == 8)) {
        if (want_float) return HD_OK;
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is %s; read it as float32 or float64", path, name, tn);
    }
    if (kind == 'i' || kind == 'u') {
        if (want_float)
            return hd_error(HD_EFORMAT, "%s: dataset '%s' is %s; need float32 or float64", path, name, tn);
        if ((kind == 'i' && bytes <= wb) || (kind == 'u' && bytes < wb)) return HD_OK;
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is %s, which %s does not hold", path, name, tn,
                        hd_dtype_name(want));
    }
    return hd_error(HD_EFORMAT, "%s: dataset '%s' is %s; hadron reads float32, float64 and integers", path, name,
                    tn);
}

static hid_t mem_type(hd_dtype t)
{
    switch (t) {
    case HD_F32: return H5T_NATIVE_FLOAT;
    case HD_F64: return H5T_NATIVE_DOUBLE;
    case HD_I32: return H5T_NATIVE_INT32;
    case HD_I64: return H5T_NATIVE_INT64;
    }
    return H5I_INVALID_HID;
}

static hid_t file_type(hd_dtype t)
{
    switch (t) {
    case HD_F32: return H5T_IEEE_F32LE;
    case HD_F64: return H5T_IEEE_F64LE;
    case HD_I32: return H5T_STD_I32LE;
    case HD_I64: return H5T_STD_I64LE;
    }
    return H5I_INVALID_HID;
}

/* ---- opening -------------------------------------------------------------------------- */

/* A regular file that carries the HDF5 signature at byte 0, 512, 1024, ...
 * (where a user block may move it), opened read-only into *out. */
static int open_file(const char *path, hid_t *out)
{
    *out = H5I_INVALID_HID;
    int fd;
    uint64_t size;
    int rc = hd_file_open(path, HD_FILE_ANY_SIZE, &fd, &size);
    if (rc != HD_OK) return rc;
    int found = 0;
    for (uint64_t at = 0; at + sizeof SIGNATURE <= size && !found; at = at ? at * 2 : 512) {
        unsigned char sig[sizeof SIGNATURE];
        rc = hd_file_read_at(fd, path, at, sig, sizeof sig);
        if (rc != HD_OK) break;
        found = memcmp(sig, SIGNATURE, sizeof sig) == 0;
    }
    close(fd);
    if (rc != HD_OK) return rc;
    if (!found)
        return hd_error(HD_EFORMAT, "%s: not an HDF5 file (%s)", path,
                        size ? "no HDF5 signature at byte 0, 512, 1024, ..." : "the file is empty");
    quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    hid_t f = fapl >= 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
    char w[512];
    if (f < 0) rc = hd_error(HD_EFORMAT, "%s: damaged or truncated HDF5 file (%s)", path, WHY(w));
    close_id(fapl);
    *out = f;
    return rc;
}

/* Calls fn(user, "a/b") for each dataset of an open file, in name order;
 * a non-zero return stops the walk and is left in *rc.  Returns H5Lvisit's. */
typedef struct {
    int (*fn)(void *user, const char *dataset);
    void *user;
    int rc;
} dataset_walk;

static herr_t walk_entry(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    dataset_walk *w = data;
    if (info->type != H5L_TYPE_HARD) return 0;
    hid_t o = H5Oopen(group, name, H5P_DEFAULT);
    int is_set = o >= 0 && H5Iget_type(o) == H5I_DATASET;
    close_id(o);
    if (!is_set) return 0;
    w->rc = w->fn(w->user, name);
    return w->rc != 0; /* a positive return stops the walk */
}

static herr_t each_dataset(hid_t file, int (*fn)(void *user, const char *dataset), void *user, int *rc)
{
    dataset_walk w = {fn, user, 0};
    herr_t e = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, walk_entry, &w);
    *rc = w.rc;
    return e;
}

/* Dataset names for the message about a missing one. */
typedef struct {
    char text[LIST_BYTES + 64];
    size_t len;
    int n, left_out;
} name_list;

static int list_entry(void *data, const char *name)
{
    name_list *l = data;
    size_t n = strlen(name);
    if (l->len + n + 3 > LIST_BYTES) {
        l->left_out++;
        return 0;
    }
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "%s/%s", l->n ? ", " : "", name);
    l->n++;
    return 0;
}

static const char *list_datasets(hid_t file, name_list *l)
{
    memset(l, 0, sizeof *l);
    int rc;
    each_dataset(file, list_entry, l, &rc);
    H5Eclear2(H5E_DEFAULT);
    if (l->n == 0) snprintf(l->text, sizeof l->text, "none");
    else if (l->left_out)
        snprintf(l->text + l->len, sizeof l->text - l->len, ", and %d more", l->left_out);
    return l->text;
}

/* The dataset `name` (shown as "/name") of an open file into *out. */
static int open_dataset(const char *path, hid_t file, const char *name, const char *shown, hid_t *out)
{
    *out = H5I_INVALID_HID;
    char w[512], prefix[NAME_MAX_BYTES + 2];
    name_list l;
    const char *s = strip(name);
    if (!*s) return hd_error(HD_EINVAL, "%s: empty dataset name", path);
    /* each group on the way must exist, or H5Lexists fails instead of saying no */
    for (const char *p = s;; p++) {
        if (*p != '/' && *p != '\0') continue;
        size_t n = (size_t)(p - s);
        memcpy(prefix, s, n);
        prefix[n] = '\0';
        htri_t e = n ? H5Lexists(file, prefix, H5P_DEFAULT) : 0;
        if (e < 0) return hd_error(HD_EFORMAT, "%s: cannot look up '%s': %s", path, shown, WHY(w));
        if (e == 0)
            return hd_error(HD_EFORMAT, "%s: no dataset '%s' (datasets: %s)", path, shown, list_datasets(file, &l));
        if (*p == '\0') break;
        if (n == 0) continue;
        hid_t g = H5Oopen(file, prefix, H5P_DEFAULT);
        int is_group = g >= 0 && H5Iget_type(g) == H5I_GROUP;
        close_id(g);
        H5Eclear2(H5E_DEFAULT);
        if (!is_group)
            return hd_error(HD_EFORMAT, "%s: no dataset '%s' ('/%s' is not a group; datasets: %s)", path, shown,
                            prefix, list_datasets(file, &l));
    }
    hid_t o = H5Oopen(file, s, H5P_DEFAULT);
    if (o < 0) return hd_error(HD_EFORMAT, "%s: cannot open '%s': %s", path, shown, WHY(w));
    if (H5Iget_type(o) != H5I_DATASET) {
        H5Oclose(o);
        return hd_error(HD_EFORMAT, "%s: '%s' is a group, not a dataset (datasets: %s)", path, shown,
                        list_datasets(file, &l));
    }
    *out = o;
    return HD_OK;
}

/* What a read needs to know of an open dataset, checked. */
typedef struct {
    hid_t type;
    int ndim;
    int64_t shape[HD_MAX_DIM];
    int64_t numel; /* fits in int64, and times 8 too */
    hd_dtype stored;
    hd_h5_chunks chunks;
} dset_info;

static int dataset_info(const char *path, const char *shown, hid_t dset, dset_info *di)
{
    char w[512], tn[64], kind;
    memset(di, 0, sizeof *di);
    di->type = H5Dget_type(dset);
    if (di->type < 0) return hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read its type: %s", path, shown, WHY(w));
    if (natural_dtype(di->type, &di->stored) != 0)
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is %s; hadron reads float32, float64 and integers of up to 64 "
                        "bits (uint64 excepted)", path, shown, type_name(di->type, &kind, tn, sizeof tn));
    hsize_t dims[H5S_MAX_RANK] = {0}, maxdims[H5S_MAX_RANK] = {0};
    hid_t space = H5Dget_space(dset);
    if (space < 0) return hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read its shape: %s", path, shown, WHY(w));
    int rc = HD_OK;
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (cls == H5S_NULL) rc = hd_error(HD_EFORMAT, "%s: dataset '%s' holds no data (a null dataspace)", path, shown);
    else if (cls == H5S_SCALAR) di->ndim = 0;
    else if (cls == H5S_SIMPLE) {
        int nd = H5Sget_simple_extent_ndims(space);
        if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, maxdims) < 0)
            rc = hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read its shape: %s", path, shown, WHY(w));
        else if (nd > HD_MAX_DIM)
            rc = hd_error(HD_EFORMAT, "%s: dataset '%s' has %d dimensions; hadron reads at most %d", path, shown, nd,
                          HD_MAX_DIM);
        else {
            di->ndim = nd;
            for (int d = 0; d < nd && rc == HD_OK; d++) {
                if (dims[d] > (hsize_t)INT64_MAX)
                    rc = hd_error(HD_EFORMAT, "%s: dataset '%s': dimension %d of %llu is too large", path, shown, d,
                                  (unsigned long long)dims[d]);
                else if (maxdims[d] != H5S_UNLIMITED && dims[d] > maxdims[d])
                    rc = hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: dimension %d is %llu, above its maximum "
                                  "%llu", path, shown, d, (unsigned long long)dims[d], (unsigned long long)maxdims[d]);
                di->shape[d] = (int64_t)dims[d];
            }
        }
    } else
        rc = hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read its shape: %s", path, shown, WHY(w));
    H5Sclose(space);
    if (rc != HD_OK) return rc;
    /* the element count, with room for 8 bytes each */
    int64_t n = 1;
    for (int d = 0; d < di->ndim; d++) {
        if (di->shape[d] == 0) n = 0;
        else if (n > INT64_MAX / 8 / di->shape[d]) {
            char s[160];
            return hd_error(HD_EFORMAT, "%s: dataset '%s' of shape %s has too many elements", path, shown,
                            hd_shape_str(di->ndim, di->shape, s, sizeof s));
        } else
            n *= di->shape[d];
    }
    di->numel = n;
    return hd_h5_chunks_init(path, shown, dset, di->type, di->ndim, dims, maxdims, &di->chunks);
}

/* The file, the dataset in it and what it is, all checked. */
typedef struct {
    hid_t file, dset;
    dset_info info;
    char shown[NAME_MAX_BYTES + 2];
} opened;

static void opened_close(opened *o)
{
    hd_h5_chunks_release(&o->info.chunks);
    close_id(o->info.type);
    close_id(o->dset);
    close_id(o->file);
    o->info.type = o->dset = o->file = H5I_INVALID_HID;
}

static int open_checked(const char *path, const char *dataset, opened *o)
{
    memset(o, 0, sizeof *o);
    o->file = o->dset = o->info.type = H5I_INVALID_HID;
    if (!path) return hd_error(HD_EINVAL, "hdf5 read: NULL path");
    if (!dataset) return hd_error(HD_EINVAL, "%s: NULL dataset name", path);
    if (strlen(dataset) > NAME_MAX_BYTES || !shown_name(dataset, o->shown, sizeof o->shown))
        return hd_error(HD_EINVAL, "%s: dataset name of %zu bytes is too long", path, strlen(dataset));
    int rc = open_file(path, &o->file);
    if (rc == HD_OK) rc = open_dataset(path, o->file, dataset, o->shown, &o->dset);
    if (rc == HD_OK) rc = dataset_info(path, o->shown, o->dset, &o->info);
    if (rc != HD_OK) opened_close(o);
    return rc;
}

/* ---- whole datasets ----------------------------------------------------------------- */

int hd_h5_shape(const char *path, const char *dataset, int *ndim, int64_t *shape, hd_dtype *stored)
{
    if (!ndim || !shape) return hd_error(HD_EINVAL, "hdf5 shape: NULL output");
    *ndim = 0;
    opened o;
    int rc = open_checked(path, dataset, &o);
    if (rc != HD_OK) return rc;
    *ndim = o.info.ndim;
    for (int d = 0; d < o.info.ndim; d++) shape[d] = o.info.shape[d];
    if (stored) *stored = o.info.stored;
    opened_close(&o);
    return HD_OK;
}

int hd_h5_list(const char *path, int (*fn)(void *user, const char *dataset), void *user)
{
    if (!path || !fn) return hd_error(HD_EINVAL, "hdf5 list: NULL argument");
    hid_t f;
    int rc = open_file(path, &f);
    if (rc != HD_OK) return rc;
    int stop = 0;
    char w[512];
    if (each_dataset(f, fn, user, &stop) < 0 && stop == 0)
        rc = hd_error(HD_EFORMAT, "%s: cannot list its datasets: %s", path, WHY(w));
    close_id(f);
    return rc != HD_OK ? rc : stop;
}

int hd_h5_read(const char *path, const char *dataset, hd_dtype want, hd_array *out)
{
    if (!out) return hd_error(HD_EINVAL, "hdf5 read: NULL output");
    memset(out, 0, sizeof *out);
    if (hd_dtype_size(want) == 0) return hd_error(HD_EINVAL, "hdf5 read: unknown dtype %d", (int)want);
    opened o;
    int rc = open_checked(path, dataset, &o);
    if (rc != HD_OK) return rc;
    rc = check_dtype(path, o.shown, o.info.type, want);
    uint64_t bytes = (uint64_t)o.info.numel * hd_dtype_size(want);
    if (rc == HD_OK && bytes > HD_H5_MAX_BYTES) {
        char s[160];
        rc = hd_error(HD_EFORMAT, "%s: dataset '%s' (%s) would take %llu bytes as %s, more than the %llu bytes one "
                      "read allocates (stream its rows with hd_h5_open)", path, o.shown,
                      hd_shape_str(o.info.ndim, o.info.shape, s, sizeof s), (unsigned long long)bytes,
                      hd_dtype_name(want), (unsigned long long)HD_H5_MAX_BYTES);
    }
    if (rc == HD_OK) rc = hd_array_new(out, want, o.info.ndim, o.info.shape);
    if (rc == HD_ENOMEM) rc = hd_error(rc, "%s: out of memory for dataset '%s' (%llu bytes)", path, o.shown,
                                       (unsigned long long)bytes);
    if (rc == HD_OK && o.info.numel > 0)
        rc = hd_h5_chunks_check_rows(path, o.shown, o.dset, &o.info.chunks, 0, o.info.shape[0]);
    if (rc == HD_OK && o.info.numel > 0 &&
        H5Dread(o.dset, mem_type(want), H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data) < 0) {
        char w[512];
        rc = hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read its data: %s", path, o.shown, WHY(w));
    }
    opened_close(&o);
    if (rc != HD_OK) hd_array_free(out);
    return rc;
}

/* ---- streamed rows ------------------------------------------------------------------- */

struct hd_h5_reader {
    opened o;
    hid_t space;
    int64_t rows, row_len;
    char *path;
};

/* Reopens the dataset with a chunk cache that holds a few of its chunks,
 * so reading rows in small pieces does not unpack a chunk per piece. */
static int cache_chunks(hd_h5_reader *r)
{
    size_t bytes = r->o.info.chunks.chunked ? (size_t)r->o.info.chunks.chunk_bytes : 0;
    if (bytes == 0) return HD_OK;
    size_t cache = bytes > CACHE_MAX / 4 ? (bytes > CACHE_MAX ? bytes : CACHE_MAX) : 4 * bytes;
    if (cache <= CACHE_MIN) return HD_OK;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t d = H5I_INVALID_HID;
    if (dapl >= 0 && H5Pset_chunk_cache(dapl, CACHE_SLOTS, cache, 1.0) >= 0)
        d = H5Dopen2(r->o.file, strip(r->o.shown), dapl);
    close_id(dapl);
    if (d >= 0) {
        H5Dclose(r->o.dset);
        r->o.dset = d;
    }
    H5Eclear2(H5E_DEFAULT); /* without the larger cache it is only slower */
    return HD_OK;
}

int hd_h5_open(const char *path, const char *dataset, hd_h5_reader **out)
{
    if (!out) return hd_error(HD_EINVAL, "hdf5 open: NULL output");
    *out = NULL;
    hd_h5_reader *r = hd_calloc(1, sizeof *r);
    if (!r) return HD_ENOMEM;
    r->space = H5I_INVALID_HID;
    int rc = open_checked(path, dataset, &r->o);
    if (rc == HD_OK) rc = check_dtype(path, r->o.shown, r->o.info.type, HD_F32);
    if (rc == HD_OK && r->o.info.ndim == 0)
        rc = hd_error(HD_EFORMAT, "%s: dataset '%s' is a scalar; rows need at least 1 dimension", path, r->o.shown);
    if (rc == HD_OK) {
        r->rows = r->o.info.shape[0];
        r->row_len = 1;
        for (int d = 1; d < r->o.info.ndim; d++) r->row_len *= r->o.info.shape[d];
        size_t n = strlen(path) + 1;
        r->path = hd_malloc(n);
        if (!r->path) rc = HD_ENOMEM;
        else memcpy(r->path, path, n);
    }
    if (rc == HD_OK) rc = cache_chunks(r);
    if (rc == HD_OK) {
        r->space = H5Dget_space(r->o.dset);
        char w[512];
        if (r->space < 0) rc = hd_error(HD_EFORMAT, "%s: dataset '%s': %s", path, r->o.shown, WHY(w));
    }
    if (rc != HD_OK) {
        hd_h5_close(r);
        return rc;
    }
    *out = r;
    return HD_OK;
}

int64_t hd_h5_rows(const hd_h5_reader *r) { return r ? r->rows : 0; }

int64_t hd_h5_row_len(const hd_h5_reader *r) { return r ? r->row_len : 0; }

int hd_h5_read_rows(hd_h5_reader *r, int64_t first, int64_t n, float *out)
{
    if (!r) return hd_error(HD_EINVAL, "hdf5 read rows: NULL reader");
    if (first < 0 || n < 0 || first > r->rows || n > r->rows - first)
        return hd_error(HD_EINVAL, "%s: dataset '%s': rows %lld..%lld asked of %lld", r->path, r->o.shown,
                        (long long)first, (long long)first + n - 1, (long long)r->rows);
    if (n == 0 || r->row_len == 0) return HD_OK;
    if (!out) return hd_error(HD_EINVAL, "%s: dataset '%s': NULL output", r->path, r->o.shown);
    quiet();
    int rc = hd_h5_chunks_check_rows(r->path, r->o.shown, r->o.dset, &r->o.info.chunks, first, n);
    if (rc != HD_OK) return rc;
    hsize_t start[HD_MAX_DIM] = {0}, count[HD_MAX_DIM];
    for (int d = 0; d < r->o.info.ndim; d++) count[d] = (hsize_t)r->o.info.shape[d];
    start[0] = (hsize_t)first;
    count[0] = (hsize_t)n;
    /* the memory space has the selection's shape: libhdf5 then copies chunk rows whole */
    hid_t mem = H5Screate_simple(r->o.info.ndim, count, NULL);
    herr_t e = mem >= 0 ? H5Sselect_hyperslab(r->space, H5S_SELECT_SET, start, NULL, count, NULL) : -1;
    if (e >= 0) e = H5Dread(r->o.dset, H5T_NATIVE_FLOAT, mem, r->space, H5P_DEFAULT, out);
    char w[512];
    rc = e < 0 ? hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read rows %lld..%lld: %s", r->path, r->o.shown,
                          (long long)first, (long long)(first + n - 1), WHY(w))
               : HD_OK;
    close_id(mem); /* after the reason: every libhdf5 call clears the error stack */
    return rc;
}

void hd_h5_close(hd_h5_reader *r)
{
    if (!r) return;
    close_id(r->space);
    opened_close(&r->o);
    hd_free(r->path);
    hd_free(r);
}

/* ---- writer --------------------------------------------------------------------------- */

/* Chunk dims for a (checked, non-empty, ndim >= 1) array: whole trailing
 * dimensions and as many leading rows as make about CHUNK_TARGET bytes;
 * when one row is larger, one row and the same rule one dimension down. */
static void chunk_dims(const hd_array *a, hsize_t *c)
{
    uint64_t elem = hd_dtype_size(a->dtype);
    for (int d = 0; d < a->ndim; d++) {
        uint64_t inner = elem;
        for (int k = d + 1; k < a->ndim; k++) inner *= (uint64_t)a->shape[k];
        if (inner <= CHUNK_TARGET || d == a->ndim - 1) {
            uint64_t rows = inner <= CHUNK_TARGET ? CHUNK_TARGET / inner : 1;
            c[d] = rows > (uint64_t)a->shape[d] ? (hsize_t)a->shape[d] : (hsize_t)(rows ? rows : 1);
            for (int k = d + 1; k < a->ndim; k++) c[k] = (hsize_t)a->shape[k];
            return;
        }
        c[d] = 1;
    }
}

static int write_one(const char *path, hid_t file, const char *name, const hd_array *a)
{
    char w[512];
    hsize_t dims[HD_MAX_DIM], chunk[HD_MAX_DIM];
    for (int d = 0; d < a->ndim; d++) dims[d] = (hsize_t)a->shape[d];
    int64_t numel = hd_array_numel(a);
    hid_t space = a->ndim ? H5Screate_simple(a->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE);
    herr_t e = space >= 0 && dcpl >= 0 && lcpl >= 0 ? H5Pset_create_intermediate_group(lcpl, 1) : -1;
    if (e >= 0) e = H5Pset_obj_track_times(dcpl, 0); /* no time stamps: the same arrays give the same bytes */
    if (e >= 0 && a->ndim > 0 && numel > 0) {
        chunk_dims(a, chunk);
        e = H5Pset_chunk(dcpl, a->ndim, chunk);
        if (e >= 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) e = H5Pset_deflate(dcpl, GZIP_LEVEL);
    }
    hid_t d = e >= 0 ? H5Dcreate2(file, strip(name), file_type(a->dtype), space, lcpl, dcpl, H5P_DEFAULT)
                     : H5I_INVALID_HID;
    if (d >= 0 && numel > 0) e = H5Dwrite(d, mem_type(a->dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data);
    else if (d < 0) e = -1;
    int rc = e < 0 ? hd_error(HD_EIO, "cannot write %s: dataset '/%s': %s", path, strip(name), WHY(w)) : HD_OK;
    close_id(d);
    close_id(lcpl);
    close_id(dcpl);
    close_id(space);
    return rc;
}

/* A new empty temporary file next to path, its name into *tmp (hd_free). */
static int make_temp(const char *path, char **tmp)
{
    static atomic_uint counter;
    size_t n = strlen(path) + 64;
    *tmp = hd_malloc(n);
    if (!*tmp) return hd_error(HD_ENOMEM, "out of memory writing %s", path);
    for (int tries = 0;; tries++) {
        snprintf(*tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            return HD_OK;
        }
        if (errno != EEXIST || tries > 100) {
            int err = errno;
            hd_free(*tmp);
            *tmp = NULL;
            return hd_error(HD_EIO, "cannot write %s: %s", path, strerror(err));
        }
    }
}

static int sync_file(const char *path, const char *tmp)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0 && fsync(fd) != 0) err = errno;
    if (fd >= 0) close(fd);
    return err ? hd_error(HD_EIO, "cannot write %s: %s", path, strerror(err)) : HD_OK;
}

int hd_h5_write(const char *path, int n, const char *const *names, const hd_array *const *arrays)
{
    if (!path) return hd_error(HD_EINVAL, "hdf5 write: NULL path");
    if (n < 0 || (n > 0 && (!names || !arrays))) return hd_error(HD_EINVAL, "%s: bad array list (%d arrays)", path, n);
    int rc = check_write_names(path, n, names);
    for (int i = 0; i < n && rc == HD_OK; i++) {
        char label[NAME_MAX_BYTES + 512];
        uint64_t bytes;
        snprintf(label, sizeof label, "%s:/%s", path, strip(names[i]));
        rc = hd_array_check(label, arrays[i], &bytes);
    }
    if (rc != HD_OK) return rc;
    char *tmp = NULL;
    rc = make_temp(path, &tmp);
    if (rc != HD_OK) return rc;
    quiet();
    char w[512];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    hid_t f = fapl >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5I_INVALID_HID;
    close_id(fapl);
    if (f < 0) rc = hd_error(HD_EIO, "cannot write %s: %s", path, WHY(w));
    for (int i = 0; i < n && rc == HD_OK; i++) rc = write_one(path, f, names[i], arrays[i]);
    if (f >= 0 && H5Fclose(f) < 0 && rc == HD_OK) rc = hd_error(HD_EIO, "cannot write %s: %s", path, WHY(w));
    if (rc == HD_OK) rc = sync_file(path, tmp);
    if (rc == HD_OK && rename(tmp, path) != 0) rc = hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc != HD_OK) remove(tmp);
    hd_free(tmp);
    return rc;
}
