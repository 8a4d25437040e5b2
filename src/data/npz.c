/* NumPy .npz archives: a ZIP file (PKWARE APPNOTE.TXT) of NAME.npy members,
 * stored (np.savez) or deflated (np.savez_compressed).  NumPy writes every
 * member with ZIP64 extra fields in its local header, and large archives
 * with the ZIP64 end records, so both are read.
 *
 * Reading trusts nothing: the end record is found, the central directory
 * is walked entry by entry with every offset and length checked against the
 * bytes that hold it, each local header is checked against its directory
 * entry, and each member's sizes and CRC-32 are verified before its bytes
 * are parsed as .npy.  Writing makes stored members and plain (non-ZIP64)
 * records, so archives are limited to 4 GiB. */
#include "data/npz_internal.h"

#include "data/file_read.h"

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
#define NPY_SUFFIX ".npy"
#define NAME_SHOWN 200 /* bytes of a member name quoted in a message */

/* One member as its central directory entry describes it. */
typedef struct {
    const unsigned char *name; /* in the archive bytes, not terminated */
    size_t name_len;
    unsigned flags, method;
    uint32_t crc;
    uint64_t comp, uncomp, local_at;
} zip_member;

typedef struct {
    char *name; /* without ".npy" */
    hd_array a;
} npz_entry;

typedef struct {
    const char *key;
    int index;
} npz_key;

struct hd_npz {
    int n;
    npz_entry *entries; /* archive order */
    npz_key *by_name;   /* sorted */
};

/* ---- little-endian fields and names ------------------------------------------------- */

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* "path:name", the label of a member in messages (name without ".npy"). */
static const char *member_label(const char *label, const zip_member *m, char *buf, size_t size)
{
    char name[NAME_SHOWN + 4];
    size_t n = m->name_len;
    if (n >= 4 && memcmp(m->name + n - 4, NPY_SUFFIX, 4) == 0) n -= 4;
    snprintf(buf, size, "%s:%s", label, hd_printable((const char *)m->name, n, name, sizeof name));
    return buf;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const npz_key *)a)->key, ((const npz_key *)b)->key);
}

/* ---- the end records ------------------------------------------------------------------ */

/* Where the central directory is, from whichever end record holds it. */
typedef struct {
    uint64_t n_entries, cd_at, cd_size;
    uint64_t cd_limit; /* the directory must end by here: the first end record */
} zip_end;

/* The end record is the last thing in the file, followed only by its
 * comment; scanning back from the end for its signature with a comment
 * length that reaches exactly to the end avoids matching stray bytes. */
