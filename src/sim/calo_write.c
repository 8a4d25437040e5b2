/* hd_calo_write (sim.h): a calorimeter data set in one file, CaloChallenge's
 * names (incident_energies, showers) plus the grid's conditions and the
 * true shower parameters (docs/calo.md). */
#include "sim/calo_internal.h"

#include <string.h>

enum { MAX_OUT = 4 + HD_CALO_TRUTH };

int hd_calo_write(const hd_calo_opts *o, const char *path)
{
    if (!o || !path) return hd_error(HD_EINVAL, "hd_calo_write: NULL %s", !o ? "options" : "path");
    int rc = hd_calo_check(o);
    if (rc) return rc;
    const int64_t n = o->n_showers, voxels = hd_calo_layout_voxels(&o->layout);
    const int grid = o->layout.kind == HD_CALO_GRID;

    const char *names[MAX_OUT];
    char truth_names[HD_CALO_TRUTH][32];
    hd_array arr[MAX_OUT];
    memset(arr, 0, sizeof arr);
    int n_out = 0, i_truth;
    names[n_out] = "incident_energies";
    rc = hd_array_new(&arr[n_out++], HD_F64, 2, (int64_t[]){n, 1});
    names[n_out] = "showers";
    if (!rc) rc = hd_array_new(&arr[n_out++], HD_F32, 2, (int64_t[]){n, voxels});
    if (grid) {
        names[n_out] = "momentum";
        if (!rc) rc = hd_array_new(&arr[n_out++], HD_F64, 2, (int64_t[]){n, 3});
        names[n_out] = "entry_point";
        if (!rc) rc = hd_array_new(&arr[n_out++], HD_F64, 2, (int64_t[]){n, 2});
    }
    i_truth = n_out;
    for (int k = 0; k < HD_CALO_TRUTH && !rc; k++) {
        snprintf(truth_names[k], sizeof truth_names[k], "true/%s", hd_calo_truth_name(k));
        names[n_out] = truth_names[k];
        rc = hd_array_new(&arr[n_out++], HD_F64, 1, (int64_t[]){n});
    }
    double *cond = hd_malloc(HD_CALO_CHUNK * HD_CALO_COND * sizeof *cond);
    double *truth = hd_malloc(HD_CALO_CHUNK * HD_CALO_TRUTH * sizeof *truth);
    if (!rc && (!cond || !truth)) rc = HD_ENOMEM;
    if (rc) {
        rc = hd_error(HD_ENOMEM, "%s: out of memory for %lld showers of %lld voxels", path, (long long)n,
                      (long long)voxels);
        goto done;
    }

    double *e_inc = arr[0].data, *mom = grid ? arr[2].data : NULL, *entry = grid ? arr[3].data : NULL;
    float *showers = arr[1].data;
    for (int64_t first = 0; first < n; first += HD_CALO_CHUNK) {
        int64_t m = n - first < HD_CALO_CHUNK ? n - first : HD_CALO_CHUNK;
        rc = hd_calo_simulate(o, first, m, showers + first * voxels, e_inc + first, grid ? cond : NULL, truth);
        if (rc) goto done;
        for (int64_t i = 0; i < m; i++) {
            if (grid) {
                memcpy(mom + 3 * (first + i), cond + HD_CALO_COND * i, 3 * sizeof *mom);
                memcpy(entry + 2 * (first + i), cond + HD_CALO_COND * i + 3, 2 * sizeof *entry);
            }
            for (int k = 0; k < HD_CALO_TRUTH; k++)
                ((double *)arr[i_truth + k].data)[first + i] = truth[HD_CALO_TRUTH * i + k];
        }
        if (o->progress) o->progress(o->user, (double)(first + m) / (double)n);
    }

    const hd_array *ptr[MAX_OUT];
    for (int k = 0; k < n_out; k++) ptr[k] = &arr[k];
    rc = o->format == HD_CALO_H5 ? hd_h5_write(path, n_out, names, ptr) : hd_npz_write(path, n_out, names, ptr);
done:
    hd_free(cond);
    hd_free(truth);
    for (int k = 0; k < MAX_OUT; k++) hd_array_free(&arr[k]);
    return rc;
}
