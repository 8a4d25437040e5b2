/* The simulator registry: every entry builds the simulator it describes
 * (names, box, start and truth inside it), a tracker made by name draws the
 * same observations as one made by hand, from the generator or from a
 * HepMC3 file, and bad settings are refused with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "hadron/hadron.h"
#include "test_util.h"

static void test_entries_match_their_simulators(void **state)
{
    (void)state;
    assert_true(hd_sim_count() >= 2);
    assert_null(hd_sim_get(-1));
    assert_null(hd_sim_get(hd_sim_count()));
    hd_sim_setup setup = hd_sim_setup_default();
    for (int i = 0; i < hd_sim_count(); i++) {
        const hd_sim_entry *e = hd_sim_get(i);
        assert_non_null(e->description);
        assert_ptr_equal(hd_sim_find(e->name), e);
        hd_simulator *s = e->make(&setup);
        assert_non_null(s);
        assert_string_equal(s->name, e->name);
        assert_int_equal(s->n_params, e->n_params);
        for (int k = 0; k < e->n_params; k++) {
            assert_string_equal(s->param_names[k], e->param_names[k]);
            assert_true(s->lo[k] == e->lo[k] && s->hi[k] == e->hi[k]);
            assert_true(e->start_mean[k] >= e->lo[k] && e->start_mean[k] <= e->hi[k]);
            assert_true(e->truth[k] >= e->lo[k] && e->truth[k] <= e->hi[k]);
            assert_true(e->start_width[k] > 0);
        }
        assert_true(e->gamma >= 0);
        assert_non_null(s->obs_label);
        hd_simulator_free(s);
    }
}

static void test_unknown_name(void **state)
{
    (void)state;
    assert_null(hd_sim_find("pythia"));
    assert_error(HD_EINVAL, HD_EINVAL, "unknown simulator 'pythia'", "tracker, weinberg");
    assert_null(hd_sim_find(NULL));
}

/* n draws of per observations at theta, from a fixed seed. */
static float *observe(const hd_simulator *s, const double *theta, int64_t n, int64_t per)
{
    float *x = hd_malloc((size_t)(n * per * hd_simulator_obs_size(s)) * sizeof *x);
    assert_non_null(x);
    double t[16];
    for (int64_t d = 0; d < n; d++) t[d] = theta[0] + 0.5 * (double)d;
    assert_int_equal(hd_simulator_run(s, n, t, per, 7, 0, x), HD_OK);
    return x;
}

static void test_tracker_as_by_hand(void **state)
{
    (void)state;
    hd_sim_setup setup = hd_sim_setup_default();
    setup.seed = 5;
    setup.tracker.n_eta = setup.tracker.n_phi = 8;
    setup.offset_max = 3;
    hd_simulator *named = hd_sim_find("tracker")->make(&setup);
    assert_non_null(named);
    hd_eeqq_opts gen = hd_eeqq_opts_default();
    gen.seed = 5;
    hd_simulator *hand = hd_tracker_sim_new(&setup.tracker, hd_eeqq_source(&gen), -3, 3);
    assert_non_null(hand);
    assert_true(named->lo[0] == -3 && named->hi[0] == 3);
    assert_string_equal(named->obs_label, "phi|eta");
    assert_true(named->obs_extent[1] > 6.28 && named->obs_extent[3] == setup.tracker.eta_max);
    assert_int_equal(hd_sim_pool_events(named), 0);
    const double theta[1] = {-1};
    float *a = observe(named, theta, 3, 4), *b = observe(hand, theta, 3, 4);
    assert_memory_equal(a, b, (size_t)(3 * 4 * hd_simulator_obs_size(named)) * sizeof *a);
    hd_free(a);
    hd_free(b);
    hd_simulator_free(named);
    hd_simulator_free(hand);
}

static void test_tracker_from_file(void **state)
{
    (void)state;
    hd_sim_setup setup = hd_sim_setup_default();
    setup.events = HD_FIXTURES "/hepmc3/valid.hepmc3";
    hd_simulator *s = hd_sim_find("tracker")->make(&setup);
    assert_non_null(s);
    assert_int_equal(hd_sim_pool_events(s), 2);
    const double theta[1] = {0};
    hd_free(observe(s, theta, 2, 3));
    hd_simulator_free(s);
    setup.max_events = 1;
    s = hd_sim_find("tracker")->make(&setup);
    assert_int_equal(hd_sim_pool_events(s), 1);
    hd_simulator_free(s);
}

static void test_bad_settings(void **state)
{
    (void)state;
    const hd_sim_entry *tracker = hd_sim_find("tracker");
    hd_sim_setup setup = hd_sim_setup_default();
    setup.events = HD_FIXTURES "/hepmc3/missing_vertex.hepmc3";
    assert_null(tracker->make(&setup));
    assert_error(HD_EINVAL, HD_EINVAL, "missing_vertex.hepmc3", NULL);
    setup = hd_sim_setup_default();
    setup.offset_max = -1;
    assert_null(tracker->make(&setup));
    assert_error(HD_EINVAL, HD_EINVAL, "offset_max = -1", NULL);
    setup = hd_sim_setup_default();
    setup.tracker.n_eta = 0;
    assert_null(tracker->make(&setup));
    assert_int_equal(hd_sim_pool_events(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_match_their_simulators),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_tracker_as_by_hand),
        cmocka_unit_test(test_tracker_from_file),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
