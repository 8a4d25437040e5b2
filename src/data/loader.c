/* Shuffling batch loader over in-memory arrays. */
#include "hadron/data.h"

#include <string.h>

int hd_loader_init(hd_loader *l, int n_arrays, const float *const *arrays, const int64_t *row_len,
                   int64_t n_rows, int64_t batch, uint64_t seed)
{
    memset(l, 0, sizeof *l);
    if (n_arrays < 1 || n_arrays > HD_LOADER_MAX_ARRAYS)
        return hd_error(HD_EINVAL, "loader: %d arrays, need 1..%d", n_arrays, HD_LOADER_MAX_ARRAYS);
    if (n_rows < 1 || batch < 1)
        return hd_error(HD_EINVAL, "loader: %lld rows in batches of %lld", (long long)n_rows, (long long)batch);
    l->order = hd_malloc((size_t)n_rows * sizeof *l->order);
    if (!l->order) return HD_ENOMEM;
    l->n_arrays = n_arrays;
    for (int a = 0; a < n_arrays; a++) {
        l->arrays[a] = arrays[a];
        l->row_len[a] = row_len[a];
    }
    l->n_rows = n_rows;
    l->batch = batch;
    l->parts = 1;
    hd_rng_init(&l->rng, seed, HD_STREAM_SHUFFLE);
    for (int64_t i = 0; i < n_rows; i++) l->order[i] = i;
    return HD_OK;
}

void hd_loader_shuffle(hd_loader *l)
{
    hd_rng_permutation(&l->rng, l->n_rows, l->order);
    l->pos = 0;
}

int64_t hd_loader_next_size(const hd_loader *l)
{
    return l->n_rows - l->pos < l->batch ? l->n_rows - l->pos : l->batch;
}

void hd_loader_set_part(hd_loader *l, int64_t part, int64_t parts)
{
    l->part = part;
    l->parts = parts;
}

int64_t hd_loader_next(hd_loader *l, float *const *dst)
{
    int64_t rows = hd_loader_next_size(l);
    for (int a = 0; a < l->n_arrays; a++) {
        size_t bytes = (size_t)l->row_len[a] * sizeof(float);
        for (int64_t r = l->part, j = 0; r < rows; r += l->parts, j++)
            memcpy(dst[a] + j * l->row_len[a], l->arrays[a] + l->order[l->pos + r] * l->row_len[a], bytes);
    }
    l->pos += rows;
    return rows;
}

void hd_loader_free(hd_loader *l)
{
    hd_free(l->order);
    l->order = NULL;
}
