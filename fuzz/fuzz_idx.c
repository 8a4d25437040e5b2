/* libFuzzer target for the IDX reader.  The input is written to a file
 * (the reader goes through zlib's gzread, which needs one) and read by
 * hd_idx_read, hd_idx_read_images and hd_idx_read_labels: each gives either
 * a result whose data lies inside its allocation, or an error naming the
 * file; never a crash.  Beyond that:
 *   - a plain input that reads must be exactly header + data: encoding the
 *     array back gives the input's bytes;
 *   - the images and labels readers agree with hd_idx_read, and the first
 *     image alone (n_max 1) is the first of all;
 *   - the same bytes gzip-compressed read to the same result, and the
 *     compressed file cut short is always refused.
 * The input cap is fixed (HADRON_MAX_INPUT_MB=64), so that a file and its
 * gzip, of other sizes, are held to the same one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hadron/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], raw_path[96], gz_path[96];

static void cleanup(void)
{
    remove(raw_path);
    remove(gz_path);
    rmdir(dir);
}

static void init(void)
{
    if (dir[0]) return;
    snprintf(dir, sizeof dir, "/tmp/hd_fuzz_idx_XXXXXX");
    if (!mkdtemp(dir)) __builtin_trap();
    snprintf(raw_path, sizeof raw_path, "%s/in.idx", dir);
    snprintf(gz_path, sizeof gz_path, "%s/in.idx.gz", dir);
    setenv("HADRON_MAX_INPUT_MB", "64", 1);
    atexit(cleanup);
}

static void spill(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(bytes, 1, n, f) != n) || fclose(f) != 0) __builtin_trap();
}

/* bytes gzip-compressed (malloc'ed), or NULL when zlib has no memory. */
static unsigned char *gzip(const uint8_t *bytes, size_t n, size_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong cap = deflateBound(&zs, (uLong)n);
    unsigned char *z = malloc(cap);
    if (!z) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)bytes;
    zs.avail_in = (uInt)n;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) __builtin_trap();
    *out = zs.total_out;
    deflateEnd(&zs);
    return z;
}

/* The IDX bytes of a (type code from the input) must be the input itself. */
static void check_encoding(const hd_array *a, const uint8_t *data, size_t size)
{
    int64_t n = hd_array_numel(a);
    static const int sizes[16] = {[0x08] = 1, [0x09] = 1, [0x0B] = 2, [0x0C] = 4, [0x0D] = 4, [0x0E] = 8};
    int code = data[2], item = code < 16 ? sizes[code] : 0;
    size_t head = 4 + 4 * (size_t)a->ndim;
    if (!item || data[0] || data[1] || data[3] != a->ndim || size != head + (size_t)n * (size_t)item)
        __builtin_trap();
    for (int d = 0; d < a->ndim; d++) {
        const uint8_t *p = data + 4 + 4 * d;
        if (a->shape[d] != (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]))
            __builtin_trap();
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t u = 0;
        const unsigned char *v = (const unsigned char *)a->data + (size_t)i * hd_dtype_size(a->dtype);
        switch (code) {
        case 0x08:
        case 0x09:
        case 0x0B: {
            int32_t x = ((const int32_t *)a->data)[i];
            int32_t lo = code == 0x08 ? 0 : code == 0x09 ? -128 : -32768, hi = code == 0x08 ? 255 : -lo - 1;
            if (x < lo || x > hi) __builtin_trap(); /* in the type's range */
            u = (uint32_t)x;
            break;
        }
        case 0x0C:
        case 0x0D: {
            uint32_t w;
            memcpy(&w, v, 4);
            u = w;
            break;
        }
        case 0x0E: memcpy(&u, v, 8); break;
        }
        const uint8_t *p = data + head + (size_t)i * (size_t)item;
        for (int k = 0; k < item; k++)
            if (p[k] != (uint8_t)(u >> (8 * (item - 1 - k)))) __builtin_trap();
    }
}

static int same_array(const hd_array *a, const hd_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof a->shape) != 0) return 0;
    size_t bytes = (size_t)hd_array_numel(a) * hd_dtype_size(a->dtype);
    return !bytes || memcmp(a->data, b->data, bytes) == 0;
}

