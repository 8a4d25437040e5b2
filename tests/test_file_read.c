/* data/file_read.c: whole regular files are read exactly; directories,
 * FIFOs, devices, missing files and files over the caller's cap are refused
 * with the file's name and the reason; a file shorter than expected is an
 * error, not a short buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/file_read.h"
#include "hadron/hadron.h"
#include "test_util.h"

typedef test_dir_fixture fixture; /* path: dir/f.bin */

static int setup(void **state) { return test_dir_setup(state, "file", "f.bin"); }

static int teardown(void **state) { return test_dir_teardown(state); }

static void reads_whole_file(void **state)
{
    fixture *f = *state;
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7);
    spill(f->path, data, sizeof data);
    unsigned char *buf = NULL;
    size_t size = 0;
    assert_int_equal(hd_file_read(f->path, HD_FILE_ANY_SIZE, &buf, &size), HD_OK);
    assert_int_equal(size, sizeof data);
    assert_memory_equal(buf, data, sizeof data);
    hd_free(buf);
    /* exactly at the cap is allowed */
    assert_int_equal(hd_file_read(f->path, sizeof data, &buf, &size), HD_OK);
    hd_free(buf);
}

static void reads_empty_file(void **state)
{
    fixture *f = *state;
    spill(f->path, "", 0);
    unsigned char *buf = NULL;
    size_t size = 1;
    assert_int_equal(hd_file_read(f->path, 0, &buf, &size), HD_OK);
    assert_int_equal(size, 0);
    hd_free(buf);
}

static void refuses_file_over_cap(void **state)
{
    fixture *f = *state;
    char data[100] = {0};
    spill(f->path, data, sizeof data);
    unsigned char *buf = (unsigned char *)f; /* must come back NULL */
    size_t size = 0;
    assert_error(hd_file_read(f->path, 99, &buf, &size), HD_EFORMAT, f->path, "file of 100 bytes is larger than the 99");
    assert_null(buf);
    int fd = 0;
    uint64_t n = 0;
    assert_error(hd_file_open(f->path, 10, &fd, &n), HD_EFORMAT, f->path, "larger than the 10 bytes");
    assert_int_equal(fd, -1);
}

static void refuses_what_is_not_a_regular_file(void **state)
{
    fixture *f = *state;
    unsigned char *buf = NULL;
    size_t size = 0;
    assert_error(hd_file_read(f->dir, HD_FILE_ANY_SIZE, &buf, &size), HD_EIO, f->dir, "not a regular file");
    assert_error(hd_file_read("/dev/null", HD_FILE_ANY_SIZE, &buf, &size), HD_EIO, "/dev/null",
                 "not a regular file");
    /* a FIFO without a writer: refused at once, not waited on */
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/fifo", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_error(hd_file_read(fifo, HD_FILE_ANY_SIZE, &buf, &size), HD_EIO, fifo, "not a regular file");
    assert_null(buf);
}

static void refuses_missing_file(void **state)
{
    fixture *f = *state;
    unsigned char *buf = NULL;
    size_t size = 0;
    assert_error(hd_file_read(f->path, HD_FILE_ANY_SIZE, &buf, &size), HD_EIO, f->path, "No such file");
    assert_null(buf);
}

static void read_at_past_end_is_an_error(void **state)
{
    fixture *f = *state;
    spill(f->path, "0123456789", 10);
    int fd;
    uint64_t n;
    assert_int_equal(hd_file_open(f->path, HD_FILE_ANY_SIZE, &fd, &n), HD_OK);
    assert_int_equal(n, 10);
    char buf[16] = {0};
    assert_int_equal(hd_file_read_at(fd, f->path, 4, buf, 6), HD_OK);
    assert_memory_equal(buf, "456789", 6);
    assert_error(hd_file_read_at(fd, f->path, 4, buf, 8), HD_EIO, f->path, "ended after 10 of 12 bytes");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(reads_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_file_over_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_what_is_not_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(read_at_past_end_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
