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
int hd_sim_tracking_check(const hd_tracking_opts *opts); /* what hd_sim_tracking refuses */

/* ---- 2 -> 3 events with squared amplitudes (sim/amplitudes.c, sim/rambo.c) --
 * One of two tree-level processes at a fixed partonic energy sqrt(s), for
 * amplitude regression (hadron bnn; docs/amplitudes.md):
 *   HD_AMP_QQBAR_AAG  q(p1) qbar(p2) -> gamma(k1) gamma(k2) g(k3)
 *   HD_AMP_EE_QQG     e+(p1) e-(p2) -> gamma* -> q(k1) qbar(k2) g(k3)
 * Events are flat in 3-body phase space (RAMBO), kept when every outgoing
 * particle has pT > pt_min, |eta| < eta_max and all pairs Delta R > dr_min;
 * they are not weighted or unweighted by |M|^2.  Momenta are in GeV,
 * |M|^2 in GeV^-2 (tree level, averaged over initial and summed over final
 * spins and colours, couplings HD_AMP_ALPHA and HD_AMP_ALPHA_S).
 *
 * Layout of one event, 5 x 4 doubles (E, px, py, pz): the incoming particle
 * along +z (the quark; the positron), the one along -z, the leading-pT of
 * the two photons (of the quark and the antiquark), the other one, the
 * gluon.  Both processes draw the same phase-space points: for one seed and
 * part only |M|^2 differs.
 * Event i of (seed, part) draws only from its own blocks of the
 * (seed, HD_STREAM_SIM) stream: the arrays do not depend on the thread
 * count, and different parts are independent samples. */

#define HD_AMP_ALPHA (1.0 / 137.035999084) /* the fine-structure constant at q^2 = 0: real photons */
#define HD_AMP_ALPHA_S 0.118               /* the strong coupling, fixed (alpha_s(m_Z)) */
#define HD_AMP_MAX_PARTS 16

typedef enum {
    HD_AMP_QQBAR_AAG = 0, /* q qbar -> gamma gamma g */
    HD_AMP_EE_QQG = 1,    /* e+e- -> gamma* -> q qbar g, photon exchange only */
} hd_amp_process;

