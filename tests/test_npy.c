/* NumPy .npy files and typed arrays: round trips of every dtype and rank,
 * files byte-identical to np.save's, the values NumPy wrote, every kind of
 * bad header refused with the file's name and the reason, and no crash on
 * any truncation. */
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

#include "data/npz_internal.h"
#include "hadron/hadron.h"
#include "test_util.h"

#define FIXTURE(name) HD_FIXTURES "/npy/" name

typedef test_dir_fixture fixture; /* path: dir/x.npy */

static int setup(void **state) { return test_dir_setup(state, "npy", "x.npy"); }

static int teardown(void **state) { return test_dir_teardown(state); }

/* ---- helpers -------------------------------------------------------------------- */

/* A .npy file: version major.0, header text `dict` padded to 64 bytes as
 * NumPy does, then n_data bytes 0, 1, 2, ... */
static unsigned char *make_npy(int major, const char *dict, size_t n_data, size_t *size)
{
    size_t pre = major == 1 ? 10 : 12, used = pre + strlen(dict) + 1;
    size_t total = used + (64 - used % 64) % 64;
    unsigned char *b = malloc(total + n_data + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    size_t n_header = total - pre;
    for (size_t k = 0; k < pre - 8; k++) b[8 + k] = (unsigned char)(n_header >> (8 * k));
    memset(b + pre, ' ', n_header);
    memcpy(b + pre, dict, strlen(dict));
    b[total - 1] = '\n';
    for (size_t k = 0; k < n_data; k++) b[total + k] = (unsigned char)k;
    *size = total + n_data;
    return b;
}

/* Parses make_npy(1, dict, n_data) as "amps.npy"; returns the rc. */
static int parse_dict(const char *dict, size_t n_data, hd_array *a)
{
    size_t size;
    unsigned char *b = make_npy(1, dict, n_data, &size);
    int rc = hd_npy_parse("amps.npy", b, size, a);
    free(b);
    return rc;
}

static void refused(const char *dict, size_t n_data, const char *part1, const char *part2)
{
    hd_array a;
    int rc = parse_dict(dict, n_data, &a);
    assert_error(rc, HD_EFORMAT, "amps.npy: ", part1);
    if (part2) assert_error(rc, HD_EFORMAT, part2, NULL);
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
}

/* ---- arrays ------------------------------------------------------------------------ */

static void test_array_basics(void **state)
{
    (void)state;
    assert_int_equal(hd_dtype_size(HD_F32), 4);
    assert_int_equal(hd_dtype_size(HD_F64), 8);
    assert_int_equal(hd_dtype_size(HD_I32), 4);
    assert_int_equal(hd_dtype_size(HD_I64), 8);
    assert_string_equal(hd_dtype_name(HD_F32), "float32");
    assert_string_equal(hd_dtype_name(HD_F64), "float64");
    assert_string_equal(hd_dtype_name(HD_I32), "int32");
    assert_string_equal(hd_dtype_name(HD_I64), "int64");

    hd_array a;
    assert_int_equal(hd_array_new(&a, HD_I64, 2, (int64_t[]){2, 3}), HD_OK);
    assert_int_equal(hd_array_numel(&a), 6);
    for (int i = 0; i < 6; i++) assert_int_equal(((int64_t *)a.data)[i], 0); /* zeroed */
    ((int64_t *)a.data)[5] = -(INT64_C(1) << 40);
    assert_true(hd_array_get(&a, 5) == -(double)(INT64_C(1) << 40));
    assert_true(isnan(hd_array_get(&a, 6)));  /* out of range reads nothing */
    assert_true(isnan(hd_array_get(&a, -1)));
    float f[6];
    hd_array_to_f32(&a, f);
    assert_true(f[5] == -1099511627776.0f);
    hd_array_free(&a);
    assert_null(a.data);
    hd_array_free(&a); /* twice, and NULL: no-ops */
    hd_array_free(NULL);

    assert_int_equal(hd_array_new(&a, HD_F32, 0, NULL), HD_OK); /* a scalar */
    assert_int_equal(hd_array_numel(&a), 1);
    hd_array_free(&a);
    assert_int_equal(hd_array_new(&a, HD_F64, 2, (int64_t[]){0, 5}), HD_OK); /* empty, but has a buffer */
    assert_int_equal(hd_array_numel(&a), 0);
    assert_non_null(a.data);
    hd_array_free(&a);

    assert_error(hd_array_new(&a, HD_F32, 2, (int64_t[]){3, -1}), HD_EINVAL, "negative", NULL);
    assert_error(hd_array_new(&a, HD_F32, 5, (int64_t[]){1, 1, 1, 1, 1}), HD_EINVAL, "dimensions", NULL);
    assert_error(hd_array_new(&a, HD_F32, 2, (int64_t[]){INT64_C(1) << 40, INT64_C(1) << 40}), HD_EINVAL,
                 "too large", NULL);
    assert_error(hd_array_new(&a, (hd_dtype)7, 0, NULL), HD_EINVAL, "dtype", NULL);
    assert_null(a.data);
}

static void test_array_to_f32(void **state)
{
    (void)state;
    double d[3] = {0.1, -2.5, 1e30};
    int32_t i[3] = {-7, 0, 16777217};
    hd_array ad = {HD_F64, 1, {3}, d}, ai = {HD_I32, 1, {3}, i};
    float out[3];
    hd_array_to_f32(&ad, out);
    assert_true(out[0] == 0.1f && out[1] == -2.5f && out[2] == 1e30f);
    hd_array_to_f32(&ai, out);
    assert_true(out[0] == -7.0f && out[1] == 0.0f && out[2] == 16777216.0f);
    assert_true(hd_array_get(&ai, 2) == 16777217.0);
    assert_true(hd_array_get(&ad, 0) == 0.1);
}

/* ---- round trips ----------------------------------------------------------------- */

static void fill(hd_array *a)
{
    int64_t n = hd_array_numel(a);
    for (int64_t k = 0; k < n; k++) switch (a->dtype) {
        case HD_F32: ((float *)a->data)[k] = (float)k * 0.5f - 3.25f; break;
        case HD_F64: ((double *)a->data)[k] = (double)k / 7.0 - 1e-300; break;
        case HD_I32: ((int32_t *)a->data)[k] = (int32_t)(k * 2654435761u); break;
        case HD_I64: ((int64_t *)a->data)[k] = (int64_t)((uint64_t)k * 0x9E3779B97F4A7C15u); break;
        }
}

static void test_round_trip_every_dtype_and_rank(void **state)
{
    fixture *f = *state;
    static const int64_t shape[HD_MAX_DIM] = {3, 1, 4, 2};
    for (int t = HD_F32; t <= HD_I64; t++)
        for (int ndim = 0; ndim <= HD_MAX_DIM; ndim++) {
            hd_array a, b, c;
            assert_int_equal(hd_array_new(&a, (hd_dtype)t, ndim, shape), HD_OK);
            fill(&a);
            assert_int_equal(hd_npy_write(f->path, &a), HD_OK);
            assert_int_equal(hd_npy_read(f->path, &b), HD_OK);
            assert_same_array(&a, &b);
            size_t size;
            unsigned char *bytes = slurp(f->path, &size);
            assert_int_equal(hd_npy_parse("mem", bytes, size, &c), HD_OK);
            assert_same_array(&a, &c);
            assert_int_equal(((size_t)bytes[8] | (size_t)bytes[9] << 8) % 64, 54); /* data 64-aligned */
            free(bytes);
            hd_array_free(&a);
            hd_array_free(&b);
            hd_array_free(&c);
        }
}

static void test_round_trip_empty_and_large_dims(void **state)
{
    fixture *f = *state;
    int64_t shapes[3][2] = {{0, 3}, {5, 0}, {INT64_C(1) << 40, 0}};
    for (int s = 0; s < 3; s++) {
        hd_array a = {HD_F64, 2, {shapes[s][0], shapes[s][1]}, NULL}, b;
        assert_int_equal(hd_npy_write(f->path, &a), HD_OK); /* no data needed: nothing to write */
        assert_int_equal(hd_npy_read(f->path, &b), HD_OK);
        assert_int_equal(b.ndim, 2);
        assert_int_equal(b.shape[0], shapes[s][0]);
        assert_int_equal(b.shape[1], shapes[s][1]);
        assert_int_equal(hd_array_numel(&b), 0);
        hd_array_free(&b);
    }
}

/* ---- the written header ------------------------------------------------------------ */

static void test_written_header_bytes(void **state)
{
    fixture *f = *state;
    float x[12] = {0};
    hd_array a = {HD_F32, 2, {3, 4}, x};
    assert_int_equal(hd_npy_write(f->path, &a), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    static const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    assert_int_equal(size, 128 + 48);
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    assert_int_equal(b[8] | b[9] << 8, 118);
    assert_memory_equal(b + 10, dict, sizeof dict - 1);
    for (size_t k = 10 + sizeof dict - 1; k < 127; k++) assert_int_equal(b[k], ' ');
    assert_int_equal(b[127], '\n');
    free(b);

    /* every rank and dtype: the dict text, a 1-d shape with its comma, and alignment */
    const struct {
        hd_dtype t;
        int ndim;
        int64_t shape[4];
        const char *text;
    } cases[] = {
        {HD_F64, 0, {0}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"},
        {HD_I32, 1, {7}, "{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }"},
        {HD_I64, 3, {2, 0, 9}, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 0, 9), }"},
        {HD_F32, 4, {INT64_C(123456789012), 1, 1, 0},
         "{'descr': '<f4', 'fortran_order': False, 'shape': (123456789012, 1, 1, 0), }"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t zero = 0;
        hd_array c = {cases[i].t, cases[i].ndim, {0}, &zero};
        memcpy(c.shape, cases[i].shape, sizeof c.shape);
        char h[HD_NPY_HEADER_MAX];
        size_t n = hd_npy_header(&c, h);
        assert_int_equal(n % 64, 0);
        assert_int_equal((size_t)((unsigned char)h[8] | (unsigned char)h[9] << 8), n - 10);
        assert_memory_equal(h + 10, cases[i].text, strlen(cases[i].text));
        assert_int_equal(h[n - 1], '\n');
    }
}

/* hadron writes exactly what np.save wrote, and reads exactly what it meant. */
static void test_numpy_fixtures(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"f4", "f8", "i4", "i8", "scalar", "dims4", "empty"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/npy/%s.npy", HD_FIXTURES, names[i]);
        hd_array a;
        if (hd_npy_read(path, &a) != HD_OK) fail_msg("%s", hd_last_error());
        assert_int_equal(hd_npy_write(f->path, &a), HD_OK);
        size_t n1, n2;
        unsigned char *want = slurp(path, &n1), *got = slurp(f->path, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(want, got, n1);
        free(want);
        free(got);
        hd_array_free(&a);
    }
}

static void test_numpy_fixture_values(void **state)
{
    (void)state;
    hd_array a;
    assert_int_equal(hd_npy_read(FIXTURE("f4.npy"), &a), HD_OK);
    assert_int_equal(a.dtype, HD_F32);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 3);
    assert_int_equal(a.shape[1], 4);
    for (int k = 0; k < 12; k++) assert_true(((float *)a.data)[k] == ((float)k - 5.5f) * 0.25f);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("f8.npy"), &a), HD_OK);
    assert_int_equal(a.dtype, HD_F64);
    assert_int_equal(a.shape[1], 3);
    for (int k = 0; k < 6; k++) assert_true(((double *)a.data)[k] == (k + 1) / 3.0);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("i4.npy"), &a), HD_OK);
    assert_int_equal(a.dtype, HD_I32);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 5);
    for (int k = 0; k < 5; k++) assert_int_equal(((int32_t *)a.data)[k], k - 3);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("i8.npy"), &a), HD_OK);
    assert_int_equal(a.dtype, HD_I64);
    const int64_t *v = a.data;
    assert_true(v[0] == -(INT64_C(1) << 40) && v[1] == INT64_MAX / 2 && v[2] == 0 && v[3] == 7);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("scalar.npy"), &a), HD_OK);
    assert_int_equal(a.ndim, 0);
    assert_true(hd_array_get(&a, 0) == -1.25);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("dims4.npy"), &a), HD_OK);
    assert_int_equal(a.ndim, 4);
    assert_true(a.shape[0] == 2 && a.shape[1] == 1 && a.shape[2] == 3 && a.shape[3] == 2);
    for (int k = 0; k < 12; k++) assert_true(hd_array_get(&a, k) == k);
    hd_array_free(&a);

    assert_int_equal(hd_npy_read(FIXTURE("empty.npy"), &a), HD_OK);
    assert_true(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3);
    hd_array_free(&a);
}

