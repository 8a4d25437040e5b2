/* safetensors files and checkpoints: bit-exact round trips, group-wise
 * loading, metadata, the on-disk layout, atomic saves, and refusal of every
 * kind of damaged or hostile file without touching the model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/safetensors_internal.h"
#include "hadron/hadron.h"
#include "test_util.h"

#define MAX_FLOATS 64

typedef struct {
    char *dir;       /* test_tmpdir() */
    char path[4096]; /* dir/model.safetensors */
    hd_graph *g;
} fixture;

/* Two groups: group 0 an encoder layer, group 1 a decoder layer and a scalar. */
static hd_graph *make_graph(void)
{
    hd_graph *g = hd_graph_new(11);
    hd_init normal = {HD_INIT_NORMAL, 1.0f};
    hd_param(g, "enc.weight", 2, (int64_t[]){2, 3}, normal);
    hd_param(g, "enc.bias", 1, (int64_t[]){3}, normal);
    hd_graph_set_group(g, 1);
    hd_param(g, "dec.weight", 2, (int64_t[]){3, 2}, normal);
    hd_param(g, "temperature", 0, NULL, (hd_init){HD_INIT_CONST, 1.5f});
    if (hd_graph_compile(g) != HD_OK) {
        hd_graph_free(g);
        return NULL;
    }
    return g;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    if (!(f->dir = test_tmpdir("ckpt"))) return -1;
    snprintf(f->path, sizeof f->path, "%s/model.safetensors", f->dir);
    f->g = make_graph();
    *state = f;
    return f->g ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    test_tmpdir_free(f->dir);
    hd_graph_free(f->g);
    free(f);
    return 0;
}

static hd_node *param(hd_graph *g, const char *name) { return hd_graph_find(g, name); }

/* Every param value of group (HD_ALL: all) in layout order; returns the count. */
static int snapshot(hd_graph *g, int group, float *out)
{
    float *v;
    int64_t n;
    assert_int_equal(hd_graph_param_range(g, group, &v, NULL, &n), HD_OK);
    assert_true(n <= MAX_FLOATS);
    memcpy(out, v, (size_t)n * sizeof *v);
    return (int)n;
}

static void fill_group(hd_graph *g, int group, float value)
{
    float *v;
    int64_t n;
    assert_int_equal(hd_graph_param_range(g, group, &v, NULL, &n), HD_OK);
    for (int64_t i = 0; i < n; i++) v[i] = value;
}

static void assert_group_equals(hd_graph *g, int group, const float *expect)
{
    float now[MAX_FLOATS];
    int n = snapshot(g, group, now);
    assert_memory_equal(now, expect, (size_t)n * sizeof *now);
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* A file as any writer might make it: length prefix, json, then data bytes. */
static void write_raw(const char *path, const char *json, const void *data, size_t n_data)
{
    size_t len = strlen(json);
    unsigned char *b = calloc(8 + len + n_data + 1, 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(b + 8, json, len);
    if (data) memcpy(b + 8 + len, data, n_data);
    spill(path, b, 8 + len + n_data);
    free(b);
}

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* A load that must fail: the code, a message naming the file and the reason,
 * and not one param changed. */
static void assert_load_refused(fixture *f, int code, const char *reason)
{
    float before[MAX_FLOATS];
    snapshot(f->g, HD_ALL, before);
    hd_clear_error();
    int rc = hd_checkpoint_load(f->g, f->path, HD_ALL);
    const char *msg = hd_last_error();
    if (rc != code || !strstr(msg, "model.safetensors") || !strstr(msg, reason))
        fail_msg("expected %d mentioning '%s', got %d: %s", code, reason, rc, msg);
    assert_group_equals(f->g, HD_ALL, before);
}

/* ---- round trips ----------------------------------------------------------- */

static void test_round_trip_bit_exact(void **state)
{
    fixture *f = *state;
    /* values a text format would mangle: -0, a denormal, infinities, a NaN payload */
    float *w = hd_node_value(param(f->g, "enc.weight"))->data;
    uint32_t nan_bits = 0x7fc01234u;
    w[0] = -0.0f;
    w[1] = 1e-41f;
    w[2] = INFINITY;
    w[3] = -INFINITY;
    memcpy(&w[4], &nan_bits, sizeof nan_bits);
    w[5] = 1.0f / 3.0f;
    float saved[MAX_FLOATS];
    int n = snapshot(f->g, HD_ALL, saved);
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL), HD_OK);
    fill_group(f->g, HD_ALL, 42.0f);
    assert_int_equal(hd_checkpoint_load(f->g, f->path, HD_ALL), HD_OK);
    float loaded[MAX_FLOATS];
    assert_int_equal(snapshot(f->g, HD_ALL, loaded), n);
    assert_memory_equal(loaded, saved, (size_t)n * sizeof(float));
    assert_int_equal(count_temp_files(f->dir), 0);
}

