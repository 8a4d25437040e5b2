/* The spherical tracker: its geometry with hand-placed particles (axis,
 * eta = 0, the eta and phi bins and their edges, neutral, decayed and
 * inward particles, an offset that moves a track by a known number of
 * bins, energy and binary deposits, layers), the simulator around it with
 * fake event sources, and the eta shift of generated events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define PI 3.14159265358979323846
#define PION 211
#define R 10.0                  /* mm, the default radius */
#define D_ETA (10.0 / 32)       /* default eta bin: 2 eta_max / n_eta */
#define D_PHI (2 * PI / 32)
#define CELL(ie, ip) ((ie) * 32 + (ip))

#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, expected %.17g +- %g", line, what, a, b, tol);
}

/* ---- hand-made events ------------------------------------------------------------ */

static hd_particle parts[8];
static float image[3 * 32 * 32];

/* A stable massless particle of energy e from the origin along unit vector u. */
static hd_particle along(int pdg, double e, double ux, double uy, double uz)
{
    double n = sqrt(ux * ux + uy * uy + uz * uz);
    return (hd_particle){.pdg = pdg, .status = 1, .p = {e, e * ux / n, e * uy / n, e * uz / n}};
}

/* The same, along pseudorapidity eta and azimuth phi. */
static hd_particle track(int pdg, double e, double eta, double phi)
{
    return along(pdg, e, cos(phi) / cosh(eta), sin(phi) / cosh(eta), tanh(eta));
}

/* The particle decays at distance `at` along its momentum (status 2). */
static hd_particle decaying(hd_particle p, double at)
{
    double n = sqrt(p.p[1] * p.p[1] + p.p[2] * p.p[2] + p.p[3] * p.p[3]);
    p.status = 2;
    p.has_end = 1;
    for (int k = 0; k < 3; k++) p.end[k] = p.prod[k] + at * p.p[1 + k] / n;
    return p;
}

/* The hits of parts[0 .. n) into a zeroed image. */
static int64_t hits_of(const hd_tracker_opts *o, int64_t n, double offset)
{
    memset(image, 0, sizeof image);
    hd_event ev = {.n = n, .cap = n, .p = parts};
    return hd_tracker_hits(o, &ev, offset, image);
}

static double image_sum(int64_t cells)
{
    double s = 0;
    for (int64_t i = 0; i < cells; i++) s += image[i];
    return s;
}

/* ---- geometry --------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    assert_int_equal(o.n_eta, 32);
    assert_int_equal(o.n_phi, 32);
    assert_int_equal(o.n_layers, 1);
    assert_true(o.eta_max == 5 && o.r_min == 10 && o.r_max == 10 && o.binary == 0 && o.energy_threshold == 0);
}

static void test_axis_is_outside_the_eta_range(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = along(PION, 10, 0, 0, 1);
    parts[1] = along(-PION, 10, 0, 0, -1);
    parts[2] = track(PION, 10, 5.01, 1);
    parts[3] = track(PION, 10, -5.01, 1);
    assert_int_equal(hits_of(&o, 4, 0), 0);
    assert_true(image_sum(1024) == 0);
}

/* eta = 0 is the first bin above the middle; phi = atan2(y, x) + pi. */
static void test_eta_zero(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = along(PION, 5, cos(0.3), sin(0.3), 0);   /* phi 0.3 + pi = 17.53 bins */
    parts[1] = along(-PION, 2, cos(-3), sin(-3), 0);    /* 0.14 rad: bin 0 */
    parts[2] = along(PION, 1, cos(3.0), sin(3.0), 0);   /* 6.14 rad: bin 31 */
    assert_int_equal(hits_of(&o, 3, 0), 3);
    assert_true(image[CELL(16, 17)] == 5);
    assert_true(image[CELL(16, 0)] == 2);
    assert_true(image[CELL(16, 31)] == 1);
    assert_true(image_sum(1024) == 8);
}

