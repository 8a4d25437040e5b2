/* Event pipelines: a source's events made in parallel rounds, handed to a
 * sink in order (sim.h, "event pipelines").  A round is made in memory by
 * all threads, then written by one; event i comes from the source alone,
 * so the sink sees the same events whatever the thread count. */
#include "hadron/sim.h"

#include <string.h>

enum { ROUND = 2048 }; /* events per parallel round */

typedef struct {
    hd_event ev[ROUND];
    int failed[ROUND];
} round_buf;

/* Events first .. first + n - 1 into r->ev, in parallel.  When any fails,
 * the lowest failing one is made again on this thread, for its message. */
static int make_round(hd_event_source src, int64_t first, int64_t n, round_buf *r)
{
    int any = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : any)
    for (int64_t i = 0; i < n; i++) {
        r->failed[i] = src.event(src.source, (uint64_t)(first + i), &r->ev[i]) != HD_OK;
        any |= r->failed[i];
    }
    for (int64_t i = 0; any && i < n; i++)
        if (r->failed[i]) {
            int rc = src.event(src.source, (uint64_t)(first + i), &r->ev[i]);
            if (rc == HD_OK) rc = hd_error(HD_EINVAL, "event %lld failed once, not twice", (long long)(first + i));
            return rc;
        }
    return HD_OK;
}

static void count(const hd_event *ev, hd_event_counts *c)
{
    c->events++;
    c->particles += ev->n;
    for (int64_t j = 0; j < ev->n; j++) c->charged += ev->p[j].status == 1 && hd_pdg_charge3(ev->p[j].pdg) != 0;
}

/* The count, and event 0 made alone: a source with bad options fails here. */
static int check(const char *who, hd_event_source src, int64_t n)
{
    if (!src.event) return hd_error(HD_EINVAL, "%s: the event source has no event function", who);
    if (n < 1) return hd_error(HD_EINVAL, "%s: %lld events, need at least 1", who, (long long)n);
    hd_event ev = {0};
    int rc = src.event(src.source, 0, &ev);
    hd_event_free(&ev);
    return rc;
}

int hd_events_run(hd_event_source src, int64_t n, hd_event_sink sink, void (*progress)(void *user, double fraction),
                  void *user, hd_event_counts *counts)
{
    hd_event_counts c = {0};
    if (counts) *counts = c;
    if (!sink.add) return hd_error(HD_EINVAL, "hd_events_run: the sink has no add function");
    int rc = check("hd_events_run", src, n);
    round_buf *r = rc == HD_OK ? hd_calloc(1, sizeof *r) : NULL;
    if (rc != HD_OK || !r) return rc != HD_OK ? rc : HD_ENOMEM;
    for (int64_t first = 0; first < n && rc == HD_OK; first += ROUND) {
        int64_t m = n - first < ROUND ? n - first : ROUND;
        rc = make_round(src, first, m, r);
        for (int64_t i = 0; i < m && rc == HD_OK; i++) {
            count(&r->ev[i], &c);
            rc = sink.add(sink.sink, &r->ev[i]);
        }
        if (progress) progress(user, (double)(first + m) / (double)n);
    }
    for (int i = 0; i < ROUND; i++) hd_event_free(&r->ev[i]);
    hd_free(r);
    if (counts) *counts = c;
    return rc;
}

static int hepmc3_add(void *w, const hd_event *ev) { return hd_hepmc3_writer_add(w, ev); }

int hd_events_write_hepmc3(hd_event_source src, int64_t n, const char *path,
                           void (*progress)(void *user, double fraction), void *user, hd_event_counts *counts)
{
    hd_hepmc3_writer *w = NULL;
    int rc = check("hd_events_write_hepmc3", src, n); /* before the file is touched */
    if (rc == HD_OK) rc = hd_hepmc3_writer_open(path, &w);
    if (rc == HD_OK) rc = hd_events_run(src, n, (hd_event_sink){hepmc3_add, w}, progress, user, counts);
    if (rc == HD_OK) return hd_hepmc3_writer_close(w);
    hd_hepmc3_writer_abort(w);
    return rc;
}