/* ---- headers that other writers (or old NumPy) produce ------------------------------ */

static void test_header_variants_accepted(void **state)
{
    (void)state;
    static const char *const dicts[] = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}",   /* any key order, no trailing comma */
        "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2, 3)}", /* double quotes */
        "  {  'descr'  :'<i4' ,'fortran_order':False,'shape':( 2 ,3 , ) ,  }  ", /* spaces, trailing commas */
        "{'descr': '<i4',\n 'fortran_order': False,\n 'shape': (2L, 3L), }", /* Python 2 longs */
        "{'descr': '<i4', 'fortran_order': True, 'shape': (1, 6), }",   /* column-major, same bytes */
    };
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        hd_array a;
        if (parse_dict(dicts[i], 24, &a) != HD_OK) fail_msg("%s: %s", dicts[i], hd_last_error());
        assert_int_equal(a.dtype, HD_I32);
        assert_int_equal(a.ndim, 2);
        assert_int_equal(a.shape[0] * a.shape[1], 6);
        assert_int_equal(((int32_t *)a.data)[1], 0x07060504);
        hd_array_free(&a);
    }
    for (int major = 2; major <= 3; major++) { /* 4-byte header lengths */
        size_t size;
        unsigned char *b = make_npy(major, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8, &size);
        hd_array a;
        assert_int_equal(hd_npy_parse("v2.npy", b, size, &a), HD_OK);
        assert_int_equal(a.ndim, 1);
        assert_int_equal(a.shape[0], 1);
        hd_array_free(&a);
        free(b);
    }
}

