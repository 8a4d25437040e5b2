/* The spherical tracker of pythia-mill (utils/spherical_tracker.pyx;
 * docs/tracker.md) and the simulator that runs it on events with the
 * detector offset along z as its parameter.
 *
 * A particle is a straight segment o -> d from its production to its decay
 * vertex, both moved by the offset along z; a stable particle's segment
 * runs FAR_MM along its momentum.  Where the segment leaves a sphere of
 * radius R centred on the origin (exactly one end inside, the larger root
 * of |o + s a|^2 = R^2 within [0, 1]), the hit is binned in
 * eta = atanh(|z| / R), folded with the sign of z, and phi = atan2(y, x) + pi.
 * Only charged particles register.
 *
 * Two departures from the Cython, neither of which changes a Pythia event's
 * image: only particles of status 1 (final) and 2 (decayed) are looked at,
 * because a parton or beam particle without an end vertex would otherwise
 * become a stable track (in Pythia their segments have zero length); and
 * the root is taken in the form without cancellation. */
#include "hadron/sim.h"

#include <math.h>
#include <string.h>

#define FAR_MM 1e6 /* where a stable particle's segment ends */

enum { MAX_BINS = 1 << 16, MAX_LAYERS = 1024, MAX_CELLS = 1 << 26 };

hd_tracker_opts hd_tracker_opts_default(void)
{
    return (hd_tracker_opts){.n_eta = 32,
                             .n_phi = 32,
                             .n_layers = 1,
                             .eta_max = 5,
                             .r_min = 10,
                             .r_max = 10,
                             .binary = 0,
                             .energy_threshold = 0};
}

static int check_opts(const char *who, const hd_tracker_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "%s: NULL options", who);
    if (o->n_eta < 2 || o->n_eta > MAX_BINS || o->n_eta % 2)
        return hd_error(HD_EINVAL, "%s: n_eta = %d must be even, in [2, %d]", who, o->n_eta, MAX_BINS);
    if (o->n_phi < 1 || o->n_phi > MAX_BINS)
        return hd_error(HD_EINVAL, "%s: n_phi = %d must be in [1, %d]", who, o->n_phi, MAX_BINS);
    if (o->n_layers < 1 || o->n_layers > MAX_LAYERS)
        return hd_error(HD_EINVAL, "%s: n_layers = %d must be in [1, %d]", who, o->n_layers, MAX_LAYERS);
    if ((int64_t)o->n_layers * o->n_eta * o->n_phi > MAX_CELLS)
        return hd_error(HD_EINVAL, "%s: %d x %d x %d cells, more than %d", who, o->n_layers, o->n_eta, o->n_phi,
                        MAX_CELLS);
    /* Beyond 10, tanh(eta_max) is within 1e-8 of 1 and the edge bins lose their meaning. */
    if (!(o->eta_max > 0 && o->eta_max <= 10))
        return hd_error(HD_EINVAL, "%s: eta_max = %g must be in (0, 10]", who, o->eta_max);
    if (!(o->r_min > 0 && o->r_max >= o->r_min && isfinite(o->r_max)))
        return hd_error(HD_EINVAL, "%s: radii r_min = %g, r_max = %g mm must satisfy 0 < r_min <= r_max", who,
                        o->r_min, o->r_max);
    if (o->binary != 0 && o->binary != 1) return hd_error(HD_EINVAL, "%s: binary = %d must be 0 or 1", who, o->binary);
    if (!isfinite(o->energy_threshold))
        return hd_error(HD_EINVAL, "%s: energy_threshold = %g must be finite", who, o->energy_threshold);
    return HD_OK;
}

/* ---- geometry ------------------------------------------------------------------ */

typedef struct {
    double o[3], a[3]; /* the segment o + s a, s in [0, 1] */
} segment;

typedef struct {
    int n_eta, n_phi;
    double z_max, d_eta, d_phi; /* tanh(eta_max) bounds |z| / R */
} grid;

static double dot3(const double *x, const double *y) { return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]; }

/* The particle's segment at `offset`; 0 when it has none (no momentum, no length). */
static int particle_segment(const hd_particle *p, double offset, segment *s)
{
    double p2 = dot3(p->p + 1, p->p + 1);
    if (p2 < 1e-12) return 0;
    double far = FAR_MM / sqrt(p2);
    for (int k = 0; k < 3; k++) {
        s->o[k] = p->prod[k] + (k == 2 ? offset : 0);
        s->a[k] = p->has_end ? p->end[k] - p->prod[k] : far * p->p[1 + k];
    }
    return dot3(s->a, s->a) >= 1e-9;
}

/* Where the segment leaves the sphere of radius r: 1 and the point h, or 0
 * (no crossing, or an inward one). */
static int outward_crossing(const segment *s, double r, double *h)
{
    double d[3] = {s->o[0] + s->a[0], s->o[1] + s->a[1], s->o[2] + s->a[2]};
    double r2 = r * r, oo = dot3(s->o, s->o);
    if ((oo < r2) == (dot3(d, d) < r2)) return 0;
    double oa = dot3(s->o, s->a), aa = dot3(s->a, s->a), c = oo - r2, root = sqrt(fmax(0, oa * oa - aa * c));
    double t = oa > 0 ? -c / (oa + root) : (root - oa) / aa; /* the larger root of aa t^2 + 2 oa t + c */
    if (!(t >= 0 && t <= 1)) return 0;
    for (int k = 0; k < 3; k++) h[k] = s->o[k] + t * s->a[k];
    return 1;
}

