/* HDF5 files: round trips through hd_h5_write/read, streamed rows against
 * whole reads, refusals naming the file, the dataset and the problem, the
 * atomic writer (a failed write leaves no file and keeps an old one), h5py
 * reading what hadron wrote; and CaloChallenge shower files (hd_calo_file)
 * from the files h5py and NumPy wrote (tests/fixtures/make_hdf5_fixtures.py),
 * checked against the numbers that script wrote, and its bad-file table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include <cjson/cJSON.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define FIXTURE(name) HD_FIXTURES "/hdf5/" name
#define PYTHON "/usr/bin/python3"

typedef test_dir_fixture fixture; /* path: dir/out.h5 */

static int setup(void **state) { return test_dir_setup(state, "hdf5", "out.h5"); }

static int teardown(void **state) { return test_dir_teardown(state); }

/* ---- helpers -------------------------------------------------------------------- */

/* hadron closed every file, dataset, dataspace and type it opened. */
static void assert_no_open_hdf5(void) { assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0); }

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
    assert_no_open_hdf5();
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
    assert_no_open_hdf5();
}

/* Every byte flipped in turn of the file at path, each copy read through
 * the row reader and hd_h5_read: read or refused naming the copy.  Returns
 * how many copies were read, or -1 (after saying why on stderr). */
static int flip_every_byte(const char *path, const char *copy)
{
    size_t size;
    unsigned char *bytes = slurp(path, &size);
    int read = 0;
    for (size_t i = 0; i < size && read >= 0; i++) {
        bytes[i] ^= 0xff;
        spill(copy, bytes, size);
        bytes[i] ^= 0xff;
        hd_h5_reader *r;
        float rows[6 * 40];
        int rc = hd_h5_open(copy, "g/showers", &r);
        if (rc == HD_OK) rc = hd_h5_read_rows(r, 0, hd_h5_rows(r) < 6 ? hd_h5_rows(r) : 6, rows);
        hd_h5_close(r);
        hd_array a;
        int rc2 = hd_h5_read(copy, "incident_energies", HD_F32, &a);
        hd_array_free(&a);
        if ((rc != HD_OK || rc2 != HD_OK) && !strstr(hd_last_error(), "flip.h5")) {
            fprintf(stderr, "byte %zu: %s\n", i, hd_last_error());
            read = -1;
        } else
            read += rc == HD_OK;
    }
    free(bytes);
    return read;
}

/* libhdf5 1.10 copies past its buffers when a chunk is larger than a fixed
 * dimension or unfilters to fewer bytes than a chunk; hadron refuses such
 * chunks first (data/hdf5_chunks.c).  The flips run in a child process:
 * libhdf5 leaks memory on some of its error paths, which would otherwise
 * fail a leak-checking (HADRON_SANITIZE) run, and a crash fails this test
 * alone. */
