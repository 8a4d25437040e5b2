/* Core: errors, arena, tensors, RNG streams, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(hd_error(HD_EFORMAT, "file %s: bad %d", "x.npy", 3), HD_EFORMAT);
    assert_string_equal(hd_last_error(), "file x.npy: bad 3");
    hd_clear_error();
    assert_string_equal(hd_last_error(), "no error");
    assert_string_equal(hd_strerror(HD_ESHAPE), "shape mismatch");
}

/* Text from files is printed without the escapes a terminal would obey; UTF-8 letters stay. */
static void test_printable(void **state)
{
    (void)state;
    char buf[16], big[64];
    const char s[] = "a\x1b]0;x\x07 \xc2\x9b" "2J \xc3\xa9\xc4\x85";
    assert_string_equal(hd_printable(s, strlen(s), big, sizeof big), "a?]0;x? ?2J \xc3\xa9\xc4\x85");
    assert_string_equal(hd_printable("abcdefghijklmnopqrstuvwxyz", 26, buf, sizeof buf), "abcdefghijkl...");
    assert_string_equal(hd_printable("ab", 1, buf, sizeof buf), "a");
    hd_error(HD_EFORMAT, "tensor '%s'", "w\x1b[2J\xc2\x85");
    assert_string_equal(hd_last_error(), "tensor 'w?[2J?'");
}

static void test_arena(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_new(256);
    void *p = hd_arena_alloc(a, 10), *q = hd_arena_alloc(a, 100);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_int_equal((uintptr_t)q % 64, 0);
    assert_int_equal(hd_arena_used(a), 64 + 128);
    assert_null(hd_arena_alloc(a, 100));
    assert_non_null(strstr(hd_last_error(), "arena full"));
    hd_arena_reset(a);
    assert_ptr_equal(hd_arena_alloc(a, 1), p);
    hd_arena_free(a);
    hd_arena_free(NULL);
}

static void test_tensor(void **state)
{
    (void)state;
    hd_tensor *t = hd_tensor_new(3, (int64_t[]){2, 3, 4});
    assert_non_null(t);
    assert_int_equal(hd_tensor_numel(t), 24);
    for (int i = 0; i < 24; i++) assert_float_equal(t->data[i], 0.0f, 0);
    char s[64];
    assert_string_equal(hd_shape_str(t->ndim, t->shape, s, sizeof s), "[2, 3, 4]");
    hd_tensor *v = hd_tensor_wrap(t->data, 2, (int64_t[]){6, 4});
    assert_ptr_equal(v->data, t->data);
    hd_tensor_free(v); /* a view leaves the data alone */
    t->data[23] = 1.0f;
    hd_tensor_free(t);
    hd_tensor_free(NULL);
    assert_null(hd_tensor_new(2, (int64_t[]){3, 0}));
    assert_null(hd_tensor_new(5, (int64_t[]){1, 1, 1, 1, 1}));
    assert_non_null(strstr(hd_last_error(), "invalid tensor shape"));
    hd_tensor *scalar = hd_tensor_new(0, NULL);
    assert_int_equal(hd_tensor_numel(scalar), 1);
    hd_tensor_free(scalar);
}

static void test_rng_reproducible_and_distinct(void **state)
{
    (void)state;
    hd_rng a, b, c;
    hd_rng_init(&a, 7, HD_STREAM_INIT);
    hd_rng_init(&b, 7, HD_STREAM_INIT);
    hd_rng_init(&c, 7, HD_STREAM_SHUFFLE);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = hd_rng_u32(&a);
        assert_int_equal(x, hd_rng_u32(&b));
        same_c += x == hd_rng_u32(&c);
    }
    assert_true(same_c < 3);
}

/* Fills give the same numbers for 1 and 2 threads (counter-addressed). */
static void test_rng_fill_thread_independent(void **state)
{
    (void)state;
    int64_t n = 300001; /* above the parallel threshold, odd */
    float *x1 = malloc((size_t)n * sizeof *x1), *x2 = malloc((size_t)n * sizeof *x2);
    const char *what[] = {"uniform", "normal", "bernoulli"};
    for (int kind = 0; kind < 3; kind++) {
        for (int t = 1; t <= 2; t++) {
            omp_set_num_threads(t);
            hd_rng r;
            hd_rng_init(&r, 99, HD_STREAM_NOISE);
            hd_rng_u32(&r); /* a scalar draw before a fill */
            float *x = t == 1 ? x1 : x2;
            if (kind == 0) hd_rng_fill_uniform(&r, x, n, -1, 1);
            if (kind == 1) hd_rng_fill_normal(&r, x, n, 0, 1);
            if (kind == 2) hd_rng_fill_bernoulli(&r, x, n, 0.3f);
        }
        if (memcmp(x1, x2, (size_t)n * sizeof *x1) != 0) fail_msg("%s fill depends on threads", what[kind]);
    }
    free(x1);
    free(x2);
}

/* A rank's rows of a fill are the plain fill's rows, and the counter moves on
 * as if the whole array had been drawn; the parts of a batch cover it once. */