typedef struct {
    hd_amp_process process; /* (HD_AMP_QQBAR_AAG) */
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
int hd_sim_amplitudes_check(const hd_amplitude_opts *o); /* what hd_sim_amplitudes refuses */
/* The data set of hadron bnn (sim/amplitude_sets.c) in dir, which must
 * exist: {trn,val,tst}_{dat,amp}.npy with n[0], n[1], n[2] events from parts
 * 0, 1, 2 of o->seed (disjoint samples; o->part and o->n_events are not
 * used), momenta (N, 5, 4) and |M|^2 (N,) as float64.  All three are
 * checked before any is made; o->progress gets the fraction of all three. */
int hd_sim_amplitudes_write(const hd_amplitude_opts *o, const char *dir, const int64_t n[3]);

/* |M|^2 of q qbar -> gamma gamma g, GeV^-2, from p [5 x 4]: p1, p2, then the
 * three outgoing bosons, the gluon last (one row of hd_sim_amplitudes's
 * momenta).  Symmetric in p1 <-> p2 and in the two photons. */
double hd_me2_qqbar_aag(const double *p, double charge);
/* |M|^2 of q qbar -> gamma gamma, dimensionless, from p [4 x 4]: p1, p2, k1, k2. */
double hd_me2_qqbar_aa(const double *p, double charge);
/* |M|^2 of e+e- -> gamma* -> q qbar g, GeV^-2, from p [5 x 4]: e+, e-, the
 * quark and the antiquark (either order), the gluon.  Symmetric in p1 <-> p2
 * and in k1 <-> k2; goes as charge^2. */
double hd_me2_ee_qqg(const double *p, double charge);
/* |M|^2 of e+e- -> gamma* -> q qbar, dimensionless, from p [4 x 4]: e+, e-, q, qbar. */
double hd_me2_ee_qq(const double *p, double charge);


/* ---- particles (sim/particle_data.c) ----------------------------------------------
 * Events (hd_event, hd_particle) and HepMC3 files are in data.h. */
int hd_pdg_charge3(int pdg); /* 3 x electric charge; 0 for neutral or unknown */

/* ---- e+e- -> gamma* or Z -> q qbar events (sim/eeqq.c) -----------------------------
 * A self-contained LEP-like hadronic Z generator (docs/events.md): five quark
 * flavours with the Z's branching fractions, 1 + cos^2 theta axis, a simple
 * string-like fragmentation into pi, K, p, n, Lambda, eta and resonances
 * that decay, photons from pi0, and displaced decay vertices for K0S and
 * Lambda (pi+-, K+-, K0L are left stable, as Pythia does by default: no
 * end vertex).  About 20.9 charged particles per event.  Event `index` of
 * a seed draws only from its own blocks of (seed, HD_STREAM_SIM): events do
 * not depend on the order or thread that makes them. */
typedef struct {
    uint64_t seed;
    double sqrt_s; /* GeV (91.2), 10..1000; flavours and angles stay those of the Z pole */
} hd_eeqq_opts;

hd_eeqq_opts hd_eeqq_opts_default(void);
int hd_eeqq_event(const hd_eeqq_opts *o, uint64_t index, hd_event *ev); /* fills ev (cleared first) */
int hd_eeqq_check(const hd_eeqq_opts *o); /* what hd_eeqq_event refuses */

/* ---- simulators with parameters (sim/simulator.c) ----------------------------------
 * What hadron avo tunes: a simulator maps a parameter vector theta to
 * observations.  It declares its parameter names and their allowed box and
 * the shape of one observation. */
#define HD_SIM_MAX_PARAMS 8

typedef struct hd_simulator hd_simulator;
struct hd_simulator {
    const char *name;
    int n_params;
    const char *param_names[HD_SIM_MAX_PARAMS];
    double lo[HD_SIM_MAX_PARAMS], hi[HD_SIM_MAX_PARAMS]; /* the allowed box */
    int obs_ndim;
    int64_t obs_shape[3];                                 /* one observation, e.g. {1, 32, 32} or {1} */
    /* n observations at theta (inside the box) into out [n, obs...], drawing
     * only from rng; called concurrently from several threads. */
    int (*simulate)(const hd_simulator *s, const double *theta, int64_t n, hd_rng *rng, float *out);
    void (*destroy)(hd_simulator *s); /* frees state and s itself; NULL for a static simulator */
    void *state;
    /* Optional, for plots and reports (hd_avo_run takes them where its options leave them unset): */
    const char *obs_label;   /* axis label of an observation, "x label|y label" for images; NULL: none */
    double obs_extent[4];    /* images: x0, x1 (columns), y0, y1 (rows); all 0: bin indices */
    const char *derived_name;               /* a function of theta worth reporting (Weinberg: "c") */
    double (*derived)(const double *theta); /* or NULL */
};

int64_t hd_simulator_obs_size(const hd_simulator *s);           /* floats per observation */
/* For draw d of n_draws: per_draw observations at theta[d * n_params ...],
 * clamped to the box, into out[d * per_draw * obs_size ...], from the
 * stream (seed, HD_STREAM_SIM) at counter (first + d) << 32.  Draws run in
 * parallel over threads; the result does not depend on the thread count. */
int hd_simulator_run(const hd_simulator *s, int64_t n_draws, const double *theta, int64_t per_draw,
                     uint64_t seed, uint64_t first, float *out);
void hd_simulator_free(hd_simulator *s);                         /* calls destroy; NULL is fine */

/* The Weinberg simulator of the AVO paper (sim/weinberg.c): x = cos A of the
 * muon in e+e- -> mu+mu-, p(x) ~ (1 + x^2) + c x with
 * c = 2 tanh(10 (2 E_beam - 90) / 90) G_f; params "E_beam" [40, 50] GeV and
 * "G_f" [0.5, 1.5]; one observation is one x (shape {1}), labelled "cos A";
 * its derived value is c. */
double hd_weinberg_c(double e_beam, double g_f);
hd_simulator *hd_weinberg_new(void);

/* The spherical tracker of pythia-mill (sim/tracker.c; docs/tracker.md):
 * every charged particle is a straight segment from its production vertex
 * to its decay vertex (stable ones: far away), both shifted by `offset`
 * along z; where it crosses a sphere of radius R outward, its energy (or 1
 * in binary mode) is added to an eta x phi cell, eta over +-eta_max,
 * phi over [0, 2 pi).  Several layers: radii evenly from r_min to r_max. */
typedef struct {
    int n_eta, n_phi, n_layers;  /* 32, 32, 1 */
    double eta_max;              /* 5 */
    double r_min, r_max;         /* mm: 10, 10 */
    int binary;                  /* 0: deposit energy; 1: 1 per hit cell */
    double energy_threshold;     /* GeV, binary mode: hits with E above it (0) */
} hd_tracker_opts;

hd_tracker_opts hd_tracker_opts_default(void);
/* Adds the hits of ev at `offset` (mm) to image [n_layers, n_eta, n_phi]
 * (the caller zeroes it); returns the number of hits, or HD_EINVAL. */
int64_t hd_tracker_hits(const hd_tracker_opts *o, const hd_event *ev, double offset, float *image);

/* Events for the tracker simulator: event(source, index, ev) fills ev with
 * event `index` of a deterministic source (the e+e- generator, or a pool of
 * events read from a HepMC3 file; index taken modulo its size). */
typedef struct {
    int (*event)(void *source, uint64_t index, hd_event *ev);
    void *source;
    uint64_t n_events; /* 0: unbounded (a generator) */
} hd_event_source;

/* Parameter "offset" in [lo, hi] mm; one observation is one event's image
 * [n_layers, n_eta, n_phi], labelled "phi|eta" over [0, 2 pi] x
 * [-eta_max, eta_max].  The simulator borrows the source.  NULL (error set)
 * on bad options or a pool of more than 2^32 - 1 events. */
hd_simulator *hd_tracker_sim_new(const hd_tracker_opts *o, hd_event_source src, double lo, double hi);

/* Event sources (sim/event_source.c).  The generator's source borrows o
 * (event i is hd_eeqq_event(o, i)).  A pool holds the events of a HepMC3
 * file (the first max_events; 0: all) in memory, compactly; its source
 * draws among them with replacement and borrows the pool.  The pool may
 * hold at most hd_input_cap (data.h) of the file's size on disk (a pipe:
 * 0 bytes); a file whose events need more is refused, and the message says
 * how to raise the cap or read fewer events. */
hd_event_source hd_eeqq_source(const hd_eeqq_opts *o);
typedef struct hd_event_pool hd_event_pool;
int hd_event_pool_read(const char *path, int64_t max_events, hd_event_pool **out);
int64_t hd_event_pool_size(const hd_event_pool *p);
hd_event_source hd_event_pool_source(const hd_event_pool *p);
void hd_event_pool_free(hd_event_pool *p); /* NULL is fine */

/* ---- event pipelines (sim/event_pipeline.c) ------------------------------------------
 * Events 0 .. n-1 of a source, made in parallel rounds and handed to a sink
 * in order: the output does not depend on the thread count.  Event 0 is made
 * first, alone, so a source with bad options fails before the sink sees
 * anything.  progress (may be NULL) gets the fraction done after each round. */
typedef struct {
    int (*add)(void *sink, const hd_event *ev);
    void *sink;
} hd_event_sink;

typedef struct {
    int64_t events, particles, charged; /* charged: final-state (status 1) charged particles */
} hd_event_counts;

int hd_events_run(hd_event_source src, int64_t n, hd_event_sink sink, void (*progress)(void *user, double fraction),
                  void *user, hd_event_counts *counts);
/* The same into a HepMC3 file, which appears complete or not at all. */
int hd_events_write_hepmc3(hd_event_source src, int64_t n, const char *path,
                           void (*progress)(void *user, double fraction), void *user, hd_event_counts *counts);

/* ---- simulators by name (sim/registry.c) ---------------------------------------------
 * The simulators hadron avo tunes, each with what a command line needs to
 * offer it: its parameters and their box, where a proposal over them starts,
 * an example truth (the studies of docs/avo.md) and the entropy weight that
 * suits it.  make builds one from a setup, ignoring the fields it does not
 * use; the simulator owns what it needs (the generator's options, a pool of
 * events read from a file) and hd_simulator_free frees all of it. */
typedef struct {
    uint64_t seed;           /* tracker: the built-in event generator's seed (1) */
    hd_tracker_opts tracker; /* tracker: hd_tracker_opts_default() */
    double offset_max;       /* tracker: offsets are clamped to [-offset_max, offset_max] mm (10) */
    const char *events;      /* tracker: events from this HepMC3 file instead of the generator (NULL) */
    int64_t max_events;      /* tracker: the first max_events of the file (0: all) */
} hd_sim_setup;

typedef struct {
    const char *name, *description; /* "weinberg", a line for help texts */
    int n_params;
    const char *param_names[HD_SIM_MAX_PARAMS];
    double lo[HD_SIM_MAX_PARAMS], hi[HD_SIM_MAX_PARAMS]; /* the box with the default setup */
    double start_mean[HD_SIM_MAX_PARAMS], start_width[HD_SIM_MAX_PARAMS]; /* the proposal's start */
    double truth[HD_SIM_MAX_PARAMS];                     /* an example truth */
    double gamma;                                        /* entropy weight of the proposal (hd_avo_opts) */
    hd_simulator *(*make)(const hd_sim_setup *setup);    /* NULL (error set) on bad settings */
} hd_sim_entry;

hd_sim_setup hd_sim_setup_default(void);
int hd_sim_count(void);
const hd_sim_entry *hd_sim_get(int i);             /* 0 <= i < hd_sim_count(); else NULL */
const hd_sim_entry *hd_sim_find(const char *name); /* NULL (the error names the choices) if unknown */
/* Events a simulator made by the registry draws from a HepMC3 file; 0 for
 * the built-in generator or any other simulator. */
int64_t hd_sim_pool_events(const hd_simulator *s);

/* ---- a parametrised sampling calorimeter (sim/calo.c, sim/calo_write.c) --------------
 * Electromagnetic showers in the GFlash style (Grindhammer & Peters,
 * hep-ex/0001020; docs/calo.md) in a W/Si sampling stack like
 * CaloChallenge's datasets 2 and 3, read out into an hd_calo_layout
 * (data.h): per shower a Gamma longitudinal profile whose (ln T, ln alpha)
 * fluctuate with their correlation, N_spot energy spots at depths from the
 * spot profile and radii from the two-component radial profile at that
 * depth (uniform azimuth), sampling fluctuations of sigma/E = a / sqrt(E/GeV)
 * and a voxel threshold.  Energies are in MeV.  A cylindrical layout sees
 * the shower along its axis at normal incidence; a grid layout (ecal30) sees
 * it enter the face at (x, y) with momentum (px, py, pz) (LHCb-like), each
 * cell integrating over the grid's depth (layout.layer_x0[0] X0).  Shower
 * i draws only from its own blocks of (seed, HD_STREAM_SIM), from counter
 * i << 32: showers do not depend on the thread count or on which others
 * are simulated with them. */

typedef enum { HD_CALO_ELECTRON, HD_CALO_PHOTON } hd_calo_particle;
typedef enum { HD_CALO_H5, HD_CALO_NPZ } hd_calo_format;

#define HD_CALO_E_LIMIT_LO 100.0 /* MeV: the lowest incident energy (GFlash's fits start near 1 GeV) */
#define HD_CALO_E_LIMIT_HI 1e7   /* MeV: the highest, 10 TeV */
#define HD_CALO_MAX_BYTES (UINT64_C(1) << 34) /* hd_calo_write holds the showers: at most 16 GiB of them */
enum {
    HD_CALO_COND = 5,  /* grid conditions per shower: px, py, pz (MeV), x, y (mm) */
    HD_CALO_TRUTH = 6  /* true parameters per shower, named by hd_calo_truth_name */
};

typedef struct {
    hd_calo_layout layout;        /* readout (default hd_calo_layout_get("reduced")) */
    hd_calo_particle particle;    /* HD_CALO_ELECTRON; photons convert at a depth ~ Exp(9/7 X0) */
    uint64_t seed;                /* 1 */
    int64_t n_showers;            /* hd_calo_write: showers in the file, 1..2^32 - 1 (10000) */
    double e_min, e_max;          /* MeV, log-uniform (equal: one energy); 0, 0: hd_calo_energy_range */
    double absorber_mm, active_mm; /* tungsten and silicon of one sampling layer (1.4, 0.3) */
    double sampling;              /* a of sigma/E = a / sqrt(E / GeV), in sqrt(GeV) (0.11); 0: none */
    double threshold;             /* MeV: voxels below it read 0 (0.01515, CaloChallenge ds2/ds3) */
    double entry_x[2], entry_y[2]; /* grid: entry point on the face, uniform in [lo, hi] mm (-10, 10) */
    double slope_x[2], slope_y[2]; /* grid: px/pz and py/pz, uniform in [lo, hi] (-0.3, 0.3) */
    hd_calo_format format;        /* hd_calo_write's file (HD_CALO_H5) */
    void (*progress)(void *user, double fraction); /* hd_calo_write: after each chunk of showers */
    void *user;
} hd_calo_opts;

hd_calo_opts hd_calo_opts_default(void);
int hd_calo_check(const hd_calo_opts *o); /* what hd_calo_simulate and hd_calo_write refuse */
/* The incident energies, MeV: e_min and e_max, or where both are 0 the
 * layout's default, 1 GeV to 1 TeV for ds2 and ds3 (as CaloChallenge) and
 * 1 to 100 GeV for any other. */
void hd_calo_energy_range(const hd_calo_opts *o, double *e_min, double *e_max);

/* The sampling stack as GFlash sees it: effective quantities of one
 * absorber + active layer (mass-weighted Z and A, X0 and R_M by the
 * mixture rules). */
typedef struct {
    double z, a;       /* effective Z and A */
    double density;    /* g/cm^3 */
    double x0;         /* radiation length, mm */
    double ec;         /* critical energy, MeV */
    double rm;         /* Moliere radius, mm */
    double fs;         /* F_s = X0 / (absorber + active thickness) */
    double ehat;       /* e/mip = 1 / (1 + 0.007 (Z_W - Z_Si)) */
} hd_calo_stack;
int hd_calo_stack_of(const hd_calo_opts *o, hd_calo_stack *out);

/* Showers first .. first + n - 1 into showers [n, voxels] (float32, MeV, the
 * layout's voxel order) and e_inc [n]; cond [n, HD_CALO_COND] for a grid
 * layout (NULL for none, or for a cylindrical layout, where it is not
 * written); truth [n, HD_CALO_TRUTH] (or NULL).  In parallel over
 * showers; o->n_showers and o->progress are not used. */
int hd_calo_simulate(const hd_calo_opts *o, int64_t first, int64_t n, float *showers, double *e_inc, double *cond,
                     double *truth);
/* "T" (shower maximum of the energy profile, X0 from the shower's start),
 * "alpha" (its Gamma shape), "start_depth" (X0: 0 for electrons, the
 * conversion depth of photons), "n_spots", "spot_T" (maximum of the spot
 * profile, X0), "contained" (MeV deposited in the readout before the
 * sampling fluctuations and the threshold); NULL outside 0..HD_CALO_TRUTH-1. */
const char *hd_calo_truth_name(int k);

/* Simulates o->n_showers showers (in chunks, o->progress after each) and
 * writes them to path, atomically: incident_energies (N, 1) float64 MeV,
 * showers (N, voxels) float32 MeV, for a grid layout momentum (N, 3) MeV and
 * entry_point (N, 2) mm, and true/<name> (N,) float64 for each truth
 * quantity; HDF5 or .npz (the same names, "true/T.npy" members) by
 * o->format.  It holds all N showers in memory (N x voxels x 4 bytes). */
int hd_calo_write(const hd_calo_opts *o, const char *path);

#ifdef __cplusplus
}
#endif
#endif
