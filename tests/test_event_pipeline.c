/* Event pipelines: a source's events reach the sink in order and the same
 * whatever the thread count, across rounds; counts and progress; bad
 * options and failing events are reported before or as the sink sees
 * them; a HepMC3 file is written whole or not at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

enum { N = 2500 }; /* more than one round of 2048 */

/* What the sink saw: one fingerprint per event. */
typedef struct {
    int64_t n, charged;
    double print[N];
} seen;

static int record(void *sink, const hd_event *ev)
{
    seen *s = sink;
    double sum = (double)ev->n;
    for (int64_t j = 0; j < ev->n; j++) {
        sum += ev->p[j].p[0] * (double)(j + 1);
        s->charged += ev->p[j].status == 1 && hd_pdg_charge3(ev->p[j].pdg) != 0;
    }
    if (s->n < N) s->print[s->n] = sum;
    s->n++;
    return HD_OK;
}

static void last_fraction(void *user, double f) { *(double *)user = f; }

static void run_on(int threads, const hd_eeqq_opts *o, seen *s, hd_event_counts *c)
{
    hd_set_threads(threads);
    double fraction = 0;
    memset(s, 0, sizeof *s);
    assert_int_equal(hd_events_run(hd_eeqq_source(o), N, (hd_event_sink){record, s}, last_fraction, &fraction, c),
                     HD_OK);
    assert_true(fraction == 1.0);
}

static void test_same_events_on_any_thread_count(void **state)
{
    (void)state;
    hd_eeqq_opts o = hd_eeqq_opts_default();
    o.seed = 9;
    seen *one = calloc(1, sizeof *one), *two = calloc(1, sizeof *two);
    hd_event_counts c1, c2;
    run_on(1, &o, one, &c1);
    run_on(2, &o, two, &c2);
    hd_set_threads(0);
    assert_int_equal(one->n, N);
    assert_memory_equal(one->print, two->print, sizeof one->print);
    assert_int_equal(c1.events, N);
    assert_int_equal(c1.charged, one->charged);
    assert_int_equal(c1.charged, c2.charged);
    assert_true(c1.particles > c1.charged && (double)c1.charged / N > 15);
    hd_event ev = {0}; /* event i is the source's event i */
    assert_int_equal(hd_eeqq_event(&o, 2100, &ev), HD_OK);
    seen single = {0};
    record(&single, &ev);
    assert_true(single.print[0] == one->print[2100]);
    hd_event_free(&ev);
    free(one);
    free(two);
}

static int fails_from(void *source, uint64_t index, hd_event *ev)
{
    hd_event_clear(ev);
    if (index >= *(const uint64_t *)source)
        return hd_error(HD_EINVAL, "event %llu is broken", (unsigned long long)index);
    hd_particle *p = hd_event_push(ev);
    return p ? HD_OK : HD_ENOMEM;
}

static void test_refusals(void **state)
{
    (void)state;
    seen *s = calloc(1, sizeof *s);
    hd_event_sink sink = {record, s};
    hd_eeqq_opts o = hd_eeqq_opts_default();
    o.sqrt_s = 5;
    assert_error(hd_events_run(hd_eeqq_source(&o), 10, sink, NULL, NULL, NULL), HD_EINVAL, "sqrt_s = 5", NULL);
    assert_int_equal(s->n, 0);
    o = hd_eeqq_opts_default();
    assert_error(hd_events_run(hd_eeqq_source(&o), 0, sink, NULL, NULL, NULL), HD_EINVAL, "0 events", NULL);
    assert_error(hd_events_run(hd_eeqq_source(&o), 1, (hd_event_sink){NULL, s}, NULL, NULL, NULL), HD_EINVAL, "sink",
                 NULL);
    uint64_t first_bad = 2100; /* in the second round: the lowest failing event is named */
    hd_event_counts c;
    assert_error(hd_events_run((hd_event_source){fails_from, &first_bad, 0}, N, sink, NULL, NULL, &c), HD_EINVAL,
                 "event 2100 is broken", NULL);
    assert_int_equal(s->n, 2048);
    assert_int_equal(c.events, 2048);
    free(s);
}

static void test_hepmc3_file(void **state)
{
    (void)state;
    char *dir = test_tmpdir("pipeline"), path[4096], bad[4096];
    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/ev.hepmc3", dir);
    snprintf(bad, sizeof bad, "%s/bad.hepmc3", dir);
    hd_eeqq_opts o = hd_eeqq_opts_default();
    hd_event_counts c;
    assert_int_equal(hd_events_write_hepmc3(hd_eeqq_source(&o), 30, path, NULL, NULL, &c), HD_OK);
    assert_int_equal(c.events, 30);
    hd_hepmc3_reader *r;
    assert_int_equal(hd_hepmc3_open(path, &r), HD_OK);
    hd_event ev = {0};
    int64_t n = 0, particles = 0;
    while (hd_hepmc3_next(r, &ev) == 1) {
        n++;
        particles += ev.n;
    }
    hd_hepmc3_close(r);
    hd_event_free(&ev);
    assert_int_equal(n, 30);
    assert_int_equal(particles, c.particles);
    uint64_t first_bad = 3;
    assert_error(hd_events_write_hepmc3((hd_event_source){fails_from, &first_bad, 0}, 10, bad, NULL, NULL, NULL),
                 HD_EINVAL, "event 3 is broken", NULL);
    assert_int_not_equal(access(bad, F_OK), 0); /* no file, complete or not */
    o.sqrt_s = 5;
    assert_int_not_equal(hd_events_write_hepmc3(hd_eeqq_source(&o), 10, bad, NULL, NULL, NULL), HD_OK);
    assert_int_not_equal(access(bad, F_OK), 0);
    assert_int_equal(test_tmpdir_free(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_events_on_any_thread_count),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hepmc3_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
