/* NumPy .npz archives: round trips through hd_npz_write/read, the archives
 * np.savez and np.savez_compressed wrote (tests/fixtures/make_npz_fixtures.py),
 * ZIP64 records and comments, and refusal of damaged or foreign archives
 * with the file, the member and the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/npz_internal.h"
#include "hadron/hadron.h"
#include "test_util.h"

#define FIXTURE(name) HD_FIXTURES "/npy/" name

typedef test_dir_fixture fixture; /* path: dir/hist.npz */

static int setup(void **state) { return test_dir_setup(state, "npz", "hist.npz"); }

static int teardown(void **state) { return test_dir_teardown(state); }

/* ---- helpers -------------------------------------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* ---- a small zip writer, to make archives hd_npz_write never would ------------------ */

typedef struct {
    const char *name;
    const void *data;
    size_t n;
    unsigned method, flags;
} member;

typedef struct {
    unsigned char *b;
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    b->b = realloc(b->b, b->n + n + 1);
    assert_non_null(b->b);
    if (n) memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put16(buf *b, unsigned v) { put(b, (unsigned char[]){(unsigned char)v, (unsigned char)(v >> 8)}, 2); }

static void put32(buf *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}

static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

/* The members as they are (no compression is done, whatever method says),
 * with ZIP64 directory entries and end records when zip64 is set. */
static unsigned char *build_zip(const member *m, int count, int zip64, const char *comment, size_t *size)
{
    buf b = {0};
    uint64_t at[8];
    for (int i = 0; i < count; i++) {
        at[i] = b.n;
        put32(&b, 0x04034b50);
        put16(&b, 20);
        put16(&b, m[i].flags);
        put16(&b, m[i].method);
        put16(&b, 0);
        put16(&b, 0x21);
        put32(&b, crc32_of(m[i].data, m[i].n));
        put32(&b, (uint32_t)m[i].n);
        put32(&b, (uint32_t)m[i].n);
        put16(&b, (unsigned)strlen(m[i].name));
        put16(&b, 0);
        put(&b, m[i].name, strlen(m[i].name));
        put(&b, m[i].data, m[i].n);
    }
    uint64_t cd_at = b.n;
    for (int i = 0; i < count; i++) {
        put32(&b, 0x02014b50);
        put16(&b, 3 << 8 | 45);
        put16(&b, zip64 ? 45 : 20);
        put16(&b, m[i].flags);
        put16(&b, m[i].method);
        put16(&b, 0);
        put16(&b, 0x21);
        put32(&b, crc32_of(m[i].data, m[i].n));
        put32(&b, zip64 ? 0xffffffffu : (uint32_t)m[i].n);
        put32(&b, zip64 ? 0xffffffffu : (uint32_t)m[i].n);
        put16(&b, (unsigned)strlen(m[i].name));
        put16(&b, zip64 ? 28 : 0);
        put16(&b, 0);
        put16(&b, 0);
        put16(&b, 0);
        put32(&b, 0);
        put32(&b, zip64 ? 0xffffffffu : (uint32_t)at[i]);
        put(&b, m[i].name, strlen(m[i].name));
        if (zip64) {
            put16(&b, 1);
            put16(&b, 24);
            put64(&b, m[i].n);
            put64(&b, m[i].n);
            put64(&b, at[i]);
        }
    }
    uint64_t cd_size = b.n - cd_at;
    if (zip64) {
        uint64_t end64_at = b.n;
        put32(&b, 0x06064b50);
        put64(&b, 44);
        put16(&b, 3 << 8 | 45);
        put16(&b, 45);
        put32(&b, 0);
        put32(&b, 0);
        put64(&b, (uint64_t)count);
        put64(&b, (uint64_t)count);
        put64(&b, cd_size);
        put64(&b, cd_at);
        put32(&b, 0x07064b50);
        put32(&b, 0);
        put64(&b, end64_at);
        put32(&b, 1);
    }
    put32(&b, 0x06054b50);
    put16(&b, 0);
    put16(&b, 0);
    put16(&b, zip64 ? 0xffff : (unsigned)count);
    put16(&b, zip64 ? 0xffff : (unsigned)count);
    put32(&b, zip64 ? 0xffffffffu : (uint32_t)cd_size);
    put32(&b, zip64 ? 0xffffffffu : (uint32_t)cd_at);
    put16(&b, comment ? (unsigned)strlen(comment) : 0);
    if (comment) put(&b, comment, strlen(comment));
    *size = b.n;
    return b.b;
}

/* The .npy bytes of a (malloc'd). */
static unsigned char *npy_bytes(const hd_array *a, size_t *n)
{
    char h[HD_NPY_HEADER_MAX];
    size_t nh = hd_npy_header(a, h), nd = (size_t)hd_array_numel(a) * hd_dtype_size(a->dtype);
    unsigned char *b = malloc(nh + nd + 1);
    assert_non_null(b);
    memcpy(b, h, nh);
    if (nd) memcpy(b + nh, a->data, nd);
    *n = nh + nd;
    return b;
}

static double gen_data[6] = {1, 2, 3, 4, 5, 6};
static const hd_array gen_array = {HD_F64, 2, {2, 3}, gen_data};

/* Builds a one-member archive of `name` holding gen_array and parses it as "x.npz". */
static int parse_one(const char *name, unsigned method, unsigned flags, hd_npz **z)
{
    size_t n, size;
    unsigned char *npy = npy_bytes(&gen_array, &n);
    member m = {name, npy, n, method, flags};
    unsigned char *zip = build_zip(&m, 1, 0, NULL, &size);
    int rc = hd_npz_parse("x.npz", zip, size, z);
    free(zip);
    free(npy);
    return rc;
}

/* ---- round trips ---------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    float f4[24];
    double f8[5] = {-1.5, 0, 1e-300, 1e300, 3};
    int32_t i4[4] = {INT32_MIN, -1, 0, INT32_MAX};
    int64_t i8[3] = {INT64_MIN, 0, INT64_MAX};
    double scalar = 2.5;
    for (int k = 0; k < 24; k++) f4[k] = (float)k / 3.0f;
    hd_array arrays[] = {
        {HD_F32, 4, {2, 3, 2, 2}, f4}, {HD_F64, 1, {5}, f8},     {HD_I32, 2, {2, 2}, i4},
        {HD_I64, 1, {3}, i8},          {HD_F64, 0, {0}, &scalar}, {HD_F32, 2, {0, 7}, NULL},
    };
    const char *names[] = {"gen", "edges_eta", "counts32", "counts", "norm", "empty"};
    const hd_array *ptrs[] = {&arrays[0], &arrays[1], &arrays[2], &arrays[3], &arrays[4], &arrays[5]};
    int n = (int)(sizeof arrays / sizeof arrays[0]);
    assert_int_equal(hd_npz_write(f->path, n, names, ptrs), HD_OK);
    assert_int_equal(dir_entries(f->dir), 1); /* no temp file left */
    hd_npz *z;
    if (hd_npz_read(f->path, &z) != HD_OK) fail_msg("%s", hd_last_error());
    assert_int_equal(hd_npz_count(z), n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(hd_npz_name(z, i), names[i]); /* archive order */
        assert_same_array(&arrays[i], hd_npz_get(z, names[i]));
    }
    assert_null(hd_npz_get(z, "rec"));
    assert_null(hd_npz_get(z, "gen.npy"));
    assert_null(hd_npz_get(z, NULL));
    assert_null(hd_npz_name(z, n));
    assert_null(hd_npz_name(z, -1));
    hd_npz_free(z);

    assert_int_equal(hd_npz_write(f->path, 0, NULL, NULL), HD_OK); /* an empty archive, as np.savez() makes */
    assert_int_equal(hd_npz_read(f->path, &z), HD_OK);
    assert_int_equal(hd_npz_count(z), 0);
    assert_null(hd_npz_get(z, "gen"));
    hd_npz_free(z);
    hd_npz_free(NULL);
    assert_int_equal(hd_npz_count(NULL), 0);
}

