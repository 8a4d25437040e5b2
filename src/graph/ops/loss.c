/* Losses: scalar means over all elements, accumulated in double.  Each loss
 * is one per-element function giving the value and its partial derivatives
 * with respect to every input. */
#include "ops_common.h"

#include <math.h>

typedef double (*loss_elem)(const float *v, float *d); /* v: input values, d: partials */

static double softplus_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static double mse_elem(const float *v, float *d)
{
    double r = (double)v[0] - v[1];
    d[0] = (float)(2 * r);
    d[1] = (float)(-2 * r);
    return r * r;
}

static double bce_elem(const float *v, float *d) /* v: logit z, target t */
{
    double z = v[0], t = v[1];
    d[0] = (float)(sigmoid_d(z) - t);
    d[1] = (float)(-z);
    return softplus_d(z) - t * z;
}

static double binomial_elem(const float *v, float *d) /* v: logit z, k, n */
{
    double z = v[0], k = v[1], n = v[2];
    d[0] = (float)(n * sigmoid_d(z) - k);
    d[1] = (float)(-z);
    d[2] = (float)softplus_d(z);
    return k * softplus_d(-z) + (n - k) * softplus_d(z);
}

static double gaussian_elem(const float *v, float *d) /* v: mean, logvar, target */
{
    double r = (double)v[2] - v[0], w = exp(-(double)v[1]);
    d[0] = (float)(-r * w);
    d[1] = (float)(0.5 * (1 - r * r * w));
    d[2] = (float)(r * w);
    return 0.5 * ((double)v[1] + r * r * w);
}

static loss_elem elem_of(int op)
{
    switch (op) {
    case HD_OP_MSE: return mse_elem;
    case HD_OP_BCE_LOGITS: return bce_elem;
    case HD_OP_BINOMIAL_NLL: return binomial_elem;
    default: return gaussian_elem;
    }
}

static int shape_loss(hd_node *n)
{
    for (int j = 1; j < n->n_in; j++)
        if (!same_shape(n->in[0], n->in[j]))
            return hd_shape_error2(n, n->in[0], n->in[j], "must be equal");
    n->ndim = 0;
    return HD_OK;
}

static void loss_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    loss_elem f = elem_of(n->op);
    int64_t len = numel_of(n->in[0]);
    double total = 0;
    float v[3], d[3];
    for (int64_t i = 0; i < len; i++) {
        for (int j = 0; j < n->n_in; j++) v[j] = n->in[j]->val.data[i];
        total += f(v, d);
    }
    n->val.data[0] = (float)(total / (double)len);
}

static void loss_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    loss_elem f = elem_of(n->op);
    int64_t len = numel_of(n->in[0]);
    float scale = n->grad.data[0] / (float)len;
    float v[3], d[3];
    for (int64_t i = 0; i < len; i++) {
        for (int j = 0; j < n->n_in; j++) v[j] = n->in[j]->val.data[i];
        f(v, d);
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j]->needs_grad) n->in[j]->grad.data[i] += scale * d[j];
    }
}

/* The partials of mse and bce as nodes, times gy spread over the mean:
 * mse (2 (p - t), -2 (p - t)), bce (sigmoid(z) - t, -z). */
static int loss_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    hd_node *a = n->in[0], *b = n->in[1], *d;
    if (n->op == HD_OP_MSE) d = hd_scale(g, hd_sub(g, a, b), i ? -2.0f : 2.0f);
    else d = i ? hd_scale(g, a, -1.0f) : hd_sub(g, hd_sigmoid(g, a), b);
    *gx = hd_mul(g, hd_expand(g, gy, a, 1), d);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_mse = {"mse_loss", shape_loss, loss_fwd, loss_bwd, NULL, loss_vjp};
const hd_op hd_op_bce_logits = {"bce_logits_loss", shape_loss, loss_fwd, loss_bwd, NULL, loss_vjp};
const hd_op hd_op_binomial_nll = {"binomial_nll_loss", shape_loss, loss_fwd, loss_bwd, NULL, NULL};
const hd_op hd_op_gaussian_nll = {"gaussian_nll_loss", shape_loss, loss_fwd, loss_bwd, NULL, NULL};

