/* The sampling calorimeter (sim/calo.c): the stack's effective quantities,
 * the Gamma sampler, the physics a GFlash shower must show (mean depth
 * growing as ln E, about 90% of the energy within one Moliere radius, the
 * sampling term of the resolution, the photons' conversion depth), the
 * ecal30 grid (the centroid follows the entry point, inclined showers are
 * elongated), determinism (threads, batches), refusals, and the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "sim/calo_internal.h"
#include "test_util.h"

#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.10g, expected %.10g +- %g", line, what, a, b, tol);
}

typedef struct {
    int64_t n, voxels;
    float *showers;
    double *e, *cond, *truth;
} sample;

static sample simulate(const hd_calo_opts *o, int64_t first, int64_t n)
{
    sample s = {n, hd_calo_layout_voxels(&o->layout), NULL, NULL, NULL, NULL};
    s.showers = malloc((size_t)(n * s.voxels) * sizeof(float));
    s.e = malloc((size_t)n * sizeof(double));
    s.cond = malloc((size_t)n * HD_CALO_COND * sizeof(double));
    s.truth = malloc((size_t)n * HD_CALO_TRUTH * sizeof(double));
    assert_true(s.showers && s.e && s.cond && s.truth);
    int rc = hd_calo_simulate(o, first, n, s.showers, s.e, s.cond, s.truth);
    if (rc) fail_msg("hd_calo_simulate: %s", hd_last_error());
    return s;
}

static void sample_free(sample *s)
{
    free(s->showers);
    free(s->e);
    free(s->cond);
    free(s->truth);
}

static hd_calo_opts opts(const char *layout, double e_gev)
{
    hd_calo_opts o = hd_calo_opts_default();
    assert_int_equal(hd_calo_layout_get(layout, &o.layout), HD_OK);
    if (e_gev > 0) o.e_min = o.e_max = 1000 * e_gev;
    return o;
}

static double shower_sum(const sample *s, int64_t i)
{
    double e = 0;
    for (int64_t v = 0; v < s->voxels; v++) e += s->showers[i * s->voxels + v];
    return e;
}

/* Energy-weighted mean depth of shower i in X0 (layer centres). */
static double centre_of_gravity(const hd_calo_layout *l, const sample *s, int64_t i)
{
    int per = l->n_alpha * l->n_r;
    double sum = 0, moment = 0, d0 = 0;
    for (int k = 0; k < l->n_layers; k++) {
        double e = 0;
        for (int j = 0; j < per; j++) e += s->showers[i * s->voxels + k * per + j];
        moment += e * (d0 + 0.5 * l->layer_x0[k]);
        sum += e;
        d0 += l->layer_x0[k];
    }
    return moment / sum;
}

/* ---- the stack and the sampler ------------------------------------------------------- */

static void test_stack(void **state)
{
    (void)state;
    hd_calo_opts o = hd_calo_opts_default();
    hd_calo_stack st;
    assert_int_equal(hd_calo_stack_of(&o, &st), HD_OK);
    /* 1.4 mm W + 0.3 mm Si: mass fractions 0.975 / 0.025 */
    assert_near(st.z, 72.49, 0.05);
    assert_near(st.density, 16.30, 0.01);
    assert_near(st.x0, 1.7 / (1.4 / 3.5026 + 0.3 / 93.69), 0.002); /* mm, 0.4027 X0 per 1.7 mm */
    assert_near(st.ec, 8.23, 0.01);                               /* MeV */
    assert_near(st.rm, 10.87, 0.01);                              /* mm */
    assert_near(st.fs, st.x0 / 1.7, 1e-12);
    assert_near(st.ehat, 1 / 1.42, 1e-12);
    /* ds2's readout layer (2 x 1.7 mm) is the layout's 0.8 X0 */
    hd_calo_layout l;
    assert_int_equal(hd_calo_layout_get("ds2", &l), HD_OK);
    assert_near(3.4 / st.x0, l.layer_x0[0], 0.01);
}

