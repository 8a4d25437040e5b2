/* Efficiency histograms: allocation, validation, .npz input and output. */
#include "hadron/data.h"

#include <math.h>
#include <string.h>

int hd_hist3_alloc(hd_hist3 *h, int n_eta, int n_pt, int n_phi, int with_truth)
{
    memset(h, 0, sizeof *h);
    if (n_eta < 1 || n_pt < 1 || n_phi < 1 || n_eta > 100000 || n_pt > 100000 || n_phi > 100000)
        return hd_error(HD_EINVAL, "histogram: %d x %d x %d bins", n_eta, n_pt, n_phi);
    h->n_eta = n_eta;
    h->n_pt = n_pt;
    h->n_phi = n_phi;
    size_t bins = (size_t)hd_hist3_bins(h);
    h->edges_eta = hd_calloc((size_t)n_eta + 1, sizeof(double));
    h->edges_pt = hd_calloc((size_t)n_pt + 1, sizeof(double));
    h->edges_phi = hd_calloc((size_t)n_phi + 1, sizeof(double));
    h->gen = hd_calloc(bins, sizeof(double));
    h->rec = hd_calloc(bins, sizeof(double));
    if (with_truth) h->truth = hd_calloc(bins, sizeof(double));
    if (!h->edges_eta || !h->edges_pt || !h->edges_phi || !h->gen || !h->rec || (with_truth && !h->truth)) {
        hd_hist3_free(h);
        return HD_ENOMEM;
    }
    return HD_OK;
}

void hd_hist3_free(hd_hist3 *h)
{
    if (!h) return;
    hd_free(h->edges_eta);
    hd_free(h->edges_pt);
    hd_free(h->edges_phi);
    hd_free(h->gen);
    hd_free(h->rec);
    hd_free(h->truth);
    memset(h, 0, sizeof *h);
}

static int check_edges(const char *label, const char *name, const double *e, int n)
{
    for (int i = 0; i <= n; i++) {
        if (!isfinite(e[i])) return hd_error(HD_EFORMAT, "%s: %s[%d] is %g", label, name, i, e[i]);
        if (i > 0 && !(e[i] > e[i - 1]))
            return hd_error(HD_EFORMAT, "%s: %s must increase, but %s[%d] = %g follows %g", label, name, name, i,
                            e[i], e[i - 1]);
    }
    return HD_OK;
}

int hd_hist3_check(const hd_hist3 *h, const char *label)
{
    int rc;
    if ((rc = check_edges(label, "edges_eta", h->edges_eta, h->n_eta)) ||
        (rc = check_edges(label, "edges_pt", h->edges_pt, h->n_pt)) ||
        (rc = check_edges(label, "edges_phi", h->edges_phi, h->n_phi)))
        return rc;
    for (int i = 0; i < h->n_eta; i++)
        for (int j = 0; j < h->n_pt; j++)
            for (int k = 0; k < h->n_phi; k++) {
                int64_t b = hd_hist3_index(h, i, j, k);
                double g = h->gen[b], r = h->rec[b];
                if (!isfinite(g) || g < 0)
                    return hd_error(HD_EFORMAT, "%s: gen[%d, %d, %d] = %g: counts must be finite and >= 0", label, i,
                                    j, k, g);
                if (!isfinite(r) || r < 0)
                    return hd_error(HD_EFORMAT, "%s: rec[%d, %d, %d] = %g: counts must be finite and >= 0", label, i,
                                    j, k, r);
                if (r > g)
                    return hd_error(HD_EFORMAT, "%s: rec[%d, %d, %d] = %g exceeds gen[%d, %d, %d] = %g", label, i, j,
                                    k, r, i, j, k, g);
                if (h->truth && !isnan(h->truth[b]) && !(h->truth[b] >= 0 && h->truth[b] <= 1))
                    return hd_error(HD_EFORMAT, "%s: truth[%d, %d, %d] = %g is not an efficiency in [0, 1]", label,
                                    i, j, k, h->truth[b]);
            }
    return HD_OK;
}

