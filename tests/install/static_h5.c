/* A consumer of the static library that pulls in its private dependencies
 * (libhdf5 through hd_h5_*, zlib through the .npz reader), so the link line
 * hadron::static and `pkg-config --static hadron` give must be complete.
 * Usage: static_h5 DIR; prints "static: ok". */
#include <hadron/hadron.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/consumer.h5", argv[1]);
    hd_array a, b;
    int64_t shape[2] = {3, 4};
    if (hd_array_new(&a, HD_F32, 2, shape) != HD_OK) return 1;
    for (int i = 0; i < 12; i++) ((float *)a.data)[i] = (float)i / 4;
    const char *name = "showers";
    const hd_array *arr = &a;
    hd_npz *z = NULL;
    int rc = hd_h5_write(path, 1, &name, &arr);
    if (rc == HD_OK) rc = hd_h5_read(path, "/showers", HD_F32, &b);
    if (rc == HD_OK && ((float *)b.data)[11] != 2.75f) rc = HD_EFORMAT;
    if (rc == HD_OK) hd_array_free(&b);
    snprintf(path, sizeof path, "%s/consumer.npz", argv[1]);
    if (rc == HD_OK) rc = hd_npz_write(path, 1, &name, &arr);
    if (rc == HD_OK) rc = hd_npz_read(path, &z);
    hd_npz_free(z);
    hd_array_free(&a);
    if (rc != HD_OK) {
        fprintf(stderr, "static: %s\n", hd_last_error());
        return 1;
    }
    printf("static: ok\n");
    return 0;
}