static void test_every_byte_flip(void **state)
{
    fixture *f = *state;
    hd_array a[2];
    int64_t se[2] = {6, 1}, ss[2] = {6, 40};
    assert_int_equal(hd_array_new(&a[0], HD_F32, 2, se), HD_OK);
    assert_int_equal(hd_array_new(&a[1], HD_F64, 2, ss), HD_OK);
    fill(&a[0], 3);
    fill(&a[1], 4);
    const char *names[2] = {"incident_energies", "g/showers"};
    const hd_array *arrays[2] = {&a[0], &a[1]};
    assert_int_equal(hd_h5_write(f->path, 2, names, arrays), HD_OK);
    hd_array_free(&a[0]);
    hd_array_free(&a[1]);
    char copy[4200];
    snprintf(copy, sizeof copy, "%s/flip.h5", f->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int read = flip_every_byte(f->path, copy);
        _exit(read > 0 ? 0 : read == 0 ? 2 : 1); /* _exit: no leak check in the child */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) fail_msg("the child reading flipped files died of signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) == 2) fail_msg("no flipped file was read: the flips touch only what is checked?");
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Chunks short of their size, as a damaged or crafted file has them
 * (make_hdf5_fixtures.py writes them with write_direct_chunk). */
static void test_short_chunks(void **state)
{
    (void)state;
    static const struct {
        const char *dataset, *why;
    } cases[] = {
        {"gzip", "the chunk at [0, 0] holds 80 bytes, not 1920"},      /* inflates to 80 bytes */
        {"raw", "the chunk at [0, 0] holds 80 bytes, not 1920"},       /* no filter, 80 bytes stored */
        {"skipped", "the chunk at [0, 0] holds 100 bytes, not 1920"},  /* gzip skipped by the chunk's mask */
        {"long", "the chunk at [8, 0] holds more than the 1920 bytes"}, /* the second chunk inflates to more */
        {"not_gzip", "the chunk at [0, 0] is not gzip data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hd_array a;
        assert_error(hd_h5_read(FIXTURE("short_chunks.h5"), cases[i].dataset, HD_F64, &a), HD_EFORMAT,
                     "short_chunks.h5: dataset", cases[i].why);
        hd_h5_reader *r;
        float rows[16 * 30];
        assert_int_equal(hd_h5_open(FIXTURE("short_chunks.h5"), cases[i].dataset, &r), HD_OK);
        assert_error(hd_h5_read_rows(r, 0, hd_h5_rows(r), rows), HD_EFORMAT, cases[i].dataset, cases[i].why);
        hd_h5_close(r);
    }
    /* the good chunk of "long" is read; chunks never written read as the fill value */
    hd_h5_reader *r;
    float rows[8 * 30];
    assert_int_equal(hd_h5_open(FIXTURE("short_chunks.h5"), "long", &r), HD_OK);
    assert_int_equal(hd_h5_read_rows(r, 0, 8, rows), HD_OK);
    assert_true(rows[0] == 1.0f && rows[8 * 30 - 1] == 1.0f);
    hd_h5_close(r);
    hd_array a;
    assert_int_equal(hd_h5_read(FIXTURE("short_chunks.h5"), "unwritten", HD_F64, &a), HD_OK);
    assert_true(((double *)a.data)[0] == -1.0);
    hd_array_free(&a);
    assert_no_open_hdf5();
}

static void test_split_name(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *file, *dataset;
    } cases[] = {
        {"showers.h5:/group/x", "showers.h5", "/group/x"},
        {"showers.h5", "showers.h5", NULL},
        {"run:1.h5:showers", "run:1.h5", "showers"},
        {"run:1.h5:", "run:1.h5", NULL}, /* a ':' in the file's name, no dataset */
    };
    char file[64];
    const char *ds;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(hd_h5_split_name(cases[i].spec, file, sizeof file, &ds), HD_OK);
        assert_string_equal(file, cases[i].file);
        if (cases[i].dataset) assert_string_equal(ds, cases[i].dataset);
        else assert_null(ds);
    }
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

/* ---- h5py reads what hadron writes ---------------------------------------------------- */

static int have_h5py(void) { return system(PYTHON " -c 'import h5py, numpy' >/dev/null 2>&1") == 0; }

static void test_h5py_reads_hadron_file(void **state)
{
    fixture *f = *state;
    if (!have_h5py()) {
        print_message("skipped: " PYTHON " cannot import h5py and numpy (apt-get install python3-h5py)\n");
        skip();
    }
    hd_array a[4];
    int64_t s_showers[2] = {50, 6480}, s_e[2] = {50, 1}, s_i[1] = {3};
    assert_int_equal(hd_array_new(&a[0], HD_F32, 2, s_showers), HD_OK);
    assert_int_equal(hd_array_new(&a[1], HD_F64, 2, s_e), HD_OK);
    assert_int_equal(hd_array_new(&a[2], HD_I64, 1, s_i), HD_OK);
    assert_int_equal(hd_array_new(&a[3], HD_F64, 0, NULL), HD_OK);
    for (int64_t i = 0; i < 50 * 6480; i++) ((float *)a[0].data)[i] = (float)(i % 97) * 0.125f;
    for (int64_t i = 0; i < 50; i++) ((double *)a[1].data)[i] = 1000.0 * (double)(i + 1) + 0.1;
    ((int64_t *)a[2].data)[2] = -(INT64_C(1) << 40);
    *(double *)a[3].data = 2.5;
    const char *names[4] = {"showers", "incident_energies", "meta/ints", "meta/deeper/scale"};
    const hd_array *arrays[4] = {&a[0], &a[1], &a[2], &a[3]};
    assert_int_equal(hd_h5_write(f->path, 4, names, arrays), HD_OK);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             PYTHON " -c '\n"
             "import sys, h5py, numpy as np\n"
             "f = h5py.File(sys.argv[1], \"r\")\n"
             "names = []\n"
             "f.visit(lambda n: names.append(n) if isinstance(f[n], h5py.Dataset) else None)\n"
             "want = [\"incident_energies\", \"meta/deeper/scale\", \"meta/ints\", \"showers\"]\n"
             "assert sorted(names) == want, names\n"
             "s, e = f[\"showers\"], f[\"incident_energies\"]\n"
             "assert s.shape == (50, 6480) and s.dtype == np.float32 and s.compression == \"gzip\", s\n"
             "assert s.compression_opts == 1 and s.chunks == (40, 6480), s.chunks\n"
             "assert e.shape == (50, 1) and e.dtype == np.float64, e\n"
             "assert f[\"meta/ints\"].dtype == np.int64 and f[\"meta/ints\"][2] == -(1 << 40)\n"
             "assert f[\"meta/deeper/scale\"].shape == () and f[\"meta/deeper/scale\"][()] == 2.5\n"
             "want = (np.arange(50 * 6480) %% 97 * 0.125).astype(np.float32).reshape(50, 6480)\n"
             "assert np.array_equal(s[:], want)\n"
             "assert e[49, 0] == 50000.1, e[49, 0]\n"
             "' '%s'",
             f->path);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 4; i++) hd_array_free(&a[i]);
}

