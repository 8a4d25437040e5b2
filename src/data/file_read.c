/* Opening and reading input files: the one place the readers of data/
 * check that a path is a regular file of an acceptable size. */
#include "data/file_read.h"

#include "hadron/core.h"

#include "hadron/data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 30) /* bytes per read(2): well below SSIZE_MAX everywhere */

uint64_t hd_input_cap(uint64_t file_bytes)
{
    const char *env = getenv("HADRON_MAX_INPUT_MB");
    char *end;
    errno = 0;
    unsigned long long mb = env ? strtoull(env, &end, 10) : 0;
    if (env && *env && !errno && *end == '\0' && mb > 0 && mb < (UINT64_MAX >> 20)) return (uint64_t)mb << 20;
    uint64_t scaled = file_bytes > (UINT64_MAX - HD_INPUT_CAP_BASE) / HD_INPUT_CAP_FACTOR
                          ? UINT64_MAX
                          : HD_INPUT_CAP_BASE + HD_INPUT_CAP_FACTOR * file_bytes;
    return scaled;
}

int hd_input_refuse(const char *path, const char *what, uint64_t claimed, uint64_t file_bytes)
{
    return hd_error(HD_EFORMAT,
                    "%s: %s is %llu bytes, more than the %llu bytes one input file of %llu bytes may make hadron "
                    "allocate (set HADRON_MAX_INPUT_MB to allow more; docs/files.md)",
                    path, what, (unsigned long long)claimed, (unsigned long long)hd_input_cap(file_bytes),
                    (unsigned long long)file_bytes);
}

int hd_file_open(const char *path, uint64_t max_bytes, int *fd, uint64_t *size)
{
    *fd = -1;
    *size = 0;
    if (!path) return hd_error(HD_EINVAL, "file read: NULL path");
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it */
    int d = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (d < 0) return hd_error(HD_EIO, "cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    int rc = HD_OK;
    if (fstat(d, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0)
        rc = hd_error(HD_EIO, "cannot read %s: not a regular file", path);
    else if ((uint64_t)sb.st_size > max_bytes)
        rc = hd_error(HD_EFORMAT, "%s: file of %llu bytes is larger than the %llu bytes hadron reads from it", path,
                      (unsigned long long)sb.st_size, (unsigned long long)max_bytes);
    else if (fcntl(d, F_SETFL, fcntl(d, F_GETFL) & ~O_NONBLOCK) != 0)
        rc = hd_error(HD_EIO, "cannot read %s: %s", path, strerror(errno));
    if (rc != HD_OK) {
        close(d);
        return rc;
    }
    *fd = d;
    *size = (uint64_t)sb.st_size;
    return HD_OK;
}

int hd_file_read_at(int fd, const char *path, uint64_t offset, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        ssize_t got = pread(fd, p + done, want, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return hd_error(HD_EIO, "cannot read %s: %s", path, strerror(errno));
        if (got == 0)
            return hd_error(HD_EIO, "cannot read %s: the file ended after %llu of %llu bytes (did it change while "
                            "being read?)", path, (unsigned long long)(offset + done),
                            (unsigned long long)(offset + n));
        done += (size_t)got;
    }
    return HD_OK;
}

int hd_file_read_all(int fd, const char *path, uint64_t size, unsigned char **buf)
{
    *buf = NULL;
    if (size > SIZE_MAX)
        return hd_error(HD_ENOMEM, "%s: %llu bytes do not fit in memory", path, (unsigned long long)size);
    unsigned char *b = hd_malloc((size_t)size);
    if (!b) return hd_error(HD_ENOMEM, "%s: out of memory for %llu bytes", path, (unsigned long long)size);
    int rc = hd_file_read_at(fd, path, 0, b, (size_t)size);
    if (rc != HD_OK) {
        hd_free(b);
        return rc;
    }
    *buf = b;
    return HD_OK;
}

int hd_file_read(const char *path, uint64_t max_bytes, unsigned char **buf, size_t *size)
{
    *buf = NULL;
    *size = 0;
    int fd;
    uint64_t bytes;
    int rc = hd_file_open(path, max_bytes, &fd, &bytes);
    if (rc == HD_OK) {
        rc = hd_file_read_all(fd, path, bytes, buf);
        close(fd);
    }
    if (rc == HD_OK) *size = (size_t)bytes;
    return rc;
}
