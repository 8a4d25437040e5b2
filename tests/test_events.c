/* The e+e- -> q qbar generator and the particle table: conservation of
 * four-momentum and charge, mass shells, decay vertices, the record's
 * vertex structure, multiplicities against LEP, the hard process (flavour
 * fractions, 1 + cos^2 theta), reproducibility, and the PDG charges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "sim/particle_data.h"
#include "test_util.h"

/* cmocka compares floats in single precision; these need double. */
#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, expected %.17g +- %g", line, what, a, b, tol);
}

enum { N_EVENTS = 4000 };

static void generate(const hd_eeqq_opts *o, uint64_t index, hd_event *ev)
{
    int rc = hd_eeqq_event(o, index, ev);
    if (rc) fail_msg("hd_eeqq_event(%llu): %s", (unsigned long long)index, hd_last_error());
}

static int is_final(const hd_particle *p) { return p->status == 1; }

static double norm3(const double *v) { return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

/* ---- conservation and kinematics ------------------------------------------------------ */

static void test_final_state_conserves_four_momentum(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    for (uint64_t i = 0; i < N_EVENTS; i++) {
        generate(&o, i, &ev);
        double sum[4] = {0, 0, 0, 0};
        for (int64_t j = 0; j < ev.n; j++)
            if (is_final(ev.p + j))
                for (int mu = 0; mu < 4; mu++) sum[mu] += ev.p[j].p[mu];
        assert_near(sum[0], o.sqrt_s, 1e-9 * o.sqrt_s);
        for (int d = 1; d < 4; d++) assert_near(sum[d], 0, 1e-9 * o.sqrt_s);
    }
    hd_event_free(&ev);
}

/* Each decay conserves four-momentum too, and the beams add up to the Z. */
static void test_every_vertex_conserves_four_momentum(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    for (uint64_t i = 0; i < 200; i++) {
        generate(&o, i, &ev);
        int n_vertices = 0;
        for (int64_t j = 0; j < ev.n; j++) n_vertices = ev.p[j].end_vertex > n_vertices ? ev.p[j].end_vertex : n_vertices;
        for (int v = 1; v <= n_vertices; v++) {
            double in[4] = {0}, out[4] = {0};
            for (int64_t j = 0; j < ev.n; j++)
                for (int mu = 0; mu < 4; mu++) {
                    if (ev.p[j].end_vertex == v) in[mu] += ev.p[j].p[mu];
                    if (ev.p[j].prod_vertex == v) out[mu] += ev.p[j].p[mu];
                }
            for (int mu = 0; mu < 4; mu++) assert_near(out[mu], in[mu], 1e-9 * o.sqrt_s);
        }
    }
    hd_event_free(&ev);
}

static void test_final_state_is_neutral(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    for (uint64_t i = 0; i < N_EVENTS; i++) {
        generate(&o, i, &ev);
        int charge3 = 0;
        for (int64_t j = 0; j < ev.n; j++)
            if (is_final(ev.p + j)) charge3 += hd_pdg_charge3(ev.p[j].pdg);
        assert_int_equal(charge3, 0);
    }
    hd_event_free(&ev);
}

static void test_particles_on_mass_shell(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    for (uint64_t i = 0; i < 500; i++) {
        generate(&o, i, &ev);
        for (int64_t j = 0; j < ev.n; j++) {
            const hd_particle *p = ev.p + j;
            if (p->pdg == 23) continue; /* the Z is off shell: its mass is sqrt(s) */
            double m2 = p->p[0] * p->p[0] - p->p[1] * p->p[1] - p->p[2] * p->p[2] - p->p[3] * p->p[3];
            assert_near(m2, p->mass * p->mass, 1e-9 * (p->p[0] * p->p[0] + 1));
            const hd_pdg_info *e = hd_pdg_lookup(p->pdg);
            assert_non_null(e);
            if (abs(p->pdg) > 6) assert_near(p->mass, e->mass, 0); /* hadrons at their pole masses */
        }
    }
    hd_event_free(&ev);
}

/* ---- vertices --------------------------------------------------------------------------- */

/* Decay vertices lie along the momentum: end - prod = (ell / m) (p, E). */
static void test_decay_vertices_along_momentum(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    int displaced = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        generate(&o, i, &ev);
        for (int64_t j = 0; j < ev.n; j++) {
            const hd_particle *p = ev.p + j;
            if (p->status != 2) continue;
            assert_true(p->has_end);
            double d[4], cross[3];
            for (int c = 0; c < 4; c++) d[c] = p->end[c] - p->prod[c];
            const double *q = p->p + 1;
            cross[0] = d[1] * q[2] - d[2] * q[1];
            cross[1] = d[2] * q[0] - d[0] * q[2];
            cross[2] = d[0] * q[1] - d[1] * q[0];
            assert_near(norm3(cross), 0, 1e-12 * norm3(d) * norm3(q) + 1e-300);
            assert_true(d[0] * q[0] + d[1] * q[1] + d[2] * q[2] >= 0); /* forwards */
            assert_near(d[3] * norm3(q), norm3(d) * p->p[0], 1e-12 * d[3] * p->p[0] + 1e-300);
            const hd_pdg_info *e = hd_pdg_lookup(p->pdg);
            if (e->ctau < 1e-3) assert_near(norm3(d) + fabs(d[3]), 0, 0); /* pi0, eta, resonances: at once */
            else displaced++;
        }
    }
    assert_true(displaced > 1000); /* K0S and Lambda */
    hd_event_free(&ev);
}