static int find_end(const char *label, const unsigned char *b, uint64_t size, uint64_t *end_at)
{
    if (size < END_SIZE)
        return hd_error(HD_EFORMAT, "%s: not a .npz (zip) file: %llu bytes, too short for a zip end record", label,
                        (unsigned long long)size);
    uint64_t lowest = size - END_SIZE > MAX_COMMENT ? size - END_SIZE - MAX_COMMENT : 0;
    for (uint64_t p = size - END_SIZE + 1; p-- > lowest;)
        if (le32(b + p) == SIG_END && p + END_SIZE + le16(b + p + 20) == size) {
            *end_at = p;
            return HD_OK;
        }
    return hd_error(HD_EFORMAT, "%s: not a .npz (zip) file, or truncated: no zip end-of-central-directory record",
                    label);
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

static int read_end(const char *label, const unsigned char *b, uint64_t size, zip_end *e)
{
    uint64_t at = 0;
    int rc = find_end(label, b, size, &at);
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
static int apply_zip64(const unsigned char *x, size_t n, zip_member *m)
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
                        zip_member *m)
{
    const unsigned char *r = b + *pos;
    if (end - *pos < CENTRAL_SIZE || le32(r) != SIG_CENTRAL)
        return hd_error(HD_EFORMAT, "%s: central directory entry %d (at byte %llu) is damaged", label, index,
                        (unsigned long long)*pos);
    size_t n_name = le16(r + 28), n_extra = le16(r + 30), n_comment = le16(r + 32);
    if (end - *pos - CENTRAL_SIZE < n_name + n_extra + n_comment)
        return hd_error(HD_EFORMAT, "%s: central directory entry %d runs past the directory", label, index);
    *m = (zip_member){.name = r + CENTRAL_SIZE, .name_len = n_name, .flags = le16(r + 8), .method = le16(r + 10),
                      .crc = le32(r + 16), .comp = le32(r + 20), .uncomp = le32(r + 24), .local_at = le32(r + 42)};
    char name[NAME_SHOWN + 4];
    if (!apply_zip64(r + CENTRAL_SIZE + n_name, n_extra, m))
        return hd_error(HD_EFORMAT, "%s: member '%s': damaged extra fields", label,
                        hd_printable((const char *)m->name, m->name_len, name, sizeof name));
    if (le16(r + 34) != 0 && le16(r + 34) != U16_MAX)
        return hd_error(HD_EFORMAT, "%s: multi-volume zip archives are not supported", label);
    *pos += CENTRAL_SIZE + n_name + n_extra + n_comment;
    return HD_OK;
}

/* Member names must be NAME.npy, as np.savez writes them. */
static int check_name(const char *label, const zip_member *m)
{
    char name[NAME_SHOWN + 4];
    hd_printable((const char *)m->name, m->name_len, name, sizeof name);
    if (memchr(m->name, '\0', m->name_len))
        return hd_error(HD_EFORMAT, "%s: member name '%s' has a NUL byte", label, name);
    if (m->name_len < 4 || memcmp(m->name + m->name_len - 4, NPY_SUFFIX, 4) != 0)
        return hd_error(HD_EFORMAT, "%s: member '%s' is not a .npy array (hadron reads .npz archives of NAME.npy "
                        "members only)", label, name);
    return HD_OK;
}

/* Walks the whole directory into members[0..n), and names each entry. */
static int read_directory(const char *label, const unsigned char *b, const zip_end *e, zip_member *members,
                          hd_npz *z)
{
    uint64_t pos = e->cd_at, end = e->cd_at + e->cd_size;
    for (int i = 0; i < z->n; i++) {
        int rc = read_central(label, b, &pos, end, i, &members[i]);
        if (rc == HD_OK) rc = check_name(label, &members[i]);
        if (rc != HD_OK) return rc;
        size_t n = members[i].name_len - 4;
        char *name = hd_malloc(n + 1);
        if (!name) return HD_ENOMEM;
        memcpy(name, members[i].name, n);
        name[n] = '\0';
        z->entries[i].name = name;
        z->by_name[i] = (npz_key){name, i};
    }
    if (z->n < 2) return HD_OK;
    qsort(z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_key);
    for (int i = 1; i < z->n; i++)
        if (strcmp(z->by_name[i - 1].key, z->by_name[i].key) == 0) {
            char name[NAME_SHOWN + 4];
            const char *k = z->by_name[i].key;
            return hd_error(HD_EFORMAT, "%s: member '%s.npy' appears twice", label,
                            hd_printable(k, strlen(k), name, sizeof name));
        }
    return HD_OK;
}

/* ---- members ------------------------------------------------------------------------------ */

/* Finds the member's data from its local header, which must agree with
 * the directory and lie, with the data, before the directory. */
static int locate_data(const char *ml, const unsigned char *b, uint64_t cd_at, const zip_member *m,
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

static int check_method(const char *ml, const zip_member *m)
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

/* Checks, unpacks and parses member i into z->entries[i].a. */
static int read_member(const char *label, const unsigned char *b, uint64_t cd_at, const zip_member *m,
                       hd_array *out)
{
    char ml[NAME_SHOWN + 512];
    member_label(label, m, ml, sizeof ml);
    const unsigned char *data = NULL;
    int rc = check_method(ml, m);
    if (rc == HD_OK) rc = locate_data(ml, b, cd_at, m, &data);
    if (rc != HD_OK) return rc;
    unsigned char *buf = NULL;
    if (m->method == METHOD_DEFLATE) {
        buf = hd_malloc((size_t)m->uncomp);
        if (!buf) return hd_error(HD_ENOMEM, "%s: out of memory for %llu bytes", ml, (unsigned long long)m->uncomp);
        rc = inflate_all(ml, data, m->comp, buf, m->uncomp);
        data = buf;
    }
    uint32_t crc = rc == HD_OK ? crc_of(data, m->uncomp) : 0;
    if (rc == HD_OK && crc != m->crc)
        rc = hd_error(HD_EFORMAT, "%s: CRC-32 mismatch (archive says %08x, data gives %08x): the member is corrupt",
                      ml, (unsigned)m->crc, (unsigned)crc);
    if (rc == HD_OK) rc = hd_npy_parse(ml, data, (size_t)m->uncomp, out);
    hd_free(buf);
    return rc;
}

/* ---- reader: putting it together -------------------------------------------------------- */

static int parse_into(const char *label, const unsigned char *b, uint64_t size, hd_npz *z)
{
    zip_end e = {0}; /* gcc cannot see that hd_error never returns HD_OK */
    int rc = read_end(label, b, size, &e);
    if (rc != HD_OK) return rc;
    if (e.n_entries > INT_MAX) return hd_error(HD_EFORMAT, "%s: too many members", label);
    z->entries = hd_calloc((size_t)e.n_entries + 1, sizeof *z->entries);
    z->by_name = hd_calloc((size_t)e.n_entries + 1, sizeof *z->by_name);
    zip_member *members = hd_calloc((size_t)e.n_entries + 1, sizeof *members);
    if (!z->entries || !z->by_name || !members) {
        hd_free(members);
        return HD_ENOMEM;
    }
    z->n = (int)e.n_entries;
    rc = read_directory(label, b, &e, members, z);
    for (int i = 0; i < z->n && rc == HD_OK; i++) rc = read_member(label, b, e.cd_at, &members[i], &z->entries[i].a);
    hd_free(members);
    return rc;
}

int hd_npz_parse(const char *label, const void *bytes, size_t size, hd_npz **out)
{
    if (!out) return hd_error(HD_EINVAL, "npz parse: NULL output");
    *out = NULL;
    if (!label) label = "npz";
    if (!bytes && size) return hd_error(HD_EINVAL, "%s: NULL buffer", label);
    hd_npz *z = hd_calloc(1, sizeof *z);
    if (!z) return hd_error(HD_ENOMEM, "%s: out of memory", label);
    int rc = parse_into(label, bytes ? bytes : (const void *)"", size, z);
    if (rc != HD_OK) {
        hd_npz_free(z);
        /* allocation failures deep in the parser do not know the file's name */
        return rc == HD_ENOMEM ? hd_error(rc, "%s: out of memory while reading the archive", label) : rc;
    }
    *out = z;
    return HD_OK;
}

int hd_npz_read(const char *path, hd_npz **out)
{
    if (!out) return hd_error(HD_EINVAL, "npz read: NULL output");
    *out = NULL;
    if (!path) return hd_error(HD_EINVAL, "npz read: NULL path");
    unsigned char *buf = NULL;
    size_t size = 0;
    int rc = hd_file_read(path, HD_FILE_ANY_SIZE, &buf, &size); /* a zip is read whole */
    if (rc == HD_OK) rc = hd_npz_parse(path, buf, size, out);
    hd_free(buf);
    return rc;
}

void hd_npz_free(hd_npz *z)
{
    if (!z) return;
    for (int i = 0; z->entries && i < z->n; i++) {
        hd_free(z->entries[i].name);
        hd_array_free(&z->entries[i].a);
    }
    hd_free(z->entries);
    hd_free(z->by_name);
    hd_free(z);
}

int hd_npz_count(const hd_npz *z) { return z ? z->n : 0; }

const char *hd_npz_name(const hd_npz *z, int i) { return z && i >= 0 && i < z->n ? z->entries[i].name : NULL; }

const hd_array *hd_npz_get(const hd_npz *z, const char *name)
{
    if (!z || !name || z->n == 0) return NULL;
    npz_key probe = {name, -1};
    const npz_key *hit = bsearch(&probe, z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_key);
    return hit ? &z->entries[hit->index].a : NULL;
}

/* ---- writer ----------------------------------------------------------------------------- */

/* What the writer knows of a member before writing it. */
typedef struct {
    char header[HD_NPY_HEADER_MAX];
    size_t n_header, n_name;
    uint64_t size, local_at; /* .npy bytes; where its local header goes */
    uint32_t crc;
} npz_out;

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

/* Names a writer takes: NAME.npy must fit a zip name; names unique. */
static int check_names(const char *path, int n, const char *const *names)
{
    npz_key *keys = hd_calloc((size_t)n + 1, sizeof *keys);
    if (!keys) return HD_ENOMEM;
    int rc = HD_OK;
    for (int i = 0; i < n && rc == HD_OK; i++) {
        if (!names[i]) rc = hd_error(HD_EINVAL, "%s: array %d has no name", path, i);
        else if (strlen(names[i]) > U16_MAX - 4)
            rc = hd_error(HD_EINVAL, "%s: array %d: name of %zu bytes is too long", path, i, strlen(names[i]));
        keys[i] = (npz_key){names[i], i};
    }
    if (rc == HD_OK && n > 1) {
        qsort(keys, (size_t)n, sizeof *keys, cmp_key);
        for (int i = 1; i < n && rc == HD_OK; i++)
            if (strcmp(keys[i - 1].key, keys[i].key) == 0)
                rc = hd_error(HD_EINVAL, "%s: array name '%.200s' given twice", path, keys[i].key);
    }
    hd_free(keys);
    return rc;
}

/* Fills o[i] for every array and checks that the archive stays below 4 GiB,
 * where plain zip offsets end. */
static int plan(const char *path, int n, const char *const *names, const hd_array *const *arrays, npz_out *o)
{
    uint64_t pos = 0, central = 0;
    for (int i = 0; i < n; i++) {
        char label[512];
        snprintf(label, sizeof label, "%s:%s", path, names[i]);
        uint64_t bytes = 0;
        int rc = hd_array_check(label, arrays[i], &bytes);
        if (rc != HD_OK) return rc;
        o[i].n_header = hd_npy_header(arrays[i], o[i].header);
        o[i].n_name = strlen(names[i]) + 4;
        o[i].size = o[i].n_header + bytes;
        o[i].local_at = pos;
        uLong crc = crc32_z(0, (const Bytef *)o[i].header, o[i].n_header);
        if (bytes) crc = crc32_z(crc, arrays[i]->data, (z_size_t)bytes); /* zlib gives 0 for a NULL buffer */
        o[i].crc = (uint32_t)crc;
        pos += LOCAL_SIZE + o[i].n_name + o[i].size;
        central += CENTRAL_SIZE + o[i].n_name;
        if (pos >= U32_MAX) break;
    }
    if (pos + central + END_SIZE >= U32_MAX)
        return hd_error(HD_EINVAL, "%s: archive would pass 4 GiB; hadron writes .npz files up to 4 GiB (no ZIP64)",
                        path);
    return HD_OK;
}

/* The fields local and central headers share, from "version needed" on. */
static void common_fields(unsigned char *p, const char *name, const npz_out *o)
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

static int write_name(FILE *f, const char *name)
{
    size_t n = strlen(name);
    return fwrite(name, 1, n, f) == n && fwrite(NPY_SUFFIX, 1, 4, f) == 4;
}

static int write_local(FILE *f, const char *name, const hd_array *a, const npz_out *o)
{
    unsigned char h[LOCAL_SIZE];
    put32(h, SIG_LOCAL);
    common_fields(h + 4, name, o);
    size_t bytes = (size_t)(o->size - o->n_header);
    return fwrite(h, 1, sizeof h, f) == sizeof h && write_name(f, name) &&
           fwrite(o->header, 1, o->n_header, f) == o->n_header && (!bytes || fwrite(a->data, 1, bytes, f) == bytes);
}

static int write_central(FILE *f, const char *name, const npz_out *o)
{
    unsigned char h[CENTRAL_SIZE];
    put32(h, SIG_CENTRAL);
    put16(h + 4, 3 << 8 | 20);         /* made by: Unix, zip 2.0 */
    common_fields(h + 6, name, o);
    put16(h + 32, 0);                  /* comment length */
    put16(h + 34, 0);                  /* disk */
    put16(h + 36, 0);                  /* internal attributes */
    put32(h + 38, 0100644u << 16);     /* a regular file, rw-r--r-- */
    put32(h + 42, (uint32_t)o->local_at);
    return fwrite(h, 1, sizeof h, f) == sizeof h && write_name(f, name);
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

static int write_archive(FILE *f, int n, const char *const *names, const hd_array *const *arrays, const npz_out *o)
{
    uint64_t cd_at = 0, cd_size = 0;
    for (int i = 0; i < n; i++) {
        if (!write_local(f, names[i], arrays[i], &o[i])) return 0;
        cd_at += LOCAL_SIZE + o[i].n_name + o[i].size;
    }
    for (int i = 0; i < n; i++) {
        if (!write_central(f, names[i], &o[i])) return 0;
        cd_size += CENTRAL_SIZE + o[i].n_name;
    }
    return write_end(f, n, cd_at, cd_size);
}

int hd_npz_write(const char *path, int n, const char *const *names, const hd_array *const *arrays)
{
    if (!path) return hd_error(HD_EINVAL, "npz write: NULL path");
    if (n < 0 || n > (int)U16_MAX || (n > 0 && (!names || !arrays)))
        return hd_error(HD_EINVAL, "%s: bad array list (%d arrays; at most %u)", path, n, U16_MAX);
    int rc = check_names(path, n, names);
    if (rc != HD_OK) return rc;
    npz_out *o = hd_calloc((size_t)n + 1, sizeof *o);
    if (!o) return hd_error(HD_ENOMEM, "%s: out of memory", path);
    rc = plan(path, n, names, arrays, o);
    hd_atomic_file af;
    if (rc == HD_OK) rc = hd_atomic_open(&af, path);
    if (rc == HD_OK && !write_archive(af.f, n, names, arrays, o)) {
        rc = hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
        hd_atomic_abort(&af);
    } else if (rc == HD_OK) {
        rc = hd_atomic_commit(&af);
    }
    hd_free(o);
    return rc;
}
