/* Aligned allocation with a counter, and the bump arena. */
#include "hadron/core.h"

#include "core/threads.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HD_ALIGN 64
#define HD_ROOM_CHECKED (1u << 20) /* allocations from this size on check the address-space room */

static atomic_uint_fast64_t n_allocs;

void *hd_malloc(size_t bytes)
{
    size_t rounded = (bytes + HD_ALIGN - 1) / HD_ALIGN * HD_ALIGN;
    if (rounded < bytes) {
        hd_error(HD_ENOMEM, "allocation of %zu bytes overflows", bytes);
        return NULL;
    }
    if (rounded >= HD_ROOM_CHECKED && hd_address_space_room(rounded) != HD_OK) return NULL;
    void *p = aligned_alloc(HD_ALIGN, rounded ? rounded : HD_ALIGN);
    if (!p) hd_error(HD_ENOMEM, "out of memory allocating %zu bytes", bytes);
    else atomic_fetch_add(&n_allocs, 1);
    return p;
}

void *hd_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        hd_error(HD_ENOMEM, "allocation of %zu x %zu bytes overflows", n, size);
        return NULL;
    }
    void *p = hd_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void hd_free(void *p) { free(p); }

uint64_t hd_alloc_count(void) { return atomic_load(&n_allocs); }

struct hd_arena {
    char *base;
    size_t used, capacity;
};

hd_arena *hd_arena_new(size_t capacity)
{
    hd_arena *a = hd_calloc(1, sizeof *a);
    if (!a) return NULL;
    a->base = hd_calloc(1, capacity); /* zeroed: a buffer nobody wrote reads as 0, not garbage */
    if (!a->base) {
        hd_free(a);
        return NULL;
    }
    a->capacity = capacity;
    return a;
}

void *hd_arena_alloc(hd_arena *a, size_t bytes)
{
    size_t rounded = (bytes + HD_ALIGN - 1) / HD_ALIGN * HD_ALIGN;
    if (rounded < bytes || rounded > a->capacity - a->used) {
        hd_error(HD_ENOMEM, "arena full: %zu of %zu bytes used, %zu more requested", a->used,
                 a->capacity, bytes);
        return NULL;
    }
    void *p = a->base + a->used;
    a->used += rounded;
    return p;
}

size_t hd_arena_used(const hd_arena *a) { return a->used; }
size_t hd_arena_capacity(const hd_arena *a) { return a->capacity; }
void hd_arena_reset(hd_arena *a) { a->used = 0; }

void hd_arena_free(hd_arena *a)
{
    if (!a) return;
    hd_free(a->base);
    hd_free(a);
}