/* The mean proper decay length of K0S and Lambda is their c tau. */
static void test_mean_flight_is_ctau(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    static const int codes[2] = {310, 3122};
    double sum[2] = {0, 0}, lab[2] = {0, 0}, boosted[2] = {0, 0};
    int n[2] = {0, 0};
    for (uint64_t i = 0; i < 20000; i++) {
        generate(&o, i, &ev);
        for (int64_t j = 0; j < ev.n; j++) {
            const hd_particle *p = ev.p + j;
            for (int k = 0; k < 2; k++)
                if (abs(p->pdg) == codes[k]) {
                    double d[3] = {p->end[0] - p->prod[0], p->end[1] - p->prod[1], p->end[2] - p->prod[2]};
                    double bg = norm3(p->p + 1) / p->mass;
                    sum[k] += norm3(d) / bg;
                    lab[k] += norm3(d);
                    boosted[k] += bg * hd_pdg_lookup(codes[k])->ctau;
                    n[k]++;
                }
        }
    }
    for (int k = 0; k < 2; k++) {
        double ctau = hd_pdg_lookup(codes[k])->ctau, se = ctau / sqrt(n[k]);
        assert_true(n[k] > 2000);
        assert_near(sum[k] / n[k], ctau, 4 * se);
        assert_near(lab[k] / boosted[k], 1, 0.05); /* the lab flight: beta gamma c tau */
    }
    hd_event_free(&ev);
}

/* Beams into 1, Z 1 -> 2, quarks 2 -> 3 -> hadrons; numbers in order of
 * first mention; daughters start exactly where their parent ends. */
static void test_record_structure(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    for (uint64_t i = 0; i < 300; i++) {
        generate(&o, i, &ev);
        static const int status[5] = {4, 4, 22, 23, 23}, from[5] = {0, 0, 1, 2, 2}, into[5] = {1, 1, 2, 3, 3};
        assert_int_equal(ev.p[0].pdg, 11);
        assert_int_equal(ev.p[1].pdg, -11);
        assert_int_equal(ev.p[2].pdg, 23);
        assert_int_equal(ev.p[3].pdg, -ev.p[4].pdg);
        for (int j = 0; j < 5; j++) {
            assert_int_equal(ev.p[j].status, status[j]);
            assert_int_equal(ev.p[j].prod_vertex, from[j]);
            assert_int_equal(ev.p[j].end_vertex, into[j]);
        }
        int next = 1;
        for (int64_t j = 0; j < ev.n; j++) {
            const hd_particle *p = ev.p + j;
            for (int k = 0; k < 2; k++) {
                int v = k ? p->end_vertex : p->prod_vertex;
                if (v == next) next++;
                else assert_true(v < next); /* first mention in order */
            }
            assert_int_equal(p->has_end, p->end_vertex != 0);
            assert_true(p->status == 1 || p->has_end);
            if (j < 5 || p->prod_vertex == 3) continue;
            int found = 0; /* the parent: the particle that went into this vertex */
            for (int64_t k = 5; k < j && !found; k++)
                if (ev.p[k].end_vertex == p->prod_vertex) {
                    found = 1;
                    assert_memory_equal(p->prod, ev.p[k].end, sizeof p->prod);
                }
            assert_true(found);
        }
    }
    hd_event_free(&ev);
}