/* ---- CaloChallenge files from h5py and NumPy ---------------------------------------------- */

static cJSON *expected_json(void)
{
    size_t size;
    unsigned char *text = slurp(FIXTURE("expected.json"), &size);
    cJSON *j = cJSON_Parse((const char *)text);
    free(text);
    assert_non_null(j);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void assert_close(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want))) fail_msg("%.17g, expected %.17g (relative %g)", got, want, rel);
}

/* f (float32 as read) against the script's numbers (float64 of the stored values). */
static void check_against(const hd_calo_file *f, const cJSON *e, double rel)
{
    assert_int_equal(f->n, (int64_t)num(e, "n"));
    assert_int_equal(f->n_voxels, (int64_t)num(e, "voxels"));
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "energies");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(e, "row_sums");
    assert_int_equal(cJSON_GetArraySize(en), f->n);
    double total = 0;
    for (int64_t i = 0; i < f->n; i++) {
        assert_true(f->energy[i] == (float)cJSON_GetArrayItem(en, (int)i)->valuedouble);
        double sum = 0;
        for (int64_t v = 0; v < f->n_voxels; v++) sum += f->showers[i * f->n_voxels + v];
        assert_close(sum, cJSON_GetArrayItem(rs, (int)i)->valuedouble, rel);
        total += sum;
    }
    assert_close(total, num(e, "sum"), rel);
    const cJSON *pick;
    cJSON_ArrayForEach(pick, cJSON_GetObjectItemCaseSensitive(e, "values"))
    {
        int64_t r = (int64_t)cJSON_GetArrayItem(pick, 0)->valuedouble;
        int64_t v = (int64_t)cJSON_GetArrayItem(pick, 1)->valuedouble;
        assert_true(f->showers[r * f->n_voxels + v] == (float)cJSON_GetArrayItem(pick, 2)->valuedouble);
    }
}

static void test_calo_fixtures(void **state)
{
    (void)state;
    cJSON *j = expected_json();
    const char *files[] = {"ds2_f32.h5", "ds2_f64.h5", "ds2_be.h5", "ds2_plain.h5", "ds2.npz"};
    hd_calo_layout ds2;
    assert_int_equal(hd_calo_layout_get("ds2", &ds2), HD_OK);
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/hdf5/%s", HD_FIXTURES, files[k]);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, files[k]);
        assert_non_null(e);
        hd_calo_read_opts o = hd_calo_read_opts_default();
        o.layout = &ds2;
        hd_calo_file f;
        int rc = hd_calo_file_read(path, &o, &f);
        if (rc != HD_OK) fail_msg("%s", hd_last_error());
        /* float64 showers are rounded to float32 by the read */
        check_against(&f, e, strstr(files[k], "f64") ? 1e-6 : 1e-12);
        assert_true(f.has_layout);
        assert_string_equal(f.layout.name, "ds2");
        assert_int_equal(f.n_clipped, 0);
        assert_int_equal(f.n_rows_in_file, f.n);
        if (strcmp(files[k], "ds2_f64.h5") == 0) {
            assert_int_equal(f.n_extra, 2);
            assert_string_equal(f.extra[0], "incident_theta");
            assert_string_equal(f.extra[1], "meta/seed");
        } else
            assert_int_equal(f.n_extra, 0);
        hd_calo_file_release(&f);
        /* no layout given: ds2 is recognised by the voxel count; max_showers reads the first rows */
        o = (hd_calo_read_opts){.max_showers = 3};
        assert_int_equal(hd_calo_file_read(path, &o, &f), HD_OK);
        assert_int_equal(f.n, 3);
        assert_int_equal(f.n_rows_in_file, (int64_t)num(e, "n"));
        assert_true(f.has_layout);
        assert_string_equal(f.layout.name, "ds2");
        hd_calo_file_release(&f);
    }
    /* the float64 file's values exactly, through hd_h5_read */
    hd_array s;
    assert_int_equal(hd_h5_read(FIXTURE("ds2_f64.h5"), "/showers", HD_F64, &s), HD_OK);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "ds2_f64.h5");
    double total = 0;
    for (int64_t i = 0; i < hd_array_numel(&s); i++) total += ((double *)s.data)[i];
    assert_close(total, num(e, "sum"), 1e-12);
    hd_array_free(&s);
    cJSON_Delete(j);
}

