/* Tracking-efficiency histograms from the forward spectrometer of
 * sim/tracking_geometry.c: generated and reconstructed counts from particles
 * simulated one by one, and the true efficiency of each bin from the exact
 * detection probability averaged over the bin (docs/tracking.md).
 *
 * Reproducibility: particle i draws its numbers from its own range of blocks
 * of the (seed, HD_STREAM_SIM) stream, and truth point t from another range,
 * so the histograms do not depend on the thread count or the work split.
 * Counts are whole numbers held in doubles, so their sums are exact in any
 * order; each bin's truth is summed by one thread in a fixed order. */
#include "hadron/sim.h"
#include "tracking_internal.h"

#include <math.h>
#include <string.h>

#define TWO_PI 6.28318530717958647692

/* Each particle owns 16 Philox blocks (64 words; it needs at most
 * PARTICLE_WORDS); truth points own one block each, far above. */
enum { PARTICLE_BLOCKS = 16, PARTICLE_WORDS = 2 * 3 + 2 + HD_TRK_MAX_WORDS };
_Static_assert(PARTICLE_WORDS <= 4 * PARTICLE_BLOCKS, "a particle needs more random words than it owns");
static const uint64_t truth_block0 = 1ull << 62;

/* Limits that keep the counters apart and the work bounded. */
static const int64_t max_particles = (int64_t)1 << 40, max_bins = 10000000;
static const int max_axis_bins = 100000;

/* Work between progress reports: particles, and bins of the truth. */
enum { ROUND_PARTICLES = 1 << 18, ROUND_BINS = 64 };

hd_tracking_opts hd_tracking_opts_default(void)
{
    return (hd_tracking_opts){.seed = 1,
                              .n_particles = 1000000,
                              .n_truth = 20000000,
                              .n_eta = 6,
                              .n_pt = 40,
                              .n_phi = 8,
                              .eta_min = 2,
                              .eta_max = 5,
                              .pt_min = 10,
                              .pt_max = 10000,
                              .min_stations = HD_TRK_DEFAULT_MIN_T};
}

static int check_axis(const char *name, int n)
{
    if (n < 1 || n > max_axis_bins)
        return hd_error(HD_EINVAL, "hd_sim_tracking: %s = %d must be in [1, %d]", name, n, max_axis_bins);
    return HD_OK;
}

int hd_sim_tracking_check(const hd_tracking_opts *o)
{
    int rc;
    if ((rc = check_axis("n_eta", o->n_eta)) || (rc = check_axis("n_pt", o->n_pt)) ||
        (rc = check_axis("n_phi", o->n_phi)))
        return rc;
    int64_t bins = (int64_t)o->n_eta * o->n_pt * o->n_phi;
    if (bins > max_bins)
        return hd_error(HD_EINVAL, "hd_sim_tracking: n_eta * n_pt * n_phi = %lld bins, at most %lld", (long long)bins,
                        (long long)max_bins);
    if (o->n_particles < 1 || o->n_particles > max_particles)
        return hd_error(HD_EINVAL, "hd_sim_tracking: n_particles = %lld must be in [1, 2^40]",
                        (long long)o->n_particles);
    if (o->n_truth < 0 || o->n_truth > max_particles)
        return hd_error(HD_EINVAL, "hd_sim_tracking: n_truth = %lld must be in [0, 2^40] (0: no truth)",
                        (long long)o->n_truth);
    /* eta > 0: the spectrometer covers z > 0 only, and pz = pT sinh(eta) must not vanish. */
    if (!(o->eta_min > 0 && o->eta_min < o->eta_max && o->eta_max <= 20))
        return hd_error(HD_EINVAL, "hd_sim_tracking: eta_min = %g, eta_max = %g: need 0 < eta_min < eta_max <= 20",
                        o->eta_min, o->eta_max);
    if (!(o->pt_min > 0 && o->pt_min < o->pt_max && o->pt_max <= 1e7))
        return hd_error(HD_EINVAL, "hd_sim_tracking: pt_min = %g, pt_max = %g MeV: need 0 < pt_min < pt_max <= 1e7",
                        o->pt_min, o->pt_max);
    if (o->min_stations < 1 || o->min_stations > HD_TRK_N_T)
        return hd_error(HD_EINVAL, "hd_sim_tracking: min_stations = %d must be in [1, %d] (downstream stations)",
                        o->min_stations, HD_TRK_N_T);
    return HD_OK;
}

static void fill_edges(const hd_tracking_opts *o, hd_hist3 *h)
{
    double log_lo = log(o->pt_min), log_span = log(o->pt_max / o->pt_min);
    for (int i = 0; i <= o->n_eta; i++) h->edges_eta[i] = o->eta_min + (o->eta_max - o->eta_min) * i / o->n_eta;
    for (int j = 0; j <= o->n_pt; j++) h->edges_pt[j] = exp(log_lo + log_span * j / o->n_pt);
    for (int k = 0; k <= o->n_phi; k++) h->edges_phi[k] = TWO_PI * k / o->n_phi;
    h->edges_eta[o->n_eta] = o->eta_max; /* the ends exactly as asked, free of rounding */
    h->edges_pt[0] = o->pt_min;
    h->edges_pt[o->n_pt] = o->pt_max;
}

/* (eta, pT, phi) at fractions u of the three generated ranges: eta and log pT
 * and phi are uniform, so a uniform u gives the generated distribution. */
static void kinematics(const hd_tracking_opts *o, const double u[3], hd_trk_particle *p)
{
    p->eta = o->eta_min + (o->eta_max - o->eta_min) * u[0];
    p->pt = o->pt_min * exp(log(o->pt_max / o->pt_min) * u[1]);
    p->phi = TWO_PI * u[2];
}

