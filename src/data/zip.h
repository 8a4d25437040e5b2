/* The ZIP container (PKWARE APPNOTE.TXT) under .npz (data/zip.c): reading
 * an archive held in memory, plain or ZIP64, with stored and deflate
 * members; writing stored members with plain (non-ZIP64) records.
 *
 * Reading trusts nothing: the end record is found, the central directory
 * is walked entry by entry with every offset and length checked against the
 * bytes that hold it, member names are unique and hold no NUL, each local
 * header is checked against its directory entry, and each member's sizes
 * and CRC-32 are verified before its bytes are handed out. */
#ifndef HD_ZIP_H
#define HD_ZIP_H

#include <stddef.h>
#include <stdint.h>

/* One member as its central directory entry describes it. */
typedef struct {
    const unsigned char *name; /* in the archive bytes, not terminated, no NUL */
    size_t name_len;
    unsigned flags, method;
    uint32_t crc;
    uint64_t comp, uncomp, local_at;
} hd_zip_member;

/* An archive's directory; the archive's bytes stay the caller's. */
typedef struct {
    const unsigned char *bytes;
    uint64_t size, cd_at; /* members' data lies before cd_at, where the directory starts */
    int n;
    hd_zip_member *members; /* directory order */
} hd_zip_reader;

/* Reads the end record and the whole central directory of the archive in
 * bytes[0..size).  label names it in errors, kind says what it should be
 * (".npz" gives "x.npz: not a .npz (zip) file").  On success hd_zip_close
 * frees z; on failure there is nothing to free. */
int hd_zip_open(hd_zip_reader *z, const char *label, const char *kind, const void *bytes, uint64_t size);
void hd_zip_close(hd_zip_reader *z);

/* Member i's uncompressed bytes, m->uncomp of them, checked (method, local
 * header, sizes, CRC-32).  *data points into the archive for a stored
 * member, or to *owned (hd_malloc'd; hd_free it, also on failure) for a
 * deflated one.  ml names the member in errors. */
int hd_zip_member_data(const hd_zip_reader *z, int i, const char *ml, const unsigned char **data,
                       unsigned char **owned);

/* A member to write: its name, and its bytes in two pieces, head then body. */
typedef struct {
    const char *name; /* NUL-terminated, under 64 KiB */
    const void *head, *body;
    size_t n_head;
    uint64_t n_body;
} hd_zip_entry;

/* Writes entries[0..n) as stored members to path, atomically, with a fixed
 * time stamp (same input, same bytes).  An archive that would reach 4 GiB
 * is refused (no ZIP64); kind names the file type in that message. */
int hd_zip_write(const char *path, const char *kind, int n, const hd_zip_entry *entries);

#endif
