/* Internals of the sampling calorimeter (sim/calo.c, sim/calo_write.c),
 * shared with tests/test_calo.c: the per-run setup and the random
 * variates, so a test can check the samplers on their own. */
#ifndef HD_CALO_INTERNAL_H
#define HD_CALO_INTERNAL_H

#include "hadron/sim.h"

/* Showers per chunk of hd_calo_write (one progress call each). */
#define HD_CALO_CHUNK 1024
/* Nodes of the per-shower table of radial parameters along the depth. */
#define HD_CALO_TABLE 129

/* Bins of a value among increasing edges[0..n], found by a table of
 * HD_CALO_LUT equal cells over [edges[0], edges[n]) (the first bin each
 * cell meets) and a step or two from there. */
#define HD_CALO_LUT 1024
typedef struct {
    const double *edges;
    int n;
    double lo, hi, inv; /* edges[0], edges[n], HD_CALO_LUT / (hi - lo) */
    uint8_t first[HD_CALO_LUT];
} calo_bins;

/* What every shower of a run shares. */
typedef struct {
    hd_calo_stack st;
    double e_lo, e_hi;                      /* MeV */
    double depth;                           /* X0: sum of the layers (cylinder), the grid's depth */
    double bounds[HD_CALO_MAX_LAYERS + 1];  /* cylinder: layer boundaries, X0 */
    calo_bins layer_bins, r_bins;           /* cylinder */
    int64_t voxels;
} calo_setup;

int calo_setup_init(const hd_calo_opts *o, calo_setup *s); /* checks o */

/* The words of (seed, HD_STREAM_SIM) from counter shower << 32 on, as
 * hd_rng_u32 gives them, drawn here without a call per word; with a spare
 * normal (Marsaglia's polar method gives two). */
typedef struct {
    uint64_t seed, counter;
    uint32_t buf[4];
    int nbuf;
    double spare;
    int has_spare;
} calo_rng;

void calo_rng_init(calo_rng *g, uint64_t seed, uint64_t shower);
uint32_t calo_u32(calo_rng *g);
double calo_uniform(calo_rng *g);                  /* (0, 1), 32 bits */
double calo_normal(calo_rng *g);                   /* N(0, 1) */
double calo_gamma(calo_rng *g, double shape);      /* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang) */

#endif
