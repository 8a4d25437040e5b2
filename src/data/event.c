/* An event as a growable list of particles (the record hd_eeqq_event fills
 * and the HepMC3 reader produces). */
#include "hadron/data.h"

#include <stdlib.h>
#include <string.h>

/* Far above any real event; keeps cap * sizeof(hd_particle) well inside size_t. */
#define MAX_PARTICLES ((int64_t)1 << 30)

void hd_event_clear(hd_event *ev)
{
    if (ev) ev->n = 0;
}

static int grow(hd_event *ev)
{
    int64_t cap = ev->cap ? 2 * ev->cap : 64;
    if (cap > MAX_PARTICLES)
        return hd_error(HD_ENOMEM, "hd_event_push: more than %lld particles in one event", (long long)MAX_PARTICLES);
    hd_particle *p = realloc(ev->p, (size_t)cap * sizeof *p);
    if (!p) return hd_error(HD_ENOMEM, "hd_event_push: out of memory for %lld particles", (long long)cap);
    ev->p = p;
    ev->cap = cap;
    return HD_OK;
}

hd_particle *hd_event_push(hd_event *ev)
{
    if (!ev) {
        hd_error(HD_EINVAL, "hd_event_push: NULL event");
        return NULL;
    }
    if (ev->n == ev->cap && grow(ev)) return NULL;
    hd_particle *p = ev->p + ev->n++;
    memset(p, 0, sizeof *p);
    return p;
}

void hd_event_free(hd_event *ev)
{
    if (!ev) return;
    free(ev->p);
    ev->p = NULL;
    ev->n = ev->cap = 0;
}