/* ---- multiplicities ---------------------------------------------------------------------- */

typedef struct {
    double charged, charged2, photons, species[6];
} counts;

static counts count(uint64_t n)
{
    static const int codes[6] = {211, 321, 2212, 310, 3122, 111};
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    counts c = {0};
    for (uint64_t i = 0; i < n; i++) {
        generate(&o, i, &ev);
        int nch = 0;
        for (int64_t j = 0; j < ev.n; j++) {
            const hd_particle *p = ev.p + j;
            for (int k = 0; k < 6; k++) c.species[k] += abs(p->pdg) == codes[k];
            if (!is_final(p)) continue;
            nch += hd_pdg_charge3(p->pdg) != 0;
            c.photons += p->pdg == 22;
        }
        c.charged += nch;
        c.charged2 += (double)nch * nch;
    }
    hd_event_free(&ev);
    c.charged /= (double)n;
    c.charged2 /= (double)n;
    c.photons /= (double)n;
    for (int k = 0; k < 6; k++) c.species[k] /= (double)n;
    return c;
}

/* LEP: 20.9 charged particles per hadronic Z (dispersion 6.4), about as many photons. */
static void test_multiplicity_as_at_lep(void **state)
{
    (void)state;
    counts c = count(N_EVENTS);
    double sd = sqrt(c.charged2 - c.charged * c.charged);
    assert_true(c.charged >= 18 && c.charged <= 23);
    assert_true(sd >= 3 && sd <= 9);
    assert_true(c.photons >= 0.75 * c.charged && c.photons <= 1.25 * c.charged);
    /* per event, particle and antiparticle (LEP: 17.0, 2.2, 1.05, 1.0, 0.37, 9.6) */
    static const double lo[6] = {15, 1.6, 0.7, 0.7, 0.1, 7}, hi[6] = {20, 3, 1.5, 1.4, 0.6, 12};
    for (int k = 0; k < 6; k++)
        if (!(c.species[k] >= lo[k] && c.species[k] <= hi[k]))
            fail_msg("species %d: %.3f per event, outside [%g, %g]", k, c.species[k], lo[k], hi[k]);
}

/* ---- the hard process ------------------------------------------------------------------- */

static void test_flavour_fractions_and_axis(void **state)
{
    (void)state;
    enum { N = 20000 };
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event ev = {0};
    double flavour[6] = {0}, cos2 = 0, cos1 = 0;
    for (uint64_t i = 0; i < N; i++) {
        generate(&o, i, &ev);
        const hd_particle *q = ev.p + 3;
        assert_true(q->pdg >= 1 && q->pdg <= 5);
        flavour[q->pdg]++;
        double c = q->p[3] / norm3(q->p + 1);
        cos1 += c;
        cos2 += c * c;
    }
    /* Z partial widths ~ v^2 + a^2 at sin^2 theta_W = 0.23122 */
    double vu = 0.5 - 4.0 / 3 * 0.23122, vd = -0.5 + 2.0 / 3 * 0.23122, wu = vu * vu + 0.25, wd = vd * vd + 0.25;
    double total = 2 * wu + 3 * wd;
    for (int q = 1; q <= 5; q++) {
        double expect = (q % 2 ? wd : wu) / total, se = sqrt(expect * (1 - expect) / N);
        assert_near(flavour[q] / N, expect, 4 * se);
    }
    assert_near(wd / total, 0.22, 0.002);
    assert_near(wu / total, 0.17, 0.002);
    /* 1 + cos^2: <cos> = 0, <cos^2> = 2/5 (uniform: 1/3); sd of cos^2 is 0.31 */
    assert_near(cos1 / N, 0, 4 * sqrt(0.4 / N));
    assert_near(cos2 / N, 0.4, 4 * 0.312 / sqrt(N));
    hd_event_free(&ev);
}

