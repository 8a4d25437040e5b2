/* safetensors files (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of UTF-8 JSON naming each tensor's
 * dtype, shape and byte range in the data section, then the data.
 * Every byte read is untrusted: the whole header is checked (the layout rules
 * are the format's own) before any tensor is handed out. */
#include "data/safetensors_internal.h"

#include "data/file_read.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tensor data is read and written as the host's own floats. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hadron's safetensors code assumes a little-endian host"
#endif

/* The reference implementation allows 100 MB of JSON; parsing takes about
 * 40 bytes of memory per byte of it, so hadron allows 8 MiB (some 50000
 * tensors; a hadron model's header has a few KB). docs/files.md */
#define ST_MAX_HEADER (8ull << 20)
#define ST_MAX_EXACT 9007199254740992.0 /* 2^53: above it JSON numbers are not exact integers */
#define ST_META "__metadata__"

typedef struct {
    const char *name;
    hd_tensor t;
    uint64_t begin, end; /* byte range in the data section */
} st_tensor;

/* A name and the index of what it names, sorted for lookup and duplicate checks. */
typedef struct {
    const char *key;
    int index;
} st_key;

struct hd_safetensors {
    unsigned char *buf; /* the file; once parsed, its data section is moved to buf[0] */
    cJSON *root;        /* owns every name and metadata string */
    int n, n_meta;
    st_tensor *tensors; /* header order */
    st_key *by_name;
    hd_meta *meta;      /* header order */
    st_key *meta_by_key;
};

/* ---- helpers shared by reader and writer ------------------------------------ */

/* 1 if s[0..n) is well-formed UTF-8: no overlong forms, surrogates or code
 * points above U+10FFFF (the format requires UTF-8 headers). */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], cp, min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const st_key *)a)->key, ((const st_key *)b)->key);
}

/* Sorts keys by name; returns a name that occurs twice, or NULL. */
static const char *sort_keys(st_key *keys, int n)
{
    if (n < 2) return NULL; /* qsort's pointer must not be NULL, even for 0 items */
    qsort(keys, (size_t)n, sizeof *keys, cmp_key);
    for (int i = 1; i < n; i++)
        if (strcmp(keys[i - 1].key, keys[i].key) == 0) return keys[i].key;
    return NULL;
}

static int find_key(const st_key *keys, int n, const char *key)
{
    if (n == 0) return -1;
    st_key probe = {key, -1};
    const st_key *hit = bsearch(&probe, keys, (size_t)n, sizeof *keys, cmp_key);
    return hit ? hit->index : -1;
}

/* ---- reader: the fixed-size prefix ------------------------------------------- */

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Checks the header length against the file size; bytes holds at least the
 * first min(size, 8) bytes of the file. */
static int check_prefix(const char *label, const unsigned char *bytes, uint64_t size, uint64_t *n_header)
{
    if (size < 8)
        return hd_error(HD_EFORMAT, "%s: truncated: file has %llu bytes, less than the 8-byte header length",
                        label, (unsigned long long)size);
    uint64_t n = le64(bytes);
    if (n > ST_MAX_HEADER)
        return hd_error(HD_EFORMAT, "%s: header length %llu is over hadron's %llu-byte limit for safetensors headers "
                        "(not a safetensors file, or one with more tensors than hadron reads; docs/files.md)",
                        label, (unsigned long long)n, ST_MAX_HEADER);
    if (n > size - 8)
        return hd_error(HD_EFORMAT, "%s: truncated: header says %llu bytes of JSON, file has %llu after the length",
                        label, (unsigned long long)n, (unsigned long long)(size - 8));
    *n_header = n;
    return HD_OK;
}

/* ---- reader: the JSON header --------------------------------------------------- */

static int json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Offset of the first character that cJSON accepts but JSON or a C string
 * cannot hold, or -1: a raw control character (JSON allows only whitespace,
 * and only outside strings) or an escaped NUL, which would cut a name short. */
static ptrdiff_t find_bad_char(const char *s, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_string && c == '\\') {
            if (n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0) return (ptrdiff_t)i;
            i++; /* the escaped character cannot end the string */
        } else if (c == '"') {
            in_string = !in_string;
        } else if (c < 0x20 && (in_string || !json_space((char)c))) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

