/* NumPy .npz archives: a ZIP file (data/zip.c) of NAME.npy members, stored
 * (np.savez) or deflated (np.savez_compressed), ZIP64 or not.  This file is
 * the glue: member names must be NAME.npy, each member's bytes are parsed
 * as .npy (data/npy.c), and arrays are found by NAME.  Writing makes stored
 * members and plain (non-ZIP64) records, so archives are limited to 4 GiB. */
#include "data/npz_internal.h"

#include "data/file_read.h"
#include "data/zip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_SUFFIX ".npy"
#define NAME_SHOWN 200 /* bytes of a member name quoted in a message */
#define KIND ".npz"    /* for the zip layer's messages: "not a .npz (zip) file" */
#define U16_MAX 0xffffu /* zip counts members and name bytes in 16 bits */

typedef struct {
    char *name; /* without ".npy" */
    hd_array a;
} npz_entry;

typedef struct {
    const char *key;
    int index;
} npz_key;

struct hd_npz {
    int n;
    npz_entry *entries; /* archive order */
    npz_key *by_name;   /* sorted */
};

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const npz_key *)a)->key, ((const npz_key *)b)->key);
}

/* ---- reader ------------------------------------------------------------------------- */

/* "path:name", the label of a member in messages (name without ".npy"). */
static const char *member_label(const char *label, const hd_zip_member *m, char *buf, size_t size)
{
    char name[NAME_SHOWN + 4];
    size_t n = m->name_len;
    if (n >= 4 && memcmp(m->name + n - 4, NPY_SUFFIX, 4) == 0) n -= 4;
    snprintf(buf, size, "%s:%s", label, hd_printable((const char *)m->name, n, name, sizeof name));
    return buf;
}

/* Member names must be NAME.npy, as np.savez writes them (the zip layer has
 * checked that they are unique and hold no NUL). */
static int check_name(const char *label, const hd_zip_member *m)
{
    char name[NAME_SHOWN + 4];
    if (m->name_len < 4 || memcmp(m->name + m->name_len - 4, NPY_SUFFIX, 4) != 0)
        return hd_error(HD_EFORMAT, "%s: member '%s' is not a .npy array (hadron reads .npz archives of NAME.npy "
                        "members only)", label, hd_printable((const char *)m->name, m->name_len, name, sizeof name));
    return HD_OK;
}

/* Names every entry after its member, and sorts the names for lookup. */
static int name_entries(const char *label, const hd_zip_reader *zr, hd_npz *z)
{
    for (int i = 0; i < z->n; i++) {
        const hd_zip_member *m = &zr->members[i];
        int rc = check_name(label, m);
        if (rc != HD_OK) return rc;
        size_t n = m->name_len - 4;
        char *name = hd_malloc(n + 1);
        if (!name) return HD_ENOMEM;
        memcpy(name, m->name, n);
        name[n] = '\0';
        z->entries[i].name = name;
        z->by_name[i] = (npz_key){name, i};
    }
    if (z->n > 1) qsort(z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_key);
    return HD_OK;
}

/* Unpacks member i and parses it as .npy into z->entries[i].a. */
static int read_member(const char *label, const hd_zip_reader *zr, int i, hd_array *out)
{
    char ml[NAME_SHOWN + 512];
    member_label(label, &zr->members[i], ml, sizeof ml);
    const unsigned char *data = NULL;
    unsigned char *owned = NULL;
    int rc = hd_zip_member_data(zr, i, ml, &data, &owned);
    if (rc == HD_OK) rc = hd_npy_parse(ml, data, (size_t)zr->members[i].uncomp, out);
    hd_free(owned);
    return rc;
}

static int parse_into(const char *label, const unsigned char *b, uint64_t size, hd_npz *z)
{
    hd_zip_reader zr;
    int rc = hd_zip_open(&zr, label, KIND, b, size);
    if (rc != HD_OK) return rc;
    z->entries = hd_calloc((size_t)zr.n + 1, sizeof *z->entries);
    z->by_name = hd_calloc((size_t)zr.n + 1, sizeof *z->by_name);
    if (!z->entries || !z->by_name) rc = HD_ENOMEM;
    else z->n = zr.n;
    if (rc == HD_OK) rc = name_entries(label, &zr, z);
    for (int i = 0; i < z->n && rc == HD_OK; i++) rc = read_member(label, &zr, i, &z->entries[i].a);
    hd_zip_close(&zr);
    return rc;
}

int hd_npz_parse(const char *label, const void *bytes, size_t size, hd_npz **out)
{
    if (!out) return hd_error(HD_EINVAL, "npz parse: NULL output");
    *out = NULL;
    if (!label) label = "npz";
    if (!bytes && size) return hd_error(HD_EINVAL, "%s: NULL buffer", label);
    hd_npz *z = hd_calloc(1, sizeof *z);
    if (!z) return hd_error(HD_ENOMEM, "%s: out of memory", label);
    int rc = parse_into(label, bytes, size, z);
    if (rc != HD_OK) {
        hd_npz_free(z);
        /* allocation failures deep in the parser do not know the file's name */
        return rc == HD_ENOMEM ? hd_error(rc, "%s: out of memory while reading the archive", label) : rc;
    }
    *out = z;
    return HD_OK;
}

