/* Image grids as 8-bit grayscale PNG (libpng), for generated samples. */
#include "hadron/metrics.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

#define GAP 2

static uint8_t grey(float v, float lo, float hi)
{
    float t = (v - lo) / (hi - lo);
    if (!(t > 0.0f)) return 0; /* NaN too */
    if (t >= 1.0f) return 255;
    return (uint8_t)(t * 255.0f + 0.5f);
}

/* The grid as rows of bytes; tiles lie on a background of mid grey so that
 * black image borders stay visible. */
static uint8_t *compose(int64_t n, int64_t h, int64_t w, const float *img, int cols, float lo, float hi, int zoom,
                        int64_t *width, int64_t *height)
{
    int64_t rows = (n + cols - 1) / cols;
    *width = cols * (w * zoom + GAP) + GAP;
    *height = rows * (h * zoom + GAP) + GAP;
    uint8_t *px = hd_malloc((size_t)(*width * *height));
    if (!px) return NULL;
    memset(px, 128, (size_t)(*width * *height));
    for (int64_t k = 0; k < n; k++) {
        int64_t x0 = GAP + (k % cols) * (w * zoom + GAP), y0 = GAP + (k / cols) * (h * zoom + GAP);
        for (int64_t y = 0; y < h * zoom; y++)
            for (int64_t x = 0; x < w * zoom; x++)
                px[(y0 + y) * *width + x0 + x] = grey(img[(k * h + y / zoom) * w + x / zoom], lo, hi);
    }
    return px;
}

/* setjmp in its own frame, with nothing in it that longjmp could clobber. */
static int encode(FILE *f, const uint8_t *px, int64_t width, int64_t height)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return HD_ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return HD_EIO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t y = 0; y < height; y++) png_write_row(png, px + y * width);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return HD_OK;
}

int hd_image_grid_png(const char *path, int64_t n, int64_t h, int64_t w, const float *images,
                      const hd_image_grid_opts *opts)
{
    if (!path || !images || !opts) return hd_error(HD_EINVAL, "image grid: NULL argument");
    int cols = opts->cols, zoom = opts->zoom;
    const float lo = opts->lo, hi = opts->hi;
    if (n < 1 || h < 1 || w < 1 || cols < 1 || zoom < 1 || zoom > 64 || !(hi > lo))
        return hd_error(HD_EINVAL, "image grid %s: bad layout (n %lld, %lld x %lld, cols %d, zoom %d, range %g..%g)",
                        path, (long long)n, (long long)h, (long long)w, cols, zoom, (double)lo, (double)hi);
    if (cols > n) cols = (int)n;
    int64_t width, height;
    if ((int64_t)cols * (w * zoom + GAP) > 1 << 16 || (n + cols - 1) / cols * (h * zoom + GAP) > 1 << 16)
        return hd_error(HD_EINVAL, "image grid %s: more than 65536 pixels on a side", path);
    uint8_t *px = compose(n, h, w, images, cols, lo, hi, zoom, &width, &height);
    if (!px) return HD_ENOMEM;
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc == HD_OK) {
        rc = encode(af.f, px, width, height);
        if (rc == HD_OK) rc = hd_atomic_commit(&af);
        else {
            hd_atomic_abort(&af);
            rc = hd_error(rc, "image grid %s: PNG encoding failed", path);
        }
    }
    hd_free(px);
    return rc;
}