/* The on-disk layout: stored members named NAME.npy, a fixed timestamp, and
 * the .npy bytes exactly as hd_npy_write writes them. */
static void test_written_layout(void **state)
{
    fixture *f = *state;
    const char *names[] = {"gen"};
    const hd_array *ptrs[] = {&gen_array};
    assert_int_equal(hd_npz_write(f->path, 1, names, ptrs), HD_OK);
    size_t size, n;
    unsigned char *b = slurp(f->path, &size), *npy = npy_bytes(&gen_array, &n);
    assert_int_equal(size, 30 + 7 + n + 46 + 7 + 22);
    assert_memory_equal(b, "PK\x03\x04", 4);
    assert_int_equal(b[8] | b[9] << 8, 0);                   /* stored */
    assert_int_equal(b[12] | b[13] << 8, 0x21);              /* 1980-01-01 */
    uint32_t crc = (uint32_t)b[14] | (uint32_t)b[15] << 8 | (uint32_t)b[16] << 16 | (uint32_t)b[17] << 24;
    assert_int_equal(crc, crc32_of(npy, n));
    assert_memory_equal(b + 30, "gen.npy", 7);
    assert_memory_equal(b + 37, npy, n);
    assert_memory_equal(b + 37 + n, "PK\x01\x02", 4);
    assert_memory_equal(b + size - 22, "PK\x05\x06", 4);
    free(b);
    free(npy);
}

