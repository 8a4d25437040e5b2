/* e+e- -> gamma* / Z -> q qbar events at the Z pole with a string-like
 * fragmentation (docs/events.md).
 *
 * The hard process: flavour from the Z's partial widths (v^2 + a^2 of each
 * quark at sin^2 theta_W = 0.23122), the q qbar axis from 1 + cos^2 theta.
 * The fragmentation: one straight string from the quark (+ end) to the
 * antiquark (- end) in its rest frame, broken by new q qbar (or diquark
 * pairs) one hadron at a time from a randomly chosen end, each hadron
 * taking a fraction z of the light-cone momentum left at its end (z from
 * (1 - z)^c, c tuned to LEP's charged multiplicity) and a transverse momentum that is the difference of
 * the Gaussian kicks of its two constituents.  When the string left is
 * light, the last two hadrons share it exactly, so the event conserves
 * E, p (to rounding), charge and baryon number by construction.  Heavy
 * quarks fragment like the light quark of their charge (c like u, b like
 * d): no charm or bottom hadrons are made.  Unstable hadrons then decay
 * (decay.c).
 *
 * Event `index` draws from blocks index << 20 onwards of (seed,
 * HD_STREAM_SIM), so events do not depend on the order or the thread that
 * makes them; an event takes a few hundred blocks. */
#include "decay.h"
#include "particle_data.h"

#include <math.h>

#define SIN2_THETA_W 0.23122

/* Fragmentation parameters (docs/events.md says how they were chosen). */
#define Z_POWER 2.95     /* f(z) = (1 + c) (1 - z)^c of the light-cone fraction z a hadron takes */
#define SIGMA_KT 0.27    /* GeV: Gaussian kick of each new quark, per transverse component */
#define P_STRANGE 0.22   /* u : d : s = 1 : 1 : P_STRANGE in a new pair */
#define P_DIQUARK 0.05   /* a new pair is a ud diquark pair */
#define P_VECTOR 0.30    /* a light meson is a vector (rho, omega, K*, phi), not a pseudoscalar */
#define P_VECTOR_S 0.40  /* the same for a meson with a strange quark */
#define P_ETA 0.30       /* a u ubar or d dbar pseudoscalar that is not a pi0 becomes an eta (else redrawn) */
#define P_ETA_SS 0.5     /* an s sbar pseudoscalar becomes an eta (else redrawn) */
#define STOP_MASS 1.0    /* GeV: the last two hadrons are made below this string mass (+-20%) */
#define MIN_MASS 0.5     /* GeV: a step may not leave less string than this */

enum { EVENT_SHIFT = 20, MAX_TRIES = 100, DIQUARK = 4 };

hd_eeqq_opts hd_eeqq_opts_default(void) { return (hd_eeqq_opts){.seed = 1, .sqrt_s = 91.2}; }

/* ---- the hard process -------------------------------------------------------------- */

/* Quark flavour 1..5 (d u s c b) with probabilities proportional to v^2 + a^2. */
static int draw_flavour(hd_rng *rng)
{
    double vu = 0.5 - 4.0 / 3 * SIN2_THETA_W, vd = -0.5 + 2.0 / 3 * SIN2_THETA_W;
    double wu = vu * vu + 0.25, wd = vd * vd + 0.25, w[5] = {wd, wu, wd, wu, wd};
    double u = hd_u01(rng) * (3 * wd + 2 * wu);
    for (int q = 0; q < 4; q++) {
        if (u < w[q]) return q + 1;
        u -= w[q];
    }
    return 5;
}

/* cos theta from 1 + cos^2 theta: the root of x^3 + 3 x + 4 - 8 u = 0, which is t - 1 / t. */
static double draw_cos_theta(hd_rng *rng)
{
    double q = 4 - 8 * hd_u01(rng), t = cbrt(-0.5 * q + sqrt(0.25 * q * q + 1));
    return t - 1 / t;
}