static grid make_grid(const hd_tracker_opts *o)
{
    return (grid){o->n_eta, o->n_phi, tanh(o->eta_max), 2 * o->eta_max / o->n_eta, 2 * HD_PI / o->n_phi};
}

/* Cell eta * n_phi + phi of a hit h on the sphere of radius r; -1 outside the eta range. */
static int64_t hit_cell(const grid *g, double r, const double *h)
{
    double z = fabs(h[2]) / r;
    if (z >= g->z_max) return -1;
    int half = g->n_eta / 2, ie = (int)(atanh(z) / g->d_eta);
    if (ie >= half) ie = half - 1; /* rounding just inside eta_max */
    ie = h[2] < 0 ? half - 1 - ie : half + ie;
    int ip = (int)((atan2(h[1], h[0]) + HD_PI) / g->d_phi);
    if (ip >= g->n_phi) ip = g->n_phi - 1; /* phi = 2 pi */
    return (int64_t)ie * g->n_phi + ip;
}

static double layer_radius(const hd_tracker_opts *o, int j)
{
    return o->n_layers == 1 ? o->r_min : o->r_min + (o->r_max - o->r_min) * j / (o->n_layers - 1);
}

static int registers(const hd_tracker_opts *o, const hd_particle *p)
{
    if (p->status != 1 && p->status != 2) return 0;
    if (hd_pdg_charge3(p->pdg) == 0) return 0;
    return !o->binary || p->p[0] > o->energy_threshold;
}

int64_t hd_tracker_hits(const hd_tracker_opts *o, const hd_event *ev, double offset, float *image)
{
    int rc = check_opts("hd_tracker_hits", o);
    if (rc) return rc;
    if (!ev || !image || (ev->n > 0 && !ev->p))
        return hd_error(HD_EINVAL, "hd_tracker_hits: NULL %s", !ev ? "event" : !image ? "image" : "particles");
    if (!isfinite(offset)) return hd_error(HD_EINVAL, "hd_tracker_hits: offset = %g mm is not finite", offset);
    grid g = make_grid(o);
    int64_t layer_cells = (int64_t)o->n_eta * o->n_phi, hits = 0;
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        segment s;
        if (!registers(o, p) || !particle_segment(p, offset, &s)) continue;
        for (int j = 0; j < o->n_layers; j++) {
            double r = layer_radius(o, j), h[3];
            int64_t cell = outward_crossing(&s, r, h) ? hit_cell(&g, r, h) : -1;
            if (cell < 0) continue;
            float *px = image + j * layer_cells + cell;
            *px = o->binary ? 1.0f : *px + (float)p->p[0];
            hits++;
        }
    }
    return hits;
}

/* ---- the simulator ------------------------------------------------------------- */

typedef struct {
    hd_simulator sim; /* first: the simulator is the allocation */
    hd_tracker_opts opts;
    hd_event_source src;
} tracker_sim;

static uint64_t draw_index(const hd_event_source *src, hd_rng *rng)
{
    if (src->n_events) return hd_rng_below(rng, (uint32_t)src->n_events);
    uint64_t hi = hd_rng_u32(rng);
    return hi << 32 | hd_rng_u32(rng);
}

static int simulate(const hd_simulator *s, const double *theta, int64_t n, hd_rng *rng, float *out)
{
    const tracker_sim *t = s->state;
    int64_t size = hd_simulator_obs_size(s);
    hd_event ev = {0};
    int rc = HD_OK;
    for (int64_t i = 0; i < n; i++) {
        float *image = out + i * size;
        memset(image, 0, (size_t)size * sizeof *image);
        rc = t->src.event(t->src.source, draw_index(&t->src, rng), &ev);
        if (rc < 0) break;
        int64_t hits = hd_tracker_hits(&t->opts, &ev, theta[0], image);
        if (hits < 0) {
            rc = (int)hits;
            break;
        }
    }
    hd_event_free(&ev);
    return rc < 0 ? rc : HD_OK;
}

static void destroy(hd_simulator *s) { hd_free(s); }

hd_simulator *hd_tracker_sim_new(const hd_tracker_opts *o, hd_event_source src, double lo, double hi)
{
    if (check_opts("hd_tracker_sim_new", o)) return NULL;
    if (!src.event) {
        hd_error(HD_EINVAL, "hd_tracker_sim_new: the event source has no event function");
        return NULL;
    }
    if (src.n_events > UINT32_MAX) {
        hd_error(HD_EINVAL, "hd_tracker_sim_new: a pool of %llu events, more than 2^32 - 1",
                 (unsigned long long)src.n_events);
        return NULL;
    }
    if (!(lo <= hi && isfinite(lo) && isfinite(hi))) {
        hd_error(HD_EINVAL, "hd_tracker_sim_new: offset box [%g, %g] mm must be finite with lo <= hi", lo, hi);
        return NULL;
    }
    tracker_sim *t = hd_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->opts = *o;
    t->src = src;
    t->sim = (hd_simulator){.name = "tracker",
                            .n_params = 1,
                            .param_names = {"offset"},
                            .lo = {lo},
                            .hi = {hi},
                            .obs_ndim = 3,
                            .obs_shape = {o->n_layers, o->n_eta, o->n_phi},
                            .simulate = simulate,
                            .destroy = destroy,
                            .state = t,
                            .obs_label = "phi|eta",
                            .obs_extent = {0, 2 * HD_PI, -o->eta_max, o->eta_max}};
    return &t->sim;
}