static void test_groups(void **state)
{
    fixture *f = *state;
    float g0[MAX_FLOATS], g1[MAX_FLOATS];
    snapshot(f->g, 0, g0);
    snapshot(f->g, 1, g1);
    char path1[4200];
    snprintf(path1, sizeof path1, "%s/dec.safetensors", f->dir);
    assert_int_equal(hd_checkpoint_save(f->g, f->path, 0, 0, NULL), HD_OK);
    assert_int_equal(hd_checkpoint_save(f->g, path1, 1, 0, NULL), HD_OK);

    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(f->path, &st), HD_OK);
    assert_int_equal(hd_safetensors_count(st), 2);
    assert_string_equal(hd_safetensors_name(st, 0), "enc.weight");
    assert_string_equal(hd_safetensors_name(st, 1), "enc.bias");
    assert_null(hd_safetensors_get(st, "dec.weight"));
    hd_safetensors_free(st);

    /* loading one group leaves the other alone */
    fill_group(f->g, HD_ALL, -7.0f);
    float g1_perturbed[MAX_FLOATS];
    snapshot(f->g, 1, g1_perturbed);
    assert_int_equal(hd_checkpoint_load(f->g, f->path, 0), HD_OK);
    assert_group_equals(f->g, 0, g0);
    assert_group_equals(f->g, 1, g1_perturbed);
    assert_int_equal(hd_checkpoint_load(f->g, path1, 1), HD_OK);
    assert_group_equals(f->g, 1, g1);

    /* a file holding only group 0 cannot restore the whole model */
    fill_group(f->g, HD_ALL, 3.0f);
    assert_load_refused(f, HD_EFORMAT, "missing tensor 'dec.weight'");
    /* but a file holding every group restores any one of them */
    assert_int_equal(hd_checkpoint_save(f->g, path1, HD_ALL, 0, NULL), HD_OK);
    fill_group(f->g, 0, 5.0f);
    assert_int_equal(hd_checkpoint_load(f->g, path1, 0), HD_OK);
    assert_float_equal(hd_node_value(param(f->g, "enc.bias"))->data[0], 3.0f, 0.0f);
}

static void test_metadata(void **state)
{
    fixture *f = *state;
    const hd_meta meta[] = {
        {"model", "{\"layers\": [3, 2], \"act\": \"relu\"}"},
        {"epoch", "12"},
        {"format", "not hadron"}, /* reserved: hadron's own value wins */
        {"units", "\xc2\xb5m \xe2\x86\x92 \xe2\x88\x9e"},
    };
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 4, meta), HD_OK);
    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(f->path, &st), HD_OK);
    assert_int_equal(hd_safetensors_meta_count(st), 5);
    const char *keys[] = {"model", "epoch", "units", "format", "hadron_version"};
    for (int i = 0; i < 5; i++) assert_string_equal(hd_safetensors_meta_key(st, i), keys[i]);
    assert_null(hd_safetensors_meta_key(st, 5));
    assert_string_equal(hd_safetensors_meta(st, "model"), meta[0].value);
    assert_string_equal(hd_safetensors_meta(st, "epoch"), "12");
    assert_string_equal(hd_safetensors_meta(st, "units"), meta[3].value);
    assert_string_equal(hd_safetensors_meta(st, "format"), "hadron");
    assert_string_equal(hd_safetensors_meta(st, "hadron_version"), HD_VERSION);
    assert_null(hd_safetensors_meta(st, "missing"));
    assert_int_equal(hd_safetensors_count(st), 4);
    const hd_tensor *t = hd_safetensors_get(st, "temperature");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_float_equal(t->data[0], 1.5f, 0.0f);
    hd_safetensors_free(st);
}

