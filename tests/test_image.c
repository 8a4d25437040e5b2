/* metrics/image.c: image grids as PNG, read back with libpng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hadron/metrics.h"
#include "test_util.h"

typedef struct { png_uint_32 w, h; int color, depth; unsigned char *px; } image;

static image read_png(const char *path)
{
    image im = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng could not read %s", path);
    png_init_io(png, f);
    png_read_info(png, info);
    im.w = png_get_image_width(png, info);
    im.h = png_get_image_height(png, info);
    im.color = png_get_color_type(png, info);
    im.depth = png_get_bit_depth(png, info);
    im.px = malloc((size_t)im.w * im.h);
    for (png_uint_32 y = 0; y < im.h; y++) png_read_row(png, im.px + (size_t)y * im.w, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return im;
}

/* Three 2 x 3 images, two to a row, zoom 2: a 2-pixel gap around every
 * tile, values mapped linearly from [lo, hi] to [0, 255] and clamped. */
static void test_grid_layout_and_values(void **state)
{
    (void)state;
    char *dir = test_tmpdir("image"), path[4200];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/grid.png", dir);
    float img[3 * 6];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 6; i++) img[k * 6 + i] = -1.0f + 0.4f * (float)i + 0.1f * (float)k;
    img[5] = 7.0f;  /* above hi: white */
    img[6] = NAN;   /* black */
    const hd_image_grid_opts grid = {.cols = 2, .lo = -1.0f, .hi = 1.0f, .zoom = 2};
    assert_int_equal(hd_image_grid_png(path, 3, 2, 3, img, &grid), HD_OK);
    image im = read_png(path);
    assert_int_equal(im.color, PNG_COLOR_TYPE_GRAY);
    assert_int_equal(im.depth, 8);
    assert_int_equal(im.w, 2 * (3 * 2 + 2) + 2); /* 18 */
    assert_int_equal(im.h, 2 * (2 * 2 + 2) + 2); /* 14 */
    assert_int_equal(im.px[0], 128);             /* background */
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++) {
                int row = 2 + (k / 2) * 6 + y, col = 2 + (k % 2) * 8 + x;
                float v = img[k * 6 + (y / 2) * 3 + x / 2];
                int want = v != v ? 0 : v >= 1.0f ? 255 : (int)((v + 1.0f) / 2.0f * 255.0f + 0.5f);
                assert_int_equal(im.px[row * im.w + col], want);
            }
    /* the empty fourth tile stays background */
    assert_int_equal(im.px[(2 + 6 + 1) * im.w + 2 + 8 + 1], 128);
    free(im.px);
    test_tmpdir_free(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    float img[4] = {0};
    const hd_image_grid_opts ones = {.cols = 1, .lo = 0, .hi = 1, .zoom = 1};
    const hd_image_grid_opts empty_range = {.cols = 1, .lo = 1, .hi = 1, .zoom = 1};
    assert_error(hd_image_grid_png("/tmp/x.png", 0, 2, 2, img, &ones), HD_EINVAL, "bad layout", NULL);
    assert_error(hd_image_grid_png("/tmp/x.png", 1, 2, 2, img, &empty_range), HD_EINVAL, "range", NULL);
    assert_error(hd_image_grid_png("/nonexistent-dir/x.png", 1, 2, 2, img, &ones), HD_EIO, "nonexistent-dir",
                 NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_layout_and_values),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