static void test_other_energy(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    o.sqrt_s = 30;
    hd_event ev = {0};
    for (uint64_t i = 0; i < 200; i++) {
        generate(&o, i, &ev);
        double e = 0;
        for (int64_t j = 0; j < ev.n; j++) e += is_final(ev.p + j) ? ev.p[j].p[0] : 0;
        assert_near(e, 30, 1e-9 * 30);
    }
    hd_event_free(&ev);
}

/* ---- reproducibility and options ----------------------------------------------------- */

static void assert_same_event(const hd_event *a, const hd_event *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->p, b->p, (size_t)a->n * sizeof *a->p);
}

static void test_events_independent_of_order(void **state)
{
    (void)state;
    enum { N = 64 };
    hd_eeqq_opts o = hd_eeqq_opts_default();
    o.seed = 77;
    hd_event forward[N] = {{0}}, ev = {0};
    for (int i = 0; i < N; i++) generate(&o, (uint64_t)i + 1000, &forward[i]);
    for (int i = N - 1; i >= 0; i--) {
        generate(&o, (uint64_t)i + 1000, &ev);
        assert_same_event(&forward[i], &ev);
    }
    int differ = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : differ)
    for (int i = 0; i < N; i++) {
        hd_event mine = {0};
        differ += hd_eeqq_event(&o, (uint64_t)i + 1000, &mine) != HD_OK || mine.n != forward[i].n ||
                  memcmp(mine.p, forward[i].p, (size_t)mine.n * sizeof *mine.p) != 0;
        hd_event_free(&mine);
    }
    assert_int_equal(differ, 0); /* made by other threads, in another order */
    generate(&o, UINT64_MAX, &ev); /* any index is an event */
    o.seed = 78;
    generate(&o, 1000, &ev);
    assert_true(ev.n != forward[0].n || memcmp(ev.p, forward[0].p, (size_t)ev.n * sizeof *ev.p) != 0);
    for (int i = 0; i < N; i++) hd_event_free(&forward[i]);
    hd_event_free(&ev);
}

static void test_options(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    assert_true(o.sqrt_s == 91.2);
    hd_event ev = {0};
    o.sqrt_s = 5;
    assert_error(hd_eeqq_event(&o, 0, &ev), HD_EINVAL, "sqrt_s = 5", NULL);
    o.sqrt_s = NAN;
    assert_error(hd_eeqq_event(&o, 0, &ev), HD_EINVAL, "sqrt_s", NULL);
    assert_error(hd_eeqq_event(NULL, 0, &ev), HD_EINVAL, "NULL options", NULL);
    o = hd_eeqq_opts_default();
    assert_error(hd_eeqq_event(&o, 0, NULL), HD_EINVAL, "NULL event", NULL);
    hd_event_free(&ev);
}

/* ---- the event list ---------------------------------------------------------------------- */

static void test_event_list(void **state)
{
    (void)state;
    hd_event ev = {0};
    for (int i = 0; i < 1000; i++) {
        hd_particle *p = hd_event_push(&ev);
        assert_non_null(p);
        assert_int_equal(p->pdg, 0);
        p->pdg = i;
    }
    assert_int_equal(ev.n, 1000);
    assert_true(ev.cap >= 1000);
    assert_int_equal(ev.p[999].pdg, 999);
    hd_event_clear(&ev);
    assert_int_equal(ev.n, 0);
    assert_int_equal(hd_event_push(&ev)->pdg, 0); /* zeroed again */
    hd_event_free(&ev);
    hd_event_free(&ev);
    hd_event_free(NULL);
    hd_event_clear(NULL);
    assert_null(hd_event_push(NULL));
}