/* ---- refusals ------------------------------------------------------------------------ */

#define DICT(descr, fortran, shape) "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }"

static void test_unsupported_dtypes_refused(void **state)
{
    (void)state;
    refused(DICT("<f2", "False", "(3,)"), 6,
            "dtype '<f2' (float16) not supported: use float32, float64, int32 or int64", NULL);
    refused(DICT(">f4", "False", "(3,)"), 12, "dtype '>f4' (big-endian float32) not supported", "'<f4'");
    refused(DICT(">i8", "False", "(3,)"), 24, "big-endian int64", NULL);
    refused(DICT("|b1", "False", "(3,)"), 3, "dtype '|b1' (bool)", NULL);
    refused(DICT("|u1", "False", "(3,)"), 3, "(uint8)", NULL);
    refused(DICT("<u8", "False", "(3,)"), 24, "(uint64)", NULL);
    refused(DICT("<c8", "False", "(3,)"), 24, "(complex64)", NULL);
    refused(DICT("|O", "False", "(3,)"), 24, "(Python objects)", NULL);
    refused(DICT("<U5", "False", "(3,)"), 60, "(unicode string)", NULL);
    refused(DICT("<M8[s]", "False", "(3,)"), 24, "(datetime64)", NULL);
    refused(DICT("=f4", "False", "(3,)"), 12, "dtype '=f4'", NULL);
    refused(DICT("f4", "False", "(3,)"), 12, "dtype 'f4'", NULL);
    refused(DICT("", "False", "(3,)"), 12, "dtype ''", NULL);
    refused("{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (3,), }", 24,
            "structured", NULL);
}