/* ---- what NumPy wrote -------------------------------------------------------------- */

static void check_numpy_archive(const char *path)
{
    hd_npz *z;
    if (hd_npz_read(path, &z) != HD_OK) fail_msg("%s", hd_last_error());
    assert_int_equal(hd_npz_count(z), 4);
    static const char *const names[] = {"hist", "counts", "norm", "small"};
    for (int i = 0; i < 4; i++) assert_string_equal(hd_npz_name(z, i), names[i]);

    const hd_array *hist = hd_npz_get(z, "hist");
    assert_non_null(hist);
    assert_int_equal(hist->dtype, HD_F64);
    assert_int_equal(hist->ndim, 3);
    assert_true(hist->shape[0] == 2 && hist->shape[1] == 3 && hist->shape[2] == 4);
    for (int k = 0; k < 24; k++) assert_true(((const double *)hist->data)[k] == k + 0.5);

    const hd_array *counts = hd_npz_get(z, "counts");
    assert_non_null(counts);
    assert_int_equal(counts->dtype, HD_I64);
    assert_true(counts->ndim == 1 && counts->shape[0] == 10);
    for (int k = 0; k < 10; k++) assert_true(((const int64_t *)counts->data)[k] == k * INT64_C(1000000007));

    const hd_array *norm = hd_npz_get(z, "norm");
    assert_non_null(norm);
    assert_true(norm->dtype == HD_F64 && norm->ndim == 0);
    assert_true(hd_array_get(norm, 0) == 2.5);

    const hd_array *small = hd_npz_get(z, "small");
    assert_non_null(small);
    assert_true(small->dtype == HD_F32 && small->ndim == 1 && small->shape[0] == 4);
    for (int k = 0; k < 4; k++) assert_true(((const float *)small->data)[k] == (float)k / 4);
    hd_npz_free(z);
}

static void test_numpy_savez(void **state)
{
    (void)state;
    check_numpy_archive(FIXTURE("savez.npz"));
}

static void test_numpy_savez_compressed(void **state)
{
    (void)state;
    check_numpy_archive(FIXTURE("savez_compressed.npz"));
}

/* ZIP64 directory entries and end records (NumPy's writer makes them past
 * 4 GiB), and an archive comment. */
