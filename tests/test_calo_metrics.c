/* Shower features, separation power and the two-sample distances
 * (metrics/calo_features.c, separation.c, two_sample.c).  The deterministic
 * parts against numpy and scipy (fixtures/calo_metrics/NAME.npz, made by
 * fixtures/make_calo_metric_fixtures.py): features of showers in a small
 * cylinder and a 30 x 30 grid, binnings and separation powers, the Frechet
 * distance, the MMD of fixed batches, W1 per feature, FPD's batch sizes and
 * its constrained line fit, KPD's summary.  The randomised wrappers for
 * their properties: the same result for a seed on 1 and 2 threads, about 0
 * for two samples of one distribution, clearly positive for a shifted or
 * widened one, FPD unchanged when a feature of both samples is rescaled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "metrics/metrics_internal.h"
#include "test_util.h"

static hd_npz *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/calo_metrics/%s.npz", HD_FIXTURES, name);
    hd_npz *z;
    if (hd_npz_read(path, &z) != HD_OK) fail_msg("%s", hd_last_error());
    return z;
}

static const hd_array *get(const hd_npz *z, const char *name, hd_dtype dtype)
{
    const hd_array *a = hd_npz_get(z, name);
    if (!a) fail_msg("fixture lacks %s", name);
    assert_int_equal(a->dtype, dtype);
    return a;
}

/* got[n, f] (float) against want[n, f] (double): |got - want| <= rtol (|want|
 * + the column's largest |want|); returns the largest deviation relative to
 * that column scale. */
static double compare_features(const char *what, int64_t n, int64_t f, const float *got, const double *want,
                               double rtol)
{
    double worst = 0;
    for (int64_t j = 0; j < f; j++) {
        double scale = 0;
        for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i * f + j]));
        for (int64_t i = 0; i < n; i++) {
            double g = got[i * f + j], w = want[i * f + j], dev = fabs(g - w);
            if (dev > rtol * (fabs(w) + scale) + 1e-30)
                fail_msg("%s: row %lld column %lld: %.9g, numpy %.9g", what, (long long)i, (long long)j, g, w);
            if (scale > 0) worst = fmax(worst, dev / scale);
        }
    }
    printf("%s: %lld x %lld features, largest deviation %.2e of the column scale\n", what, (long long)n, (long long)f,
           worst);
    return worst;
}

static void fixture_cylinder(const hd_npz *z, hd_calo_layout *l)
{
    const hd_array *dims = get(z, "dims", HD_I64), *edges = get(z, "r_edges", HD_F64);
    const int64_t *d = dims->data;
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "fixture");
    l->kind = HD_CALO_CYLINDRICAL;
    l->n_layers = (int)d[0];
    l->n_alpha = (int)d[1];
    l->n_r = (int)d[2];
    for (int k = 0; k <= l->n_r; k++) l->r_edges[k] = ((const double *)edges->data)[k];
    for (int k = 0; k < l->n_layers; k++) l->layer_x0[k] = 1.0;
    assert_int_equal(hd_calo_layout_check(l), HD_OK);
}

/* The fixtures' 30 x 30 grid (its cell size from grid.npz, not the built-in ecal30's). */
static void fixture_grid(hd_calo_layout *l)
{
    hd_npz *z = load("grid");
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "fixture30");
    l->kind = HD_CALO_GRID;
    l->n_layers = 1;
    l->nx = l->ny = 30;
    l->cell = hd_array_get(get(z, "cell", HD_F64), 0);
    l->layer_x0[0] = 25;
    assert_int_equal(hd_calo_layout_check(l), HD_OK);
    hd_npz_free(z);
}