int hd_npz_read(const char *path, hd_npz **out)
{
    if (!out) return hd_error(HD_EINVAL, "npz read: NULL output");
    *out = NULL;
    if (!path) return hd_error(HD_EINVAL, "npz read: NULL path");
    unsigned char *buf = NULL;
    size_t size = 0;
    int rc = hd_file_read(path, HD_FILE_ANY_SIZE, &buf, &size); /* a zip is read whole */
    if (rc == HD_OK) rc = hd_npz_parse(path, buf, size, out);
    hd_free(buf);
    return rc;
}

void hd_npz_free(hd_npz *z)
{
    if (!z) return;
    for (int i = 0; z->entries && i < z->n; i++) {
        hd_free(z->entries[i].name);
        hd_array_free(&z->entries[i].a);
    }
    hd_free(z->entries);
    hd_free(z->by_name);
    hd_free(z);
}

int hd_npz_count(const hd_npz *z) { return z ? z->n : 0; }

const char *hd_npz_name(const hd_npz *z, int i) { return z && i >= 0 && i < z->n ? z->entries[i].name : NULL; }

const hd_array *hd_npz_get(const hd_npz *z, const char *name)
{
    if (!z || !name || z->n == 0) return NULL;
    npz_key probe = {name, -1};
    const npz_key *hit = bsearch(&probe, z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_key);
    return hit ? &z->entries[hit->index].a : NULL;
}

/* ---- writer ----------------------------------------------------------------------------- */

/* Names a writer takes: NAME.npy must fit a zip name; names unique. */
static int check_names(const char *path, int n, const char *const *names)
{
    npz_key *keys = hd_calloc((size_t)n + 1, sizeof *keys);
    if (!keys) return HD_ENOMEM;
    int rc = HD_OK;
    for (int i = 0; i < n && rc == HD_OK; i++) {
        if (!names[i]) rc = hd_error(HD_EINVAL, "%s: array %d has no name", path, i);
        else if (strlen(names[i]) > U16_MAX - 4)
            rc = hd_error(HD_EINVAL, "%s: array %d: name of %zu bytes is too long", path, i, strlen(names[i]));
        keys[i] = (npz_key){names[i], i};
    }
    if (rc == HD_OK && n > 1) {
        qsort(keys, (size_t)n, sizeof *keys, cmp_key);
        for (int i = 1; i < n && rc == HD_OK; i++)
            if (strcmp(keys[i - 1].key, keys[i].key) == 0)
                rc = hd_error(HD_EINVAL, "%s: array name '%.200s' given twice", path, keys[i].key);
    }
    hd_free(keys);
    return rc;
}

/* One stored NAME.npy member per array: its .npy header, then its data. */
typedef struct {
    char header[HD_NPY_HEADER_MAX];
    char *name; /* NAME.npy */
} npz_out;

static int plan(const char *path, int n, const char *const *names, const hd_array *const *arrays, npz_out *o,
                hd_zip_entry *e)
{
    for (int i = 0; i < n; i++) {
        char label[512];
        snprintf(label, sizeof label, "%s:%s", path, names[i]);
        uint64_t bytes = 0;
        int rc = hd_array_check(label, arrays[i], &bytes);
        if (rc != HD_OK) return rc;
        size_t n_name = strlen(names[i]);
        o[i].name = hd_malloc(n_name + sizeof NPY_SUFFIX);
        if (!o[i].name) return hd_error(HD_ENOMEM, "%s: out of memory", path);
        memcpy(o[i].name, names[i], n_name);
        memcpy(o[i].name + n_name, NPY_SUFFIX, sizeof NPY_SUFFIX);
        e[i] = (hd_zip_entry){.name = o[i].name, .head = o[i].header, .n_head = hd_npy_header(arrays[i], o[i].header),
                              .body = arrays[i]->data, .n_body = bytes};
    }
    return HD_OK;
}

int hd_npz_write(const char *path, int n, const char *const *names, const hd_array *const *arrays)
{
    if (!path) return hd_error(HD_EINVAL, "npz write: NULL path");
    if (n < 0 || n > (int)U16_MAX || (n > 0 && (!names || !arrays)))
        return hd_error(HD_EINVAL, "%s: bad array list (%d arrays; at most %u)", path, n, U16_MAX);
    int rc = check_names(path, n, names);
    if (rc != HD_OK) return rc;
    npz_out *o = hd_calloc((size_t)n + 1, sizeof *o);
    hd_zip_entry *e = hd_calloc((size_t)n + 1, sizeof *e);
    if (!o || !e) rc = hd_error(HD_ENOMEM, "%s: out of memory", path);
    if (rc == HD_OK) rc = plan(path, n, names, arrays, o, e);
    if (rc == HD_OK) rc = hd_zip_write(path, KIND, n, e);
    for (int i = 0; o && i < n; i++) hd_free(o[i].name);
    hd_free(o);
    hd_free(e);
    return rc;
}
