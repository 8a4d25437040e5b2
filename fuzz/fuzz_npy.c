/* libFuzzer target for the .npy reader: any bytes must give either an
 * array whose data lies inside its allocation, or an error; never a crash.
 * An array that parses is written back as NumPy would write it and must
 * parse again to the same array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/npz_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every element, so the sanitizers see data shorter than its shape. */
static void walk(const hd_array *a)
{
    volatile double sink = 0;
    int64_t n = hd_array_numel(a);
    for (int64_t i = 0; i < n; i++) sink += hd_array_get(a, i);
    if (n > 0) {
        size_t bytes = (size_t)n * hd_dtype_size(a->dtype);
        sink += ((const volatile unsigned char *)a->data)[bytes - 1];
    }
    (void)sink;
}

static void round_trip(const hd_array *a)
{
    uint64_t bytes;
    if (hd_array_check("fuzz", a, &bytes) != HD_OK) __builtin_trap(); /* a parsed array is always writable */
    char header[HD_NPY_HEADER_MAX];
    size_t n = hd_npy_header(a, header);
    unsigned char *buf = malloc(n + (size_t)bytes + 1);
    if (!buf) return;
    memcpy(buf, header, n);
    if (bytes) memcpy(buf + n, a->data, (size_t)bytes);
    hd_array b;
    if (hd_npy_parse("again", buf, n + (size_t)bytes, &b) != HD_OK) __builtin_trap();
    if (b.dtype != a->dtype || b.ndim != a->ndim || memcmp(b.shape, a->shape, sizeof b.shape) != 0 ||
        (bytes && memcmp(b.data, a->data, (size_t)bytes) != 0))
        __builtin_trap();
    hd_array_free(&b);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_array a;
    if (hd_npy_parse("fuzz", data, size, &a) == HD_OK) {
        walk(&a);
        round_trip(&a);
    } else if (a.data || a.ndim) {
        __builtin_trap(); /* a failed parse leaves the output empty */
    }
    hd_array_free(&a);
    return 0;
}
