/* IDX (MNIST) files: every type code and rank read back, plain and gzip;
 * images scaled exactly onto [lo, hi]; labels and image/label pairs with
 * their counts checked; the image size and the count to read checked on
 * the headers before any data is read, and what a header claims held to
 * the input cap; every kind of corrupt file (header, sizes, truncation,
 * trailing bytes, gzip damage) refused with the file's name and the reason,
 * and no crash on any truncation; the real Fashion-MNIST test set when
 * Debian's dataset-fashion-mnist is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "hadron/hadron.h"
#include "test_util.h"

typedef struct {
    char *dir;         /* test_tmpdir() */
    char raw[4096];    /* dir/t10k-images-idx3-ubyte */
    char gz[4096];     /* dir/t10k-images-idx3-ubyte.gz */
    char labels[4096]; /* dir/t10k-labels-idx1-ubyte.gz */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    if (!(f->dir = test_tmpdir("idx"))) return -1;
    snprintf(f->raw, sizeof f->raw, "%s/t10k-images-idx3-ubyte", f->dir);
    snprintf(f->gz, sizeof f->gz, "%s/t10k-images-idx3-ubyte.gz", f->dir);
    snprintf(f->labels, sizeof f->labels, "%s/t10k-labels-idx1-ubyte.gz", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    test_tmpdir_free(f->dir);
    free(f);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

/* An IDX file in memory: header for (type, ndim, dims), then n_data bytes
 * of data (copied from data, or 0, 1, 2, ... when data is NULL). */
static unsigned char *make_idx(int type, int ndim, const uint32_t *dims, const void *data, size_t n_data,
                               size_t *size)
{
    size_t head = 4 + 4 * (size_t)ndim;
    unsigned char *b = malloc(head + n_data + 1);
    assert_non_null(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++)
        for (int k = 0; k < 4; k++) b[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
    for (size_t k = 0; k < n_data; k++) b[head + k] = data ? ((const unsigned char *)data)[k] : (unsigned char)k;
    *size = head + n_data;
    return b;
}

/* Writes bytes gzip-compressed, as a .gz file from gzip(1) would be. */
static void spill_gz(const char *path, const void *bytes, size_t n)
{
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    if (n) assert_int_equal(gzwrite(g, bytes, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

/* The gzip-compressed form of bytes (malloc'ed), via a file. */
static unsigned char *gzip_bytes(const fixture *f, const void *bytes, size_t n, size_t *size)
{
    spill_gz(f->gz, bytes, n);
    return slurp(f->gz, size);
}

/* An IDX file (as make_idx) written to path, gzip-compressed when gz. */
static void put_idx(const char *path, int gz, int type, int ndim, const uint32_t *dims, const void *data,
                    size_t n_data)
{
    size_t n;
    unsigned char *b = make_idx(type, ndim, dims, data, n_data, &n);
    if (gz) spill_gz(path, b, n);
    else spill(path, b, n);
    free(b);
}

static uint32_t u32(int64_t v) { return (uint32_t)v; }

/* Image options: [lo, hi], any size, every image. */
static hd_idx_image_opts range(float lo, float hi) { return (hd_idx_image_opts){.lo = lo, .hi = hi}; }

/* ---- reading every type ----------------------------------------------------------- */

static void test_ubyte_plain_and_gzip(void **state)
{
    fixture *f = *state;
    size_t n;
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){2, 3, 4}, NULL, 24, &n);
    b[4 + 12 + 23] = 255;
    spill(f->raw, b, n);
    spill_gz(f->gz, b, n);
    const char *paths[2] = {f->raw, f->gz};
    for (int k = 0; k < 2; k++) {
        hd_array a;
        assert_int_equal(hd_idx_read(paths[k], &a), HD_OK);
        assert_int_equal(a.dtype, HD_I32);
        assert_int_equal(a.ndim, 3);
        assert_int_equal(a.shape[0], 2);
        assert_int_equal(a.shape[1], 3);
        assert_int_equal(a.shape[2], 4);
        const int32_t *v = a.data;
        for (int i = 0; i < 23; i++) assert_int_equal(v[i], i);
        assert_int_equal(v[23], 255);
        hd_array_free(&a);
    }
    free(b);
}

/* Big-endian bytes of each type, and the values they must read as. */
static void test_every_type_and_rank(void **state)
{
    fixture *f = *state;
    static const unsigned char sb[] = {0x80, 0xff, 0x00, 0x7f};
    static const int32_t sb_v[] = {-128, -1, 0, 127};
    static const unsigned char i16[] = {0x80, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x7f, 0xff};
    static const int32_t i16_v[] = {-32768, -2, 0, 32767};
    static const unsigned char i32[] = {0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0x00, 0x7f, 0xff, 0xff, 0xff};
    static const int32_t i32_v[] = {INT32_MIN, -1, 256, INT32_MAX};
    static const unsigned char f32[] = {0xbf, 0xc0, 0, 0, 0, 0, 0, 0, 0x7f, 0x80, 0, 0, 0x00, 0x00, 0x00, 0x01};
    static const unsigned char f64[] = {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,
                                        0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint32_t dims[4][4] = {{4, 0, 0, 0}, {2, 2, 0, 0}, {1, 2, 2, 0}, {1, 1, 2, 2}};
    for (int ndim = 1; ndim <= 4; ndim++)
        for (int gz = 0; gz < 2; gz++) {
            const char *path = gz ? f->gz : f->raw;
            size_t n;
            hd_array a;
            unsigned char *b;
#define READ(type, bytes)                                                                    \
    b = make_idx(type, ndim, dims[ndim - 1], bytes, sizeof bytes, &n);                       \
    if (gz) spill_gz(path, b, n);                                                            \
    else spill(path, b, n);                                                                  \
    free(b);                                                                                 \
    assert_int_equal(hd_idx_read(path, &a), HD_OK);                                          \
    assert_int_equal(a.ndim, ndim);                                                          \
    for (int d = 0; d < ndim; d++) assert_int_equal(a.shape[d], dims[ndim - 1][d]);          \
    assert_int_equal(hd_array_numel(&a), 4)

            READ(0x09, sb);
            assert_int_equal(a.dtype, HD_I32);
            assert_memory_equal(a.data, sb_v, sizeof sb_v);
            hd_array_free(&a);
            READ(0x0B, i16);
            assert_int_equal(a.dtype, HD_I32);
            assert_memory_equal(a.data, i16_v, sizeof i16_v);
            hd_array_free(&a);
            READ(0x0C, i32);
            assert_int_equal(a.dtype, HD_I32);
            assert_memory_equal(a.data, i32_v, sizeof i32_v);
            hd_array_free(&a);
            READ(0x0D, f32);
            assert_int_equal(a.dtype, HD_F32);
            const float *fv = a.data;
            assert_true(fv[0] == -1.5f && fv[1] == 0.0f && isinf(fv[2]) && fv[2] > 0);
            assert_true(fv[3] > 0 && fv[3] < 1e-44f); /* the smallest subnormal */
            hd_array_free(&a);
            READ(0x0E, f64);
            assert_int_equal(a.dtype, HD_F64);
            const double *dv = a.data;
            assert_true(dv[0] == 1.0 && dv[1] == -3.141592653589793 && dv[2] == 1e300);
            assert_true(dv[3] == 0.0 && signbit(dv[3]));
            hd_array_free(&a);
#undef READ
        }
}

/* ---- images, labels, pairs --------------------------------------------------------- */

static void test_images_scaled_exactly(void **state)
{
    fixture *f = *state;
    unsigned char px[2 * 2 * 3] = {0, 255, 1, 128, 127, 254, 255, 0, 51, 102, 204, 17};
    size_t n;
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){2, 2, 3}, px, sizeof px, &n);
    spill_gz(f->gz, b, n);
    free(b);
    static const float ranges[][2] = {{-1, 1}, {0, 1}, {1, -1}, {-0.5f, 3.25f}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        float lo = ranges[r][0], hi = ranges[r][1];
        hd_tensor *t = NULL;
        hd_idx_image_opts o = range(lo, hi);
        assert_int_equal(hd_idx_read_images(f->gz, &o, &t), HD_OK);
        assert_int_equal(t->ndim, 4);
        assert_int_equal(t->shape[0], 2);
        assert_int_equal(t->shape[1], 1);
        assert_int_equal(t->shape[2], 2);
        assert_int_equal(t->shape[3], 3);
        for (int i = 0; i < 12; i++) {
            if (px[i] == 0) assert_true(t->data[i] == lo);   /* exact */
            if (px[i] == 255) assert_true(t->data[i] == hi); /* exact */
            double want = lo + (hi - lo) * (px[i] / 255.0);
            assert_true(fabs(t->data[i] - want) <= 1e-6 * (fabs(lo) + fabs(hi)));
        }
        hd_tensor_free(t);
    }
    hd_tensor *t = (hd_tensor *)1;
    hd_idx_image_opts o = range(NAN, 1);
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EINVAL, f->gz, "not finite");
    assert_null(t);
    o = range(-1, INFINITY);
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EINVAL, "not finite", NULL);
    o = range(-1, 1);
    o.n_max = -1;
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EINVAL, "n_max -1", "must be >= 0");
    o.n_max = 0;
    o.width = -28;
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EINVAL, "width -28", NULL);
    assert_error(hd_idx_read_images(f->gz, NULL, &t), HD_EINVAL, "NULL image options", NULL);
}

