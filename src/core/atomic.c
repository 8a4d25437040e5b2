/* Atomic output: a killed writer never leaves a half-written file behind. */
#include "hadron/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int hd_atomic_open(hd_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    af->path = dup_str(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        hd_atomic_abort(af);
        return hd_error(HD_ENOMEM, "out of memory opening %s", path);
    }
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        int err = errno;
        free(af->tmp); /* never created: nothing of that name is ours to remove */
        af->tmp = NULL;
        hd_atomic_abort(af);
        return hd_error(HD_EIO, "cannot write %s: %s", path, strerror(err));
    }
    return HD_OK;
}

int hd_atomic_commit(hd_atomic_file *af)
{
    int err = EIO; /* a write error flagged earlier leaves no errno worth reporting */
    int bad = ferror(af->f) != 0;
    if (!bad && (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)) {
        bad = 1;
        err = errno;
    }
    if (fclose(af->f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->path) != 0) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        int rc = hd_error(HD_EIO, "cannot write %s: %s", af->path, strerror(err));
        hd_atomic_abort(af);
        return rc;
    }
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    return HD_OK;
}

void hd_atomic_abort(hd_atomic_file *af)
{
    if (af->f) fclose(af->f);
    if (af->tmp) remove(af->tmp);
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}
