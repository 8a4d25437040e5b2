/* The gan workflow's images: an IDX pair in a directory, gzip or plain. */
#include "gan_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* <dir>/<stem>.gz if it exists, else <dir>/<stem> (whose absence the
 * reader reports with the path). */
static void idx_path(char *buf, size_t size, const char *dir, const char *stem)
{
    snprintf(buf, size, "%s/%s.gz", dir, stem);
    if (access(buf, F_OK) != 0) snprintf(buf, size, "%s/%s", dir, stem);
}

/* The first n_max (0: all) images of a split, 28 x 28 (refused on the
 * header otherwise, before any data is read), in [-1, 1]; and their labels. */
int hd_gan_read_images(const char *dir, const char *split, int64_t n_max, hd_tensor **images, int32_t **labels)
{
    char ipath[4096], lpath[4096], stem[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
    idx_path(ipath, sizeof ipath, dir, stem);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
    idx_path(lpath, sizeof lpath, dir, stem);
    hd_idx_image_opts o = {.lo = -1.0f, .hi = 1.0f, .height = HD_GAN_SIDE, .width = HD_GAN_SIDE, .n_max = n_max};
    return labels ? hd_idx_read_mnist(ipath, lpath, &o, images, labels) : hd_idx_read_images(ipath, &o, images);
}