static void test_labels_and_counts(void **state)
{
    fixture *f = *state;
    unsigned char lab[5] = {9, 0, 3, 255, 7};
    size_t n;
    unsigned char *b = make_idx(0x08, 1, (uint32_t[]){5}, lab, sizeof lab, &n);
    spill_gz(f->labels, b, n);
    free(b);
    int32_t *l = NULL;
    int64_t count = 0;
    assert_int_equal(hd_idx_read_labels(f->labels, 5, &l, &count), HD_OK);
    assert_int_equal(count, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(l[i], lab[i]);
    hd_free(l);
    assert_int_equal(hd_idx_read_labels(f->labels, -1, &l, NULL), HD_OK);
    assert_int_equal(l[3], 255);
    hd_free(l);
    assert_error(hd_idx_read_labels(f->labels, 6, &l, &count), HD_EFORMAT, f->labels, "5 labels, expected 6");
    assert_null(l);
    assert_int_equal(count, 0);

    /* the wrong kind of file for each reader: swapped paths say what they found */
    b = make_idx(0x08, 3, (uint32_t[]){5, 2, 2}, NULL, 20, &n);
    spill(f->raw, b, n);
    free(b);
    assert_error(hd_idx_read_labels(f->raw, -1, &l, &count), HD_EFORMAT, f->raw, "a labels file is 1-D ubyte");
    assert_error(hd_idx_read_labels(f->raw, -1, &l, &count), HD_EFORMAT, "3-D 5 x 2 x 2 ubyte", NULL);
    hd_tensor *t = NULL;
    hd_idx_image_opts o = range(-1, 1);
    assert_error(hd_idx_read_images(f->labels, &o, &t), HD_EFORMAT, f->labels, "an images file is 3-D ubyte");
    assert_error(hd_idx_read_images(f->labels, &o, &t), HD_EFORMAT, "1-D 5 ubyte", NULL);
    assert_null(t);
    b = make_idx(0x0D, 3, (uint32_t[]){1, 1, 1}, NULL, 4, &n); /* 3-D, but float32 */
    spill(f->raw, b, n);
    free(b);
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "3-D 1 x 1 x 1 float32", NULL);
    b = make_idx(0x0C, 1, (uint32_t[]){1}, NULL, 4, &n); /* 1-D, but int32 */
    spill(f->raw, b, n);
    free(b);
    assert_error(hd_idx_read_labels(f->raw, -1, &l, NULL), HD_EFORMAT, "1-D 1 int32", NULL);
}

