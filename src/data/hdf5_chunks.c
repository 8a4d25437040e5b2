/* Chunk checks before libhdf5 reads a chunked dataset (data/hdf5_internal.h).
 * libhdf5 1.10.8 copies a chunk's unfiltered bytes into the caller's
 * buffer without comparing their count with the chunk's size; a damaged or
 * crafted file whose chunk is short (stored raw, its filters skipped by the
 * chunk's mask, or gzip'd data that inflates to less) makes it read past
 * its allocation.  So each chunk is looked up by its coordinates, its
 * stored bytes read (H5Dread_chunk), the filters undone as far as their
 * sizes go (fletcher32 drops its 4 checksum bytes, shuffle keeps the size,
 * gzip is inflated into a scratch block and counted) and the count compared
 * with the chunk's size.  A chunk never written reads as the fill value and
 * needs no check. */
#include "data/hdf5_internal.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define MAX_CHUNKS (UINT64_C(1) << 26) /* chunks of one dataset: a bitmap of 8 MiB */
#define INFLATE_BLOCK (64u << 10)       /* scratch output while counting inflated bytes */

static int filter_checked(H5Z_filter_t id)
{
    return id == H5Z_FILTER_DEFLATE || id == H5Z_FILTER_SHUFFLE || id == H5Z_FILTER_FLETCHER32;
}

/* Filters: available to libhdf5, of the kinds whose sizes hadron can check,
 * gzip at most once. */
static int read_filters(const char *path, const char *shown, hid_t dcpl, hd_h5_chunks *c)
{
    char w[512];
    int nf = H5Pget_nfilters(dcpl), n_deflate = 0;
    if (nf < 0 || nf > H5Z_MAX_NFILTERS) return hd_error(HD_EFORMAT, "%s: dataset '%s': %s", path, shown, WHY(w));
    for (int i = 0; i < nf; i++) {
        unsigned flags, conf;
        size_t n_cd = 0;
        char name[128] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &n_cd, NULL, sizeof name, name, &conf);
        if (id < 0) return hd_error(HD_EFORMAT, "%s: dataset '%s': %s", path, shown, WHY(w));
        char label[160];
        snprintf(label, sizeof label, "%d%s%s%s", (int)id, name[0] ? " (" : "", name, name[0] ? ")" : "");
        if (H5Zfilter_avail(id) <= 0)
            return hd_error(HD_EFORMAT, "%s: dataset '%s' is compressed with filter %s, which this libhdf5 lacks "
                            "(h5py's compression=\"gzip\" is readable everywhere)", path, shown, label);
        if (!filter_checked(id) || (id == H5Z_FILTER_DEFLATE && ++n_deflate > 1))
            return hd_error(HD_EFORMAT, "%s: dataset '%s' uses filter %s; hadron reads chunks filtered by gzip, "
                            "shuffle and fletcher32 only", path, shown, label);
        c->filters[i] = id;
    }
    c->n_filters = nf;
    H5Eclear2(H5E_DEFAULT);
    return HD_OK;
}

int hd_h5_chunks_init(const char *path, const char *shown, hid_t dset, hid_t type, int ndim, const hsize_t *dims,
                      const hsize_t *maxdims, hd_h5_chunks *c)
{
    memset(c, 0, sizeof *c);
    char w[512];
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return hd_error(HD_EFORMAT, "%s: dataset '%s': %s", path, shown, WHY(w));
    int rc = HD_OK;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        hsize_t k[H5S_MAX_RANK];
        int nc = H5Pget_chunk(dcpl, H5S_MAX_RANK, k);
        uint64_t bytes = H5Tget_size(type), n_chunks = 1;
        /* as libhdf5 lets a writer make them: one size per dimension, >= 1, within each fixed one */
        int fits = nc == ndim && nc > 0;
        for (int d = 0; d < nc && d < H5S_MAX_RANK; d++) {
            bytes = k[d] && bytes > UINT64_MAX / k[d] ? UINT64_MAX : bytes * k[d];
            if (d >= ndim || k[d] == 0 || (maxdims[d] != H5S_UNLIMITED && k[d] > maxdims[d])) {
                fits = 0;
                break;
            }
            c->chunk[d] = k[d];
            c->dims[d] = dims[d];
            c->grid[d] = dims[d] / k[d] + (dims[d] % k[d] != 0);
            n_chunks = c->grid[d] && n_chunks > UINT64_MAX / c->grid[d] ? UINT64_MAX : n_chunks * c->grid[d];
        }
        if (nc < 0) rc = hd_error(HD_EFORMAT, "%s: dataset '%s': %s", path, shown, WHY(w));
        else if (!fits)
            rc = hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: its chunks (%d dimensions) do not fit its shape",
                          path, shown, nc);
        else if (bytes > HD_H5_MAX_CHUNK_BYTES)
            rc = hd_error(HD_EFORMAT, "%s: dataset '%s' has chunks of %llu bytes, more than the %llu hadron lets "
                          "libhdf5 unpack", path, shown, (unsigned long long)bytes,
                          (unsigned long long)HD_H5_MAX_CHUNK_BYTES);
        else if (n_chunks > MAX_CHUNKS)
            rc = hd_error(HD_EFORMAT, "%s: dataset '%s' has %llu chunks, more than the %llu hadron reads", path,
                          shown, (unsigned long long)n_chunks, (unsigned long long)MAX_CHUNKS);
        c->chunked = 1;
        c->ndim = ndim;
        c->chunk_bytes = bytes;
        c->n_chunks = n_chunks;
    }
    if (rc == HD_OK) rc = read_filters(path, shown, dcpl, c);
    H5Eclear2(H5E_DEFAULT);
    H5Pclose(dcpl);
    return rc;
}

