/* hadron sim: simulators that make physics data.  They never depend on nn/. */
#ifndef HADRON_SIM_H
#define HADRON_SIM_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tracking efficiency of a forward spectrometer (sim/tracking.c) --------
 * Particles generated in (eta, pT, phi): eta uniform in [eta_min, eta_max],
 * log pT uniform in [pt_min, pt_max] (MeV, as the seed's histograms), phi uniform in [0, 2 pi), pions
 * and kaons of both charges, pass through a simple forward spectrometer
 * (dipole bending in x, rectangular station apertures, beam-pipe hole,
 * support structures at fixed phi, decays in flight).  A particle counts as
 * reconstructed when it crosses enough stations.  The result is histograms of
 * generated and reconstructed counts on a fixed (eta, pT, phi) binning, plus
 * the true efficiency of each bin from n_truth more particles. */

typedef struct {
    uint64_t seed;
    int64_t n_particles;  /* for gen/rec (default 1e6) */
    int64_t n_truth;      /* for the true efficiency per bin (default 2e7) */
    int n_eta, n_pt, n_phi;
    double eta_min, eta_max, pt_min, pt_max;
    int min_stations;     /* stations a track must cross (default: see tracking.c) */
    void (*progress)(void *user, double fraction);
    void *user;
} hd_tracking_opts;

hd_tracking_opts hd_tracking_opts_default(void);

/* Bin i, j, k of an (n_eta, n_pt, n_phi) histogram is at (i * n_pt + j) * n_phi + k. */
typedef struct {
    int n_eta, n_pt, n_phi;
    double *edges_eta, *edges_pt, *edges_phi; /* n + 1 each, pT edges in MeV */
    double *gen, *rec, *truth;                /* counts and true efficiency (NaN if no truth entry) */
} hd_tracking_hist;

int hd_sim_tracking(const hd_tracking_opts *opts, hd_tracking_hist *out);
void hd_tracking_hist_free(hd_tracking_hist *h);

#ifdef __cplusplus
}
#endif
#endif
