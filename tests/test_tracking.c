/* Tracking-efficiency simulator: single particles through hand-placed
 * geometry, the exact detection probability against sampling, and the
 * histograms (sums, shape, truth against rec/gen, reproducibility). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "sim/tracking_internal.h"

#define PI 3.14159265358979323846

/* cmocka compares floats in single precision; these need double. */
#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, expected %.17g +- %g", line, what, a, b, tol);
}

static int bits(uint32_t x) { return __builtin_popcount(x); }

static hd_trk_path path_of(double eta, double pt_mev, double phi, int charge, int species)
{
    hd_trk_particle p = {.eta = eta, .pt = pt_mev, .phi = phi, .charge = charge, .species = species};
    hd_trk_path path;
    hd_trk_propagate(&p, &path);
    return path;
}

static void test_stiff_track_is_reconstructed(void **state)
{
    (void)state;
    for (int q = -1; q <= 1; q += 2) {
        hd_trk_path path = path_of(3.5, 5000, 0.3, q, HD_TRK_PION);
        uint32_t hits = hd_trk_hits_before(&path, INFINITY);
        assert_int_equal(path.reached, HD_TRK_N_PLANES);
        assert_true(bits(hits & HD_TRK_MASK_VELO) >= HD_TRK_MIN_VELO);
        assert_int_equal(hits & HD_TRK_MASK_UT, HD_TRK_MASK_UT);
        assert_int_equal(hits & HD_TRK_MASK_T, HD_TRK_MASK_T);
        assert_true(hd_trk_reconstructed(hits, 3));
        /* Lost only to material, decays and hit inefficiency: a few per cent. */
        double p = hd_trk_probability(&path, HD_TRK_PION, 2);
        assert_true(p > 0.95 && p < 1);
    }
}

static void test_soft_track_curls_up(void **state)
{
    (void)state;
    /* p = 20 MeV cosh(3.5) = 0.33 GeV, far below the 1.2 GeV kick: it turns back in the magnet. */
    hd_trk_path path = path_of(3.5, 20, 0.3, 1, HD_TRK_PION);
    assert_int_equal(path.reached, HD_TRK_FIRST_T);
    uint32_t hits = hd_trk_hits_before(&path, INFINITY);
    assert_int_equal(hits & HD_TRK_MASK_T, 0);
    assert_true(bits(hits & HD_TRK_MASK_VELO) >= HD_TRK_MIN_VELO);
    assert_false(hd_trk_reconstructed(hits, 1));
    assert_true(hd_trk_probability(&path, HD_TRK_PION, 1) == 0);
}

static void test_supports_remove_hits(void **state)
{
    (void)state;
    /* Straight up: the upstream stations' x = 0 junction and the support
     * above the beam pipe, which a 2 TeV track meets: the magnet moves it
     * by only 2 mm. */
    hd_trk_path up = path_of(3.0, 200000, PI / 2, 1, HD_TRK_PION);
    uint32_t hits = hd_trk_hits_before(&up, INFINITY);
    assert_true(bits(hits & HD_TRK_MASK_VELO) >= HD_TRK_MIN_VELO);
    assert_int_equal(hits & HD_TRK_MASK_UT, 0);
    assert_int_equal(up.material & HD_TRK_MASK_UT, HD_TRK_MASK_UT); /* the frame is there, its sensors are not */
    assert_int_equal(hits & HD_TRK_MASK_T, 0);
    assert_false(hd_trk_reconstructed(hits, 1));
    assert_true(hd_trk_probability(&up, HD_TRK_PION, 1) == 0);
    /* Straight down: the junction again, but no support below the beam pipe downstream. */
    hd_trk_path down = path_of(3.0, 20000, 3 * PI / 2, 1, HD_TRK_PION);
    hits = hd_trk_hits_before(&down, INFINITY);
    assert_int_equal(hits & HD_TRK_MASK_UT, 0);
    assert_int_equal(hits & HD_TRK_MASK_T, HD_TRK_MASK_T);
    /* A few degrees off the vertical clears the 1 cm half-width band at r = 0.3 m. */
    hd_trk_path off = path_of(3.0, 20000, PI / 2 + 0.1, 1, HD_TRK_PION);
    hits = hd_trk_hits_before(&off, INFINITY);
    assert_int_equal(hits & HD_TRK_MASK_UT, HD_TRK_MASK_UT);
    assert_true(hd_trk_reconstructed(hits, 3));
}