static void test_mnist_pair(void **state)
{
    fixture *f = *state;
    size_t n;
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){3, 2, 2}, NULL, 12, &n);
    spill_gz(f->gz, b, n);
    free(b);
    b = make_idx(0x08, 1, (uint32_t[]){3}, (unsigned char[]){1, 2, 3}, 3, &n);
    spill_gz(f->labels, b, n);
    free(b);
    hd_tensor *t = NULL;
    int32_t *l = NULL;
    hd_idx_image_opts o = range(0, 1);
    assert_int_equal(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_OK);
    assert_int_equal(t->shape[0], 3);
    assert_true(t->data[11] == 11.0f / 255.0f);
    assert_int_equal(l[2], 3);
    hd_tensor_free(t);
    hd_free(l);

    b = make_idx(0x08, 1, (uint32_t[]){4}, (unsigned char[]){1, 2, 3, 4}, 4, &n);
    spill_gz(f->labels, b, n);
    free(b);
    assert_error(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_EFORMAT, f->gz, f->labels);
    assert_error(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_EFORMAT, "has 3 images", "has 4 labels");
    assert_null(t);
    assert_null(l);
    /* a bad labels file is reported as such, and nothing leaks */
    spill(f->labels, "junk", 4);
    assert_error(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_EFORMAT, f->labels, "not an IDX file");
    assert_null(t);
}

/* Both headers are checked before any image data is read: an images file
 * whose data is cut short is refused for what its header says. */
