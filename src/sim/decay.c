/* Decays of unstable hadrons (docs/events.md): a channel drawn by its
 * branching fraction, daughters flat in phase space (no matrix elements,
 * no widths: masses at the pole), boosted into the lab, produced where the
 * parent ends.  Particles whose ctau is under a micrometre (pi0, eta,
 * resonances) decay where they are made. */
#include "decay.h"

#include "particle_data.h"

#include <math.h>

#define PROMPT_CTAU 1e-3 /* mm */

int hd_kaon_mix(int pdg, hd_rng *rng)
{
    if (pdg != 311 && pdg != -311) return pdg;
    return hd_rng_u32(rng) >> 31 ? 310 : 130;
}

/* Momentum of either daughter of a two-body decay of mass m into a and b. */
static double two_body_p(double m, double a, double b)
{
    double s = (m - a - b) * (m + a + b) * (m - a + b) * (m + a - b);
    return s > 0 ? sqrt(s) / (2 * m) : 0;
}

/* A direction of length p, uniform on the sphere (Marsaglia 1972: no trigonometry). */
static void isotropic(hd_rng *rng, double p, double *v)
{
    double x, y, s;
    do {
        x = 2 * hd_u01(rng) - 1;
        y = 2 * hd_u01(rng) - 1;
        s = x * x + y * y;
    } while (s >= 1);
    double r = 2 * p * sqrt(1 - s);
    v[0] = r * x;
    v[1] = r * y;
    v[2] = p * (1 - 2 * s);
}

/* k (E, p) from the rest frame of a particle of mass m into the frame where it has momentum P (E, p). */
static void boost(const double *P, double m, double *k)
{
    double bp = (P[1] * k[1] + P[2] * k[2] + P[3] * k[3]) / m, e = k[0];
    double f = bp / (P[0] + m) + e / m;
    k[0] = (P[0] * e) / m + bp;
    for (int d = 1; d < 4; d++) k[d] += f * P[d];
}

/* Back-to-back pair of masses a, b in the rest frame of mass m. */
static void two_body(hd_rng *rng, double m, double a, double b, double *ka, double *kb)
{
    double v[3];
    isotropic(rng, two_body_p(m, a, b), v);
    ka[0] = sqrt(a * a + v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    kb[0] = sqrt(b * b + v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int d = 0; d < 3; d++) {
        ka[1 + d] = v[d];
        kb[1 + d] = -v[d];
    }
}

/* Flat three-body phase space: m12 by rejection on the product of the two
 * two-body momenta, then (12) + 3 and 1 + 2 in the (12) frame. */
static void three_body(hd_rng *rng, double m, const double *md, double k[3][4])
{
    double lo = md[0] + md[1], hi = m - md[2];
    double wmax = two_body_p(m, lo, md[2]) * two_body_p(hi, md[0], md[1]), m12;
    do m12 = lo + (hi - lo) * hd_u01(rng);
    while (hd_u01(rng) * wmax > two_body_p(m, m12, md[2]) * two_body_p(m12, md[0], md[1]));
    double k12[4];
    two_body(rng, m, m12, md[2], k12, k[2]);
    two_body(rng, m12, md[0], md[1], k[0], k[1]);
    boost(k12, m12, k[0]);
    boost(k12, m12, k[1]);
}

static const hd_decay_channel *pick_channel(const hd_pdg_info *e, hd_rng *rng)
{
    double u = hd_u01(rng), sum = 0;
    for (int c = 0; c < e->n_channels - 1; c++) {
        sum += hd_decay_table[e->first + c].br;
        if (u < sum) return &hd_decay_table[e->first + c];
    }
    return &hd_decay_table[e->first + e->n_channels - 1];
}

static void decay_point(const hd_particle *p, double ctau, hd_rng *rng, double *end)
{
    double scale = ctau >= PROMPT_CTAU ? -ctau * log(hd_u01(rng)) / p->mass : 0;
    for (int d = 0; d < 3; d++) end[d] = p->prod[d] + scale * p->p[1 + d];
    end[3] = p->prod[3] + scale * p->p[0];
}

static int decay_one(hd_event *ev, int64_t i, const hd_pdg_info *e, int vertex, hd_rng *rng)
{
    hd_particle parent = ev->p[i]; /* a copy: pushing may move the list */
    const hd_decay_channel *ch = pick_channel(e, rng);
    int codes[HD_DECAY_MAX_BODY];
    double md[HD_DECAY_MAX_BODY], k[HD_DECAY_MAX_BODY][4];
    for (int j = 0; j < ch->n; j++) {
        codes[j] = hd_kaon_mix(parent.pdg < 0 ? hd_pdg_conjugate(ch->d[j]) : ch->d[j], rng);
        md[j] = hd_pdg_lookup(codes[j])->mass;
    }
    if (ch->n == 2) two_body(rng, parent.mass, md[0], md[1], k[0], k[1]);
    else three_body(rng, parent.mass, md, k);
    decay_point(&parent, e->ctau, rng, ev->p[i].end);
    ev->p[i].status = 2;
    ev->p[i].has_end = 1;
    ev->p[i].end_vertex = vertex;
    for (int j = 0; j < ch->n; j++) {
        hd_particle *d = hd_event_push(ev);
        if (!d) return HD_ENOMEM;
        boost(parent.p, parent.mass, k[j]);
        d->pdg = codes[j];
        d->status = 1;
        d->mass = md[j];
        for (int c = 0; c < 4; c++) {
            d->p[c] = k[j][c];
            d->prod[c] = ev->p[i].end[c];
        }
        d->prod_vertex = vertex;
    }
    return HD_OK;
}

int hd_decay_all(hd_event *ev, int64_t first, int *next_vertex, hd_rng *rng)
{
    for (int64_t i = first; i < ev->n; i++) {
        const hd_pdg_info *e = hd_pdg_lookup(ev->p[i].pdg);
        if (!e || e->n_channels == 0) continue;
        int rc = decay_one(ev, i, e, (*next_vertex)++, rng);
        if (rc) return rc;
    }
    return HD_OK;
}
