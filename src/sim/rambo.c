/* Phase space of the amplitude simulator: RAMBO for massless particles,
 * the fiducial cuts, and one event drawn from its own random blocks. */
#include "amplitudes_internal.h"

#include <math.h>


double hd_amp_uniform(hd_rng *rng)
{
    uint64_t hi = hd_rng_u32(rng) >> 5, lo = hd_rng_u32(rng) >> 6;
    return ((double)(hi << 26 | lo) + 0.5) * 0x1p-53; /* never 0: RAMBO takes its log */
}

/* Isotropic massless q_i with energies drawn from q0 exp(-q0), then the
 * boost and scaling that take their sum to (w, 0, 0, 0); the map is
 * constructed so that the result is flat in phase space with a constant
 * weight for massless particles. */
void hd_rambo_massless(double w, int n, const double *u, double *k)
{
    double q[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        const double *r = u + 4 * i;
        double c = 2 * r[0] - 1, s = sqrt(fmax(0.0, 1 - c * c)), phi = 2 * HD_PI * r[1], e = -log(r[2] * r[3]);
        double *ki = k + 4 * i;
        ki[0] = e;
        ki[1] = e * s * cos(phi);
        ki[2] = e * s * sin(phi);
        ki[3] = e * c;
        for (int mu = 0; mu < 4; mu++) q[mu] += ki[mu];
    }
    double m = sqrt(hd_amp_dot(q, q)), gamma = q[0] / m, a = 1 / (1 + gamma), x = w / m;
    double b[3] = {-q[1] / m, -q[2] / m, -q[3] / m};
    for (int i = 0; i < n; i++) {
        double *ki = k + 4 * i, e = ki[0], bq = b[0] * ki[1] + b[1] * ki[2] + b[2] * ki[3];
        ki[0] = x * (gamma * e + bq);
        for (int d = 0; d < 3; d++) ki[1 + d] = x * (ki[1 + d] + b[d] * e + a * bq * b[d]);
    }
}

double hd_amp_dot(const double *a, const double *b) { return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]; }

double hd_amp_pt(const double *p) { return hypot(p[1], p[2]); }

double hd_amp_eta(const double *p) { return asinh(p[3] / hd_amp_pt(p)); }

double hd_amp_delta_r(const double *a, const double *b)
{
    double deta = hd_amp_eta(a) - hd_amp_eta(b), dphi = fabs(atan2(a[2], a[1]) - atan2(b[2], b[1]));
    if (dphi > HD_PI) dphi = 2 * HD_PI - dphi;
    return hypot(deta, dphi);
}

int hd_amp_pass_cuts(const hd_amplitude_opts *o, const double *k)
{
    for (int i = 0; i < 3; i++)
        if (!(hd_amp_pt(k + 4 * i) > o->pt_min) || !(fabs(hd_amp_eta(k + 4 * i)) < o->eta_max)) return 0;
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (!(hd_amp_delta_r(k + 4 * i, k + 4 * j) > o->dr_min)) return 0;
    return 1;
}

static void copy4(double *dst, const double *src)
{
    for (int mu = 0; mu < 4; mu++) dst[mu] = src[mu];
}

int64_t hd_amp_event(const hd_amplitude_opts *o, int64_t i, double *event)
{
    hd_rng rng;
    hd_rng_init(&rng, o->seed, HD_STREAM_SIM);
    rng.counter = (uint64_t)o->part << HD_AMP_PART_SHIFT | (uint64_t)i << HD_AMP_EVENT_SHIFT;
    for (int64_t t = 1; t <= HD_AMP_MAX_TRIALS; t++) {
        /* A trial takes whole blocks, so trial t starts at block t - 1 whatever the cuts did before. */
        double u[HD_AMP_UNIFORMS], k[12];
        for (int j = 0; j < HD_AMP_UNIFORMS; j++) u[j] = hd_amp_uniform(&rng);
        hd_rambo_massless(o->sqrt_s, 3, u, k);
        if (!hd_amp_pass_cuts(o, k)) continue;
        double e = 0.5 * o->sqrt_s;
        const double beam[8] = {e, 0, 0, e, e, 0, 0, -e};
        int lead = hd_amp_pt(k + 4) > hd_amp_pt(k) ? 1 : 0;
        copy4(event, beam);
        copy4(event + 4, beam + 4);
        copy4(event + 8, k + 4 * lead);
        copy4(event + 12, k + 4 * (1 - lead));
        copy4(event + 16, k + 8);
        return t;
    }
    return 0;
}