static void test_zip64_and_comment(void **state)
{
    (void)state;
    size_t n1, n2, size;
    double scalar = -3;
    hd_array s = {HD_F64, 0, {0}, &scalar};
    unsigned char *a = npy_bytes(&gen_array, &n1), *b = npy_bytes(&s, &n2);
    member m[2] = {{"gen.npy", a, n1, 0, 0}, {"norm.npy", b, n2, 0, 0}};
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        unsigned char *zip = build_zip(m, 2, zip64, zip64 ? "made by a test" : "PK\x05\x06 in a comment", &size);
        hd_npz *z;
        if (hd_npz_parse("x.npz", zip, size, &z) != HD_OK) fail_msg("zip64 %d: %s", zip64, hd_last_error());
        assert_same_array(&gen_array, hd_npz_get(z, "gen"));
        assert_same_array(&s, hd_npz_get(z, "norm"));
        hd_npz_free(z);
        free(zip);
    }
    free(a);
    free(b);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void test_bad_members_refused(void **state)
{
    (void)state;
    hd_npz *z = (hd_npz *)&z; /* must come back NULL */
    assert_int_equal(parse_one("gen.npy", 0, 0, &z), HD_OK); /* the builder makes good archives */
    hd_npz_free(z);
    assert_error(parse_one("README.txt", 0, 0, &z), HD_EFORMAT,
                 "x.npz: member 'README.txt' is not a .npy array", NULL);
    assert_null(z);
    assert_error(parse_one("dir/", 0, 0, &z), HD_EFORMAT, "member 'dir/' is not a .npy array", NULL);
    assert_error(parse_one("gen.npy", 12, 0, &z), HD_EFORMAT,
                 "x.npz:gen: compression method 12 (bzip2) not supported", NULL);
    assert_error(parse_one("gen.npy", 14, 0, &z), HD_EFORMAT, "x.npz:gen: compression method 14 (lzma)", NULL);
    assert_error(parse_one("gen.npy", 0, 1, &z), HD_EFORMAT, "x.npz:gen: encrypted", NULL);
    assert_error(parse_one("gen\x1b[2J.npy", 12, 0, &z), HD_EFORMAT, "x.npz:gen?[2J: ", NULL);

    size_t size;
    member m[2] = {{"a.npy", "hello, world", 12, 0, 0}, {"bad.npy", "\x93NUMPY\x01\x00", 8, 0, 0}};
    unsigned char *zip = build_zip(m, 1, 0, NULL, &size);
    assert_error(hd_npz_parse("x.npz", zip, size, &z), HD_EFORMAT, "x.npz:a: not a .npy file", NULL);
    free(zip);
    zip = build_zip(m + 1, 1, 0, NULL, &size);
    assert_error(hd_npz_parse("x.npz", zip, size, &z), HD_EFORMAT, "x.npz:bad: truncated", NULL);
    free(zip);

    /* a well-formed member of a type hadron refuses */
    size_t n;
    unsigned char *npy = npy_bytes(&gen_array, &n);
    assert_memory_equal(npy + 20, "'<f8'", 5);
    npy[23] = '2';
    member half = {"amps.npy", npy, n, 0, 0};
    zip = build_zip(&half, 1, 0, NULL, &size);
    assert_error(hd_npz_parse("x.npz", zip, size, &z), HD_EFORMAT, "x.npz:amps: dtype '<f2' (float16) not supported",
                 NULL);
    free(zip);
    free(npy);

    unsigned char *g = npy_bytes(&gen_array, &n);
    member twice[2] = {{"gen.npy", g, n, 0, 0}, {"gen.npy", g, n, 0, 0}};
    zip = build_zip(twice, 2, 0, NULL, &size);
    assert_error(hd_npz_parse("x.npz", zip, size, &z), HD_EFORMAT, "x.npz: member 'gen.npy' appears twice", NULL);
    free(zip);
    free(g);
    assert_null(z);
}

