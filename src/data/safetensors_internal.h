/* The safetensors parser on a memory buffer, for the fuzz target and
 * white-box tests; hd_safetensors_read is this on the file's bytes. */
#ifndef HD_SAFETENSORS_INTERNAL_H
#define HD_SAFETENSORS_INTERNAL_H

#include "hadron/data.h"

/* Parses a whole safetensors file held in bytes[0..size) (copied; the
 * caller keeps bytes).  label names the input in error messages. */
int hd_safetensors_parse(const char *label, const void *bytes, size_t size, hd_safetensors **out);

#endif
