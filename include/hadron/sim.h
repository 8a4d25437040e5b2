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

/* ---- 2 -> 3 events with squared amplitudes (sim/amplitudes.c, sim/rambo.c) --
 * q(p1) qbar(p2) -> gamma(k1) gamma(k2) g(k3) at a fixed partonic energy
 * sqrt(s), for amplitude regression (hadron bnn; docs/amplitudes.md).
 * Events are flat in 3-body phase space (RAMBO), kept when every outgoing
 * particle has pT > pt_min, |eta| < eta_max and all pairs Delta R > dr_min;
 * they are not weighted or unweighted by |M|^2.  Momenta are in GeV,
 * |M|^2 in GeV^-2 (tree level, averaged over initial and summed over final
 * spins and colours, couplings HD_AMP_ALPHA and HD_AMP_ALPHA_S).
 *
 * Layout of one event, 5 x 4 doubles (E, px, py, pz): the parton along +z,
 * the parton along -z, the leading-pT photon, the other photon, the gluon.
 * Event i of (seed, part) draws only from its own blocks of the
 * (seed, HD_STREAM_SIM) stream: the arrays do not depend on the thread
 * count, and different parts are independent samples. */

#define HD_AMP_ALPHA (1.0 / 137.035999084) /* the fine-structure constant at q^2 = 0: real photons */
#define HD_AMP_ALPHA_S 0.118               /* the strong coupling, fixed (alpha_s(m_Z)) */
#define HD_AMP_MAX_PARTS 16

typedef struct {
    uint64_t seed;
    int part;          /* independent sample of the seed, 0..15 (the CLI: 0 train, 1 val, 2 test) */
    int64_t n_events;  /* 1..2^36 */
    double sqrt_s;     /* partonic centre-of-mass energy, GeV (500) */
    double pt_min;     /* GeV, > 0 and < sqrt_s / 3 (20) */
    double eta_max;    /* (2.5) */
    double dr_min;     /* Delta R = sqrt(Delta eta^2 + Delta phi^2), >= 0 (0.4) */
    double charge;     /* quark charge in units of e, non-zero (2/3: up-type) */
    void (*progress)(void *user, double fraction);
    void *user;
} hd_amplitude_opts;

hd_amplitude_opts hd_amplitude_opts_default(void);

/* n = o->n_events events: momenta [n, 5, 4] and amp2 [n] (|M|^2 of each,
 * all > 0), both allocated by the caller.  HD_EINVAL on bad options, or
 * when the cuts pass too few phase-space points (none in 2^20 tries). */
int hd_sim_amplitudes(const hd_amplitude_opts *o, double *momenta, double *amp2);

/* |M|^2 of q qbar -> gamma gamma g, GeV^-2, from p [5 x 4]: p1, p2, then the
 * three outgoing bosons, the gluon last (one row of hd_sim_amplitudes's
 * momenta).  Symmetric in p1 <-> p2 and in the two photons. */
double hd_me2_qqbar_aag(const double *p, double charge);
/* |M|^2 of q qbar -> gamma gamma, dimensionless, from p [4 x 4]: p1, p2, k1, k2. */
double hd_me2_qqbar_aa(const double *p, double charge);

#ifdef __cplusplus
}
#endif
#endif