static void test_headers_before_data(void **state)
{
    fixture *f = *state;
    put_idx(f->gz, 1, 0x08, 3, (uint32_t[]){250000, 28, 28}, NULL, 100); /* the data cut */
    put_idx(f->labels, 1, 0x08, 1, (uint32_t[]){3}, (unsigned char[]){1, 2, 3}, 3);
    hd_tensor *t = NULL;
    int32_t *l = NULL;
    hd_idx_image_opts o = {.lo = -1, .hi = 1, .height = 28, .width = 28, .n_max = 2};
    assert_error(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_EFORMAT, "has 250000 images", "has 3 labels");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/no-labels.gz", f->dir);
    assert_error(hd_idx_read_mnist(f->gz, missing, &o, &t, &l), HD_EIO, missing, "No such file");
    /* the image size needed, on the header */
    o.height = 32;
    assert_error(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_EFORMAT, f->gz,
                 "250000 x 28 x 28 ubyte holds images of 28 x 28; 32 x 28 are needed");
    put_idx(f->gz, 1, 0x08, 3, (uint32_t[]){50000000, 1, 1}, NULL, 10);
    o.height = 28;
    o.width = 0;
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EFORMAT, "images of 1 x 1; 28 x any are needed", NULL);
    o.height = 0;
    o.width = 2;
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EFORMAT, "images of 1 x 1; any x 2 are needed", NULL);
    assert_null(t);
    assert_null(l);
}

/* n_max: only the first images and labels are read; the rest of the file is
 * not (so neither its trailing bytes nor its truncation are seen). */
static void test_first_n(void **state)
{
    fixture *f = *state;
    put_idx(f->gz, 1, 0x08, 3, (uint32_t[]){4, 2, 2}, NULL, 16);
    put_idx(f->labels, 1, 0x08, 1, (uint32_t[]){4}, (unsigned char[]){7, 8, 9, 5}, 4);
    hd_tensor *t = NULL;
    int32_t *l = NULL;
    hd_idx_image_opts o = {.lo = 0, .hi = 255, .height = 2, .width = 2, .n_max = 3};
    assert_int_equal(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_OK);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[2], 2);
    for (int i = 0; i < 12; i++) assert_true(t->data[i] == (float)i);
    assert_int_equal(l[2], 9);
    hd_tensor_free(t);
    hd_free(l);
    o.n_max = 9; /* more than there are: all of them */
    assert_int_equal(hd_idx_read_mnist(f->gz, f->labels, &o, &t, &l), HD_OK);
    assert_int_equal(t->shape[0], 4);
    assert_int_equal(l[3], 5);
    hd_tensor_free(t);
    hd_free(l);
    /* 2 of 4 images of a file cut after the third and with no end: read */
    put_idx(f->raw, 0, 0x08, 3, (uint32_t[]){4, 2, 2}, NULL, 12);
    o.n_max = 2;
    assert_int_equal(hd_idx_read_images(f->raw, &o, &t), HD_OK);
    assert_int_equal(t->shape[0], 2);
    hd_tensor_free(t);
    o.n_max = 0;
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "promises 16 bytes of data, file has 12", NULL);
    o.n_max = 4;
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "promises 16 bytes of data, file has 12", NULL);
    /* trailing bytes count only when the whole file is read */
    put_idx(f->raw, 0, 0x08, 3, (uint32_t[]){4, 2, 2}, NULL, 20);
    o.n_max = 3;
    assert_int_equal(hd_idx_read_images(f->raw, &o, &t), HD_OK);
    hd_tensor_free(t);
    o.n_max = 4;
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "at least 4 trailing bytes", NULL);
    assert_null(t);
}

/* What a header claims is held to the input cap of the file's size: a
 * 20-byte file promising 250000 images is refused for it, before any data
 * is read (not as truncated); HADRON_MAX_INPUT_MB moves the cap. */
