/* The ZIP container under .npz (see data/zip.h): the end records (plain
 * and ZIP64), the central directory, local headers, stored and deflate
 * members with their CRC-32, and a writer of stored members. */
#include "data/zip.h"

#include "hadron/core.h"
#include "hadron/data.h"

#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define LOCAL_SIZE 30
#define CENTRAL_SIZE 46
#define END_SIZE 22
#define END64_SIZE 56
#define LOCATOR64_SIZE 20
#define MAX_COMMENT 65535
#define ZIP64_EXTRA 0x0001
#define U16_MAX 0xffffu
#define U32_MAX 0xffffffffu
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_UTF8 0x0800u
#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define DEFLATE_MAX_RATIO 1032 /* deflate's limit: 258 bytes per 2-bit code, so bigger claims are lies */
#define NAME_SHOWN 200 /* bytes of a member name quoted in a message */

/* ---- little-endian fields ----------------------------------------------------------- */

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- the end records ------------------------------------------------------------------ */

/* Where the central directory is, from whichever end record holds it. */
typedef struct {
    uint64_t n_entries, cd_at, cd_size;
    uint64_t cd_limit; /* the directory must end by here: the first end record */
} zip_end;

/* The end record is the last thing in the file, followed only by its
 * comment; scanning back from the end for its signature with a comment
 * length that reaches exactly to the end avoids matching stray bytes. */
static int find_end(const char *label, const char *kind, const unsigned char *b, uint64_t size,
                    uint64_t *end_at)
{
    if (size < END_SIZE)
        return hd_error(HD_EFORMAT, "%s: not a %s (zip) file: %llu bytes, too short for a zip end record", label,
                        kind, (unsigned long long)size);
    uint64_t lowest = size - END_SIZE > MAX_COMMENT ? size - END_SIZE - MAX_COMMENT : 0;
    for (uint64_t p = size - END_SIZE + 1; p-- > lowest;)
        if (le32(b + p) == SIG_END && p + END_SIZE + le16(b + p + 20) == size) {
            *end_at = p;
            return HD_OK;
        }
    return hd_error(HD_EFORMAT, "%s: not a %s (zip) file, or truncated: no zip end-of-central-directory record",
                    label, kind);
}

/* The ZIP64 end record, which a locator just before the plain end record
 * points to: NumPy's writer adds both when an archive passes 4 GiB. */
static int read_end64(const char *label, const unsigned char *b, uint64_t locator_at, zip_end *e)
{
    const unsigned char *l = b + locator_at;
    uint64_t at = le64(l + 8);
    if (le32(l + 4) != 0 || le32(l + 16) > 1)
        return hd_error(HD_EFORMAT, "%s: multi-volume zip archives are not supported", label);
    if (at > locator_at || locator_at - at < END64_SIZE || le32(b + at) != SIG_END64)
        return hd_error(HD_EFORMAT, "%s: zip64 end record locator points to byte %llu, where no record is", label,
                        (unsigned long long)at);
    const unsigned char *r = b + at;
    if (le32(r + 16) != 0 || le32(r + 20) != 0 || le64(r + 24) != le64(r + 32))
        return hd_error(HD_EFORMAT, "%s: multi-volume zip archives are not supported", label);
    e->n_entries = le64(r + 32);
    e->cd_size = le64(r + 40);
    e->cd_at = le64(r + 48);
    e->cd_limit = at;
    return HD_OK;
}