/* Uniform bins over [-5, 5]: bin 16 + floor(eta / 0.3125) above 0, its mirror below. */
static void test_eta_bins(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    const struct {
        double eta;
        int bin;
    } cases[] = {{0.1, 16}, {-0.1, 15}, {0.32, 17}, {-0.32, 14}, {1.0, 19}, {-1.0, 12},
                 {4.9, 31}, {-4.9, 0},  {4.999, 31}, {-4.999, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        parts[0] = track(PION, 1, cases[k].eta, 0.3);
        assert_int_equal(hits_of(&o, 1, 0), 1);
        if (image[CELL(cases[k].bin, 17)] != 1) fail_msg("eta %g: not in bin %d", cases[k].eta, cases[k].bin);
    }
}

/* phi = 2 pi exactly (atan2(+0, -1) = pi) stays in the last phi bin of its row. */
static void test_phi_edge(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = along(PION, 3, -1, 0, 0.2); /* eta = asinh(0.2) = 0.199: bin 16 */
    assert_int_equal(hits_of(&o, 1, 0), 1);
    assert_true(image[CELL(16, 31)] == 3);
    assert_true(image[CELL(17, 0)] == 0);
}

static void test_neutral_particles_leave_nothing(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    const int neutral[] = {22, 130, 2112, 310, 111, 12};
    for (size_t k = 0; k < sizeof neutral / sizeof neutral[0]; k++) parts[k] = track(neutral[k], 10, 0.5, 1);
    assert_int_equal(hits_of(&o, 6, 0), 0);
    o.binary = 1;
    assert_int_equal(hits_of(&o, 6, 0), 0);
}

/* A segment must start inside and end outside the sphere. */
static void test_decays_and_inward_segments(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = decaying(track(PION, 4, 0.5, 0.3), 5);   /* decays inside */
    parts[1] = decaying(track(PION, 4, 0.5, 0.3), 9.99);
    assert_int_equal(hits_of(&o, 2, 0), 0);
    parts[0] = decaying(track(PION, 4, 0.5, 0.3), 10.01); /* decays just outside: a hit */
    assert_int_equal(hits_of(&o, 1, 0), 1);
    assert_true(image[CELL(17, 17)] == 4); /* eta 0.5 = 1.6 bins */

    /* produced outside at y = 20 going -y: through the sphere (both ends
     * outside), or stopping inside (an inward crossing) */
    parts[0] = along(PION, 4, 0, -1, 0);
    parts[0].prod[1] = 20;
    parts[1] = decaying(parts[0], 15);
    assert_int_equal(hits_of(&o, 2, 0), 0);

    /* the reverse of the second: produced inside at 5 mm, decaying outside */
    double a = 1.4;
    parts[0] = along(PION, 4, cos(a), sin(a), 0);
    parts[0].prod[0] = 5 * cos(a);
    parts[0].prod[1] = 5 * sin(a);
    parts[0] = decaying(parts[0], 15);
    assert_int_equal(hits_of(&o, 1, 0), 1);
    assert_true(image[CELL(16, 23)] == 4); /* 1.4 + pi = 23.13 bins */
}

/* Partons (status not 1 or 2), no momentum, zero-length segments: no hit. */
static void test_skipped_particles(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = track(2, 45, 0.5, 0.3); /* an up quark, no end vertex */
    parts[0].status = 23;
    parts[1] = track(PION, 1, 0.5, 0.3);
    parts[1].p[1] = parts[1].p[2] = parts[1].p[3] = 0;
    parts[2] = decaying(track(2212, 3, 0.5, 0.3), 0); /* a Pythia proton: tau = 0 */
    assert_int_equal(hits_of(&o, 3, 0), 0);
}

/* A track at eta = 0 from z = offset meets the sphere at z = offset:
 * eta = atanh(offset / R).  Choose the offset for 3.5 bins. */
static void test_offset_moves_track_by_bins(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    double d = R * tanh(3.5 * D_ETA);
    parts[0] = along(PION, 2, cos(0.3), sin(0.3), 0);
    assert_int_equal(hits_of(&o, 1, d), 1);
    assert_true(image[CELL(16 + 3, 17)] == 2);
    assert_int_equal(hits_of(&o, 1, -d), 1);
    assert_true(image[CELL(15 - 3, 17)] == 2);

    /* a production vertex at z = -offset undoes the offset */
    parts[0].prod[2] = -d;
    assert_int_equal(hits_of(&o, 1, d), 1);
    assert_true(image[CELL(16, 17)] == 2);
}

/* Track at eta0, polar angle theta, from (0, 0, d): the hit is at
 * t = -d cos(theta) + sqrt(R^2 - d^2 sin^2(theta)) along it, z = d + t cos(theta). */
static void test_offset_analytic(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    const double eta0[] = {1.2, -0.7, 2.9, -3.3}, offsets[] = {1.5, 1.5, -2.0, 2.5};
    for (int k = 0; k < 4; k++) {
        double d = offsets[k], theta = 2 * atan(exp(-eta0[k])), ct = cos(theta), st = sin(theta);
        double t = -d * ct + sqrt(R * R - d * d * st * st), eta = atanh((d + t * ct) / R);
        assert_near(eta - eta0[k], d / R, (d / R) * (d / R)); /* +d / R to first order */
        int bin = eta >= 0 ? 16 + (int)(eta / D_ETA) : 15 - (int)(-eta / D_ETA);
        int bin0 = eta0[k] >= 0 ? 16 + (int)(eta0[k] / D_ETA) : 15 - (int)(-eta0[k] / D_ETA);
        assert_int_not_equal(bin, bin0); /* the cases move by a bin */
        parts[0] = track(PION, 1, eta0[k], 0.3);
        assert_int_equal(hits_of(&o, 1, d), 1);
        if (image[CELL(bin, 17)] != 1) fail_msg("eta0 %g, offset %g: expected bin %d", eta0[k], d, bin);
    }
}

static void test_energy_and_binary(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    parts[0] = track(PION, 3, 0.10, 0.30);
    parts[1] = track(-321, 4, 0.12, 0.31); /* K-, same cell (16, 17) */
    parts[2] = track(PION, 0.5, -1.0, 0.3);
    assert_int_equal(hits_of(&o, 3, 0), 3);
    assert_true(image[CELL(16, 17)] == 7);
    assert_true(image[CELL(12, 17)] == 0.5f);
    hd_event ev = {.n = 3, .cap = 3, .p = parts};
    assert_int_equal(hd_tracker_hits(&o, &ev, 0, image), 3); /* adds to what is there */
    assert_true(image[CELL(16, 17)] == 14);

    o.binary = 1;
    assert_int_equal(hits_of(&o, 3, 0), 3);
    assert_true(image[CELL(16, 17)] == 1 && image[CELL(12, 17)] == 1);
    o.energy_threshold = 1; /* the 0.5 GeV track drops out */
    assert_int_equal(hits_of(&o, 3, 0), 2);
    assert_true(image[CELL(16, 17)] == 1 && image[CELL(12, 17)] == 0);
    assert_true(image_sum(1024) == 1);
}

/* Radii 10, 20, 30; output layer by layer. */
static void test_layers(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    o.n_layers = 3;
    o.r_max = 30;
    int c = CELL(17, 17); /* eta 0.5, phi 0.3 */
    parts[0] = track(PION, 1, 0.5, 0.3);
    parts[1] = decaying(track(PION, 2, 0.5, 0.3), 15); /* decays between layers 0 and 1 */
    parts[2] = track(PION, 4, 0.5, 0.3);               /* its daughter */
    for (int k = 0; k < 3; k++) parts[2].prod[k] = parts[1].end[k];
    assert_int_equal(hits_of(&o, 3, 0), 3 + 1 + 2);
    assert_true(image[c] == 3 && image[1024 + c] == 5 && image[2048 + c] == 5);
    assert_true(image_sum(3 * 1024) == 13);

    /* eta = 0 from z = 8 mm: atanh(8 / r) = 3.52, 1.36, 0.87 bins */
    parts[0] = along(PION, 1, cos(0.3), sin(0.3), 0);
    assert_int_equal(hits_of(&o, 1, 8), 3);
    assert_true(image[CELL(19, 17)] == 1 && image[1024 + CELL(17, 17)] == 1 && image[2048 + CELL(16, 17)] == 1);
}

static void test_bad_options(void **state)
{
    (void)state;
    hd_tracker_opts d = hd_tracker_opts_default(), o;
    parts[0] = track(PION, 1, 0.5, 0.3);
    hd_event ev = {.n = 1, .cap = 1, .p = parts};
#define BAD(field, value, text)                                                          \
    o = d;                                                                               \
    o.field = value;                                                                     \
    assert_error((int)hd_tracker_hits(&o, &ev, 0, image), HD_EINVAL, text, NULL);
    BAD(n_eta, 31, "n_eta = 31");
    BAD(n_eta, 0, "n_eta = 0");
    BAD(n_phi, 0, "n_phi = 0");
    BAD(n_layers, 0, "n_layers = 0");
    BAD(eta_max, 0, "eta_max = 0");
    BAD(eta_max, NAN, "eta_max = nan");
    BAD(r_min, 0, "r_min = 0");
    BAD(r_max, 5, "r_max = 5");
    BAD(binary, 2, "binary = 2");
    BAD(energy_threshold, INFINITY, "energy_threshold = inf");
#undef BAD
    assert_error((int)hd_tracker_hits(NULL, &ev, 0, image), HD_EINVAL, "NULL options", NULL);
    assert_error((int)hd_tracker_hits(&d, NULL, 0, image), HD_EINVAL, "NULL event", NULL);
    assert_error((int)hd_tracker_hits(&d, &ev, 0, NULL), HD_EINVAL, "NULL image", NULL);
    assert_error((int)hd_tracker_hits(&d, &ev, NAN, image), HD_EINVAL, "offset = nan", NULL);
}

/* ---- the simulator ------------------------------------------------------------------ */

/* Event `index`: one pion of energy 1 + index % 1000 at eta = 0, phi 0.3
 * (fixed) or spread with the index; a pool checks the index is in range. */
typedef struct {
    int spread;
    uint64_t pool;
} fake;

static int fake_event(void *source, uint64_t index, hd_event *ev)
{
    const fake *f = source;
    if (f->pool && index >= f->pool) return hd_error(HD_EINVAL, "index %llu outside the pool", (unsigned long long)index);
    double phi = f->spread ? -PI + 2 * PI * (double)(index % 997) / 997 : 0.3;
    hd_event_clear(ev);
    hd_particle *p = hd_event_push(ev);
    if (!p) return HD_ENOMEM;
    *p = along(PION, 1 + (double)(index % 1000), cos(phi), sin(phi), 0);
    return HD_OK;
}

static int broken_event(void *source, uint64_t index, hd_event *ev)
{
    (void)source;
    (void)ev;
    return hd_error(HD_EIO, "source broke at event %llu", (unsigned long long)index);
}

static void test_sim_declaration(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    o.n_layers = 2;
    o.r_max = 20;
    o.n_phi = 16;
    fake f = {0, 0};
    hd_simulator *s = hd_tracker_sim_new(&o, (hd_event_source){fake_event, &f, 0}, -2, 3);
    assert_non_null(s);
    assert_string_equal(s->name, "tracker");
    assert_int_equal(s->n_params, 1);
    assert_string_equal(s->param_names[0], "offset");
    assert_true(s->lo[0] == -2 && s->hi[0] == 3);
    assert_int_equal(s->obs_ndim, 3);
    assert_true(s->obs_shape[0] == 2 && s->obs_shape[1] == 32 && s->obs_shape[2] == 16);
    assert_int_equal(hd_simulator_obs_size(s), 1024);
    hd_simulator_free(s);

    hd_event_source src = {fake_event, &f, 0};
    assert_null(hd_tracker_sim_new(&o, src, 3, -2));
    assert_error(HD_EINVAL, HD_EINVAL, "offset box [3, -2]", NULL);
    assert_null(hd_tracker_sim_new(&o, src, 0, INFINITY));
    assert_null(hd_tracker_sim_new(NULL, src, 0, 1));
    assert_error(HD_EINVAL, HD_EINVAL, "NULL options", NULL);
    o.n_eta = 3;
    assert_null(hd_tracker_sim_new(&o, src, 0, 1));
    assert_error(HD_EINVAL, HD_EINVAL, "n_eta = 3", NULL);
    o.n_eta = 32;
    assert_null(hd_tracker_sim_new(&o, (hd_event_source){NULL, &f, 0}, 0, 1));
    assert_error(HD_EINVAL, HD_EINVAL, "no event function", NULL);
    assert_null(hd_tracker_sim_new(&o, (hd_event_source){fake_event, &f, (uint64_t)1 << 32}, 0, 1));
    assert_error(HD_EINVAL, HD_EINVAL, "pool of 4294967296", NULL);
}

/* Offsets 0 and R tanh(3.5 bins), clamped into [-1, 9]: one pion per image. */
static void test_sim_fake_source(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    fake f = {0, 0};
    hd_simulator *s = hd_tracker_sim_new(&o, (hd_event_source){fake_event, &f, 0}, -1, 9);
    assert_non_null(s);
    enum { PER = 5 };
    double d = R * tanh(3.5 * D_ETA), theta[3] = {0, d, 100};
    float *out = malloc(3 * PER * 1024 * sizeof *out);
    assert_non_null(out);
    assert_int_equal(hd_simulator_run(s, 3, theta, PER, 1, 0, out), HD_OK);
    const int cell[3] = {CELL(16, 17), CELL(19, 17), CELL(16 + (int)(atanh(0.9) / D_ETA), 17)};
    for (int dr = 0; dr < 3; dr++)
        for (int i = 0; i < PER; i++) {
            const float *img = out + (dr * PER + i) * 1024;
            double sum = 0;
            for (int c = 0; c < 1024; c++) sum += img[c];
            assert_true(img[cell[dr]] >= 1 && img[cell[dr]] == sum);
        }
    free(out);
    hd_simulator_free(s);
}

static float *run_spread(int threads, hd_event_source src, int64_t draws, int64_t per)
{
    hd_set_threads(threads);
    hd_tracker_opts o = hd_tracker_opts_default();
    hd_simulator *s = hd_tracker_sim_new(&o, src, -2, 2);
    assert_non_null(s);
    double *theta = malloc((size_t)draws * sizeof *theta);
    float *out = malloc((size_t)(draws * per * 1024) * sizeof *out);
    assert_non_null(theta);
    assert_non_null(out);
    for (int64_t d = 0; d < draws; d++) theta[d] = -2 + 4.0 * (double)d / (double)draws;
    int rc = hd_simulator_run(s, draws, theta, per, 9, 0, out);
    if (rc) fail_msg("run: %s", hd_last_error());
    hd_simulator_free(s);
    free(theta);
    hd_set_threads(2);
    return out;
}

static void test_sim_threads_and_pool(void **state)
{
    (void)state;
    fake unbounded = {1, 0}, pool = {1, 6};
    hd_event_source a = {fake_event, &unbounded, 0}, b = {fake_event, &pool, 6};
    float *one = run_spread(1, a, 16, 4), *two = run_spread(2, a, 16, 4);
    assert_memory_equal(one, two, 16 * 4 * 1024 * sizeof *one);
    free(one);
    free(two);

    /* a pool of 6: every index in range, each drawn about 1/6 of the time */
    float *p = run_spread(2, b, 30, 20);
    int seen[6] = {0};
    for (int i = 0; i < 30 * 20; i++) {
        double e = 0;
        for (int c = 0; c < 1024; c++) e += p[i * 1024 + c];
        assert_true(e >= 1 && e <= 6 && e == floor(e));
        seen[(int)e - 1]++;
    }
    for (int k = 0; k < 6; k++) assert_in_range(seen[k], 60, 140);
    free(p);
}

static void test_sim_source_error(void **state)
{
    (void)state;
    hd_tracker_opts o = hd_tracker_opts_default();
    hd_simulator *s = hd_tracker_sim_new(&o, (hd_event_source){broken_event, NULL, 0}, -1, 1);
    assert_non_null(s);
    double theta[4] = {0, 0, 0, 0};
    float *out = malloc(4 * 2 * 1024 * sizeof *out);
    assert_non_null(out);
    assert_error(hd_simulator_run(s, 4, theta, 2, 1, 0, out), HD_EIO, "source broke at event", "draw 0)");
    free(out);
    hd_simulator_free(s);
}

/* ---- generated events --------------------------------------------------------------- */

/* Energy-weighted mean eta of the hits (bin centres) of n images. */
static double mean_eta(const float *img, int64_t n)
{
    double w = 0, s = 0;
    for (int64_t i = 0; i < n; i++)
        for (int ie = 0; ie < 32; ie++)
            for (int ip = 0; ip < 32; ip++) {
                double e = img[i * 1024 + CELL(ie, ip)];
                w += e;
                s += e * (-5 + (ie + 0.5) * D_ETA);
            }
    return s / w;
}

/* The same events at offsets 0 and 1 mm: every track's eta moves by about
 * offset / R = 0.1 (docs/tracker.md). */
static void test_generated_events_shift_by_offset_over_r(void **state)
{
    (void)state;
    enum { EVENTS = 2000 };
    hd_eeqq_opts g = hd_eeqq_opts_default();
    hd_tracker_opts o = hd_tracker_opts_default();
    hd_simulator *s = hd_tracker_sim_new(&o, hd_eeqq_source(&g), -2, 2);
    assert_non_null(s);
    float *at0 = malloc(EVENTS * 1024 * sizeof *at0), *at1 = malloc(EVENTS * 1024 * sizeof *at1);
    assert_non_null(at0);
    assert_non_null(at1);
    double zero = 0, one = 1;
    assert_int_equal(hd_simulator_run(s, 1, &zero, EVENTS, 4, 0, at0), HD_OK);
    assert_int_equal(hd_simulator_run(s, 1, &one, EVENTS, 4, 0, at1), HD_OK);
    double shift = mean_eta(at1, EVENTS) - mean_eta(at0, EVENTS);
    assert_near(shift, 0.1, 0.01);
    free(at0);
    free(at1);
    hd_simulator_free(s);
}

int main(void)
{
    hd_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_axis_is_outside_the_eta_range),
        cmocka_unit_test(test_eta_zero),
        cmocka_unit_test(test_eta_bins),
        cmocka_unit_test(test_phi_edge),
        cmocka_unit_test(test_neutral_particles_leave_nothing),
        cmocka_unit_test(test_decays_and_inward_segments),
        cmocka_unit_test(test_skipped_particles),
        cmocka_unit_test(test_offset_moves_track_by_bins),
        cmocka_unit_test(test_offset_analytic),
        cmocka_unit_test(test_energy_and_binary),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_sim_declaration),
        cmocka_unit_test(test_sim_fake_source),
        cmocka_unit_test(test_sim_threads_and_pool),
        cmocka_unit_test(test_sim_source_error),
        cmocka_unit_test(test_generated_events_shift_by_offset_over_r),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