static void test_input_cap(void **state)
{
    fixture *f = *state;
    put_idx(f->raw, 0, 0x08, 3, (uint32_t[]){250000, 28, 28}, NULL, 4);
    hd_tensor *t = NULL;
    hd_idx_image_opts o = {.lo = -1, .hi = 1, .height = 28, .width = 28};
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, f->raw,
                 "reading the IDX header's 250000 x 28 x 28 ubyte (the data and the float32 images) is 980000000 "
                 "bytes, more than the 268435776 bytes one input file of 20 bytes may make hadron allocate");
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "HADRON_MAX_INPUT_MB", NULL);
    hd_array a;
    assert_error(hd_idx_read(f->raw, &a), HD_EFORMAT, "(the data and its int32 values) is 980000000 bytes", NULL);
    o.n_max = 1000; /* within the cap: then the data is found short */
    assert_error(hd_idx_read_images(f->raw, &o, &t), HD_EFORMAT, "promises 196000000 bytes of data, file has 4", NULL);

    /* 1000 zero images of 28 x 28, gzipped: 3.9 MB to hold, 1 MiB allowed */
    size_t bytes = 1000 * 28 * 28;
    unsigned char *zeros = calloc(1, bytes);
    assert_non_null(zeros);
    put_idx(f->gz, 1, 0x08, 3, (uint32_t[]){1000, 28, 28}, zeros, bytes);
    free(zeros);
    setenv("HADRON_MAX_INPUT_MB", "1", 1);
    o.n_max = 0;
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EFORMAT, "is 3920000 bytes, more than the 1048576 bytes", NULL);
    o.n_max = 300; /* 1176000 bytes */
    assert_error(hd_idx_read_images(f->gz, &o, &t), HD_EFORMAT, "reading 300 of the IDX header's 1000 x 28 x 28", NULL);
    o.n_max = 100; /* 392000 bytes */
    assert_int_equal(hd_idx_read_images(f->gz, &o, &t), HD_OK);
    assert_int_equal(t->shape[0], 100);
    hd_tensor_free(t);
    setenv("HADRON_MAX_INPUT_MB", "8", 1);
    o.n_max = 0;
    assert_int_equal(hd_idx_read_images(f->gz, &o, &t), HD_OK);
    assert_int_equal(t->shape[0], 1000);
    hd_tensor_free(t);
    unsetenv("HADRON_MAX_INPUT_MB");
}

/* ---- corrupt files ------------------------------------------------------------------ */

/* path is refused with code and a message naming it and containing part
 * (and part2); the output is left empty by every reader. */
static void refused(const char *path, int code, const char *part, const char *part2)
{
    hd_array a;
    assert_error(hd_idx_read(path, &a), code, path, part);
    if (part2) assert_error(code, code, part2, NULL);
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
    hd_tensor *t = (hd_tensor *)1;
    hd_idx_image_opts o = range(-1, 1);
    int rc = hd_idx_read_images(path, &o, &t);
    assert_int_not_equal(rc, HD_OK);
    assert_non_null(strstr(hd_last_error(), path));
    assert_null(t);
    int32_t *l = (int32_t *)1;
    rc = hd_idx_read_labels(path, -1, &l, NULL);
    assert_int_not_equal(rc, HD_OK);
    assert_null(l);
}

/* The same content refused plain and gzipped, with the same reason. */
static void refused_both(const fixture *f, const void *bytes, size_t n, const char *part, const char *part2)
{
    spill(f->raw, bytes, n);
    refused(f->raw, HD_EFORMAT, part, part2);
    spill_gz(f->gz, bytes, n);
    refused(f->gz, HD_EFORMAT, part, part2);
}

static void test_bad_header(void **state)
{
    fixture *f = *state;
    size_t n;
    refused_both(f, "", 0, "empty file", NULL);
    refused_both(f, "\0\0\x08", 3, "truncated: 4 bytes of IDX magic expected, only 3 there", NULL);
    refused_both(f, "PK\x03\x04 and more", 14, "not an IDX file", "starts with 50 4b 03 04, not 00 00");
    refused_both(f, "\x01\0\x08\x01\0\0\0\x01\x07", 9, "not an IDX file", NULL);
    refused_both(f, "\0\0\x0a\x01\0\0\0\x01\x07", 9, "unsupported IDX type code 0x0a", "0x08 ubyte");
    refused_both(f, "\0\0\x07\x01\0\0\0\x01\x07", 9, "unsupported IDX type code 0x07", NULL);
    refused_both(f, "\0\0\x08\x00\x07", 5, "IDX header has 0 dimensions; hadron reads 1 to 4", NULL);
    refused_both(f, "\0\0\x08\x05\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\0\0\x01\x07", 25,
                 "IDX header has 5 dimensions", NULL);
    refused_both(f, "\0\0\x08\xff", 4, "IDX header has 255 dimensions", NULL);
    /* sizes cut short */
    refused_both(f, "\0\0\x08\x03\0\0\0\x02\0\0", 10,
                 "truncated: 12 bytes of dimension sizes expected, only 6 there", NULL);
    /* a zero size */
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){10, 0, 28}, NULL, 0, &n);
    refused_both(f, b, n, "size 2 of 3 in the IDX header is 0", NULL);
    free(b);
    /* absurd sizes: 2^32-1 to the fourth overflows 64 bits; 2^16 x 2^16 x 2 is past the limit */
    b = make_idx(0x0E, 4, (uint32_t[]){u32(UINT32_MAX), u32(UINT32_MAX), u32(UINT32_MAX), u32(UINT32_MAX)}, NULL,
                 8, &n);
    refused_both(f, b, n, "more than 4294967296 elements", "4294967295 x 4294967295 x 4294967295 x 4294967295");
    free(b);
    b = make_idx(0x08, 3, (uint32_t[]){65536, 65536, 2}, NULL, 8, &n);
    refused_both(f, b, n, "65536 x 65536 x 2 ubyte make more than", NULL);
    free(b);
}