static void test_cylinder_features_numpy(void **state)
{
    (void)state;
    hd_npz *z = load("cyl");
    hd_calo_layout l;
    fixture_cylinder(z, &l);
    const hd_array *sh = get(z, "showers", HD_F32), *e = get(z, "e_inc", HD_F32);
    const hd_array *want = get(z, "features", HD_F64), *want_thr = get(z, "features_thr", HD_F64);
    int64_t n = sh->shape[0], f = hd_calo_feature_count(&l);
    assert_int_equal(f, 1 + 8 * l.n_layers);
    assert_int_equal(want->shape[1], f);
    assert_int_equal(sh->shape[1], hd_calo_layout_voxels(&l));
    float *out = malloc((size_t)(n * f) * sizeof(float)), *part = malloc((size_t)(n * f) * sizeof(float));
    assert_non_null(out);
    assert_non_null(part);
    hd_calo_inputs in = {.e_inc = e->data};
    assert_int_equal(hd_calo_features(&l, NULL, n, sh->data, &in, out), HD_OK);
    compare_features("cylinder features", n, f, out, want->data, 1e-6);

    /* rows in two chunks give the same bits as all at once */
    int64_t k = 5, nv = hd_calo_layout_voxels(&l);
    hd_calo_inputs tail = {.e_inc = (const float *)e->data + k};
    assert_int_equal(hd_calo_features(&l, NULL, k, sh->data, &in, part), HD_OK);
    assert_int_equal(hd_calo_features(&l, NULL, n - k, (const float *)sh->data + k * nv, &tail, part + k * f), HD_OK);
    assert_memory_equal(out, part, (size_t)(n * f) * sizeof(float));

    hd_calo_feature_opts o = hd_calo_feature_opts_default();
    o.threshold = hd_array_get(get(z, "threshold", HD_F64), 0);
    assert_int_equal(hd_calo_features(&l, &o, n, sh->data, &in, out), HD_OK);
    compare_features("cylinder features, threshold 0.05", n, f, out, want_thr->data, 1e-6);

    char name[64];
    const char *names[][2] = {{"0", "E_ratio"},       {"1", "E_layer_00"},  {"3", "E_layer_02"},
                              {"4", "EC_eta_00"},     {"7", "EC_phi_00"},   {"10", "width_eta_00"},
                              {"13", "width_phi_00"}, {"16", "EC_r_00"},    {"19", "width_r_00"},
                              {"22", "sparsity_00"},  {"24", "sparsity_02"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(hd_calo_feature_name(&l, atoi(names[i][0]), name, sizeof name), HD_OK);
        assert_string_equal(name, names[i][1]);
    }
    assert_error(hd_calo_feature_name(&l, f, name, sizeof name), HD_EINVAL, "column 25", "has 25");
    free(out);
    free(part);
    hd_npz_free(z);
}

static void test_grid_features_numpy(void **state)
{
    (void)state;
    hd_npz *z = load("grid");
    hd_calo_layout l;
    fixture_grid(&l);
    const hd_array *sh = get(z, "showers", HD_F32), *p = get(z, "momentum", HD_F32), *pt = get(z, "point", HD_F32);
    int64_t n = sh->shape[0], f = hd_calo_feature_count(&l);
    assert_int_equal(f, 54);
    float *out = malloc((size_t)(n * f) * sizeof(float));
    assert_non_null(out);
    hd_calo_inputs in = {.momentum = p->data, .point = pt->data};
    assert_int_equal(hd_calo_features(&l, NULL, n, sh->data, &in, out), HD_OK);
    compare_features("grid features, depth 25", n, f, out, get(z, "features", HD_F64)->data, 1e-6);
    hd_calo_feature_opts o = hd_calo_feature_opts_default();
    o.depth = 8;
    assert_int_equal(hd_calo_features(&l, &o, n, sh->data, &in, out), HD_OK);
    compare_features("grid features, depth 8", n, f, out, get(z, "features_depth8", HD_F64)->data, 1e-6);

    char name[64];
    assert_int_equal(hd_calo_feature_name(&l, 1, name, sizeof name), HD_OK);
    assert_string_equal(name, "asym_across");
    assert_int_equal(hd_calo_feature_name(&l, 3, name, sizeof name), HD_OK);
    assert_string_equal(name, "width_across");
    assert_int_equal(hd_calo_feature_name(&l, 53, name, sizeof name), HD_OK);
    assert_string_equal(name, "occupancy_49");
    free(out);
    hd_npz_free(z);
}

/* Every column's binning from the reference, its edges, and the separation
 * power of the two samples, against numpy. */
static void check_binning(const char *fixture, const hd_calo_layout *l)
{
    hd_npz *z = load(fixture);
    const hd_array *ref = get(z, "ref", HD_F32), *gen = get(z, "gen", HD_F32), *edges = get(z, "edges", HD_F64);
    const hd_array *nb = get(z, "n_bins", HD_I64), *sp = get(z, "sp", HD_F64), *n_in = get(z, "n_in_ref", HD_I64);
    int64_t f = ref->shape[1], n_ref = ref->shape[0], n_gen = gen->shape[0], off = 0;
    assert_int_equal(f, hd_calo_feature_count(l));
    double worst_edge = 0, worst_sp = 0;
    for (int64_t j = 0; j < f; j++) {
        hd_hist_binning b;
        assert_int_equal(hd_calo_feature_binning(l, NULL, j, n_ref, (const float *)ref->data + j, f, &b), HD_OK);
        assert_int_equal(b.n_bins, ((const int64_t *)nb->data)[j]);
        double *e = malloc((size_t)(b.n_bins + 1) * sizeof(double)), *h1 = malloc((size_t)b.n_bins * sizeof(double));
        double *h2 = malloc((size_t)b.n_bins * sizeof(double));
        assert_non_null(e);
        assert_non_null(h1);
        assert_non_null(h2);
        assert_int_equal(hd_hist_edges(&b, e), HD_OK);
        for (int k = 0; k <= b.n_bins; k++) {
            double w = ((const double *)edges->data)[off + k];
            worst_edge = fmax(worst_edge, fabs(e[k] - w) / fmax(fabs(w), 1e-300));
        }
        off += b.n_bins + 1;
        int64_t in1, in2;
        assert_int_equal(hd_hist_unit(&b, n_ref, (const float *)ref->data + j, f, h1, &in1), HD_OK);
        assert_int_equal(hd_hist_unit(&b, n_gen, (const float *)gen->data + j, f, h2, &in2), HD_OK);
        assert_int_equal(in1, ((const int64_t *)n_in->data)[j]);
        double got = hd_separation_power(b.n_bins, h1, h2), want = ((const double *)sp->data)[j];
        if (fabs(got - want) > 1e-12 * want + 1e-15)
            fail_msg("%s column %lld: separation power %.15g, numpy %.15g", fixture, (long long)j, got, want);
        worst_sp = fmax(worst_sp, fabs(got - want) / want);
        assert_true(hd_separation_power(b.n_bins, h1, h1) == 0);
        free(e);
        free(h1);
        free(h2);
    }
    assert_int_equal(off, edges->shape[0]);
    printf("%s: %lld columns; edges within %.1e, separation powers within %.1e relative of numpy\n", fixture,
           (long long)f, worst_edge, worst_sp);
    assert_true(worst_edge <= 4e-15); /* a few ulps: numpy's log10 and power are not glibc's */
    hd_npz_free(z);
}

static void test_binning_numpy(void **state)
{
    (void)state;
    hd_npz *z = load("cyl");
    hd_calo_layout cyl, grid;
    fixture_cylinder(z, &cyl);
    hd_npz_free(z);
    check_binning("bins_cyl", &cyl);
    fixture_grid(&grid);
    check_binning("bins_grid", &grid);
}

static void test_separation_power(void **state)
{
    (void)state;
    const double a[4] = {0.5, 0.5, 0, 0}, b[4] = {0, 0, 0.25, 0.75}, c[4] = {0.25, 0.25, 0.25, 0.25};
    assert_true(hd_separation_power(4, a, b) == 1.0);
    assert_true(fabs(hd_separation_power(4, a, c) - 0.5 * (2 * 0.0625 / 0.75 + 2 * 0.0625 / 0.25)) < 1e-15);
    hd_hist_binning bad = {.lo = 0, .hi = 1, .n_bins = 0};
    double h[4];
    float x[3] = {0.1f, NAN, 2.0f};
    assert_error(hd_hist_unit(&bad, 3, x, 1, h, NULL), HD_EINVAL, "0 bins", NULL);
    bad = (hd_hist_binning){.lo = 0, .hi = 1, .n_bins = 4, .log = 1};
    assert_error(hd_hist_unit(&bad, 3, x, 1, h, NULL), HD_EINVAL, "log bins", NULL);
    hd_hist_binning ok = {.lo = 0, .hi = 1, .n_bins = 4};
    int64_t in;
    assert_int_equal(hd_hist_unit(&ok, 3, x, 1, h, &in), HD_OK); /* NaN and 2 left out */
    assert_int_equal(in, 1);
    assert_true(h[0] == 1.0 && h[1] == 0 && h[3] == 0);
}

static void test_two_sample_cores_numpy(void **state)
{
    (void)state;
    hd_npz *z = load("samples");
    const hd_array *x1 = get(z, "x1", HD_F32), *x2 = get(z, "x2", HD_F32);
    int64_t n1 = x1->shape[0], n2 = x2->shape[0], d = x1->shape[1];
    const float *a = x1->data, *b = x2->data;

    double fd, want = hd_array_get(get(z, "fd", HD_F64), 0);
    assert_int_equal(hd_frechet_distance(n1, a, n2, b, d, &fd), HD_OK);
    printf("frechet %.12g, numpy %.12g\n", fd, want);
    assert_true(fabs(fd - want) < 1e-9 * want);

    const hd_array *mx = get(z, "mmd_x", HD_F32), *my = get(z, "mmd_y", HD_F32);
    for (int degree = 2; degree <= 4; degree += 2) {
        double m, w = hd_array_get(get(z, degree == 4 ? "mmd4" : "mmd2", HD_F64), 0);
        assert_int_equal(hd_mmd_poly(mx->shape[0], mx->data, my->shape[0], my->data, d, degree, &m), HD_OK);
        printf("mmd degree %d: %.12g, numpy %.12g (%.1e relative)\n", degree, m, w, fabs(m - w) / w);
        assert_true(fabs(m - w) < 1e-10 * fabs(w));
    }

    const double *w1 = get(z, "w1", HD_F64)->data;
    double all[8], worst = 0;
    assert_int_equal(hd_w1_features(n1, a, n2, b, d, NULL, all, NULL, NULL), HD_OK);
    float *c1 = malloc((size_t)n1 * sizeof(float)), *c2 = malloc((size_t)n2 * sizeof(float));
    assert_non_null(c1);
    assert_non_null(c2);
    for (int64_t j = 0; j < d; j++) {
        for (int64_t i = 0; i < n1; i++) c1[i] = a[i * d + j];
        for (int64_t i = 0; i < n2; i++) c2[i] = b[i * d + j];
        double one;
        assert_int_equal(hd_wasserstein1(n1, c1, n2, c2, &one), HD_OK);
        assert_true(one == all[j]);
        worst = fmax(worst, fabs(one - w1[j]) / w1[j]);
    }
    printf("w1 per feature within %.1e relative of scipy\n", worst);
    assert_true(worst < 1e-12);
    free(c1);
    free(c2);

    /* FPD's batch sizes: (1 / np.linspace(1 / min, 1 / max, 10)).astype(int32) */
    const hd_array *ranges = get(z, "fpd_ranges", HD_I64), *batches = get(z, "fpd_batches", HD_I64);
    for (int64_t r = 0; r < ranges->shape[0]; r++) {
        hd_fpd_opts o = hd_fpd_opts_default();
        o.min_samples = ((const int64_t *)ranges->data)[2 * r];
        o.max_samples = ((const int64_t *)ranges->data)[2 * r + 1];
        o.n_draws = 1;
        hd_fpd_result res;
        assert_int_equal(hd_fpd(n1, a, n2, b, d, &o, &res), HD_OK);
        assert_int_equal(res.n_points, 10);
        for (int k = 0; k < 10; k++) assert_int_equal(res.batch[k], ((const int64_t *)batches->data)[10 * r + k]);
    }

    const hd_array *fx = get(z, "fit_x", HD_F64), *fy = get(z, "fit_y", HD_F64), *fit = get(z, "fit", HD_F64);
    int np_ = (int)fx->shape[0];
    for (int64_t c = 0; c < fy->shape[0]; c++) {
        const double *y = (const double *)fy->data + c * np_, *w = (const double *)fit->data + 3 * c;
        double fa, fb, err;
        assert_int_equal(hd_fpd_line_fit(np_, fx->data, y, &fa, &fb, &err), HD_OK);
        printf("line fit %lld: a %.9g (scipy %.9g), b %.9g (%.9g), err %.9g (%.9g)\n", (long long)c, fa, w[0], fb,
               w[1], err, w[2]);
        assert_true(fabs(fa - w[0]) <= 1e-9 * fabs(w[0]) + 1e-15);
        assert_true(fabs(fb - w[1]) <= 1e-9 * fabs(w[1]) + 1e-12);
        assert_true(fabs(err - w[2]) <= 1e-9 * w[2]);
    }

    const hd_array *kv = get(z, "kpd_vals", HD_F64);
    const double *kw = get(z, "kpd", HD_F64)->data;
    double v[10];
    assert_int_equal(kv->shape[0], 10);
    memcpy(v, kv->data, sizeof v);
    double med = hd_quantile(v, 10, 0.5), err = (hd_quantile(v, 10, 0.83725) - hd_quantile(v, 10, 0.16275)) / 2;
    assert_true(fabs(med - kw[0]) < 1e-15 && fabs(err - kw[1]) < 1e-15);
    hd_npz_free(z);
}

/* ---- the randomised wrappers -------------------------------------------------------- */

/* n rows of 4 correlated Gaussian features, feature 0 scaled by `wide` and
 * shifted by `shift` (in units of its standard deviation). */
static float *sample(uint64_t seed, int64_t n, double shift, double wide)
{
    hd_rng r;
    hd_rng_init(&r, seed, HD_STREAM_USER);
    float *x = malloc((size_t)n * 4 * sizeof(float));
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++) {
        double z0 = hd_rng_normal(&r), z1 = hd_rng_normal(&r), z2 = hd_rng_normal(&r), z3 = hd_rng_normal(&r);
        x[4 * i + 0] = (float)(2.0 + (wide * z0 + shift) * 0.5);
        x[4 * i + 1] = (float)(z1 + 0.5 * z0);
        x[4 * i + 2] = (float)(100.0 + 10.0 * z2 - 3.0 * z1);
        x[4 * i + 3] = (float)(z3 * z3);
    }
    return x;
}

