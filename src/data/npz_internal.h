/* Internals shared by data/array.c, data/npy.c and data/npz.c, and the
 * in-memory .npz parser for the fuzz target and white-box tests;
 * hd_npz_read is hd_npz_parse on the file's bytes. */
#ifndef HD_NPZ_INTERNAL_H
#define HD_NPZ_INTERNAL_H

#include "hadron/data.h"

/* Room for the longest v1.0 header hd_npy_header writes (4 dims of 19 digits). */
#define HD_NPY_HEADER_MAX 256

/* Parses a whole .npz archive held in bytes[0..size) (copied; the caller
 * keeps bytes).  label names the input in error messages. */
int hd_npz_parse(const char *label, const void *bytes, size_t size, hd_npz **out);

/* Checks an array handed to a writer (dtype, 0..HD_MAX_DIM dims, none
 * negative, data present, size representable) and sets *bytes to the size
 * of its data; errors name `label`. */
int hd_array_check(const char *label, const hd_array *a, uint64_t *bytes);

/* The .npy v1.0 preamble and header NumPy itself writes for a (checked) into
 * buf[0..HD_NPY_HEADER_MAX); returns its length, a multiple of 64. */
size_t hd_npy_header(const hd_array *a, char *buf);

#endif
