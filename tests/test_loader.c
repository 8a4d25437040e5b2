/* Batch loader: an epoch visits every row once; the parts of a batch that
 * data-parallel ranks take are its rows p, p + P, ..., in the same order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hadron/hadron.h"

enum { ROWS = 11, BATCH = 4, PARTS = 3 };

static void fill(float *x, float *y)
{
    for (int i = 0; i < ROWS; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(100 + i);
        y[i] = (float)(-i);
    }
}

static void test_epoch_visits_each_row(void **state)
{
    (void)state;
    float x[2 * ROWS], y[ROWS], bx[2 * BATCH], by[BATCH];
    fill(x, y);
    const float *arrays[] = {x, y};
    const int64_t len[] = {2, 1};
    hd_loader l;
    assert_int_equal(hd_loader_init(&l, 2, arrays, len, ROWS, BATCH, 3), HD_OK);
    hd_loader_shuffle(&l);
    int seen[ROWS] = {0};
    int64_t n, total = 0;
    while ((n = hd_loader_next(&l, (float *const[]){bx, by})) > 0) {
        for (int64_t j = 0; j < n; j++) {
            int row = (int)bx[2 * j];
            assert_true(bx[2 * j + 1] == (float)(100 + row) && by[j] == (float)(-row));
            seen[row]++;
        }
        total += n;
    }
    assert_int_equal(total, ROWS);
    for (int i = 0; i < ROWS; i++) assert_int_equal(seen[i], 1);
    hd_loader_free(&l);
}

static void test_parts_split_each_batch(void **state)
{
    (void)state;
    float x[2 * ROWS], y[ROWS], wx[2 * BATCH], wy[BATCH], px[2 * BATCH], py[BATCH];
    fill(x, y);
    const float *arrays[] = {x, y};
    const int64_t len[] = {2, 1};
    hd_loader whole, part[PARTS];
    assert_int_equal(hd_loader_init(&whole, 2, arrays, len, ROWS, BATCH, 8), HD_OK);
    hd_loader_shuffle(&whole);
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(hd_loader_init(&part[p], 2, arrays, len, ROWS, BATCH, 8), HD_OK);
        hd_loader_set_part(&part[p], p, PARTS);
        hd_loader_shuffle(&part[p]);
    }
    int64_t n;
    while ((n = hd_loader_next(&whole, (float *const[]){wx, wy})) > 0) {
        int64_t covered = 0;
        for (int p = 0; p < PARTS; p++) {
            assert_int_equal(hd_loader_next(&part[p], (float *const[]){px, py}), n); /* the batch's size */
            int64_t mine = hd_part_rows(n, p, PARTS);
            for (int64_t j = 0; j < mine; j++) {
                assert_memory_equal(px + 2 * j, wx + 2 * (p + j * PARTS), 2 * sizeof(float));
                assert_true(py[j] == wy[p + j * PARTS]);
            }
            covered += mine;
        }
        assert_int_equal(covered, n);
    }
    for (int p = 0; p < PARTS; p++) {
        assert_int_equal(hd_loader_next(&part[p], (float *const[]){px, py}), 0);
        hd_loader_free(&part[p]);
    }
    hd_loader_free(&whole);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    float x[1] = {0};
    const float *arrays[] = {x};
    const int64_t len[] = {1};
    hd_loader l;
    assert_int_equal(hd_loader_init(&l, 0, arrays, len, 1, 1, 0), HD_EINVAL);
    assert_int_equal(hd_loader_init(&l, 1, arrays, len, 0, 1, 0), HD_EINVAL);
    assert_int_equal(hd_loader_init(&l, 1, arrays, len, 1, 0, 0), HD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_epoch_visits_each_row),
        cmocka_unit_test(test_parts_split_each_batch),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