static int axis_bin(double u, int n)
{
    int b = (int)(u * n);
    return b < n ? b : n - 1;
}

static void rng_at(hd_rng *rng, uint64_t seed, uint64_t block)
{
    hd_rng_init(rng, seed, HD_STREAM_SIM);
    rng->counter = block;
}

/* Generates particle i, adds it to gen and, when reconstructed, to rec. */
static void simulate_particle(const hd_tracking_opts *o, hd_hist3 *h, int64_t i)
{
    hd_rng rng;
    rng_at(&rng, o->seed, (uint64_t)i * PARTICLE_BLOCKS);
    double u[3];
    for (int d = 0; d < 3; d++) u[d] = hd_trk_uniform53(&rng);
    hd_trk_particle p;
    kinematics(o, u, &p);
    p.species = hd_rng_uniform(&rng) < HD_TRK_KAON_FRACTION ? HD_TRK_KAON : HD_TRK_PION;
    p.charge = hd_rng_uniform(&rng) < 0.5f ? 1 : -1;
    hd_trk_path path;
    hd_trk_propagate(&p, &path);
    int rec = hd_trk_reconstructed(hd_trk_sample_hits(&path, p.species, &rng), o->min_stations);
    int64_t b = hd_hist3_index(h, axis_bin(u[0], h->n_eta), axis_bin(u[1], h->n_pt), axis_bin(u[2], h->n_phi));
#pragma omp atomic
    h->gen[b] += 1;
    if (rec) {
#pragma omp atomic
        h->rec[b] += 1;
    }
}

/* Detection probability at one point, averaged over charge and species in
 * the proportions they are generated with. */
static double point_efficiency(const hd_tracking_opts *o, const hd_trk_particle *p)
{
    hd_trk_path path[2];
    hd_trk_propagate_both(p, path);
    return 0.5 * (hd_trk_probability_mix(&path[0], o->min_stations) +
                  hd_trk_probability_mix(&path[1], o->min_stations));
}

/* Stratified average over bin (i, j, k): the bin is cut into m^3 cells with
 * one point at a random place in each, which keeps the spread of the mean
 * far below plain sampling where the efficiency changes smoothly. */
static double bin_truth(const hd_tracking_opts *o, const hd_hist3 *h, int64_t b, int m)
{
    int k = (int)(b % h->n_phi), j = (int)(b / h->n_phi % h->n_pt), i = (int)(b / h->n_phi / h->n_pt);
    int64_t cells = (int64_t)m * m * m;
    double sum = 0;
    for (int64_t c = 0; c < cells; c++) {
        hd_rng rng;
        rng_at(&rng, o->seed, truth_block0 + (uint64_t)(b * cells + c));
        int64_t cell[3] = {c / m / m, c / m % m, c % m};
        double u[3], bin[3] = {i, j, k}, n[3] = {h->n_eta, h->n_pt, h->n_phi};
        for (int d = 0; d < 3; d++) u[d] = (bin[d] + ((double)cell[d] + hd_rng_uniform(&rng)) / m) / n[d];
        hd_trk_particle p;
        kinematics(o, u, &p);
        sum += point_efficiency(o, &p);
    }
    return sum / (double)cells;
}

/* Cells per axis of each bin's truth: the largest m with m^3 * bins <= n_truth, at least 1. */
static int truth_cells_per_axis(int64_t n_truth, int64_t bins)
{
    int m = (int)cbrt((double)n_truth / (double)bins);
    while ((int64_t)(m + 1) * (m + 1) * (m + 1) * bins <= n_truth) m++;
    while (m > 1 && (int64_t)m * m * m * bins > n_truth) m--;
    return m > 1 ? m : 1;
}

static void report(const hd_tracking_opts *o, double done, double total)
{
    if (o->progress) o->progress(o->user, done / total);
}

int hd_sim_tracking(const hd_tracking_opts *opts, hd_tracking_hist *out)
{
    if (!opts || !out) return hd_error(HD_EINVAL, "hd_sim_tracking: NULL %s", opts ? "out" : "opts");
    memset(out, 0, sizeof *out);
    int rc = hd_sim_tracking_check(opts);
    if (rc || (rc = hd_hist3_alloc(out, opts->n_eta, opts->n_pt, opts->n_phi, opts->n_truth > 0))) return rc;
    fill_edges(opts, out);

    int64_t bins = hd_hist3_bins(out);
    int m = opts->n_truth > 0 ? truth_cells_per_axis(opts->n_truth, bins) : 0;
    /* A truth point costs about two particles: it follows both charges through the magnet. */
    double truth_work = 2.0 * (double)m * m * m, total = (double)opts->n_particles + truth_work * (double)bins;
    for (int64_t first = 0; first < opts->n_particles; first += ROUND_PARTICLES) {
        int64_t last = first + ROUND_PARTICLES < opts->n_particles ? first + ROUND_PARTICLES : opts->n_particles;
#pragma omp parallel for schedule(static)
        for (int64_t i = first; i < last; i++) simulate_particle(opts, out, i);
        report(opts, (double)last, total);
    }
    for (int64_t first = 0; m > 0 && first < bins; first += ROUND_BINS) {
        int64_t last = first + ROUND_BINS < bins ? first + ROUND_BINS : bins;
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t b = first; b < last; b++) out->truth[b] = bin_truth(opts, out, b, m);
        report(opts, (double)opts->n_particles + truth_work * (double)last, total);
    }
    return HD_OK;
}