static int parse_json(const char *label, const char *json, size_t n, cJSON **root)
{
    if (!utf8_valid((const unsigned char *)json, n))
        return hd_error(HD_EFORMAT, "%s: header is not valid UTF-8", label);
    ptrdiff_t bad = find_bad_char(json, n);
    if (bad >= 0)
        return hd_error(HD_EFORMAT, "%s: header has a control character or \\u0000 at byte %td", label, bad);
    /* with a complete parse and only whitespace after it, this makes the header an object */
    if (n == 0 || json[0] != '{') return hd_error(HD_EFORMAT, "%s: header does not start with '{'", label);
    const char *end = json;
    *root = cJSON_ParseWithLengthOpts(json, n, &end, 0);
    if (!*root)
        return hd_error(HD_EFORMAT, "%s: header is not valid JSON (error near byte %td of %zu)", label,
                        end - json, n);
    for (const char *p = end; p < json + n; p++)
        if (!json_space(*p))
            return hd_error(HD_EFORMAT, "%s: header has bytes after the JSON object, at byte %td", label, p - json);
    return HD_OK;
}

/* A JSON number that is an exact non-negative integer. */
static int json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= ST_MAX_EXACT) || (double)(uint64_t)v != v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int read_shape(const char *label, const char *name, const cJSON *shape, hd_tensor *t)
{
    if (!cJSON_IsArray(shape))
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': shape is missing or not an array", label, name);
    const cJSON *dim;
    t->ndim = 0;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t v;
        if (t->ndim == HD_MAX_DIM)
            return hd_error(HD_EFORMAT, "%s: tensor '%.200s': shape has more than %d dimensions", label, name,
                            HD_MAX_DIM);
        if (!json_uint(dim, &v))
            return hd_error(HD_EFORMAT, "%s: tensor '%.200s': shape entry %d is not a non-negative integer",
                            label, name, t->ndim);
        t->shape[t->ndim++] = (int64_t)v;
    }
    return HD_OK;
}

static int read_offsets(const char *label, const char *name, const cJSON *offsets, uint64_t data_size,
                        st_tensor *t)
{
    const cJSON *b = cJSON_IsArray(offsets) ? offsets->child : NULL;
    const cJSON *e = b ? b->next : NULL;
    if (!e || e->next || !json_uint(b, &t->begin) || !json_uint(e, &t->end))
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': data_offsets is not a pair of non-negative integers",
                        label, name);
    if (t->begin > t->end)
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': data_offsets [%llu, %llu) end before they begin", label,
                        name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_size) /* most likely a file cut short */
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': data_offsets [%llu, %llu) outside the %llu-byte data section"
                        " (truncated file?)",
                        label, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                        (unsigned long long)data_size);
    return HD_OK;
}

/* Elements in the shape, or -1 when they would need more than max_bytes. */
static int64_t numel_within(const hd_tensor *t, uint64_t max_bytes)
{
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return 0;
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if ((uint64_t)t->shape[i] > max_bytes / 4 / n) return -1;
        n *= (uint64_t)t->shape[i];
    }
    return n * 4 > max_bytes ? -1 : (int64_t)n;
}

static int check_size(const char *label, const st_tensor *t, uint64_t data_size)
{
    char s[96];
    hd_shape_str(t->t.ndim, t->t.shape, s, sizeof s);
    int64_t numel = numel_within(&t->t, data_size);
    if (numel < 0)
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': shape %s needs more than the %llu-byte data section",
                        label, t->name, s, (unsigned long long)data_size);
    if (t->end - t->begin != 4 * (uint64_t)numel)
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': data_offsets [%llu, %llu) but shape %s needs %llu bytes",
                        label, t->name, (unsigned long long)t->begin, (unsigned long long)t->end, s,
                        (unsigned long long)(4 * (uint64_t)numel));
    return HD_OK;
}

/* cJSON would silently take the first of two equal keys; the format's
 * reference reader refuses them. */