static void failed_cleanly(const char *path)
{
    if (!strstr(hd_last_error(), path)) __builtin_trap(); /* every error names the file */
}

/* The images and labels readers agree with the general one (rc and a from
 * hd_idx_read on path).  code is the file's type code, or -1 when unknown
 * (a compressed input): then only "reads => hd_idx_read read it too". */
static void check_typed(const char *path, int rc, const hd_array *a, int code)
{
    hd_tensor *t = NULL;
    hd_idx_image_opts o = {.lo = -1.0f, .hi = 1.0f};
    int rc_images = hd_idx_read_images(path, &o, &t);
    int images_ok = rc == HD_OK && a->ndim == 3 && a->dtype == HD_I32 && (code == 0x08 || code < 0);
    if (rc_images == HD_OK ? !images_ok : images_ok && code == 0x08) __builtin_trap();
    if (rc_images == HD_OK) {
        if (t->ndim != 4 || t->shape[0] != a->shape[0] || t->shape[1] != 1 || t->shape[2] != a->shape[1] ||
            t->shape[3] != a->shape[2])
            __builtin_trap();
        const int32_t *v = a->data;
        for (int64_t i = 0; i < hd_array_numel(a); i++) {
            float want = (float)(-1.0 * (1.0 - v[i] / 255.0) + v[i] / 255.0);
            if (t->data[i] != want) __builtin_trap();
        }
        hd_tensor *first = NULL;
        o.n_max = 1;
        o.height = t->shape[2];
        o.width = t->shape[3];
        if (hd_idx_read_images(path, &o, &first) != HD_OK || first->shape[0] != 1 ||
            memcmp(first->data, t->data, (size_t)(t->shape[2] * t->shape[3]) * sizeof(float)) != 0)
            __builtin_trap();
        hd_tensor_free(first);
    } else {
        if (t) __builtin_trap();
        failed_cleanly(path);
    }
    hd_tensor_free(t);

    int32_t *l = NULL;
    int64_t n = -7;
    int rc_labels = hd_idx_read_labels(path, -1, &l, &n);
    int labels_ok = rc == HD_OK && a->ndim == 1 && a->dtype == HD_I32 && (code == 0x08 || code < 0);
    if (rc_labels == HD_OK ? !labels_ok : labels_ok && code == 0x08) __builtin_trap();
    if (rc_labels == HD_OK) {
        if (n != a->shape[0] || memcmp(l, a->data, (size_t)n * sizeof *l) != 0) __builtin_trap();
    } else if (l || n != 0) {
        __builtin_trap();
    } else {
        failed_cleanly(path);
    }
    hd_free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    spill(raw_path, data, size);
    int plain = !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b);
    hd_array a;
    int rc = hd_idx_read(raw_path, &a);
    if (rc == HD_OK) {
        if (a.ndim < 1 || a.ndim > HD_MAX_DIM || !a.data) __builtin_trap();
        if (plain) check_encoding(&a, data, size);
    } else {
        if (a.data || a.ndim) __builtin_trap(); /* a failed read leaves the output empty */
        failed_cleanly(raw_path);
    }
    check_typed(raw_path, rc, &a, !plain ? -1 : size > 2 ? data[2] : 0);

    if (plain) {
        size_t n_gz = 0;
        unsigned char *z = gzip(data, size, &n_gz);
        if (z) {
            spill(gz_path, z, n_gz);
            hd_array b;
            int rc_gz = hd_idx_read(gz_path, &b);
            if (rc_gz != rc || (rc == HD_OK && !same_array(&a, &b))) __builtin_trap();
            if (rc_gz != HD_OK) failed_cleanly(gz_path);
            hd_array_free(&b);
            /* cut anywhere: refused */
            size_t cut = size ? (size_t)data[size - 1] * n_gz / 256 : n_gz / 2;
            spill(gz_path, z, cut);
            if (hd_idx_read(gz_path, &b) == HD_OK || b.data) __builtin_trap();
            failed_cleanly(gz_path);
            free(z);
        }
    }
    hd_array_free(&a);
    return 0;
}
