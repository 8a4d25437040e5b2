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

/* Keeps the first n of N images (and labels): the tensor's first dim shrinks. */
static void keep_first(hd_tensor *t, int64_t n)
{
    if (n > 0 && n < t->shape[0]) t->shape[0] = n;
}

int hd_gan_read_images(const char *dir, const char *split, int64_t n_max, hd_tensor **images, int32_t **labels)
{
    char ipath[4096], lpath[4096], stem[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
    idx_path(ipath, sizeof ipath, dir, stem);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
    idx_path(lpath, sizeof lpath, dir, stem);
    int rc = labels ? hd_idx_read_mnist(ipath, lpath, -1.0f, 1.0f, images, labels)
                    : hd_idx_read_images(ipath, images, -1.0f, 1.0f);
    if (rc != HD_OK) return rc;
    const hd_tensor *t = *images;
    if (t->shape[2] != HD_GAN_SIDE || t->shape[3] != HD_GAN_SIDE) {
        rc = hd_error(HD_EFORMAT, "%s: images are %lld x %lld; the DCGAN needs 28 x 28", ipath, (long long)t->shape[2],
                      (long long)t->shape[3]);
        hd_tensor_free(*images);
        *images = NULL;
        if (labels) {
            hd_free(*labels);
            *labels = NULL;
        }
        return rc;
    }
    keep_first(*images, n_max);
    return HD_OK;
}