static int check_fields_unique(const char *label, const cJSON *entry)
{
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (int f = 0; f < 3; f++) {
        int count = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, entry) count += strcmp(item->string, fields[f]) == 0;
        if (count > 1)
            return hd_error(HD_EFORMAT, "%s: tensor '%.200s': %s appears twice", label, entry->string, fields[f]);
    }
    return HD_OK;
}

static int read_tensor(const char *label, const cJSON *item, uint64_t data_size, st_tensor *t)
{
    t->name = item->string;
    if (!cJSON_IsObject(item))
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': entry is not a JSON object", label, t->name);
    int rc = check_fields_unique(label, item);
    if (rc != HD_OK) return rc;
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dtype))
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': dtype is missing or not a string", label, t->name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return hd_error(HD_EFORMAT, "%s: tensor '%.200s': dtype %.40s is not supported (hadron reads F32 only)",
                        label, t->name, dtype->valuestring);
    rc = read_shape(label, t->name, cJSON_GetObjectItemCaseSensitive(item, "shape"), &t->t);
    if (rc == HD_OK)
        rc = read_offsets(label, t->name, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), data_size, t);
    return rc == HD_OK ? check_size(label, t, data_size) : rc;
}

static int read_meta(const char *label, const cJSON *obj, hd_safetensors *st)
{
    if (!cJSON_IsObject(obj)) return hd_error(HD_EFORMAT, "%s: %s is not a JSON object", label, ST_META);
    const cJSON *item;
    int n = 0;
    cJSON_ArrayForEach(item, obj) n++;
    st->meta = hd_calloc((size_t)n + 1, sizeof *st->meta);
    st->meta_by_key = hd_calloc((size_t)n + 1, sizeof *st->meta_by_key);
    if (!st->meta || !st->meta_by_key) return HD_ENOMEM;
    cJSON_ArrayForEach(item, obj) {
        if (!cJSON_IsString(item))
            return hd_error(HD_EFORMAT, "%s: metadata '%.200s' is not a string", label, item->string);
        st->meta[st->n_meta] = (hd_meta){item->string, item->valuestring};
        st->meta_by_key[st->n_meta] = (st_key){item->string, st->n_meta};
        st->n_meta++;
    }
    const char *dup = sort_keys(st->meta_by_key, st->n_meta);
    if (dup) return hd_error(HD_EFORMAT, "%s: metadata key '%.200s' appears twice", label, dup);
    return HD_OK;
}

/* Fills st->tensors and st->meta from the header's entries. */
static int read_entries(const char *label, hd_safetensors *st, uint64_t data_size)
{
    const cJSON *item, *meta = NULL;
    int n = 0;
    cJSON_ArrayForEach(item, st->root) {
        if (strcmp(item->string, ST_META) != 0) n++;
        else if (meta) return hd_error(HD_EFORMAT, "%s: %s appears twice", label, ST_META);
        else meta = item;
    }
    st->tensors = hd_calloc((size_t)n + 1, sizeof *st->tensors);
    st->by_name = hd_calloc((size_t)n + 1, sizeof *st->by_name);
    if (!st->tensors || !st->by_name) return HD_ENOMEM;
    cJSON_ArrayForEach(item, st->root) {
        if (item == meta) continue;
        int rc = read_tensor(label, item, data_size, &st->tensors[st->n]);
        if (rc != HD_OK) return rc;
        st->by_name[st->n] = (st_key){item->string, st->n};
        st->n++;
    }
    const char *dup = sort_keys(st->by_name, st->n);
    if (dup) return hd_error(HD_EFORMAT, "%s: tensor name '%.200s' appears twice", label, dup);
    return meta ? read_meta(label, meta, st) : HD_OK;
}

/* ---- reader: the data layout ----------------------------------------------------- */

