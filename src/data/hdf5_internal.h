/* Internals of the HDF5 reader shared by data/hdf5.c and data/hdf5_chunks.c. */
#ifndef HD_HDF5_INTERNAL_H
#define HD_HDF5_INTERNAL_H

#include "hadron/data.h"

#include <hdf5.h>

/* The reason libhdf5 left on this thread's error stack, into buf: to be
 * taken right after the failing call, as every libhdf5 call (a close too)
 * clears the stack first.  Clears the stack. */
const char *hd_h5_why(char *buf, size_t size);
#define WHY(buf) hd_h5_why(buf, sizeof buf)

/* A dataset's chunks, checked before libhdf5 reads them.  libhdf5 1.10
 * trusts a chunk's stored size: a chunk stored without its filters (or
 * with them skipped) that is shorter than the chunk, or a gzip'd one that
 * inflates to less, makes it copy past its buffers; so does a chunk larger
 * than a fixed dimension.  Each chunk a read touches is looked up, its raw
 * bytes read and (gzip) inflated to count them, once per reader. */
typedef struct {
    int chunked, ndim;
    hsize_t chunk[HD_MAX_DIM], dims[HD_MAX_DIM];
    uint64_t chunk_bytes; /* one chunk in the file's type, unfiltered */
    int n_filters;
    H5Z_filter_t filters[H5Z_MAX_NFILTERS]; /* in the order the writer applied them */
    uint64_t grid[HD_MAX_DIM], n_chunks;    /* chunks along each dimension, in all */
    unsigned char *checked;                 /* a bit per chunk, made by the first check */
    unsigned char *raw;                     /* a chunk's stored bytes */
    size_t raw_size;
} hd_h5_chunks;

/* Fills c for a dataset of the given type and extent: refuses chunks that
 * do not fit the shape, are larger than HD_H5_MAX_CHUNK_BYTES, or need a
 * filter that this libhdf5 lacks or hadron cannot check. */
int hd_h5_chunks_init(const char *path, const char *shown, hid_t dset, hid_t type, int ndim, const hsize_t *dims,
                      const hsize_t *maxdims, hd_h5_chunks *c);
/* Checks every chunk that holds a part of rows first .. first + n - 1. */
int hd_h5_chunks_check_rows(const char *path, const char *shown, hid_t dset, hd_h5_chunks *c, int64_t first,
                            int64_t n);
void hd_h5_chunks_release(hd_h5_chunks *c);

#endif