hd_node *hd_mse_loss(hd_graph *g, hd_node *pred, hd_node *target)
{
    hd_node *in[2] = {pred, target};
    return hd_node_add(g, HD_OP_MSE, 2, in, NULL);
}

hd_node *hd_bce_logits_loss(hd_graph *g, hd_node *logits, hd_node *target)
{
    hd_node *in[2] = {logits, target};
    return hd_node_add(g, HD_OP_BCE_LOGITS, 2, in, NULL);
}

hd_node *hd_binomial_nll_loss(hd_graph *g, hd_node *logits, hd_node *k, hd_node *n)
{
    hd_node *in[3] = {logits, k, n};
    return hd_node_add(g, HD_OP_BINOMIAL_NLL, 3, in, NULL);
}

hd_node *hd_gaussian_nll_loss(hd_graph *g, hd_node *mean, hd_node *logvar, hd_node *target)
{
    hd_node *in[3] = {mean, logvar, target};
    return hd_node_add(g, HD_OP_GAUSSIAN_NLL, 3, in, NULL);
}

/* mixture_nll: params [..., 3K] (K weight logits, K means, K log sigmas per
 * target element), target t [...] and weight w [...]: the mean over the
 * elements of w * -log sum_k softmax(logits)_k N(t; m_k, e^(s_k)), the
 * constant 0.5 log(2 pi) dropped.  With a_k = log softmax_k - r_k^2 / 2 - s_k,
 * r_k = (t - m_k) e^(-s_k) and the responsibilities g_k = e^(a_k - lse(a)),
 * the partials are softmax_k - g_k, -g_k r_k e^(-s_k), g_k (1 - r_k^2) and
 * sum_k g_k r_k e^(-s_k) for t (times w); nll for w.  In double, per element. */
#define MIX_MAX_K 64

static int shape_mixture_nll(hd_node *n)
{
    const hd_node *p = n->in[0], *t = n->in[1], *w = n->in[2];
    if (!same_shape(t, w)) return hd_shape_error2(n, t, w, "must be equal (target and weight)");
    int ok = p->ndim == t->ndim + 1 && p->shape[p->ndim - 1] % 3 == 0 && p->shape[p->ndim - 1] >= 3 &&
             p->shape[p->ndim - 1] <= 3 * MIX_MAX_K;
    for (int i = 0; ok && i < t->ndim; i++) ok = p->shape[i] == t->shape[i];
    if (!ok) return hd_shape_error2(n, p, t, "do not match (params [..., 3K], K 1..64, for target [...])");
    n->ndim = 0;
    return HD_OK;
}

/* The element's nll; d (3K + 1 partials, target last) when not NULL. */
static double mixture_elem(const float *p, int k, double t, float *d)
{
    double a[MIX_MAX_K], r[MIX_MAX_K], wmax = -INFINITY, wsum = 0, amax = -INFINITY, asum = 0;
    for (int j = 0; j < k; j++) wmax = fmax(wmax, (double)p[j]);
    for (int j = 0; j < k; j++) wsum += exp((double)p[j] - wmax);
    double lnorm = wmax + log(wsum);
    for (int j = 0; j < k; j++) {
        r[j] = (t - (double)p[k + j]) * exp(-(double)p[2 * k + j]);
        a[j] = (double)p[j] - lnorm - 0.5 * r[j] * r[j] - (double)p[2 * k + j];
        amax = fmax(amax, a[j]);
    }
    for (int j = 0; j < k; j++) asum += exp(a[j] - amax);
    double lse = amax + log(asum);
    if (d) {
        double dt = 0;
        for (int j = 0; j < k; j++) {
            double gam = exp(a[j] - lse), is = exp(-(double)p[2 * k + j]);
            d[j] = (float)(exp((double)p[j] - lnorm) - gam);
            d[k + j] = (float)(-gam * r[j] * is);
            d[2 * k + j] = (float)(gam * (1 - r[j] * r[j]));
            dt += gam * r[j] * is;
        }
        d[3 * k] = (float)dt;
    }
    return -lse;
}