static int cmp_offsets(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The format requires the tensors to tile the data section: no overlap, no gap. */
static int check_tiling(const char *label, st_tensor *const *sorted, int n, uint64_t data_size)
{
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = sorted[i];
        if (t->begin < pos)
            return hd_error(HD_EFORMAT, "%s: tensors '%.200s' [%llu, %llu) and '%.200s' [%llu, %llu) overlap",
                            label, sorted[i - 1]->name, (unsigned long long)sorted[i - 1]->begin,
                            (unsigned long long)pos, t->name, (unsigned long long)t->begin,
                            (unsigned long long)t->end);
        if (t->begin > pos)
            return hd_error(HD_EFORMAT, "%s: data bytes [%llu, %llu) belong to no tensor", label,
                            (unsigned long long)pos, (unsigned long long)t->begin);
        pos = t->end;
    }
    if (pos != data_size)
        return hd_error(HD_EFORMAT, "%s: data bytes [%llu, %llu) belong to no tensor", label,
                        (unsigned long long)pos, (unsigned long long)data_size);
    return HD_OK;
}

static int check_layout(const char *label, hd_safetensors *st, uint64_t data_size)
{
    st_tensor **sorted = hd_calloc((size_t)st->n + 1, sizeof *sorted);
    if (!sorted) return HD_ENOMEM;
    for (int i = 0; i < st->n; i++) sorted[i] = &st->tensors[i];
    if (st->n > 1) qsort(sorted, (size_t)st->n, sizeof *sorted, cmp_offsets);
    int rc = check_tiling(label, sorted, st->n, data_size);
    hd_free(sorted);
    return rc;
}

/* ---- reader: putting it together --------------------------------------------- */

static int parse_into(const char *label, hd_safetensors *st, size_t size)
{
    uint64_t n_header = 0; /* gcc cannot see that hd_error never returns HD_OK */
    int rc = check_prefix(label, st->buf, size, &n_header);
    if (rc != HD_OK) return rc;
    uint64_t data_size = size - 8 - n_header;
    rc = parse_json(label, (const char *)st->buf + 8, (size_t)n_header, &st->root);
    if (rc == HD_OK) rc = read_entries(label, st, data_size);
    if (rc == HD_OK) rc = check_layout(label, st, data_size);
    if (rc != HD_OK) return rc;
    /* buf is 64-byte aligned and the tiling makes every offset a multiple of 4,
     * so moving the data to the front aligns every tensor for float access. */
    memmove(st->buf, st->buf + 8 + n_header, (size_t)data_size);
    for (int i = 0; i < st->n; i++) st->tensors[i].t.data = (float *)(void *)(st->buf + st->tensors[i].begin);
    return HD_OK;
}

/* Parses buf[0..size), which the result then owns (freed on error too). */
static int parse_owned(const char *label, unsigned char *buf, size_t size, hd_safetensors **out)
{
    *out = NULL;
    hd_safetensors *st = hd_calloc(1, sizeof *st);
    if (!st) {
        hd_free(buf);
        return hd_error(HD_ENOMEM, "%s: out of memory", label);
    }
    st->buf = buf;
    int rc = parse_into(label, st, size);
    if (rc != HD_OK) {
        hd_safetensors_free(st);
        /* allocation failures deep in the parser do not know the file's name */
        return rc == HD_ENOMEM ? hd_error(rc, "%s: out of memory while parsing the header", label) : rc;
    }
    *out = st;
    return HD_OK;
}

int hd_safetensors_parse(const char *label, const void *bytes, size_t size, hd_safetensors **out)
{
    if (!out) return hd_error(HD_EINVAL, "safetensors parse: NULL argument");
    *out = NULL;
    if (!bytes && size) return hd_error(HD_EINVAL, "%s: NULL buffer", label);
    unsigned char *buf = hd_malloc(size);
    if (!buf) return hd_error(HD_ENOMEM, "%s: out of memory for %zu bytes", label, size);
    if (size) memcpy(buf, bytes, size);
    return parse_owned(label, buf, size, out);
}

/* Reads the whole file, but checks the header length first so that a large
 * file that is not safetensors is refused before it is read. */
static int read_file(const char *path, unsigned char **buf, size_t *size)
{
    int fd;
    uint64_t bytes, n_header; /* checked here, parsed again with the rest */
    unsigned char prefix[8];
    int rc = hd_file_open(path, HD_FILE_ANY_SIZE, &fd, &bytes);
    if (rc != HD_OK) return rc;
    if (bytes >= 8) rc = hd_file_read_at(fd, path, 0, prefix, 8);
    if (rc == HD_OK) rc = check_prefix(path, prefix, bytes, &n_header);
    if (rc == HD_OK) rc = hd_file_read_all(fd, path, bytes, buf);
    close(fd);
    if (rc != HD_OK) return rc;
    *size = (size_t)bytes;
    return HD_OK;
}