/* ---- the bytes on disk, as another reader sees them ------------------------- */

static void test_file_layout(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 1, &(hd_meta){"epoch", "3"}), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    uint64_t len = le64(b);
    assert_int_equal(len % 8, 0); /* data starts 8-byte aligned */
    assert_int_equal(8 + len + 4 * (6 + 3 + 6 + 1), size);
    b[8 + len] = '\0'; /* the header as a C string; data no longer needed */
    char *json = (char *)b + 8;
    assert_int_equal(json[0], '{');
    assert_non_null(strstr(json, "\"__metadata__\":{\"epoch\":\"3\",\"format\":\"hadron\""));
    assert_non_null(strstr(json, "\"enc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"));
    assert_non_null(strstr(json, "\"enc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}"));
    assert_non_null(strstr(json, "\"temperature\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[60,64]}"));
    char *end = strrchr(json, '}');
    for (char *p = end + 1; p < json + len; p++) assert_int_equal(*p, ' ');
    free(b);

    /* the data section is the params, little-endian float32, in order */
    b = slurp(f->path, &size);
    assert_memory_equal(b + 8 + len, hd_node_value(param(f->g, "enc.weight"))->data, 24);
    assert_memory_equal(b + 8 + len + 60, hd_node_value(param(f->g, "temperature"))->data, 4);
    free(b);
}

/* A file from another writer: unpadded header, scalar, empty tensor, other order. */
static void test_reader_accepts_valid_variants(void **state)
{
    fixture *f = *state;
    const float data[] = {2.5f, 1.0f, 2.0f};
    write_raw(f->path,
              "{ \"v\": {\"data_offsets\": [4, 12], \"shape\": [2], \"dtype\": \"F32\"},\n"
              "  \"empty\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [12, 12]},\n"
              "  \"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]} }\n",
              data, sizeof data);
    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(f->path, &st), HD_OK);
    assert_int_equal(hd_safetensors_count(st), 3);
    assert_string_equal(hd_safetensors_name(st, 0), "v");
    assert_string_equal(hd_safetensors_name(st, 2), "s");
    assert_null(hd_safetensors_name(st, 3));
    assert_null(hd_safetensors_name(st, -1));
    assert_float_equal(hd_safetensors_get(st, "s")->data[0], 2.5f, 0.0f);
    assert_float_equal(hd_safetensors_get(st, "v")->data[1], 2.0f, 0.0f);
    assert_int_equal(hd_safetensors_get(st, "empty")->shape[0], 0);
    assert_null(hd_safetensors_get(st, "nope"));
    assert_int_equal(hd_safetensors_meta_count(st), 0);
    assert_null(hd_safetensors_meta(st, "format"));
    hd_safetensors_free(st);
    hd_safetensors_free(NULL);

    /* the same parser on a memory buffer, for the fuzz target */
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    assert_int_equal(hd_safetensors_parse("buffer", b, size, &st), HD_OK);
    assert_int_equal(hd_safetensors_count(st), 3);
    hd_safetensors_free(st);
    assert_int_equal(hd_safetensors_parse("buffer", b, 5, &st), HD_EFORMAT);
    assert_null(st);
    assert_non_null(strstr(hd_last_error(), "buffer: truncated"));
    /* a header length past hadron's 8 MiB limit is refused before anything is read or parsed */
    unsigned char big[16] = {0};
    big[2] = 0x90; /* 9 MiB, little-endian */
    assert_error(hd_safetensors_parse("big.safetensors", big, sizeof big, &st), HD_EFORMAT,
                 "big.safetensors: header length 9437184 is over hadron's 8388608-byte limit", "docs/files.md");
    free(b);
}

/* ---- damaged and hostile files ------------------------------------------------ */

static void test_truncated(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    size_t len = (size_t)le64(b), data = size - 8 - len;
    const struct { size_t cut; const char *reason; } cases[] = {
        {0, "truncated: file has 0 bytes"},
        {4, "truncated: file has 4 bytes"},
        {8, "truncated: header says"},
        {8 + len / 2, "truncated: header says"},
        {8 + len, "outside the 0-byte data section"},
        {8 + len + data / 2, "truncated file?"},
        {size - 1, "truncated file?"},
    };
    fill_group(f->g, HD_ALL, 9.0f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spill(f->path, b, cases[i].cut);
        assert_load_refused(f, HD_EFORMAT, cases[i].reason);
    }
    free(b);
}