static void test_bad_layouts_refused(void **state)
{
    (void)state;
    refused(DICT("<f4", "True", "(2, 3)"), 24, "fortran_order is True", "(2, 3)");
    refused(DICT("<f4", "False", "(1, 2, 1, 2, 1)"), 16, "shape has 5 dimensions; hadron reads at most 4", NULL);
    refused(DICT("<f4", "False", "(-3, 4)"), 48, "negative dimension -3", NULL);
    refused(DICT("<f4", "False", "(3, 99999999999999999999)"), 48, "dimension 99999999999999999999", "too large");
    refused(DICT("<f8", "False", "(4294967296, 4294967296)"), 48, "needs more than 2^63 bytes", NULL);
    refused(DICT("<f4", "False", "(100, 5, 4)"), 7996,
            "amps.npy: truncated: shape (100, 5, 4) float32 needs 8000 bytes of data, file has 7996", NULL);
    refused(DICT("<f4", "False", "(100, 5, 4)"), 8004,
            "amps.npy: 4 trailing bytes: shape (100, 5, 4) float32 needs 8000 bytes of data, file has 8004", NULL);
    refused(DICT("<i8", "False", "()"), 0, "truncated: shape () int64 needs 8 bytes", NULL);
    refused(DICT("<i4", "False", "(0, 2)"), 1, "1 trailing bytes", NULL);
}

