/* Unit-sum histograms with numpy's edges and bin rule, and the separation
 * power (triangular discrimination) of two of them (metrics.h). */
#include "hadron/metrics.h"

#include <math.h>

static int check_binning(const hd_hist_binning *b)
{
    if (!b) return hd_error(HD_EINVAL, "histogram: NULL binning");
    if (b->n_bins < 1 || b->n_bins > 100000000)
        return hd_error(HD_EINVAL, "histogram: %d bins, need 1 to 10^8", b->n_bins);
    if (!isfinite(b->lo) || !isfinite(b->hi) || !(b->hi > b->lo) || (b->log && !(b->lo > 0)))
        return hd_error(HD_EINVAL, "histogram: range [%g, %g]%s", b->lo, b->hi,
                        b->log ? " for log bins (need 0 < lo < hi)" : " (need lo < hi)");
    return HD_OK;
}

/* np.linspace(lo, hi, n + 1): lo + k step, the last exactly hi; np.logspace
 * is 10 to the power of the same in log10. */
int hd_hist_edges(const hd_hist_binning *b, double *edges)
{
    int rc = check_binning(b);
    if (rc != HD_OK) return rc;
    if (!edges) return hd_error(HD_EINVAL, "histogram: NULL edges");
    double lo = b->log ? log10(b->lo) : b->lo, hi = b->log ? log10(b->hi) : b->hi;
    double step = (hi - lo) / b->n_bins;
    for (int k = 0; k <= b->n_bins; k++) {
        double y = k == b->n_bins ? hi : k * step + lo;
        edges[k] = b->log ? pow(10.0, y) : y;
    }
    return HD_OK;
}

/* Bin of v among edges[0..n] (n bins), -1 outside: edges[k] <= v < edges[k + 1],
 * the last bin closed. */
static int64_t find_bin(const double *edges, int n, double v)
{
    if (!(v >= edges[0] && v <= edges[n])) return -1; /* NaN too */
    if (v == edges[n]) return n - 1;
    int lo = 0, hi = n; /* edges[lo] <= v < edges[hi] */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (v >= edges[mid]) lo = mid;
        else hi = mid;
    }
    return lo;
}

int hd_hist_unit(const hd_hist_binning *b, int64_t n, const float *x, int64_t stride, double *h, int64_t *n_in)
{
    if (n_in) *n_in = 0;
    int rc = check_binning(b);
    if (rc != HD_OK) return rc;
    if (!h || n < 0 || (n > 0 && (!x || stride < 1)))
        return hd_error(HD_EINVAL, "histogram: %lld values with stride %lld into %p", (long long)n, (long long)stride,
                        (void *)h);
    double *edges = hd_malloc(((size_t)b->n_bins + 1) * sizeof(double));
    if (!edges) return HD_ENOMEM;
    hd_hist_edges(b, edges);
    for (int k = 0; k < b->n_bins; k++) h[k] = 0;
    int64_t inside = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = find_bin(edges, b->n_bins, x[i * stride]);
        if (k < 0) continue;
        h[k] += 1;
        inside++;
    }
    hd_free(edges);
    if (inside > 0)
        for (int k = 0; k < b->n_bins; k++) h[k] /= (double)inside;
    if (n_in) *n_in = inside;
    return HD_OK;
}

double hd_separation_power(int n_bins, const double *h1, const double *h2)
{
    double s = 0;
    for (int k = 0; k < n_bins; k++) {
        double sum = h1[k] + h2[k], diff = h1[k] - h2[k];
        if (sum > 0) s += diff * diff / sum;
    }
    return 0.5 * s;
}
