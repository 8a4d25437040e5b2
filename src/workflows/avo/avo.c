/* The avo workflow: adversarial variational optimisation of simulator
 * parameters (seed 000; arXiv:1707.07113).  Each iteration trains the
 * discriminator for one epoch on fresh simulated data against the observed
 * data, then takes one Adam step on the proposal q(theta | mean,
 * softplus(rho)) along the score-function gradient
 *   grad = -mean_d (r_d - b) grad log q(theta_d) + gamma grad H(q),
 * r_d the discriminator's reward of the observations simulated at draw d,
 * b the mean reward (the baseline) or 0.
 *
 * Under mpirun (docs/distributed.md) each rank simulates a block of the
 * draws and the sets are summed over the ranks (the others' rows are 0),
 * the discriminator trains data-parallel, and every rank takes the same
 * proposal step from the same rewards; rank 0 writes. */
#include "avo_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STREAM_PROPOSAL (HD_STREAM_USER + 5)
#define STREAM_DISC (HD_STREAM_USER + 6)
#define STREAM_DERIVED (HD_STREAM_USER + 7)
#define DERIVED_DRAWS 16384
/* Simulator draws: slot s uses draws from s << SLOT_BITS; hd_simulator_run
 * addresses 2^32 draws, so at most MAX_ITERATIONS iterations. */
#define SLOT_BITS 20
#define MAX_ITERATIONS 2000
#define SLOT_OBSERVED 0
#define SLOT_PRETRAIN 1
#define SLOT_ITER(it, phase) (2 + 2 * (uint64_t)(it) + (phase))

static double softplus(double x) { return x > 30 ? x : log1p(exp(x)); }
static double softplus_inv(double y) { return y > 30 ? y : log(expm1(y)); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

hd_avo_opts hd_avo_opts_default(hd_simulator *sim)
{
    hd_avo_opts o = {.sim = sim, .n_observed = 4096, .seed = 1, .iterations = 256, .per_draw = 8,
                     .disc_samples = 4096, .pretrain_samples = 65536, .pretrain_epochs = 4, .proposal_draws = 256,
                     .batch = 32, .optim_disc = hd_optim_opts_default(HD_ADAM),
                     .optim_proposal = hd_optim_opts_default(HD_ADAM), .loss = HD_AVO_BCE, .baseline = 1,
                     .disc_hidden = 64};
    o.optim_proposal.lr = 0.02f;
    for (int k = 0; sim && k < sim->n_params; k++) {
        o.mean0[k] = 0.5 * (sim->lo[k] + sim->hi[k]);
        o.width0[k] = softplus(2.0);
    }
    return o;
}

/* The proposal: psi = (mean[k], rho[k]) as floats for the optimiser. */
typedef struct {
    int k;
    float psi[2 * HD_SIM_MAX_PARAMS], grad[2 * HD_SIM_MAX_PARAMS];
    hd_optim *opt;
} proposal;

static double width_of(const proposal *q, int j) { return softplus(q->psi[q->k + j]); }

static void draw(const proposal *q, hd_rng *rng, int64_t n, double *theta)
{
    for (int64_t d = 0; d < n; d++)
        for (int j = 0; j < q->k; j++)
            theta[d * q->k + j] = q->psi[j] + width_of(q, j) * (double)hd_rng_normal(rng);
}

/* Scaled simulated observations at n draws theta (slot picks the counters):
 * draws lo..hi-1 on each rank, then the whole set on every rank. */
static int simulate(const hd_avo_opts *o, const double *theta, int64_t n, uint64_t slot, float scale, hd_avo_set *out)
{
    int64_t size = hd_simulator_obs_size(o->sim), row = o->per_draw * size;
    int64_t rank = hd_dist_rank(), parts = hd_dist_size(), lo = n * rank / parts, hi = n * (rank + 1) / parts;
    out->n = n * o->per_draw;
    out->x = hd_malloc((size_t)(out->n * size) * sizeof(float));
    if (!out->x) return HD_ENOMEM;
    memset(out->x, 0, (size_t)(out->n * size) * sizeof(float));
    int rc = hi > lo ? hd_simulator_run(o->sim, hi - lo, theta + lo * o->sim->n_params, o->per_draw, o->seed,
                                        (slot << SLOT_BITS) + (uint64_t)lo, out->x + lo * row)
                     : HD_OK;
    for (int64_t i = lo * row; rc == HD_OK && i < hi * row; i++) out->x[i] *= scale;
    if (rc == HD_OK && parts > 1) rc = hd_dist_sum_float(out->x, out->n * size);
    return rc;
}

/* A discriminator epoch on disc_samples fresh observations from q. */
static int disc_phase(const hd_avo_opts *o, const proposal *q, hd_avo_disc *d, const hd_avo_set *obs, int64_t n_sim,
                      int epochs, uint64_t slot, float scale, double *loss)
{
    int64_t n = n_sim / o->per_draw;
    double *theta = hd_malloc((size_t)(n * q->k) * sizeof(double));
    hd_avo_set sim = {0};
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_PROPOSAL);
    rng.counter = slot << 32;
    int rc = theta ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) draw(q, &rng, n, theta);
    if (rc == HD_OK) rc = simulate(o, theta, n, slot, scale, &sim);
    hd_rng_init(&rng, o->seed, STREAM_DISC);
    rng.counter = slot << 32;
    for (int e = 0; rc == HD_OK && e < epochs; e++) rc = hd_avo_disc_epoch(d, &sim, obs, &rng, loss);
    hd_free(theta);
    hd_free(sim.x);
    return rc;
}

