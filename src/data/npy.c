/* NumPy .npy files (numpy.lib.format): the magic "\x93NUMPY", a version
 * byte pair, a little-endian header length (2 bytes in v1, 4 in v2/v3), a
 * header that is a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended with '\n', then the raw C-order data.
 * Every byte read is untrusted: the header is parsed by hand (it is not
 * JSON), each size is checked before use, and the data must fill the rest
 * of the file exactly. */
#include "data/npz_internal.h"

#include "data/file_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The data is read and written as the host's own numbers. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hadron's .npy code assumes a little-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_PREAMBLE_MAX 12      /* magic, version, 4-byte length (v2/v3) */
#define NPY_MAX_HEADER (1u << 20) /* NumPy's own reader stops at 10000 bytes */
#define NPY_ALIGN 64             /* NumPy aligns the data start to 64 bytes */
#define NPY_GROWTH_DIGITS 21     /* NumPy leaves room for the first dim to grow */

/* What the header says. */
typedef struct {
    const char *descr; /* points into the header, not terminated */
    size_t descr_len;
    int fortran_order;
    int ndim;
    int64_t shape[HD_MAX_DIM];
} npy_header;

static const struct {
    const char *descr;
    hd_dtype dtype;
} supported[] = {{"<f4", HD_F32}, {"<f8", HD_F64}, {"<i4", HD_I32}, {"<i8", HD_I64}};

#define N_SUPPORTED (sizeof supported / sizeof supported[0])

/* ---- small helpers -------------------------------------------------------------- */

/* The shape as Python prints a tuple: "()", "(3,)", "(3, 4)". */
static const char *py_shape(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
    return buf;
}

static const char *descr_of(hd_dtype t)
{
    for (size_t i = 0; i < N_SUPPORTED; i++)
        if (supported[i].dtype == t) return supported[i].descr;
    return "?";
}

/* ---- the preamble ---------------------------------------------------------------- */

/* Checks magic, version and header length; b holds the first min(size,
 * NPY_PREAMBLE_MAX) bytes of a size-byte file.  Sets where the header
 * starts (*header_at) and where the data starts (*data_at). */
