/* IDX files (the MNIST format), plain or gzip-compressed: two zero bytes, a
 * type code, the number of dimensions, one big-endian uint32 size per
 * dimension, then the data in C order, big-endian.  zlib's gzread reads
 * both kinds of file, so the header and data checks below are the same for
 * each.  Every byte is untrusted: the header is checked before any data is
 * read (the shape the caller needs, and what reading it would allocate
 * against the input cap, hd_input_cap), the data buffer grows only as bytes
 * actually arrive (a ten-byte file that promises 200 MB costs nothing), and
 * a file read whole must end exactly where the header says: one byte more
 * is refused, after reading one small block, not the rest. */
#include "hadron/data.h"

#include "data/file_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_FIRST_CHUNK (1u << 16) /* the data buffer starts here and doubles */
#define IDX_MAX_READ (1u << 30)    /* gzread takes an unsigned and returns an int */
#define IDX_GZ_BUFFER (1u << 17)
#define IDX_TAIL_BLOCK 4096u       /* what is read after the data to find trailing bytes */

typedef struct {
    int code;
    const char *name;
    int size;
    hd_dtype dtype; /* the hd_array dtype that holds every value exactly */
} idx_type;

static const idx_type idx_types[] = {
    {0x08, "ubyte", 1, HD_I32}, {0x09, "sbyte", 1, HD_I32},   {0x0B, "int16", 2, HD_I32},
    {0x0C, "int32", 4, HD_I32}, {0x0D, "float32", 4, HD_F32}, {0x0E, "float64", 8, HD_F64},
};

#define IDX_UBYTE (&idx_types[0])

/* What a caller needs of the file; checked on the header, before the data. */
typedef enum { WANT_ANY, WANT_IMAGES, WANT_LABELS } idx_want;

/* An open IDX file: after idx_header its header, after idx_limit what is
 * to be read of it, after idx_read its raw big-endian data. */
typedef struct {
    const char *path;
    gzFile gz;
    uint64_t file_bytes; /* on disk, compressed or not: what the input cap scales with */
    const idx_type *type;
    int ndim;
    int64_t shape[HD_MAX_DIM];
    uint64_t numel, bytes;           /* the whole file's, as the header says */
    int64_t n_read;                  /* the first n_read of shape[0] rows are read */
    uint64_t read_numel, read_bytes; /* theirs */
    unsigned char *raw;              /* read_bytes long; malloc'ed, freed by idx_close */
} idx_file;

/* ---- messages ------------------------------------------------------------------ */

/* "10000 x 28 x 28 ubyte" */
static const char *describe(const idx_file *f, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < f->ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? " x " : "", (long long)f->shape[d]);
    if (used < size) snprintf(buf + used, size - used, " %s", f->type ? f->type->name : "?");
    return buf;
}

/* " (after gunzip)" for a compressed file, "" for a plain one. */
static const char *gz_note(const idx_file *f) { return gzdirect(f->gz) ? "" : " (after gunzip)"; }

/* After a short read: the gzip or I/O error behind it, or HD_OK when the
 * (decompressed) file simply ended.  `at` is how many decompressed bytes
 * came before the failure. */
static int gz_problem(const idx_file *f, uint64_t at)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);
    /* zlib prefixes its message with the name it was opened under, "<fd:3>: " */
    const char *colon = msg ? strstr(msg, ": ") : NULL;
    if (msg && msg[0] == '<' && colon) msg = colon + 2;
    if (!msg || !msg[0]) msg = "unknown error";
    switch (errnum) {
    case Z_OK: return HD_OK;
    case Z_BUF_ERROR: {
        uint64_t head = 4 + 4 * (uint64_t)f->ndim;
        char s[128];
        if (f->bytes && at >= head && at - head < f->bytes)
            return hd_error(HD_EFORMAT, "%s: truncated: the gzip stream ends early, with %llu of the %llu bytes of "
                            "data that the header (%s) promises", f->path, (unsigned long long)(at - head),
                            (unsigned long long)f->bytes, describe(f, s, sizeof s));
        if (f->bytes && at >= head)
            return hd_error(HD_EFORMAT, "%s: truncated: the gzip stream ends early, after all %llu bytes of data "
                            "(its trailer is cut)", f->path, (unsigned long long)f->bytes);
        return hd_error(HD_EFORMAT, "%s: truncated: the gzip stream ends early, after %llu bytes of output",
                        f->path, (unsigned long long)at);
    }
    case Z_MEM_ERROR: return hd_error(HD_ENOMEM, "%s: out of memory in zlib", f->path);
    case Z_ERRNO: return hd_error(HD_EIO, "cannot read %s: %s", f->path, msg);
    default:
        return hd_error(HD_EFORMAT, "%s: corrupt gzip data after %llu bytes of output: %s", f->path,
                        (unsigned long long)at, msg);
    }
}