enum { N_PROP = 3000 };

typedef struct {
    hd_fpd_result fpd;
    hd_kpd_result kpd;
    double w1[4], mean[4], std[4];
} all_metrics;

static void run_all(const float *real, const float *gen, uint64_t seed, all_metrics *m)
{
    hd_fpd_opts fo = hd_fpd_opts_default();
    hd_kpd_opts ko = hd_kpd_opts_default();
    hd_w1_opts wo = hd_w1_opts_default();
    fo.seed = ko.seed = wo.seed = seed;
    memset(m, 0, sizeof *m);
    if (hd_fpd(N_PROP, real, N_PROP, gen, 4, &fo, &m->fpd) != HD_OK) fail_msg("%s", hd_last_error());
    if (hd_kpd(N_PROP, real, N_PROP, gen, 4, &ko, &m->kpd) != HD_OK) fail_msg("%s", hd_last_error());
    if (hd_w1_features(N_PROP, real, N_PROP, gen, 4, &wo, m->w1, m->mean, m->std) != HD_OK)
        fail_msg("%s", hd_last_error());
}

static void print_metrics(const char *what, const all_metrics *m)
{
    printf("%-10s FPD %.3e +- %.1e (slope %.3g), KPD %.3e +- %.1e, W1 of feature 0 %.4f +- %.4f\n", what,
           m->fpd.value, m->fpd.error, m->fpd.slope, m->kpd.median, m->kpd.error, m->mean[0], m->std[0]);
}