static void test_bad_header_syntax_refused(void **state)
{
    (void)state;
    refused("{'descr': '<f4', 'fortran_order': False}", 4, "no 'shape' key", NULL);
    refused("{'fortran_order': False, 'shape': (1,)}", 4, "no 'descr' key", NULL);
    refused("{'descr': '<f4', 'shape': (1,)}", 4, "no 'fortran_order' key", NULL);
    refused(DICT("<f4", "False", "(1,)") "{}", 4, "bytes after the closing '}'", NULL);
    refused("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "'descr' appears twice",
            NULL);
    refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4, "key 'extra' is not one of",
            NULL);
    refused(DICT("<f4", "False", "(3)"), 12, "malformed header", "(n,), with a comma");
    refused(DICT("<f4", "False", "[3]"), 12, "shape is not a tuple", NULL);
    refused(DICT("<f4", "False", "(3.0,)"), 12, "expected ',' or ')'", NULL);
    refused(DICT("<f4", "0", "(3,)"), 12, "not True or False", NULL);
    refused("{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }", 12, "malformed header", NULL);
    refused("{'descr' '<f4', 'fortran_order': False, 'shape': (3,), }", 12, "expected ':'", NULL);
    refused("{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }", 12, "expected ',' or '}'", NULL);
    refused("['descr', '<f4']", 12, "expected '{'", NULL);
    refused("", 12, "expected '{'", NULL);
    refused("{'descr': '<f4', 'fortran_order': False, 'shape': (3,", 12, "malformed header", NULL);
    refused("{'descr': '<f4', 'fortran_order': False, 'shape': (\x01\x1b[2J3,), }", 12, "?[2J", NULL);
}

static void test_bad_preamble_refused(void **state)
{
    (void)state;
    size_t size;
    unsigned char *b = make_npy(1, DICT("<f4", "False", "(3,)"), 12, &size);
    hd_array a;
    b[6] = 4;
    assert_error(hd_npy_parse("amps.npy", b, size, &a), HD_EFORMAT, "amps.npy: .npy format version 4.0 not supported",
                 NULL);
    b[6] = 1;
    b[7] = 1;
    assert_error(hd_npy_parse("amps.npy", b, size, &a), HD_EFORMAT, "version 1.1", NULL);
    b[7] = 0;
    b[0] = 'P';
    assert_error(hd_npy_parse("amps.npy", b, size, &a), HD_EFORMAT, "amps.npy: not a .npy file", NULL);
    b[0] = 0x93;
    b[8] = 0xff;
    b[9] = 0xff;
    assert_error(hd_npy_parse("amps.npy", b, size, &a), HD_EFORMAT, "amps.npy: truncated: header says 65535 bytes",
                 NULL);
    free(b);
    b = make_npy(2, DICT("<f4", "False", "(3,)"), 12, &size);
    b[11] = 0x7f; /* a 2 GB header */
    assert_error(hd_npy_parse("amps.npy", b, size, &a), HD_EFORMAT, "over the", "limit");
    free(b);
    assert_error(hd_npy_parse("amps.npy", "", 0, &a), HD_EFORMAT, "amps.npy: truncated: 0 bytes", NULL);
    assert_error(hd_npy_parse("amps.npy", NULL, 0, &a), HD_EFORMAT, "truncated", NULL);
    assert_error(hd_npy_parse("amps.npy", "PK\x03\x04", 4, &a), HD_EFORMAT, "not a .npy file", NULL);
    assert_error(hd_npy_parse("amps.npy", NULL, 5, &a), HD_EINVAL, NULL, NULL);
    assert_error(hd_npy_parse("amps.npy", "x", 1, NULL), HD_EINVAL, NULL, NULL);
}

/* Every prefix of a valid file is refused, names the file, and leaves
 * nothing allocated (valgrind and the sanitizers check the "no crash"). */