/* d log q / d psi at theta, into g[2k]. */
static void score(const proposal *q, const double *theta, double *g)
{
    for (int j = 0; j < q->k; j++) {
        double s = width_of(q, j), z = (theta[j] - q->psi[j]) / s;
        g[j] = z / s;
        g[q->k + j] = (z * z - 1.0) / s * sigmoid(q->psi[q->k + j]);
    }
}

static double neg_log_q(const proposal *q, const double *theta)
{
    double v = 0;
    for (int j = 0; j < q->k; j++) {
        double s = width_of(q, j), z = (theta[j] - q->psi[j]) / s;
        v += log(s) + 0.5 * z * z;
    }
    return v;
}

/* One score-function step of the proposal; *p_loss the seed's
 * mean(-log q * reward), *mean_reward the mean reward. */
static int proposal_phase(const hd_avo_opts *o, proposal *q, hd_avo_disc *d, int it, float scale, double *p_loss,
                          double *mean_reward)
{
    int64_t n = o->proposal_draws;
    uint64_t slot = SLOT_ITER(it, 1);
    double *theta = hd_malloc((size_t)(n * q->k) * sizeof(double));
    double *reward = hd_malloc((size_t)(n * o->per_draw) * sizeof(double));
    hd_avo_set sim = {0};
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_PROPOSAL);
    rng.counter = slot << 32;
    int rc = theta && reward ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) draw(q, &rng, n, theta);
    if (rc == HD_OK && (rc = simulate(o, theta, n, slot, scale, &sim)) == HD_OK) rc = hd_avo_disc_reward(d, &sim, reward);
    if (rc == HD_OK) {
        double b = 0, loss = 0, g[2 * HD_SIM_MAX_PARAMS], acc[2 * HD_SIM_MAX_PARAMS] = {0};
        for (int64_t i = 0; i < n; i++) { /* the reward of a draw: the mean over its observations */
            double r = 0;
            for (int64_t e = 0; e < o->per_draw; e++) r += reward[i * o->per_draw + e];
            reward[i] = r / (double)o->per_draw;
            b += reward[i] / (double)n;
        }
        for (int64_t i = 0; i < n; i++) {
            score(q, theta + i * q->k, g);
            for (int j = 0; j < 2 * q->k; j++) acc[j] += (reward[i] - (o->baseline ? b : 0.0)) * g[j] / (double)n;
            loss += neg_log_q(q, theta + i * q->k) * reward[i] / (double)n;
        }
        for (int j = 0; j < q->k; j++) {
            q->grad[j] = (float)-acc[j];
            q->grad[q->k + j] = (float)(-acc[q->k + j] + o->gamma * sigmoid(q->psi[q->k + j]) / width_of(q, j));
        }
        *p_loss = loss;
        *mean_reward = b;
        rc = hd_optim_step(q->opt, q->psi, q->grad);
        for (int j = 0; j < q->k; j++) /* the mean stays in the simulator's box */
            q->psi[j] = (float)fmin(fmax(q->psi[j], o->sim->lo[j]), o->sim->hi[j]);
    }
    hd_free(theta);
    hd_free(reward);
    hd_free(sim.x);
    return rc;
}

