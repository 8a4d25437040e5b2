/* Simulators with parameters: the batch driver behind hadron avo.
 *
 * Draw d of a run is simulated from its own range of the (seed,
 * HD_STREAM_SIM) stream, starting at block (first + d) << 32, so the
 * output depends neither on the thread count nor on the schedule.  When
 * draws fail, the error of the lowest failing draw is reported: draws
 * below the lowest failure seen so far always run, so that one is found
 * whatever the order in which threads reach them. */
#include "hadron/sim.h"

#include <math.h>
#include <stdio.h>

/* Draws a run may address: their block ranges must not wrap the 64-bit counter. */
#define MAX_DRAW ((uint64_t)1 << 32)

int64_t hd_simulator_obs_size(const hd_simulator *s)
{
    return hd_shape_numel(s->obs_ndim, s->obs_shape);
}

void hd_simulator_free(hd_simulator *s)
{
    if (s && s->destroy) s->destroy(s);
}

static int check_simulator(const hd_simulator *s)
{
    if (!s || !s->simulate || !s->name)
        return hd_error(HD_EINVAL, "hd_simulator_run: NULL %s", !s ? "simulator" : s->name ? "simulate" : "name");
    if (s->n_params < 1 || s->n_params > HD_SIM_MAX_PARAMS)
        return hd_error(HD_EINVAL, "hd_simulator_run: %s has %d parameters, must be 1..%d", s->name, s->n_params,
                        HD_SIM_MAX_PARAMS);
    for (int k = 0; k < s->n_params; k++)
        if (!s->param_names[k])
            return hd_error(HD_EINVAL, "hd_simulator_run: %s: parameter %d has no name", s->name, k);
    for (int k = 0; k < s->n_params; k++)
        if (!(s->lo[k] <= s->hi[k]) || !isfinite(s->lo[k]) || !isfinite(s->hi[k]))
            return hd_error(HD_EINVAL, "hd_simulator_run: %s: box of %s is [%g, %g]", s->name, s->param_names[k],
                            s->lo[k], s->hi[k]);
    if (s->obs_ndim < 1 || s->obs_ndim > 3 || !hd_shape_valid(s->obs_ndim, s->obs_shape))
        return hd_error(HD_EINVAL, "hd_simulator_run: %s: bad observation shape (%d dimensions)", s->name,
                        s->obs_ndim);
    return HD_OK;
}

static int check_run(const hd_simulator *s, int64_t n_draws, const double *theta, int64_t per_draw, uint64_t first,
                     const float *out)
{
    int rc = check_simulator(s);
    if (rc) return rc;
    if (n_draws < 0 || per_draw < 1)
        return hd_error(HD_EINVAL, "hd_simulator_run: n_draws = %lld must be >= 0 and per_draw = %lld >= 1",
                        (long long)n_draws, (long long)per_draw);
    if (first > MAX_DRAW || (uint64_t)n_draws > MAX_DRAW - first)
        return hd_error(HD_EINVAL, "hd_simulator_run: draws %llu + %lld pass 2^32, the last stream block",
                        (unsigned long long)first, (long long)n_draws);
    if (n_draws > 0 && (!theta || !out)) return hd_error(HD_EINVAL, "hd_simulator_run: NULL %s", theta ? "out" : "theta");
    for (int64_t i = 0; i < n_draws * s->n_params; i++)
        if (isnan(theta[i]))
            return hd_error(HD_EINVAL, "hd_simulator_run: %s: theta of draw %lld, parameter %s is NaN", s->name,
                            (long long)(i / s->n_params), s->param_names[i % s->n_params]);
    return HD_OK;
}

/* The first failure by draw index, with its message (messages are per thread). */
typedef struct {
    int64_t draw;
    int rc;
    char message[1024];
} failure;

static void note_failure(failure *f, int64_t d, int rc)
{
#pragma omp critical(hd_simulator_failure)
    if (d < f->draw) {
#pragma omp atomic write
        f->draw = d;
        f->rc = rc;
        snprintf(f->message, sizeof f->message, "%s", hd_last_error());
    }
}

static int run_draw(const hd_simulator *s, const double *theta, int64_t per_draw, uint64_t seed, uint64_t draw,
                    float *out)
{
    double t[HD_SIM_MAX_PARAMS];
    for (int k = 0; k < s->n_params; k++) t[k] = fmin(fmax(theta[k], s->lo[k]), s->hi[k]);
    hd_rng rng;
    hd_rng_init(&rng, seed, HD_STREAM_SIM);
    rng.counter = draw << 32;
    return s->simulate(s, t, per_draw, &rng, out);
}

int hd_simulator_run(const hd_simulator *s, int64_t n_draws, const double *theta, int64_t per_draw, uint64_t seed,
                     uint64_t first, float *out)
{
    int rc = check_run(s, n_draws, theta, per_draw, first, out);
    if (rc) return rc;
    int64_t stride = per_draw * hd_simulator_obs_size(s);
    failure f = {.draw = n_draws};
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t d = 0; d < n_draws; d++) {
        int64_t lowest;
#pragma omp atomic read
        lowest = f.draw;
        if (d > lowest) continue;
        int r = run_draw(s, theta + d * s->n_params, per_draw, seed, first + (uint64_t)d, out + d * stride);
        if (r) note_failure(&f, d, r);
    }
    if (f.draw < n_draws)
        return hd_error(f.rc, "%s (simulator %s, draw %lld)", f.message, s->name, (long long)f.draw);
    return HD_OK;
}
