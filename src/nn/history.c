/* The CSV history a training run appends to, one row per epoch or step,
 * flushed as it goes so that a killed run leaves what it did. */
#include "hadron/nn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the header and the rows up to `last` of an existing history
 * (atomically); a killed run may have written rows after its checkpoint. */
static int cut_back(const char *path, const char *header, int64_t last)
{
    FILE *in = fopen(path, "r");
    if (!in) return hd_error(HD_EIO, "cannot read %s (needed to resume): %s", path, strerror(errno));
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) {
        fclose(in);
        return rc;
    }
    fputs(header, af.f);
    char line[4096];
    int64_t rows = 0;
    while (fgets(line, sizeof line, in)) {
        char *end;
        long long key = strtoll(line, &end, 10);
        if (end == line || *end != ',') continue; /* the header */
        if (key > last) break;
        fputs(line, af.f);
        rows++;
    }
    fclose(in);
    if (rows != last) {
        hd_atomic_abort(&af);
        return hd_error(HD_EFORMAT, "%s: %lld rows up to the checkpoint's %lld; it does not belong to it", path,
                        (long long)rows, (long long)last);
    }
    return hd_atomic_commit(&af);
}

int hd_history_open(const char *path, const char *header, int64_t resume_last, FILE **out)
{
    *out = NULL;
    int rc = resume_last > 0 ? cut_back(path, header, resume_last) : HD_OK;
    if (rc != HD_OK) return rc;
    FILE *f = fopen(path, resume_last > 0 ? "a" : "w");
    if (!f) return hd_error(HD_EIO, "cannot write %s: %s", path, strerror(errno));
    if (resume_last <= 0) fputs(header, f);
    *out = f;
    return HD_OK;
}