/* ---- reading --------------------------------------------------------------------- */

/* Reads up to n bytes; *got says how many came.  HD_OK unless gzread failed
 * outright (a short read is for the caller to judge). */
static int read_some(idx_file *f, void *buf, uint64_t n, uint64_t *got, uint64_t before)
{
    *got = 0;
    while (*got < n) {
        uint64_t want = n - *got;
        int r = gzread(f->gz, (unsigned char *)buf + *got, want > IDX_MAX_READ ? IDX_MAX_READ : (unsigned)want);
        if (r < 0) {
            int rc = gz_problem(f, before + *got);
            return rc != HD_OK ? rc : hd_error(HD_EIO, "cannot read %s", f->path);
        }
        if (r == 0) break;
        *got += (uint64_t)r;
    }
    return HD_OK;
}

/* Reads exactly n header bytes; `what` names them for a truncation message. */
static int read_header_bytes(idx_file *f, unsigned char *buf, unsigned n, uint64_t before, const char *what)
{
    uint64_t got;
    int rc = read_some(f, buf, n, &got, before);
    if (rc == HD_OK && got < n) rc = gz_problem(f, before + got);
    if (rc != HD_OK || got == n) return rc;
    if (before + got == 0) return hd_error(HD_EFORMAT, "%s: empty file%s", f->path, gz_note(f));
    return hd_error(HD_EFORMAT, "%s: truncated: %u bytes of %s expected, only %llu there%s", f->path, n, what,
                    (unsigned long long)got, gz_note(f));
}

static const idx_type *type_of(int code)
{
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == code) return &idx_types[i];
    return NULL;
}

static int parse_magic(idx_file *f, const unsigned char *m)
{
    if (m[0] != 0 || m[1] != 0)
        return hd_error(HD_EFORMAT, "%s: not an IDX file%s: it starts with %02x %02x %02x %02x, not 00 00 "
                        "<type> <ndim>", f->path, gz_note(f), m[0], m[1], m[2], m[3]);
    f->type = type_of(m[2]);
    if (!f->type)
        return hd_error(HD_EFORMAT, "%s: unsupported IDX type code 0x%02x (hadron reads 0x08 ubyte, 0x09 sbyte, "
                        "0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)", f->path, m[2]);
    if (m[3] < 1 || m[3] > HD_MAX_DIM)
        return hd_error(HD_EFORMAT, "%s: IDX header has %d dimensions; hadron reads 1 to %d", f->path, m[3],
                        HD_MAX_DIM);
    f->ndim = m[3];
    return HD_OK;
}

static int parse_sizes(idx_file *f, const unsigned char *b)
{
    uint64_t numel = 1;
    int big = 0;
    for (int d = 0; d < f->ndim; d++) {
        const unsigned char *p = b + 4 * d;
        uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        f->shape[d] = n;
        if (n == 0)
            return hd_error(HD_EFORMAT, "%s: size %d of %d in the IDX header is 0", f->path, d + 1, f->ndim);
        if (numel > HD_IDX_MAX_NUMEL / n) big = 1; /* also stops the product overflowing */
        else numel *= n;
    }
    char s[128];
    if (big)
        return hd_error(HD_EFORMAT, "%s: IDX header sizes %s make more than %llu elements (corrupt file?)", f->path,
                        describe(f, s, sizeof s), (unsigned long long)HD_IDX_MAX_NUMEL);
    f->numel = numel;
    f->bytes = numel * (uint64_t)f->type->size;
    return HD_OK;
}

static int check_want(const idx_file *f, idx_want want)
{
    char s[128];
    if (want == WANT_IMAGES && (f->ndim != 3 || f->type != IDX_UBYTE))
        return hd_error(HD_EFORMAT, "%s: an images file is 3-D ubyte (N x H x W); this one is %d-D %s", f->path,
                        f->ndim, describe(f, s, sizeof s));
    if (want == WANT_LABELS && (f->ndim != 1 || f->type != IDX_UBYTE))
        return hd_error(HD_EFORMAT, "%s: a labels file is 1-D ubyte (N); this one is %d-D %s", f->path, f->ndim,
                        describe(f, s, sizeof s));
    return HD_OK;
}

/* Reads the data of the first n_read rows into f->raw, growing the buffer
 * as bytes arrive rather than trusting the header with one big allocation. */
