/* libFuzzer target for the safetensors reader: any bytes must give either a
 * parsed file whose every tensor lies inside it, or an error; never a crash. */
#include <stdint.h>
#include <string.h>

#include "data/safetensors_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches everything a successful parse hands out, so that the sanitizers
 * see any tensor or string that points outside its allocation. */
static void walk(const hd_safetensors *st)
{
    volatile float sink = 0;
    for (int i = 0; i < hd_safetensors_count(st); i++) {
        const char *name = hd_safetensors_name(st, i);
        const hd_tensor *t = hd_safetensors_get(st, name);
        if (!t) __builtin_trap(); /* every listed name must be found */
        int64_t n = hd_tensor_numel(t);
        for (int64_t k = 0; k < n; k++) sink += t->data[k];
    }
    for (int i = 0; i < hd_safetensors_meta_count(st); i++) {
        const char *value = hd_safetensors_meta(st, hd_safetensors_meta_key(st, i));
        if (!value) __builtin_trap();
        sink += (float)strlen(value);
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_safetensors *st;
    if (hd_safetensors_parse("fuzz", data, size, &st) == HD_OK) walk(st);
    hd_safetensors_free(st);
    return 0;
}