static void test_gamma_sampler(void **state)
{
    (void)state;
    const double shapes[] = {0.02, 0.4, 1.0, 2.5, 30};
    for (int k = 0; k < 5; k++) {
        calo_rng g;
        calo_rng_init(&g, 7, (uint64_t)k);
        const int n = 200000;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            double x = calo_gamma(&g, shapes[k]);
            assert_true(x >= 0);
            s += x;
            s2 += x * x;
        }
        double mean = s / n, var = s2 / n - mean * mean, a = shapes[k];
        /* mean a and variance a; the error of the mean is sqrt(a / n) */
        assert_near(mean, a, 5 * sqrt(a / n));
        assert_near(var / a, 1, a < 0.1 ? 0.15 : 0.03);
    }
    calo_rng g;
    calo_rng_init(&g, 7, 0);
    double s = 0, s2 = 0;
    for (int i = 0; i < 200000; i++) {
        double x = calo_normal(&g);
        s += x;
        s2 += x * x;
    }
    assert_near(s / 200000, 0, 0.012);
    assert_near(s2 / 200000, 1, 0.012);
}

/* ---- physics ------------------------------------------------------------------------- */

/* The centre of gravity grows as ln(E/Ec) + const: Rossi's approximation B
 * has slope 1; GFlash's T = exp<ln T> and alpha grow so that the mean
 * depth's slope is slightly below 1 (0.97 here).  300 showers per energy
 * give each mean to about 0.06 X0, the slope over ln 100 to about 0.02. */
static void test_depth_grows_as_log_energy(void **state)
{
    (void)state;
    const double e_gev[3] = {1, 10, 100};
    double x[3], y[3], ec = 0;
    for (int k = 0; k < 3; k++) {
        hd_calo_opts o = opts("ds2", e_gev[k]);
        hd_calo_stack st;
        hd_calo_stack_of(&o, &st);
        ec = st.ec;
        sample s = simulate(&o, 0, 300);
        double cog = 0;
        for (int64_t i = 0; i < s.n; i++) cog += centre_of_gravity(&o.layout, &s, i);
        x[k] = log(1000 * e_gev[k] / ec);
        y[k] = cog / (double)s.n;
        sample_free(&s);
    }
    double mx = (x[0] + x[1] + x[2]) / 3, my = (y[0] + y[1] + y[2]) / 3, sxy = 0, sxx = 0;
    for (int k = 0; k < 3; k++) {
        sxy += (x[k] - mx) * (y[k] - my);
        sxx += (x[k] - mx) * (x[k] - mx);
    }
    double slope = sxy / sxx, offset = my - slope * mx;
    print_message("  centre of gravity %.3f, %.3f, %.3f X0 at 1, 10, 100 GeV: %.3f ln(E/Ec) + %.3f\n", y[0], y[1], y[2],
                  slope, offset);
    assert_near(slope, 1.0, 0.1);
    assert_near(offset, 0.95, 0.3);
    for (int k = 0; k < 3; k++) assert_near(y[k], slope * x[k] + offset, 0.15); /* straight in ln E */
}

/* Photons start at their conversion point, Exp(9/7 X0), then shower as electrons. */
static void test_photons_convert(void **state)
{
    (void)state;
    hd_calo_opts o = opts("reduced", 10);
    o.sampling = 0;
    sample e = simulate(&o, 0, 2000);
    o.particle = HD_CALO_PHOTON;
    sample g = simulate(&o, 0, 2000);
    double t0 = 0, de = 0;
    for (int64_t i = 0; i < 2000; i++) {
        assert_true(e.truth[i * HD_CALO_TRUTH + 2] == 0);
        t0 += g.truth[i * HD_CALO_TRUTH + 2];
        de += centre_of_gravity(&o.layout, &g, i) - centre_of_gravity(&o.layout, &e, i);
    }
    print_message("  photons: conversion depth %.3f X0, showers %.3f X0 deeper than electrons\n", t0 / 2000, de / 2000);
    assert_near(t0 / 2000, 9.0 / 7.0, 0.1); /* error 1.29 / sqrt(2000) = 0.03 */
    assert_near(de / 2000, 9.0 / 7.0, 0.25);
    sample_free(&e);
    sample_free(&g);
}

