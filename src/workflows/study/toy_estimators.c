/* The estimators of the toy study: from a training sample of n events
 * (x1, x2), the statistics of S = x1 + x2 for a target of many events.
 *   sample   the n sums themselves;
 *   library  all n^2 permuted pairs x1_i + x2_j (the seed's "1K samples
 *            with permutations");
 *   fit      a log-normal fitted to each variable (mean and standard
 *            deviation of ln x), its sum's statistics exactly;
 *   gmm      a Gaussian mixture of (ln x1, ln x2), n_target events drawn;
 *   wgan-gp  a small WGAN-GP on the standardised (ln x1, ln x2) (the gen
 *            workflow's networks, unconditional: a constant condition),
 *            n_target events drawn. */
#include "study_internal.h"

#include <math.h>
#include <string.h>

const double toy_q[TOY_NQ] = {0.5, 0.9, 0.99, 0.999, 0.9999};

const char *hd_toy_estimator_name(hd_toy_estimator e)
{
    static const char *const names[HD_TOY_ESTIMATORS] = {"sample", "library-cut", "library", "lognormal-fit", "gmm",
                                                         "wgan-gp"};
    return (unsigned)e < HD_TOY_ESTIMATORS ? names[e] : "?";
}

const char *hd_toy_stat_name(int i)
{
    static const char *const names[TOY_NSTAT] = {"q0.5", "q0.9", "q0.99", "q0.999", "q0.9999", "tail1", "tail2",
                                                 "tail3"};
    return i >= 0 && i < TOY_NSTAT ? names[i] : "?";
}

static double threshold(const toy_spec *sp, int i) { return sp->cut * (i + 1); }
static double bin_width(const toy_spec *sp) { return 3 * sp->cut / TOY_BINS; }

void toy_sample_stats(const toy_spec *sp, int64_t m, double *sums, double *stats, double *hist)
{
    hd_sort_doubles(sums, m);
    for (int i = 0; i < TOY_NQ; i++) stats[i] = hd_quantile_sorted(sums, m, toy_q[i]);
    for (int i = 0; i < TOY_NT; i++) {
        double t = threshold(sp, i);
        int64_t lo = 0, hi = m; /* the first sum above t */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (sums[mid] > t) hi = mid;
            else lo = mid + 1;
        }
        stats[TOY_NQ + i] = (double)(m - lo) / (double)m;
    }
    double w = bin_width(sp);
    memset(hist, 0, TOY_BINS * sizeof *hist);
    for (int64_t j = 0; j < m; j++) {
        double b = sums[j] / w;
        if (b >= 0 && b < TOY_BINS) hist[(int)b] += 1;
    }
    for (int b = 0; b < TOY_BINS; b++) hist[b] /= (double)m * w;
}

void toy_exact_stats(const toy_spec *sp, const hd_lognormal_pair *p, double *stats, double *hist)
{
    for (int i = 0; i < TOY_NQ; i++) stats[i] = hd_lognormal_sum_quantile(p, toy_q[i]);
    for (int i = 0; i < TOY_NT; i++) stats[TOY_NQ + i] = hd_lognormal_sum_sf(p, threshold(sp, i));
    double w = bin_width(sp), prev = 1;
    for (int b = 0; b < TOY_BINS; b++) {
        double sf = hd_lognormal_sum_sf(p, w * (b + 1));
        hist[b] = (prev - sf) / w;
        prev = sf;
    }
}

/* ---- the estimators ---------------------------------------------------------------- */

static void fit_lognormal(int64_t n, const double *x, int k, double *mu, double *sigma)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += log(x[2 * i + k]);
    *mu = s / (double)n;
    for (int64_t i = 0; i < n; i++) s2 += (log(x[2 * i + k]) - *mu) * (log(x[2 * i + k]) - *mu);
    *sigma = sqrt(s2 / (double)(n - 1));
}

static int gmm_draw(const toy_spec *sp, int64_t n, const double *x, int r, double *sums)
{
    int64_t m = sp->n_target;
    float *lx = hd_malloc((size_t)(2 * n) * sizeof(float)), *noise = hd_malloc((size_t)(3 * m) * sizeof(float));
    float *out = hd_malloc((size_t)(2 * m) * sizeof(float));
    hd_gmm gm = {0};
    int rc = lx && noise && out ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) {
        for (int64_t i = 0; i < 2 * n; i++) lx[i] = (float)log(x[i]);
        hd_gmm_opts go = hd_gmm_opts_default();
        go.k = sp->gmm_k;
        go.seed = sp->seed + (uint64_t)r;
        rc = hd_gmm_fit(&go, n, 2, lx, &gm);
    }
    if (rc == HD_OK) {
        hd_rng g;
        hd_rng_init(&g, sp->seed + (uint64_t)r, HD_STREAM_NOISE);
        hd_rng_fill_normal(&g, noise, 3 * m, 0.0f, 1.0f);
        rc = hd_gmm_sample_cond(&gm, 0, m, NULL, noise, out);
    }
    for (int64_t i = 0; rc == HD_OK && i < m; i++) sums[i] = exp((double)out[2 * i]) + exp((double)out[2 * i + 1]);
    hd_gmm_release(&gm);
    hd_free(lx);
    hd_free(noise);
    hd_free(out);
    return rc;
}