int hd_avo_check(const hd_avo_opts *o)
{
    if (!o->sim || !o->out_dir) return hd_error(HD_EINVAL, "avo: a simulator and an output directory are needed");
    if (!o->observed && !o->truth) return hd_error(HD_EINVAL, "avo: observed data or a truth to simulate them at");
    if (o->iterations < 1 || o->per_draw < 1 || o->batch < 2 || o->n_observed < 1 || o->proposal_draws < 2 ||
        o->disc_samples < o->batch || o->pretrain_samples < 0 || o->pretrain_epochs < 0 || !(o->r1 >= 0) ||
        !(o->gamma >= 0) || o->disc_hidden < 1)
        return hd_error(HD_EINVAL, "avo: iterations, observations per draw and counts must be positive, batch >= 2, "
                                   "r1 and gamma >= 0");
    if (o->batch / 2 < hd_dist_size())
        return hd_error(HD_EINVAL, "avo: batch %lld has fewer simulated rows than the %d ranks", (long long)o->batch,
                        hd_dist_size());
    int rc = hd_optim_check(&o->optim_disc);
    if (rc == HD_OK) rc = hd_optim_check(&o->optim_proposal);
    if (rc != HD_OK) return rc;
    if (o->iterations > MAX_ITERATIONS)
        return hd_error(HD_EINVAL, "avo: %d iterations, at most %d", o->iterations, MAX_ITERATIONS);
    int64_t most = o->pretrain_samples > o->disc_samples ? o->pretrain_samples : o->disc_samples;
    if (o->n_observed > most) most = o->n_observed;
    if (most / o->per_draw >= ((int64_t)1 << SLOT_BITS) || o->proposal_draws >= ((int64_t)1 << SLOT_BITS))
        return hd_error(HD_EINVAL, "avo: at most 2^%d parameter draws per phase (samples / per_draw)", SLOT_BITS);
    for (int k = 0; k < o->sim->n_params; k++) {
        if (!isfinite(o->mean0[k]) || !(o->width0[k] > 0) || !isfinite(o->width0[k]))
            return hd_error(HD_EINVAL, "avo: start of %s: mean %g, width %g (a finite mean and a width > 0)",
                            o->sim->param_names[k], o->mean0[k], o->width0[k]);
        if (o->truth && !(o->truth[k] >= o->sim->lo[k] && o->truth[k] <= o->sim->hi[k]))
            return hd_error(HD_EINVAL, "avo: truth %s = %g lies outside [%g, %g]", o->sim->param_names[k], o->truth[k],
                            o->sim->lo[k], o->sim->hi[k]);
    }
    return HD_OK;
}

/* The observed set, scaled by 1 / its RMS (*scale), which every simulated
 * set shares. */
static int observed_set(const hd_avo_opts *o, hd_avo_set *obs, float *scale)
{
    int64_t size = hd_simulator_obs_size(o->sim);
    int rc = HD_OK;
    if (o->observed) {
        obs->n = o->n_observed;
        obs->x = hd_malloc((size_t)(obs->n * size) * sizeof(float));
        if (!obs->x) return HD_ENOMEM;
        memcpy(obs->x, o->observed, (size_t)(obs->n * size) * sizeof(float));
    } else {
        int64_t n = (o->n_observed + o->per_draw - 1) / o->per_draw;
        double *theta = hd_malloc((size_t)(n * o->sim->n_params) * sizeof(double));
        if (!theta) return HD_ENOMEM;
        for (int64_t d = 0; d < n; d++) memcpy(theta + d * o->sim->n_params, o->truth, o->sim->n_params * sizeof(double));
        rc = simulate(o, theta, n, SLOT_OBSERVED, 1.0f, obs);
        obs->n = o->n_observed;
        hd_free(theta);
    }
    double ss = 0;
    for (int64_t i = 0; i < obs->n * size; i++) ss += (double)obs->x[i] * obs->x[i];
    double rms = sqrt(ss / (double)(obs->n * size));
    *scale = rms > 0 && isfinite(rms) ? (float)(1.0 / rms) : 1.0f;
    for (int64_t i = 0; i < obs->n * size; i++) obs->x[i] *= *scale;
    return rc;
}

/* The data plots need simulated sets at the start and the end. */
static int snapshot(const hd_avo_opts *o, const proposal *q, uint64_t slot, float scale, hd_avo_set *out)
{
    int64_t n = (o->n_observed + o->per_draw - 1) / o->per_draw;
    double *theta = hd_malloc((size_t)(n * q->k) * sizeof(double));
    if (!theta) return HD_ENOMEM;
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_PROPOSAL);
    rng.counter = slot << 32;
    draw(q, &rng, n, theta);
    int rc = simulate(o, theta, n, slot, scale, out);
    hd_free(theta);
    return rc;
}

/* E_q[derived(theta)], theta clamped to the box; the same normal deviates
 * at every iteration, so the history is smooth. */
static double derived_of(const hd_avo_opts *o, const proposal *q)
{
    if (!o->derived) return NAN;
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_DERIVED);
    double sum = 0, theta[HD_SIM_MAX_PARAMS];
    for (int i = 0; i < DERIVED_DRAWS; i++) {
        for (int j = 0; j < q->k; j++) {
            double t = q->psi[j] + width_of(q, j) * (double)hd_rng_normal(&rng);
            theta[j] = fmin(fmax(t, o->sim->lo[j]), o->sim->hi[j]);
        }
        sum += o->derived(theta);
    }
    return sum / DERIVED_DRAWS;
}