static int read_data(idx_file *f, uint64_t header_bytes)
{
    uint64_t have = 0, cap = 0;
    while (have < f->read_bytes) {
        if (have == cap) {
            uint64_t next = cap ? cap * 2 : IDX_FIRST_CHUNK;
            if (next > f->read_bytes) next = f->read_bytes;
            unsigned char *p = next <= SIZE_MAX ? realloc(f->raw, (size_t)next) : NULL;
            if (!p)
                return hd_error(HD_ENOMEM, "%s: out of memory for %llu bytes of data", f->path,
                                (unsigned long long)next);
            f->raw = p;
            cap = next;
        }
        uint64_t got;
        int rc = read_some(f, f->raw + have, cap - have, &got, header_bytes + have);
        if (rc != HD_OK) return rc;
        have += got;
        if (have < cap) break; /* the file ended */
    }
    if (have == f->read_bytes) return HD_OK;
    int rc = gz_problem(f, header_bytes + have);
    if (rc != HD_OK) return rc;
    char s[128];
    return hd_error(HD_EFORMAT, "%s: truncated: header (%s) promises %llu bytes of data, file has %llu%s", f->path,
                    describe(f, s, sizeof s), (unsigned long long)f->bytes, (unsigned long long)have, gz_note(f));
}

/* Trailing bytes after the data are refused: a file longer than its header
 * says is not the file the header describes (wrong header, or two files
 * joined).  One small block is read, not the rest: a byte is enough. */
static int check_end(idx_file *f, uint64_t end)
{
    unsigned char buf[IDX_TAIL_BLOCK];
    uint64_t got;
    int rc = read_some(f, buf, sizeof buf, &got, end);
    if (rc == HD_OK && !got) rc = gz_problem(f, end); /* the end of a gzip stream: its CRC and length */
    if (rc != HD_OK || !got) return rc;
    char s[128];
    return hd_error(HD_EFORMAT, "%s: at least %llu trailing bytes after the %llu bytes of data that the header (%s) "
                    "promises%s", f->path, (unsigned long long)got, (unsigned long long)f->bytes,
                    describe(f, s, sizeof s), gz_note(f));
}

static int idx_open(idx_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int fd;
    uint64_t size; /* of the file, compressed or not: the input cap scales with it */
    int rc = hd_file_open(path, HD_FILE_ANY_SIZE, &fd, &size);
    if (rc != HD_OK) return rc;
    f->file_bytes = size;
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return hd_error(HD_ENOMEM, "%s: out of memory opening the file", path);
    }
    /* zlib allocates three times this: no more than a small file needs */
    gzbuffer(f->gz, size < IDX_GZ_BUFFER ? (size < 4096 ? 4096 : (unsigned)size) : IDX_GZ_BUFFER);
    return HD_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz) gzclose_r(f->gz);
    free(f->raw);
    f->gz = NULL;
    f->raw = NULL;
}

/* Opens f and reads and checks its header (idx_close it, also on failure):
 * nothing of the data is read yet. */
static int idx_header(idx_file *f, const char *path, idx_want want)
{
    int rc = idx_open(f, path);
    if (rc != HD_OK) return rc;
    unsigned char magic[4], sizes[4 * HD_MAX_DIM];
    rc = read_header_bytes(f, magic, 4, 0, "IDX magic");
    if (rc == HD_OK) rc = parse_magic(f, magic);
    if (rc == HD_OK) rc = read_header_bytes(f, sizes, 4u * (unsigned)f->ndim, 4, "dimension sizes");
    if (rc == HD_OK) rc = parse_sizes(f, sizes);
    if (rc == HD_OK) rc = check_want(f, want);
    return rc;
}

/* What is to be read: the first n_max rows (0: all), and what holding
 * them costs, raw and converted to out_size-byte values, held to the input
 * cap of the file's size; `as` names the converted values in a refusal. */
static int idx_limit(idx_file *f, int64_t n_max, size_t out_size, const char *as)
{
    f->n_read = n_max > 0 && n_max < f->shape[0] ? n_max : f->shape[0];
    f->read_numel = f->numel / (uint64_t)f->shape[0] * (uint64_t)f->n_read;
    f->read_bytes = f->read_numel * (uint64_t)f->type->size;
    uint64_t claimed = f->read_bytes + f->read_numel * out_size; /* < 2^32 * 16: no overflow */
    if (claimed <= hd_input_cap(f->file_bytes)) return HD_OK;
    char s[128], what[256];
    if (f->n_read < f->shape[0])
        snprintf(what, sizeof what, "reading %lld of the IDX header's %s (the data and %s)", (long long)f->n_read,
                 describe(f, s, sizeof s), as);
    else
        snprintf(what, sizeof what, "reading the IDX header's %s (the data and %s)", describe(f, s, sizeof s), as);
    return hd_input_refuse(f->path, what, claimed, f->file_bytes);
}