static void test_bad_length_prefix(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL), HD_OK);
    size_t size;
    unsigned char *b = slurp(f->path, &size);
    uint64_t lens[] = {size, size - 7, 200000000, UINT64_MAX};
    const char *reasons[] = {"truncated: header says", "truncated: header says", "limit", "limit"};
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)(lens[i] >> (8 * k));
        spill(f->path, b, size);
        assert_load_refused(f, HD_EFORMAT, reasons[i]);
    }
    /* a length shorter than the real header cuts the JSON short */
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)16 >> (8 * k));
    spill(f->path, b, size);
    assert_load_refused(f, HD_EFORMAT, "not valid JSON");
    free(b);
}

static void test_corrupt_headers(void **state)
{
    fixture *f = *state;
    static const struct { const char *json; size_t n_data; const char *reason; } cases[] = {
        {"{\"enc.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3]", 24, "not valid JSON"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},}", 4, "not valid JSON"},
        {"[1, 2]", 0, "does not start with '{'"},
        {"", 0, "does not start with '{'"},
        {"{} x", 0, "bytes after the JSON object"},
        {"{\"\xff\": 1}", 0, "not valid UTF-8"},
        {"{\"\xed\xa0\x80\": 1}", 0, "not valid UTF-8"}, /* an encoded surrogate */
        {"{\"a\tb\": 3}", 0, "control character or \\u0000 at byte 3"},
        {"{\"a\\u0000b\": 3}", 0, "control character or \\u0000 at byte 3"},
        {"{\"a\": 3}", 0, "tensor 'a': entry is not a JSON object"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"shape\": [2], \"data_offsets\": [0, 4]}}", 4,
         "tensor 'a': shape appears twice"},
        {"{\"enc.weight\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}}", 12,
         "tensor 'enc.weight': dtype F16 is not supported"},
        {"{\"a\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [0, 2]}}", 2, "dtype BF16"},
        {"{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "dtype is missing"},
        {"{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "shape is missing"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 1], \"data_offsets\": [0, 4]}}", 4,
         "more than 4 dimensions"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "not a non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, "not a non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 4]}}", 4, "not a non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0, 4]}}", 4, "not a non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "data_offsets is not a pair"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8, "data_offsets is not a pair"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 1000]}}", 8,
         "data_offsets [0, 1000) outside the 8-byte data section"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", 8, "[8, 4) end before they begin"},
        {"{\"dense0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}}", 24,
         "tensor 'dense0.weight': data_offsets [0, 12) but shape [2, 3] needs 24 bytes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296, 4294967296], "
         "\"data_offsets\": [0, 8]}}", 8, "needs more than the 8-byte data section"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 0]}}", 0, "needs more than"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [16, 40]}}", 40,
         "tensors 'a' [0, 24) and 'b' [16, 40) overlap"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "overlap"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]}}", 20,
         "data bytes [8, 12) belong to no tensor"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 12,
         "data bytes [8, 12) belong to no tensor"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
         " \"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}}", 4, "tensor name 'a' appears twice"},
        {"{\"__metadata__\": {\"epoch\": 3}}", 0, "metadata 'epoch' is not a string"},
        {"{\"__metadata__\": [\"x\"]}", 0, "__metadata__ is not a JSON object"},
        {"{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "__metadata__ appears twice"},
        {"{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", 0, "metadata key 'k' appears twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(f->path, cases[i].json, NULL, cases[i].n_data);
        assert_load_refused(f, HD_EFORMAT, cases[i].reason);
    }
}