static void test_truncated_and_trailing(void **state)
{
    fixture *f = *state;
    size_t n;
    /* the message the task names: the promise against what is there */
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){10000, 28, 28}, NULL, 1200, &n);
    spill(f->raw, b, n);
    refused(f->raw, HD_EFORMAT, "truncated: header (10000 x 28 x 28 ubyte) promises 7840000 bytes of data, file has 1200",
            NULL);
    spill_gz(f->gz, b, n);
    refused(f->gz, HD_EFORMAT, "promises 7840000 bytes of data, file has 1200 (after gunzip)", NULL);
    free(b);
    b = make_idx(0x0B, 2, (uint32_t[]){3, 3}, NULL, 17, &n); /* one byte short of 9 int16 */
    refused_both(f, b, n, "truncated: header (3 x 3 int16) promises 18 bytes of data, file has 17", NULL);
    free(b);
    /* a header with no data at all */
    b = make_idx(0x08, 1, (uint32_t[]){1}, NULL, 0, &n);
    refused_both(f, b, n, "promises 1 bytes of data, file has 0", NULL);
    free(b);
    /* trailing garbage is refused, not ignored */
    b = make_idx(0x08, 2, (uint32_t[]){2, 2}, NULL, 7, &n);
    refused_both(f, b, n, "at least 3 trailing bytes after the 4 bytes of data", "(2 x 2 ubyte)");
    free(b);
    /* a lot of it: one block is read, not the rest */
    b = make_idx(0x08, 1, (uint32_t[]){1}, NULL, 100001, &n);
    refused_both(f, b, n, "at least 4096 trailing bytes", NULL);
    free(b);
}

/* Every proper prefix of a good file is refused, plain and compressed: no
 * crash, no partial array. */
static void test_every_truncation(void **state)
{
    fixture *f = *state;
    size_t n, n_gz;
    unsigned char *b = make_idx(0x0C, 2, (uint32_t[]){3, 5}, NULL, 60, &n);
    spill(f->raw, b, n);
    hd_array a;
    assert_int_equal(hd_idx_read(f->raw, &a), HD_OK);
    hd_array_free(&a);
    for (size_t k = 0; k < n; k++) {
        spill(f->raw, b, k);
        assert_int_equal(hd_idx_read(f->raw, &a), HD_EFORMAT);
        assert_null(a.data);
        assert_non_null(strstr(hd_last_error(), f->raw));
    }
    unsigned char *z = gzip_bytes(f, b, n, &n_gz);
    assert_int_equal(hd_idx_read(f->gz, &a), HD_OK);
    hd_array_free(&a);
    for (size_t k = 0; k < n_gz; k++) {
        spill(f->gz, z, k);
        assert_int_equal(hd_idx_read(f->gz, &a), HD_EFORMAT);
        assert_null(a.data);
        assert_non_null(strstr(hd_last_error(), f->gz));
    }
    free(z);
    free(b);
}