/* Reads the data idx_limit chose; a file read whole must end with it. */
static int idx_read(idx_file *f)
{
    uint64_t header_bytes = 4 + 4 * (uint64_t)f->ndim;
    int rc = read_data(f, header_bytes);
    if (rc == HD_OK && f->n_read == f->shape[0]) rc = check_end(f, header_bytes + f->bytes);
    return rc;
}

/* ---- conversion ------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void convert(const idx_file *f, void *out)
{
    const unsigned char *b = f->raw;
    uint64_t n = f->read_numel;
    int32_t *i32 = out;
    switch (f->type->code) {
    case 0x08: for (uint64_t i = 0; i < n; i++) i32[i] = b[i]; break;
    case 0x09: for (uint64_t i = 0; i < n; i++) i32[i] = (int8_t)b[i]; break;
    case 0x0B: for (uint64_t i = 0; i < n; i++) i32[i] = (int16_t)(uint16_t)(b[2 * i] << 8 | b[2 * i + 1]); break;
    case 0x0C:
    case 0x0D: /* int32 and float32: the same bit pattern, host order */
        for (uint64_t i = 0; i < n; i++) {
            uint32_t u = be32(b + 4 * i);
            memcpy((char *)out + 4 * i, &u, 4);
        }
        break;
    case 0x0E:
        for (uint64_t i = 0; i < n; i++) {
            uint64_t u = (uint64_t)be32(b + 8 * i) << 32 | be32(b + 8 * i + 4);
            memcpy((char *)out + 8 * i, &u, 8);
        }
        break;
    }
}

/* ---- public API ------------------------------------------------------------------- */

int hd_idx_read(const char *path, hd_array *out)
{
    if (!out) return hd_error(HD_EINVAL, "idx read: NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return hd_error(HD_EINVAL, "idx read: NULL path");
    idx_file f;
    int rc = idx_header(&f, path, WANT_ANY);
    if (rc == HD_OK) {
        char as[64];
        snprintf(as, sizeof as, "its %s values", hd_dtype_name(f.type->dtype));
        rc = idx_limit(&f, 0, hd_dtype_size(f.type->dtype), as);
    }
    if (rc == HD_OK) rc = idx_read(&f);
    if (rc == HD_OK && hd_array_new(out, f.type->dtype, f.ndim, f.shape) != HD_OK)
        rc = hd_error(HD_ENOMEM, "%s: out of memory for %llu %s values", path, (unsigned long long)f.numel,
                      hd_dtype_name(f.type->dtype));
    if (rc == HD_OK) convert(&f, out->data);
    idx_close(&f);
    return rc;
}

static int check_image_opts(const char *path, const hd_idx_image_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "%s: NULL image options", path);
    if (!isfinite(o->lo) || !isfinite(o->hi))
        return hd_error(HD_EINVAL, "%s: pixel range [%g, %g] is not finite", path, (double)o->lo, (double)o->hi);
    if (o->height < 0 || o->width < 0 || o->n_max < 0)
        return hd_error(HD_EINVAL, "%s: image options height %lld, width %lld, n_max %lld: each must be >= 0 (0: any)",
                        path, (long long)o->height, (long long)o->width, (long long)o->n_max);
    return HD_OK;
}

/* The header of an images file: 3-D ubyte, the size the caller needs, and
 * the first n_max images within the input cap. */
static int images_header(idx_file *f, const char *path, const hd_idx_image_opts *o)
{
    int rc = idx_header(f, path, WANT_IMAGES);
    if (rc != HD_OK) return rc;
    if ((o->height && f->shape[1] != o->height) || (o->width && f->shape[2] != o->width)) {
        char s[128], h[24] = "any", w[24] = "any";
        if (o->height) snprintf(h, sizeof h, "%lld", (long long)o->height);
        if (o->width) snprintf(w, sizeof w, "%lld", (long long)o->width);
        return hd_error(HD_EFORMAT, "%s: the IDX header's %s holds images of %lld x %lld; %s x %s are needed", path,
                        describe(f, s, sizeof s), (long long)f->shape[1], (long long)f->shape[2], h, w);
    }
    return idx_limit(f, o->n_max, sizeof(float), "the float32 images");
}