/* Two samples of one distribution.  FPD extrapolates the draws to infinite
 * batches of the two sets, so it estimates the Frechet distance of the sets
 * themselves, their O(d / n) sampling floor (CaloChallenge's G4-vs-G4 FPD),
 * and of a set with itself 0; KPD's unbiased MMD is about 0 either way. */
static void test_same_distribution(void **state)
{
    (void)state;
    float *real = sample(1, N_PROP, 0, 1), *gen = sample(2, N_PROP, 0, 1);
    all_metrics m, again, threads1, self;
    run_all(real, gen, 7, &m);
    print_metrics("same", &m);
    assert_int_equal(m.fpd.batch[0], 1200); /* defaults scaled down: min(20000, 2/5 of 3000) */
    assert_int_equal(m.fpd.batch[9], 3000);
    /* the Frechet distance of the two whole sets, scaled as FPD scales them */
    float *rs = malloc(sizeof(float) * 4 * N_PROP), *gs = malloc(sizeof(float) * 4 * N_PROP);
    assert_non_null(rs);
    assert_non_null(gs);
    double mx[4] = {0}, floor_fd;
    for (int64_t i = 0; i < 4 * N_PROP; i++) mx[i % 4] = fmax(mx[i % 4], fabs(real[i]));
    for (int64_t i = 0; i < 4 * N_PROP; i++) {
        rs[i] = (float)(real[i] / mx[i % 4]);
        gs[i] = (float)(gen[i] / mx[i % 4]);
    }
    assert_int_equal(hd_frechet_distance(N_PROP, rs, N_PROP, gs, 4, &floor_fd), HD_OK);
    printf("           Frechet distance of the two whole sets %.3e\n", floor_fd);
    assert_true(fabs(m.fpd.value - floor_fd) <= 3 * m.fpd.error);
    assert_true(fabs(m.kpd.median) <= 3 * m.kpd.error);
    for (int j = 0; j < 4; j++) assert_true(m.mean[j] < 3 * m.std[j] + 0.02 * (j == 2 ? 10 : 1));
    run_all(real, real, 7, &self);
    print_metrics("itself", &self);
    assert_true(self.fpd.value <= 3 * self.fpd.error);
    assert_true(fabs(self.kpd.median) <= 3 * self.kpd.error);
    for (int j = 0; j < 4; j++) assert_true(self.w1[j] == 0);

    run_all(real, gen, 7, &again); /* the same seed: the same bits */
    assert_memory_equal(&m, &again, sizeof m);
    int threads = hd_get_threads();
    hd_set_threads(1);
    run_all(real, gen, 7, &threads1); /* and on one thread */
    hd_set_threads(threads);
    assert_memory_equal(&m, &threads1, sizeof m);
    run_all(real, gen, 8, &again); /* another seed: other draws */
    assert_true(again.fpd.mean_fd[0] != m.fpd.mean_fd[0] && again.kpd.mmd[0] != m.kpd.mmd[0]);
    assert_true(again.mean[0] != m.mean[0]);
    free(rs);
    free(gs);
    free(real);
    free(gen);
}

