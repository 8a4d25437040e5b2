/* A forward spectrometer with LHCb-like proportions (docs/tracking.md):
 * a vertex detector, two stations before a dipole magnet, three after it.
 * Tracks are straight outside the magnet and exact helices inside it. */
#include "tracking_internal.h"

#include <math.h>

/* p[GeV] = 0.3 B[T] R[m] for unit charge: the kick per metre of field. */
#define GEV_PER_TM 0.299792458

/* A uniform By over 4 m: 4 T m, LHCb's integrated field.  The yoke leaves
 * a rectangular bore, wider downstream (LHCb: ~300 mrad horizontally, ~250
 * mrad vertically); a track that leaves it or turns back inside is lost. */
static const double magnet_z0 = 3.0, magnet_z1 = 7.0, magnet_by = 1.0;
static const double bore_in_x = 1.3, bore_in_y = 1.1, bore_out_x = 2.1, bore_out_y = 1.75;

typedef struct {
    double z;              /* m */
    double half_x, half_y; /* the sensitive area is |x| < half_x, |y| < half_y */
    double r_hole;         /* beam pipe: no sensor and no material inside this radius */
    double bar_x;          /* dead support band |x| < bar_x (0: none) ... */
    int bar_above;         /* ... above the beam only (y > 0) when set, else above and below */
    double hit_eff;        /* probability that a crossing gives a usable hit */
    double p_int;          /* probability of a nuclear interaction in the plane's material */
} plane;

/* Vertex detector: 42 mm sensors around an 8 mm hole (LHCb's VELO, Run 1-2),
 * spaced closely near the interaction point so that wide-angle tracks still
 * cross three planes. */
#define VELO(z) {z, 0.042, 0.042, 0.008, 0, 0, 0.98, 0.0015}
/* Upstream stations: ~300 x 250 mrad, built as two halves meeting at x = 0,
 * where the frames and cooling leave a 2 cm dead band above and below the
 * beam pipe. */
#define UT(z) {z, 0.75, 0.65, 0.035, 0.010, 0, 0.97, 0.005}
/* Downstream stations: 6 m x 4.8 m around a 10 cm beam pipe, which hangs
 * from a 3 cm wide support above it that shadows all three stations. */
#define TST(z) {z, 3.0, 2.4, 0.10, 0.015, 1, 0.97, 0.005}

/* hd_trk_probability counts hits per group with one efficiency: every plane
 * of a group has the same hit_eff. */
static const plane planes[HD_TRK_N_PLANES] = {
    VELO(0.03), VELO(0.06), VELO(0.09), VELO(0.12), VELO(0.15), VELO(0.18), VELO(0.21),
    VELO(0.24), VELO(0.27), VELO(0.35), VELO(0.45), VELO(0.55), VELO(0.65), VELO(0.75),
    UT(2.35), UT(2.60),
    TST(7.85), TST(8.60), TST(9.35),
};

/* Masses in GeV and c tau in m (PDG). */
static const double mass[2] = {0.13957, 0.493677};
static const double ctau[2] = {7.8045, 3.711};

double hd_trk_plane_z(int i) { return planes[i].z; }

static int inside_frame(const plane *pl, double x, double y)
{
    return fabs(x) < pl->half_x && fabs(y) < pl->half_y && x * x + y * y >= pl->r_hole * pl->r_hole;
}

static int on_support(const plane *pl, double x, double y)
{
    return fabs(x) < pl->bar_x && (!pl->bar_above || y > 0);
}

static void record(hd_trk_path *out, int i, double x, double y, double s)
{
    const plane *pl = &planes[i];
    out->x[i] = x;
    out->y[i] = y;
    out->s[i] = s;
    if (inside_frame(pl, x, y)) {
        out->material |= 1u << i;
        if (!on_support(pl, x, y)) out->crossed |= 1u << i;
    }
    out->reached = i + 1;
}

/* Straight line from (x0, y0, s0) at z0 with slopes tx, ty and path per unit z
 * ds_dz, through the planes [first, last). */
static void straight(hd_trk_path *out, int first, int last, double z0, double x0, double y0, double s0,
                     double tx, double ty, double ds_dz)
{
    for (int i = first; i < last; i++) {
        double dz = planes[i].z - z0;
        record(out, i, x0 + tx * dz, y0 + ty * dz, s0 + ds_dz * dz);
    }
}

static int in_bore(double x, double y, double half_x, double half_y)
{
    return fabs(x) < half_x && fabs(y) < half_y;
}