/* The images read into a new N x 1 x H x W tensor, pixel 0 -> lo, 255 -> hi. */
static int images_convert(const idx_file *f, const hd_idx_image_opts *o, hd_tensor **out)
{
    hd_tensor *t = hd_tensor_new(4, (int64_t[]){f->n_read, 1, f->shape[1], f->shape[2]});
    if (!t)
        return hd_error(HD_ENOMEM, "%s: out of memory for %llu float32 pixels", f->path,
                        (unsigned long long)f->read_numel);
    /* lo*(1-t) + hi*t in double: exactly lo at 0 and exactly hi at 255 */
    float lut[256];
    for (int v = 0; v < 256; v++) {
        double s = v / 255.0;
        lut[v] = (float)((double)o->lo * (1.0 - s) + (double)o->hi * s);
    }
    for (uint64_t i = 0; i < f->read_numel; i++) t->data[i] = lut[f->raw[i]];
    *out = t;
    return HD_OK;
}

/* The labels read, as int32 (hd_malloc'd). */
static int labels_convert(const idx_file *f, int32_t **labels)
{
    int32_t *l = hd_malloc((size_t)f->read_numel * sizeof *l);
    if (!l) return hd_error(HD_ENOMEM, "%s: out of memory for %llu labels", f->path, (unsigned long long)f->read_numel);
    convert(f, l);
    *labels = l;
    return HD_OK;
}

int hd_idx_read_images(const char *path, const hd_idx_image_opts *opts, hd_tensor **out)
{
    if (!out) return hd_error(HD_EINVAL, "idx read images: NULL output");
    *out = NULL;
    if (!path) return hd_error(HD_EINVAL, "idx read images: NULL path");
    int rc = check_image_opts(path, opts);
    if (rc != HD_OK) return rc;
    idx_file f;
    rc = images_header(&f, path, opts);
    if (rc == HD_OK) rc = idx_read(&f);
    if (rc == HD_OK) rc = images_convert(&f, opts, out);
    idx_close(&f);
    return rc;
}

int hd_idx_read_labels(const char *path, int64_t n_expected, int32_t **labels, int64_t *n)
{
    if (!labels) return hd_error(HD_EINVAL, "idx read labels: NULL output");
    *labels = NULL;
    if (n) *n = 0;
    if (!path) return hd_error(HD_EINVAL, "idx read labels: NULL path");
    idx_file f;
    int rc = idx_header(&f, path, WANT_LABELS);
    if (rc == HD_OK && n_expected >= 0 && f.shape[0] != n_expected)
        rc = hd_error(HD_EFORMAT, "%s: %lld labels, expected %lld", path, (long long)f.shape[0],
                      (long long)n_expected);
    if (rc == HD_OK) rc = idx_limit(&f, 0, sizeof(int32_t), "the int32 labels");
    if (rc == HD_OK) rc = idx_read(&f);
    if (rc == HD_OK) rc = labels_convert(&f, labels);
    if (rc == HD_OK && n) *n = f.shape[0];
    idx_close(&f);
    return rc;
}

int hd_idx_read_mnist(const char *images_path, const char *labels_path, const hd_idx_image_opts *opts,
                      hd_tensor **images, int32_t **labels)
{
    if (!images || !labels) return hd_error(HD_EINVAL, "idx read mnist: NULL output");
    *images = NULL;
    *labels = NULL;
    if (!images_path || !labels_path) return hd_error(HD_EINVAL, "idx read mnist: NULL path");
    int rc = check_image_opts(images_path, opts);
    if (rc != HD_OK) return rc;
    /* both headers first: a missing or mismatched labels file costs no image data */
    idx_file fi, fl;
    memset(&fl, 0, sizeof fl);
    rc = images_header(&fi, images_path, opts);
    if (rc == HD_OK) rc = idx_header(&fl, labels_path, WANT_LABELS);
    if (rc == HD_OK && fl.shape[0] != fi.shape[0])
        rc = hd_error(HD_EFORMAT, "%s has %lld images but %s has %lld labels", images_path, (long long)fi.shape[0],
                      labels_path, (long long)fl.shape[0]);
    if (rc == HD_OK) rc = idx_limit(&fl, opts->n_max, sizeof(int32_t), "the int32 labels");
    if (rc == HD_OK) rc = idx_read(&fi);
    if (rc == HD_OK) rc = idx_read(&fl);
    hd_tensor *t = NULL;
    if (rc == HD_OK) rc = images_convert(&fi, opts, &t);
    if (rc == HD_OK) rc = labels_convert(&fl, labels);
    if (rc == HD_OK) *images = t;
    else hd_tensor_free(t);
    idx_close(&fi);
    idx_close(&fl);
    return rc;
}

const char *hd_idx_default_dir(void)
{
    const char *dir = getenv("HADRON_FASHION_MNIST");
    return dir && dir[0] ? dir : HD_IDX_FASHION_MNIST_DIR;
}
