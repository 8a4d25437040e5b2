/* HDF5 files: round trips through hd_h5_write/read, streamed rows against
 * whole reads, refusals naming the file, the dataset and the problem, and
 * the atomic writer (a failed write leaves no file and keeps an old one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

typedef test_dir_fixture fixture; /* path: dir/out.h5 */

static int setup(void **state) { return test_dir_setup(state, "hdf5", "out.h5"); }

static int teardown(void **state) { return test_dir_teardown(state); }

/* ---- helpers -------------------------------------------------------------------- */

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d) closedir(d);
    return n;
}

static void assert_same_array(const hd_array *x, const hd_array *y)
{
    assert_int_equal(x->dtype, y->dtype);
    assert_int_equal(x->ndim, y->ndim);
    for (int d = 0; d < x->ndim; d++) assert_int_equal(x->shape[d], y->shape[d]);
    size_t bytes = (size_t)hd_array_numel(x) * hd_dtype_size(x->dtype);
    if (bytes) assert_memory_equal(x->data, y->data, bytes);
}

/* Showers-like data: mostly zeros, some values that need every mantissa bit. */
static void fill(hd_array *a, uint64_t seed)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    int64_t n = hd_array_numel(a);
    for (int64_t i = 0; i < n; i++) {
        double v = hd_rng_uniform(&r) < 0.7f ? 0.0 : exp(10.0 * hd_rng_uniform(&r)) * (1.0 + 1e-9 * (double)i);
        switch (a->dtype) {
        case HD_F32: ((float *)a->data)[i] = (float)v; break;
        case HD_F64: ((double *)a->data)[i] = v; break;
        case HD_I32: ((int32_t *)a->data)[i] = (int32_t)hd_rng_u32(&r); break;
        case HD_I64: ((int64_t *)a->data)[i] = (int64_t)((uint64_t)hd_rng_u32(&r) << 32 | hd_rng_u32(&r)); break;
        }
    }
}

/* ---- round trips ------------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    hd_array a[6];
    int64_t s_showers[2] = {100, 6480}, s_e[2] = {100, 1}, s_i[1] = {17}, s_l[3] = {3, 4, 5}, s_empty[2] = {0, 5};
    assert_int_equal(hd_array_new(&a[0], HD_F32, 2, s_showers), HD_OK);
    assert_int_equal(hd_array_new(&a[1], HD_F64, 2, s_e), HD_OK);
    assert_int_equal(hd_array_new(&a[2], HD_I32, 1, s_i), HD_OK);
    assert_int_equal(hd_array_new(&a[3], HD_I64, 3, s_l), HD_OK);
    assert_int_equal(hd_array_new(&a[4], HD_F64, 0, NULL), HD_OK);
    assert_int_equal(hd_array_new(&a[5], HD_F32, 2, s_empty), HD_OK);
    for (int i = 0; i < 6; i++) fill(&a[i], (uint64_t)i + 1);
    ((float *)a[0].data)[5] = -0.0f;
    ((float *)a[0].data)[6] = 1e-40f; /* subnormal */
    const char *names[6] = {"showers", "/incident_energies", "ints", "deep/er/longs", "scalar", "empty"};
    const hd_array *arrays[6] = {&a[0], &a[1], &a[2], &a[3], &a[4], &a[5]};
    assert_int_equal(hd_h5_write(f->path, 6, names, arrays), HD_OK);
    assert_int_equal(dir_entries(f->dir), 1); /* no temporary left */
    for (int i = 0; i < 6; i++) {
        hd_array b;
        int ndim;
        int64_t shape[HD_MAX_DIM];
        hd_dtype stored;
        assert_int_equal(hd_h5_shape(f->path, names[i], &ndim, shape, &stored), HD_OK);
        assert_int_equal(stored, a[i].dtype);
        assert_int_equal(ndim, a[i].ndim);
        assert_int_equal(hd_h5_read(f->path, names[i], a[i].dtype, &b), HD_OK);
        assert_same_array(&a[i], &b);
        hd_array_free(&b);
    }
    /* converted: float32 as float64 exactly, float64 as float32 rounded */
    hd_array b;
    assert_int_equal(hd_h5_read(f->path, "showers", HD_F64, &b), HD_OK);
    for (int64_t i = 0; i < hd_array_numel(&a[0]); i++)
        assert_true(((double *)b.data)[i] == (double)((float *)a[0].data)[i]);
    hd_array_free(&b);
    assert_int_equal(hd_h5_read(f->path, "incident_energies", HD_F32, &b), HD_OK);
    for (int64_t i = 0; i < 100; i++) assert_true(((float *)b.data)[i] == (float)((double *)a[1].data)[i]);
    hd_array_free(&b);
    assert_int_equal(hd_h5_read(f->path, "ints", HD_I64, &b), HD_OK); /* int32 widened */
    for (int64_t i = 0; i < 17; i++) assert_int_equal(((int64_t *)b.data)[i], ((int32_t *)a[2].data)[i]);
    hd_array_free(&b);
    for (int i = 0; i < 6; i++) hd_array_free(&a[i]);
}