static void test_beam_pipe_hole(void **state)
{
    (void)state;
    /* eta 7: 1.8 mrad, 1.4 mm from the axis at the last vertex plane (hole 8 mm). */
    hd_trk_path path = path_of(7.0, 5000, 0.3, 1, HD_TRK_PION);
    assert_int_equal(path.crossed, 0);
    assert_int_equal(path.material, 0);
    assert_false(hd_trk_reconstructed(hd_trk_hits_before(&path, INFINITY), 1));
    assert_true(hd_trk_probability(&path, HD_TRK_PION, 1) == 0);
}

static void test_decay_kills_later_hits(void **state)
{
    (void)state;
    hd_trk_path path = path_of(3.0, 5000, 0.3, -1, HD_TRK_KAON);
    uint32_t at_1m = hd_trk_hits_before(&path, 1.0);
    assert_int_equal(at_1m, path.crossed & HD_TRK_MASK_VELO);
    assert_false(hd_trk_reconstructed(at_1m, 1));
    /* Between the second and third downstream stations: two stations, not three. */
    uint32_t late = hd_trk_hits_before(&path, 0.5 * (path.s[HD_TRK_FIRST_T + 1] + path.s[HD_TRK_FIRST_T + 2]));
    assert_int_equal(bits(late & HD_TRK_MASK_T), 2);
    assert_true(hd_trk_reconstructed(late, 2));
    assert_false(hd_trk_reconstructed(late, 3));
}

static void test_kick_flips_with_charge(void **state)
{
    (void)state;
    /* phi = 90 deg: no px before the magnet, so after it px is the kick,
     * -0.3 q int B dl = -1.2 q GeV (By > 0 bends positive tracks to -x). */
    double eta = 3.0, pt = 2000;
    int t1 = HD_TRK_FIRST_T, t3 = HD_TRK_FIRST_T + 2;
    double dz = hd_trk_plane_z(t3) - hd_trk_plane_z(t1), py = 1e-3 * pt, kick = 0.299792458 * 4.0;
    for (int q = -1; q <= 1; q += 2) {
        hd_trk_path up = path_of(eta, pt, PI / 2, q, HD_TRK_PION);
        assert_int_equal(up.reached, HD_TRK_N_PLANES);
        assert_true(q * up.x[t1] < -0.1);
        assert_true(q * up.x[t3] < q * up.x[t1]);
        double pz = sqrt(up.p * up.p - py * py - kick * kick);
        double tx = (up.x[t3] - up.x[t1]) / dz;
        assert_near(tx, -q * kick / pz, 1e-9);
    }
    hd_trk_path neg = path_of(eta, pt, 0.4, -1, HD_TRK_PION), pos = path_of(eta, pt, PI - 0.4, 1, HD_TRK_PION);
    assert_near(neg.x[t3], -pos.x[t3], 1e-9); /* mirror images */
    assert_near(neg.y[t3], pos.y[t3], 1e-9);
}

/* The exact probability against the fraction of sampled particles reconstructed. */
static void check_probability(double eta, double pt, double phi, int charge, int species)
{
    hd_trk_path path = path_of(eta, pt, phi, charge, species);
    double p = hd_trk_probability(&path, species, 2);
    hd_rng rng;
    hd_rng_init(&rng, 7, HD_STREAM_SIM);
    int n = 100000, k = 0;
    for (int i = 0; i < n; i++) k += hd_trk_reconstructed(hd_trk_sample_hits(&path, species, &rng), 2);
    double sigma = sqrt(p * (1 - p) / n);
    assert_true(fabs((double)k / n - p) < 5 * sigma + 1e-12);
}

static void test_probability_matches_sampling(void **state)
{
    (void)state;
    check_probability(3.0, 3000, 0.3, 1, HD_TRK_PION);  /* plateau: material and hits */
    check_probability(2.2, 600, 0.2, 1, HD_TRK_KAON);   /* 2.7 GeV kaon: a quarter decay */
    check_probability(4.85, 500, 1.0, 1, HD_TRK_PION); /* three vertex planes only: hit losses matter */
    hd_trk_path path = path_of(2.2, 600, 0.2, 1, HD_TRK_PION);
    double mix = (1 - HD_TRK_KAON_FRACTION) * hd_trk_probability(&path, HD_TRK_PION, 2) +
                 HD_TRK_KAON_FRACTION * hd_trk_probability(&path, HD_TRK_KAON, 2);
    assert_near(hd_trk_probability_mix(&path, 2), mix, 1e-15);
}

