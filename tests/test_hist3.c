/* Efficiency histograms: round trip through .npz, and every kind of bad
 * file refused with a message naming the array and the bin. */
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

#include "hadron/hadron.h"
#include "test_util.h"

static char *dir; /* test_tmpdir() */
static char path[4200];

static void make(hd_hist3 *h, int with_truth)
{
    assert_int_equal(hd_hist3_alloc(h, 2, 3, 4, with_truth), HD_OK);
    for (int i = 0; i <= 2; i++) h->edges_eta[i] = 2.0 + 1.5 * i;
    for (int j = 0; j <= 3; j++) h->edges_pt[j] = 10.0 * pow(10.0, j);
    for (int k = 0; k <= 4; k++) h->edges_phi[k] = k * 1.5707963;
    for (int64_t b = 0; b < hd_hist3_bins(h); b++) {
        h->gen[b] = (double)(10 + b);
        h->rec[b] = (double)(b % 10);
        if (with_truth) h->truth[b] = h->rec[b] / h->gen[b];
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    hd_hist3 h, back;
    make(&h, 1);
    assert_int_equal(hd_hist3_write_npz(path, &h), HD_OK);
    assert_int_equal(hd_hist3_read_npz(path, &back), HD_OK);
    assert_int_equal(back.n_eta, 2);
    assert_int_equal(back.n_pt, 3);
    assert_int_equal(back.n_phi, 4);
    assert_non_null(back.truth);
    assert_memory_equal(back.gen, h.gen, (size_t)hd_hist3_bins(&h) * sizeof(double));
    assert_memory_equal(back.rec, h.rec, (size_t)hd_hist3_bins(&h) * sizeof(double));
    assert_memory_equal(back.truth, h.truth, (size_t)hd_hist3_bins(&h) * sizeof(double));
    assert_memory_equal(back.edges_pt, h.edges_pt, 4 * sizeof(double));
    hd_hist3_free(&back);
    hd_hist3_free(&h);
    make(&h, 0); /* truth is optional */
    assert_int_equal(hd_hist3_write_npz(path, &h), HD_OK);
    assert_int_equal(hd_hist3_read_npz(path, &back), HD_OK);
    assert_null(back.truth);
    hd_hist3_free(&back);
    hd_hist3_free(&h);
}

/* Writes h after `spoil` changed it, reads it back, expects the message. */
static void expect_refused(void (*spoil)(hd_hist3 *), const char *text)
{
    hd_hist3 h, back;
    make(&h, 1);
    spoil(&h);
    assert_int_equal(hd_hist3_write_npz(path, &h), HD_OK);
    hd_hist3_free(&h);
    int rc = hd_hist3_read_npz(path, &back);
    assert_true(rc < 0);
    if (!strstr(hd_last_error(), text) || !strstr(hd_last_error(), path))
        fail_msg("expected '%s' and the file name in: %s", text, hd_last_error());
}

static void negative_gen(hd_hist3 *h) { h->gen[hd_hist3_index(h, 1, 2, 3)] = -1; }
static void rec_over_gen(hd_hist3 *h) { h->rec[hd_hist3_index(h, 0, 1, 2)] = 1000; }
static void nan_rec(hd_hist3 *h) { h->rec[hd_hist3_index(h, 1, 0, 1)] = NAN; }
static void bad_truth(hd_hist3 *h) { h->truth[hd_hist3_index(h, 0, 0, 3)] = 1.5; }
static void bad_edges(hd_hist3 *h) { h->edges_pt[2] = h->edges_pt[1]; }

/* Bin centres: arithmetic in eta and phi, geometric in pT (log bins), arithmetic for a pT bin from 0. */
static void test_bin_centre(void **state)
{
    (void)state;
    hd_hist3 h;
    assert_int_equal(hd_hist3_alloc(&h, 2, 2, 3, 0), HD_OK);
    const double eta[] = {2, 3, 5}, pt[] = {0, 100, 400}, phi[] = {-3, -1, 1, 3};
    memcpy(h.edges_eta, eta, sizeof eta);
    memcpy(h.edges_pt, pt, sizeof pt);
    memcpy(h.edges_phi, phi, sizeof phi);
    double e, p, f;
    hd_hist3_bin_centre(&h, hd_hist3_index(&h, 1, 1, 2), &e, &p, &f);
    assert_float_equal(e, 4.0, 1e-12);
    assert_float_equal(p, 200.0, 1e-12); /* sqrt(100 * 400) */
    assert_float_equal(f, 2.0, 1e-12);
    hd_hist3_bin_centre(&h, hd_hist3_index(&h, 0, 0, 0), &e, &p, &f);
    assert_float_equal(e, 2.5, 1e-12);
    assert_float_equal(p, 50.0, 1e-12);
    assert_float_equal(f, -2.0, 1e-12);
    hd_hist3_free(&h);
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_refused(negative_gen, "gen[1, 2, 3] = -1");
    expect_refused(rec_over_gen, "rec[0, 1, 2] = 1000 exceeds gen[0, 1, 2]");
    expect_refused(nan_rec, "rec[1, 0, 1] = nan");
    expect_refused(bad_truth, "truth[0, 0, 3] = 1.5");
    expect_refused(bad_edges, "edges_pt must increase");
}

/* Arrays of the wrong shape or missing: the message names the array. */
static void test_bad_layout(void **state)
{
    (void)state;
    hd_hist3 h, back;
    make(&h, 0);
    int64_t wrong[3] = {2, 3, 5};
    hd_array gen = {HD_F64, 3, {2, 3, 4}, h.gen}, rec = {HD_F64, 3, {2, 3, 4}, h.rec};
    hd_array rec_bad;
    assert_int_equal(hd_array_new(&rec_bad, HD_F64, 3, wrong), HD_OK);
    hd_array e0 = {HD_F64, 1, {3}, h.edges_eta}, e1 = {HD_F64, 1, {4}, h.edges_pt}, e2 = {HD_F64, 1, {5}, h.edges_phi};
    const char *names[5] = {"gen", "rec", "edges_eta", "edges_pt", "edges_phi"};
    const hd_array *arrays[5] = {&gen, &rec_bad, &e0, &e1, &e2};
    assert_int_equal(hd_npz_write(path, 5, names, arrays), HD_OK);
    assert_true(hd_hist3_read_npz(path, &back) < 0);
    assert_non_null(strstr(hd_last_error(), "'rec' has shape [2, 3, 5], expected [2, 3, 4]"));
    arrays[1] = &rec;
    assert_int_equal(hd_npz_write(path, 4, names, arrays), HD_OK); /* no edges_phi */
    assert_true(hd_hist3_read_npz(path, &back) < 0);
    assert_non_null(strstr(hd_last_error(), "no array 'edges_phi'"));
    hd_array_free(&rec_bad);
    hd_hist3_free(&h);
}

/* A bool array, as NumPy writes it (fixture made by make_hist_fixtures.py). */
static void test_wrong_dtype(void **state)
{
    (void)state;
    hd_hist3 back;
    int rc = hd_hist3_read_npz(HD_FIXTURES "/npy/hist_bool_rec.npz", &back);
    assert_true(rc < 0);
    assert_non_null(strstr(hd_last_error(), "hist_bool_rec.npz"));
    assert_non_null(strstr(hd_last_error(), "rec"));
}

static int setup(void **state)
{
    (void)state;
    if (!(dir = test_tmpdir("hist"))) return -1;
    snprintf(path, sizeof path, "%s/hist.npz", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bin_centre),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_layout),
        cmocka_unit_test(test_wrong_dtype),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
