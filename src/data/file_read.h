/* Reading input files (data/file_read.c), shared by the readers of data/:
 * open a path, refuse anything but a regular file no larger than the
 * caller's cap, and read it whole or in pieces.  Every error names the
 * file and the problem:
 *
 *   cannot read PATH: No such file or directory
 *   cannot read PATH: not a regular file
 *   PATH: file of 5000000000 bytes is larger than the 4294967296 bytes hadron reads from it
 *   cannot read PATH: the file ended after 10 of 64 bytes (did it change while being read?)
 */
#ifndef HD_FILE_READ_H
#define HD_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

/* No cap beyond what the file system allows. */
#define HD_FILE_ANY_SIZE UINT64_MAX

/* Opens path read-only and checks that it is a regular file of at most
 * max_bytes bytes.  A FIFO or device is refused without blocking on it.
 * On success *fd is open (the caller closes it) and *size is the file's
 * size; on failure *fd is -1.  Errors: HD_EIO (cannot open, not a regular
 * file), HD_EFORMAT (larger than max_bytes). */
int hd_file_open(const char *path, uint64_t max_bytes, int *fd, uint64_t *size);

/* Reads exactly n bytes at offset of the open file fd into buf, through
 * short reads and EINTR; path names the file in errors (HD_EIO). */
int hd_file_read_at(int fd, const char *path, uint64_t offset, void *buf, size_t n);

/* Reads the whole of the open file fd, size bytes (from hd_file_open), into
 * *buf (hd_malloc'd; free with hd_free).  On failure *buf is NULL. */
int hd_file_read_all(int fd, const char *path, uint64_t size, unsigned char **buf);

/* Opens, checks (as hd_file_open) and reads the whole of path into *buf
 * (hd_malloc'd; free with hd_free), *size bytes.  On failure *buf is NULL. */
int hd_file_read(const char *path, uint64_t max_bytes, unsigned char **buf, size_t *size);

#endif