static hd_particle *push(hd_event *ev, int pdg, int status, double mass, int prod_vertex, int end_vertex)
{
    hd_particle *p = hd_event_push(ev);
    if (!p) return NULL;
    p->pdg = pdg;
    p->status = status;
    p->mass = mass;
    p->prod_vertex = prod_vertex;
    p->end_vertex = end_vertex;
    p->has_end = end_vertex != 0;
    return p;
}

/* Beams (into vertex 1), the Z (1 -> 2), the quarks along +-axis (2 -> 3). */
static int hard_process(hd_event *ev, double sqrt_s, int q, const double *axis)
{
    double e = 0.5 * sqrt_s, me = hd_pdg_lookup(11)->mass, mq = hd_pdg_lookup(q)->mass;
    double pe = sqrt(e * e - me * me), pq = sqrt(e * e - mq * mq);
    if (!push(ev, 11, 4, me, 0, 1) || !push(ev, -11, 4, me, 0, 1) || !push(ev, 23, 22, sqrt_s, 1, 2) ||
        !push(ev, q, 23, mq, 2, 3) || !push(ev, -q, 23, mq, 2, 3))
        return HD_ENOMEM;
    hd_particle *p = ev->p;
    double mom[3][4] = {{e, 0, 0, pe}, {e, 0, 0, -pe}, {sqrt_s, 0, 0, 0}};
    for (int i = 0; i < 3; i++)
        for (int mu = 0; mu < 4; mu++) p[i].p[mu] = mom[i][mu];
    p[3].p[0] = p[4].p[0] = e;
    for (int d = 0; d < 3; d++) {
        p[3].p[1 + d] = pq * axis[d];
        p[4].p[1 + d] = -pq * axis[d];
    }
    return HD_OK;
}

/* ---- flavours: constituents 1 d, 2 u, 3 s, 4 (ud) diquark; negative: anti ------------ */

/* The constituent of a new pair facing the + end (an antitriplet: qbar or
 * ud) and the one facing the - end (a triplet: q or (ud)bar). */
static int anti_member(int f) { return f == DIQUARK ? DIQUARK : -f; }
static int triplet_member(int f) { return -anti_member(f); }

/* Pseudoscalar or vector meson of quark q and antiquark qb (1..3); 0: redraw. */
static int meson(int q, int qb, hd_rng *rng)
{
    int vector = hd_u01(rng) < (q == 3 || qb == 3 ? P_VECTOR_S : P_VECTOR);
    if (q != qb) {
        int hi = q > qb ? q : qb, lo = q + qb - hi, code = 100 * hi + 10 * lo + (vector ? 3 : 1);
        int up_type = hi == 2, hi_is_quark = hi == q; /* the PDG sign convention */
        return hd_kaon_mix(up_type == hi_is_quark ? code : -code, rng);
    }
    double u = hd_u01(rng);
    if (q == 3) return vector ? 333 : u < P_ETA_SS ? 221 : 0;
    if (vector) return u < 0.5 ? 113 : 223;
    return u < 0.5 ? 111 : u < 0.5 + 0.5 * P_ETA ? 221 : 0; /* isospin: half of u ubar, d dbar is pi0 */
}

/* The hadron of a triplet a and an antitriplet b; 0 when they make none (or a redraw). */
static int hadron_of(int a, int b, hd_rng *rng)
{
    static const int baryon[4] = {0, 2112, 2212, 3122}; /* d, u, s + ud */
    if (a > 0 && b < 0) return meson(a, -b, rng);
    if (a > 0 && b == DIQUARK) return baryon[a];
    if (a == -DIQUARK && b < 0) return -baryon[-b];
    return 0;
}

static int draw_pair(hd_rng *rng)
{
    if (hd_u01(rng) < P_DIQUARK) return DIQUARK;
    double u = hd_u01(rng) * (2 + P_STRANGE);
    return u < 1 ? 1 : u < 2 ? 2 : 3;
}

/* ---- the string -------------------------------------------------------------------- */

typedef struct {
    double w[2];     /* light-cone momentum left: W+ (index 0) and W- (index 1) */
    int end[2];      /* constituent at the + end (a triplet) and at the - end */
    double kt[2][2]; /* its transverse momentum */
} string;

