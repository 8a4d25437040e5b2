/* hadron data: file formats read and written by hadron.
 * Every file is untrusted: sizes and shapes are checked before use and a bad
 * file gives an error naming the file and the problem. */
#ifndef HADRON_DATA_H
#define HADRON_DATA_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- safetensors (data/safetensors.c) -------------------------------------------
 * 8-byte little-endian header size, JSON header naming each tensor's dtype,
 * shape and byte range, raw little-endian data; string metadata under
 * "__metadata__".  PyTorch, JAX and NumPy users read these files directly. */

typedef struct { const char *key, *value; } hd_meta;

/* A parsed safetensors file held in memory (F32 tensors only). */
typedef struct hd_safetensors hd_safetensors;
int hd_safetensors_read(const char *path, hd_safetensors **out);
void hd_safetensors_free(hd_safetensors *st);
int hd_safetensors_count(const hd_safetensors *st);
const char *hd_safetensors_name(const hd_safetensors *st, int i);
const hd_tensor *hd_safetensors_get(const hd_safetensors *st, const char *name); /* NULL if absent */
const char *hd_safetensors_meta(const hd_safetensors *st, const char *key);      /* NULL if absent */
int hd_safetensors_meta_count(const hd_safetensors *st);
const char *hd_safetensors_meta_key(const hd_safetensors *st, int i);
/* Writes n named tensors and metadata atomically. */
int hd_safetensors_write(const char *path, int n, const char *const *names,
                         const hd_tensor *const *tensors, int n_meta, const hd_meta *meta);

#ifdef __cplusplus
}
#endif
#endif
