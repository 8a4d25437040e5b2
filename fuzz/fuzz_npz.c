/* libFuzzer target for the .npz reader: any bytes must give either an
 * archive whose every array lies inside its allocation and is found by its
 * name, or an error; never a crash, a leak or an unbounded allocation. */
#include <stdint.h>
#include <string.h>

#include "data/npz_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const hd_npz *z)
{
    volatile double sink = 0;
    for (int i = 0; i < hd_npz_count(z); i++) {
        const char *name = hd_npz_name(z, i);
        const hd_array *a = hd_npz_get(z, name);
        if (!name || !a) __builtin_trap(); /* every listed name must be found */
        int64_t n = hd_array_numel(a);
        for (int64_t k = 0; k < n; k++) sink += hd_array_get(a, k);
        sink += (double)strlen(name);
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_npz *z;
    if (hd_npz_parse("fuzz", data, size, &z) == HD_OK) walk(z);
    else if (z) __builtin_trap(); /* a failed parse hands nothing out */
    hd_npz_free(z);
    return 0;
}
