/* The bnn workflow's data: the seed's layout is read and preprocessed as the
 * notebook does, and every kind of bad file is refused with a message that
 * names the file and the first bad entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "workflows/bnn/bnn_internal.h"

#define N 6
static char *dir; /* test_tmpdir() */

/* Event i: gluon pT = i + 1 (px only), every other entry a small number. */
static void write_split(const char *name, hd_dtype dat_type, int64_t n_amp, double bad_mom, double bad_amp)
{
    hd_array dat, amp;
    assert_int_equal(hd_array_new(&dat, dat_type, 3, (int64_t[]){N, 5, 4}), HD_OK);
    assert_int_equal(hd_array_new(&amp, HD_F64, 1, (int64_t[]){n_amp}), HD_OK);
    for (int64_t i = 0; i < N * 20; i++) {
        double v = 0.01 * (double)(i % 13);
        if (i % 20 == 4 * 4 + 1) v = (double)(i / 20 + 1); /* gluon px */
        if (i % 20 == 4 * 4 + 2) v = 0;                    /* gluon py */
        if (i == 2 * 20 + 3 * 4 + 1) v = bad_mom;          /* entry [2, 3, 1] */
        if (dat_type == HD_F64) ((double *)dat.data)[i] = v;
        else ((int64_t *)dat.data)[i] = (int64_t)v;
    }
    for (int64_t i = 0; i < n_amp; i++) ((double *)amp.data)[i] = i == 3 ? bad_amp : exp((double)i);
    write_amp_pair(dir, name, &dat, &amp);
    hd_array_free(&dat);
    hd_array_free(&amp);
}

static void test_reads_and_preprocesses_as_the_notebook(void **state)
{
    (void)state;
    write_split("trn", HD_F64, N, 0.5, exp(3.0));
    hd_bnn_split s;
    assert_int_equal(hd_bnn_read_split(dir, "trn", &s), HD_OK);
    assert_int_equal(s.n, N);
    hd_bnn_transform t = hd_bnn_fit_transform(&s);
    assert_true(fabs(t.pt_scale - 3.5) < 1e-12); /* mean of 1..6 */
    assert_true(fabs(t.y_mean - 2.5) < 1e-12);   /* log amplitudes 0..5 */
    hd_bnn_apply_transform(&t, &s);
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += s.y[i] / N;
    for (int i = 0; i < N; i++) v += (s.y[i] - m) * (s.y[i] - m) / N;
    assert_true(fabs(m) < 1e-6 && fabs(v - 1) < 1e-6);
    assert_true(fabs(s.x[5 * 20 + 17] - 6 / 3.5) < 1e-6); /* gluon px of event 5, scaled */
    assert_true(fabs(s.log_amp[4] - 4) < 1e-12);
    hd_bnn_split_free(&s);
}

static void refused(const char *file, const char *part)
{
    hd_bnn_split s;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    assert_error(hd_bnn_read_split(dir, "bad", &s), HD_EFORMAT, path, part);
    assert_null(s.x);
}

static void test_bad_files_are_refused_naming_the_entry(void **state)
{
    (void)state;
    write_split("bad", HD_F64, N, NAN, 1.0);
    refused("bad_dat.npy", "entry [2, 3, 1] is nan: momenta must be finite");
    write_split("bad", HD_F64, N, 0.5, INFINITY);
    refused("bad_amp.npy", "entry 3 is inf: amplitudes must be finite");
    write_split("bad", HD_F64, N, 0.5, 0.0);
    refused("bad_amp.npy", "entry 3 is 0: amplitudes must be positive");
    write_split("bad", HD_F64, N, 0.5, -2.5);
    refused("bad_amp.npy", "entry 3 is -2.5");
    write_split("bad", HD_I64, N, 0.5, 1.0);
    refused("bad_dat.npy", "dtype int64, but momenta must be float32 or float64");
    write_split("bad", HD_F64, N - 1, 0.5, 1.0);
    refused("bad_amp.npy", "has 5 amplitudes");
}

static void test_wrong_shapes_are_refused(void **state)
{
    (void)state;
    write_split("bad", HD_F64, N, 0.5, 1.0);
    char path[128];
    snprintf(path, sizeof path, "%s/bad_dat.npy", dir);
    hd_array a;
    assert_int_equal(hd_array_new(&a, HD_F64, 3, (int64_t[]){N, 5, 3}), HD_OK);
    assert_int_equal(hd_npy_write(path, &a), HD_OK);
    hd_array_free(&a);
    refused("bad_dat.npy", "shape (6, 5, 3) but momenta must be (N, 5, 4)");
    assert_int_equal(hd_array_new(&a, HD_F64, 2, (int64_t[]){N, 20}), HD_OK); /* flattened already */
    assert_int_equal(hd_npy_write(path, &a), HD_OK);
    hd_array_free(&a);
    refused("bad_dat.npy", "shape (6, 20) but");
    write_split("bad", HD_F64, N, 0.5, 1.0);
    snprintf(path, sizeof path, "%s/bad_amp.npy", dir);
    assert_int_equal(hd_array_new(&a, HD_F64, 2, (int64_t[]){N, 1}), HD_OK);
    assert_int_equal(hd_npy_write(path, &a), HD_OK);
    hd_array_free(&a);
    refused("bad_amp.npy", "shape (6, 1) but amplitudes must be (N,)");
    remove(path);
    hd_bnn_split s;
    assert_error(hd_bnn_read_split(dir, "bad", &s), HD_EIO, path, "");
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("bnn_data")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_and_preprocesses_as_the_notebook),
        cmocka_unit_test(test_bad_files_are_refused_naming_the_entry),
        cmocka_unit_test(test_wrong_shapes_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
