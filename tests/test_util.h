/* Helpers shared by the tests of file formats.  Include after cmocka.h. */
#ifndef HD_TEST_UTIL_H
#define HD_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/data.h"

/* The whole file, malloc'ed (free it) and NUL-terminated; *size its length. */
static inline unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

static inline void spill(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

/* rm -rf dir (a path without single quotes); 0 on success, -1 otherwise. */
static inline int remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh empty directory $TMPDIR/hd_<tag>_XXXXXX ($TMPDIR unset or empty:
 * /tmp), for a test's files; the path is malloc'ed.  NULL on failure, so a
 * cmocka setup can return -1; test_tmpdir_free removes it. */
static inline char *test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    if (strchr(base, '\'')) return NULL; /* remove_tree quotes the path */
    size_t n = strlen(base) + strlen(tag) + sizeof "/hd__XXXXXX";
    char *dir = malloc(n);
    if (!dir) return NULL;
    snprintf(dir, n, "%s/hd_%s_XXXXXX", base, tag);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* rm -rf dir and frees the path (NULL is fine); 0 on success, -1 otherwise. */
static inline int test_tmpdir_free(char *dir)
{
    if (!dir) return 0;
    int rc = remove_tree(dir);
    free(dir);
    return rc;
}

/* A cmocka fixture of one fresh directory and one file path in it, for
 * tests of a file format: test_dir_setup(state, "npz", "hist.npz") in the
 * test's setup, test_dir_teardown as its teardown. */
typedef struct {
    char *dir;       /* test_tmpdir(tag) */
    char path[4096]; /* dir/file */
} test_dir_fixture;

static inline int test_dir_setup(void **state, const char *tag, const char *file)
{
    test_dir_fixture *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = test_tmpdir(tag))) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, file);
    *state = f;
    return 0;
}

static inline int test_dir_teardown(void **state)
{
    test_dir_fixture *f = *state;
    int rc = test_tmpdir_free(f->dir);
    free(f);
    return rc;
}

/* The number of entries of dir, "." and ".." aside (0 if it cannot be read). */
static inline int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d) closedir(d);
    return n;
}

/* y is x: dtype, shape and every byte of data. */
static inline void assert_same_array(const hd_array *x, const hd_array *y)
{
    assert_non_null(y);
    assert_int_equal(x->dtype, y->dtype);
    assert_int_equal(x->ndim, y->ndim);
    for (int d = 0; d < x->ndim; d++) assert_int_equal(x->shape[d], y->shape[d]);
    size_t bytes = (size_t)hd_array_numel(x) * hd_dtype_size(x->dtype);
    if (bytes) assert_memory_equal(x->data, y->data, bytes);
}

/* rc is code and hd_last_error() contains part1 and part2 (either may be NULL). */
static inline void assert_error(int rc, int code, const char *part1, const char *part2)
{
    const char *msg = hd_last_error();
    if (rc != code) fail_msg("rc %d, expected %d (%s)", rc, code, msg);
    if (part1 && !strstr(msg, part1)) fail_msg("message \"%s\" lacks \"%s\"", msg, part1);
    if (part2 && !strstr(msg, part2)) fail_msg("message \"%s\" lacks \"%s\"", msg, part2);
}

/* <dir>/<name>_dat.npy and <name>_amp.npy, the bnn workflow's pair of files. */
static inline void write_amp_pair(const char *dir, const char *name, const hd_array *dat, const hd_array *amp)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_dat.npy", dir, name);
    assert_int_equal(hd_npy_write(path, dat), HD_OK);
    snprintf(path, sizeof path, "%s/%s_amp.npy", dir, name);
    assert_int_equal(hd_npy_write(path, amp), HD_OK);
}

#endif
