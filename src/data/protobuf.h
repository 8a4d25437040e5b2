/* A protocol-buffers writer, enough for ONNX files: varints, fixed32
 * floats, length-delimited bytes and nested messages, into growing byte
 * buffers.  A nested message is written into its own buffer and then
 * appended to its parent's as one length-delimited field. */
#ifndef HD_DATA_PROTOBUF_H
#define HD_DATA_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed; /* an allocation failed: every later write is dropped */
} hd_pb;

void hd_pb_free(hd_pb *b);
void hd_pb_raw(hd_pb *b, const void *p, size_t n);   /* bytes as they are, no field key: a bytes field's body */
void hd_pb_int(hd_pb *b, int field, int64_t v);      /* varint (wire type 0); negative as 10 bytes */
void hd_pb_float(hd_pb *b, int field, float v);      /* fixed32 (wire type 5) */
void hd_pb_bytes(hd_pb *b, int field, const void *p, size_t n); /* length-delimited (wire type 2) */
void hd_pb_string(hd_pb *b, int field, const char *s);
void hd_pb_message(hd_pb *b, int field, const hd_pb *sub); /* sub as a length-delimited field */

#endif
