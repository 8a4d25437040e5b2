/* Philox4x32-10 random streams (Random123).
 * Key = seed; counter = (block index, stream id).  A block gives four 32-bit
 * words.  The fill functions address block (counter + i / words_per_block),
 * so x[i] is the same whatever the thread count. */
#include "hadron/core.h"

#include <math.h>
#include <Random123/philox.h>

static philox4x32_ctr_t block(uint64_t seed, uint64_t stream, uint64_t index)
{
    philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t c = {{(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream,
                           (uint32_t)(stream >> 32)}};
    return philox4x32(c, k);
}

void hd_rng_init(hd_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
    r->nbuf = 0;
}

uint32_t hd_rng_u32(hd_rng *r)
{
    if (r->nbuf == 0) {
        philox4x32_ctr_t b = block(r->seed, r->stream, r->counter++);
        for (int i = 0; i < 4; i++) r->buf[i] = b.v[i];
        r->nbuf = 4;
    }
    return r->buf[4 - r->nbuf--];
}

/* Lemire's multiply-and-reject: exact uniform integers. */
uint32_t hd_rng_below(hd_rng *r, uint32_t n)
{
    uint64_t m = (uint64_t)hd_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)hd_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static inline float u01(uint32_t u) { return (float)(u >> 8) * 0x1p-24f; }          /* [0, 1) */
static inline float u01_open(uint32_t u) { return ((float)(u >> 8) + 0.5f) * 0x1p-24f; } /* (0, 1) */

static inline float box_muller(uint32_t a, uint32_t b)
{
    return sqrtf(-2.0f * logf(u01_open(a))) * cosf(6.28318530717958647692f * u01(b));
}

float hd_rng_uniform(hd_rng *r) { return u01(hd_rng_u32(r)); }

float hd_rng_normal(hd_rng *r)
{
    uint32_t a = hd_rng_u32(r);
    return box_muller(a, hd_rng_u32(r));
}

int hd_rng_bernoulli(hd_rng *r, float p) { return hd_rng_uniform(r) < p; }

void hd_rng_permutation(hd_rng *r, int64_t n, int64_t *out)
{
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)hd_rng_below(r, (uint32_t)(i + 1));
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

/* Reserve the blocks a fill of n values at `per_block` values per block uses. */
static uint64_t take_blocks(hd_rng *r, int64_t n, int per_block)
{
    uint64_t first = r->counter;
    r->counter += (uint64_t)((n + per_block - 1) / per_block);
    r->nbuf = 0;
    return first;
}

/* Fills below this many values stay in the calling thread and never enter
 * the OpenMP runtime: a thread context's draws start no threads. */
#define FILL_PARALLEL 65536

static void uniform_block(const hd_rng *r, uint64_t at, int64_t b, float *x, int64_t n, float lo, float span)
{
    philox4x32_ctr_t w = block(r->seed, r->stream, at);
    for (int64_t j = 0; j < 4 && 4 * b + j < n; j++) x[4 * b + j] = lo + span * u01(w.v[j]);
}

void hd_rng_fill_uniform(hd_rng *r, float *x, int64_t n, float lo, float hi)
{
    uint64_t first = take_blocks(r, n, 4);
    float span = hi - lo;
    if (n <= FILL_PARALLEL) {
        for (int64_t b = 0; b < (n + 3) / 4; b++) uniform_block(r, first + (uint64_t)b, b, x, n, lo, span);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < (n + 3) / 4; b++) uniform_block(r, first + (uint64_t)b, b, x, n, lo, span);
}

static void normal_block(const hd_rng *r, uint64_t at, int64_t b, float *x, int64_t n, float mean, float std)
{
    philox4x32_ctr_t w = block(r->seed, r->stream, at);
    x[2 * b] = mean + std * box_muller(w.v[0], w.v[1]);
    if (2 * b + 1 < n) x[2 * b + 1] = mean + std * box_muller(w.v[2], w.v[3]);
}

void hd_rng_fill_normal(hd_rng *r, float *x, int64_t n, float mean, float std)
{
    uint64_t first = take_blocks(r, n, 2);
    if (n <= FILL_PARALLEL) {
        for (int64_t b = 0; b < (n + 1) / 2; b++) normal_block(r, first + (uint64_t)b, b, x, n, mean, std);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < (n + 1) / 2; b++) normal_block(r, first + (uint64_t)b, b, x, n, mean, std);
}

void hd_rng_fill_bernoulli(hd_rng *r, float *x, int64_t n, float p)
{
    uint64_t first = take_blocks(r, n, 4);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < (n + 3) / 4; b++) {
        philox4x32_ctr_t w = block(r->seed, r->stream, first + (uint64_t)b);
        for (int64_t j = 0; j < 4 && 4 * b + j < n; j++) x[4 * b + j] = u01(w.v[j]) < p ? 1.0f : 0.0f;
    }
}

/* ---- rows of a global array (data-parallel ranks) -------------------------------------- */

/* Element i of a fill from block `first`: normal pairs (2 per block), Bernoulli words (4 per block). */
static float normal_at(const hd_rng *r, uint64_t first, int64_t i)
{
    philox4x32_ctr_t w = block(r->seed, r->stream, first + (uint64_t)(i / 2));
    return i % 2 ? box_muller(w.v[2], w.v[3]) : box_muller(w.v[0], w.v[1]);
}

void hd_rng_fill_normal_rows(hd_rng *r, float *x, const hd_rows *rows, int64_t len, float mean, float std)
{
    uint64_t first = take_blocks(r, rows->total * len, 2);
    for (int64_t j = 0; j < rows->n; j++) {
        int64_t at = (rows->first + j * rows->stride) * len;
        for (int64_t k = 0; k < len; k++) x[j * len + k] = mean + std * normal_at(r, first, at + k);
    }
}

void hd_rng_fill_bernoulli_rows(hd_rng *r, float *x, const hd_rows *rows, int64_t len, float p)
{
    uint64_t first = take_blocks(r, rows->total * len, 4);
    for (int64_t j = 0; j < rows->n; j++) {
        int64_t at = (rows->first + j * rows->stride) * len;
        for (int64_t k = 0; k < len; k++) {
            philox4x32_ctr_t w = block(r->seed, r->stream, first + (uint64_t)((at + k) / 4));
            x[j * len + k] = u01(w.v[(at + k) % 4]) < p ? 1.0f : 0.0f;
        }
    }
}