/* About 90% of the energy within one Moliere radius: a readout of one deep
 * layer with a radial edge at R_M, no sampling fluctuations or threshold,
 * averaged over showers of 10 and 100 GeV. */
static void test_moliere_containment(void **state)
{
    (void)state;
    const double e_gev[2] = {10, 100};
    for (int k = 0; k < 2; k++) {
        hd_calo_opts o = opts("ds2", e_gev[k]);
        hd_calo_stack st;
        hd_calo_stack_of(&o, &st);
        hd_calo_layout *l = &o.layout;
        memset(l, 0, sizeof *l);
        snprintf(l->name, sizeof l->name, "one R_M");
        l->kind = HD_CALO_CYLINDRICAL;
        l->n_layers = l->n_alpha = 1;
        l->n_r = 2;
        l->r_edges[1] = st.rm;
        l->r_edges[2] = 100 * st.rm;
        l->layer_x0[0] = 60;
        o.sampling = 0;
        o.threshold = 0;
        sample s = simulate(&o, 0, 200);
        double inner = 0, all = 0;
        for (int64_t i = 0; i < s.n; i++) {
            inner += s.showers[2 * i];
            all += s.showers[2 * i] + s.showers[2 * i + 1];
        }
        print_message("  %g GeV: %.4f of the energy within one Moliere radius (%.2f mm), %.4f within 100\n", e_gev[k],
                      inner / all, st.rm, all / (s.n * 1000 * e_gev[k]));
        assert_near(inner / all, 0.90, 0.05);
        assert_near(all / (s.n * 1000 * e_gev[k]), 1, 0.002); /* no leakage out of 60 X0 and 100 R_M */
        sample_free(&s);
    }
}

/* sigma/E = a / sqrt(E) (+) b with the default a = 0.11: the reduced
 * readout (28.8 X0, 3.85 R_M) at 1 to 64 GeV, 2000 showers each (sigma
 * known to 1.6%); a fit of (sigma/E)^2 = a^2 / E + b^2. */
static void test_resolution(void **state)
{
    (void)state;
    const double e_gev[4] = {1, 4, 16, 64};
    double x[4], y[4], w[4];
    for (int k = 0; k < 4; k++) {
        hd_calo_opts o = opts("reduced", e_gev[k]);
        sample s = simulate(&o, 0, 2000);
        double m = 0, m2 = 0;
        for (int64_t i = 0; i < s.n; i++) {
            double e = shower_sum(&s, i);
            m += e;
            m2 += e * e;
        }
        m /= (double)s.n;
        double r = sqrt(m2 / (double)s.n - m * m) / m;
        print_message("  %2g GeV: response %.4f, sigma/E %.4f (%.4f sqrt(GeV) / sqrt(E))\n", e_gev[k],
                      m / (1000 * e_gev[k]), r, r * sqrt(e_gev[k]));
        assert_near(m / (1000 * e_gev[k]), 0.985, 0.015);
        x[k] = 1 / e_gev[k];
        y[k] = r * r;
        w[k] = 1 / (y[k] * y[k]); /* var(sigma^2) ~ 2 sigma^4 / n */
        sample_free(&s);
    }
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 0; k < 4; k++) {
        sw += w[k];
        sx += w[k] * x[k];
        sy += w[k] * y[k];
        sxx += w[k] * x[k] * x[k];
        sxy += w[k] * x[k] * y[k];
    }
    double slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx), b2 = (sy - slope * sx) / sw;
    double a = sqrt(slope), b = b2 > 0 ? sqrt(b2) : -sqrt(-b2);
    print_message("  fit: sigma/E = %.4f / sqrt(E/GeV) (+) %.4f\n", a, b);
    assert_near(a, 0.11, 0.0066); /* 6% */
    assert_near(b, 0, 0.01);
}

/* ---- the ecal30 grid ----------------------------------------------------------------- */

typedef struct {
    double x, y, wx, wy;
} centroid;

