/* Event sources for the tracker simulator: the built-in generator (event
 * i is hd_eeqq_event(i), nothing stored) or a pool of events read once from
 * a HepMC3 file and drawn from with replacement.  The pool's memory is held
 * to the input cap of the file's size on disk (hd_input_cap; a pipe counts
 * as 0 bytes), so that a small gzip file of many identical events cannot
 * fill the machine. */
#include "hadron/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int eeqq_event(void *source, uint64_t index, hd_event *ev) { return hd_eeqq_event(source, index, ev); }

hd_event_source hd_eeqq_source(const hd_eeqq_opts *o)
{
    return (hd_event_source){.event = eeqq_event, .source = (void *)o, .n_events = 0};
}

/* All particles in one array; event i is particles [start[i], start[i + 1]). */
struct hd_event_pool {
    int64_t n, cap_events, n_particles, cap_particles;
    int64_t *start;
    hd_particle *p;
};

static int pool_event(void *source, uint64_t index, hd_event *ev)
{
    const hd_event_pool *p = source;
    if (index >= (uint64_t)p->n)
        return hd_error(HD_EINVAL, "event pool: event %llu of %lld", (unsigned long long)index, (long long)p->n);
    hd_event_clear(ev);
    for (int64_t i = p->start[index]; i < p->start[index + 1]; i++) {
        hd_particle *q = hd_event_push(ev);
        if (!q) return HD_ENOMEM;
        *q = p->p[i];
    }
    return HD_OK;
}

hd_event_source hd_event_pool_source(const hd_event_pool *p)
{
    return (hd_event_source){.event = pool_event, .source = (void *)p, .n_events = (uint64_t)p->n};
}

int64_t hd_event_pool_size(const hd_event_pool *p) { return p ? p->n : 0; }

void hd_event_pool_free(hd_event_pool *p)
{
    if (!p) return;
    free(p->start);
    free(p->p);
    free(p);
}

/* Room for `need` items, doubling, but to no more than `most` (>= need). */
static int grow(void **a, int64_t *cap, int64_t need, int64_t most, size_t size)
{
    if (need <= *cap) return HD_OK;
    int64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    if (c > most) c = most;
    void *b = realloc(*a, (size_t)c * size);
    if (!b) return hd_error(HD_ENOMEM, "event pool: out of memory for %lld entries", (long long)c);
    *a = b;
    *cap = c;
    return HD_OK;
}

/* The pool's bytes with n events of n_particles particles in all. */
static uint64_t pool_bytes(int64_t n, int64_t n_particles)
{
    return (uint64_t)(n + 1) * sizeof(int64_t) + (uint64_t)n_particles * sizeof(hd_particle);
}

/* What a pool of events read from path may hold, and the file's size. */
typedef struct {
    const char *path;
    uint64_t file_bytes, cap;
} pool_limit;

/* hd_input_refuse's message, with the other way out: fewer events. */
static int pool_refuse(const hd_event_pool *p, const hd_event *ev, const pool_limit *lim)
{
    return hd_error(HD_EFORMAT,
                    "%s: the event pool of its first %lld events (%lld particles) is %llu bytes, more than the %llu "
                    "bytes one input file of %llu bytes may make hadron allocate (set HADRON_MAX_INPUT_MB to allow "
                    "more, or read fewer events: hadron avo --max-events N; docs/files.md)",
                    lim->path, (long long)p->n + 1, (long long)(p->n_particles + ev->n),
                    (unsigned long long)pool_bytes(p->n + 1, p->n_particles + ev->n), (unsigned long long)lim->cap,
                    (unsigned long long)lim->file_bytes);
}

static int pool_append(hd_event_pool *p, const hd_event *ev, const pool_limit *lim)
{
    if (pool_bytes(p->n + 1, p->n_particles + ev->n) > lim->cap) return pool_refuse(p, ev, lim);
    /* capacities held to the cap too: doubling stops at what the cap allows */
    int64_t most_events = (int64_t)(lim->cap / sizeof *p->start), most_particles = (int64_t)(lim->cap / sizeof *p->p);
    int rc = grow((void **)&p->start, &p->cap_events, p->n + 2, most_events, sizeof *p->start);
    if (rc == HD_OK)
        rc = grow((void **)&p->p, &p->cap_particles, p->n_particles + ev->n, most_particles, sizeof *p->p);
    if (rc != HD_OK) return rc;
    memcpy(p->p + p->n_particles, ev->p, (size_t)ev->n * sizeof *ev->p);
    p->n_particles += ev->n;
    p->start[++p->n] = p->n_particles;
    return HD_OK;
}

int hd_event_pool_read(const char *path, int64_t max_events, hd_event_pool **out)
{
    *out = NULL;
    if (max_events < 0) return hd_error(HD_EINVAL, "hd_event_pool_read: max_events = %lld", (long long)max_events);
    hd_hepmc3_reader *r;
    int rc = hd_hepmc3_open(path, &r);
    if (rc != HD_OK) return rc;
    struct stat sb;
    pool_limit lim = {.path = path};
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) lim.file_bytes = (uint64_t)sb.st_size;
    lim.cap = hd_input_cap(lim.file_bytes);
    hd_event_pool *p = calloc(1, sizeof *p);
    hd_event ev = {0};
    rc = p ? grow((void **)&p->start, &p->cap_events, 1, (int64_t)(lim.cap / sizeof *p->start), sizeof *p->start)
           : hd_error(HD_ENOMEM, "out of memory");
    if (rc == HD_OK) p->start[0] = 0;
    while (rc == HD_OK && (max_events == 0 || p->n < max_events) && (rc = hd_hepmc3_next(r, &ev)) == 1)
        rc = p->n == UINT32_MAX ? hd_error(HD_EINVAL, "%s: more than 2^32 - 1 events", path)
                                : pool_append(p, &ev, &lim);
    if (rc == HD_OK && p->n == 0) rc = hd_error(HD_EFORMAT, "%s: no events", path);
    hd_event_free(&ev);
    hd_hepmc3_close(r);
    if (rc != HD_OK) {
        hd_event_pool_free(p);
        return rc;
    }
    *out = p;
    return HD_OK;
}