/* ---- histograms ------------------------------------------------------------ */

static hd_tracking_opts small_opts(uint64_t seed)
{
    hd_tracking_opts o = hd_tracking_opts_default();
    o.seed = seed;
    o.n_particles = 200000;
    o.n_truth = 500000;
    o.n_pt = 20; /* the bin indices below assume 20 log bins from 10 MeV to 10 GeV */
    return o;
}

static void test_histogram_sums_and_edges(void **state)
{
    (void)state;
    hd_tracking_opts o = small_opts(3);
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&o, &h), HD_OK);
    assert_int_equal(hd_hist3_check(&h, "tracking"), HD_OK);
    assert_int_equal(h.n_eta, 6);
    assert_int_equal(h.n_pt, 20);
    assert_int_equal(h.n_phi, 8);
    assert_near(h.edges_eta[0], 2, 0);
    assert_near(h.edges_eta[6], 5, 0);
    assert_near(h.edges_pt[0], 10, 0);
    assert_near(h.edges_pt[20], 10000, 0);
    assert_near(h.edges_pt[10], 10 * sqrt(1000), 1e-9); /* log-spaced */
    assert_near(h.edges_phi[8], 2 * PI, 1e-12);
    double gen = 0;
    for (int64_t b = 0; b < hd_hist3_bins(&h); b++) {
        gen += h.gen[b];
        assert_true(h.rec[b] <= h.gen[b]);
        assert_false(isnan(h.truth[b]));
    }
    assert_near(gen, (double)o.n_particles, 0);
    hd_hist3_free(&h);
}

/* Efficiency summed over eta and phi in pT bins [j0, j1). */
static double eff_pt(const hd_tracking_hist *h, int j0, int j1)
{
    double g = 0, r = 0;
    for (int i = 0; i < h->n_eta; i++)
        for (int j = j0; j < j1; j++)
            for (int k = 0; k < h->n_phi; k++) {
                g += h->gen[hd_hist3_index(h, i, j, k)];
                r += h->rec[hd_hist3_index(h, i, j, k)];
            }
    return r / g;
}

static void test_efficiency_shape(void **state)
{
    (void)state;
    hd_tracking_opts o = small_opts(4);
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&o, &h), HD_OK);
    /* Rises with pT: nothing below 20 MeV, a plateau above a few GeV. */
    assert_true(eff_pt(&h, 0, 3) < 0.01);
    double plateau = eff_pt(&h, 17, 20);
    assert_true(plateau > 0.8 && plateau < 0.97);
    assert_true(eff_pt(&h, 8, 11) < plateau - 0.2);
    /* On the plateau, from the precise truth: the vertical supports cut a
     * dip (phi bins touching 90 deg against those touching 0), and the
     * efficiency falls at the forward eta edge. */
    int top = h.n_pt - 1;
    for (int i = 0; i < h.n_eta; i++)
        assert_true(h.truth[hd_hist3_index(&h, i, top, 1)] < h.truth[hd_hist3_index(&h, i, top, 0)] - 0.02);
    assert_true(h.truth[hd_hist3_index(&h, 5, top, 0)] < h.truth[hd_hist3_index(&h, 3, top, 0)] - 0.1);
    hd_hist3_free(&h);
}

static void test_truth_agrees_with_counts(void **state)
{
    (void)state;
    hd_tracking_opts o = small_opts(5);
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&o, &h), HD_OK);
    double chi2 = 0;
    int ndf = 0;
    for (int64_t b = 0; b < hd_hist3_bins(&h); b++) {
        double n = h.gen[b], t = h.truth[b];
        if (t == 0) assert_true(h.rec[b] == 0); /* impossible is impossible */
        /* Pearson chi2 where the binomial is near Gaussian on both sides. */
        if (n < 50 || n * t < 5 || n * (1 - t) < 5) continue;
        double d = h.rec[b] - n * t;
        chi2 += d * d / (n * t * (1 - t));
        ndf++;
    }
    assert_true(ndf > 400);
    assert_true(chi2 / ndf > 0.7 && chi2 / ndf < 1.4);
    hd_hist3_free(&h);
}