/* Well-formed files that do not fit the graph. */
static void test_file_does_not_fit_graph(void **state)
{
    fixture *f = *state;
    float zeros[8] = {0};
    const char *names[] = {"enc.weight", "enc.bias", "dec.weight", "temperature"};
    hd_tensor wrong = hd_tensor_view(zeros, 2, (int64_t[]){3, 2}); /* enc.weight is [2, 3] */
    const hd_tensor *tensors[] = {&wrong, hd_node_value(param(f->g, "enc.bias")),
                                  hd_node_value(param(f->g, "dec.weight")),
                                  hd_node_value(param(f->g, "temperature"))};
    assert_int_equal(hd_safetensors_write(f->path, 4, names, tensors, 0, NULL), HD_OK);
    assert_load_refused(f, HD_ESHAPE, "tensor 'enc.weight' has shape [3, 2] but the param has shape [2, 3]");

    hd_tensor vec = hd_tensor_view(zeros, 1, (int64_t[]){1}); /* a scalar param is not a [1] tensor */
    tensors[0] = hd_node_value(param(f->g, "enc.weight"));
    tensors[3] = &vec;
    assert_int_equal(hd_safetensors_write(f->path, 4, names, tensors, 0, NULL), HD_OK);
    assert_load_refused(f, HD_ESHAPE, "shape [1] but the param has shape []");

    /* extra tensors are fine: a file may hold several models */
    const char *more[] = {"enc.weight", "enc.bias", "dec.weight", "temperature", "critic.bias"};
    tensors[3] = hd_node_value(param(f->g, "temperature"));
    const hd_tensor *with_extra[] = {tensors[0], tensors[1], tensors[2], tensors[3], &vec};
    assert_int_equal(hd_safetensors_write(f->path, 5, more, with_extra, 0, NULL), HD_OK);
    assert_int_equal(hd_checkpoint_load(f->g, f->path, HD_ALL), HD_OK);

    /* missing one param of the group asked for */
    assert_int_equal(hd_safetensors_write(f->path, 3, names, tensors, 0, NULL), HD_OK);
    assert_load_refused(f, HD_EFORMAT, "missing tensor 'temperature'");
}

/* ---- bad calls and failed writes ------------------------------------------------ */

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_load(f->g, f->path, HD_ALL), HD_EIO); /* no such file */
    assert_non_null(strstr(hd_last_error(), "model.safetensors"));
    assert_int_equal(hd_checkpoint_load(f->g, f->dir, HD_ALL), HD_EIO); /* a directory */
    assert_non_null(strstr(hd_last_error(), "not a regular file"));
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_MAX_GROUPS, 0, NULL), HD_EINVAL);
    assert_int_equal(hd_checkpoint_load(f->g, f->path, -2), HD_EINVAL);
    assert_int_equal(hd_checkpoint_save(f->g, NULL, HD_ALL, 0, NULL), HD_EINVAL);
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 1, NULL), HD_EINVAL);

    hd_graph *raw = hd_graph_new(1);
    hd_param(raw, "w", 1, (int64_t[]){2}, (hd_init){HD_INIT_ZEROS, 0});
    assert_int_equal(hd_checkpoint_save(raw, f->path, HD_ALL, 0, NULL), HD_ESTATE);
    assert_int_equal(hd_checkpoint_load(raw, f->path, HD_ALL), HD_ESTATE);
    hd_graph_free(raw);

    float x = 1.0f;
    hd_tensor t = hd_tensor_view(&x, 0, NULL);
    const hd_tensor *ts[] = {&t, &t};
    assert_int_equal(hd_safetensors_write(f->path, 2, (const char *[]){"a", "a"}, ts, 0, NULL), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "'a' given twice"));
    assert_int_equal(hd_safetensors_write(f->path, 1, (const char *[]){"__metadata__"}, ts, 0, NULL), HD_EINVAL);
    assert_int_equal(hd_safetensors_write(f->path, 1, (const char *[]){"\xff"}, ts, 0, NULL), HD_EINVAL);
    assert_int_equal(hd_safetensors_write(f->path, 1, (const char *[]){NULL}, ts, 0, NULL), HD_EINVAL);
    const hd_meta dup[] = {{"k", "1"}, {"k", "2"}};
    assert_int_equal(hd_safetensors_write(f->path, 1, (const char *[]){"a"}, ts, 2, dup), HD_EINVAL);
    assert_int_equal(hd_safetensors_write(f->path, 1, (const char *[]){"a"}, ts, 1, &(hd_meta){"k", NULL}),
                     HD_EINVAL);
    assert_int_equal(access(f->path, F_OK), -1); /* nothing written */
    assert_int_equal(hd_safetensors_read(f->path, NULL), HD_EINVAL);
}