/* h5py's chunks of ds2_f32.h5 are 8 x 810: pieces of rows cross them in every way. */
static void test_streamed_fixture(void **state)
{
    (void)state;
    hd_array whole;
    assert_int_equal(hd_h5_read(FIXTURE("ds2_f32.h5"), "showers", HD_F32, &whole), HD_OK);
    hd_h5_reader *r;
    assert_int_equal(hd_h5_open(FIXTURE("ds2_f32.h5"), "/showers", &r), HD_OK);
    assert_int_equal(hd_h5_rows(r), 64);
    assert_int_equal(hd_h5_row_len(r), 6480);
    float *buf = malloc(64 * 6480 * sizeof *buf);
    assert_non_null(buf);
    for (int64_t first = 0, step = 1; first < 64; first += step, step = step % 11 + 2) {
        int64_t n = first + step > 64 ? 64 - first : step;
        assert_int_equal(hd_h5_read_rows(r, first, n, buf), HD_OK);
        assert_memory_equal(buf, (float *)whole.data + first * 6480, (size_t)(n * 6480) * sizeof *buf);
    }
    hd_h5_close(r);
    /* incident energies (64, 1): rows of one value */
    assert_int_equal(hd_h5_open(FIXTURE("ds2_f32.h5"), "incident_energies", &r), HD_OK);
    assert_int_equal(hd_h5_row_len(r), 1);
    assert_int_equal(hd_h5_read_rows(r, 60, 4, buf), HD_OK);
    hd_h5_close(r);
    free(buf);
    hd_array_free(&whole);
    assert_no_open_hdf5();
}

typedef struct {
    const char *file;
    int code;
    const char *part1, *part2;
} bad_file;

static void test_calo_bad_files(void **state)
{
    (void)state;
    static const bad_file table[] = {
        {"truncated.h5", HD_EFORMAT, "truncated.h5: damaged or truncated HDF5 file", "truncated file: eof = "},
        {"int_showers.h5", HD_EFORMAT, "int_showers.h5: dataset '/showers' is int32", "need float32 or float64"},
        {"no_energies.h5", HD_EFORMAT, "no_energies.h5: no dataset '/incident_energies'",
         "(datasets: /energies, /showers)"},
        {"mismatched_n.h5", HD_EFORMAT, "mismatched_n.h5: dataset '/incident_energies' has 3 rows",
         "dataset '/showers' 4; they must match"},
        {"nan_energy.h5", HD_EFORMAT, "nan_energy.h5: dataset '/incident_energies' row 2 is nan", NULL},
        {"negative_energy.h5", HD_EFORMAT, "dataset '/incident_energies' row 1 is -1000 MeV", "must be > 0"},
        {"showers_3d.h5", HD_EFORMAT, "showers_3d.h5: dataset '/showers' has 3 dimensions, need 2", NULL},
        {"energies_2col.h5", HD_EFORMAT, "dataset '/incident_energies' has shape [4, 2]", "need (N, 1) or (N,)"},
        {"ds1_voxels.h5", HD_EFORMAT, "ds1_voxels.h5: dataset '/showers' has 368 voxels a shower",
         "layout ds2 has 6480"},
        {"inf_voxel.h5", HD_EFORMAT, "inf_voxel.h5: dataset '/showers' row 3, voxel 100 is inf", NULL},
        {"negative_voxel.h5", HD_EFORMAT, "dataset '/showers' row 1, voxel 7 is -0.5 MeV", "must be >= 0"},
        {"lzf.h5", HD_EFORMAT, "lzf.h5: dataset '/incident_energies' is compressed with filter 32000",
         "which this libhdf5 lacks"},
        {"string_showers.h5", HD_EFORMAT, "string_showers.h5: dataset '/showers' is a string", NULL},
        {"not_hdf5.h5", HD_EFORMAT, "not_hdf5.h5: not an HDF5 file", "no HDF5 signature"},
        {"absent.h5", HD_EIO, "absent.h5: No such file", NULL},
        {"int_showers.npz", HD_EFORMAT, "int_showers.npz: array 'showers' is int32", "need float32 or float64"},
        {"mismatched_n.npz", HD_EFORMAT, "array 'incident_energies' has 3 rows", "array 'showers' 4"},
        {"expected.json", HD_EINVAL, "expected.json: a shower file is .h5, .hdf5 (HDF5) or .npz", NULL},
    };
    hd_calo_layout ds2;
    assert_int_equal(hd_calo_layout_get("ds2", &ds2), HD_OK);
    for (size_t k = 0; k < sizeof table / sizeof *table; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/hdf5/%s", HD_FIXTURES, table[k].file);
        hd_calo_read_opts o = {.layout = &ds2};
        hd_calo_file f;
        int rc = hd_calo_file_read(path, &o, &f);
        if (rc == HD_OK) fail_msg("%s was read", table[k].file);
        assert_error(rc, table[k].code, table[k].part1, table[k].part2);
        assert_null(f.energy);
        assert_null(f.showers);
        assert_int_equal(f.n, 0);
    }
    assert_no_open_hdf5();
}

