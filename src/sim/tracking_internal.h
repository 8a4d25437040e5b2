/* The forward spectrometer behind hd_sim_tracking (sim/tracking_geometry.c):
 * propagation of one particle through the stations and the magnet, its
 * detection drawn at random, and its detection probability computed
 * exactly.  Exposed for white-box tests; docs/tracking.md gives the numbers.
 *
 * Units: lengths in m, momenta in GeV, field in T; only the particle's pT is
 * in MeV, as on the histograms' pT axis. */
#ifndef HD_TRACKING_INTERNAL_H
#define HD_TRACKING_INTERNAL_H

#include "hadron/core.h"

#include <stdint.h>

/* Planes in increasing z: vertex-detector planes, the two upstream stations
 * before the magnet, the three downstream stations after it. */
enum {
    HD_TRK_N_VELO = 14,
    HD_TRK_N_UT = 2,
    HD_TRK_N_T = 3,
    HD_TRK_N_PLANES = HD_TRK_N_VELO + HD_TRK_N_UT + HD_TRK_N_T,
    HD_TRK_FIRST_UT = HD_TRK_N_VELO,
    HD_TRK_FIRST_T = HD_TRK_N_VELO + HD_TRK_N_UT
};
#define HD_TRK_MASK_VELO ((1u << HD_TRK_N_VELO) - 1u)
#define HD_TRK_MASK_UT (((1u << HD_TRK_N_UT) - 1u) << HD_TRK_FIRST_UT)
#define HD_TRK_MASK_T (((1u << HD_TRK_N_T) - 1u) << HD_TRK_FIRST_T)

/* Hits a track needs in the vertex detector and the upstream stations; the
 * downstream requirement is hd_tracking_opts.min_stations. */
enum { HD_TRK_MIN_VELO = 3, HD_TRK_MIN_UT = 1, HD_TRK_DEFAULT_MIN_T = 2 };

enum { HD_TRK_PION = 0, HD_TRK_KAON = 1 };
#define HD_TRK_KAON_FRACTION 0.2

/* A particle from the origin: pT in MeV, phi in rad, charge +1 or -1. */
typedef struct {
    double eta, pt, phi;
    int charge, species;
} hd_trk_particle;

/* Where a particle goes, before decays, interactions and hit efficiencies. */
typedef struct {
    double p;                      /* momentum, GeV */
    int reached;                   /* planes reached (fewer than all when the magnet stops the track) */
    uint32_t crossed;              /* bit i: crosses plane i's sensitive area (not hole, support, outside) */
    uint32_t material;             /* bit i: crosses plane i's material (inside its frame, outside the hole) */
    double s[HD_TRK_N_PLANES];     /* path length from the origin to plane i, m (i < reached) */
    double x[HD_TRK_N_PLANES];     /* position at plane i, m (i < reached) */
    double y[HD_TRK_N_PLANES];
} hd_trk_path;

double hd_trk_plane_z(int i); /* z of plane i, m */
void hd_trk_propagate(const hd_trk_particle *in, hd_trk_path *out);
/* The same for charge -1 (out[0]) and +1 (out[1]), sharing the straight
 * part before the magnet; in->charge is ignored. */
void hd_trk_propagate_both(const hd_trk_particle *in, hd_trk_path out[2]);
/* Mean decay length beta gamma c tau of the particle, m. */
double hd_trk_decay_mean(const hd_trk_path *path, int species);
/* Crossed planes reached before the particle decays after decay_length m,
 * with perfect hit efficiency and no interactions. */
uint32_t hd_trk_hits_before(const hd_trk_path *path, double decay_length);
/* 1 when a hit pattern makes a track: enough vertex, upstream and downstream hits. */
int hd_trk_reconstructed(uint32_t hits, int min_t);
/* Hit pattern with a random decay, nuclear interaction and hit losses;
 * draws at most HD_TRK_MAX_WORDS words from rng. */
uint32_t hd_trk_sample_hits(const hd_trk_path *path, int species, hd_rng *rng);
#define HD_TRK_MAX_WORDS (4 + HD_TRK_N_PLANES)
/* The probability that hd_trk_sample_hits gives a reconstructed track. */
double hd_trk_probability(const hd_trk_path *path, int species, int min_t);
/* The same averaged over the species in their generated proportions. */
double hd_trk_probability_mix(const hd_trk_path *path, int min_t);

/* Uniform double in [0, 1) with 53 random bits (two words): decay lengths
 * and kinematics need more than hd_rng_uniform's 24 bits. */
static inline double hd_trk_uniform53(hd_rng *rng)
{
    uint64_t hi = hd_rng_u32(rng) >> 5, lo = hd_rng_u32(rng) >> 6;
    return (double)(hi << 26 | lo) * 0x1p-53;
}

#endif
