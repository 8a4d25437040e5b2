/* The Weinberg simulator of the AVO paper (Louppe, Hermans, Cranmer,
 * arXiv:1707.07113; docs/tracker.md): x = cos A of the muon in
 * e+e- -> mu+mu-, from p(x) ~ 1 + x^2 + c x on [-1, 1].
 *
 * Sampling is by inverting the CDF exactly (to 1e-13, far below float
 * resolution), one 53-bit uniform per observation, so the draws an
 * observation takes never depend on c.  For |c| > 2 (reachable inside the
 * box, up to |c| = 2.4) 1 + x^2 + c x dips below 0 near x = -sign(c); the
 * density is clamped at 0 there, as the paper's rejection sampler does
 * silently.  p(x; c) = p(-x; -c), so x is drawn for |c| and flipped. */
#include "hadron/sim.h"

#include <math.h>

#define M_Z 90.0 /* GeV, the value of the paper's code */

double hd_weinberg_c(double e_beam, double g_f)
{
    return 2 * tanh(10 * (2 * e_beam - M_Z) / M_Z) * g_f;
}

static double density(double c, double x) { return 1 + x * x + c * x; }

static double antiderivative(double c, double x) { return x + x * x * x / 3 + 0.5 * c * x * x; }

/* The lower end of the support for c >= 0: -1, or the root of 1 + x^2 + c x
 * inside [-1, 0) when c > 2 (the product of the roots is 1; this form does
 * not cancel). */
static double support_lo(double c) { return c > 2 ? -2 / (c + sqrt(c * c - 4)) : -1; }

/* The x in [lo, 1] with P(x) = target: Newton's method kept inside a
 * shrinking bracket (P is increasing there; its slope may vanish at lo). */
static double solve_cdf(double c, double lo, double target)
{
    double a = lo, b = 1, x = 0.5 * (lo + 1);
    for (int it = 0; it < 200; it++) {
        double g = antiderivative(c, x) - target;
        if (g > 0) b = x;
        else a = x;
        double next = x - g / density(c, x);
        if (!(next > a && next < b)) next = 0.5 * (a + b);
        if (fabs(next - x) < 1e-13 || b - a < 1e-13) return next;
        x = next;
    }
    return x;
}

static double uniform53(hd_rng *rng)
{
    uint64_t hi = hd_rng_u32(rng) >> 5, lo = hd_rng_u32(rng) >> 6;
    return (double)(hi << 26 | lo) * 0x1p-53;
}

static int simulate(const hd_simulator *s, const double *theta, int64_t n, hd_rng *rng, float *out)
{
    (void)s;
    double c = hd_weinberg_c(theta[0], theta[1]), a = fabs(c), lo = support_lo(a);
    double p_lo = antiderivative(a, lo), span = antiderivative(a, 1) - p_lo;
    for (int64_t i = 0; i < n; i++) {
        double x = solve_cdf(a, lo, p_lo + uniform53(rng) * span);
        out[i] = (float)(c < 0 ? -x : x);
    }
    return HD_OK;
}

static void destroy(hd_simulator *s) { hd_free(s); }

static double derived_c(const double *theta) { return hd_weinberg_c(theta[0], theta[1]); }

hd_simulator *hd_weinberg_new(void)
{
    hd_simulator *s = hd_calloc(1, sizeof *s);
    if (!s) return NULL;
    *s = (hd_simulator){.name = "weinberg",
                        .n_params = 2,
                        .param_names = {"E_beam", "G_f"},
                        .lo = {40, 0.5},
                        .hi = {50, 1.5},
                        .obs_ndim = 1,
                        .obs_shape = {1},
                        .simulate = simulate,
                        .destroy = destroy,
                        .obs_label = "cos A",
                        .derived_name = "c",
                        .derived = derived_c};
    return s;
}
