/* Calorimeter voxel layouts (data.h).  ds2 and ds3 are CaloChallenge 2022's
 * datasets 2 and 3 (45 layers of about 0.8 X0 each, 16 x 9 and 50 x 18
 * angular x radial bins of 4.65 and 2.325 mm, out to 41.85 mm).  "reduced"
 * (12 x 4 x 6 = 288 voxels) is ds2 merged: 3 layers into one (2.4 X0, 28.8
 * X0 in all), 4 angles into one, and radial edges at 0, 1, 2, 3, 4, 6, 9 ds2
 * bins, so each of its voxels is a union of ds2 voxels and a generative
 * model trains on it in minutes on 2 cores (docs/calo.md).  ecal30 is an
 * LHCb-like 30 x 30 face of 4.65 mm cells (half a Moliere radius of the W/Si
 * stack, as ds2's radial bins), integrated over 25 X0 (layer_x0[0]). */
#include "hadron/data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* edges: r + 1 radial edges in units of dr (NULL: 0, 1, ..., r). */
static void cylinder(hd_calo_layout *l, const char *name, int layers, int alpha, int r, double dr, const int *edges,
                     double x0_per_layer)
{
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->kind = HD_CALO_CYLINDRICAL;
    l->n_layers = layers;
    l->n_alpha = alpha;
    l->n_r = r;
    for (int i = 0; i <= r; i++) l->r_edges[i] = dr * (edges ? edges[i] : i);
    for (int i = 0; i < layers; i++) l->layer_x0[i] = x0_per_layer;
}

int hd_calo_layout_get(const char *name, hd_calo_layout *out)
{
    if (!name || !out) return hd_error(HD_EINVAL, "calorimeter layout: NULL argument");
    static const int reduced_edges[7] = {0, 1, 2, 3, 4, 6, 9}; /* in ds2 radial bins */
    if (strcmp(name, "ds2") == 0) cylinder(out, "ds2", 45, 16, 9, 4.65, NULL, 0.8);
    else if (strcmp(name, "ds3") == 0) cylinder(out, "ds3", 45, 50, 18, 2.325, NULL, 0.8);
    else if (strcmp(name, "reduced") == 0) cylinder(out, "reduced", 12, 4, 6, 4.65, reduced_edges, 3 * 0.8);
    else if (strcmp(name, "ecal30") == 0) {
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "ecal30");
        out->kind = HD_CALO_GRID;
        out->n_layers = 1;
        out->nx = out->ny = 30;
        out->cell = 4.65;
        out->layer_x0[0] = 25; /* the depth the cells integrate over, as LHCb's ECAL */
    } else
        return hd_error(HD_EINVAL, "unknown calorimeter layout '%s' (ds2, ds3, reduced, ecal30)", name);
    return HD_OK;
}

int64_t hd_calo_layout_voxels(const hd_calo_layout *l)
{
    return l->kind == HD_CALO_GRID ? (int64_t)l->nx * l->ny : (int64_t)l->n_layers * l->n_alpha * l->n_r;
}

int hd_calo_layout_check(const hd_calo_layout *l)
{
    if (!l) return hd_error(HD_EINVAL, "calorimeter layout: NULL");
    if (l->kind == HD_CALO_GRID) {
        if (l->nx < 1 || l->ny < 1 || l->nx > 4096 || l->ny > 4096 || !(l->cell > 0) || !isfinite(l->cell))
            return hd_error(HD_EINVAL, "calorimeter layout %s: grid %d x %d of %g mm cells", l->name, l->nx, l->ny,
                            l->cell);
        if (!(l->layer_x0[0] > 0) || !isfinite(l->layer_x0[0]))
            return hd_error(HD_EINVAL, "calorimeter layout %s: the grid integrates over no depth (layer_x0[0] = %g)",
                            l->name, l->layer_x0[0]);
        return HD_OK;
    }
    if (l->n_layers < 1 || l->n_layers > HD_CALO_MAX_LAYERS || l->n_alpha < 1 || l->n_alpha > 4096 || l->n_r < 1 ||
        l->n_r > HD_CALO_MAX_R)
        return hd_error(HD_EINVAL, "calorimeter layout %s: %d layers x %d angles x %d radii (at most %d x 4096 x %d)",
                        l->name, l->n_layers, l->n_alpha, l->n_r, HD_CALO_MAX_LAYERS, HD_CALO_MAX_R);
    if (l->r_edges[0] != 0) return hd_error(HD_EINVAL, "calorimeter layout %s: radial edges start at 0", l->name);
    for (int i = 0; i < l->n_r; i++)
        if (!(l->r_edges[i + 1] > l->r_edges[i]) || !isfinite(l->r_edges[i + 1]))
            return hd_error(HD_EINVAL, "calorimeter layout %s: radial edge %d not above the one before", l->name, i + 1);
    for (int i = 0; i < l->n_layers; i++)
        if (!(l->layer_x0[i] > 0) || !isfinite(l->layer_x0[i]))
            return hd_error(HD_EINVAL, "calorimeter layout %s: layer %d has no depth", l->name, i);
    return HD_OK;
}