/* Copies array `name` of z into a fresh double buffer after checking its shape. */
static int take(const char *path, const hd_npz *z, const char *name, int ndim, const int64_t *shape,
                double **out)
{
    const hd_array *a = hd_npz_get(z, name);
    if (!a) return hd_error(HD_EFORMAT, "%s: no array '%s'", path, name);
    int ok = a->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = a->shape[d] == shape[d];
    if (!ok) {
        char want[96], got[96];
        return hd_error(HD_ESHAPE, "%s: array '%s' has shape %s, expected %s", path, name,
                        hd_shape_str(a->ndim, a->shape, got, sizeof got), hd_shape_str(ndim, shape, want, sizeof want));
    }
    int64_t n = hd_array_numel(a);
    *out = hd_malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!*out) return HD_ENOMEM;
    for (int64_t i = 0; i < n; i++) (*out)[i] = hd_array_get(a, i);
    return HD_OK;
}

static int read_from(const char *path, const hd_npz *z, hd_hist3 *h)
{
    const hd_array *gen = hd_npz_get(z, "gen");
    if (!gen) return hd_error(HD_EFORMAT, "%s: no array 'gen'", path);
    if (gen->ndim != 3) {
        char s[96];
        return hd_error(HD_ESHAPE, "%s: array 'gen' has shape %s, expected 3 axes (eta, pt, phi)", path,
                        hd_shape_str(gen->ndim, gen->shape, s, sizeof s));
    }
    int64_t n[3] = {gen->shape[0], gen->shape[1], gen->shape[2]};
    for (int d = 0; d < 3; d++)
        if (n[d] < 1 || n[d] > 100000) return hd_error(HD_ESHAPE, "%s: 'gen' axis %d has %lld bins", path, d, (long long)n[d]);
    h->n_eta = (int)n[0];
    h->n_pt = (int)n[1];
    h->n_phi = (int)n[2];
    int rc;
    int64_t e0 = n[0] + 1, e1 = n[1] + 1, e2 = n[2] + 1;
    if ((rc = take(path, z, "gen", 3, n, &h->gen)) || (rc = take(path, z, "rec", 3, n, &h->rec)) ||
        (rc = take(path, z, "edges_eta", 1, &e0, &h->edges_eta)) ||
        (rc = take(path, z, "edges_pt", 1, &e1, &h->edges_pt)) ||
        (rc = take(path, z, "edges_phi", 1, &e2, &h->edges_phi)))
        return rc;
    if (hd_npz_get(z, "truth") && (rc = take(path, z, "truth", 3, n, &h->truth))) return rc;
    return hd_hist3_check(h, path);
}

int hd_hist3_read_npz(const char *path, hd_hist3 *h)
{
    memset(h, 0, sizeof *h);
    hd_npz *z;
    int rc = hd_npz_read(path, &z);
    if (rc != HD_OK) return rc;
    rc = read_from(path, z, h);
    hd_npz_free(z);
    if (rc != HD_OK) hd_hist3_free(h);
    return rc;
}

int hd_hist3_write_npz(const char *path, const hd_hist3 *h)
{
    int64_t n3[3] = {h->n_eta, h->n_pt, h->n_phi};
    hd_array arrays[6] = {
        {HD_F64, 3, {n3[0], n3[1], n3[2]}, h->gen},         {HD_F64, 3, {n3[0], n3[1], n3[2]}, h->rec},
        {HD_F64, 1, {n3[0] + 1}, h->edges_eta},            {HD_F64, 1, {n3[1] + 1}, h->edges_pt},
        {HD_F64, 1, {n3[2] + 1}, h->edges_phi},            {HD_F64, 3, {n3[0], n3[1], n3[2]}, h->truth},
    };
    const char *names[6] = {"gen", "rec", "edges_eta", "edges_pt", "edges_phi", "truth"};
    const hd_array *ptrs[6] = {&arrays[0], &arrays[1], &arrays[2], &arrays[3], &arrays[4], &arrays[5]};
    return hd_npz_write(path, h->truth ? 6 : 5, names, ptrs);
}

void hd_hist3_bin_centre(const hd_hist3 *h, int64_t b, double *eta, double *pt, double *phi)
{
    int k = (int)(b % h->n_phi), j = (int)(b / h->n_phi % h->n_pt), i = (int)(b / h->n_phi / h->n_pt);
    *eta = 0.5 * (h->edges_eta[i] + h->edges_eta[i + 1]);
    *pt = h->edges_pt[j] > 0 ? sqrt(h->edges_pt[j] * h->edges_pt[j + 1]) : 0.5 * (h->edges_pt[j] + h->edges_pt[j + 1]);
    *phi = 0.5 * (h->edges_phi[k] + h->edges_phi[k + 1]);
}
