/* hadron sim: simulators that make physics data.  They never depend on nn/. */
#ifndef HADRON_SIM_H
#define HADRON_SIM_H

#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tracking efficiency of a forward spectrometer (sim/tracking.c) --------
 * Particles generated in (eta, pT, phi): eta uniform in [eta_min, eta_max],
 * log pT uniform in [pt_min, pt_max] (MeV, as the seed's histograms), phi uniform in [0, 2 pi), pions
 * and kaons of both charges, pass through a simple forward spectrometer
 * (dipole bending in x, rectangular station apertures, beam-pipe hole,
 * support structures at fixed phi, decays in flight).  A particle counts as
 * reconstructed when it crosses enough stations (docs/tracking.md).  The
 * default binning is 6 x 40 x 8 (eta, log pT, phi): fine enough in pT that
 * the turn-on spans several bins.  The result is histograms of
 * generated and reconstructed counts on a fixed (eta, pT, phi) binning, plus
 * the true efficiency of each bin from n_truth more particles. */

typedef struct {
    uint64_t seed;
    int64_t n_particles;  /* for gen/rec (default 1e6) */
    int64_t n_truth;      /* points for the truth, stratified as m^3 per bin; 0: no truth (truth NULL) */
    int n_eta, n_pt, n_phi;
    double eta_min, eta_max, pt_min, pt_max;
    int min_stations;     /* downstream stations with a hit a track needs, 1..3 (default 2) */
    void (*progress)(void *user, double fraction);
    void *user;
} hd_tracking_opts;

hd_tracking_opts hd_tracking_opts_default(void);

/* The result is an hd_hist3 (data.h), with truth; free it with hd_hist3_free. */
typedef hd_hist3 hd_tracking_hist;

int hd_sim_tracking(const hd_tracking_opts *opts, hd_tracking_hist *out);

#ifdef __cplusplus
}
#endif
#endif