static centroid grid_centroid(const hd_calo_layout *l, const sample *s)
{
    centroid c = {0, 0, 0, 0};
    for (int64_t i = 0; i < s->n; i++) {
        double e = 0, ex = 0, ey = 0, exx = 0, eyy = 0;
        for (int iy = 0; iy < l->ny; iy++)
            for (int ix = 0; ix < l->nx; ix++) {
                double v = s->showers[i * s->voxels + iy * l->nx + ix];
                double xc = (ix + 0.5 - 0.5 * l->nx) * l->cell, yc = (iy + 0.5 - 0.5 * l->ny) * l->cell;
                e += v;
                ex += v * xc;
                ey += v * yc;
                exx += v * xc * xc;
                eyy += v * yc * yc;
            }
        ex /= e;
        ey /= e;
        c.x += ex;
        c.y += ey;
        c.wx += sqrt(exx / e - ex * ex);
        c.wy += sqrt(eyy / e - ey * ey);
    }
    c.x /= (double)s->n;
    c.y /= (double)s->n;
    c.wx /= (double)s->n;
    c.wy /= (double)s->n;
    return c;
}

static hd_calo_opts grid_opts(double x, double y, double sx)
{
    hd_calo_opts o = opts("ecal30", 10);
    o.entry_x[0] = o.entry_x[1] = x;
    o.entry_y[0] = o.entry_y[1] = y;
    o.slope_x[0] = o.slope_x[1] = sx;
    o.slope_y[0] = o.slope_y[1] = 0;
    return o;
}

static void test_grid_follows_entry_point(void **state)
{
    (void)state;
    /* entries at cell centres, so the cells do not bias the centroid */
    const double cell = 4.65;
    hd_calo_opts a = grid_opts(-1.5 * cell, 0.5 * cell, 0), b = grid_opts(1.5 * cell, 2.5 * cell, 0);
    sample sa = simulate(&a, 0, 300), sb = simulate(&b, 0, 300);
    centroid ca = grid_centroid(&a.layout, &sa), cb = grid_centroid(&b.layout, &sb);
    print_message("  entry (%.3f, %.3f) mm: centroid (%.3f, %.3f); entry (%.3f, %.3f): (%.3f, %.3f); width %.2f mm\n",
                  -1.5 * cell, 0.5 * cell, ca.x, ca.y, 1.5 * cell, 2.5 * cell, cb.x, cb.y, ca.wx);
    assert_near(ca.x, -1.5 * cell, 0.3);
    assert_near(ca.y, 0.5 * cell, 0.3);
    assert_near(cb.x, 1.5 * cell, 0.3);
    assert_near(cb.y, 2.5 * cell, 0.3);
    assert_near(ca.wx, ca.wy, 0.2); /* round at normal incidence */
    /* the conditions are stored: momentum along z, |p| = sqrt(E^2 - m^2), the entry point */
    assert_near(sa.cond[0], 0, 1e-9);
    assert_near(sa.cond[2], sqrt(1e8 - 0.51099895 * 0.51099895), 1e-6);
    assert_near(sa.cond[3], -1.5 * cell, 1e-12);
    assert_near(sb.cond[4], 2.5 * cell, 1e-12);
    sample_free(&sa);
    sample_free(&sb);
}

/* An inclined shower's energy is displaced along the inclination by
 * slope x its mean depth (about 7.5 X0 at 10 GeV) and spread along it. */