static void test_gzip_damage(void **state)
{
    fixture *f = *state;
    size_t n, n_gz;
    unsigned char *b = make_idx(0x08, 3, (uint32_t[]){4, 8, 8}, NULL, 256, &n);
    unsigned char *z = gzip_bytes(f, b, n, &n_gz);
    unsigned char *c = malloc(n_gz + 64);
    assert_non_null(c);

    /* a wrong CRC-32, a wrong length, in the 8-byte trailer */
    memcpy(c, z, n_gz);
    c[n_gz - 8] ^= 0x01;
    spill(f->gz, c, n_gz);
    refused(f->gz, HD_EFORMAT, "corrupt gzip data", "incorrect data check");
    memcpy(c, z, n_gz);
    c[n_gz - 1] ^= 0x01;
    spill(f->gz, c, n_gz);
    refused(f->gz, HD_EFORMAT, "corrupt gzip data", "incorrect length check");
    /* an unknown compression method in the gzip header */
    memcpy(c, z, n_gz);
    c[2] = 7;
    spill(f->gz, c, n_gz);
    refused(f->gz, HD_EFORMAT, "corrupt gzip data", "unknown compression method");
    /* the stream cut short, before and after the IDX data is complete */
    spill(f->gz, z, n_gz - 4);
    refused(f->gz, HD_EFORMAT, "truncated: the gzip stream ends early, after all 256 bytes of data", NULL);
    spill(f->gz, z, n_gz / 2);
    refused(f->gz, HD_EFORMAT, "truncated: the gzip stream ends early, with ", "of the 256 bytes of data that the "
            "header (4 x 8 x 8 ubyte) promises");
    spill(f->gz, z, 12);
    refused(f->gz, HD_EFORMAT, "truncated: the gzip stream ends early, after 0 bytes of output", NULL);
    /* every single-bit flip in the compressed bytes: refused or (if the bit
     * does not matter, such as the OS byte) the same array; never a crash */
    hd_array good;
    spill(f->gz, z, n_gz);
    assert_int_equal(hd_idx_read(f->gz, &good), HD_OK);
    for (size_t k = 0; k < n_gz; k++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(c, z, n_gz);
            c[k] ^= (unsigned char)(1 << bit);
            spill(f->gz, c, n_gz);
            hd_array a;
            int rc = hd_idx_read(f->gz, &a);
            if (rc == HD_OK) {
                assert_int_equal(a.ndim, good.ndim);
                assert_memory_equal(a.data, good.data, 256 * sizeof(int32_t));
            } else {
                assert_non_null(strstr(hd_last_error(), f->gz));
                assert_null(a.data);
            }
            hd_array_free(&a);
        }
    hd_array_free(&good);

    /* documented: junk after a complete gzip stream is ignored (as gunzip
     * does), and concatenated gzip members read as one stream */
    memcpy(c, z, n_gz);
    memcpy(c + n_gz, "trailing junk", 13);
    spill(f->gz, c, n_gz + 13);
    hd_array a;
    assert_int_equal(hd_idx_read(f->gz, &a), HD_OK);
    hd_array_free(&a);
    size_t n1, n2;
    unsigned char *z1 = gzip_bytes(f, b, 100, &n1);
    unsigned char *z2 = gzip_bytes(f, b + 100, n - 100, &n2);
    unsigned char *cat = malloc(n1 + n2);
    assert_non_null(cat);
    memcpy(cat, z1, n1);
    memcpy(cat + n1, z2, n2);
    spill(f->gz, cat, n1 + n2);
    assert_int_equal(hd_idx_read(f->gz, &a), HD_OK);
    assert_int_equal(((int32_t *)a.data)[255], 255);
    hd_array_free(&a);
    free(cat);
    free(z1);
    free(z2);
    /* plain data after the IDX bytes inside a gzip stream is trailing garbage */
    memcpy(c, b, n);
    memcpy(c + n, "xy", 2);
    spill_gz(f->gz, c, n + 2);
    refused(f->gz, HD_EFORMAT, "2 trailing bytes", "(after gunzip)");
    /* gzip inside gzip is not IDX after one gunzip */
    spill_gz(f->gz, z, n_gz);
    refused(f->gz, HD_EFORMAT, "not an IDX file (after gunzip): it starts with 1f 8b", NULL);
    free(c);
    free(z);
    free(b);
}

static void test_missing_and_bad_arguments(void **state)
{
    fixture *f = *state;
    hd_array a;
    char path[4200];
    snprintf(path, sizeof path, "%s/no-such-file.gz", f->dir);
    assert_error(hd_idx_read(path, &a), HD_EIO, path, "No such file");
    assert_error(hd_idx_read(f->dir, &a), HD_EIO, f->dir, "not a regular file");
    assert_error(hd_idx_read(NULL, &a), HD_EINVAL, "NULL path", NULL);
    assert_error(hd_idx_read(path, NULL), HD_EINVAL, "NULL output", NULL);
    hd_tensor *t;
    int32_t *l;
    hd_idx_image_opts o = range(0, 1);
    assert_error(hd_idx_read_images(path, &o, NULL), HD_EINVAL, "NULL output", NULL);
    assert_error(hd_idx_read_images(NULL, &o, &t), HD_EINVAL, "NULL path", NULL);
    assert_error(hd_idx_read_images(path, &o, &t), HD_EIO, path, NULL);
    assert_error(hd_idx_read_labels(path, -1, NULL, NULL), HD_EINVAL, "NULL output", NULL);
    assert_error(hd_idx_read_labels(NULL, -1, &l, NULL), HD_EINVAL, "NULL path", NULL);
    assert_error(hd_idx_read_mnist(path, path, &o, &t, NULL), HD_EINVAL, "NULL output", NULL);
    assert_error(hd_idx_read_mnist(path, NULL, &o, &t, &l), HD_EINVAL, "NULL path", NULL);
    assert_error(hd_idx_read_mnist(path, f->labels, &o, &t, &l), HD_EIO, path, NULL);
    assert_error(hd_idx_read_mnist(path, f->labels, NULL, &t, &l), HD_EINVAL, "NULL image options", NULL);
}