static void test_bad_crc_refused(void **state)
{
    fixture *f = *state;
    const char *names[] = {"gen"};
    const hd_array *ptrs[] = {&gen_array};
    assert_int_equal(hd_npz_write(f->path, 1, names, ptrs), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    b[30 + 7 + 128 + 3] ^= 0x10; /* a data byte of the first double */
    spill(f->path, b, size);
    hd_npz *z;
    char want[4200];
    snprintf(want, sizeof want, "%s:gen: CRC-32 mismatch", f->path);
    assert_error(hd_npz_read(f->path, &z), HD_EFORMAT, want, "corrupt");
    assert_null(z);
    free(b);
}

/* Offset of the central directory entry of the first member (no comment). */
static size_t first_central(const unsigned char *b, size_t size)
{
    const unsigned char *e = b + size - 22;
    assert_memory_equal(e, "PK\x05\x06", 4);
    return (size_t)e[16] | (size_t)e[17] << 8 | (size_t)e[18] << 16 | (size_t)e[19] << 24;
}

static void set32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

static void test_bad_deflate_refused(void **state)
{
    (void)state;
    size_t size;
    unsigned char *orig = slurp(FIXTURE("savez_compressed.npz"), &size), *b = malloc(size);
    size_t cd = first_central(orig, size);
    hd_npz *z;

    memcpy(b, orig, size);
    set32(b + cd + 20, 40); /* the directory cuts the deflate stream short */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz:hist: deflate data ends early", NULL);

    memcpy(b, orig, size);
    set32(b + cd + 24, 10 << 20); /* claims a ratio deflate cannot reach */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz:hist: ", "cannot hold");

    memcpy(b, orig, size);
    set32(b + cd + 24, 0x7fffffff); /* claims more than the input cap */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz: the members' total uncompressed size is 2147484",
                 "HADRON_MAX_INPUT_MB");

    memcpy(b, orig, size);
    set32(b + cd + 24, 100); /* fewer bytes than the stream holds */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz:hist: ", "more than the 100 bytes");

    memcpy(b, orig, size);
    set32(b + cd + 20, 140); /* the cut falls after the last data byte, before the stream's end marker */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT,
                 "c.npz:hist: deflate data ends early, after 320 of 320 bytes and before its end marker", NULL);

    memcpy(b, orig, size);
    set32(b + cd + 24, 400); /* more bytes than the stream holds */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz:hist: deflate data gives 320 bytes", NULL);

    memcpy(b, orig, size);
    b[30 + 8 + 20 + 60] ^= 0x55; /* damage inside the first member's stream */
    assert_error(hd_npz_parse("c.npz", b, size, &z), HD_EFORMAT, "c.npz:hist: ", NULL);
    assert_null(z);
    free(b);
    free(orig);
}

static void test_bad_structure_refused(void **state)
{
    (void)state;
    hd_npz *z;
    size_t size;
    unsigned char *b = slurp(FIXTURE("savez.npz"), &size);
    size_t cd = first_central(b, size);

    assert_error(hd_npz_parse("s.npz", "", 0, &z), HD_EFORMAT, "s.npz: not a .npz (zip) file", NULL);
    assert_error(hd_npz_parse("s.npz", b + 10, size - 30, &z), HD_EFORMAT, "s.npz: not a .npz (zip) file",
                 "no zip end");
    unsigned char *c = malloc(size);
    memcpy(c, b, size);
    set32(c + cd + 42, 7); /* the local header is not where the directory says */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz:hist: no local header at byte 7", NULL);
    memcpy(c, b, size);
    size_t cd2 = cd + 46 + (c[cd + 28] | c[cd + 29] << 8) + (c[cd + 30] | c[cd + 31] << 8) +
                 (c[cd + 32] | c[cd + 33] << 8); /* the second directory entry */
    set32(c + cd2 + 42, 0); /* the second member's data is the first one's: a zip bomb's trick */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz: members 'hist.npy' and 'counts.npy' overlap",
                 "zip bomb");
    memcpy(c, b, size);
    c[cd + 46] = 'H'; /* the directory's name differs from the local header's */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz:Hist: local header names a different",
                 NULL);
    memcpy(c, b, size);
    set32(c + size - 22 + 16, (uint32_t)size); /* the directory outside the file */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz: central directory", "outside");
    memcpy(c, b, size);
    c[size - 22 + 10] = 200; /* more entries than the directory can hold */
    c[size - 22 + 8] = 200;
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "cannot hold 200 entries", NULL);
    memcpy(c, b, size);
    c[cd] = 'X'; /* a damaged directory entry */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz: central directory entry 0", "damaged");
    memcpy(c, b, size);
    set32(c + cd + 20, 5000); /* stored sizes that disagree */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz:hist: stored member has 5000 bytes", NULL);
    memcpy(c, b, size);
    set32(c + cd + 20, 5000);
    set32(c + cd + 24, 5000); /* data running into the directory */
    assert_error(hd_npz_parse("s.npz", c, size, &z), HD_EFORMAT, "s.npz:hist: ", "run past");
    free(c);
    free(b);
}

/* Every prefix of a valid archive is refused with its name, and every
 * single-byte change either parses or is refused: never a crash (the
 * sanitizer and valgrind runs check the memory). */