int hd_safetensors_read(const char *path, hd_safetensors **out)
{
    if (!out) return hd_error(HD_EINVAL, "safetensors read: NULL argument");
    *out = NULL;
    if (!path) return hd_error(HD_EINVAL, "safetensors read: NULL path");
    unsigned char *buf = NULL;
    size_t size = 0;
    int rc = read_file(path, &buf, &size);
    return rc == HD_OK ? parse_owned(path, buf, size, out) : rc;
}

void hd_safetensors_free(hd_safetensors *st)
{
    if (!st) return;
    hd_free(st->buf);
    cJSON_Delete(st->root);
    hd_free(st->tensors);
    hd_free(st->by_name);
    hd_free(st->meta);
    hd_free(st->meta_by_key);
    hd_free(st);
}

int hd_safetensors_count(const hd_safetensors *st) { return st ? st->n : 0; }

const char *hd_safetensors_name(const hd_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n ? st->tensors[i].name : NULL;
}

const hd_tensor *hd_safetensors_get(const hd_safetensors *st, const char *name)
{
    int i = st && name ? find_key(st->by_name, st->n, name) : -1;
    return i >= 0 ? &st->tensors[i].t : NULL;
}

const char *hd_safetensors_meta(const hd_safetensors *st, const char *key)
{
    int i = st && key ? find_key(st->meta_by_key, st->n_meta, key) : -1;
    return i >= 0 ? st->meta[i].value : NULL;
}

int hd_safetensors_meta_count(const hd_safetensors *st) { return st ? st->n_meta : 0; }

const char *hd_safetensors_meta_key(const hd_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n_meta ? st->meta[i].key : NULL;
}

/* ---- writer ------------------------------------------------------------------ */

static int is_utf8(const char *s) { return utf8_valid((const unsigned char *)s, strlen(s)); }

static int check_tensor_arg(const char *path, int i, const char *name, const hd_tensor *t)
{
    if (!name) return hd_error(HD_EINVAL, "%s: tensor %d has no name", path, i);
    if (!is_utf8(name) || strcmp(name, ST_META) == 0)
        return hd_error(HD_EINVAL, "%s: tensor name '%.200s' is not UTF-8 or is reserved", path, name);
    if (!t || t->ndim < 0 || t->ndim > HD_MAX_DIM)
        return hd_error(HD_EINVAL, "%s: tensor '%.200s' is NULL or has more than %d dimensions", path, name,
                        HD_MAX_DIM);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0) return hd_error(HD_EINVAL, "%s: tensor '%.200s' has a negative dimension", path, name);
    if (!t->data && hd_tensor_numel(t) > 0) return hd_error(HD_EINVAL, "%s: tensor '%.200s' has no data", path, name);
    return HD_OK;
}

static int check_meta_arg(const char *path, int i, const hd_meta *m)
{
    if (!m->key || !m->value) return hd_error(HD_EINVAL, "%s: metadata entry %d has a NULL key or value", path, i);
    if (!is_utf8(m->key) || !is_utf8(m->value) || strcmp(m->key, ST_META) == 0)
        return hd_error(HD_EINVAL, "%s: metadata '%.200s' is not UTF-8 or is reserved", path, m->key);
    return HD_OK;
}

/* keys[i] = the i-th of n strings; refuses a string that occurs twice. */
static int check_unique(const char *path, const char *what, st_key *keys, int n)
{
    const char *dup = sort_keys(keys, n);
    return dup ? hd_error(HD_EINVAL, "%s: %s '%.200s' given twice", path, what, dup) : HD_OK;
}

