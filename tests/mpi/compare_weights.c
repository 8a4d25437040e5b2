/* compare_weights A.safetensors B.safetensors TOL
 *
 * The tensors of two checkpoints, name by name: for each, the largest
 * |a - b| over the largest |b| of the tensor.  Exit 0 when every tensor's
 * is at most TOL (TOL 0: the files' tensors are equal bit for bit), 1 when
 * one is not or the names or shapes differ, 2 on a read error.  The MPI
 * tests compare a P-rank run with one process through it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"

static double tensor_diff(const hd_tensor *a, const hd_tensor *b, int *bits_differ)
{
    double diff = 0, scale = 0;
    int64_t n = hd_tensor_numel(a);
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a->data[i] - (double)b->data[i]));
        scale = fmax(scale, fabs((double)b->data[i]));
    }
    *bits_differ = memcmp(a->data, b->data, (size_t)n * sizeof(float)) != 0;
    return scale > 0 ? diff / scale : diff;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: compare_weights A.safetensors B.safetensors TOL\n");
        return 2;
    }
    double tol = atof(argv[3]);
    hd_safetensors *a = NULL, *b = NULL;
    if (hd_safetensors_read(argv[1], &a) != HD_OK || hd_safetensors_read(argv[2], &b) != HD_OK) {
        fprintf(stderr, "compare_weights: %s\n", hd_last_error());
        return 2;
    }
    int bad = hd_safetensors_count(a) != hd_safetensors_count(b), n = hd_safetensors_count(a);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const char *name = hd_safetensors_name(a, i);
        const hd_tensor *ta = hd_safetensors_get(a, name), *tb = hd_safetensors_get(b, name);
        if (!tb || ta->ndim != tb->ndim || memcmp(ta->shape, tb->shape, sizeof ta->shape) != 0) {
            fprintf(stderr, "compare_weights: tensor %s is not in both files with one shape\n", name);
            bad = 1;
            continue;
        }
        int bits_differ;
        double d = tensor_diff(ta, tb, &bits_differ);
        if (d > worst) worst = d;
        if (tol == 0 ? bits_differ : d > tol) {
            fprintf(stderr, "compare_weights: %s differs by %.3g of its largest value (tolerance %g)\n", name, d, tol);
            bad = 1;
        }
    }
    printf("%d tensors, largest relative difference %.3g\n", n, worst);
    hd_safetensors_free(a);
    hd_safetensors_free(b);
    return bad;
}