/* Networks and optimiser of the toy's WGAN-GP (docs/studies.md) */
static hd_gen_opts wgan_opts(const toy_spec *sp, int r)
{
    hd_gen_opts o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    o.seed = sp->seed * 1000 + (uint64_t)r;
    o.batch = 256;
    o.latent = 2;
    o.gp_lambda = 1.0f; /* at 10 the generators of this toy collapsed (spreads 0.1-0.5 of the data's) */
    o.gen_layers.n_hidden = o.critic_layers.n_hidden = 2;
    o.gen_layers.hidden[0] = o.gen_layers.hidden[1] = 64;
    o.critic_layers.hidden[0] = o.critic_layers.hidden[1] = 64;
    o.critic_norm = 0; /* layer norm on two inputs would make the critic blind to their scale */
    o.optim_gen.lr = o.optim_critic.lr = 1e-3f;
    return o;
}

/* Generated (f1, f2) back to x1 + x2 through the standardisation. */
static int wgan_sample(gen_net *net, const double *m, const double *s, int64_t n_target, uint64_t seed, double *sums)
{
    enum { CHUNK = 8192 };
    int rc = hd_graph_set_batch(net->g, CHUNK);
    hd_rng g;
    hd_rng_init(&g, seed, HD_STREAM_USER);
    for (int64_t done = 0; rc == HD_OK && done < n_target; done += CHUNK) {
        memset(hd_node_value(net->cond)->data, 0, CHUNK * sizeof(float));
        hd_rng_fill_normal(&g, hd_node_value(net->z)->data, CHUNK * net->latent, 0.0f, 1.0f);
        if ((rc = hd_graph_forward(net->g, net->fake)) != HD_OK) break;
        const float *f = hd_node_value(net->fake)->data;
        int64_t k = n_target - done < CHUNK ? n_target - done : CHUNK;
        for (int64_t i = 0; i < k; i++)
            sums[done + i] = exp(m[0] + s[0] * f[2 * i]) + exp(m[1] + s[1] * f[2 * i + 1]);
    }
    return rc;
}

static int wgan_draw(const toy_spec *sp, int64_t n, const double *x, int r, double *sums)
{
    hd_gen_opts o = wgan_opts(sp, r);
    double m[2], s[2];
    for (int k = 0; k < 2; k++) fit_lognormal(n, x, k, &m[k], &s[k]);
    hd_calo_layout none;
    memset(&none, 0, sizeof none);
    gen_net net;
    int rc = gen_net_build(&net, &o, 2, 1, &none, NULL);
    if (rc != HD_OK) return rc;
    hd_rng pick;
    hd_rng_init(&pick, o.seed, HD_STREAM_SHUFFLE);
    memset(hd_node_value(net.cond)->data, 0, (size_t)o.batch * sizeof(float));
    for (int64_t step = 0; rc == HD_OK && step < sp->gan_steps; step++) {
        float *real = hd_node_value(net.real)->data;
        for (int64_t b = 0; b < o.batch; b++) {
            int64_t i = hd_rng_below(&pick, (uint32_t)n);
            for (int k = 0; k < 2; k++) real[2 * b + k] = (float)((log(x[2 * i + k]) - m[k]) / s[k]);
        }
        double cl, gl, st;
        float lr = o.optim_gen.lr * (1.0f - (float)step / (float)sp->gan_steps); /* linear decay to 0: the critic's oscillation dies out */
        hd_optim_set_lr(net.opt_g, lr);
        hd_optim_set_lr(net.opt_d, lr);
        rc = gen_net_step(&net, &o, step, &cl, &gl, &st);
    }
    if (rc == HD_OK) rc = wgan_sample(&net, m, s, sp->n_target, o.seed, sums);
    gen_net_free(&net);
    return rc;
}

int toy_estimate(const toy_spec *sp, hd_toy_estimator e, int64_t n, const double *x, int r, double *stats,
                 double *hist)
{
    if (e == HD_TOY_FIT) {
        hd_lognormal_pair p;
        fit_lognormal(n, x, 0, &p.mu1, &p.sigma1);
        fit_lognormal(n, x, 1, &p.mu2, &p.sigma2);
        toy_exact_stats(sp, &p, stats, hist);
        return HD_OK;
    }
    int64_t m = e == HD_TOY_SAMPLE ? n : e == HD_TOY_LIBRARY || e == HD_TOY_LIBRARY_CUT ? n * n : sp->n_target;
    double *sums = hd_malloc((size_t)m * sizeof(double));
    if (!sums) return HD_ENOMEM;
    int rc = HD_OK;
    if (e == HD_TOY_SAMPLE)
        for (int64_t i = 0; i < n; i++) sums[i] = x[2 * i] + x[2 * i + 1];
    else if (e == HD_TOY_LIBRARY || e == HD_TOY_LIBRARY_CUT)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) sums[i * n + j] = x[2 * i] + x[2 * j + 1];
    else
        rc = e == HD_TOY_GMM ? gmm_draw(sp, n, x, r, sums) : wgan_draw(sp, n, x, r, sums);
    if (rc == HD_OK) toy_sample_stats(sp, m, sums, stats, hist);
    hd_free(sums);
    return rc;
}