/* ---- the particle table ----------------------------------------------------------------- */

static void test_pdg_charges(void **state)
{
    (void)state;
    static const int cases[][2] = {
        {211, 3},       {-211, -3},    {111, 0},      {321, 3},       {-321, -3},  {310, 0},     {130, 0},
        {2212, 3},      {-2212, -3},   {2112, 0},     {3122, 0},      {3222, 3},   {3112, -3},   {3312, -3},
        {3334, -3},     {411, 3},      {421, 0},      {431, 3},       {521, 3},    {511, 0},     {-521, -3},
        {4122, 3},      {2224, 6},     {1114, -3},    {11, -3},       {-11, 3},    {13, -3},     {-13, 3},
        {12, 0},        {22, 0},       {23, 0},       {24, 3},        {-24, -3},   {21, 0},      {2, 2},
        {-1, 1},        {2203, 4},     {2101, 1},     {1000010020, 3}, {1000020040, 6}, {-1000822080, -246},
        {9000211, 3},   {0, 0},        {99, 0},       {12345678, 0},  {INT32_MIN, 0}, {INT32_MAX, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (hd_pdg_charge3(cases[k][0]) != cases[k][1])
            fail_msg("charge3(%d) = %d, expected %d", cases[k][0], hd_pdg_charge3(cases[k][0]), cases[k][1]);
}

/* The table is sorted, agrees with the numbering scheme, and its decays
 * conserve charge, are open, and have branching fractions summing to 1. */
static void test_particle_table(void **state)
{
    (void)state;
    for (int i = 0; i < hd_pdg_count(); i++) {
        const hd_pdg_info *e = hd_pdg_entry(i);
        if (i > 0) assert_true(e->pdg > hd_pdg_entry(i - 1)->pdg);
        assert_ptr_equal(hd_pdg_lookup(e->pdg), e);
        assert_ptr_equal(hd_pdg_lookup(-e->pdg), e);
        assert_int_equal(e->charge3, hd_pdg_charge3_rule(e->pdg));
        if (e->self_conj) assert_int_equal(e->charge3, 0);
        double br = 0;
        for (int c = 0; c < e->n_channels; c++) {
            const hd_decay_channel *ch = hd_decay_table + e->first + c;
            int q = 0;
            double m = 0;
            for (int d = 0; d < ch->n; d++) {
                const hd_pdg_info *de = hd_pdg_lookup(ch->d[d]);
                assert_non_null(de);
                q += hd_pdg_charge3(ch->d[d]);
                m += de->mass;
            }
            assert_int_equal(q, e->charge3);
            assert_true(m < e->mass);
            br += ch->br;
        }
        if (e->n_channels) assert_near(br, 1, 1e-12);
    }
    assert_null(hd_pdg_lookup(5000));
    assert_null(hd_pdg_lookup(1000010020));
    assert_int_equal(hd_pdg_conjugate(211), -211);
    assert_int_equal(hd_pdg_conjugate(111), 111);
    assert_int_equal(hd_pdg_conjugate(-3122), 3122);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_final_state_conserves_four_momentum),
        cmocka_unit_test(test_every_vertex_conserves_four_momentum),
        cmocka_unit_test(test_final_state_is_neutral),
        cmocka_unit_test(test_particles_on_mass_shell),
        cmocka_unit_test(test_decay_vertices_along_momentum),
        cmocka_unit_test(test_mean_flight_is_ctau),
        cmocka_unit_test(test_record_structure),
        cmocka_unit_test(test_multiplicity_as_at_lep),
        cmocka_unit_test(test_flavour_fractions_and_axis),
        cmocka_unit_test(test_other_energy),
        cmocka_unit_test(test_events_independent_of_order),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_event_list),
        cmocka_unit_test(test_pdg_charges),
        cmocka_unit_test(test_particle_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
