/* Decays of the unstable hadrons of an event (decay.c): the channels of
 * particle_data.c, flat phase space, displaced vertices from the lifetime. */
#ifndef HD_DECAY_H
#define HD_DECAY_H

#include "hadron/sim.h"

/* A uniform double in (0, 1) from one 32-bit word. */
static inline double hd_u01(hd_rng *r) { return ((double)hd_rng_u32(r) + 0.5) * 0x1p-32; }

/* Decays every particle of ev from index `first` on that the table gives
 * channels, daughters included (they are appended, so the loop reaches
 * them): the parent gets status 2, its end vertex (number *next_vertex,
 * then incremented) at the production point moved by a proper length drawn
 * from Exp(ctau) times p / m, and its daughters status 1 at that point.
 * HD_ENOMEM when the event cannot grow. */
int hd_decay_all(hd_event *ev, int64_t first, int *next_vertex, hd_rng *rng);

/* A code of a neutral kaon as made: K0 and K0bar become K0S or K0L, 1:1. */
int hd_kaon_mix(int pdg, hd_rng *rng);

#endif