static int check_write_args(const char *path, int n, const char *const *names, const hd_tensor *const *tensors,
                            int n_meta, const hd_meta *meta)
{
    if (n < 0 || n_meta < 0 || (n > 0 && (!names || !tensors)) || (n_meta > 0 && !meta))
        return hd_error(HD_EINVAL, "%s: bad tensor or metadata list", path);
    st_key *keys = hd_calloc((size_t)(n > n_meta ? n : n_meta) + 1, sizeof *keys);
    if (!keys) return HD_ENOMEM;
    int rc = HD_OK;
    for (int i = 0; i < n && rc == HD_OK; i++) {
        rc = check_tensor_arg(path, i, names[i], tensors[i]);
        keys[i] = (st_key){names[i], i};
    }
    if (rc == HD_OK) rc = check_unique(path, "tensor name", keys, n);
    for (int i = 0; i < n_meta && rc == HD_OK; i++) {
        rc = check_meta_arg(path, i, &meta[i]);
        keys[i] = (st_key){meta[i].key, i};
    }
    if (rc == HD_OK) rc = check_unique(path, "metadata key", keys, n_meta);
    hd_free(keys);
    return rc;
}

static int add_uint_array(cJSON *obj, const char *key, int n, const uint64_t *v)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    if (!arr) return 0;
    for (int i = 0; i < n; i++) {
        cJSON *num = cJSON_CreateNumber((double)v[i]);
        if (!num || !cJSON_AddItemToArray(arr, num)) {
            cJSON_Delete(num);
            return 0;
        }
    }
    return 1;
}

static int add_tensor_entry(cJSON *root, const char *name, const hd_tensor *t, uint64_t *offset)
{
    uint64_t shape[HD_MAX_DIM], range[2] = {*offset, *offset + 4 * (uint64_t)hd_tensor_numel(t)};
    for (int d = 0; d < t->ndim; d++) shape[d] = (uint64_t)t->shape[d];
    *offset = range[1];
    cJSON *e = cJSON_AddObjectToObject(root, name);
    return e && cJSON_AddStringToObject(e, "dtype", "F32") && add_uint_array(e, "shape", t->ndim, shape) &&
           add_uint_array(e, "data_offsets", 2, range);
}

/* The JSON header (malloc'd by cJSON), metadata first as the reference writer does. */
static char *header_json(int n, const char *const *names, const hd_tensor *const *tensors, int n_meta,
                         const hd_meta *meta)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    cJSON *m = ok && n_meta > 0 ? cJSON_AddObjectToObject(root, ST_META) : NULL;
    ok = ok && (n_meta == 0 || m);
    for (int i = 0; i < n_meta && ok; i++) ok = cJSON_AddStringToObject(m, meta[i].key, meta[i].value) != NULL;
    uint64_t offset = 0;
    for (int i = 0; i < n && ok; i++) ok = add_tensor_entry(root, names[i], tensors[i], &offset);
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return json;
}

/* The length prefix and the header padded with spaces so that data starts on
 * an 8-byte boundary, then the tensors back to back. */
static int write_body(FILE *f, const char *json, int n, const hd_tensor *const *tensors)
{
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (fwrite(prefix, 1, 8, f) != 8 || fwrite(json, 1, len, f) != len) return 0;
    for (size_t i = len; i < padded; i++)
        if (fputc(' ', f) == EOF) return 0;
    for (int i = 0; i < n; i++) {
        size_t numel = (size_t)hd_tensor_numel(tensors[i]);
        if (numel && fwrite(tensors[i]->data, sizeof(float), numel, f) != numel) return 0;
    }
    return 1;
}

int hd_safetensors_write(const char *path, int n, const char *const *names, const hd_tensor *const *tensors,
                         int n_meta, const hd_meta *meta)
{
    if (!path) return hd_error(HD_EINVAL, "safetensors write: NULL path");
    int rc = check_write_args(path, n, names, tensors, n_meta, meta);
    if (rc != HD_OK) return rc;
    char *json = header_json(n, names, tensors, n_meta, meta);
    if (!json) return hd_error(HD_ENOMEM, "%s: out of memory building the header", path);
    hd_atomic_file af;
    rc = hd_atomic_open(&af, path);
    if (rc == HD_OK && !write_body(af.f, json, n, tensors)) {
        rc = hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
        hd_atomic_abort(&af);
    } else if (rc == HD_OK) {
        rc = hd_atomic_commit(&af);
    }
    free(json);
    return rc;
}