static void test_grid_inclined_showers_elongate(void **state)
{
    (void)state;
    hd_calo_opts o = grid_opts(0, 0, 0.3);
    hd_calo_stack st;
    hd_calo_stack_of(&o, &st);
    sample s = simulate(&o, 0, 300);
    centroid c = grid_centroid(&o.layout, &s);
    double depth = c.x / 0.3 / st.x0;
    print_message("  slope 0.3: centroid x %.2f mm (mean depth %.2f X0 along z), widths %.2f along, %.2f across\n",
                  c.x, depth, c.wx, c.wy);
    assert_true(depth > 6 && depth < 9);
    assert_near(c.y, 0, 0.3);
    assert_true(c.wx > 1.15 * c.wy);
    /* momentum along the axis: px / pz = 0.3 */
    assert_near(s.cond[0] / s.cond[2], 0.3, 1e-12);
    assert_near(s.cond[1], 0, 1e-12);
    sample_free(&s);
    /* the other way round: across */
    o.slope_x[0] = o.slope_x[1] = 0;
    o.slope_y[0] = o.slope_y[1] = -0.3;
    s = simulate(&o, 0, 300);
    c = grid_centroid(&o.layout, &s);
    assert_true(c.y < -0.3 * 6 * st.x0);
    assert_true(c.wy > 1.15 * c.wx);
    sample_free(&s);
}

/* ---- determinism --------------------------------------------------------------------- */

static void assert_same(const sample *a, const sample *b, int64_t row_a, int64_t row_b, int64_t rows, int grid)
{
    assert_memory_equal(a->showers + row_a * a->voxels, b->showers + row_b * b->voxels,
                        (size_t)(rows * a->voxels) * sizeof(float));
    assert_memory_equal(a->e + row_a, b->e + row_b, (size_t)rows * sizeof(double));
    assert_memory_equal(a->truth + row_a * HD_CALO_TRUTH, b->truth + row_b * HD_CALO_TRUTH,
                        (size_t)rows * HD_CALO_TRUTH * sizeof(double));
    if (grid)
        assert_memory_equal(a->cond + row_a * HD_CALO_COND, b->cond + row_b * HD_CALO_COND,
                            (size_t)rows * HD_CALO_COND * sizeof(double));
}

static void test_determinism(void **state)
{
    (void)state;
    const char *layouts[2] = {"reduced", "ecal30"};
    for (int k = 0; k < 2; k++) {
        hd_calo_opts o = opts(layouts[k], 0);
        o.particle = k ? HD_CALO_PHOTON : HD_CALO_ELECTRON;
        o.seed = 11;
        hd_set_threads(1);
        sample one = simulate(&o, 0, 40);
        hd_set_threads(2);
        sample two = simulate(&o, 0, 40);
        assert_same(&one, &two, 0, 0, 40, k);
        sample alone = simulate(&o, 17, 1), tail = simulate(&o, 30, 10);
        assert_same(&one, &alone, 17, 0, 1, k);
        assert_same(&one, &tail, 30, 0, 10, k);
        o.seed = 12;
        sample other = simulate(&o, 0, 40);
        assert_true(memcmp(one.e, other.e, 40 * sizeof(double)) != 0);
        sample_free(&one);
        sample_free(&two);
        sample_free(&alone);
        sample_free(&tail);
        sample_free(&other);
    }
    hd_set_threads(0);
}