/* A state on the track: position, path length, momentum components (GeV). */
typedef struct {
    double x, y, s, px, py, pz;
} state;

/* Through the uniform By field.  dpx/dz = -k with k = 0.3 q By is exact for
 * a field that depends on z only, so px falls linearly; pz follows from
 * |p|, and with alpha = atan2(px, pz), dz/pz integrates to (alpha0 - alpha1) / k.
 * Returns 0 when the track turns back or leaves the bore. */
static int through_magnet(state *st, double p, int charge)
{
    double k = GEV_PER_TM * charge * magnet_by, len = magnet_z1 - magnet_z0;
    double pxz2 = p * p - st->py * st->py; /* px^2 + pz^2 is conserved */
    double u0 = st->px, u1 = u0 - k * len;
    if (u1 * u1 >= pxz2) return 0; /* curls up inside the magnet */
    double pz0 = st->pz, pz1 = sqrt(pxz2 - u1 * u1);
    /* When px changes sign the track turns inside the magnet, at pz = |p_xz|:
     * that point must lie within the bore's widest part too. */
    if (u0 * u1 < 0) {
        double x_turn = st->x + (sqrt(pxz2) - pz0) / k;
        if (fabs(x_turn) >= bore_out_x) return 0;
    }
    double dalpha = atan2(u0 * pz1 - u1 * pz0, pz0 * pz1 + u0 * u1); /* alpha0 - alpha1, same sign as k */
    st->x += len * (u0 + u1) / (pz0 + pz1);                          /* (pz1 - pz0) / k, without cancellation */
    st->y += st->py * dalpha / k;
    st->s += p * dalpha / k;
    st->px = u1;
    st->pz = pz1;
    return in_bore(st->x, st->y, bore_out_x, bore_out_y);
}

/* Straight from the origin through the planes before the magnet; returns 0
 * when the track misses the magnet's bore, else its state at the entrance.
 * The charge plays no part yet. */
static int upstream(const hd_trk_particle *in, hd_trk_path *out, state *st)
{
    double pt = 1e-3 * in->pt, e = exp(in->eta); /* MeV -> GeV; sinh and cosh from one exp */
    double p = 0.5 * pt * (e + 1 / e);
    *st = (state){0, 0, 0, pt * cos(in->phi), pt * sin(in->phi), 0.5 * pt * (e - 1 / e)};
    out->p = p;
    out->reached = 0;
    out->crossed = out->material = 0;
    double tx = st->px / st->pz, ty = st->py / st->pz, ds_dz = p / st->pz;
    straight(out, 0, HD_TRK_FIRST_T, 0, 0, 0, 0, tx, ty, ds_dz);
    st->x = tx * magnet_z0;
    st->y = ty * magnet_z0;
    st->s = ds_dz * magnet_z0;
    return in_bore(st->x, st->y, bore_in_x, bore_in_y);
}

/* From the magnet entrance through the downstream stations. */
static void downstream(hd_trk_path *out, state st, int charge)
{
    if (!through_magnet(&st, out->p, charge)) return;
    straight(out, HD_TRK_FIRST_T, HD_TRK_N_PLANES, magnet_z1, st.x, st.y, st.s, st.px / st.pz, st.py / st.pz,
             out->p / st.pz);
}

void hd_trk_propagate(const hd_trk_particle *in, hd_trk_path *out)
{
    state st;
    if (upstream(in, out, &st)) downstream(out, st, in->charge);
}

void hd_trk_propagate_both(const hd_trk_particle *in, hd_trk_path out[2])
{
    state st;
    int into_magnet = upstream(in, &out[0], &st);
    out[1] = out[0];
    if (into_magnet) {
        downstream(&out[0], st, -1);
        downstream(&out[1], st, +1);
    }
}

double hd_trk_decay_mean(const hd_trk_path *path, int species)
{
    return path->p / mass[species] * ctau[species];
}

uint32_t hd_trk_hits_before(const hd_trk_path *path, double decay_length)
{
    uint32_t hits = 0;
    for (int i = 0; i < path->reached && path->s[i] < decay_length; i++) hits |= path->crossed & (1u << i);
    return hits;
}

static int count(uint32_t bits) { return __builtin_popcount(bits); }

int hd_trk_reconstructed(uint32_t hits, int min_t)
{
    return count(hits & HD_TRK_MASK_VELO) >= HD_TRK_MIN_VELO && count(hits & HD_TRK_MASK_UT) >= HD_TRK_MIN_UT &&
           count(hits & HD_TRK_MASK_T) >= min_t;
}

