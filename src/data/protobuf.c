/* The protocol-buffers writer (protobuf.h). */
#include "data/protobuf.h"

#include <stdlib.h>
#include <string.h>

void hd_pb_free(hd_pb *b)
{
    free(b->data);
    *b = (hd_pb){0};
}

static void put(hd_pb *b, const void *p, size_t n)
{
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void hd_pb_raw(hd_pb *b, const void *p, size_t n) { put(b, p, n); }

static void varint(hd_pb *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, n);
}

static void key(hd_pb *b, int field, int wire) { varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

void hd_pb_int(hd_pb *b, int field, int64_t v)
{
    key(b, field, 0);
    varint(b, (uint64_t)v);
}

void hd_pb_float(hd_pb *b, int field, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
    key(b, field, 5);
    put(b, le, 4);
}

void hd_pb_bytes(hd_pb *b, int field, const void *p, size_t n)
{
    key(b, field, 2);
    varint(b, n);
    put(b, p, n);
}

void hd_pb_string(hd_pb *b, int field, const char *s) { hd_pb_bytes(b, field, s, strlen(s)); }

void hd_pb_message(hd_pb *b, int field, const hd_pb *sub)
{
    if (sub->failed) b->failed = 1;
    hd_pb_bytes(b, field, sub->data ? sub->data : (const unsigned char *)"", sub->len);
}