typedef struct {
    int pdg;
    double mass, kt[2], mt2;
} hadron;

/* z from f(z) = (1 + c) (1 - z)^c by inversion. */
static double draw_z(hd_rng *rng) { return 1 - pow(hd_u01(rng), 1.0 / (1 + Z_POWER)); }

/* Two independent N(0, SIGMA_KT^2) (Marsaglia's polar method). */
static void gaussian_pair(hd_rng *rng, double *k)
{
    double x, y, s;
    do {
        x = 2 * hd_u01(rng) - 1;
        y = 2 * hd_u01(rng) - 1;
        s = x * x + y * y;
    } while (s >= 1 || s == 0);
    double f = SIGMA_KT * sqrt(-2 * log(s) / s);
    k[0] = f * x;
    k[1] = f * y;
}

/* A hadron at end `side`: a new pair, its kick, the hadron of the end and
 * the pair's member facing it.  *f is the pair (the new end's constituent follows from it). */
static hadron make_hadron(const string *s, int side, hd_rng *rng, int *f, double *k)
{
    hadron h;
    do {
        *f = draw_pair(rng);
        h.pdg = side == 0 ? hadron_of(s->end[0], anti_member(*f), rng) : hadron_of(triplet_member(*f), s->end[1], rng);
    } while (!h.pdg);
    gaussian_pair(rng, k);
    /* the triplet member carries +k, the antitriplet member -k */
    for (int d = 0; d < 2; d++) h.kt[d] = side == 0 ? s->kt[0][d] - k[d] : s->kt[1][d] + k[d];
    h.mass = hd_pdg_lookup(h.pdg)->mass;
    h.mt2 = h.mass * h.mass + h.kt[0] * h.kt[0] + h.kt[1] * h.kt[1];
    return h;
}

/* A primary hadron with light-cone momenta pp (p+), pm (p-) in the string frame. */
static int emit(hd_event *ev, const hadron *h, double pp, double pm)
{
    hd_particle *p = push(ev, h->pdg, 1, h->mass, 3, 0);
    if (!p) return HD_ENOMEM;
    p->p[0] = 0.5 * (pp + pm);
    p->p[1] = h->kt[0];
    p->p[2] = h->kt[1];
    p->p[3] = 0.5 * (pp - pm);
    return HD_OK;
}

/* One step from a random end; 0 done, 1 the string is too light for it (nothing changed). */
static int step(hd_event *ev, string *s, hd_rng *rng, int *rc)
{
    int side = (int)(hd_rng_u32(rng) >> 31), f;
    double k[2];
    hadron h = make_hadron(s, side, rng, &f, k);
    double own = draw_z(rng) * s->w[side], other = h.mt2 / own; /* this end's light-cone component, the other's */
    double left_own = s->w[side] - own, left_other = s->w[1 - side] - other;
    if (!(left_other > 0) || left_own * left_other < MIN_MASS * MIN_MASS) return 1;
    *rc = side == 0 ? emit(ev, &h, own, other) : emit(ev, &h, other, own);
    s->w[side] = left_own;
    s->w[1 - side] = left_other;
    s->end[side] = side == 0 ? triplet_member(f) : anti_member(f);
    for (int d = 0; d < 2; d++) s->kt[side][d] = side == 0 ? k[d] : -k[d];
    return 0;
}