static int same_hist(const hd_tracking_hist *a, const hd_tracking_hist *b)
{
    size_t bytes = (size_t)hd_hist3_bins(a) * sizeof(double);
    return !memcmp(a->gen, b->gen, bytes) && !memcmp(a->rec, b->rec, bytes) && !memcmp(a->truth, b->truth, bytes);
}

static void test_reproducible(void **state)
{
    (void)state;
    hd_tracking_opts o = small_opts(6);
    o.n_particles = 50000;
    o.n_truth = 50000;
    hd_tracking_hist a, b, c, d;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(hd_sim_tracking(&o, &a), HD_OK);
    omp_set_num_threads(2);
    assert_int_equal(hd_sim_tracking(&o, &b), HD_OK);
    omp_set_num_threads(threads);
    o.seed = 7;
    assert_int_equal(hd_sim_tracking(&o, &c), HD_OK);
    assert_true(same_hist(&a, &b)); /* whatever the thread count */
    size_t bytes = (size_t)hd_hist3_bins(&a) * sizeof(double);
    assert_true(memcmp(a.gen, c.gen, bytes) != 0);
    assert_true(memcmp(a.truth, c.truth, bytes) != 0);
    o.n_truth = 0; /* no truth asked: none given */
    assert_int_equal(hd_sim_tracking(&o, &d), HD_OK);
    assert_null(d.truth);
    hd_hist3_free(&a);
    hd_hist3_free(&b);
    hd_hist3_free(&c);
    hd_hist3_free(&d);
}

typedef struct {
    int calls;
    double last;
    int increasing;
} progress_log;

static void on_progress(void *user, double fraction)
{
    progress_log *log = user;
    if (fraction < log->last) log->increasing = 0;
    log->last = fraction;
    log->calls++;
}

static void test_progress(void **state)
{
    (void)state;
    progress_log log = {0, 0, 1};
    hd_tracking_opts o = small_opts(8);
    o.n_particles = 600000; /* several rounds of particles */
    o.n_truth = 10000;
    o.progress = on_progress;
    o.user = &log;
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&o, &h), HD_OK);
    assert_true(log.calls > 3);
    assert_true(log.increasing);
    assert_near(log.last, 1.0, 1e-12);
    hd_hist3_free(&h);
}

static void expect_invalid(hd_tracking_opts o, const char *name)
{
    hd_tracking_hist h;
    assert_int_equal(hd_sim_tracking(&o, &h), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), name));
    assert_null(h.gen);
    hd_hist3_free(&h);
}

static void test_bad_options(void **state)
{
    (void)state;
    hd_tracking_opts o = hd_tracking_opts_default();
    o.n_eta = 0;
    expect_invalid(o, "n_eta");
    o = hd_tracking_opts_default();
    o.n_particles = 0;
    expect_invalid(o, "n_particles");
    o = hd_tracking_opts_default();
    o.n_truth = -1;
    expect_invalid(o, "n_truth");
    o = hd_tracking_opts_default();
    o.eta_min = 0;
    expect_invalid(o, "eta_min");
    o = hd_tracking_opts_default();
    o.pt_max = o.pt_min;
    expect_invalid(o, "pt_max");
    o = hd_tracking_opts_default();
    o.pt_min = NAN;
    expect_invalid(o, "pt_min");
    o = hd_tracking_opts_default();
    o.min_stations = 4;
    expect_invalid(o, "min_stations");
    assert_int_equal(hd_sim_tracking(NULL, NULL), HD_EINVAL);
    hd_hist3_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stiff_track_is_reconstructed),
        cmocka_unit_test(test_soft_track_curls_up),
        cmocka_unit_test(test_supports_remove_hits),
        cmocka_unit_test(test_beam_pipe_hole),
        cmocka_unit_test(test_decay_kills_later_hits),
        cmocka_unit_test(test_kick_flips_with_charge),
        cmocka_unit_test(test_probability_matches_sampling),
        cmocka_unit_test(test_histogram_sums_and_edges),
        cmocka_unit_test(test_efficiency_shape),
        cmocka_unit_test(test_truth_agrees_with_counts),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