static void test_every_truncation_refused(void **state)
{
    (void)state;
    for (int major = 1; major <= 2; major++) {
        size_t size;
        unsigned char *b = make_npy(major, DICT("<f8", "False", "(2, 3)"), 48, &size);
        for (size_t n = 0; n < size; n++) {
            unsigned char *copy = malloc(n + 1); /* exactly n bytes readable: ASan sees any overread */
            memcpy(copy, b, n);
            hd_array a;
            int rc = hd_npy_parse("cut.npy", copy, n, &a);
            if (rc != HD_EFORMAT || strncmp(hd_last_error(), "cut.npy: ", 9) != 0)
                fail_msg("prefix of %zu bytes: rc %d, %s", n, rc, hd_last_error());
            assert_null(a.data);
            free(copy);
        }
        hd_array a;
        assert_int_equal(hd_npy_parse("whole.npy", b, size, &a), HD_OK);
        hd_array_free(&a);
        free(b);
    }
}

/* Errors from hd_npy_read name the path. */
static void test_read_errors_name_the_file(void **state)
{
    fixture *f = *state;
    size_t size;
    unsigned char *b = make_npy(1, DICT("<f4", "False", "(100, 5, 4)"), 7996, &size);
    spill(f->path, b, size);
    free(b);
    hd_array a;
    char want[4200];
    snprintf(want, sizeof want, "%s: truncated: shape (100, 5, 4) float32 needs 8000 bytes of data, file has 7996",
             f->path);
    assert_error(hd_npy_read(f->path, &a), HD_EFORMAT, want, NULL);
    assert_null(a.data);

    b = make_npy(1, DICT("<f2", "False", "(3,)"), 6, &size);
    spill(f->path, b, size);
    free(b);
    snprintf(want, sizeof want, "%s: dtype '<f2' (float16) not supported", f->path);
    assert_error(hd_npy_read(f->path, &a), HD_EFORMAT, want, NULL);

    spill(f->path, "\x93NUM", 4);
    assert_error(hd_npy_read(f->path, &a), HD_EFORMAT, f->path, "truncated: 4 bytes");
    spill(f->path, "", 0);
    assert_error(hd_npy_read(f->path, &a), HD_EFORMAT, f->path, "truncated: 0 bytes");
    assert_error(hd_npy_read(f->dir, &a), HD_EIO, f->dir, "not a regular file");
    assert_error(hd_npy_read("/nonexistent/dir/x.npy", &a), HD_EIO, "/nonexistent/dir/x.npy", NULL);
    assert_error(hd_npy_read(NULL, &a), HD_EINVAL, NULL, NULL);
}

static void test_write_refuses_bad_arrays(void **state)
{
    fixture *f = *state;
    float x[4] = {0};
    hd_array five = {HD_F32, 5, {1, 1, 1, 1}, x}, negative = {HD_F32, 1, {-4}, x}, none = {HD_F32, 1, {4}, NULL};
    hd_array dtype = {(hd_dtype)9, 1, {4}, x};
    assert_error(hd_npy_write(f->path, &five), HD_EINVAL, f->path, "dimensions");
    assert_error(hd_npy_write(f->path, &negative), HD_EINVAL, f->path, "negative");
    assert_error(hd_npy_write(f->path, &none), HD_EINVAL, f->path, "no data");
    assert_error(hd_npy_write(f->path, &dtype), HD_EINVAL, f->path, "dtype");
    assert_error(hd_npy_write(f->path, NULL), HD_EINVAL, f->path, NULL);
    struct stat sb;
    assert_int_not_equal(stat(f->path, &sb), 0); /* nothing written */
    hd_array ok = {HD_F32, 1, {4}, x};
    assert_error(hd_npy_write("/nonexistent/dir/y.npy", &ok), HD_EIO, "/nonexistent/dir/y.npy", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_basics),
        cmocka_unit_test(test_array_to_f32),
        cmocka_unit_test_setup_teardown(test_round_trip_every_dtype_and_rank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_empty_and_large_dims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_header_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_fixtures, setup, teardown),
        cmocka_unit_test(test_numpy_fixture_values),
        cmocka_unit_test(test_header_variants_accepted),
        cmocka_unit_test(test_unsupported_dtypes_refused),
        cmocka_unit_test(test_bad_layouts_refused),
        cmocka_unit_test(test_bad_header_syntax_refused),
        cmocka_unit_test(test_bad_preamble_refused),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test_setup_teardown(test_read_errors_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_arrays, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