static void mixture_nll_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const hd_node *p = n->in[0];
    int k = (int)(p->val.shape[p->ndim - 1] / 3);
    int64_t len = numel_of(n->in[1]);
    double total = 0;
    for (int64_t i = 0; i < len; i++) {
        double w = n->in[2]->val.data[i];
        if (w != 0) total += w * mixture_elem(p->val.data + i * 3 * k, k, n->in[1]->val.data[i], NULL);
    }
    n->val.data[0] = (float)(total / (double)len);
}

static void mixture_nll_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    hd_node *p = n->in[0], *t = n->in[1], *w = n->in[2];
    int k = (int)(p->val.shape[p->ndim - 1] / 3);
    int64_t len = numel_of(t);
    float scale = n->grad.data[0] / (float)len, d[3 * MIX_MAX_K + 1];
    for (int64_t i = 0; i < len; i++) {
        float wi = w->val.data[i];
        if (wi == 0 && !w->needs_grad) continue;
        double nll = mixture_elem(p->val.data + i * 3 * k, k, t->val.data[i], d);
        if (w->needs_grad) w->grad.data[i] += scale * (float)nll;
        if (p->needs_grad)
            for (int j = 0; j < 3 * k; j++) p->grad.data[i * 3 * k + j] += scale * wi * d[j];
        if (t->needs_grad) t->grad.data[i] += scale * wi * d[3 * k];
    }
}

const hd_op hd_op_mixture_nll = {"mixture_nll_loss", shape_mixture_nll, mixture_nll_fwd, mixture_nll_bwd, NULL, NULL};

hd_node *hd_mixture_nll_loss(hd_graph *g, hd_node *params, hd_node *target, hd_node *weight)
{
    hd_node *in[3] = {params, target, weight};
    return hd_node_add(g, HD_OP_MIXTURE_NLL, 3, in, NULL);
}

/* gauss_kl: KL(N(mu, exp(lv)) || N(0, s^2)) summed over elements, the
 * regulariser of a Bayesian layer: 0.5 sum((mu^2 + e^lv) / s^2 - lv + log s^2 - 1). */
static int shape_gauss_kl(hd_node *n)
{
    float s = n->fp[0];
    if (!(s > 0.0f) || !isfinite(s)) return hd_error(HD_EINVAL, "gauss_kl: prior width %g is not positive", (double)s);
    if (!same_shape(n->in[0], n->in[1])) return hd_shape_error2(n, n->in[0], n->in[1], "mean and log-variance differ");
    n->ndim = 0;
    return HD_OK;
}

static void gauss_kl_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const float *mu = n->in[0]->val.data, *lv = n->in[1]->val.data;
    double inv_s2 = 1.0 / ((double)n->fp[0] * n->fp[0]), log_s2 = -log(inv_s2), total = 0;
    int64_t len = numel_of(n->in[0]);
    for (int64_t i = 0; i < len; i++)
        total += ((double)mu[i] * mu[i] + exp((double)lv[i])) * inv_s2 - lv[i] + log_s2 - 1.0;
    n->val.data[0] = (float)(0.5 * total);
}

static void gauss_kl_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    const float *mu = n->in[0]->val.data, *lv = n->in[1]->val.data;
    float dy = n->grad.data[0], inv_s2 = 1.0f / (n->fp[0] * n->fp[0]);
    int64_t len = numel_of(n->in[0]);
    if (n->in[0]->needs_grad) {
        float *dmu = n->in[0]->grad.data;
        for (int64_t i = 0; i < len; i++) dmu[i] += dy * mu[i] * inv_s2;
    }
    if (n->in[1]->needs_grad) {
        float *dlv = n->in[1]->grad.data;
        for (int64_t i = 0; i < len; i++) dlv[i] += 0.5f * dy * (expf(lv[i]) * inv_s2 - 1.0f);
    }
}