static void test_shifted_and_widened(void **state)
{
    (void)state;
    const struct {
        const char *name;
        uint64_t seed;
        double shift, wide;
    } cases[] = {{"shifted", 3, 0.5, 1.0}, {"widened", 4, 0.0, 2.5}};
    float *real = sample(1, N_PROP, 0, 1), *same = sample(2, N_PROP, 0, 1);
    all_metrics base, m;
    run_all(real, same, 7, &base);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *gen = sample(cases[c].seed, N_PROP, cases[c].shift, cases[c].wide);
        run_all(real, gen, 7, &m);
        print_metrics(cases[c].name, &m);
        assert_true(m.fpd.value > 5 * m.fpd.error && m.fpd.value > 5 * base.fpd.value);
        assert_true(m.kpd.median > 5 * m.kpd.error);
        /* W1 of a shift is the shift: 0.5 sigma of feature 0, sigma 0.5 */
        if (cases[c].shift > 0) assert_true(fabs(m.mean[0] - 0.25) < 0.03 && m.std[0] > 0 && m.std[0] < 0.02);
        free(gen);
    }
    free(real);
    free(same);
}

/* Both samples' feature 2 times 1024: the max |x| scaling makes FPD and
 * KPD see exactly the same numbers. */
static void test_scale_invariance(void **state)
{
    (void)state;
    float *real = sample(1, N_PROP, 0, 1), *gen = sample(3, N_PROP, 0.3, 1);
    all_metrics m, scaled;
    run_all(real, gen, 9, &m);
    for (int64_t i = 0; i < N_PROP; i++) {
        real[4 * i + 2] *= 1024.0f;
        gen[4 * i + 2] *= 1024.0f;
    }
    run_all(real, gen, 9, &scaled);
    assert_memory_equal(&m.fpd, &scaled.fpd, sizeof m.fpd);
    assert_memory_equal(&m.kpd, &scaled.kpd, sizeof m.kpd);
    free(real);
    free(gen);
}

