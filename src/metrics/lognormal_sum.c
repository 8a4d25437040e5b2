/* The exact distribution of S = X1 + X2 for independent log-normal X1, X2,
 * by numerical convolution.  The line (or region) X1 + X2 = s is cut at
 * X1 = s/2 and X2 = s/2, so that each integral runs over the smaller
 * variable, x in (0, s/2], where the other's distribution at s - x >= s/2
 * is smooth; in u = ln x the integrand is a Gaussian density times that
 * smooth factor, integrated by Simpson's rule within 12 sigma of the
 * median.  The other variable's factor is resolved when the two sigmas are
 * within a factor 4 of each other (hd_lognormal_pair_check).  The survival
 * function is computed as such (never as 1 - cdf), so tail probabilities
 * keep their relative precision:
 *   P(S > s) = int_0^{s/2} f1(x) Q2(s - x) dx + int_0^{s/2} f2(x) Q1(s - x) dx + Q1(s/2) Q2(s/2)
 *   P(S <= s) = int_0^{s/2} f1(x) F2(s - x) dx + int_0^{s/2} f2(x) F1(s - x) dx - F1(s/2) F2(s/2)
 *   f_S(s) = int_0^{s/2} f1(x) f2(s - x) dx + int_0^{s/2} f2(x) f1(s - x) dx */
#include "hadron/metrics.h"

#include <math.h>

#define INTERVALS 2048 /* Simpson intervals (even); the tests compare against 8 times as many */
#define SPAN 12.0      /* sigmas about the median the integrals cover */

static double lognormal_pdf(double mu, double sigma, double x)
{
    if (!(x > 0)) return 0;
    double z = (log(x) - mu) / sigma;
    return exp(-0.5 * z * z) / (x * sigma * sqrt(2.0 * HD_PI));
}

static double lognormal_cdf(double mu, double sigma, double x)
{
    return x > 0 ? 0.5 * erfc(-(log(x) - mu) / (sigma * sqrt(2.0))) : 0;
}

static double lognormal_sf(double mu, double sigma, double x)
{
    return x > 0 ? 0.5 * erfc((log(x) - mu) / (sigma * sqrt(2.0))) : 1;
}

typedef enum { PART_SF, PART_CDF, PART_PDF } part;

static double other(part k, double mu, double sigma, double y)
{
    return k == PART_SF ? lognormal_sf(mu, sigma, y) : k == PART_CDF ? lognormal_cdf(mu, sigma, y)
                                                                      : lognormal_pdf(mu, sigma, y);
}

/* int_0^{s/2} f_a(x) g_b(s - x) dx with x = e^u: f_a(x) dx is the normal density of u */
static double half_integral(part k, double mu_a, double sig_a, double mu_b, double sig_b, double s, int intervals)
{
    double u0 = mu_a - SPAN * sig_a, u1 = fmin(log(0.5 * s), mu_a + SPAN * sig_a);
    if (u1 <= u0) return 0;
    double h = (u1 - u0) / intervals, sum = 0;
    for (int i = 0; i <= intervals; i++) {
        double u = u0 + h * i, z = (u - mu_a) / sig_a;
        double w = i == 0 || i == intervals ? 1 : i % 2 ? 4 : 2;
        sum += w * exp(-0.5 * z * z) * other(k, mu_b, sig_b, s - exp(u));
    }
    return sum * h / (3.0 * sig_a * sqrt(2.0 * HD_PI));
}

static double convolve(const hd_lognormal_pair *p, part k, double s, int intervals)
{
    if (!(s > 0)) return k == PART_SF ? 1 : 0;
    double a = half_integral(k, p->mu1, p->sigma1, p->mu2, p->sigma2, s, intervals);
    double b = half_integral(k, p->mu2, p->sigma2, p->mu1, p->sigma1, s, intervals);
    double h = 0.5 * s, v = a + b;
    if (k == PART_SF) v += lognormal_sf(p->mu1, p->sigma1, h) * lognormal_sf(p->mu2, p->sigma2, h);
    if (k == PART_CDF) v -= lognormal_cdf(p->mu1, p->sigma1, h) * lognormal_cdf(p->mu2, p->sigma2, h);
    return k == PART_PDF ? v : fmin(fmax(v, 0.0), 1.0); /* the rule's error can step past 0 or 1 */
}

int hd_lognormal_pair_check(const hd_lognormal_pair *p)
{
    if (!isfinite(p->mu1) || !isfinite(p->mu2) || fabs(p->mu1) > 100 || fabs(p->mu2) > 100)
        return hd_error(HD_EINVAL, "log-normal sum: mu %g and %g must be finite, |mu| <= 100", p->mu1, p->mu2);
    if (!(p->sigma1 >= 1e-3 && p->sigma1 <= 10) || !(p->sigma2 >= 1e-3 && p->sigma2 <= 10))
        return hd_error(HD_EINVAL, "log-normal sum: sigma %g and %g outside [0.001, 10]", p->sigma1, p->sigma2);
    if (p->sigma1 > 4 * p->sigma2 || p->sigma2 > 4 * p->sigma1)
        return hd_error(HD_EINVAL, "log-normal sum: sigmas %g and %g differ by more than a factor 4, which the "
                        "convolution's grid does not resolve", p->sigma1, p->sigma2);
    return HD_OK;
}

double hd_lognormal_sum_sf_n(const hd_lognormal_pair *p, double s, int intervals)
{
    return convolve(p, PART_SF, s, intervals);
}

double hd_lognormal_sum_sf(const hd_lognormal_pair *p, double s) { return convolve(p, PART_SF, s, INTERVALS); }
double hd_lognormal_sum_cdf(const hd_lognormal_pair *p, double s) { return convolve(p, PART_CDF, s, INTERVALS); }
double hd_lognormal_sum_pdf(const hd_lognormal_pair *p, double s) { return convolve(p, PART_PDF, s, INTERVALS); }

/* Bisection in ln s on whichever of cdf and sf is the smaller at q: the
 * quantile keeps its precision in both tails. */
double hd_lognormal_sum_quantile(const hd_lognormal_pair *p, double q)
{
    if (!(q > 0 && q < 1)) return NAN;
    double smax = fmax(p->sigma1, p->sigma2);
    double lo = fmin(p->mu1, p->mu2) - 15 * smax, hi = fmax(p->mu1, p->mu2) + 15 * smax + 1;
    int upper = q > 0.5;
    for (int it = 0; it < 80 && hi - lo > 1e-14 * fmax(1.0, fabs(lo)); it++) {
        double mid = 0.5 * (lo + hi), s = exp(mid);
        int above = upper ? hd_lognormal_sum_sf(p, s) < 1 - q : hd_lognormal_sum_cdf(p, s) > q;
        if (above) hi = mid;
        else lo = mid;
    }
    return exp(0.5 * (lo + hi));
}