static void test_failed_save_keeps_old_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL), HD_OK);
    size_t size, size_after;
    unsigned char *before = slurp(f->path, &size);
    fill_group(f->g, HD_ALL, 1.0f);
    char p[4200];

    snprintf(p, sizeof p, "%s/missing/model.safetensors", f->dir);
    assert_int_equal(hd_checkpoint_save(f->g, p, HD_ALL, 0, NULL), HD_EIO);
    assert_non_null(strstr(hd_last_error(), "missing/model.safetensors"));

    snprintf(p, sizeof p, "%s/a_directory", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(hd_checkpoint_save(f->g, p, HD_ALL, 0, NULL), HD_EIO);
    assert_non_null(strstr(hd_last_error(), "a_directory"));
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    /* the disk fills up midway through the write (a file size limit stands in
     * for a full disk, and works for root too) */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, HD_EIO);
    assert_non_null(strstr(hd_last_error(), "model.safetensors"));

    unsigned char *after = slurp(f->path, &size_after);
    assert_int_equal(size_after, size);
    assert_memory_equal(after, before, size);
    assert_int_equal(count_temp_files(f->dir), 0);
    free(before);
    free(after);
}

/* What checkpoints read of a graph through its public header: the nodes in
 * creation order and the params' names, shapes and groups, before compile
 * too; and hd_checkpoint_check on a graph not compiled yet, which finds
 * its params that way. */
static void test_graph_inspection(void **state)
{
    fixture *f = *state;
    assert_int_equal(hd_checkpoint_save(f->g, f->path, HD_ALL, 0, NULL), HD_OK);
    assert_int_equal(hd_graph_compiled(f->g), 1);

    hd_graph *g = hd_graph_new(3);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *w = hd_param(g, "enc.weight", 2, (int64_t[]){2, 3}, (hd_init){HD_INIT_ZEROS, 0});
    hd_graph_set_group(g, 1);
    hd_node *rm = hd_buffer(g, "dec.weight", 2, (int64_t[]){3, 2}, (hd_init){HD_INIT_ZEROS, 0});
    hd_node *y = hd_matmul(g, x, w, 0);
    assert_non_null(y);
    assert_int_equal(hd_graph_compiled(g), 0);
    assert_int_equal(hd_graph_n_nodes(g), 4);
    assert_ptr_equal(hd_graph_node(g, 0), x);
    assert_ptr_equal(hd_graph_node(g, 1), w);
    assert_ptr_equal(hd_graph_node(g, 2), rm);
    assert_ptr_equal(hd_graph_node(g, 3), y);
    assert_null(hd_graph_node(g, 4));
    assert_null(hd_graph_node(g, -1));
    assert_int_equal(hd_node_group(x), -1);
    assert_int_equal(hd_node_group(w), 0);
    assert_int_equal(hd_node_group(rm), 1);
    assert_int_equal(hd_node_group(y), -1);
    assert_int_equal(hd_node_ndim(y), 2);
    assert_int_equal(hd_node_shape(y)[0], HD_BATCH);
    assert_int_equal(hd_node_shape(y)[1], 3);
    assert_int_equal(hd_node_ndim(rm), 2);
    assert_int_equal(hd_node_shape(rm)[0], 3);

    /* the check, uncompiled: enc.weight and dec.weight match the file; a
     * third param of group 1 is missing, and named with its group */
    hd_safetensors *st;
    assert_int_equal(hd_safetensors_read(f->path, &st), HD_OK);
    assert_int_equal(hd_checkpoint_check(g, st, f->path, HD_ALL), HD_OK);
    hd_param(g, "dec.extra", 1, (int64_t[]){4}, (hd_init){HD_INIT_ZEROS, 0});
    assert_error(hd_checkpoint_check(g, st, f->path, HD_ALL), HD_EFORMAT, "missing tensor 'dec.extra'",
                 "(param of group 1)");
    assert_int_equal(hd_checkpoint_check(g, st, f->path, 0), HD_OK);
    assert_int_equal(hd_graph_compiled(g), 0);
    hd_safetensors_free(st);
    hd_graph_free(g);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip_bit_exact),
        T(test_groups),
        T(test_metadata),
        T(test_file_layout),
        T(test_reader_accepts_valid_variants),
        T(test_truncated),
        T(test_bad_length_prefix),
        T(test_corrupt_headers),
        T(test_file_does_not_fit_graph),
        T(test_bad_arguments),
        T(test_failed_save_keeps_old_file),
        T(test_graph_inspection),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