/* d/dmu = mu / s^2, d/dlogvar = (exp(logvar) / s^2 - 1) / 2. */
static int gauss_kl_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    float inv_s2 = 1.0f / (n->fp[0] * n->fp[0]);
    hd_node *d = i == 0 ? hd_scale(g, n->in[0], inv_s2)
                        : hd_scale(g, hd_add_scalar(g, hd_scale(g, hd_exp(g, n->in[1]), inv_s2), -1.0f), 0.5f);
    *gx = hd_mul(g, hd_expand(g, gy, n->in[i], 0), d);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_gauss_kl = {"gauss_kl", shape_gauss_kl, gauss_kl_fwd, gauss_kl_bwd, NULL, gauss_kl_vjp};

hd_node *hd_gauss_kl(hd_graph *g, hd_node *mean, hd_node *logvar, float prior_std)
{
    hd_node *in[2] = {mean, logvar};
    hd_op_args args = {.f = {prior_std}};
    return hd_node_add(g, HD_OP_GAUSS_KL, 2, in, &args);
}

/* softmax_cross_entropy: logits z and target t, both [N, C] (t one-hot or any
 * probabilities); the mean over rows of -sum_c t_c log softmax(z)_c, which is
 * PyTorch's CrossEntropyLoss with probability targets.  Log-sum-exp with the
 * row maximum subtracted, in double. */
static int shape_softmax_ce(hd_node *n)
{
    if (n->in[0]->ndim != 2) return hd_shape_error1(n, n->in[0], "logits must be [N, C]");
    if (!same_shape(n->in[0], n->in[1])) return hd_shape_error2(n, n->in[0], n->in[1], "must be equal");
    n->ndim = 0;
    return HD_OK;
}

static double row_logsumexp(const float *z, int64_t c)
{
    double m = z[0], s = 0;
    for (int64_t j = 1; j < c; j++) m = z[j] > m ? z[j] : m;
    for (int64_t j = 0; j < c; j++) s += exp((double)z[j] - m);
    return m + log(s);
}

static void softmax_ce_fwd(hd_graph *g, hd_node *n)
{
    (void)g;
    int64_t rows = n->in[0]->val.shape[0], c = n->in[0]->val.shape[1];
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *z = n->in[0]->val.data + r * c, *t = n->in[1]->val.data + r * c;
        double lse = row_logsumexp(z, c);
        for (int64_t j = 0; j < c; j++) total += (double)t[j] * (lse - z[j]);
    }
    n->val.data[0] = (float)(total / (double)rows);
}

static void softmax_ce_bwd(hd_graph *g, hd_node *n)
{
    (void)g;
    int64_t rows = n->in[0]->val.shape[0], c = n->in[0]->val.shape[1];
    double dy = (double)n->grad.data[0] / (double)rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *z = n->in[0]->val.data + r * c, *t = n->in[1]->val.data + r * c;
        double lse = row_logsumexp(z, c), t_sum = 0;
        for (int64_t j = 0; j < c; j++) t_sum += t[j];
        if (n->in[0]->needs_grad) {
            float *dz = n->in[0]->grad.data + r * c;
            for (int64_t j = 0; j < c; j++) dz[j] += (float)(dy * (exp((double)z[j] - lse) * t_sum - t[j]));
        }
        if (n->in[1]->needs_grad) {
            float *dt = n->in[1]->grad.data + r * c;
            for (int64_t j = 0; j < c; j++) dt[j] += (float)(dy * (lse - z[j]));
        }
    }
}

const hd_op hd_op_softmax_ce = {"softmax_cross_entropy_loss", shape_softmax_ce, softmax_ce_fwd, softmax_ce_bwd, NULL,
                                 NULL};

hd_node *hd_softmax_cross_entropy_loss(hd_graph *g, hd_node *logits, hd_node *target)
{
    hd_node *in[2] = {logits, target};
    return hd_node_add(g, HD_OP_SOFTMAX_CE, 2, in, NULL);
}