static int parse_preamble(const char *label, const unsigned char *b, uint64_t size, size_t *header_at,
                          size_t *data_at)
{
    size_t have = size < NPY_MAGIC_LEN ? (size_t)size : NPY_MAGIC_LEN;
    if (memcmp(b, NPY_MAGIC, have) != 0)
        return hd_error(HD_EFORMAT, "%s: not a .npy file (it does not start with \\x93NUMPY)", label);
    if (size < 10)
        return hd_error(HD_EFORMAT, "%s: truncated: %llu bytes, less than the 10-byte .npy preamble", label,
                        (unsigned long long)size);
    int major = b[6], minor = b[7];
    if (!(major >= 1 && major <= 3) || minor != 0)
        return hd_error(HD_EFORMAT, "%s: .npy format version %d.%d not supported (hadron reads 1.0, 2.0, 3.0)",
                        label, major, minor);
    uint32_t n_header = (uint32_t)b[8] | (uint32_t)b[9] << 8;
    *header_at = 10;
    if (major >= 2) {
        if (size < 12)
            return hd_error(HD_EFORMAT, "%s: truncated: %llu bytes, less than the 12-byte v%d preamble", label,
                            (unsigned long long)size, major);
        n_header |= (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
        *header_at = 12;
    }
    if (n_header > NPY_MAX_HEADER)
        return hd_error(HD_EFORMAT, "%s: header length %u is over the %u-byte limit (corrupt file?)", label,
                        (unsigned)n_header, NPY_MAX_HEADER);
    if (n_header > size - *header_at)
        return hd_error(HD_EFORMAT, "%s: truncated: header says %u bytes, file has %llu after the preamble", label,
                        (unsigned)n_header, (unsigned long long)(size - *header_at));
    *data_at = *header_at + n_header;
    return HD_OK;
}

/* ---- the header: a Python dict literal ------------------------------------------- */

typedef struct {
    const char *label;
    const char *s;
    size_t n, i;
} cursor;

static int syntax(const cursor *c, const char *what)
{
    char text[120];
    size_t n = c->n; /* without the padding, which would only show as spaces and '?' */
    while (n > 0 && (c->s[n - 1] == ' ' || c->s[n - 1] == '\n')) n--;
    return hd_error(HD_EFORMAT, "%s: malformed header at byte %zu: %s (header: %s)", c->label, c->i, what,
                    hd_printable(c->s, n, text, sizeof text));
}

static int at(const cursor *c, char ch) { return c->i < c->n && c->s[c->i] == ch; }

static int take(cursor *c, char ch)
{
    if (!at(c, ch)) return 0;
    c->i++;
    return 1;
}

static void skip_space(cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int is_digit(const cursor *c) { return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9'; }

/* A quoted string without escapes (no key or dtype hadron reads has one). */
static int parse_string(cursor *c, const char **s, size_t *n)
{
    if (!at(c, '\'') && !at(c, '"')) return syntax(c, "expected a quoted string");
    char quote = c->s[c->i++];
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] != quote && c->s[c->i] != '\n') c->i++;
    if (!at(c, quote)) return syntax(c, "unterminated string");
    *s = c->s + start;
    *n = c->i - start;
    c->i++;
    return HD_OK;
}

static int parse_bool(cursor *c, int *v)
{
    size_t start = c->i;
    while (c->i < c->n && ((c->s[c->i] >= 'A' && c->s[c->i] <= 'Z') || (c->s[c->i] >= 'a' && c->s[c->i] <= 'z')))
        c->i++;
    size_t n = c->i - start;
    if (n == 4 && memcmp(c->s + start, "True", 4) == 0) *v = 1;
    else if (n == 5 && memcmp(c->s + start, "False", 5) == 0) *v = 0;
    else {
        c->i = start;
        return syntax(c, "fortran_order is not True or False");
    }
    return HD_OK;
}

/* One dimension: a non-negative decimal integer, with the 'L' that
 * Python 2 put after longs in files from old NumPy. */
static int parse_dim(cursor *c, int64_t *v)
{
    size_t start = c->i;
    int negative = take(c, '-');
    if (!is_digit(c)) return syntax(c, "expected a dimension (an integer)");
    int64_t x = 0;
    int big = 0;
    while (is_digit(c)) {
        int digit = c->s[c->i++] - '0';
        if (x > (INT64_MAX - digit) / 10) big = 1;
        else x = x * 10 + digit;
    }
    take(c, 'L');
    char text[40];
    hd_printable(c->s + start, c->i - start, text, sizeof text);
    if (negative && (x != 0 || big)) return hd_error(HD_EFORMAT, "%s: negative dimension %s in shape", c->label, text);
    if (big) return hd_error(HD_EFORMAT, "%s: dimension %s in shape is too large", c->label, text);
    *v = x;
    return HD_OK;
}

/* A tuple of dims: "()", "(3,)", "(3, 4)", "(3, 4,)". */
static int parse_shape(cursor *c, npy_header *h)
{
    if (!take(c, '(')) return syntax(c, "shape is not a tuple");
    int count = 0, comma = 0;
    skip_space(c);
    while (!at(c, ')')) {
        int64_t v = 0; /* gcc cannot see that hd_error never returns HD_OK */
        int rc = parse_dim(c, &v);
        if (rc != HD_OK) return rc;
        if (count < HD_MAX_DIM) h->shape[count] = v;
        count++; /* the 1 MiB header limit keeps this far below INT_MAX */
        skip_space(c);
        comma = take(c, ',');
        skip_space(c);
        if (!comma && !at(c, ')')) return syntax(c, "expected ',' or ')' in shape");
    }
    c->i++;
    if (count == 1 && !comma) return syntax(c, "a 1-d shape is written (n,), with a comma");
    if (count > HD_MAX_DIM)
        return hd_error(HD_EFORMAT, "%s: shape has %d dimensions; hadron reads at most %d", c->label, count,
                        HD_MAX_DIM);
    h->ndim = count;
    return HD_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int parse_value(cursor *c, int key, npy_header *h)
{
    switch (key) {
    case KEY_DESCR:
        if (at(c, '['))
            return hd_error(HD_EFORMAT, "%s: dtype is structured (a list of fields): not supported: "
                            "use float32, float64, int32 or int64", c->label);
        return parse_string(c, &h->descr, &h->descr_len);
    case KEY_FORTRAN: return parse_bool(c, &h->fortran_order);
    default: return parse_shape(c, h);
    }
}

static int key_of(const char *s, size_t n)
{
    if (n == 5 && memcmp(s, "descr", 5) == 0) return KEY_DESCR;
    if (n == 13 && memcmp(s, "fortran_order", 13) == 0) return KEY_FORTRAN;
    if (n == 5 && memcmp(s, "shape", 5) == 0) return KEY_SHAPE;
    return 0;
}

/* One "'key': value" item; *seen collects the keys so far. */
static int parse_item(cursor *c, int *seen, npy_header *h)
{
    const char *s;
    size_t n;
    int rc = parse_string(c, &s, &n);
    if (rc != HD_OK) return rc;
    int key = key_of(s, n);
    char text[40];
    if (!key || (*seen & key))
        return hd_error(HD_EFORMAT, "%s: header key '%s' %s", c->label, hd_printable(s, n, text, sizeof text),
                        key ? "appears twice" : "is not one of descr, fortran_order, shape");
    *seen |= key;
    skip_space(c);
    if (!take(c, ':')) return syntax(c, "expected ':' after a key");
    skip_space(c);
    return parse_value(c, key, h);
}

static int parse_dict(cursor *c, npy_header *h)
{
    int seen = 0;
    skip_space(c);
    if (!take(c, '{')) return syntax(c, "expected '{'");
    skip_space(c);
    while (!at(c, '}')) {
        int rc = parse_item(c, &seen, h);
        if (rc != HD_OK) return rc;
        skip_space(c);
        int comma = take(c, ',');
        skip_space(c);
        if (!comma && !at(c, '}')) return syntax(c, "expected ',' or '}'");
    }
    c->i++;
    skip_space(c);
    if (c->i != c->n) return syntax(c, "bytes after the closing '}'");
    static const char *const names[] = {"descr", "fortran_order", "shape"};
    for (int k = 0; k < 3; k++)
        if (!(seen & 1 << k)) return hd_error(HD_EFORMAT, "%s: header has no '%s' key", c->label, names[k]);
    return HD_OK;
}

/* ---- the header: what it means ----------------------------------------------------- */

/* NumPy's name for a type code without its byte order ("f2" -> "float16"). */
static const char *numpy_name(const char *code, size_t n)
{
    static const struct {
        const char *code, *name;
    } names[] = {{"b1", "bool"},          {"i1", "int8"},          {"u1", "uint8"},     {"i2", "int16"},
                 {"u2", "uint16"},        {"i4", "int32"},         {"u4", "uint32"},    {"i8", "int64"},
                 {"u8", "uint64"},        {"f2", "float16"},       {"f4", "float32"},   {"f8", "float64"},
                 {"f12", "float96"},      {"f16", "float128"},     {"c8", "complex64"}, {"c16", "complex128"},
                 {"c32", "complex256"},   {"O", "Python objects"}, {"O8", "Python objects"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].code) == n && memcmp(names[i].code, code, n) == 0) return names[i].name;
    if (n == 0) return NULL;
    switch (code[0]) { /* kinds that carry a length or unit after the letter */
    case 'U': return "unicode string";
    case 'S': return "byte string";
    case 'V': return "raw bytes";
    case 'M': return "datetime64";
    case 'm': return "timedelta64";
    default: return NULL;
    }
}

static int resolve_dtype(const char *label, const npy_header *h, hd_dtype *dtype)
{
    for (size_t i = 0; i < N_SUPPORTED; i++)
        if (h->descr_len == 3 && memcmp(h->descr, supported[i].descr, 3) == 0) {
            *dtype = supported[i].dtype;
            return HD_OK;
        }
    char d[40];
    hd_printable(h->descr, h->descr_len, d, sizeof d);
    int ordered = h->descr_len > 0 && memchr("<>|=", h->descr[0], 4) != NULL;
    const char *name = numpy_name(h->descr + ordered, h->descr_len - (size_t)ordered);
    if (name && h->descr[0] == '>')
        return hd_error(HD_EFORMAT, "%s: dtype '%s' (big-endian %s) not supported: hadron reads little-endian "
                        "data; save a.astype('<%s')", label, d, name, d + 1);
    if (name)
        return hd_error(HD_EFORMAT, "%s: dtype '%s' (%s) not supported: use float32, float64, int32 or int64",
                        label, d, name);
    return hd_error(HD_EFORMAT, "%s: dtype '%s' not supported: use float32, float64, int32 or int64", label, d);
}

/* Fortran order is the same bytes as C order when at most one dim exceeds 1. */
static int order_matters(const npy_header *h)
{
    int big = 0;
    for (int d = 0; d < h->ndim; d++) big += h->shape[d] > 1;
    return big > 1;
}

/* Bytes of data the header describes; 0 when they would not fit in int64. */
static int data_size(const npy_header *h, size_t item, uint64_t *bytes)
{
    uint64_t n = item;
    for (int d = 0; d < h->ndim; d++)
        if (h->shape[d] == 0) n = 0;
    for (int d = 0; d < h->ndim && n; d++) {
        if ((uint64_t)h->shape[d] > (uint64_t)INT64_MAX / n) return 0;
        n *= (uint64_t)h->shape[d];
    }
    *bytes = n;
    return n <= SIZE_MAX;
}

/* Parses the header text and checks it against the data bytes that follow
 * it in the file (n_data); fills out's dtype and shape. */
static int read_header(const char *label, const char *text, size_t n, uint64_t n_data, hd_array *out,
                       uint64_t *bytes)
{
    npy_header h = {0};
    cursor c = {label, text, n, 0};
    int rc = parse_dict(&c, &h);
    if (rc == HD_OK) rc = resolve_dtype(label, &h, &out->dtype);
    if (rc != HD_OK) return rc;
    char s[128];
    py_shape(h.ndim, h.shape, s, sizeof s);
    if (h.fortran_order && order_matters(&h))
        return hd_error(HD_EFORMAT, "%s: fortran_order is True (column-major data, shape %s): not supported: "
                        "save np.ascontiguousarray(a)", label, s);
    const char *type = hd_dtype_name(out->dtype);
    if (!data_size(&h, hd_dtype_size(out->dtype), bytes))
        return hd_error(HD_EFORMAT, "%s: shape %s %s needs more than 2^63 bytes of data, file has %llu", label, s,
                        type, (unsigned long long)n_data);
    if (*bytes > n_data)
        return hd_error(HD_EFORMAT, "%s: truncated: shape %s %s needs %llu bytes of data, file has %llu", label, s,
                        type, (unsigned long long)*bytes, (unsigned long long)n_data);
    if (*bytes < n_data)
        return hd_error(HD_EFORMAT, "%s: %llu trailing bytes: shape %s %s needs %llu bytes of data, file has %llu",
                        label, (unsigned long long)(n_data - *bytes), s, type, (unsigned long long)*bytes,
                        (unsigned long long)n_data);
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    return HD_OK;
}

/* Allocates out's data for the dtype and shape read_header set. */
static int alloc_data(const char *label, hd_array *out, uint64_t bytes)
{
    hd_array shape = *out;
    int rc = hd_array_new(out, shape.dtype, shape.ndim, shape.shape);
    if (rc != HD_OK)
        return hd_error(rc, "%s: out of memory for %llu bytes of data", label, (unsigned long long)bytes);
    return HD_OK;
}

/* ---- reader ------------------------------------------------------------------------ */

int hd_npy_parse(const char *label, const void *bytes, size_t size, hd_array *out)
{
    if (!out) return hd_error(HD_EINVAL, "npy parse: NULL output");
    memset(out, 0, sizeof *out);
    if (!label) label = "npy";
    if (!bytes && size) return hd_error(HD_EINVAL, "%s: NULL buffer", label);
    const unsigned char *b = bytes ? bytes : (const unsigned char *)"";
    size_t header_at = 0, data_at = 0;
    uint64_t n = 0;
    int rc = parse_preamble(label, b, size, &header_at, &data_at);
    if (rc == HD_OK)
        rc = read_header(label, (const char *)b + header_at, data_at - header_at, size - data_at, out, &n);
    if (rc == HD_OK) rc = alloc_data(label, out, n);
    if (rc != HD_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (n) memcpy(out->data, b + data_at, (size_t)n);
    return HD_OK;
}

/* Reads the header first so that a large file that is not .npy, or that
 * does not match its header, is refused before its data is read. */
static int read_open(int fd, const char *path, uint64_t size, hd_array *out)
{
    unsigned char pre[NPY_PREAMBLE_MAX];
    size_t header_at = 0, data_at = 0;
    uint64_t n = 0;
    size_t n_pre = size < NPY_PREAMBLE_MAX ? (size_t)size : NPY_PREAMBLE_MAX;
    int rc = hd_file_read_at(fd, path, 0, pre, n_pre);
    if (rc == HD_OK) rc = parse_preamble(path, pre, size, &header_at, &data_at);
    if (rc != HD_OK) return rc;
    char *text = hd_malloc(data_at - header_at);
    if (!text) return hd_error(HD_ENOMEM, "%s: out of memory for the header", path);
    rc = hd_file_read_at(fd, path, header_at, text, data_at - header_at);
    if (rc == HD_OK) rc = read_header(path, text, data_at - header_at, size - data_at, out, &n);
    hd_free(text);
    if (rc == HD_OK) rc = alloc_data(path, out, n);
    if (rc == HD_OK && n) rc = hd_file_read_at(fd, path, data_at, out->data, (size_t)n);
    return rc;
}

int hd_npy_read(const char *path, hd_array *out)
{
    if (!out) return hd_error(HD_EINVAL, "npy read: NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return hd_error(HD_EINVAL, "npy read: NULL path");
    int fd;
    uint64_t size;
    int rc = hd_file_open(path, HD_FILE_ANY_SIZE, &fd, &size); /* streamed: read header, then data */
    if (rc != HD_OK) return rc;
    rc = read_open(fd, path, size, out);
    close(fd);
    if (rc != HD_OK) hd_array_free(out);
    return rc;
}

/* ---- writer ------------------------------------------------------------------------ */

size_t hd_npy_header(const hd_array *a, char *buf)
{
    char dict[160], s[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr_of(a->dtype), py_shape(a->ndim, a->shape, s, sizeof s));
    /* NumPy's spare room for the first dim to grow in place: matching it
     * makes our files byte-identical to np.save's. */
    size_t growth = 0;
    if (a->ndim > 0) {
        int digits = snprintf(s, sizeof s, "%lld", (long long)a->shape[0]);
        growth = digits < NPY_GROWTH_DIGITS ? (size_t)(NPY_GROWTH_DIGITS - digits) : 0;
    }
    size_t used = 10 + (size_t)n + growth + 1; /* + the final '\n' */
    size_t total = used + (NPY_ALIGN - used % NPY_ALIGN); /* NumPy pads a full 64 when already aligned */
    size_t n_header = total - 10;
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    buf[8] = (char)(n_header & 0xff);
    buf[9] = (char)(n_header >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', total - 11 - (size_t)n);
    buf[total - 1] = '\n';
    return total;
}

int hd_npy_write(const char *path, const hd_array *a)
{
    if (!path) return hd_error(HD_EINVAL, "npy write: NULL path");
    uint64_t bytes = 0;
    int rc = hd_array_check(path, a, &bytes);
    if (rc != HD_OK) return rc;
    char header[HD_NPY_HEADER_MAX];
    size_t n = hd_npy_header(a, header);
    hd_atomic_file af;
    rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    if (fwrite(header, 1, n, af.f) != n || (bytes && fwrite(a->data, 1, (size_t)bytes, af.f) != bytes)) {
        rc = hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
        hd_atomic_abort(&af);
        return rc;
    }
    return hd_atomic_commit(&af);
}