static int read_end(const char *label, const char *kind, const unsigned char *b, uint64_t size, zip_end *e)
{
    uint64_t at = 0;
    int rc = find_end(label, kind, b, size, &at);
    if (rc != HD_OK) return rc;
    const unsigned char *r = b + at;
    if (at >= LOCATOR64_SIZE && le32(r - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        rc = read_end64(label, b, at - LOCATOR64_SIZE, e);
    } else {
        if (le16(r + 4) != 0 || le16(r + 6) != 0 || le16(r + 8) != le16(r + 10))
            return hd_error(HD_EFORMAT, "%s: multi-volume zip archives are not supported", label);
        e->n_entries = le16(r + 10);
        e->cd_size = le32(r + 12);
        e->cd_at = le32(r + 16);
        e->cd_limit = at;
    }
    if (rc != HD_OK) return rc;
    if (e->cd_at > e->cd_limit || e->cd_size > e->cd_limit - e->cd_at)
        return hd_error(HD_EFORMAT, "%s: central directory [%llu, +%llu) lies outside the archive (truncated?)",
                        label, (unsigned long long)e->cd_at, (unsigned long long)e->cd_size);
    if (e->n_entries > e->cd_size / CENTRAL_SIZE)
        return hd_error(HD_EFORMAT, "%s: a %llu-byte central directory cannot hold %llu entries", label,
                        (unsigned long long)e->cd_size, (unsigned long long)e->n_entries);
    return HD_OK;
}

/* ---- the central directory -------------------------------------------------------------- */

/* Replaces the 32-bit fields that say 0xffffffff by their 64-bit values
 * from a ZIP64 extra field, which holds just those, in this order. */
static int apply_zip64(const unsigned char *x, size_t n, hd_zip_member *m)
{
    while (n >= 4) {
        unsigned id = le16(x), len = le16(x + 2);
        if (len > n - 4) return 0;
        if (id == ZIP64_EXTRA) {
            const unsigned char *p = x + 4;
            size_t left = len;
            uint64_t *fields[3] = {&m->uncomp, &m->comp, &m->local_at};
            for (int f = 0; f < 3; f++) {
                if (*fields[f] != U32_MAX) continue;
                if (left < 8) return 0;
                *fields[f] = le64(p);
                p += 8;
                left -= 8;
            }
        }
        x += 4 + len;
        n -= 4 + len;
    }
    return 1;
}

/* Reads the entry at *pos and moves *pos past it. */
static int read_central(const char *label, const unsigned char *b, uint64_t *pos, uint64_t end, int index,
                        hd_zip_member *m)
{
    const unsigned char *r = b + *pos;
    if (end - *pos < CENTRAL_SIZE || le32(r) != SIG_CENTRAL)
        return hd_error(HD_EFORMAT, "%s: central directory entry %d (at byte %llu) is damaged", label, index,
                        (unsigned long long)*pos);
    size_t n_name = le16(r + 28), n_extra = le16(r + 30), n_comment = le16(r + 32);
    if (end - *pos - CENTRAL_SIZE < n_name + n_extra + n_comment)
        return hd_error(HD_EFORMAT, "%s: central directory entry %d runs past the directory", label, index);
    *m = (hd_zip_member){.name = r + CENTRAL_SIZE, .name_len = n_name, .flags = le16(r + 8), .method = le16(r + 10),
                         .crc = le32(r + 16), .comp = le32(r + 20), .uncomp = le32(r + 24), .local_at = le32(r + 42)};
    char name[NAME_SHOWN + 4];
    hd_printable((const char *)m->name, m->name_len, name, sizeof name);
    if (!apply_zip64(r + CENTRAL_SIZE + n_name, n_extra, m))
        return hd_error(HD_EFORMAT, "%s: member '%s': damaged extra fields", label, name);
    if (le16(r + 34) != 0 && le16(r + 34) != U16_MAX)
        return hd_error(HD_EFORMAT, "%s: multi-volume zip archives are not supported", label);
    if (memchr(m->name, '\0', m->name_len))
        return hd_error(HD_EFORMAT, "%s: member name '%s' has a NUL byte", label, name);
    *pos += CENTRAL_SIZE + n_name + n_extra + n_comment;
    return HD_OK;
}

static int cmp_name(const void *a, const void *b)
{
    const hd_zip_member *x = *(const hd_zip_member *const *)a, *y = *(const hd_zip_member *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = n ? memcmp(x->name, y->name, n) : 0;
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Two members of one name would make the second unreachable by name. */
static int check_unique(const char *label, const hd_zip_reader *z)
{
    if (z->n < 2) return HD_OK;
    const hd_zip_member **sorted = hd_calloc((size_t)z->n, sizeof *sorted);
    if (!sorted) return HD_ENOMEM;
    for (int i = 0; i < z->n; i++) sorted[i] = &z->members[i];
    qsort(sorted, (size_t)z->n, sizeof *sorted, cmp_name);
    int rc = HD_OK;
    for (int i = 1; i < z->n && rc == HD_OK; i++)
        if (cmp_name(&sorted[i - 1], &sorted[i]) == 0) {
            char name[NAME_SHOWN + 4];
            rc = hd_error(HD_EFORMAT, "%s: member '%s' appears twice", label,
                          hd_printable((const char *)sorted[i]->name, sorted[i]->name_len, name, sizeof name));
        }
    hd_free(sorted);
    return rc;
}

static int cmp_local(const void *a, const void *b)
{
    uint64_t x = (*(const hd_zip_member *const *)a)->local_at, y = (*(const hd_zip_member *const *)b)->local_at;
    return (x > y) - (x < y);
}

/* Members' local records (header, name, data) may not overlap: a zip bomb
 * makes many members of one deflate stream.  The extra field is left out of
 * each span, so the check is a lower bound of what a record takes.  The
 * sum of what the members decompress to is bounded by the input cap. */
static int check_disjoint(const char *label, const hd_zip_reader *z)
{
    uint64_t total = 0;
    for (int i = 0; i < z->n; i++)
        total = z->members[i].uncomp > UINT64_MAX - total ? UINT64_MAX : total + z->members[i].uncomp;
    if (total > hd_input_cap(z->size)) return hd_input_refuse(label, "the members' total uncompressed size", total, z->size);
    if (z->n < 2) return HD_OK;
    const hd_zip_member **sorted = hd_calloc((size_t)z->n, sizeof *sorted);
    if (!sorted) return HD_ENOMEM;
    for (int i = 0; i < z->n; i++) sorted[i] = &z->members[i];
    qsort(sorted, (size_t)z->n, sizeof *sorted, cmp_local);
    int rc = HD_OK;
    for (int i = 1; i < z->n && rc == HD_OK; i++) {
        const hd_zip_member *m = sorted[i - 1];
        uint64_t span = LOCAL_SIZE + m->name_len, end = m->local_at + span;
        end = m->comp > UINT64_MAX - end ? UINT64_MAX : end + m->comp;
        /* a record running past the data area is refused with its own reason when it is read */
        if (end > sorted[i]->local_at && end <= z->cd_at) {
            char a[NAME_SHOWN + 4], b[NAME_SHOWN + 4];
            rc = hd_error(HD_EFORMAT, "%s: members '%s' and '%s' overlap (at bytes %llu and %llu): refused, as a zip "
                          "bomb would be", label, hd_printable((const char *)m->name, m->name_len, a, sizeof a),
                          hd_printable((const char *)sorted[i]->name, sorted[i]->name_len, b, sizeof b),
                          (unsigned long long)m->local_at, (unsigned long long)sorted[i]->local_at);
        }
    }
    hd_free(sorted);
    return rc;
}

int hd_zip_open(hd_zip_reader *z, const char *label, const char *kind, const void *bytes, uint64_t size)
{
    memset(z, 0, sizeof *z);
    const unsigned char *b = bytes ? bytes : (const unsigned char *)"";
    zip_end e = {0}; /* gcc cannot see that hd_error never returns HD_OK */
    int rc = read_end(label, kind, b, size, &e);
    if (rc != HD_OK) return rc;
    if (e.n_entries > INT_MAX) return hd_error(HD_EFORMAT, "%s: too many members", label);
    hd_zip_member *members = hd_calloc((size_t)e.n_entries + 1, sizeof *members);
    if (!members) return hd_error(HD_ENOMEM, "%s: out of memory while reading the archive", label);
    *z = (hd_zip_reader){.bytes = b, .size = size, .cd_at = e.cd_at, .n = (int)e.n_entries, .members = members};
    uint64_t pos = e.cd_at, end = e.cd_at + e.cd_size;
    for (int i = 0; i < z->n && rc == HD_OK; i++) rc = read_central(label, b, &pos, end, i, &members[i]);
    if (rc == HD_OK) rc = check_unique(label, z);
    if (rc == HD_OK) rc = check_disjoint(label, z);
    if (rc != HD_OK) {
        hd_zip_close(z);
        return rc == HD_ENOMEM ? hd_error(rc, "%s: out of memory while reading the archive", label) : rc;
    }
    return HD_OK;
}

void hd_zip_close(hd_zip_reader *z)
{
    hd_free(z->members);
    memset(z, 0, sizeof *z);
}

/* ---- members ------------------------------------------------------------------------------ */

/* Finds the member's data from its local header, which must agree with
 * the directory and lie, with the data, before the directory. */
static int locate_data(const char *ml, const unsigned char *b, uint64_t cd_at, const hd_zip_member *m,
                       const unsigned char **data)
{
    if (m->local_at > cd_at || cd_at - m->local_at < LOCAL_SIZE || le32(b + m->local_at) != SIG_LOCAL)
        return hd_error(HD_EFORMAT, "%s: no local header at byte %llu, where the directory says it is", ml,
                        (unsigned long long)m->local_at);
    const unsigned char *r = b + m->local_at;
    uint64_t start = m->local_at + LOCAL_SIZE + le16(r + 26) + le16(r + 28);
    if (le16(r + 26) != m->name_len || (uint64_t)le16(r + 26) > cd_at - m->local_at - LOCAL_SIZE ||
        memcmp(r + LOCAL_SIZE, m->name, m->name_len) != 0)
        return hd_error(HD_EFORMAT, "%s: local header names a different member than the directory does", ml);
    if (le16(r + 8) != m->method)
        return hd_error(HD_EFORMAT, "%s: local header and directory disagree on the compression method", ml);
    if (start > cd_at || m->comp > cd_at - start)
        return hd_error(HD_EFORMAT, "%s: %llu bytes of data at byte %llu run past the data area (truncated?)", ml,
                        (unsigned long long)m->comp, (unsigned long long)start);
    *data = b + start;
    return HD_OK;
}

static const char *method_name(unsigned method)
{
    switch (method) {
    case 9: return " (deflate64)";
    case 12: return " (bzip2)";
    case 14: return " (lzma)";
    case 93: return " (zstandard)";
    case 95: return " (xz)";
    default: return "";
    }
}

static int check_method(const char *ml, const hd_zip_member *m)
{
    if (m->flags & FLAG_ENCRYPTED) return hd_error(HD_EFORMAT, "%s: encrypted members are not supported", ml);
    if (m->method != METHOD_STORED && m->method != METHOD_DEFLATE)
        return hd_error(HD_EFORMAT, "%s: compression method %u%s not supported: hadron reads stored (0) and "
                        "deflate (8), as np.savez and np.savez_compressed write", ml, m->method,
                        method_name(m->method));
    if (m->method == METHOD_STORED && m->comp != m->uncomp)
        return hd_error(HD_EFORMAT, "%s: stored member has %llu bytes but says it holds %llu", ml,
                        (unsigned long long)m->comp, (unsigned long long)m->uncomp);
    if (m->method == METHOD_DEFLATE && m->uncomp > 258 && (m->uncomp - 258) / DEFLATE_MAX_RATIO > m->comp)
        return hd_error(HD_EFORMAT, "%s: %llu compressed bytes cannot hold the %llu bytes the directory claims",
                        ml, (unsigned long long)m->comp, (unsigned long long)m->uncomp);
    if (m->uncomp > SIZE_MAX || m->uncomp > (uint64_t)INT64_MAX)
        return hd_error(HD_EFORMAT, "%s: member of %llu bytes is too large", ml, (unsigned long long)m->uncomp);
    return HD_OK;
}

/* Inflates src[0..n_src) (raw deflate) into exactly dst[0..n_dst); zlib
 * counts in 32-bit chunks, so both sides are fed in pieces. */
static int inflate_all(const char *ml, const unsigned char *src, uint64_t n_src, unsigned char *dst, uint64_t n_dst)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return hd_error(HD_ENOMEM, "%s: cannot start zlib", ml);
    zs.next_in = src;
    zs.next_out = dst;
    uint64_t in_left = n_src, out_left = n_dst;
    int zrc;
    do {
        if (zs.avail_in == 0 && in_left) {
            zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0 && out_left) {
            zs.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
            out_left -= zs.avail_out;
        }
        zrc = inflate(&zs, Z_NO_FLUSH);
    } while (zrc == Z_OK);
    uint64_t produced = n_dst - out_left - zs.avail_out, unused = in_left + zs.avail_in;
    int longer = 0; /* the output is full but the stream has not ended: does it hold more? */
    if (zrc == Z_BUF_ERROR && produced == n_dst) {
        unsigned char probe;
        zs.next_out = &probe;
        zs.avail_out = 1;
        if (zs.avail_in == 0 && in_left) zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        int prc = inflate(&zs, Z_NO_FLUSH);
        longer = zs.avail_out == 0 || (prc == Z_STREAM_END && zs.total_out > n_dst);
    }
    const char *why = zs.msg ? zs.msg : "no detail";
    inflateEnd(&zs);
    if (zrc == Z_MEM_ERROR) return hd_error(HD_ENOMEM, "%s: out of memory in zlib", ml);
    if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT || zrc == Z_STREAM_ERROR)
        return hd_error(HD_EFORMAT, "%s: corrupt deflate data (zlib: %s)", ml, why);
    if (zrc == Z_BUF_ERROR && produced == n_dst && (unused || longer))
        return hd_error(HD_EFORMAT, "%s: deflate data holds more than the %llu bytes the directory says", ml,
                        (unsigned long long)n_dst);
    if (zrc == Z_BUF_ERROR)
        return hd_error(HD_EFORMAT, "%s: deflate data ends early, after %llu of %llu bytes%s (truncated?)", ml,
                        (unsigned long long)produced, (unsigned long long)n_dst,
                        produced == n_dst ? " and before its end marker" : "");
    if (produced != n_dst || unused)
        return hd_error(HD_EFORMAT, "%s: deflate data gives %llu bytes from %llu of %llu compressed bytes; the "
                        "directory says %llu from all", ml, (unsigned long long)produced,
                        (unsigned long long)(n_src - unused), (unsigned long long)n_src, (unsigned long long)n_dst);
    return HD_OK;
}

static uint32_t crc_of(const unsigned char *p, uint64_t n)
{
    return (uint32_t)crc32_z(0, p, (z_size_t)n);
}

int hd_zip_member_data(const hd_zip_reader *z, int i, const char *ml, const unsigned char **data,
                       unsigned char **owned)
{
    const hd_zip_member *m = &z->members[i];
    *data = NULL;
    *owned = NULL;
    int rc = check_method(ml, m);
    if (rc == HD_OK) rc = locate_data(ml, z->bytes, z->cd_at, m, data);
    if (rc != HD_OK) return rc;
    if (m->method == METHOD_DEFLATE) {
        *owned = hd_malloc((size_t)m->uncomp);
        if (!*owned)
            return hd_error(HD_ENOMEM, "%s: out of memory for %llu bytes", ml, (unsigned long long)m->uncomp);
        rc = inflate_all(ml, *data, m->comp, *owned, m->uncomp);
        *data = *owned;
    }
    uint32_t crc = rc == HD_OK ? crc_of(*data, m->uncomp) : 0;
    if (rc == HD_OK && crc != m->crc)
        rc = hd_error(HD_EFORMAT, "%s: CRC-32 mismatch (archive says %08x, data gives %08x): the member is corrupt",
                      ml, (unsigned)m->crc, (unsigned)crc);
    return rc;
}

/* ---- writer ----------------------------------------------------------------------------- */

/* What the writer knows of a member before writing it. */
typedef struct {
    size_t n_name;
    uint64_t size, local_at; /* the member's bytes; where its local header goes */
    uint32_t crc;
} zip_out;

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* Fills o[i] for every entry and checks that the archive stays below 4 GiB,
 * where plain zip offsets end. */
static int plan(const char *path, const char *kind, int n, const hd_zip_entry *e, zip_out *o)
{
    uint64_t pos = 0, central = 0;
    for (int i = 0; i < n; i++) {
        o[i].n_name = strlen(e[i].name);
        if (o[i].n_name > U16_MAX)
            return hd_error(HD_EINVAL, "%s: member %d: name of %zu bytes is too long", path, i, o[i].n_name);
        o[i].size = e[i].n_head + e[i].n_body;
        o[i].local_at = pos;
        uLong crc = crc32_z(0, e[i].head, e[i].n_head);
        if (e[i].n_body) crc = crc32_z(crc, e[i].body, (z_size_t)e[i].n_body); /* zlib gives 0 for a NULL buffer */
        o[i].crc = (uint32_t)crc;
        pos += LOCAL_SIZE + o[i].n_name + o[i].size;
        central += CENTRAL_SIZE + o[i].n_name;
        if (pos >= U32_MAX) break;
    }
    if (pos + central + END_SIZE >= U32_MAX)
        return hd_error(HD_EINVAL, "%s: archive would pass 4 GiB; hadron writes %s files up to 4 GiB (no ZIP64)",
                        path, kind);
    return HD_OK;
}

/* The fields local and central headers share, from "version needed" on. */
static void common_fields(unsigned char *p, const char *name, const zip_out *o)
{
    int utf8 = 0;
    for (const char *c = name; *c; c++) utf8 |= (unsigned char)*c >= 0x80;
    put16(p, 20);                      /* version needed: 2.0 */
    put16(p + 2, utf8 ? FLAG_UTF8 : 0);
    put16(p + 4, METHOD_STORED);
    put16(p + 6, 0);                   /* 00:00:00 ... */
    put16(p + 8, 1 << 5 | 1);          /* ... 1980-01-01: a fixed time keeps output reproducible */
    put32(p + 10, o->crc);
    put32(p + 14, (uint32_t)o->size);
    put32(p + 18, (uint32_t)o->size);
    put16(p + 22, (unsigned)o->n_name);
    put16(p + 24, 0);                  /* extra field length */
}

static int write_local(FILE *f, const hd_zip_entry *e, const zip_out *o)
{
    unsigned char h[LOCAL_SIZE];
    put32(h, SIG_LOCAL);
    common_fields(h + 4, e->name, o);
    return fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(e->name, 1, o->n_name, f) == o->n_name &&
           fwrite(e->head, 1, e->n_head, f) == e->n_head &&
           (!e->n_body || fwrite(e->body, 1, (size_t)e->n_body, f) == e->n_body);
}

static int write_central(FILE *f, const hd_zip_entry *e, const zip_out *o)
{
    unsigned char h[CENTRAL_SIZE];
    put32(h, SIG_CENTRAL);
    put16(h + 4, 3 << 8 | 20);         /* made by: Unix, zip 2.0 */
    common_fields(h + 6, e->name, o);
    put16(h + 32, 0);                  /* comment length */
    put16(h + 34, 0);                  /* disk */
    put16(h + 36, 0);                  /* internal attributes */
    put32(h + 38, 0100644u << 16);     /* a regular file, rw-r--r-- */
    put32(h + 42, (uint32_t)o->local_at);
    return fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(e->name, 1, o->n_name, f) == o->n_name;
}

static int write_end(FILE *f, int n, uint64_t cd_at, uint64_t cd_size)
{
    unsigned char h[END_SIZE] = {0};
    put32(h, SIG_END);
    put16(h + 8, (unsigned)n);
    put16(h + 10, (unsigned)n);
    put32(h + 12, (uint32_t)cd_size);
    put32(h + 16, (uint32_t)cd_at);
    return fwrite(h, 1, sizeof h, f) == sizeof h;
}

static int write_archive(FILE *f, int n, const hd_zip_entry *e, const zip_out *o)
{
    uint64_t cd_at = 0, cd_size = 0;
    for (int i = 0; i < n; i++) {
        if (!write_local(f, &e[i], &o[i])) return 0;
        cd_at += LOCAL_SIZE + o[i].n_name + o[i].size;
    }
    for (int i = 0; i < n; i++) {
        if (!write_central(f, &e[i], &o[i])) return 0;
        cd_size += CENTRAL_SIZE + o[i].n_name;
    }
    return write_end(f, n, cd_at, cd_size);
}

int hd_zip_write(const char *path, const char *kind, int n, const hd_zip_entry *entries)
{
    if (n < 0 || n > (int)U16_MAX || (n > 0 && !entries))
        return hd_error(HD_EINVAL, "%s: bad member list (%d members; at most %u)", path, n, U16_MAX);
    zip_out *o = hd_calloc((size_t)n + 1, sizeof *o);
    if (!o) return hd_error(HD_ENOMEM, "%s: out of memory", path);
    int rc = plan(path, kind, n, entries, o);
    hd_atomic_file af;
    if (rc == HD_OK) rc = hd_atomic_open(&af, path);
    if (rc == HD_OK && !write_archive(af.f, n, entries, o)) {
        rc = hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
        hd_atomic_abort(&af);
    } else if (rc == HD_OK) {
        rc = hd_atomic_commit(&af);
    }
    hd_free(o);
    return rc;
}
