/* The simulators by name: what hadron avo can tune, with the settings a
 * command line offers for each (sim.h, "simulators by name").
 *
 * A tracker made here owns its event source: the generator's options, or
 * the pool of events read from a HepMC3 file.  It is a simulator of its own
 * that hands each call to the tracker simulator (sim/tracker.c), which
 * only borrows its source, and frees the tracker and the source with
 * itself. */
#include "hadron/sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    hd_simulator sim; /* first: the simulator is the allocation */
    hd_simulator *tracker;
    hd_eeqq_opts gen;
    hd_event_pool *pool;
} owned_tracker;

static int owned_simulate(const hd_simulator *s, const double *theta, int64_t n, hd_rng *rng, float *out)
{
    const owned_tracker *t = s->state;
    return t->tracker->simulate(t->tracker, theta, n, rng, out);
}

static void owned_destroy(hd_simulator *s)
{
    owned_tracker *t = s->state;
    hd_simulator_free(t->tracker);
    hd_event_pool_free(t->pool);
    hd_free(t);
}

static hd_simulator *make_tracker(const hd_sim_setup *setup)
{
    owned_tracker *t = hd_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->gen = hd_eeqq_opts_default();
    t->gen.seed = setup->seed;
    hd_event_source src = hd_eeqq_source(&t->gen);
    int rc = HD_OK;
    if (setup->events && (rc = hd_event_pool_read(setup->events, setup->max_events, &t->pool)) == HD_OK)
        src = hd_event_pool_source(t->pool);
    double m = setup->offset_max;
    if (rc == HD_OK && !(m >= 0 && isfinite(m)))
        rc = hd_error(HD_EINVAL, "tracker: offset_max = %g mm must be finite and >= 0", m);
    if (rc == HD_OK) t->tracker = hd_tracker_sim_new(&setup->tracker, src, -m, m);
    if (!t->tracker) {
        hd_event_pool_free(t->pool);
        hd_free(t);
        return NULL;
    }
    t->sim = *t->tracker;
    t->sim.simulate = owned_simulate;
    t->sim.destroy = owned_destroy;
    t->sim.state = t;
    return &t->sim;
}

static hd_simulator *make_weinberg(const hd_sim_setup *setup)
{
    (void)setup;
    return hd_weinberg_new();
}

#define SOFTPLUS_2 2.1269280110429727 /* softplus(2): the seed's start width */

static const hd_sim_entry entries[] = {
    {.name = "tracker",
     .description = "the offset along z (mm) of the spherical tracker, on e+e- -> q qbar events",
     .n_params = 1,
     .param_names = {"offset"},
     .lo = {-10},
     .hi = {10},
     .start_mean = {0},
     .start_width = {SOFTPLUS_2},
     .truth = {1},
     .gamma = 0.05,
     .make = make_tracker},
    {.name = "weinberg",
     .description = "the beam energy E_beam (GeV) and the coupling G_f of e+e- -> mu+mu-",
     .n_params = 2,
     .param_names = {"E_beam", "G_f"},
     .lo = {40, 0.5},
     .hi = {50, 1.5},
     .start_mean = {45, 1},
     .start_width = {1, 0.1},
     .truth = {42, 0.9},
     .gamma = 0, /* the widths would collapse before c is fitted (docs/avo.md) */
     .make = make_weinberg},
};
#define N_ENTRIES (int)(sizeof entries / sizeof entries[0])

hd_sim_setup hd_sim_setup_default(void)
{
    return (hd_sim_setup){.seed = 1, .tracker = hd_tracker_opts_default(), .offset_max = 10};
}

int hd_sim_count(void) { return N_ENTRIES; }

const hd_sim_entry *hd_sim_get(int i) { return i >= 0 && i < N_ENTRIES ? &entries[i] : NULL; }

const hd_sim_entry *hd_sim_find(const char *name)
{
    char names[256] = "";
    for (int i = 0; i < N_ENTRIES; i++) {
        if (name && strcmp(name, entries[i].name) == 0) return &entries[i];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", entries[i].name);
    }
    hd_error(HD_EINVAL, "unknown simulator '%s' (%s)", name ? name : "(null)", names);
    return NULL;
}

int64_t hd_sim_pool_events(const hd_simulator *s)
{
    if (!s || s->simulate != owned_simulate) return 0;
    const owned_tracker *t = s->state;
    return hd_event_pool_size(t->pool);
}