/* The last two hadrons, one from each end, sharing W+ and W- exactly; 1 when the string is too light. */
static int final_two(hd_event *ev, const string *s, hd_rng *rng, int *rc)
{
    int f;
    double k[2];
    hadron h1 = make_hadron(s, 0, rng, &f, k), h2;
    do h2.pdg = hadron_of(triplet_member(f), s->end[1], rng);
    while (!h2.pdg && triplet_member(f) > 0);
    if (!h2.pdg) return 1; /* (ud)bar against ud: no hadron */
    for (int d = 0; d < 2; d++) h2.kt[d] = k[d] + s->kt[1][d];
    h2.mass = hd_pdg_lookup(h2.pdg)->mass;
    h2.mt2 = h2.mass * h2.mass + h2.kt[0] * h2.kt[0] + h2.kt[1] * h2.kt[1];
    double wp = s->w[0], wm = s->w[1], m2 = wp * wm, a = m2 + h1.mt2 - h2.mt2, disc = a * a - 4 * m2 * h1.mt2;
    if (!(disc >= 0) || sqrt(m2) < sqrt(h1.mt2) + sqrt(h2.mt2)) return 1;
    double pp1 = (a + sqrt(disc)) / (2 * wm), pm1 = h1.mt2 / pp1;
    *rc = emit(ev, &h1, pp1, pm1);
    if (*rc == HD_OK) *rc = emit(ev, &h2, wp - pp1, wm - pm1);
    return 0;
}

/* Primary hadrons of a string of mass sqrt_s from flavour q; 1 when it must be redone. */
static int fragment(hd_event *ev, double sqrt_s, int q, hd_rng *rng, int *rc)
{
    int light = q == 4 ? 2 : q == 5 ? 1 : q; /* c like u, b like d */
    string s = {{sqrt_s, sqrt_s}, {light, -light}, {{0, 0}, {0, 0}}};
    for (;;) {
        double stop = STOP_MASS * (0.8 + 0.4 * hd_u01(rng));
        if (s.w[0] * s.w[1] < stop * stop || step(ev, &s, rng, rc)) break;
        if (*rc) return 0;
    }
    for (int t = 0; t < 10; t++)
        if (!final_two(ev, &s, rng, rc)) return 0;
    return 1;
}

/* Rotates the string frame's z axis onto `axis` (at polar angle theta, azimuth phi). */
static void rotate(hd_particle *p, double ct, double st, double cp, double sp)
{
    double x = p->p[1], y = p->p[2], z = p->p[3];
    double x1 = x * ct + z * st, z1 = -x * st + z * ct;
    p->p[1] = x1 * cp - y * sp;
    p->p[2] = x1 * sp + y * cp;
    p->p[3] = z1;
}

int hd_eeqq_check(const hd_eeqq_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "hd_eeqq_event: NULL options");
    if (!(o->sqrt_s >= 10 && o->sqrt_s <= 1000))
        return hd_error(HD_EINVAL, "hd_eeqq_event: sqrt_s = %g GeV must be in [10, 1000]", o->sqrt_s);
    return HD_OK;
}

int hd_eeqq_event(const hd_eeqq_opts *o, uint64_t index, hd_event *ev)
{
    int rc = ev ? hd_eeqq_check(o) : hd_error(HD_EINVAL, "hd_eeqq_event: NULL event");
    if (rc) return rc;
    hd_rng rng;
    hd_rng_init(&rng, o->seed, HD_STREAM_SIM);
    rng.counter = index << EVENT_SHIFT;
    hd_event_clear(ev);
    int q = draw_flavour(&rng);
    double ct = draw_cos_theta(&rng), st = sqrt(fmax(0.0, 1 - ct * ct)), phi = 2 * HD_PI * hd_u01(&rng);
    double cp = cos(phi), sp = sin(phi), axis[3] = {st * cp, st * sp, ct};
    if ((rc = hard_process(ev, o->sqrt_s, q, axis))) return rc;
    int failed = 1;
    for (int t = 0; t < MAX_TRIES && failed; t++) {
        ev->n = 5;
        failed = fragment(ev, o->sqrt_s, q, &rng, &rc);
        if (rc) return rc;
    }
    if (failed)
        return hd_error(HD_EINVAL, "hd_eeqq_event: the string did not fragment in %d tries (sqrt_s = %g GeV)",
                        MAX_TRIES, o->sqrt_s);
    for (int64_t i = 5; i < ev->n; i++) rotate(ev->p + i, ct, st, cp, sp);
    int next_vertex = 4;
    return hd_decay_all(ev, 5, &next_vertex, &rng);
}