static void check_damage(const char *label, const unsigned char *b, size_t size)
{
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = malloc(n + 1); /* exactly n bytes readable */
        memcpy(copy, b, n);
        hd_npz *z;
        int rc = hd_npz_parse(label, copy, n, &z);
        if (rc != HD_EFORMAT || strncmp(hd_last_error(), label, strlen(label)) != 0)
            fail_msg("%s: prefix of %zu bytes: rc %d, %s", label, n, rc, hd_last_error());
        free(copy);
    }
    unsigned char *copy = malloc(size);
    for (size_t i = 0; i < size; i++) {
        memcpy(copy, b, size);
        copy[i] ^= 0xa5;
        hd_npz *z;
        int rc = hd_npz_parse(label, copy, size, &z);
        if (rc != HD_OK && strncmp(hd_last_error(), label, strlen(label)) != 0)
            fail_msg("%s: byte %zu changed: %s", label, i, hd_last_error());
        hd_npz_free(z);
    }
    free(copy);
}

static void test_every_truncation_and_byte_flip(void **state)
{
    fixture *f = *state;
    static const char *const fixtures[] = {FIXTURE("savez.npz"), FIXTURE("savez_compressed.npz")};
    for (int i = 0; i < 2; i++) {
        size_t size;
        unsigned char *b = slurp(fixtures[i], &size);
        check_damage("cut.npz", b, size);
        free(b);
    }
    const char *names[] = {"gen", "norm"};
    double scalar = 1;
    hd_array s = {HD_F64, 0, {0}, &scalar};
    const hd_array *ptrs[] = {&gen_array, &s};
    assert_int_equal(hd_npz_write(f->path, 2, names, ptrs), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    check_damage("cut.npz", b, size);
    free(b);
}

static void test_write_refuses_bad_arguments(void **state)
{
    fixture *f = *state;
    float x[4] = {0};
    hd_array ok = {HD_F32, 1, {4}, x}, bad = {HD_F32, 1, {-4}, x};
    const hd_array *two[] = {&ok, &ok}, *with_bad[] = {&ok, &bad};
    const char *same[] = {"gen", "gen"}, *names[] = {"gen", "rec"}, *null_name[] = {"gen", NULL};
    assert_error(hd_npz_write(f->path, 2, same, two), HD_EINVAL, f->path, "'gen' given twice");
    assert_error(hd_npz_write(f->path, 2, null_name, two), HD_EINVAL, f->path, "array 1 has no name");
    char want[4200];
    snprintf(want, sizeof want, "%s:rec: shape [-4]", f->path);
    assert_error(hd_npz_write(f->path, 2, names, with_bad), HD_EINVAL, want, "negative");
    assert_error(hd_npz_write(f->path, -1, names, two), HD_EINVAL, f->path, NULL);
    assert_error(hd_npz_write(f->path, 2, NULL, two), HD_EINVAL, f->path, NULL);
    assert_error(hd_npz_write(NULL, 2, names, two), HD_EINVAL, NULL, NULL);
    assert_int_equal(dir_entries(f->dir), 0); /* nothing written, no temp file */
    assert_error(hd_npz_write("/nonexistent/dir/h.npz", 2, names, two), HD_EIO, "/nonexistent/dir/h.npz", NULL);

    hd_npz *z = (hd_npz *)&z;
    assert_error(hd_npz_read("/nonexistent/dir/h.npz", &z), HD_EIO, "/nonexistent/dir/h.npz", NULL);
    assert_null(z);
    assert_error(hd_npz_read(f->dir, &z), HD_EIO, f->dir, "not a regular file");
    assert_error(hd_npz_read(NULL, &z), HD_EINVAL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_layout, setup, teardown),
        cmocka_unit_test(test_numpy_savez),
        cmocka_unit_test(test_numpy_savez_compressed),
        cmocka_unit_test(test_zip64_and_comment),
        cmocka_unit_test(test_bad_members_refused),
        cmocka_unit_test_setup_teardown(test_bad_crc_refused, setup, teardown),
        cmocka_unit_test(test_bad_deflate_refused),
        cmocka_unit_test(test_bad_structure_refused),
        cmocka_unit_test_setup_teardown(test_every_truncation_and_byte_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