static void test_rng_fill_rows(void **state)
{
    (void)state;
    enum { TOTAL = 7, LEN = 5, PARTS = 3 };
    float whole[TOTAL * LEN], part[TOTAL * LEN], after_whole, after_part;
    for (int kind = 0; kind < 2; kind++) {
        hd_rng a;
        hd_rng_init(&a, 5, HD_STREAM_NOISE);
        if (kind == 0) hd_rng_fill_normal(&a, whole, TOTAL * LEN, 1, 2);
        else hd_rng_fill_bernoulli(&a, whole, TOTAL * LEN, 0.4f);
        after_whole = hd_rng_uniform(&a);
        int64_t covered = 0;
        for (int64_t p = 0; p < PARTS; p++) {
            hd_rng b;
            hd_rng_init(&b, 5, HD_STREAM_NOISE);
            hd_rows rows = {hd_part_rows(TOTAL, p, PARTS), p, PARTS, TOTAL};
            if (kind == 0) hd_rng_fill_normal_rows(&b, part, &rows, LEN, 1, 2);
            else hd_rng_fill_bernoulli_rows(&b, part, &rows, LEN, 0.4f);
            after_part = hd_rng_uniform(&b);
            assert_true(after_part == after_whole);
            for (int64_t j = 0; j < rows.n; j++)
                assert_memory_equal(part + j * LEN, whole + (p + j * PARTS) * LEN, LEN * sizeof(float));
            covered += rows.n;
        }
        assert_int_equal(covered, TOTAL);
    }
    assert_int_equal(hd_part_rows(2, 3, 4), 0);
    assert_int_equal(hd_part_rows(8, 0, 4), 2);
    assert_int_equal(hd_part_rows(9, 0, 4), 3);
}

/* Without hd_dist_init there is one rank: sums and mean gradients leave the
 * buffer alone, every check agrees, and a rank's rows are all of them. */
static void test_dist_one_process(void **state)
{
    (void)state;
    float g[3] = {1, 2, 3};
    assert_int_equal(hd_dist_size(), 1);
    assert_int_equal(hd_dist_rank(), 0);
    assert_int_equal(hd_dist_sum_float(g, 3), HD_OK);
    assert_int_equal(hd_dist_mean_grads(g, 3, 2, 8), HD_OK);
    assert_true(g[0] == 1 && g[1] == 2 && g[2] == 3);
    assert_int_equal(hd_dist_same(42, "test value"), HD_OK);
    assert_int_equal(hd_dist_rows(9), 9);
    assert_true(hd_dist_hash("ab", 2) != hd_dist_hash("ba", 2));
}

static void test_rng_moments(void **state)
{
    (void)state;
    enum { N = 200000 };
    static float x[N];
    hd_rng r;
    hd_rng_init(&r, 1, HD_STREAM_USER);
    hd_rng_fill_normal(&r, x, N, 2.0f, 3.0f);
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += x[i];
    m /= N;
    for (int i = 0; i < N; i++) v += (x[i] - m) * (x[i] - m);
    v /= N - 1;
    assert_true(fabs(m - 2.0) < 5 * 3.0 / sqrt(N));
    assert_true(fabs(sqrt(v) - 3.0) < 0.03);
    double mu = 0;
    float umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        float u = hd_rng_uniform(&r);
        mu += u;
        umin = fminf(umin, u);
        umax = fmaxf(umax, u);
    }
    assert_true(fabs(mu / N - 0.5) < 0.005);
    assert_true(umin >= 0.0f && umax < 1.0f);
    int ones = 0;
    for (int i = 0; i < N; i++) ones += hd_rng_bernoulli(&r, 0.25f);
    assert_true(fabs(ones / (double)N - 0.25) < 0.005);
    int counts[5] = {0};
    for (int i = 0; i < 50000; i++) counts[hd_rng_below(&r, 5)]++;
    for (int k = 0; k < 5; k++) assert_in_range(counts[k], 9500, 10500);
}

static void test_rng_permutation(void **state)
{
    (void)state;
    int64_t p[1000], q[1000];
    int seen[1000] = {0};
    hd_rng r;
    hd_rng_init(&r, 3, HD_STREAM_SHUFFLE);
    hd_rng_permutation(&r, 1000, p);
    for (int i = 0; i < 1000; i++) seen[p[i]]++;
    for (int i = 0; i < 1000; i++) assert_int_equal(seen[i], 1);
    int fixed = 0;
    for (int i = 0; i < 1000; i++) fixed += p[i] == i;
    assert_true(fixed < 10);
    hd_rng_init(&r, 3, HD_STREAM_SHUFFLE);
    hd_rng_permutation(&r, 1000, q);
    assert_memory_equal(p, q, sizeof p);
}

static void test_atomic_file(void **state)
{
    (void)state;
    char *dir = test_tmpdir("core"), path[4200], tmp[4200];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    hd_atomic_file af;
    assert_int_equal(hd_atomic_open(&af, path), HD_OK);
    fputs("first", af.f);
    assert_int_equal(hd_atomic_commit(&af), HD_OK);
    assert_int_equal(hd_atomic_open(&af, path), HD_OK);
    snprintf(tmp, sizeof tmp, "%s", af.tmp);
    fputs("half-writ", af.f);
    hd_atomic_abort(&af); /* a writer that fails midway */
    assert_int_equal(access(tmp, F_OK), -1);
    char buf[16] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "first");
    snprintf(tmp, sizeof tmp, "%s/missing/x", dir);
    assert_int_equal(hd_atomic_open(&af, tmp), HD_EIO);
    assert_non_null(strstr(hd_last_error(), "missing/x"));
    test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_tensor),
        cmocka_unit_test(test_rng_reproducible_and_distinct),
        cmocka_unit_test(test_rng_fill_thread_independent),
        cmocka_unit_test(test_rng_fill_rows),
        cmocka_unit_test(test_dist_one_process),
        cmocka_unit_test(test_rng_moments),
        cmocka_unit_test(test_rng_permutation),
        cmocka_unit_test(test_atomic_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