/* Energies log-uniform in [e_min, e_max]; the layout's default range. */
static void test_energies(void **state)
{
    (void)state;
    hd_calo_opts o = opts("reduced", 0);
    double lo, hi;
    hd_calo_energy_range(&o, &lo, &hi);
    assert_near(lo, 1e3, 0);
    assert_near(hi, 1e5, 0);
    hd_calo_opts d = opts("ds2", 0);
    hd_calo_energy_range(&d, &lo, &hi);
    assert_near(hi, 1e6, 0);
    o.sampling = 0;
    sample s = simulate(&o, 0, 4000);
    int below = 0;
    for (int64_t i = 0; i < s.n; i++) {
        assert_true(s.e[i] >= 1e3 && s.e[i] <= 1e5);
        below += s.e[i] < 1e4; /* half of a log-uniform range */
    }
    assert_near(below / 4000.0, 0.5, 0.04);
    sample_free(&s);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void test_refusals(void **state)
{
    (void)state;
    hd_calo_opts good = hd_calo_opts_default();
    assert_int_equal(hd_calo_check(&good), HD_OK);
    struct {
        const char *what;
        hd_calo_opts o;
    } bad[16];
    int n = 0;
#define BAD(text, change)          \
    do {                           \
        bad[n].what = text;        \
        bad[n].o = good;           \
        hd_calo_opts *p = &bad[n].o; \
        change;                    \
        n++;                       \
    } while (0)
    BAD("e_min = 50 MeV", p->e_min = 50);
    BAD("e_max = 2e+07 MeV", p->e_max = 2e7);
    BAD("e_min = 5000 MeV is above e_max = 2000 MeV", (p->e_min = 5000, p->e_max = 2000));
    BAD("e_max = nan", p->e_max = NAN);
    BAD("n_showers = 0", p->n_showers = 0);
    BAD("sampling = 0.01", p->sampling = 0.01);
    BAD("sampling = -0.1", p->sampling = -0.1);
    BAD("threshold = -1", p->threshold = -1);
    BAD("absorber_mm = 0", p->absorber_mm = 0);
    BAD("active_mm = inf", p->active_mm = INFINITY);
    BAD("particle 7", p->particle = (hd_calo_particle)7);
    BAD("layer 3 has no depth", p->layout.layer_x0[3] = 0);
    BAD("radial edge 2", p->layout.r_edges[2] = p->layout.r_edges[1]);
    BAD("GiB", (hd_calo_layout_get("ds3", &p->layout), p->n_showers = 200000));
    BAD("entry_x = [5, -5]", (hd_calo_layout_get("ecal30", &p->layout), p->entry_x[0] = 5, p->entry_x[1] = -5));
    BAD("slope_y = [-2, 0.3]", (hd_calo_layout_get("ecal30", &p->layout), p->slope_y[0] = -2));
#undef BAD
    float shower[288];
    double e;
    for (int k = 0; k < n; k++) {
        assert_error(hd_calo_check(&bad[k].o), HD_EINVAL, bad[k].what, NULL);
        if (bad[k].o.layout.kind == HD_CALO_CYLINDRICAL && hd_calo_layout_voxels(&bad[k].o.layout) <= 288)
            assert_error(hd_calo_simulate(&bad[k].o, 0, 1, shower, &e, NULL, NULL), HD_EINVAL, bad[k].what, NULL);
    }
    assert_error(hd_calo_simulate(&good, 0, 0, shower, &e, NULL, NULL), HD_EINVAL, "must lie in", NULL);
    assert_error(hd_calo_simulate(&good, (int64_t)UINT32_MAX, 1, shower, &e, NULL, NULL), HD_EINVAL, "must lie in",
                 NULL);
    assert_error(hd_calo_simulate(&good, 0, 1, NULL, &e, NULL, NULL), HD_EINVAL, "NULL showers", NULL);
    assert_error(hd_calo_write(&good, NULL), HD_EINVAL, "NULL path", NULL);
    hd_calo_layout l;
    assert_error(hd_calo_layout_get("ds4", &l), HD_EINVAL, "unknown calorimeter layout 'ds4'", "ecal30");
}

/* ---- the file ------------------------------------------------------------------------ */

static int dir_setup(void **state) { return test_dir_setup(state, "calo", "showers"); }

/* The arrays of a written file, from an .npz or through hd_h5_read. */
typedef struct {
    const char *path;
    hd_npz *z;        /* NULL: HDF5 */
    hd_array got[16]; /* HDF5: what was read */
    int n_got;
} file_view;

static const hd_array *get(file_view *v, const char *name, hd_dtype dtype)
{
    if (v->z) return hd_npz_get(v->z, name);
    assert_true(v->n_got < 16);
    hd_array *a = &v->got[v->n_got];
    if (hd_h5_read(v->path, name, dtype, a) != HD_OK) return NULL;
    v->n_got++;
    return a;
}

static void check_file(const char *path, int h5, const hd_calo_opts *o)
{
    file_view v = {path, NULL, {{0}}, 0};
    if (!h5) {
        int rc = hd_npz_read(path, &v.z);
        if (rc) fail_msg("%s", hd_last_error());
    }
    int grid = o->layout.kind == HD_CALO_GRID;
    if (!h5) assert_int_equal(hd_npz_count(v.z), 2 + 2 * grid + HD_CALO_TRUTH);
    sample s = simulate(o, 0, o->n_showers);
    const hd_array *e = get(&v, "incident_energies", HD_F64), *sh = get(&v, "showers", HD_F32);
    if (!e || !sh) fail_msg("%s: no incident_energies or showers (%s)", path, hd_last_error());
    assert_int_equal(e->dtype, HD_F64);
    assert_int_equal(e->ndim, 2);
    assert_int_equal(e->shape[0], o->n_showers);
    assert_int_equal(e->shape[1], 1);
    assert_int_equal(sh->dtype, HD_F32);
    assert_int_equal(sh->shape[1], s.voxels);
    assert_memory_equal(e->data, s.e, (size_t)s.n * sizeof(double));
    assert_memory_equal(sh->data, s.showers, (size_t)(s.n * s.voxels) * sizeof(float));
    for (int k = 0; k < HD_CALO_TRUTH; k++) {
        char name[64];
        snprintf(name, sizeof name, "true/%s", hd_calo_truth_name(k));
        const hd_array *t = get(&v, name, HD_F64);
        if (!t) fail_msg("%s: no %s", path, name);
        assert_int_equal(t->ndim, 1);
        for (int64_t i = 0; i < s.n; i++) assert_true(((double *)t->data)[i] == s.truth[i * HD_CALO_TRUTH + k]);
    }
    const hd_array *m = get(&v, "momentum", HD_F64), *p = get(&v, "entry_point", HD_F64);
    if (grid) {
        assert_non_null(m);
        assert_non_null(p);
        assert_int_equal(m->shape[1], 3);
        assert_int_equal(p->shape[1], 2);
        for (int64_t i = 0; i < s.n; i++) {
            for (int j = 0; j < 3; j++) assert_true(((double *)m->data)[3 * i + j] == s.cond[HD_CALO_COND * i + j]);
            for (int j = 0; j < 2; j++)
                assert_true(((double *)p->data)[2 * i + j] == s.cond[HD_CALO_COND * i + 3 + j]);
        }
    } else {
        assert_null(m);
        assert_null(p);
    }
    sample_free(&s);
    hd_npz_free(v.z);
    for (int k = 0; k < v.n_got; k++) hd_array_free(&v.got[k]);
}

static void progress(void *user, double fraction)
{
    double *last = user;
    assert_true(fraction > *last && fraction <= 1);
    *last = fraction;
}

static void write_and_check(const char *dir, int h5)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/showers.%s", dir, h5 ? "h5" : "npz");
    hd_calo_opts o = opts("reduced", 0);
    o.format = h5 ? HD_CALO_H5 : HD_CALO_NPZ;
    o.n_showers = HD_CALO_CHUNK + 37; /* two chunks */
    double last = 0;
    o.progress = progress;
    o.user = &last;
    assert_int_equal(hd_calo_write(&o, path), HD_OK);
    assert_near(last, 1, 0);
    check_file(path, h5, &o);
    hd_calo_opts g = opts("ecal30", 0);
    g.format = o.format;
    g.n_showers = 25;
    assert_int_equal(hd_calo_write(&g, path), HD_OK);
    check_file(path, h5, &g);
    /* a refused run leaves the file as it was */
    hd_calo_opts bad = g;
    bad.sampling = -1;
    assert_error(hd_calo_write(&bad, path), HD_EINVAL, "sampling", NULL);
    check_file(path, h5, &g);
}

static void test_write_npz(void **state)
{
    test_dir_fixture *f = *state;
    write_and_check(f->dir, 0);
}

static void test_write_h5(void **state)
{
    test_dir_fixture *f = *state;
    write_and_check(f->dir, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack),
        cmocka_unit_test(test_gamma_sampler),
        cmocka_unit_test(test_depth_grows_as_log_energy),
        cmocka_unit_test(test_photons_convert),
        cmocka_unit_test(test_moliere_containment),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_grid_follows_entry_point),
        cmocka_unit_test(test_grid_inclined_showers_elongate),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_energies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test_setup_teardown(test_write_npz, dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_write_h5, dir_setup, test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