/* The particle is alive at plane i when it has not decayed (s < decay length)
 * and has not interacted in the material of an earlier plane.  Interactions
 * use one uniform u: it survives the material up to plane i while u is below
 * the product of (1 - p_int) over the material crossed before i, which has
 * the same law as an independent draw per plane. */
uint32_t hd_trk_sample_hits(const hd_trk_path *path, int species, hd_rng *rng)
{
    double decay = -hd_trk_decay_mean(path, species) * log1p(-hd_trk_uniform53(rng));
    double u_int = hd_trk_uniform53(rng), survive = 1;
    uint32_t hits = 0;
    for (int i = 0; i < path->reached && path->s[i] < decay && u_int < survive; i++) {
        if ((path->crossed & (1u << i)) && hd_rng_uniform(rng) < planes[i].hit_eff) hits |= 1u << i;
        if (path->material & (1u << i)) survive *= 1 - planes[i].p_int;
    }
    return hits;
}

/* P(at least k of n hits), each with probability e, as 1 - P(fewer than k):
 * k <= 3 terms, with q^(n - j) by multiplication (n <= 14). */
static double at_least(int n, int k, double e)
{
    if (n < k) return 0; /* exactly, where the sum below would leave rounding */
    double below = 0;
    for (int j = 0; j < k; j++) {
        double term = 1;
        for (int i = 0; i < j; i++) term *= e * (double)(n - i) / (double)(i + 1);
        for (int i = j; i < n; i++) term *= 1 - e;
        below += term;
    }
    return 1 - below;
}

/* The parts of the detection probability that do not depend on the species. */
typedef struct {
    double upstream;                /* P(enough vertex and upstream hits) */
    double material[HD_TRK_N_T];    /* P(no interaction before downstream station j) */
    double enough[HD_TRK_N_T];      /* P(enough downstream hits among stations <= j) */
} detection;

/* The vertex and upstream hits come first: a particle that dies before the
 * downstream stations is lost whatever they were, so their probability
 * factorises.  Returns 0 when the track cannot be reconstructed at all. */
static int detection_parts(const hd_trk_path *path, int min_t, detection *d)
{
    if (path->reached < HD_TRK_N_PLANES) return 0;
    d->upstream = at_least(count(path->crossed & HD_TRK_MASK_VELO), HD_TRK_MIN_VELO, planes[0].hit_eff) *
                  at_least(count(path->crossed & HD_TRK_MASK_UT), HD_TRK_MIN_UT, planes[HD_TRK_FIRST_UT].hit_eff);
    if (d->upstream == 0) return 0;
    double material = 1;
    for (int i = 0; i < HD_TRK_N_PLANES; i++) {
        if (i >= HD_TRK_FIRST_T) {
            int j = i - HD_TRK_FIRST_T, n = count(path->crossed & HD_TRK_MASK_T & ((2u << i) - 1u));
            d->material[j] = material;
            d->enough[j] = at_least(n, min_t, planes[i].hit_eff);
        }
        if (path->material & (1u << i)) material *= 1 - planes[i].p_int;
    }
    return 1;
}

/* With A_j the probability to be alive at downstream station j (no decay
 * and no interaction before it), the particle dies between j and j + 1 with
 * probability A_j - A_(j+1) and then has only the hits up to j. */
static double detection_probability(const hd_trk_path *path, const detection *d, int species)
{
    double lambda = hd_trk_decay_mean(path, species), alive[HD_TRK_N_T + 1] = {0}, p = 0;
    for (int j = 0; j < HD_TRK_N_T; j++) alive[j] = d->material[j] * exp(-path->s[HD_TRK_FIRST_T + j] / lambda);
    for (int j = 0; j < HD_TRK_N_T; j++) p += (alive[j] - alive[j + 1]) * d->enough[j];
    return d->upstream * p;
}

double hd_trk_probability(const hd_trk_path *path, int species, int min_t)
{
    detection d;
    return detection_parts(path, min_t, &d) ? detection_probability(path, &d, species) : 0;
}

double hd_trk_probability_mix(const hd_trk_path *path, int min_t)
{
    detection d;
    if (!detection_parts(path, min_t, &d)) return 0;
    return (1 - HD_TRK_KAON_FRACTION) * detection_probability(path, &d, HD_TRK_PION) +
           HD_TRK_KAON_FRACTION * detection_probability(path, &d, HD_TRK_KAON);
}