void hd_h5_chunks_release(hd_h5_chunks *c)
{
    hd_free(c->checked);
    hd_free(c->raw);
    memset(c, 0, sizeof *c);
}

/* What n bytes of zlib data inflate to, or some count above limit once it
 * is passed; -1 if they are not one whole zlib stream. */
static int64_t inflated_size(const unsigned char *in, uint64_t n, uint64_t limit)
{
    static const int64_t BAD = -1;
    unsigned char out[INFLATE_BLOCK];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (n > UINT32_MAX || inflateInit(&z) != Z_OK) return BAD;
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    uint64_t total = 0;
    int st;
    do {
        z.next_out = out;
        z.avail_out = sizeof out;
        st = inflate(&z, Z_NO_FLUSH);
        total += sizeof out - z.avail_out;
    } while (st == Z_OK && total <= limit);
    inflateEnd(&z);
    if (st == Z_OK) return (int64_t)total; /* over the limit */
    return st == Z_STREAM_END ? (int64_t)total : BAD;
}

/* The chunk at offset: what its stored bytes unfilter to must be one chunk. */
static int check_chunk(const char *path, const char *shown, hid_t dset, hd_h5_chunks *c, const hsize_t *offset)
{
    char w[512], at[96];
    int len = 0;
    for (int d = 0; d < c->ndim; d++)
        len += snprintf(at + len, sizeof at - (size_t)len, "%s%llu", d ? ", " : "[", (unsigned long long)offset[d]);
    snprintf(at + len, sizeof at - (size_t)len, "]");
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(dset, offset, &mask, &addr, &size) < 0)
        return hd_error(HD_EFORMAT, "%s: dataset '%s': cannot find the chunk at %s: %s", path, shown, at, WHY(w));
    if (addr == HADDR_UNDEF) return HD_OK; /* never written */
    if (size > HD_H5_MAX_CHUNK_BYTES)
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: the chunk at %s is stored in %llu bytes", path,
                        shown, at, (unsigned long long)size);
    if (size > c->raw_size) {
        hd_free(c->raw);
        c->raw_size = 0;
        c->raw = hd_malloc(size ? (size_t)size : 1);
        if (!c->raw) return hd_error(HD_ENOMEM, "%s: out of memory for a chunk of dataset '%s'", path, shown);
        c->raw_size = (size_t)size;
    }
    uint32_t read_mask = 0;
    if (size && H5Dread_chunk(dset, H5P_DEFAULT, offset, &read_mask, c->raw) < 0)
        return hd_error(HD_EFORMAT, "%s: dataset '%s': cannot read the chunk at %s: %s", path, shown, at, WHY(w));
    int64_t n = (int64_t)size;
    for (int i = c->n_filters - 1; i >= 0 && n >= 0; i--) {
        if (mask & (1u << i)) continue; /* skipped when this chunk was written */
        if (c->filters[i] == H5Z_FILTER_FLETCHER32) n = n >= 4 ? n - 4 : -1;
        else if (c->filters[i] == H5Z_FILTER_DEFLATE) n = inflated_size(c->raw, (uint64_t)n, c->chunk_bytes);
    }
    if (n < 0)
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: the chunk at %s is not gzip data", path, shown, at);
    if ((uint64_t)n > c->chunk_bytes)
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: the chunk at %s holds more than the %llu bytes of "
                        "a chunk", path, shown, at, (unsigned long long)c->chunk_bytes);
    if ((uint64_t)n < c->chunk_bytes)
        return hd_error(HD_EFORMAT, "%s: dataset '%s' is damaged: the chunk at %s holds %lld bytes, not %llu", path,
                        shown, at, (long long)n, (unsigned long long)c->chunk_bytes);
    return HD_OK;
}

int hd_h5_chunks_check_rows(const char *path, const char *shown, hid_t dset, hd_h5_chunks *c, int64_t first,
                            int64_t n)
{
    if (!c->chunked || n <= 0 || c->n_chunks == 0) return HD_OK;
    if (!c->checked) {
        c->checked = hd_calloc((size_t)(c->n_chunks / 8 + 1), 1);
        if (!c->checked) return hd_error(HD_ENOMEM, "%s: out of memory for the chunks of dataset '%s'", path, shown);
    }
    /* chunk rows lo .. hi, and every chunk across the other dimensions */
    uint64_t lo = (uint64_t)first / c->chunk[0], hi = (uint64_t)(first + n - 1) / c->chunk[0];
    uint64_t per_row = c->n_chunks / c->grid[0];
    for (uint64_t id = lo * per_row; id < (hi + 1) * per_row; id++) {
        if (c->checked[id / 8] & (1u << (id % 8))) continue;
        hsize_t offset[HD_MAX_DIM];
        uint64_t rest = id;
        for (int d = c->ndim - 1; d >= 0; d--) {
            offset[d] = (hsize_t)(rest % c->grid[d]) * c->chunk[d];
            rest /= c->grid[d];
        }
        int rc = check_chunk(path, shown, dset, c, offset);
        if (rc != HD_OK) return rc;
        c->checked[id / 8] |= (unsigned char)(1u << (id % 8));
    }
    return HD_OK;
}
