/* 2 -> 3 events with their tree-level squared matrix elements: q qbar ->
 * gamma gamma g, or e+e- -> gamma* -> q qbar g (docs/amplitudes.md).
 *
 * q qbar -> gamma gamma g: for f(p1) fbar(p2) -> V(k1) V(k2) V(k3), three
 * massless vector bosons coupling to the fermion line through gamma^mu
 * alone (no boson self-coupling), the sum over all spins of |M|^2 per unit
 * couplings is
 *     R3 = 4 s sum_i (a_i^2 + b_i^2) / prod_{j != i} a_j b_j,
 *     a_i = p1.k_i, b_i = p2.k_i, s = 2 p1.p2,
 * the e+e- -> 3 gamma result.  With one boson a gluon every Feynman diagram
 * carries the same colour matrix T^a_ij, so colours factor out:
 * sum_colours |T^a_ij|^2 = C_F N_c = 4, and the average over the initial
 * 2 x 2 spins and 3 x 3 colours divides by 36:
 *     |M|^2 = e^4 Q^4 g_s^2 (4 / 36) R3.
 * Likewise q qbar -> gamma gamma: sum over spins 8 (a/b + b/a) with
 * a = p1.k1, b = p1.k2, colour sum N_c = 3, so |M|^2 = (2/3) e^4 Q^4 (a/b + b/a).
 *
 * e+(p1) e-(p2) -> gamma* -> q(k1) qbar(k2) g(k3): the lepton current, the
 * photon propagator 1/s and the quark line with the gluon on the quark or
 * on the antiquark.  Summed over all spins, per unit couplings,
 *     R = 8 [(p1.k1)^2 + (p1.k2)^2 + (p2.k1)^2 + (p2.k2)^2] / [p1.p2 k1.k3 k2.k3],
 * the colour sum is again C_F N_c = 4 and the average over the 2 x 2 lepton
 * spins divides by 4:  |M|^2 = e^4 Q^2 g_s^2 R.  Without the gluon,
 * |M|^2 = 6 e^4 Q^2 [(p1.k1)^2 + (p1.k2)^2] / (p1.p2)^2 = N_c e^4 Q^2 (1 + cos^2 theta).
 *
 * tests/test_amplitudes.c checks all four against an explicit sum over the
 * Feynman diagrams, and each 2 -> 3 over 2 -> 2 ratio against the
 * soft-gluon limit.
 *
 * Reproducibility: event i draws from its own range of blocks of the
 * (seed, HD_STREAM_SIM) stream (amplitudes_internal.h), so the arrays do
 * not depend on the thread count or the work split. */
#include "amplitudes_internal.h"

#include <math.h>


/* Events between progress reports. */
enum { ROUND_EVENTS = 1 << 14 };

/* e^2 = 4 pi alpha and g_s^2 = 4 pi alpha_s */
static const double E2 = 4 * HD_PI * HD_AMP_ALPHA, GS2 = 4 * HD_PI * HD_AMP_ALPHA_S;

hd_amplitude_opts hd_amplitude_opts_default(void)
{
    return (hd_amplitude_opts){.process = HD_AMP_QQBAR_AAG,
                               .seed = 1,
                               .part = 0,
                               .n_events = 30000,
                               .sqrt_s = 500,
                               .pt_min = 20,
                               .eta_max = 2.5,
                               .dr_min = 0.4,
                               .charge = 2.0 / 3.0};
}

double hd_me2_qqbar_aag(const double *p, double charge)
{
    double a[3], b[3];
    for (int i = 0; i < 3; i++) {
        a[i] = hd_amp_dot(p, p + 8 + 4 * i);
        b[i] = hd_amp_dot(p + 4, p + 8 + 4 * i);
    }
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, l = (i + 2) % 3;
        sum += (a[i] * a[i] + b[i] * b[i]) / (a[j] * b[j] * a[l] * b[l]);
    }
    double s = 2 * hd_amp_dot(p, p + 4), r3 = 4 * s * sum, q2 = charge * charge;
    return E2 * E2 * q2 * q2 * GS2 * (4.0 / 36.0) * r3;
}

double hd_me2_qqbar_aa(const double *p, double charge)
{
    double a = hd_amp_dot(p, p + 8), b = hd_amp_dot(p, p + 12); /* -t/2 and -u/2 */
    double q2 = charge * charge;
    return (2.0 / 3.0) * E2 * E2 * q2 * q2 * (a / b + b / a);
}