static void test_calo_clip_negative(void **state)
{
    (void)state;
    hd_calo_read_opts o = {.clip_negative = 1};
    hd_calo_file f;
    assert_int_equal(hd_calo_file_read(FIXTURE("negative_voxel.h5"), &o, &f), HD_OK);
    assert_int_equal(f.n_clipped, 1);
    assert_true(f.showers[1 * 6480 + 7] == 0.0f);
    hd_calo_file_release(&f);
    /* clipping is for voxels: a NaN is still refused */
    assert_error(hd_calo_file_read(FIXTURE("inf_voxel.h5"), &o, &f), HD_EFORMAT, "voxel 100 is inf", NULL);
    o.max_showers = -1;
    assert_error(hd_calo_file_read(FIXTURE("ds2_f32.h5"), &o, &f), HD_EINVAL, "max_showers -1", NULL);
}

static void test_calo_write_round_trip(void **state)
{
    fixture *f = *state;
    hd_calo_file in;
    assert_int_equal(hd_calo_file_read(FIXTURE("ds2_f32.h5"), NULL, &in), HD_OK);
    const char *ext[2] = {"h5", "npz"};
    for (int k = 0; k < 2; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/showers.%s", f->dir, ext[k]);
        assert_int_equal(hd_calo_file_write(path, in.n, in.n_voxels, in.energy, in.showers), HD_OK);
        hd_calo_file back;
        assert_int_equal(hd_calo_file_read(path, NULL, &back), HD_OK);
        assert_int_equal(back.n, in.n);
        assert_int_equal(back.n_voxels, in.n_voxels);
        assert_memory_equal(back.energy, in.energy, (size_t)in.n * sizeof(float));
        assert_memory_equal(back.showers, in.showers, (size_t)(in.n * in.n_voxels) * sizeof(float));
        hd_calo_file_release(&back);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/showers.csv", f->dir);
    assert_error(hd_calo_file_write(path, in.n, in.n_voxels, in.energy, in.showers), HD_EINVAL, "showers.csv",
                 ".h5, .hdf5 (HDF5) or .npz");
    assert_error(hd_calo_file_write(f->path, 0, 6480, in.energy, in.showers), HD_EINVAL, "0 showers", NULL);
    hd_calo_file_release(&in);
    hd_calo_file_release(&in); /* released twice is fine */
}

static int count_entry(void *user, const char *name)
{
    char *seen = user;
    strcat(seen, name);
    strcat(seen, ";");
    return strcmp(name, "meta/seed") == 0 ? 7 : 0;
}

static void test_list(void **state)
{
    (void)state;
    char seen[256] = "";
    assert_int_equal(hd_h5_list(FIXTURE("ds2_f64.h5"), count_entry, seen), 7); /* stopped at meta/seed */
    assert_string_equal(seen, "incident_energies;incident_theta;meta/seed;");
    assert_error(hd_h5_list(FIXTURE("not_hdf5.h5"), count_entry, seen), HD_EFORMAT, "not an HDF5 file", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_byte_flip, setup, teardown),
        cmocka_unit_test(test_short_chunks),
        cmocka_unit_test(test_split_name),
        cmocka_unit_test_setup_teardown(test_write_refusals_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_h5py_reads_hadron_file, setup, teardown),
        cmocka_unit_test(test_calo_fixtures),
        cmocka_unit_test(test_streamed_fixture),
        cmocka_unit_test(test_calo_bad_files),
        cmocka_unit_test(test_calo_clip_negative),
        cmocka_unit_test_setup_teardown(test_calo_write_round_trip, setup, teardown),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