static void test_default_dir(void **state)
{
    (void)state;
    unsetenv("HADRON_FASHION_MNIST");
    assert_string_equal(hd_idx_default_dir(), "/usr/share/datasets/fashion-mnist");
    assert_string_equal(hd_idx_default_dir(), HD_IDX_FASHION_MNIST_DIR);
    setenv("HADRON_FASHION_MNIST", "/data/fmnist", 1);
    assert_string_equal(hd_idx_default_dir(), "/data/fmnist");
    setenv("HADRON_FASHION_MNIST", "", 1);
    assert_string_equal(hd_idx_default_dir(), HD_IDX_FASHION_MNIST_DIR);
    unsetenv("HADRON_FASHION_MNIST");
}

/* ---- the real data set ------------------------------------------------------------- */

/* Fashion-MNIST's test set from Debian's dataset-fashion-mnist (installed
 * by scripts/setup.sh); skipped when absent. */
static void test_fashion_mnist_t10k(void **state)
{
    (void)state;
    char images[512], labels[512];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", HD_IDX_FASHION_MNIST_DIR);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", HD_IDX_FASHION_MNIST_DIR);
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
        print_message("Fashion-MNIST not in %s (apt-get install dataset-fashion-mnist): skipped\n",
                      HD_IDX_FASHION_MNIST_DIR);
        skip();
    }
    hd_tensor *t = NULL;
    int32_t *l = NULL;
    hd_idx_image_opts o = {.lo = -1, .hi = 1, .height = 28, .width = 28};
    assert_int_equal(hd_idx_read_mnist(images, labels, &o, &t, &l), HD_OK);
    assert_int_equal(t->ndim, 4);
    assert_int_equal(t->shape[0], 10000);
    assert_int_equal(t->shape[1], 1);
    assert_int_equal(t->shape[2], 28);
    assert_int_equal(t->shape[3], 28);
    int64_t per_class[10] = {0};
    for (int i = 0; i < 10000; i++) {
        assert_in_range(l[i], 0, 9);
        per_class[l[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_int_equal(per_class[c], 1000);
    assert_int_equal(l[0], 9); /* an ankle boot, then a pullover, two trousers, a shirt */
    assert_int_equal(l[1], 2);
    assert_int_equal(l[4], 6);
    /* every pixel in [-1, 1], both ends reached, and the sums the raw bytes give */
    int64_t sum = 0;
    int64_t n_lo = 0, n_hi = 0;
    for (int64_t i = 0; i < 10000 * 784; i++) {
        float v = t->data[i];
        assert_true(v >= -1.0f && v <= 1.0f);
        n_lo += v == -1.0f;
        n_hi += v == 1.0f;
        sum += lround(((double)v + 1.0) * 127.5); /* the pixel's byte */
    }
    assert_int_equal(n_lo, 3919183);
    assert_int_equal(n_hi, 62787);
    assert_int_equal(sum, 573469082);
    /* the first 100 alone are the same images and labels */
    hd_tensor *t100 = NULL;
    int32_t *l100 = NULL;
    o.n_max = 100;
    assert_int_equal(hd_idx_read_mnist(images, labels, &o, &t100, &l100), HD_OK);
    assert_int_equal(t100->shape[0], 100);
    assert_memory_equal(t100->data, t->data, 100 * 784 * sizeof(float));
    assert_memory_equal(l100, l, 100 * sizeof *l);
    hd_tensor_free(t100);
    hd_free(l100);
    hd_tensor_free(t);
    hd_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ubyte_plain_and_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_type_and_rank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images_scaled_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mnist_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_before_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_trailing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_bad_arguments, setup, teardown),
        cmocka_unit_test(test_default_dir),
        cmocka_unit_test(test_fashion_mnist_t10k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