double hd_me2_ee_qqg(const double *p, double charge)
{
    const double *p1 = p, *p2 = p + 4, *k1 = p + 8, *k2 = p + 12, *k3 = p + 16;
    double a1 = hd_amp_dot(p1, k1), a2 = hd_amp_dot(p1, k2), b1 = hd_amp_dot(p2, k1), b2 = hd_amp_dot(p2, k2);
    double r = 8 * (a1 * a1 + a2 * a2 + b1 * b1 + b2 * b2) /
               (hd_amp_dot(p1, p2) * hd_amp_dot(k1, k3) * hd_amp_dot(k2, k3));
    return E2 * E2 * charge * charge * GS2 * (4.0 / 4.0) * r; /* colour sum 4, 4 lepton spin states */
}

double hd_me2_ee_qq(const double *p, double charge)
{
    double a = hd_amp_dot(p, p + 8), b = hd_amp_dot(p, p + 12), half_s = hd_amp_dot(p, p + 4); /* -t/2, -u/2 */
    return 6 * E2 * E2 * charge * charge * (a * a + b * b) / (half_s * half_s);
}

/* |M|^2 of an event of o->process */
static double me2(const hd_amplitude_opts *o, const double *p)
{
    return o->process == HD_AMP_EE_QQG ? hd_me2_ee_qqg(p, o->charge) : hd_me2_qqbar_aag(p, o->charge);
}

int hd_sim_amplitudes_check(const hd_amplitude_opts *o)
{
    if (o->process != HD_AMP_QQBAR_AAG && o->process != HD_AMP_EE_QQG)
        return hd_error(HD_EINVAL,
                        "hd_sim_amplitudes: process = %d must be HD_AMP_QQBAR_AAG (0) or HD_AMP_EE_QQG (1)",
                        (int)o->process);
    if (o->part < 0 || o->part >= HD_AMP_MAX_PARTS)
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: part = %d must be in [0, %d]", o->part, HD_AMP_MAX_PARTS - 1);
    if (o->n_events < 1 || o->n_events > HD_AMP_MAX_EVENTS)
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: n_events = %lld must be in [1, 2^36]", (long long)o->n_events);
    if (!(o->sqrt_s > 0 && o->sqrt_s <= 1e7))
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: sqrt_s = %g GeV must be in (0, 1e7]", o->sqrt_s);
    /* Three massless particles sharing sqrt(s) have min pT <= sqrt(s) / 3 (the Mercedes star). */
    if (!(o->pt_min > 0 && 3 * o->pt_min < o->sqrt_s))
        return hd_error(HD_EINVAL,
                        "hd_sim_amplitudes: pt_min = %g GeV must be in (0, sqrt_s / 3 = %g): |M|^2 diverges at pT = 0, "
                        "and three particles cannot all have more",
                        o->pt_min, o->sqrt_s / 3);
    if (!(o->eta_max > 0 && o->eta_max <= 20))
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: eta_max = %g must be in (0, 20]", o->eta_max);
    if (!(o->dr_min >= 0 && o->dr_min <= 20))
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: dr_min = %g must be in [0, 20]", o->dr_min);
    if (!(o->charge != 0 && isfinite(o->charge)))
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: charge = %g must be non-zero and finite (units of e)",
                        o->charge);
    return HD_OK;
}

int hd_sim_amplitudes(const hd_amplitude_opts *o, double *momenta, double *amp2)
{
    if (!o || !momenta || !amp2)
        return hd_error(HD_EINVAL, "hd_sim_amplitudes: NULL %s", !o ? "opts" : !momenta ? "momenta" : "amp2");
    int rc = hd_sim_amplitudes_check(o);
    if (rc) return rc;
    int failed = 0;
    for (int64_t first = 0; first < o->n_events; first += ROUND_EVENTS) {
        int64_t last = first + ROUND_EVENTS < o->n_events ? first + ROUND_EVENTS : o->n_events;
#pragma omp parallel for schedule(static)
        for (int64_t i = first; i < last; i++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop) continue;
            if (hd_amp_event(o, i, momenta + 20 * i) == 0) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            amp2[i] = me2(o, momenta + 20 * i);
        }
        if (failed)
            return hd_error(HD_EINVAL,
                            "hd_sim_amplitudes: no phase-space point in %d passed the cuts (pt_min = %g GeV, "
                            "eta_max = %g, dr_min = %g at sqrt_s = %g GeV): loosen them",
                            HD_AMP_MAX_TRIALS, o->pt_min, o->eta_max, o->dr_min, o->sqrt_s);
        if (o->progress) o->progress(o->user, (double)last / (double)o->n_events);
    }
    return HD_OK;
}