static void test_streamed_rows(void **state)
{
    fixture *f = *state;
    hd_array a;
    int64_t shape[3] = {203, 9, 31}; /* rows of 279: chunks of 939 rows hold all; odd pieces cross nothing */
    assert_int_equal(hd_array_new(&a, HD_F64, 3, shape), HD_OK);
    fill(&a, 9);
    const char *name = "g/x";
    const hd_array *arr = &a;
    assert_int_equal(hd_h5_write(f->path, 1, &name, &arr), HD_OK);
    hd_array whole;
    assert_int_equal(hd_h5_read(f->path, name, HD_F32, &whole), HD_OK);
    hd_h5_reader *r;
    assert_int_equal(hd_h5_open(f->path, "/g/x", &r), HD_OK);
    assert_int_equal(hd_h5_rows(r), 203);
    assert_int_equal(hd_h5_row_len(r), 279);
    float *buf = malloc(203 * 279 * sizeof *buf);
    assert_non_null(buf);
    for (int64_t first = 0, step = 1; first < 203; first += step, step = step * 2 + 1) {
        int64_t n = first + step > 203 ? 203 - first : step;
        assert_int_equal(hd_h5_read_rows(r, first, n, buf), HD_OK);
        assert_memory_equal(buf, (float *)whole.data + first * 279, (size_t)(n * 279) * sizeof *buf);
    }
    assert_int_equal(hd_h5_read_rows(r, 203, 0, buf), HD_OK);
    assert_error(hd_h5_read_rows(r, 200, 4, buf), HD_EINVAL, "rows 200..203 asked of 203", "'/g/x'");
    assert_error(hd_h5_read_rows(r, -1, 1, buf), HD_EINVAL, "out.h5", NULL);
    hd_h5_close(r);
    hd_h5_close(NULL);
    free(buf);
    hd_array_free(&whole);
    hd_array_free(&a);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void test_read_refusals(void **state)
{
    fixture *f = *state;
    hd_array a, b;
    int64_t shape[2] = {4, 3};
    assert_int_equal(hd_array_new(&a, HD_I32, 2, shape), HD_OK);
    const char *name = "grp/counts";
    const hd_array *arr = &a;
    assert_int_equal(hd_h5_write(f->path, 1, &name, &arr), HD_OK);
    assert_error(hd_h5_read(f->path, "/grp/counts", HD_F32, &b), HD_EFORMAT, "out.h5: dataset '/grp/counts' is int32",
                 "need float32 or float64");
    assert_null(b.data);
    assert_error(hd_h5_read(f->path, "/missing", HD_F32, &b), HD_EFORMAT, "no dataset '/missing'",
                 "(datasets: /grp/counts)");
    assert_error(hd_h5_read(f->path, "/grp/counts/deeper", HD_F32, &b), HD_EFORMAT, "no dataset '/grp/counts/deeper'",
                 NULL);
    assert_error(hd_h5_read(f->path, "grp", HD_F32, &b), HD_EFORMAT, "'/grp' is a group, not a dataset", NULL);
    assert_error(hd_h5_read(f->path, "", HD_F32, &b), HD_EINVAL, "empty dataset name", NULL);
    hd_h5_reader *r;
    assert_error(hd_h5_open(f->path, "grp/counts", &r), HD_EFORMAT, "is int32", NULL);
    assert_null(r);

    char other[4200];
    snprintf(other, sizeof other, "%s/text.h5", f->dir);
    spill(other, "just some text, long enough to look at\n", 39);
    assert_error(hd_h5_read(other, "x", HD_F32, &b), HD_EFORMAT, "text.h5: not an HDF5 file", NULL);
    spill(other, "", 0);
    assert_error(hd_h5_read(other, "x", HD_F32, &b), HD_EFORMAT, "text.h5: not an HDF5 file (the file is empty)",
                 NULL);
    snprintf(other, sizeof other, "%s/absent.h5", f->dir);
    assert_error(hd_h5_read(other, "x", HD_F32, &b), HD_EIO, "absent.h5: No such file", NULL);
    assert_error(hd_h5_read(f->dir, "x", HD_F32, &b), HD_EIO, "not a regular file", NULL);

    /* every cut of a written file is refused, never crashes */
    size_t size;
    unsigned char *bytes = slurp(f->path, &size);
    snprintf(other, sizeof other, "%s/cut.h5", f->dir);
    for (size_t cut = 0; cut < size; cut += cut < 64 ? 1 : 97) {
        spill(other, bytes, cut);
        int rc = hd_h5_read(other, "grp/counts", HD_I32, &b);
        if (rc == HD_OK) fail_msg("a file cut to %zu of %zu bytes was read", cut, size);
        assert_true(strstr(hd_last_error(), "cut.h5") != NULL);
        assert_null(b.data);
    }
    free(bytes);
    hd_array_free(&a);
}

static void test_split_name(void **state)
{
    (void)state;
    char file[64];
    const char *ds;
    assert_int_equal(hd_h5_split_name("showers.h5:/group/x", file, sizeof file, &ds), HD_OK);
    assert_string_equal(file, "showers.h5");
    assert_string_equal(ds, "/group/x");
    assert_int_equal(hd_h5_split_name("showers.h5", file, sizeof file, &ds), HD_OK);
    assert_string_equal(file, "showers.h5");
    assert_null(ds);
    assert_int_equal(hd_h5_split_name("run:1.h5:showers", file, sizeof file, &ds), HD_OK);
    assert_string_equal(file, "run:1.h5");
    assert_string_equal(ds, "showers");
    assert_int_equal(hd_h5_split_name("run:1.h5:", file, sizeof file, &ds), HD_OK);
    assert_string_equal(file, "run:1.h5");
    assert_null(ds);
    assert_error(hd_h5_split_name(":/x", file, sizeof file, &ds), HD_EINVAL, "no file before the dataset", NULL);
    assert_error(hd_h5_split_name("a_very_long_file_name_indeed.h5:/x", file, 8, &ds), HD_EINVAL, "too long", NULL);
}

/* ---- the atomic writer --------------------------------------------------------------- */

static void test_write_refusals_leave_nothing(void **state)
{
    fixture *f = *state;
    hd_array a;
    int64_t shape[1] = {5};
    assert_int_equal(hd_array_new(&a, HD_F32, 1, shape), HD_OK);
    const hd_array *two[2] = {&a, &a};
    const char *dup[2] = {"x", "/x"}, *nest[2] = {"x", "x/y"}, *empty[1] = {"a//b"}, *dots[1] = {"a/../b"};
    assert_error(hd_h5_write(f->path, 2, dup, two), HD_EINVAL, "'/x' given twice", NULL);
    assert_error(hd_h5_write(f->path, 2, nest, two), HD_EINVAL, "'/x' cannot be a dataset and the group of '/x/y'",
                 NULL);
    assert_error(hd_h5_write(f->path, 1, empty, two), HD_EINVAL, "an empty, '.' or '..' part", NULL);
    assert_error(hd_h5_write(f->path, 1, dots, two), HD_EINVAL, "an empty, '.' or '..' part", NULL);
    hd_array bad = a;
    bad.data = NULL;
    const hd_array *badp = &bad;
    const char *name = "x";
    assert_error(hd_h5_write(f->path, 1, &name, &badp), HD_EINVAL, "out.h5:/x", "no data");
    assert_int_equal(dir_entries(f->dir), 0);

    /* an existing file survives a failed write */
    const hd_array *ap = &a;
    assert_int_equal(hd_h5_write(f->path, 1, &name, &ap), HD_OK);
    struct stat before, after;
    assert_int_equal(stat(f->path, &before), 0);
    assert_error(hd_h5_write(f->path, 2, dup, two), HD_EINVAL, NULL, NULL);
    assert_error(hd_h5_write(f->path, 1, &name, &badp), HD_EINVAL, NULL, NULL);
    assert_int_equal(stat(f->path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(dir_entries(f->dir), 1);

    /* a directory that cannot be written: refused with the path */
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/absent/out.h5", f->dir);
    assert_error(hd_h5_write(sub, 1, &name, &ap), HD_EIO, "absent/out.h5", NULL);
    /* a path that is a directory: the rename fails, the temporary goes */
    snprintf(sub, sizeof sub, "%s/dir.h5", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_error(hd_h5_write(sub, 1, &name, &ap), HD_EIO, "dir.h5", NULL);
    assert_int_equal(dir_entries(f->dir), 2);
    hd_array_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
        cmocka_unit_test(test_split_name),
        cmocka_unit_test_setup_teardown(test_write_refusals_leave_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
