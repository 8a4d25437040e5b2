/* The pieces behind hd_sim_amplitudes (sim/rambo.c): massless phase space
 * by RAMBO, the kinematics of the cuts, and the random numbers of one event.
 * Exposed for white-box tests; docs/amplitudes.md gives the physics.
 * Four-vectors are double[4] = (E, px, py, pz), metric (+, -, -, -). */
#ifndef HD_AMPLITUDES_INTERNAL_H
#define HD_AMPLITUDES_INTERNAL_H

#include "hadron/sim.h"

enum {
    HD_AMP_UNIFORMS = 12,           /* uniforms one RAMBO point of 3 particles takes */
    HD_AMP_TRIAL_BLOCKS = 6,        /* Philox blocks they take: 12 x 53 bits from 24 words */
    HD_AMP_MAX_TRIALS = 1 << 20     /* phase-space points one event may try before giving up */
};
/* Block index of (part, event i, trial 0): 4 bits of part, 36 of event, 24 of trials. */
#define HD_AMP_EVENT_SHIFT 24
#define HD_AMP_PART_SHIFT 60
#define HD_AMP_MAX_EVENTS ((int64_t)1 << (HD_AMP_PART_SHIFT - HD_AMP_EVENT_SHIFT))
_Static_assert(HD_AMP_MAX_TRIALS * HD_AMP_TRIAL_BLOCKS <= (1 << HD_AMP_EVENT_SHIFT),
               "the trials of one event overflow into the next event's blocks");
_Static_assert(HD_AMP_MAX_PARTS == 1 << (64 - HD_AMP_PART_SHIFT), "parts and the counter layout disagree");

/* n massless momenta k [n x 4] summing to (w, 0, 0, 0), a point of flat
 * n-body phase space from 4 n uniforms u in (0, 1) (RAMBO: Kleiss,
 * Stirling, Ellis, Comput. Phys. Commun. 40 (1986) 359).  n >= 2. */
void hd_rambo_massless(double w, int n, const double *u, double *k);

/* A uniform in (0, 1) with 53 random bits, from two words. */
double hd_amp_uniform(hd_rng *rng);

double hd_amp_dot(const double *a, const double *b); /* Minkowski product */
double hd_amp_pt(const double *p);
double hd_amp_eta(const double *p);                   /* pseudorapidity asinh(pz / pT) */
double hd_amp_delta_r(const double *a, const double *b);

/* 1 when the three outgoing momenta k [3 x 4] pass the cuts of o. */
int hd_amp_pass_cuts(const hd_amplitude_opts *o, const double *k);

/* Event i of (o->seed, o->part): tries RAMBO points until one passes the
 * cuts, writes the event [5 x 4] in the layout of sim.h and returns the
 * number of tries, or 0 when HD_AMP_MAX_TRIALS failed. */
int64_t hd_amp_event(const hd_amplitude_opts *o, int64_t i, double *event);

#endif