static void test_errors(void **state)
{
    (void)state;
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, y[12];
    memcpy(y, x, sizeof y);
    y[7] = NAN;
    hd_fpd_result fr;
    hd_kpd_result kr;
    double v;
    assert_error(hd_fpd(4, x, 4, y, 3, NULL, &fr), HD_EINVAL, "sample generated, row 2, column 1", "nan");
    assert_true(fr.value == 0 && fr.n_points == 0);
    assert_error(hd_fpd(2, x, 4, x, 3, NULL, &fr), HD_EINVAL, "sample real has 2 rows", "at least 3");
    hd_fpd_opts fo = hd_fpd_opts_default();
    fo.min_samples = 4;
    fo.max_samples = 4;
    assert_error(hd_fpd(4, x, 4, x, 3, &fo, &fr), HD_EINVAL, "min_samples < max_samples", NULL);
    fo = hd_fpd_opts_default();
    fo.n_points = 2;
    assert_error(hd_fpd(4, x, 4, x, 3, &fo, &fr), HD_EINVAL, "2 points", NULL);
    assert_error(hd_kpd(4, y, 4, x, 3, NULL, &kr), HD_EINVAL, "sample real, row 2, column 1", NULL);
    assert_error(hd_mmd_poly(4, x, 1, x, 3, 4, &v), HD_EINVAL, "sample y has 1 rows", NULL);
    assert_error(hd_mmd_poly(4, x, 4, x, 3, 0, &v), HD_EINVAL, "degree 0", NULL);
    assert_error(hd_wasserstein1(0, x, 4, x, &v), HD_EINVAL, "sample 1 has 0 rows", NULL);
    assert_error(hd_w1_features(4, x, 4, y, 3, NULL, NULL, &v, NULL), HD_EINVAL, "sample generated, row 2", NULL);
    double px[3] = {1, 1, 1}, py[3] = {1, 2, 3}, a, b, e;
    assert_error(hd_fpd_line_fit(3, px, py, &a, &b, &e), HD_EINVAL, "same 1/N", NULL);

    hd_calo_layout l;
    assert_int_equal(hd_calo_layout_get("reduced", &l), HD_OK);
    int64_t nv = hd_calo_layout_voxels(&l), nf = hd_calo_feature_count(&l);
    float *sh = calloc((size_t)(2 * nv), sizeof(float)), *out = malloc((size_t)(2 * nf) * sizeof(float));
    assert_non_null(sh);
    assert_non_null(out);
    float e_inc[2] = {100, 0};
    hd_calo_inputs in = {.e_inc = e_inc};
    assert_error(hd_calo_features(&l, NULL, 2, sh, &in, out), HD_EINVAL, "row 1, incident energy 0", NULL);
    assert_error(hd_calo_features(&l, NULL, 2, sh, &(hd_calo_inputs){0}, out), HD_EINVAL, "incident energies", NULL);
    e_inc[1] = 50;
    sh[nv + 3] = INFINITY;
    assert_error(hd_calo_features(&l, NULL, 2, sh, &in, out), HD_EINVAL, "row 1, voxel 3 is inf", NULL);
    sh[nv + 3] = 0;
    assert_int_equal(hd_calo_features(&l, NULL, 2, sh, &in, out), HD_OK); /* empty showers: all 0, sparsity 1 */
    for (int64_t j = 0; j < nf; j++) assert_true(out[j] == (j >= 1 + 7 * l.n_layers ? 1.0f : 0.0f));

    hd_calo_layout g;
    assert_int_equal(hd_calo_layout_get("ecal30", &g), HD_OK);
    float p[3] = {0.1f, 0.2f, 0.0f}, pt[2] = {0, 0}, *img = calloc(900, sizeof(float)), gout[54];
    assert_non_null(img);
    hd_calo_inputs gin = {.momentum = p, .point = pt};
    assert_error(hd_calo_features(&g, NULL, 1, img, &gin, gout), HD_EINVAL, "row 0, pz = 0", NULL);
    assert_error(hd_calo_features(&g, NULL, 1, img, &in, gout), HD_EINVAL, "momentum", NULL);
    free(img);
    free(sh);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cylinder_features_numpy),
        cmocka_unit_test(test_grid_features_numpy),
        cmocka_unit_test(test_binning_numpy),
        cmocka_unit_test(test_separation_power),
        cmocka_unit_test(test_two_sample_cores_numpy),
        cmocka_unit_test(test_same_distribution),
        cmocka_unit_test(test_shifted_and_widened),
        cmocka_unit_test(test_scale_invariance),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