static void report(const hd_avo_opts *o, const proposal *q, hd_avo_result *r)
{
    for (int j = 0; j < q->k; j++) {
        r->mean[j] = q->psi[j];
        r->width[j] = width_of(q, j);
    }
    r->derived = derived_of(o, q);
}

static int iterate(const hd_avo_opts *o, proposal *q, hd_avo_disc *d, const hd_avo_set *obs, float scale,
                   hd_avo_result *r)
{
    hd_avo_history h = {0};
    int rc = hd_dist_rank() == 0 ? hd_avo_history_open(&h, o) : HD_OK; /* rank 0 writes */
    double d_loss = NAN, p_loss = NAN, reward = NAN;
    if (rc == HD_OK && o->pretrain_samples > 0 && o->pretrain_epochs > 0) {
        if (o->on_stage) o->on_stage(o->user, "pre-training the discriminator");
        rc = disc_phase(o, q, d, obs, o->pretrain_samples, o->pretrain_epochs, SLOT_PRETRAIN, scale, &d_loss);
    }
    report(o, q, r);
    if (rc == HD_OK) hd_avo_history_row(&h, o, 0, r->mean, r->width, r->derived, d_loss, NAN, NAN);
    for (int it = 1; rc == HD_OK && it <= o->iterations; it++) {
        if ((rc = disc_phase(o, q, d, obs, o->disc_samples, 1, SLOT_ITER(it, 0), scale, &d_loss)) ||
            (rc = proposal_phase(o, q, d, it, scale, &p_loss, &reward)))
            break;
        uint64_t psi = hd_dist_hash(q->psi, sizeof q->psi);
        if ((rc = hd_dist_same(psi, "the proposal's parameters"))) break;
        report(o, q, r);
        r->iterations = it;
        hd_avo_history_row(&h, o, it, r->mean, r->width, r->derived, d_loss, p_loss, reward);
        if (o->on_iteration) o->on_iteration(o->user, it, r->mean, r->width, d_loss, p_loss);
    }
    int rc2 = hd_avo_history_close(&h, o);
    return rc != HD_OK ? rc : rc2;
}

/* The options with what they leave unset taken from the simulator. */
static hd_avo_opts with_simulator(const hd_avo_opts *o)
{
    hd_avo_opts full = *o;
    const hd_simulator *s = o->sim;
    if (!full.obs_label) full.obs_label = s->obs_label;
    if (!full.image_extent[0] && !full.image_extent[1] && !full.image_extent[2] && !full.image_extent[3])
        memcpy(full.image_extent, s->obs_extent, sizeof full.image_extent);
    if (!full.derived) {
        full.derived = s->derived;
        full.derived_name = s->derived_name;
    }
    return full;
}

int hd_avo_run(const hd_avo_opts *opts, hd_avo_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = hd_avo_check(opts);
    if (rc != HD_OK) return rc;
    const hd_avo_opts full = with_simulator(opts), *o = &full;
    double t0 = hd_now();
    proposal q = {.k = o->sim->n_params};
    for (int j = 0; j < q.k; j++) {
        q.psi[j] = (float)o->mean0[j];
        q.psi[q.k + j] = (float)softplus_inv(o->width0[j]);
    }
    q.opt = hd_optim_new(&o->optim_proposal, 2 * q.k);
    hd_avo_disc d = {0};
    hd_avo_set obs = {0}, start = {0}, end = {0};
    float scale = 1;
    if (!q.opt) rc = HD_ENOMEM;
    if (rc == HD_OK && (rc = observed_set(o, &obs, &scale)) == HD_OK && (rc = hd_avo_disc_build(&d, o)) == HD_OK &&
        (rc = snapshot(o, &q, SLOT_ITER(0, 0), scale, &start)) == HD_OK &&
        (rc = iterate(o, &q, &d, &obs, scale, r)) == HD_OK &&
        (rc = snapshot(o, &q, SLOT_ITER(o->iterations + 1, 0), scale, &end)) == HD_OK) {
        r->seconds = hd_now() - t0;
        if (hd_dist_rank() == 0 && (rc = hd_avo_write_metrics(o, r)) == HD_OK && (rc = hd_avo_plot_convergence(o)) == HD_OK)
            rc = hd_avo_plot_data(o, &obs, &start, &end, scale);
    }
    hd_optim_free(q.opt);
    hd_avo_disc_free(&d);
    hd_free(obs.x);
    hd_free(start.x);
    hd_free(end.x);
    return rc;
}
